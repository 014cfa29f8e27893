//! Forward: the only code that talks to a Target. Live traffic and replays both come here, so a
//! replay is byte for byte what the original Delivery sent.

use std::error::Error as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::event::{DeliveryResult, Event, HeaderList, Outcome};

pub mod hop;
mod target;

pub use target::{Target, parse_url, port};

/// Headers that belong to one connection and are never passed on (RFC 9110 §7.6.1).
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether `name` is hop-by-hop, either always or because `Connection` lists it.
pub fn is_hop_by_hop(name: &str, headers: &HeaderList) -> bool {
    if HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
        return true;
    }
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
        .filter_map(|(_, v)| std::str::from_utf8(v).ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case(name))
}

/// A request ready to go to a Target.
pub struct Outgoing {
    /// The URL it goes to.
    pub url: String,
    request: Request<Full<Bytes>>,
}

/// Builds the request that delivers `event` to `target`: same method, path, query, header
/// multiset and body bytes, minus hop-by-hop headers and `Host`, plus `X-Forwarded-*` and
/// this process in `Hooktap-Hop` ([`hop`]).
pub fn build(target: &Target, event: &Event, proto: &str) -> Result<Outgoing, String> {
    build_to(
        target,
        event,
        &event.path_and_query(),
        proto,
        &HeaderList::default(),
    )
}

/// [`build`] with the path and query a route chose (maybe with a prefix stripped), and
/// `extra` headers (`listen -H`) appended after the Event's.
pub fn build_to(
    target: &Target,
    event: &Event,
    path_and_query: &str,
    proto: &str,
    extra: &HeaderList,
) -> Result<Outgoing, String> {
    let mut out = request_at(target, event, path_and_query)?;
    let headers = out.request.headers_mut();
    for (name, value) in extra.iter() {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(n, v);
        }
    }
    if let Some(addr) = event.remote_addr.as_deref() {
        let ip = addr
            .parse::<SocketAddr>()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|_| addr.to_string());
        let xff = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(prior) => format!("{prior}, {ip}"),
            None => ip,
        };
        if let Ok(v) = HeaderValue::from_str(&xff) {
            headers.insert("x-forwarded-for", v);
        }
    }
    headers.insert(
        "x-forwarded-proto",
        HeaderValue::from_str(proto).unwrap_or(HeaderValue::from_static("http")),
    );
    if let Ok(v) = HeaderValue::from_str(&hop::stamp(&event.headers)) {
        headers.insert(hop::HEADER, v);
    }
    if let Some(host) = event
        .headers
        .get("host")
        .and_then(|h| HeaderValue::from_bytes(h).ok())
    {
        headers.insert("x-forwarded-host", host);
    }
    Ok(out)
}

/// The request as its sender makes it, with no `X-Forwarded-*` of a proxy's (for `trigger`,
/// which plays the provider): same method, path, query, header multiset and body bytes, minus
/// hop-by-hop headers and `Host`.
pub fn request(target: &Target, event: &Event) -> Result<Outgoing, String> {
    request_at(target, event, &event.path_and_query())
}

fn request_at(target: &Target, event: &Event, path_and_query: &str) -> Result<Outgoing, String> {
    let url = target.url_for(path_and_query);
    let uri: Uri = url
        .parse()
        .map_err(|_| format!("cannot build a URL from {url}"))?;
    let method = Method::from_bytes(event.method.as_bytes())
        .map_err(|_| format!("'{}' is not an HTTP method", event.method))?;
    let mut headers = HeaderMap::with_capacity(event.headers.len() + 3);
    for (name, value) in event.headers.iter() {
        if is_hop_by_hop(name, &event.headers) || name.eq_ignore_ascii_case("host") {
            continue;
        }
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("header name '{name}' is not valid HTTP"))?;
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| format!("the value of header '{name}' is not valid HTTP"))?;
        headers.append(name, value);
    }
    if headers.contains_key(http::header::CONTENT_LENGTH) {
        headers.insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(event.body.len()),
        );
    }
    let mut request = Request::new(Full::new(event.body.clone()));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(Outgoing { url, request })
}

/// The pooled HTTP client, with its time and size limits.
pub struct Forwarder {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    max_response: usize,
}

impl Forwarder {
    /// A client whose Deliveries give up after `timeout` and refuse responses over
    /// `max_response` bytes.
    pub fn new(timeout: Duration, max_response: usize) -> Forwarder {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        let tls = crate::tls::web_client_config();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build(https);
        Forwarder {
            client,
            timeout,
            max_response,
        }
    }

    /// The forward timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one request and reads the whole response, within the timeout. Never fails: a
    /// failure is a [`DeliveryResult`] too.
    pub async fn send(&self, outgoing: Outgoing) -> DeliveryResult {
        let started = Instant::now();
        let url = outgoing.url;
        let exchange = async {
            let response = self
                .client
                .request(outgoing.request)
                .await
                .map_err(|e| (describe(&url, &e), None))?;
            let (parts, body) = response.into_parts();
            // The app answered (its status is kept) but its body could not be read whole.
            let body = Limited::new(body, self.max_response)
                .collect()
                .await
                .map_err(|e| {
                    let why = if e.is::<http_body_util::LengthLimitError>() {
                        format!(
                            "the response of {url} is larger than {} bytes",
                            self.max_response
                        )
                    } else {
                        format!("the connection to {url} broke while reading the response ({e})")
                    };
                    (why, Some(parts.status.as_u16()))
                })?
                .to_bytes();
            Ok::<_, (String, Option<u16>)>((parts, body))
        };
        let result = tokio::time::timeout(self.timeout, exchange).await;
        let duration_us = started.elapsed().as_micros() as i64;
        match result {
            Ok(Ok((parts, body))) => {
                let mut headers = HeaderList::default();
                for (name, value) in &parts.headers {
                    headers.push(name.as_str(), value.as_bytes());
                }
                DeliveryResult {
                    outcome: Outcome::Ok,
                    status: Some(parts.status.as_u16()),
                    headers,
                    body,
                    error: None,
                    duration_us,
                }
            }
            Ok(Err((error, status))) => DeliveryResult {
                status,
                ..failure(Outcome::Failed, error, duration_us)
            },
            Err(_) => failure(
                Outcome::Timeout,
                format!(
                    "no answer from {url} within {} (is the app stuck? --timeout sets the wait)",
                    humantime(self.timeout)
                ),
                duration_us,
            ),
        }
    }
}

fn failure(outcome: Outcome, error: String, duration_us: i64) -> DeliveryResult {
    DeliveryResult {
        outcome,
        status: None,
        headers: HeaderList::default(),
        body: Bytes::new(),
        error: Some(error),
        duration_us,
    }
}

/// Turns a client error into a sentence that says what failed and what to do.
/// How [`describe`] begins a failure to connect at all.
const UNREACHABLE: &str = "cannot reach ";

/// Whether a Delivery failed because the Target could not be connected to (down, refused),
/// as opposed to a connection it reset, closed or left hanging on this request.
pub fn unreachable(result: &DeliveryResult) -> bool {
    result.outcome == Outcome::Failed
        && result.status.is_none()
        && result
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with(UNREACHABLE))
}

fn describe(url: &str, error: &hyper_util::client::legacy::Error) -> String {
    let mut cause = None;
    let mut source = error.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            cause = Some(io.kind());
        }
        source = s.source();
    }
    if error.is_connect() {
        let reason = match cause {
            Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
            Some(kind) => kind.to_string(),
            None => root_cause(error),
        };
        format!("{UNREACHABLE}{url} ({reason}): is your app running?")
    } else {
        format!(
            "the connection to {url} broke before a full response ({})",
            root_cause(error)
        )
    }
}

fn root_cause(error: &dyn std::error::Error) -> String {
    let mut last = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

/// `9s`, `500ms`, `2m`: durations as the flags write them.
pub fn humantime(d: Duration) -> String {
    let ms = d.as_millis();
    // The largest unit that divides the duration exactly: 7d, 2h, 90m, 9s, 1500ms.
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms > 0 && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Classification, Ingress};

    fn event(headers: &[(&str, &str)]) -> Event {
        let mut h = HeaderList::default();
        for (n, v) in headers {
            h.push(*n, v.as_bytes());
        }
        Event {
            uid: "u".into(),
            received_at: 0,
            ingress: Ingress::Local,
            method: "POST".into(),
            path: "/hooks/a".into(),
            query: Some("x=1".into()),
            remote_addr: Some("10.0.0.9:5000".into()),
            headers: h,
            body: Bytes::from_static(b"{}"),
            class: Classification::default(),
            derived_from: None,
        }
    }

    #[test]
    fn build_drops_hop_by_hop_and_host_and_adds_forwarded() {
        let e = event(&[
            ("host", "hooks.example.com"),
            ("connection", "keep-alive, x-private"),
            ("x-private", "1"),
            ("transfer-encoding", "chunked"),
            ("x-dup", "a"),
            ("X-Dup", "b"),
        ]);
        let out = build(&Target::parse("http://127.0.0.1:9").unwrap(), &e, "https").unwrap();
        let h = out.request.headers();
        assert!(h.get("connection").is_none());
        assert!(h.get("x-private").is_none());
        assert!(h.get("transfer-encoding").is_none());
        assert!(h.get("host").is_none());
        assert_eq!(
            h.get_all("x-dup").iter().collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        assert_eq!(h["x-forwarded-for"], "10.0.0.9");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "hooks.example.com");
        assert_eq!(h["hooktap-hop"], hop::id());
        assert_eq!(out.url, "http://127.0.0.1:9/hooks/a?x=1");
    }

    #[test]
    fn build_appends_to_an_existing_forwarded_for() {
        let e = event(&[("x-forwarded-for", "1.2.3.4")]);
        let out = build(&Target::parse("http://127.0.0.1:9").unwrap(), &e, "http").unwrap();
        assert_eq!(
            out.request.headers()["x-forwarded-for"],
            "1.2.3.4, 10.0.0.9"
        );
    }

    #[test]
    fn durations_print_like_flags() {
        assert_eq!(humantime(Duration::from_secs(9)), "9s");
        assert_eq!(humantime(Duration::from_millis(1500)), "1500ms");
        assert_eq!(humantime(Duration::from_secs(120)), "2m");
        assert_eq!(humantime(Duration::from_secs(7 * 86_400)), "7d");
        assert_eq!(humantime(Duration::from_secs(7_200)), "2h");
        assert_eq!(humantime(Duration::from_secs(5_400)), "90m");
        assert_eq!(humantime(Duration::ZERO), "0ms");
    }
}
