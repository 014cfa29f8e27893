//! An Event on the wire: the Relay turns a stored Event into one HTTP/2 request with the original
//! method, path, query, ordered headers and exact body, plus hooktap's own headers; the Agent
//! turns it back, exactly.
//!
//! hooktap's headers are appended after the Event's own, one value each, so the Agent takes the
//! last value of each and keeps any earlier ones (a sender's header of the same name) as they
//! were. Headers that HTTP/2 cannot carry (`Connection`, `Transfer-Encoding`, ...) travel inside
//! `hooktap-hop` with their original position, so both Stores hold the same header list.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Uri};
use http_body_util::Full;

use crate::event::{HeaderList, Micros};
use crate::forward::is_hop_by_hop;
use crate::tunnel::protocol::H_QUEUED;

/// The Event's uid (kept in both Stores).
pub const H_UID: &str = "hooktap-event-uid";
/// When the Relay received the Event, in µs since the epoch.
pub const H_RECEIVED_AT: &str = "hooktap-received-at";
/// The sender's address as the Relay saw it (empty when unknown).
pub const H_REMOTE: &str = "hooktap-remote-addr";
/// `http` or `https`: how the sender reached the Relay.
pub const H_PROTO: &str = "hooktap-proto";
/// Headers HTTP/2 cannot carry, with their positions (base64 of an encoded header list).
pub const H_HOP: &str = "hooktap-hop";
/// Answer header: `stored` once the Agent has committed the Event (or held it already).
pub const H_ACK: &str = "hooktap-ack";

const META: [&str; 6] = [H_UID, H_RECEIVED_AT, H_REMOTE, H_PROTO, H_HOP, H_QUEUED];

/// An Event as the Relay holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RelayEvent {
    /// Arrival order on the Relay (0 until stored).
    pub seq: i64,
    pub uid: String,
    pub channel: String,
    pub received_at: Micros,
    pub method: String,
    /// The path after `/c/<channel>`, always starting with `/`.
    pub path: String,
    pub query: Option<String>,
    pub remote_addr: Option<String>,
    /// `http` or `https`.
    pub proto: String,
    pub headers: HeaderList,
    pub body: Bytes,
}

/// What the Agent reads from an Event request (the body travels separately).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub uid: String,
    pub received_at: Micros,
    pub remote_addr: Option<String>,
    pub proto: &'static str,
    /// Events still waiting on the Relay behind this one.
    pub queued: Option<u64>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderList,
}

fn value(v: &[u8]) -> Result<HeaderValue, String> {
    HeaderValue::from_bytes(v).map_err(|_| "a header value is not valid HTTP".to_string())
}

/// The HTTP/2 request that carries `ev` to the Agent.
pub fn to_request(ev: &RelayEvent, queued: u64) -> Result<Request<Full<Bytes>>, String> {
    let pq = match &ev.query {
        Some(q) => format!("{}?{}", ev.path, q),
        None => ev.path.clone(),
    };
    let uri = Uri::builder()
        .scheme(if ev.proto == "https" { "https" } else { "http" })
        .authority("hooktap.tunnel")
        .path_and_query(pq)
        .build()
        .map_err(|e| format!("cannot carry path {}: {e}", ev.path))?;
    // The URI parser drops what it cannot hold (a `#...` part): refuse rather than deliver
    // another path than the one stored (found by fuzzing; hyper never hands over such paths).
    if uri.path() != ev.path || uri.query() != ev.query.as_deref() {
        return Err(format!("cannot carry path {} exactly", ev.path));
    }
    let mut headers = HeaderMap::with_capacity(ev.headers.len() + META.len());
    let mut hop = HeaderList::default();
    for (i, (name, v)) in ev.headers.iter().enumerate() {
        if is_hop_by_hop(name, &ev.headers) {
            hop.push(format!("{i}:{name}"), v);
            continue;
        }
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("header name '{name}' is not valid HTTP"))?;
        headers.append(name, value(v)?);
    }
    let meta: [(&str, Vec<u8>); 6] = [
        (H_UID, ev.uid.clone().into_bytes()),
        (H_RECEIVED_AT, ev.received_at.to_string().into_bytes()),
        (
            H_REMOTE,
            ev.remote_addr.clone().unwrap_or_default().into_bytes(),
        ),
        (H_PROTO, ev.proto.clone().into_bytes()),
        (H_HOP, B64.encode(hop.encode()).into_bytes()),
        (H_QUEUED, queued.to_string().into_bytes()),
    ];
    for (name, v) in meta {
        headers.append(HeaderName::from_static(name), value(&v)?);
    }
    let mut req = Request::new(Full::new(ev.body.clone()));
    *req.method_mut() = http::Method::from_bytes(ev.method.as_bytes())
        .map_err(|_| format!("'{}' is not an HTTP method", ev.method))?;
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    Ok(req)
}

/// Reads an Event request back into the Event's own fields.
pub fn from_request(parts: &http::request::Parts) -> Result<Received, String> {
    let h = &parts.headers;
    let last = |name: &str| {
        h.get_all(name)
            .iter()
            .next_back()
            .map(HeaderValue::as_bytes)
    };
    let text = |name: &str| {
        last(name)
            .and_then(|v| std::str::from_utf8(v).ok())
            .ok_or_else(|| format!("the Relay sent no {name}"))
    };
    let uid = text(H_UID)?.to_string();
    let received_at = text(H_RECEIVED_AT)?
        .parse()
        .map_err(|_| format!("bad {H_RECEIVED_AT}"))?;
    let remote = text(H_REMOTE)?;
    let proto = if text(H_PROTO)? == "https" {
        "https"
    } else {
        "http"
    };
    let hop = B64
        .decode(text(H_HOP)?)
        .ok()
        .and_then(|b| HeaderList::decode(&b))
        .ok_or_else(|| format!("bad {H_HOP}"))?;
    let mut headers = HeaderList::default();
    for name in h.keys() {
        let values: Vec<&HeaderValue> = h.get_all(name).iter().collect();
        let keep = if META.contains(&name.as_str()) {
            values.len().saturating_sub(1)
        } else {
            values.len()
        };
        for v in &values[..keep] {
            headers.push(name.as_str(), v.as_bytes());
        }
    }
    for (at_name, v) in hop.iter() {
        let (at, name) = at_name
            .split_once(':')
            .and_then(|(at, n)| Some((at.parse::<usize>().ok()?, n)))
            .ok_or_else(|| format!("bad {H_HOP} entry"))?;
        headers
            .0
            .insert(at.min(headers.len()), (name.to_string(), v.to_vec()));
    }
    Ok(Received {
        uid,
        received_at,
        remote_addr: Some(remote.to_string()).filter(|r| !r.is_empty()),
        proto,
        queued: text(H_QUEUED).ok().and_then(|q| q.parse().ok()),
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(headers: &[(&str, &[u8])]) -> RelayEvent {
        let mut list = HeaderList::default();
        for (n, v) in headers {
            list.push(*n, v.to_vec());
        }
        RelayEvent {
            seq: 7,
            uid: "01UID".into(),
            channel: "alice".into(),
            received_at: 1_764_266_400_123_456,
            method: "PATCH".into(),
            path: "/hooks/a b%20c".replace(' ', "%20"),
            query: Some("x=1&y=%2F".into()),
            remote_addr: Some("203.0.113.9:4410".into()),
            proto: "https".into(),
            headers: list,
            body: Bytes::from_static(b"\x00\xff{}"),
        }
    }

    fn round_trip(ev: &RelayEvent) -> Received {
        let req = to_request(ev, 3).unwrap();
        let (parts, _) = req.into_parts();
        from_request(&parts).unwrap()
    }

    #[test]
    fn headers_survive_exactly_with_hop_headers_in_place() {
        let ev = event(&[
            ("host", b"relay.example.com"),
            ("connection", b"keep-alive, x-private"),
            ("content-type", b"application/json"),
            ("x-private", b"1"),
            ("x-dup", b"a"),
            ("x-dup", b"b\xfe"),
            ("transfer-encoding", b"chunked"),
            ("te", b"gzip"),
        ]);
        let got = round_trip(&ev);
        assert_eq!(got.headers, ev.headers);
        assert_eq!(got.uid, "01UID");
        assert_eq!(got.received_at, ev.received_at);
        assert_eq!(got.remote_addr.as_deref(), Some("203.0.113.9:4410"));
        assert_eq!(got.proto, "https");
        assert_eq!(got.queued, Some(3));
        assert_eq!(got.method, "PATCH");
        assert_eq!(got.path, ev.path);
        assert_eq!(got.query, ev.query);
    }

    #[test]
    fn a_senders_own_hooktap_headers_are_kept() {
        let ev = event(&[("hooktap-event-uid", b"forged"), ("x-a", b"1")]);
        let got = round_trip(&ev);
        assert_eq!(got.uid, "01UID");
        assert_eq!(got.headers, ev.headers);
    }

    #[test]
    fn missing_metadata_is_an_error() {
        let (parts, _) = Request::new(()).into_parts();
        assert!(from_request(&parts).unwrap_err().contains(H_UID));
    }
}
