//! An open Tunnel, served: HTTP/2 with the Relay as client, each Event handed to capture and
//! answered `stored` once committed, the Relay's hello turning the state to connected.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming as HyperBody;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::dial::Tunnel;
use super::{AgentConfig, Held, TunnelState};
use crate::capture::{Answer, Capture, Incoming};
use crate::event::Ingress;
use crate::listener::{self, Limits};
use crate::tunnel::backoff::ClockWatch;
use crate::tunnel::protocol::{self, H_HELD, H_HELD_LARGEST, H_QUEUED};
use crate::tunnel::wire::{self, H_ACK};

/// Serves Events on an open Tunnel; `None` on shutdown, else why it ended.
pub(super) async fn serve(
    tunnel: Tunnel,
    config: &AgentConfig,
    capture: &Arc<Capture>,
    limits: &Arc<Limits>,
    state: &watch::Sender<TunnelState>,
    shutdown: &CancellationToken,
    clock: &mut ClockWatch,
) -> Option<String> {
    let (capture, limits, st) = (capture.clone(), limits.clone(), state.clone());
    let public_url = Arc::new(tunnel.public_url.clone());
    let service = service_fn(move |req: Request<HyperBody>| {
        let (capture, limits, st) = (capture.clone(), limits.clone(), st.clone());
        let public_url = public_url.clone();
        async move {
            if req.uri().path() == protocol::ATTACHED_PATH {
                return Ok(attached(&req, &public_url, limits.max_body, &st));
            }
            Ok::<_, std::convert::Infallible>(handle(req, capture, &limits, &st).await)
        }
    });
    let mut h2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .keep_alive_interval(config.ping)
        .keep_alive_timeout(config.ping)
        .initial_stream_window_size(1 << 20)
        .initial_connection_window_size(8 << 20)
        .max_concurrent_streams(256);
    let conn = h2.serve_connection(tunnel.io, service);
    tokio::pin!(conn);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            r = conn.as_mut() => return Some(match r {
                Ok(()) => "the Tunnel closed (relay stopped, or the link dropped)".to_string(),
                Err(e) => format!("the Tunnel broke ({e})"),
            }),
            _ = shutdown.cancelled() => {
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(Duration::from_secs(2), conn.as_mut()).await;
                return None;
            }
            _ = tick.tick() => if let Some(jump) = clock.check(SystemTime::now(), Instant::now()) {
                return Some(format!("the clock jumped {}s (sleep/wake?)", jump.as_secs()));
            },
        }
    }
}

/// The Relay's hello: the Tunnel is attached and live from now on; it says how many Events
/// wait, and how many of them are over this Agent's `max_body` (they stay on the Relay).
fn attached(
    req: &Request<HyperBody>,
    public_url: &str,
    max_body: u64,
    state: &watch::Sender<TunnelState>,
) -> Response<Full<Bytes>> {
    let number = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let held = match number(H_HELD) {
        0 => None,
        count => Some(Held {
            count,
            largest: number(H_HELD_LARGEST),
            max_body,
        }),
    };
    state.send_replace(TunnelState::Connected {
        public_url: public_url.to_string(),
        queued: number(H_QUEUED),
        held,
    });
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// One Event from the Relay: into capture (in its own task, so a cut Tunnel never stops a
/// Delivery half-way), then the answer, marked `stored` when the Agent has committed it.
async fn handle(
    req: Request<HyperBody>,
    capture: Arc<Capture>,
    limits: &Limits,
    state: &watch::Sender<TunnelState>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let received = match wire::from_request(&parts) {
        Ok(r) => r,
        Err(e) => return listener::response(Answer::text(400, &e)),
    };
    if let Some(q) = received.queued {
        state.send_if_modified(|s| match s {
            TunnelState::Connected { queued, .. } if *queued != q => {
                *queued = q;
                true
            }
            _ => false,
        });
    }
    let body = match listener::read_body(body, limits).await {
        Ok(b) => b,
        Err(a) if a.status == 413 => return listener::response(a),
        // A cut mid-body is the Tunnel's fault, not the Event's: the Relay must try again.
        Err(a) => return listener::response(Answer { status: 503, ..a }),
    };
    let incoming = Incoming {
        method: received.method,
        path: received.path,
        query: received.query,
        headers: received.headers,
        body,
        remote_addr: received.remote_addr,
        ingress: Ingress::Relay,
        proto: received.proto,
        uid: Some(received.uid),
        received_at: Some(received.received_at),
    };
    let answer = match tokio::spawn(async move { capture.handle(incoming).await }).await {
        Ok(a) => a,
        Err(_) => Answer::text(500, "internal error while capturing"),
    };
    let stored = answer.event_id.is_some();
    let mut response = listener::response(answer);
    if stored {
        response
            .headers_mut()
            .insert(H_ACK, HeaderValue::from_static("stored"));
    }
    response
}
