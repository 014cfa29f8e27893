//! The Agent (`hooktap listen --relay ...`): dials the Relay over TLS, upgrades to a Tunnel,
//! serves HTTP/2 on it, hands each Event to capture (which dedupes by uid), and reconnects with
//! backoff. Its [`TunnelState`] is published for the log lines and the TUI.

mod dial;
mod serve;
pub mod trust;
pub(crate) mod validity;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::capture::Capture;
use crate::config::parse_duration;
use crate::listener::Limits;
use crate::tunnel::backoff::{Backoff, ClockWatch, jitter};
use crate::tunnel::protocol::{Handshake, Transport};
use dial::{ConnectError, connect};
use serve::serve;

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
    /// Trust the Relay's certificate if it is one in this PEM file (a self-signed one, pinned
    /// byte for byte, CA flag or not), or is signed by one in it; instead of the usual roots
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
    /// How the Tunnel crosses: websocket, or the older hooktap-tunnel/1 upgrade (for tests and
    /// comparisons)
    #[arg(long, value_enum, default_value = "websocket", hide = true)]
    pub relay_transport: Transport,
}

/// The Tunnel as the Agent sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum TunnelState {
    /// Dialling the Relay.
    Connecting,
    /// Up; `queued` Events wait on the Relay (they are on their way), `held` of them are
    /// larger than this Agent's `--max-body` (they stay there, unsent).
    Connected {
        public_url: String,
        queued: u64,
        held: Option<Held>,
    },
    /// Down; the next attempt is at `retry_at`.
    Reconnecting {
        retry_at: tokio::time::Instant,
        delay: Duration,
        error: String,
    },
    /// Refused for good (wrong token, unknown Channel, taken): no more attempts.
    Offline { error: String },
}

/// Events the Relay keeps for this Channel but does not send: larger than `--max-body`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// How many.
    pub count: u64,
    /// The largest body among them, in bytes.
    pub largest: u64,
    /// This Agent's `--max-body`.
    pub max_body: u64,
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
    /// WebSocket, or the older Upgrade.
    pub transport: Transport,
    pub backoff: Backoff,
    pub ping: Duration,
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
