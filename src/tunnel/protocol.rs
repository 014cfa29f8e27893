//! The Tunnel protocol: its typed constants, the HTTP/1.1 Upgrade handshake (built by the
//! Agent, checked by the Relay), Channel names and tokens.
//!
//! ```text
//! Agent                                           Relay
//!   TLS ClientHello ------------------------------>
//!   GET /_hooktap/tunnel HTTP/1.1
//!   Connection: upgrade
//!   Upgrade: websocket
//!   Sec-WebSocket-Version: 13
//!   Sec-WebSocket-Key: ...
//!   Sec-WebSocket-Protocol: hooktap.tunnel.v1
//!   Authorization: Bearer ht_...
//!   Hooktap-Channel: alice
//!   Hooktap-Max-Body: 26214400  ------------------>  (checked within the handshake deadline)
//!   <------------------------  101 Switching Protocols (Sec-WebSocket-Accept,
//!                              Hooktap-Queued, Hooktap-Public-Url)
//!   HTTP/2 in WebSocket binary messages: the Relay is the client, the Agent the server;
//!   each Event is one request, answered after the Agent has committed it.
//! ```
//!
//! The older `Upgrade: hooktap-tunnel/1` (HTTP/2 straight on the connection, no WebSocket) is
//! still accepted from older Agents; proxies that pass only WebSocket upgrades refuse it.

use std::time::Duration;

use base64::Engine;
use http::{HeaderMap, Request, StatusCode};
use sha2::{Digest, Sha256};

/// The one path of the Relay that takes Tunnels; never a webhook path.
pub const TUNNEL_PATH: &str = "/_hooktap/tunnel";
/// Answers `200 ok` while the Relay runs (for load balancers and scripts).
pub const HEALTH_PATH: &str = "/_hooktap/health";
/// The Relay's first request on a new Tunnel, once it has attached the Agent: from then on it
/// delivers live, so only then does the Agent call itself connected.
pub const ATTACHED_PATH: &str = "/_hooktap/attached";
/// Webhooks for Channel `alice` arrive under `/c/alice/`.
pub const CHANNEL_PREFIX: &str = "/c/";
/// The older `Upgrade` token: protocol name and version (HTTP/2 bare on the connection).
pub const UPGRADE: &str = "hooktap-tunnel/1";
/// On every answer of the Relay at [`TUNNEL_PATH`]: the transports it takes. An Agent whose
/// WebSocket upgrade is refused without it meets an older Relay (or something else).
pub const H_TRANSPORTS: &str = "hooktap-tunnel-transports";
/// The value of [`H_TRANSPORTS`].
pub const TRANSPORTS: &str = "websocket, hooktap-tunnel/1";

/// How the Tunnel's HTTP/2 crosses: inside WebSocket binary messages (the default, passes
/// proxies that carry WebSockets) or bare after the older `hooktap-tunnel/1` Upgrade.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    #[value(name = "websocket")]
    WebSocket,
    #[value(name = "upgrade")]
    Upgrade,
}

/// The transport part of a handshake, as sent or as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upgrade {
    /// `Upgrade: hooktap-tunnel/1`.
    Tunnel1,
    /// `Upgrade: websocket` with this `Sec-WebSocket-Key`.
    WebSocket { key: String },
}

impl Upgrade {
    /// Which transport this is.
    pub fn transport(&self) -> Transport {
        match self {
            Upgrade::Tunnel1 => Transport::Upgrade,
            Upgrade::WebSocket { .. } => Transport::WebSocket,
        }
    }
}

/// Handshake: the Channel the Agent wants.
pub const H_CHANNEL: &str = "hooktap-channel";
/// Handshake: a random id per Agent process, so a reconnect replaces its own stale Tunnel.
pub const H_AGENT: &str = "hooktap-agent";
/// Handshake: `1` to replace another Agent that holds the Channel.
pub const H_TAKEOVER: &str = "hooktap-takeover";
/// Handshake: the largest body the Agent takes (its `--max-body`, in bytes). The Relay keeps
/// the last value per Channel and refuses larger webhooks at ingress with `413`.
pub const H_MAX_BODY: &str = "hooktap-max-body";
/// The Relay's hello: queued Events larger than the Agent's `--max-body` (kept, not sent).
pub const H_HELD: &str = "hooktap-held";
/// The Relay's hello: the largest of those, in bytes.
pub const H_HELD_LARGEST: &str = "hooktap-held-largest";
/// Handshake answer and Event requests: Events waiting on the Relay for this Channel.
pub const H_QUEUED: &str = "hooktap-queued";
/// Handshake answer: the Channel's public URL.
pub const H_PUBLIC_URL: &str = "hooktap-public-url";

/// The handshake deadline: TLS plus the Upgrade request, from the first byte.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often each side sends an HTTP/2 PING; a PING unanswered this long closes the Tunnel.
pub const PING_INTERVAL: Duration = Duration::from_secs(15);
/// Tunnel connections (handshaking or open) one Channel may hold at once.
pub const MAX_CHANNEL_CONNECTIONS: usize = 4;
/// Largest Upgrade request head: a real one is a few hundred bytes (`431` beyond).
pub const MAX_HANDSHAKE_BYTES: usize = 8 << 10;
/// Longest Channel name.
pub const MAX_CHANNEL_NAME: usize = 63;

/// What the Agent asks for in its Upgrade request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake {
    pub channel: String,
    pub token: String,
    pub agent: String,
    pub takeover: bool,
    /// The Agent's `--max-body` ([`H_MAX_BODY`]); `None` from an Agent that does not say.
    pub max_body: Option<u64>,
}

/// Why the Relay refused a handshake: an HTTP status and a sentence for the Agent's user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    /// A refusal with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }

    /// Whether trying again cannot help (wrong token, unknown Channel, taken, old protocol).
    pub fn is_final(status: StatusCode) -> bool {
        matches!(status.as_u16(), 400 | 401 | 403 | 404 | 409 | 426)
    }
}

/// Builds the Agent's Upgrade request.
pub fn request(
    host: &str,
    h: &Handshake,
    upgrade: &Upgrade,
) -> http::Result<Request<http_body_util::Empty<bytes::Bytes>>> {
    use http::header::{
        SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, UPGRADE as UP,
    };
    let mut b = Request::get(TUNNEL_PATH)
        .header(http::header::HOST, host)
        .header(http::header::CONNECTION, "upgrade");
    b = match upgrade {
        Upgrade::Tunnel1 => b.header(UP, UPGRADE),
        Upgrade::WebSocket { key } => b
            .header(UP, "websocket")
            .header(SEC_WEBSOCKET_VERSION, "13")
            .header(SEC_WEBSOCKET_KEY, key)
            .header(SEC_WEBSOCKET_PROTOCOL, crate::tunnel::ws::SUBPROTOCOL),
    };
    b = b
        .header(http::header::AUTHORIZATION, format!("Bearer {}", h.token))
        .header(H_CHANNEL, &h.channel)
        .header(H_AGENT, &h.agent);
    if h.takeover {
        b = b.header(H_TAKEOVER, "1");
    }
    if let Some(max) = h.max_body {
        b = b.header(H_MAX_BODY, max);
    }
    b.body(http_body_util::Empty::new())
}

/// Checks the shape of an Upgrade request (not the token: the Relay does that against its
/// Store) and returns what it asks for.
pub fn parse(method: &http::Method, headers: &HeaderMap) -> Result<(Handshake, Upgrade), Refusal> {
    if head_size(headers) > MAX_HANDSHAKE_BYTES {
        return Err(Refusal::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("a Tunnel handshake is at most {MAX_HANDSHAKE_BYTES} bytes"),
        ));
    }
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let upgrade = text(http::header::UPGRADE.as_str());
    let wants_upgrade = text(http::header::CONNECTION.as_str()).is_some_and(|c| {
        c.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
    });
    let transport = match upgrade {
        _ if !wants_upgrade || *method != http::Method::GET => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "{TUNNEL_PATH} takes only hooktap Tunnels (hooktap listen --relay); \
                     webhooks go to {CHANNEL_PREFIX}<channel>/..."
                ),
            ));
        }
        Some(u) if u.eq_ignore_ascii_case(UPGRADE) => Upgrade::Tunnel1,
        Some(u) if u.eq_ignore_ascii_case("websocket") => websocket(headers)?,
        Some(u) if u.to_ascii_lowercase().starts_with("hooktap-tunnel/") => {
            return Err(Refusal::new(
                StatusCode::UPGRADE_REQUIRED,
                format!(
                    "this relay speaks {UPGRADE}, the Agent asked for {u}: run the same hooktap version on both"
                ),
            ));
        }
        _ => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("expected Upgrade: websocket (or the older {UPGRADE})"),
            ));
        }
    };
    let channel = text(H_CHANNEL)
        .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "no Channel named (--channel)"))?;
    check_channel_name(channel).map_err(|m| Refusal::new(StatusCode::BAD_REQUEST, m))?;
    let token = text(http::header::AUTHORIZATION.as_str())
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Refusal::new(StatusCode::UNAUTHORIZED, "no token given (--token)"))?;
    let max_body = match text(H_MAX_BODY) {
        None => None,
        Some(v) => Some(v.parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("{H_MAX_BODY} must be a positive number of bytes, not '{v}'"),
            )
        })?),
    };
    let hs = Handshake {
        channel: channel.to_string(),
        token: token.to_string(),
        agent: text(H_AGENT).unwrap_or("").chars().take(64).collect(),
        takeover: text(H_TAKEOVER) == Some("1"),
        max_body,
    };
    Ok((hs, transport))
}

/// The WebSocket part of a handshake: version 13, a key, and the Tunnel's subprotocol.
fn websocket(headers: &HeaderMap) -> Result<Upgrade, Refusal> {
    use crate::tunnel::ws::{SUBPROTOCOL, offers_subprotocol};
    let text = |name: http::header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if text(http::header::SEC_WEBSOCKET_VERSION) != Some("13") {
        return Err(Refusal::new(
            StatusCode::UPGRADE_REQUIRED,
            "this relay speaks WebSocket version 13 (Sec-WebSocket-Version: 13)",
        ));
    }
    let offered = headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(offers_subprotocol);
    if !offered {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!(
                "{TUNNEL_PATH} takes only hooktap Tunnels (Sec-WebSocket-Protocol: {SUBPROTOCOL}); \
                 webhooks go to {CHANNEL_PREFIX}<channel>/..."
            ),
        ));
    }
    let key = text(http::header::SEC_WEBSOCKET_KEY)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "no Sec-WebSocket-Key given"))?;
    Ok(Upgrade::WebSocket {
        key: key.to_string(),
    })
}

/// The size of a request's headers as sent (name, `: `, value, CRLF each). hyper's own head
/// limit applies only while a head is still incomplete, so a head that arrives in one read can
/// exceed it: this is checked after parsing too.
pub fn head_size(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum()
}

/// Channel names: 1 to 63 of `a-z`, `0-9`, `-` and `_`, starting with a letter or digit (they
/// appear in URLs and log lines as they are).
pub fn check_channel_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if starts_well && name.len() <= MAX_CHANNEL_NAME && name.chars().all(ok_char) {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a Channel name: use 1 to {MAX_CHANNEL_NAME} of a-z, 0-9, - and _, \
             starting with a letter or digit"
        ))
    }
}

/// A new token: `ht_` and 32 random bytes in URL-safe base64.
pub fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    crate::tls::provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system's random source failed; cannot make a token"))?;
    Ok(format!(
        "ht_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The SHA-256 of a token: all the Relay stores.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares two hashes in constant time (no early exit on the first differing byte).
pub fn hashes_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake_headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn request_and_parse_agree() {
        let hs = Handshake {
            channel: "alice".into(),
            token: "ht_abc".into(),
            agent: "01AGENT".into(),
            takeover: true,
            max_body: Some(1024),
        };
        let ws = Upgrade::WebSocket { key: "a2V5".into() };
        for upgrade in [ws.clone(), Upgrade::Tunnel1] {
            let req = request("relay.example.com", &hs, &upgrade).unwrap();
            assert_eq!(req.uri().path(), TUNNEL_PATH);
            assert_eq!(req.headers()[H_MAX_BODY], "1024");
            assert_eq!(
                parse(req.method(), req.headers()),
                Ok((hs.clone(), upgrade.clone()))
            );
        }
        let req = request("relay.example.com", &hs, &ws).unwrap();
        assert_eq!(req.headers()["upgrade"], "websocket");
        assert_eq!(req.headers()["sec-websocket-protocol"], "hooktap.tunnel.v1");
        let silent = Handshake {
            max_body: None,
            ..hs.clone()
        };
        let req = request("relay.example.com", &silent, &ws).unwrap();
        assert_eq!(parse(req.method(), req.headers()), Ok((silent, ws.clone())));
        let mut bad = request("relay.example.com", &hs, &ws).unwrap();
        bad.headers_mut()
            .insert(H_MAX_BODY, http::HeaderValue::from_static("lots"));
        let refused = parse(bad.method(), bad.headers()).unwrap_err();
        assert!(refused.message.contains("hooktap-max-body"), "{refused}");
    }

    #[test]
    fn a_websocket_without_the_tunnel_subprotocol_is_refused() {
        let get = http::Method::GET;
        let mut h = handshake_headers(&[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "a2V5"),
            ("hooktap-channel", "alice"),
            ("authorization", "Bearer ht_x"),
        ]);
        let other = parse(&get, &h).unwrap_err();
        assert_eq!(other.status, StatusCode::BAD_REQUEST);
        assert!(other.message.contains("hooktap.tunnel.v1"), "{other}");
        h.insert(
            "sec-websocket-protocol",
            "chat, hooktap.tunnel.v1".parse().unwrap(),
        );
        assert!(parse(&get, &h).is_ok());
        h.insert("sec-websocket-version", "8".parse().unwrap());
        assert_eq!(
            parse(&get, &h).unwrap_err().status,
            StatusCode::UPGRADE_REQUIRED
        );
    }

    #[test]
    fn parse_refuses_clearly() {
        let get = http::Method::GET;
        let base = [("connection", "Upgrade"), ("upgrade", UPGRADE)];
        let no_upgrade = parse(&get, &handshake_headers(&[])).unwrap_err();
        assert_eq!(no_upgrade.status, StatusCode::BAD_REQUEST);
        assert!(no_upgrade.message.contains("webhooks go to /c/"));
        let old = parse(
            &get,
            &handshake_headers(&[("connection", "upgrade"), ("upgrade", "hooktap-tunnel/0")]),
        )
        .unwrap_err();
        assert_eq!(old.status, StatusCode::UPGRADE_REQUIRED);
        let no_channel = parse(&get, &handshake_headers(&base)).unwrap_err();
        assert!(no_channel.message.contains("--channel"));
        let mut with_channel = base.to_vec();
        with_channel.push(("hooktap-channel", "alice"));
        let no_token = parse(&get, &handshake_headers(&with_channel)).unwrap_err();
        assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
        with_channel.push(("hooktap-channel", "x"));
        with_channel[2].1 = "Bad/Name";
        let bad = parse(&get, &handshake_headers(&with_channel)).unwrap_err();
        assert!(bad.message.contains("not a Channel name"));
        let pad = "p".repeat(MAX_HANDSHAKE_BYTES);
        let mut big = base.to_vec();
        big.push(("x-pad", &pad));
        let big = parse(&get, &handshake_headers(&big)).unwrap_err();
        assert_eq!(big.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }

    #[test]
    fn channel_names() {
        assert!(check_channel_name("alice").is_ok());
        assert!(check_channel_name("a-1_b").is_ok());
        assert!(check_channel_name("").is_err());
        assert!(check_channel_name("-a").is_err());
        assert!(check_channel_name("Alice").is_err());
        assert!(check_channel_name("a/b").is_err());
        assert!(check_channel_name(&"a".repeat(64)).is_err());
    }

    #[test]
    fn tokens_are_random_and_hash_compare() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("ht_") && a.len() == 3 + 43, "{a}");
        assert!(hashes_equal(&token_hash(&a), &token_hash(&a)));
        assert!(!hashes_equal(&token_hash(&a), &token_hash(&b)));
    }
}
