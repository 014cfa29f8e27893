//! The Relay's server: one port (TLS, or plain behind a TLS proxy) that takes webhooks under
//! `/c/<channel>/...` and Tunnels at [`TUNNEL_PATH`], with every limit enforced.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming as HyperBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::capture::Answer;
use crate::event::{HeaderList, new_uid, now_micros};
use crate::listener::{self, Limits, MAX_HEAD_BYTES, MAX_HEADERS, Throttle, framing};
use crate::tunnel::hub::{Hub, say};
use crate::tunnel::protocol::{
    self, CHANNEL_PREFIX, H_PUBLIC_URL, H_QUEUED, H_TRANSPORTS, HEALTH_PATH, Refusal, TRANSPORTS,
    TUNNEL_PATH, UPGRADE, Upgrade,
};
use crate::tunnel::wire::RelayEvent;

/// How the Relay serves.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Limits on senders (body size and time, connection count).
    pub limits: Limits,
    /// Time for TLS plus a request head; also the Tunnel handshake deadline.
    pub handshake_timeout: Duration,
    /// HTTP/2 PING interval (and timeout) on Tunnels.
    pub ping: Duration,
    /// The public base URL (`https://relay.example.com`); else taken from each request's Host.
    pub public_url: Option<String>,
}

/// Serves `listener` until `shutdown` fires.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    config: RelayConfig,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(config.limits.max_connections));
    let config = Arc::new(config);
    while let Some((stream, remote)) = crate::listener::accept(&listener, &shutdown).await {
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            crate::listener::turn_away(stream, tls.is_some());
            continue;
        };
        let (hub, config, tls, shutdown) =
            (hub.clone(), config.clone(), tls.clone(), shutdown.clone());
        tokio::spawn(async move {
            match tls {
                None => serve_io(stream, remote, "http", hub, config, shutdown).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(config.handshake_timeout, acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        // An ACME CA's TLS-ALPN-01 check ends with the handshake.
                        let alpn = stream.get_ref().1.alpn_protocol();
                        if alpn != Some(crate::tunnel::acme::ACME_TLS_ALPN) {
                            serve_io(stream, remote, "https", hub, config, shutdown).await;
                        }
                    }
                }
            }
            drop(slot);
        });
    }
}

async fn serve_io<I>(
    io: I,
    remote: SocketAddr,
    proto: &'static str,
    hub: Arc<Hub>,
    config: Arc<RelayConfig>,
    shutdown: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.handshake_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    let c = config.clone();
    let verdicts = framing::Verdicts::default();
    let io = framing::Watched::new(io, verdicts.clone()).write_stall(config.limits.body_timeout);
    let service = service_fn(move |req| {
        let (hub, config) = (hub.clone(), c.clone());
        // One framing verdict per request head, in order (see listener::framing).
        let conflict = verdicts
            .lock()
            .ok()
            .and_then(|mut v| v.pop_front())
            .unwrap_or(false);
        async move { Ok::<_, Infallible>(route(req, conflict, remote, proto, &hub, &config).await) }
    });
    let conn = http
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => if let Err(e) = r { tracing::debug!("connection from {remote}: {e}") },
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(listener::DRAIN_TIMEOUT, conn).await;
        }
    }
}

async fn route(
    req: Request<HyperBody>,
    conflict: bool,
    remote: SocketAddr,
    proto: &'static str,
    hub: &Arc<Hub>,
    config: &RelayConfig,
) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if path == TUNNEL_PATH {
        return tunnel(req, remote, proto, hub, config).await;
    }
    if path == HEALTH_PATH {
        return listener::response(Answer::text(200, "ok"));
    }
    match split_channel(path) {
        Some((channel, rest)) if hub.has_channel(channel) => {
            let (channel, rest) = (channel.to_string(), rest.to_string());
            webhook(req, conflict, channel, rest, remote, proto, hub, config).await
        }
        Some((channel, _)) => listener::response(Answer::text(
            404,
            &format!("no channel named '{channel}' on this relay"),
        )),
        None => listener::response(Answer::text(
            404,
            &format!("not a webhook path: webhooks go to {CHANNEL_PREFIX}<channel>/..."),
        )),
    }
}

/// `/c/alice/hooks/x` → (`alice`, `/hooks/x`); `/c/alice` → (`alice`, `/`).
pub fn split_channel(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(CHANNEL_PREFIX)?;
    let (channel, tail) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, "/"),
    };
    protocol::check_channel_name(channel).ok()?;
    Some((channel, tail))
}

#[allow(clippy::too_many_arguments)]
async fn webhook(
    req: Request<HyperBody>,
    conflict: bool,
    channel: String,
    path: String,
    remote: SocketAddr,
    proto: &'static str,
    hub: &Arc<Hub>,
    config: &RelayConfig,
) -> Response<Full<Bytes>> {
    // Nothing larger than the Channel's Agent takes: an Event acknowledged here must be one
    // it can store (before any Agent connected, the Relay's own --max-body holds).
    let agent_max = hub
        .agent_max_body(&channel)
        .filter(|&a| a < config.limits.max_body);
    let limits = &Limits {
        max_body: agent_max.unwrap_or(config.limits.max_body),
        ..config.limits.clone()
    };
    let method = req.method().clone();
    let refused = |answer: Answer| {
        let answer = match agent_max {
            Some(max) if answer.status == 413 => agents_limit(&channel, max),
            _ => answer,
        };
        refusal_line(&channel, &method, &path, remote, &answer);
        hub.note_refused(&channel);
        listener::closing(answer)
    };
    if let Some(answer) = listener::refuse(&req, limits, conflict) {
        return refused(answer);
    }
    let h = req.headers();
    let mut headers = HeaderList::default();
    for (name, value) in h {
        headers.push(name.as_str(), value.as_bytes());
    }
    let (parts, body) = req.into_parts();
    let body = match listener::read_body(body, limits).await {
        Ok(b) => b,
        Err(answer) => return refused(answer),
    };
    let ev = RelayEvent {
        seq: 0,
        uid: new_uid(),
        channel,
        received_at: now_micros(),
        method: parts.method.as_str().to_string(),
        path,
        query: parts.uri.query().map(str::to_string),
        remote_addr: Some(remote.to_string()),
        proto: proto.to_string(),
        headers,
        body,
    };
    // In its own task: a sender that hangs up must not stop an Event half-way between being
    // stored and being routed (it would wait in the queue until the Agent's next reconnect).
    let (hub, channel) = (hub.clone(), ev.channel.clone());
    let h = hub.clone();
    let answer = match tokio::spawn(async move { h.receive(ev).await }).await {
        Ok(answer) => answer,
        Err(_) => Answer::text(500, "internal error"),
    };
    if answer.status >= 400 {
        hub.note_refused(&channel);
    }
    listener::response(answer)
}

/// The `413` for a body over the `--max-body` the Channel's Agent stated.
fn agents_limit(channel: &str, max: u64) -> Answer {
    let max = crate::config::format_size(max);
    Answer::text(
        413,
        &format!(
            "body larger than {max}, the limit of the Agent of channel '{channel}': its user can raise it with `hooktap listen --max-body`"
        ),
    )
}

/// Refused webhooks and refused Agents: at most one line a second each (a sender or an
/// Agent refused in a loop must not fill the Relay's log), with a count of the rest.
static WEBHOOK_REFUSALS: Throttle = Throttle::new();
static AGENT_REFUSALS: Throttle = Throttle::new();

/// `n more refused ...` for a line after `skipped` held-back ones.
fn held_back(skipped: u64) -> String {
    match skipped {
        0 => String::new(),
        n => format!(" ({n} more refused since the last such line, not logged)"),
    }
}

fn refusal_line(
    channel: &str,
    method: &http::Method,
    path: &str,
    remote: SocketAddr,
    answer: &Answer,
) {
    if let Some(skipped) = WEBHOOK_REFUSALS.admit(Instant::now()) {
        let why = String::from_utf8_lossy(&answer.body);
        let why = why.trim().trim_start_matches("hooktap: ");
        // The path is the sender's: `say` shows it through crate::text.
        say(
            channel,
            &format!(
                "refused {} {} from {remote} with {}: {why}; not stored{}",
                listener::cut(method.as_str(), 20),
                listener::cut(path, 100),
                answer.status,
                held_back(skipped)
            ),
        );
    }
}

/// A refused handshake; it names the transports this Relay takes, so an Agent can tell it from
/// an older Relay's refusal (or a proxy's).
fn refuse(r: Refusal) -> Response<Full<Bytes>> {
    let mut response = listener::closing(Answer::text(r.status.as_u16(), &r.message));
    response
        .headers_mut()
        .insert(H_TRANSPORTS, HeaderValue::from_static(TRANSPORTS));
    response
}

/// The Tunnel handshake: check it, answer `101`, then run HTTP/2 (Relay as client) on the
/// upgraded connection (inside WebSocket messages, or bare for the older Upgrade).
async fn tunnel(
    mut req: Request<HyperBody>,
    remote: SocketAddr,
    proto: &str,
    hub: &Arc<Hub>,
    config: &RelayConfig,
) -> Response<Full<Bytes>> {
    let (hs, upgrade) = match protocol::parse(req.method(), req.headers()) {
        Ok(x) => x,
        Err(r) => return refuse(r),
    };
    let admitted = match hub.admit(&hs) {
        Err(r) if r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::NOT_FOUND => {
            // Added or rotated moments ago? Look the Channel up again before refusing.
            hub.refresh_after_miss(&hs.channel).await;
            hub.admit(&hs)
        }
        other => other,
    };
    let (slot, queued) = match admitted {
        Ok(x) => x,
        Err(r) => {
            hub.note_agent_refused(&hs.channel);
            if let Some(skipped) = AGENT_REFUSALS.admit(Instant::now()) {
                let line = format!("refused an Agent from {remote}: {}", r.message);
                say(&hs.channel, &format!("{line}{}", held_back(skipped)));
            }
            return refuse(r);
        }
    };
    let base = match &config.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let host = req
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("{proto}://{host}")
        }
    };
    let public_url = format!("{base}{CHANNEL_PREFIX}{}/", hs.channel);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (hub, deadline, ping) = (hub.clone(), config.handshake_timeout, config.ping);
    let transport = upgrade.transport();
    tokio::spawn(async move {
        let upgraded = match tokio::time::timeout(deadline, on_upgrade).await {
            Ok(Ok(u)) => u,
            _ => return,
        };
        let upgraded = crate::tunnel::ws::tunnel_io(upgraded, transport, true).await;
        let mut h2 = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
        h2.timer(TokioTimer::new())
            .keep_alive_interval(ping)
            .keep_alive_timeout(ping)
            .keep_alive_while_idle(true)
            .initial_stream_window_size(1 << 20)
            .initial_connection_window_size(8 << 20);
        match h2.handshake(upgraded).await {
            Ok((send, conn)) => hub.attach(slot, hs, remote, send, conn),
            Err(e) => tracing::info!("Tunnel from {remote}: HTTP/2 handshake failed: {e}"),
        }
    });
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(
        http::header::CONNECTION,
        HeaderValue::from_static("upgrade"),
    );
    match &upgrade {
        Upgrade::Tunnel1 => {
            h.insert(http::header::UPGRADE, HeaderValue::from_static(UPGRADE));
        }
        Upgrade::WebSocket { key } => {
            use crate::tunnel::ws::{SUBPROTOCOL, accept_key};
            h.insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
            if let Ok(v) = HeaderValue::from_str(&accept_key(key)) {
                h.insert(http::header::SEC_WEBSOCKET_ACCEPT, v);
            }
            h.insert(
                http::header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_static(SUBPROTOCOL),
            );
        }
    }
    h.insert(H_TRANSPORTS, HeaderValue::from_static(TRANSPORTS));
    h.insert(H_QUEUED, HeaderValue::from(queued));
    if let Ok(v) = HeaderValue::from_str(&public_url) {
        h.insert(H_PUBLIC_URL, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_paths() {
        assert_eq!(
            split_channel("/c/alice/hooks/x"),
            Some(("alice", "/hooks/x"))
        );
        assert_eq!(split_channel("/c/alice"), Some(("alice", "/")));
        assert_eq!(split_channel("/c/alice/"), Some(("alice", "/")));
        assert_eq!(split_channel("/c/"), None);
        assert_eq!(split_channel("/c/Al!ce/x"), None);
        assert_eq!(split_channel("/_hooktap/tunnel"), None);
        assert_eq!(split_channel("/hooks/x"), None);
    }
}
