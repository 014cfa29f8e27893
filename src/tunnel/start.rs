//! Starting the Agent from `listen`'s flags: check them, build TLS, spawn it, and print each
//! change of the Tunnel's state as a log line.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http::Uri;
use pki_types::ServerName;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::capture::Capture;
use crate::cmd::UsageError;
use crate::event::new_uid;
use crate::listener::Limits;
use crate::tunnel::agent::{self, AgentConfig, Held, RelayArgs, TunnelState};
use crate::tunnel::backoff::Backoff;
use crate::tunnel::protocol::{self, Handshake};

/// A running Agent.
pub struct TunnelHandle {
    task: JoinHandle<anyhow::Result<()>>,
    state: watch::Receiver<TunnelState>,
}

impl TunnelHandle {
    /// The Tunnel's state, for the TUI.
    pub fn state(&self) -> watch::Receiver<TunnelState> {
        self.state.clone()
    }

    /// Waits for the Agent to stop; an error when the Relay refused it for good.
    pub async fn finish(self) -> anyhow::Result<()> {
        self.task.await.context("the Tunnel task failed")?
    }
}

/// Builds the Agent's settings from the flags.
pub fn config(args: &RelayArgs) -> anyhow::Result<Option<AgentConfig>> {
    let Some(url) = &args.relay else {
        return Ok(None);
    };
    let usage = |m: String| anyhow::Error::new(UsageError(m));
    let uri: Uri = url.parse().map_err(|_| {
        usage(format!(
            "--relay '{url}' is not a URL (try https://relay.example.com)"
        ))
    })?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => {
            return Err(usage(format!(
                "--relay '{url}' must start with https:// (or http:// behind your own TLS)"
            )));
        }
    };
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| usage(format!("--relay '{url}' has no host")))?;
    if uri.path_and_query().is_some_and(|p| p.as_str() != "/") {
        return Err(usage(format!(
            "--relay '{url}' takes the relay's base URL only, without a path"
        )));
    }
    let port = crate::forward::port(&uri, url)
        .map_err(|m| usage(format!("--relay {m}")))?
        .unwrap_or(if tls { 443 } else { 80 });
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let authority = if bare.contains(':') {
        format!("[{bare}]:{port}")
    } else {
        format!("{bare}:{port}")
    };
    let channel = args.channel.clone().unwrap_or_default();
    protocol::check_channel_name(&channel).map_err(|m| usage(format!("--channel: {m}")))?;
    let token = args
        .token
        .clone()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| usage("--relay needs --token (or $HOOKTAP_TOKEN)".into()))?;
    let tls = if tls {
        let name = ServerName::try_from(bare.to_string())
            .map_err(|_| usage(format!("--relay '{url}': '{bare}' is not a host name")))?;
        Some((agent::trust::connector(args.relay_ca.as_deref())?, name))
    } else {
        eprintln!(
            "hooktap: warning: --relay {url} is plain HTTP: the token and Events travel unencrypted"
        );
        None
    };
    Ok(Some(AgentConfig {
        url: url.trim_end_matches('/').to_string(),
        authority,
        tls,
        handshake: Handshake {
            channel,
            token: token.trim().to_string(),
            agent: new_uid(),
            takeover: args.takeover,
            // Set from listen's --max-body in `spawn`.
            max_body: None,
        },
        transport: args.relay_transport,
        backoff: Backoff::new(
            args.relay_backoff_min,
            args.relay_backoff_max,
            Duration::from_secs(60),
        ),
        ping: args.relay_ping,
    }))
}

/// Where the Tunnel's state lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateLines {
    /// With the Delivery lines (`--no-tui`).
    Stdout,
    /// Beside JSON on stdout (`--json`).
    Stderr,
    /// Nowhere: the TUI shows the state (see [`status_text`]).
    Silent,
}

/// Starts the Agent when `--relay` was given ([`config`]). A final refusal stops `listen` (through
/// `shutdown`) and comes back from [`TunnelHandle::finish`].
pub fn spawn(
    config: Option<AgentConfig>,
    capture: Arc<Capture>,
    limits: &Limits,
    lines: StateLines,
    shutdown: CancellationToken,
) -> anyhow::Result<Option<TunnelHandle>> {
    let Some(mut config) = config else {
        return Ok(None);
    };
    // The Relay takes no larger webhook for this Channel, and keeps larger queued ones.
    config.handshake.max_body = Some(limits.max_body);
    eprintln!(
        "  receiving through the relay {} (channel {})",
        config.url, config.handshake.channel
    );
    let (tx, rx) = watch::channel(TunnelState::Connecting);
    if lines != StateLines::Silent {
        tokio::spawn(print_states(rx.clone(), lines == StateLines::Stdout));
    }
    let limits = Arc::new(limits.clone());
    let task = tokio::spawn(async move {
        let result = agent::run(config, capture, limits, tx, shutdown.clone()).await;
        if result.is_err() {
            shutdown.cancel();
        }
        result
    });
    Ok(Some(TunnelHandle { task, state: rx }))
}

/// One line per change of the Tunnel's state (not per change of the queued count).
pub async fn print_states(mut rx: watch::Receiver<TunnelState>, to_stdout: bool) {
    let mut last: Option<std::mem::Discriminant<TunnelState>> = None;
    loop {
        let state = rx.borrow_and_update().clone();
        let kind = std::mem::discriminant(&state);
        if last != Some(kind) && !(state == TunnelState::Connecting && last.is_some()) {
            let line = format!(
                "{}  {}",
                chrono::Local::now().format("%H:%M:%S%.3f"),
                crate::text::sanitize(&describe(&state))
            );
            let written = if to_stdout {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}").and_then(|_| out.flush())
            } else {
                writeln!(std::io::stderr(), "{line}")
            };
            if written.is_err() {
                return;
            }
            if let TunnelState::Connected {
                held: Some(held), ..
            } = &state
            {
                let line = format!("hooktap: warning: {}", held_warning(held));
                let written = if to_stdout {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{line}").and_then(|_| out.flush())
                } else {
                    writeln!(std::io::stderr(), "{line}")
                };
                if written.is_err() {
                    return;
                }
            }
        }
        last = Some(kind);
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// The state as a line of text that stays current (the reconnect countdown ticks each second),
/// for the TUI's status bar.
pub fn status_text(mut rx: watch::Receiver<TunnelState>) -> watch::Receiver<String> {
    let (tx, text) = watch::channel(live(&rx.borrow()));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return },
                _ = tick.tick() => {}
            }
            if tx.send(live(&rx.borrow())).is_err() {
                return;
            }
        }
    });
    text
}

/// Like [`describe`], with the time left before a reconnect counted from now.
fn live(state: &TunnelState) -> String {
    match state {
        TunnelState::Reconnecting {
            retry_at, error, ..
        } => {
            let left = retry_at.saturating_duration_since(tokio::time::Instant::now());
            format!(
                "tunnel down: {error}; reconnecting in {} s",
                left.as_secs_f64().ceil()
            )
        }
        other => describe(other),
    }
}

/// Says that the Relay keeps Events over this Agent's `--max-body`, and what to do.
pub fn held_warning(h: &Held) -> String {
    use crate::config::format_size;
    let (these, it) = if h.count == 1 {
        ("1 Event", "it")
    } else {
        (&*format!("{} Events", h.count), "them")
    };
    format!(
        "the relay holds {these} larger than this Agent's --max-body of {} (largest {}): restart listen with --max-body {} or more to receive {it}; until then {it} wait on the relay",
        format_size(h.max_body),
        format_size(h.largest),
        flag_size(h.largest)
    )
}

/// `bytes` rounded up to a whole KiB or MiB, as `--max-body` takes it.
fn flag_size(bytes: u64) -> String {
    if bytes > 1 << 20 {
        format!("{}MiB", bytes.div_ceil(1 << 20))
    } else {
        format!("{}KiB", bytes.div_ceil(1 << 10))
    }
}

/// The state in words, as the log lines and the TUI show it.
pub fn describe(state: &TunnelState) -> String {
    match state {
        TunnelState::Connecting => "tunnel connecting".into(),
        TunnelState::Connected {
            public_url,
            queued,
            held,
        } => {
            let over = match held {
                Some(h) => format!(", {} over --max-body", h.count),
                None => String::new(),
            };
            format!(
                "tunnel connected: {public_url} ({} waiting on the relay{over})",
                crate::tunnel::events(*queued)
            )
        }
        TunnelState::Reconnecting { delay, error, .. } => {
            format!(
                "tunnel down: {error}; reconnecting in {:.1} s",
                delay.as_secs_f64()
            )
        }
        TunnelState::Offline { error } => format!("tunnel offline: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_held_warning_says_how_many_why_and_what_to_do() {
        let one = held_warning(&Held {
            count: 1,
            largest: 10 << 10,
            max_body: 1 << 10,
        });
        assert!(
            one.contains(
                "holds 1 Event larger than this Agent's --max-body of 1.0 KiB (largest 10.0 KiB)"
            ),
            "{one}"
        );
        assert!(
            one.contains("--max-body 10KiB or more to receive it"),
            "{one}"
        );
        let many = held_warning(&Held {
            count: 3,
            largest: (3 << 20) + 1,
            max_body: 1 << 20,
        });
        assert!(
            many.contains("3 Events") && many.contains("--max-body 4MiB"),
            "{many}"
        );
    }
}
