//! Loop refusal: every request hooktap forwards carries a `Hooktap-Hop` header listing the
//! processes it went through (one random id per process), and a request that arrives listing
//! this process, or already [`MAX_HOPS`] of them, is refused (`508 Loop Detected`) before it is
//! stored or forwarded. A check at start ([`points_at`]) catches `--forward` naming hooktap's
//! own listener; the header catches what no address check can see (a LAN address, a hostname,
//! two hooktaps forwarding to each other). See docs/workflows.md.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;

use crate::event::HeaderList;

/// The header's name.
pub const HEADER: &str = "hooktap-hop";

/// How many hooktaps a request may pass through before one refuses it.
pub const MAX_HOPS: usize = 4;

/// This process's id: 16 random hex digits, made once.
pub fn id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| format!("{:016x}", ulid::Ulid::generate().random() as u64))
}

/// The ids listed by every `Hooktap-Hop` header of `headers`, in order.
fn hops(headers: &HeaderList) -> Vec<String> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(HEADER))
        .flat_map(|(_, v)| {
            String::from_utf8_lossy(v)
                .split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// Why a request with `headers` must be refused as a loop, if it must.
pub fn refusal(headers: &HeaderList) -> Option<String> {
    refusal_for(headers, id())
}

fn refusal_for(headers: &HeaderList, me: &str) -> Option<String> {
    let hops = hops(headers);
    if hops.iter().any(|h| h == me) {
        return Some(format!(
            "loop detected: this request was forwarded by this hooktap already ({HEADER}: {me}); \
             --forward or a --route points back at hooktap's own listener"
        ));
    }
    if hops.len() >= MAX_HOPS {
        return Some(format!(
            "loop detected: this request went through {} hooktaps already (at most {MAX_HOPS}); \
             check where each one forwards",
            hops.len()
        ));
    }
    None
}

/// The value a forwarded request carries: the ids it arrived with, then this process's.
pub fn stamp(headers: &HeaderList) -> String {
    let mut hops = hops(headers);
    hops.push(id().to_string());
    hops.join(", ")
}

/// Whether `url` (a Target) names the listener at `local` on this machine: same port, and a
/// host that is `localhost`, a loopback address, the listener's address, or any address when
/// it listens on all of them. A hostname other than `localhost` is not resolved (the header
/// catches that case at the first request).
pub fn points_at(url: &str, local: SocketAddr) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    });
    if port != local.port() {
        return false;
    }
    let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let Ok(ip) = host.parse::<IpAddr>() else {
        return false;
    };
    ip.is_loopback() || ip.is_unspecified() || ip == local.ip() || local.ip().is_unspecified()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(values: &[&str]) -> HeaderList {
        let mut h = HeaderList::default();
        h.push("content-type", b"application/json".to_vec());
        for v in values {
            h.push("Hooktap-Hop", v.as_bytes().to_vec());
        }
        h
    }

    #[test]
    fn own_id_or_too_many_hops_is_a_loop() {
        assert!(refusal_for(&with(&[]), "me").is_none());
        assert!(refusal_for(&with(&["other"]), "me").is_none());
        assert!(
            refusal_for(&with(&["a, me"]), "me")
                .unwrap()
                .contains("already")
        );
        assert!(refusal_for(&with(&["a", "me"]), "me").is_some());
        assert!(refusal_for(&with(&["a, b, c"]), "me").is_none());
        let four = refusal_for(&with(&["a, b", "c, d"]), "me").unwrap();
        assert!(four.contains("4 hooktaps"), "{four}");
    }

    #[test]
    fn stamp_appends_this_process() {
        assert_eq!(stamp(&with(&[])), id());
        assert_eq!(stamp(&with(&["a, b"])), format!("a, b, {}", id()));
        assert_eq!(id().len(), 16);
    }

    #[test]
    fn own_listener_is_recognised() {
        let local: SocketAddr = "127.0.0.1:8787".parse().unwrap();
        assert!(points_at("http://localhost:8787", local));
        assert!(points_at("http://127.0.0.1:8787/hooks", local));
        assert!(points_at("http://127.0.0.2:8787", local));
        assert!(points_at("http://[::1]:8787", local));
        assert!(!points_at("http://127.0.0.1:3000", local));
        assert!(!points_at("http://example.com:8787", local));
        assert!(!points_at("http://10.0.0.5:8787", local));
        let any: SocketAddr = "0.0.0.0:80".parse().unwrap();
        assert!(points_at("http://10.0.0.5", any));
        assert!(!points_at("https://10.0.0.5", any));
    }
}
