//! How a connection reached the listener, and so where an Event's remote address comes from:
//! the peer's address, or, on the loopback port only a tunnel started by `--public` is told
//! about, the address the tunnel reports in a header. A header on the public port never
//! chooses it: any sender can write one.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

/// Where the listener's connections come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Straight from senders: the remote address is the peer's.
    Direct,
    /// From a tunnel hooktap started: the remote address is the one it reports in `header`.
    Tunnel(ClientHeader),
}

/// The header a tunnel sets to the address it took the request from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientHeader {
    /// `Cf-Connecting-Ip`: Cloudflare's edge overwrites whatever a sender put there.
    CfConnectingIp,
    /// The last entry of `X-Forwarded-For`: the one the tunnel appended. The entries before it
    /// are whatever the sender wrote, so they are never taken.
    ForwardedForLast,
}

/// The Event's remote address: the peer's, or for [`Via::Tunnel`] the address in the tunnel's
/// header when it is one (an IP address; anything else falls back to the peer).
pub fn remote_addr(via: Via, peer: SocketAddr, headers: &HeaderMap) -> String {
    let Via::Tunnel(header) = via else {
        return peer.to_string();
    };
    let reported = match header {
        ClientHeader::CfConnectingIp => {
            let mut values = headers.get_all("cf-connecting-ip").iter();
            // Two of them: not what Cloudflare sends; trust neither.
            match (values.next(), values.next()) {
                (Some(v), None) => v.to_str().ok().map(str::trim),
                _ => None,
            }
        }
        ClientHeader::ForwardedForLast => headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim),
    };
    match reported.and_then(|ip| ip.parse::<IpAddr>().ok()) {
        Some(ip) => ip.to_string(),
        None => peer.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_a_tunnel_connection_takes_the_address_from_a_header() {
        let peer: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        let h = headers(&[
            ("cf-connecting-ip", "198.51.100.7"),
            ("x-forwarded-for", "10.0.0.1, 203.0.113.9"),
        ]);
        assert_eq!(remote_addr(Via::Direct, peer, &h), "127.0.0.1:5555");
        let cf = Via::Tunnel(ClientHeader::CfConnectingIp);
        assert_eq!(remote_addr(cf, peer, &h), "198.51.100.7");
        let xff = Via::Tunnel(ClientHeader::ForwardedForLast);
        assert_eq!(
            remote_addr(xff, peer, &h),
            "203.0.113.9",
            "the hop the tunnel added"
        );
    }

    #[test]
    fn a_forged_or_odd_header_falls_back_to_the_peer() {
        let peer: SocketAddr = "127.0.0.1:5555".parse().unwrap();
        let xff = Via::Tunnel(ClientHeader::ForwardedForLast);
        let cf = Via::Tunnel(ClientHeader::CfConnectingIp);
        let sender_first = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(remote_addr(xff, peer, &sender_first), "203.0.113.9");
        assert_eq!(
            remote_addr(
                xff,
                peer,
                &headers(&[("x-forwarded-for", "1.2.3.4, not-an-ip")])
            ),
            "127.0.0.1:5555"
        );
        assert_eq!(remote_addr(cf, peer, &headers(&[])), "127.0.0.1:5555");
        let twice = headers(&[
            ("cf-connecting-ip", "1.1.1.1"),
            ("cf-connecting-ip", "2.2.2.2"),
        ]);
        assert_eq!(remote_addr(cf, peer, &twice), "127.0.0.1:5555");
        assert_eq!(
            remote_addr(
                xff,
                peer,
                &headers(&[("x-forwarded-for", "1.2.3.4, 2001:db8::1")])
            ),
            "2001:db8::1"
        );
    }
}
