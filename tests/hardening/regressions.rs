//! What the fuzzers found (`fuzz/`), kept as tests of the stable suite. The raw crash inputs
//! also sit in `fuzz/seeds/<target>/`, so every fuzz run starts from them.

use hooktap::event::{HeaderList, Signature};
use hooktap::providers::Providers;
use hooktap::tunnel::wire::{self, RelayEvent};

const NOW: i64 = 1_700_000_000;

fn headers(pairs: &[(&str, &str)]) -> HeaderList {
    let mut h = HeaderList::default();
    for (n, v) in pairs {
        h.push(*n, v.as_bytes().to_vec());
    }
    h
}

/// sig_ayrshare: `X-Authorization-Timestamp: -9223372036854775808` beside a signature made
/// `now - ts` overflow (a panic in debug builds, a nonsense age in release). Pass: the extreme
/// timestamps classify without a panic and the age reads as a number of seconds.
#[test]
fn ayrshare_extreme_timestamps_do_not_overflow() {
    let p = Providers::new([("ayrshare".to_string(), "s".to_string())]);
    for ts in ["-9223372036854775808", "9223372036854775807", "-1"] {
        let h = headers(&[
            ("X-Authorization-Content-SHA256", "00"),
            ("X-Authorization-Timestamp", ts),
        ]);
        let c = p.classify_at(&h, b"{\"action\":\"social\"}", NOW);
        assert_eq!(c.signature, Signature::Invalid);
        let detail = c.signature_detail.unwrap_or_default();
        assert!(
            detail.contains(" s old") || detail.contains(" s ahead"),
            "{detail}"
        );
    }
    // And at the far ends of the clock itself.
    let h = headers(&[
        ("Stripe-Signature", "t=9223372036854775807,v1=00"),
        ("X-Authorization-Timestamp", "-9223372036854775808"),
    ]);
    for now in [i64::MIN, i64::MAX] {
        let _ = p.classify_at(&h, b"{}", now);
    }
}

fn relay_event(path: &str, query: Option<&str>) -> RelayEvent {
    RelayEvent {
        seq: 1,
        uid: "01FUZZ".into(),
        channel: "alice".into(),
        received_at: NOW * 1_000_000,
        method: "POST".into(),
        path: path.into(),
        query: query.map(str::to_string),
        remote_addr: None,
        proto: "https".into(),
        headers: HeaderList::default(),
        body: bytes::Bytes::from_static(b"{}"),
    }
}

/// tunnel_wire: a path holding `#` lost everything from the `#` on (query included) when the
/// Relay built the Tunnel request, so the Agent would have stored another path. Pass: such an
/// Event is refused with a reason instead; paths hyper can hand over still cross exactly.
#[test]
fn the_tunnel_never_carries_a_path_it_would_change() {
    let err = wire::to_request(&relay_event("/hooks/x#frag", Some("a=1")), 0).unwrap_err();
    assert!(err.contains("cannot carry path"), "{err}");
    for (path, query) in [
        ("/hooks/x", Some("a=1&b=%2F")),
        ("/hooks/caf\u{e9}", None),
        ("/", Some("")),
        ("/a/../b//c", None),
    ] {
        let req = wire::to_request(&relay_event(path, query), 0).unwrap();
        let (parts, _) = req.into_parts();
        let back = wire::from_request(&parts).unwrap();
        assert_eq!((back.path.as_str(), back.query.as_deref()), (path, query));
    }
}
