//! The Agent (`hooktap listen --relay ...`): dials the Relay over TLS, upgrades to a Tunnel,
//! serves HTTP/2 on it, hands each Event to capture (which dedupes by uid), and reconnects with
//! backoff. Its [`TunnelState`] is published for the log lines and the TUI.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as HyperBody;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::capture::{Answer, Capture, Incoming};
use crate::config::parse_duration;
use crate::event::Ingress;
use crate::listener::{self, Limits};
use crate::tunnel::backoff::{Backoff, ClockWatch, jitter};
use crate::tunnel::protocol::{self, H_PUBLIC_URL, H_QUEUED, Handshake, Refusal};
use crate::tunnel::wire::{self, H_ACK};

/// `listen`'s flags for receiving through a Relay.
#[derive(clap::Args, Debug, Clone)]
pub struct RelayArgs {
    /// Also receive webhooks through this Relay, e.g. https://relay.example.com
    #[arg(long, value_name = "URL", requires_all = ["channel", "token"])]
    pub relay: Option<String>,
    /// The Relay Channel to receive (see `hooktap relay channel add`)
    #[arg(long, value_name = "NAME", requires = "relay")]
    pub channel: Option<String>,
    /// The Channel's token (or set $HOOKTAP_TOKEN, which stays out of the process list)
    #[arg(
        long,
        value_name = "TOKEN",
        env = "HOOKTAP_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Trust this PEM CA (or self-signed certificate) for the Relay instead of the usual roots
    #[arg(long, value_name = "PEM", requires = "relay")]
    pub relay_ca: Option<PathBuf>,
    /// Replace another Agent that holds the Channel
    #[arg(long, requires = "relay")]
    pub takeover: bool,
    /// Shortest wait before reconnecting (it doubles per failure)
    #[arg(long, default_value = "500ms", value_parser = parse_duration, hide = true)]
    pub relay_backoff_min: Duration,
    /// Longest wait before reconnecting
    #[arg(long, default_value = "30s", value_parser = parse_duration, hide = true)]
    pub relay_backoff_max: Duration,
    /// HTTP/2 PING interval on the Tunnel; a PING unanswered as long drops it
    #[arg(long, default_value = "15s", value_parser = parse_duration, hide = true)]
    pub relay_ping: Duration,
}

/// The Tunnel as the Agent sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum TunnelState {
    /// Dialling the Relay.
    Connecting,
    /// Up; `queued` Events wait on the Relay (they are on their way).
    Connected { public_url: String, queued: u64 },
    /// Down; the next attempt is at `retry_at`.
    Reconnecting {
        retry_at: tokio::time::Instant,
        delay: Duration,
        error: String,
    },
    /// Refused for good (wrong token, unknown Channel, taken): no more attempts.
    Offline { error: String },
}

/// Where the Agent dials and how it waits.
#[derive(Clone)]
pub struct AgentConfig {
    /// The Relay's URL as given.
    pub url: String,
    /// `host:port` to connect to, and the Host header.
    pub authority: String,
    pub tls: Option<(tokio_rustls::TlsConnector, pki_types::ServerName<'static>)>,
    pub handshake: Handshake,
    pub backoff: Backoff,
    pub ping: Duration,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

enum ConnectError {
    /// Trying again later may work.
    Retry(String),
    /// It will not: stop and say why.
    Final(String),
}

struct Tunnel {
    io: hyper::upgrade::Upgraded,
    public_url: String,
}

/// Runs the Agent until `shutdown` fires (`Ok`) or the Relay refuses it for good (`Err`).
pub async fn run(
    mut config: AgentConfig,
    capture: Arc<Capture>,
    limits: Arc<Limits>,
    state: watch::Sender<TunnelState>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut clock = ClockWatch::new(SystemTime::now(), Instant::now(), Duration::from_secs(5));
    loop {
        state.send_replace(TunnelState::Connecting);
        let dialled = tokio::select! {
            r = connect(&config) => r,
            _ = shutdown.cancelled() => return Ok(()),
        };
        let error = match dialled {
            Ok(tunnel) => {
                // Connected once the Relay says it has attached us (its hello, in `handle`).
                let started = Instant::now();
                let ended = serve(
                    tunnel, &config, &capture, &limits, &state, &shutdown, &mut clock,
                )
                .await;
                match ended {
                    None => return Ok(()),
                    Some(reason) => {
                        config.backoff.ended(started.elapsed());
                        reason
                    }
                }
            }
            Err(ConnectError::Final(error)) => {
                state.send_replace(TunnelState::Offline {
                    error: error.clone(),
                });
                return Err(anyhow::anyhow!(error));
            }
            Err(ConnectError::Retry(error)) => error,
        };
        let delay = config.backoff.next(jitter());
        let retry_at = tokio::time::Instant::now() + delay;
        state.send_replace(TunnelState::Reconnecting {
            retry_at,
            delay,
            error,
        });
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(retry_at) => break,
                _ = shutdown.cancelled() => return Ok(()),
                _ = tick.tick() => if clock.check(SystemTime::now(), Instant::now()).is_some() {
                    config.backoff.reset();
                    break;
                },
            }
        }
    }
}

/// TCP, TLS, then the Upgrade handshake; all within twice the handshake deadline.
async fn connect(c: &AgentConfig) -> Result<Tunnel, ConnectError> {
    let deadline = protocol::HANDSHAKE_TIMEOUT * 2;
    match tokio::time::timeout(deadline, dial(c)).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::Retry(format!(
            "no answer from the relay at {} within {deadline:?}",
            c.url
        ))),
    }
}

async fn dial(c: &AgentConfig) -> Result<Tunnel, ConnectError> {
    let retry = |what: &str, e: &dyn std::fmt::Display| {
        ConnectError::Retry(format!("{what} {}: {e}", c.url))
    };
    let tcp = TcpStream::connect(&c.authority)
        .await
        .map_err(|e| retry("cannot reach the relay at", &e))?;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = match &c.tls {
        None => Box::new(tcp),
        Some((connector, name)) => match connector.connect(name.clone(), tcp).await {
            Ok(s) => Box::new(s),
            Err(e) if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => {
                return Err(ConnectError::Final(format!(
                    "the relay at {} failed the TLS check ({e}): is the URL right? for a private CA pass --relay-ca",
                    c.url
                )));
            }
            Err(e) => return Err(retry("TLS with the relay at", &e)),
        },
    };
    let (mut send, conn) =
        hyper::client::conn::http1::handshake::<_, http_body_util::Empty<Bytes>>(TokioIo::new(io))
            .await
            .map_err(|e| retry("cannot talk to the relay at", &e))?;
    tokio::spawn(conn.with_upgrades());
    let req = protocol::request(&c.authority, &c.handshake)
        .map_err(|e| ConnectError::Final(e.to_string()))?;
    let response = send
        .send_request(req)
        .await
        .map_err(|e| retry("the relay closed the handshake at", &e))?;
    let status = response.status();
    if status != StatusCode::SWITCHING_PROTOCOLS {
        let body = Limited::new(response.into_body(), 4096)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let text = text.trim().trim_start_matches("hooktap: ");
        let message = format!("the relay refused the Tunnel ({status}): {text}");
        return Err(if Refusal::is_final(status) {
            ConnectError::Final(message)
        } else {
            ConnectError::Retry(message)
        });
    }
    let text = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let public_url = text(H_PUBLIC_URL)
        .unwrap_or_else(|| format!("{}/c/{}/", c.url.trim_end_matches('/'), c.handshake.channel));
    let io = hyper::upgrade::on(response)
        .await
        .map_err(|e| retry("the upgrade failed with the relay at", &e))?;
    Ok(Tunnel { io, public_url })
}

/// Serves Events on an open Tunnel; `None` on shutdown, else why it ended.
async fn serve(
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
                return Ok(attached(&req, &public_url, &st));
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

/// The Relay's hello: the Tunnel is attached and live from now on.
fn attached(
    req: &Request<HyperBody>,
    public_url: &str,
    state: &watch::Sender<TunnelState>,
) -> Response<Full<Bytes>> {
    let queued = req
        .headers()
        .get(H_QUEUED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    state.send_replace(TunnelState::Connected {
        public_url: public_url.to_string(),
        queued,
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
