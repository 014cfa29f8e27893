//! Bad input gets a clear HTTP error and a closed connection; the Target is only ever the
//! configured one.

use std::time::{Duration, Instant};

use crate::common::{Behaviour, InProcess, TestTarget, eventually_async, raw};
use hooktap::capture::Respond;
use hooktap::listener::Limits;
use hooktap::store::Reader;

const WAIT: Duration = Duration::from_secs(5);

async fn setup(limits: Limits) -> (InProcess, TestTarget) {
    let target = TestTarget::start(Behaviour::Status(200)).await;
    let hooktap = InProcess::start(
        &target.url(),
        limits,
        Respond::Passthrough,
        Duration::from_secs(9),
    )
    .await;
    (hooktap, target)
}

fn small_limits() -> Limits {
    Limits {
        max_body: 1024,
        header_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_millis(500),
        ..Limits::default()
    }
}

/// A probe request that must still succeed.
async fn probe(h: &InProcess) {
    let (resp, _) = raw(
        h.addr,
        b"POST /probe HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
        WAIT,
    )
    .await;
    assert!(resp.starts_with("HTTP/1.1 200"), "probe failed: {resp}");
}

fn status(resp: &str) -> &str {
    resp.get(9..12).unwrap_or("")
}

/// Pass: each malformed request gets 400 and a closed connection, and nothing is forwarded.
#[tokio::test]
async fn malformed_requests_get_400_and_close() {
    let (h, target) = setup(small_limits()).await;
    let cases: &[&[u8]] = &[
        b"POST /a HTTP/1.1 extra\r\nhost: x\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"POST /a HTTP/1.1\r\nbad header line\r\n\r\n",
        b"POST /a HTTP/1.1\r\nx-a : 1\r\n\r\n",
        b"POST /a HTTP/1.1\r\nx-a: 1\x00\r\n\r\n",
        b"PO(ST /a HTTP/1.1\r\nhost: x\r\n\r\n",
        b"POST /a HTTP/1.1\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!",
        b"POST /a HTTP/1.1\r\ncontent-length: -1\r\n\r\n",
        b"POST /a HTTP/1.1\r\ntransfer-encoding: xchunked\r\n\r\n",
    ];
    for case in cases {
        let (resp, closed) = raw(h.addr, case, WAIT).await;
        assert!(
            ["400", "501"].contains(&status(&resp)),
            "{:?} -> {resp}",
            String::from_utf8_lossy(case)
        );
        assert!(
            closed,
            "connection left open for {:?}",
            String::from_utf8_lossy(case)
        );
    }
    probe(&h).await;
    assert_eq!(target.count(), 1, "only the probe was forwarded");
}

/// Pass: Content-Length with Transfer-Encoding (either order) gets 400, the connection closes,
/// and neither the request nor a smuggled second one reaches the Target or the Store.
#[tokio::test]
async fn content_length_with_transfer_encoding_is_refused() {
    let (h, target) = setup(small_limits()).await;
    let smuggle = b"POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n";
    let te_first = b"POST /a HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 4\r\n\r\n0\r\n\r\n";
    for case in [&smuggle[..], &te_first[..]] {
        let (resp, closed) = raw(h.addr, case, WAIT).await;
        assert_eq!(status(&resp), "400", "{resp}");
        assert!(closed);
        assert!(!resp.contains("target says"), "forwarded: {resp}");
    }
    probe(&h).await;
    assert_eq!(target.count(), 1);
    let reader = Reader::open(&h.db()).unwrap();
    assert_eq!(reader.count().unwrap(), 1, "only the probe is stored");
}

/// Pass: a head over 64 KiB or with over 100 headers gets 431.
#[tokio::test]
async fn oversized_heads_get_431() {
    let (h, _target) = setup(small_limits()).await;
    let mut big = b"POST /a HTTP/1.1\r\nhost: x\r\nx-big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 70 * 1024));
    big.extend_from_slice(b"\r\n\r\n");
    let (resp, closed) = raw(h.addr, &big, WAIT).await;
    assert_eq!(status(&resp), "431", "{resp}");
    assert!(closed);

    let mut many = b"POST /a HTTP/1.1\r\nhost: x\r\n".to_vec();
    for i in 0..101 {
        many.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let (resp, _) = raw(h.addr, &many, WAIT).await;
    assert_eq!(status(&resp), "431", "{resp}");

    // 99 headers plus host is exactly the limit: accepted.
    let mut ok =
        b"POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n".to_vec();
    for i in 0..97 {
        ok.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    ok.extend_from_slice(b"\r\n");
    let (resp, _) = raw(h.addr, &ok, WAIT).await;
    assert_eq!(status(&resp), "200", "{resp}");
    probe(&h).await;
}

/// Pass: a declared body over the cap gets 413 at once, before the body is sent; a chunked
/// body over the cap gets 413 once it passes the cap; nothing is forwarded.
#[tokio::test]
async fn oversized_bodies_get_413() {
    let (h, target) = setup(small_limits()).await;
    let started = Instant::now();
    // The body is never sent: the answer must come from the head alone.
    let (resp, closed) = raw(
        h.addr,
        b"POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 11000000\r\n\r\n",
        WAIT,
    )
    .await;
    assert_eq!(status(&resp), "413", "{resp}");
    assert!(closed);
    assert!(started.elapsed() < WAIT, "answered only after waiting");

    let mut chunked = b"POST /a HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend(std::iter::repeat_n(b'z', 0x200));
        chunked.extend_from_slice(b"\r\n");
    }
    let (resp, closed) = raw(h.addr, &chunked, WAIT).await;
    assert_eq!(status(&resp), "413", "{resp}");
    assert!(closed);
    probe(&h).await;
    assert_eq!(target.count(), 1);
}

/// Pass: a client that trickles its head is cut at the header timeout; a stalled body gets 408
/// at the body timeout; the process keeps serving.
#[tokio::test]
async fn slow_senders_are_cut_off() {
    let (h, target) = setup(small_limits()).await;
    let started = Instant::now();
    let (resp, closed) = raw(h.addr, b"POST /a HTTP/1.1\r\nhost: x\r\n", WAIT).await;
    assert!(closed, "a half-sent head must be cut");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "cut after {:?}",
        started.elapsed()
    );
    assert!(resp.is_empty() || status(&resp) == "408", "{resp}");

    let started = Instant::now();
    let (resp, closed) = raw(
        h.addr,
        b"POST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly part",
        WAIT,
    )
    .await;
    assert_eq!(status(&resp), "408", "{resp}");
    assert!(closed);
    assert!(started.elapsed() < Duration::from_secs(3));
    probe(&h).await;
    assert_eq!(target.count(), 1);
}

/// Pass: absolute-form targets, `CONNECT` and `Host` never make hooktap connect anywhere but
/// the configured Target: the canary listener sees zero connections.
#[tokio::test]
async fn no_open_proxy() {
    let (h, target) = setup(small_limits()).await;
    let canary = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c = canary.local_addr().unwrap();
    let attempts = [
        format!("POST http://{c}/steal HTTP/1.1\r\nhost: {c}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
        format!("CONNECT {c} HTTP/1.1\r\nhost: {c}\r\n\r\n"),
        format!("POST /hooks HTTP/1.1\r\nhost: {c}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
        "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nhost: 169.254.169.254\r\nconnection: close\r\n\r\n".to_string(),
    ];
    let mut statuses = Vec::new();
    for a in &attempts {
        let (resp, _) = raw(h.addr, a.as_bytes(), WAIT).await;
        statuses.push(status(&resp).to_string());
    }
    assert_eq!(statuses[1], "405", "CONNECT must be refused");
    // The others went to the configured Target, by path only.
    let seen: Vec<String> = target
        .all
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.uri.clone())
        .collect();
    assert!(seen.contains(&"/steal".to_string()), "{seen:?}");
    assert!(seen.contains(&"/latest/meta-data/".to_string()), "{seen:?}");
    let accepted = tokio::time::timeout(Duration::from_millis(200), canary.accept()).await;
    assert!(accepted.is_err(), "the canary got a connection");
}

/// Pass: connections over the cap are answered 503 and closed, while a probe within the cap
/// still works once the idle ones leave.
#[tokio::test]
async fn connections_over_the_cap_are_refused() {
    let limits = Limits {
        max_connections: 4,
        header_timeout: Duration::from_secs(30),
        ..small_limits()
    };
    let (h, _target) = setup(limits).await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(tokio::net::TcpStream::connect(h.addr).await.unwrap());
    }
    // Accepts happen in order, so the fifth finds every slot taken.
    let (resp, closed) = raw(
        h.addr,
        b"POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n",
        WAIT,
    )
    .await;
    assert_eq!(status(&resp), "503", "{resp}");
    assert!(closed);
    drop(idle);
    eventually_async(Duration::from_secs(5), || async {
        let (resp, _) = raw(
            h.addr,
            b"POST /probe HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            WAIT,
        )
        .await;
        (status(&resp) == "200").then_some(())
    })
    .await;
}
