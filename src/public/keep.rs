//! Keeping the tunnel up: the first start (an error if it gives no URL), then, whenever it
//! exits, a notice and a restart with backoff, and the new URL announced.

use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::child::{Ended, Ring, Running};
use super::tool::Tool;
use crate::tunnel::backoff::{Backoff, jitter};

/// How many of the tunnel's last lines an error shows.
const SHOWN_LINES: usize = 12;

/// The tunnel program, and the one run of it that is up.
pub struct Keeper {
    tool: Tool,
    argv: Vec<String>,
    timeout: Duration,
    quiet: bool,
    ring: Ring,
    /// cloudflared's empty config file, alive as long as the tunnel may restart.
    _config: tempfile::NamedTempFile,
    running: Option<Running>,
    since: Instant,
}

impl Keeper {
    /// A keeper for `tool` forwarding to `127.0.0.1:port`.
    pub fn new(tool: Tool, port: u16, timeout: Duration, quiet: bool) -> anyhow::Result<Keeper> {
        let config = tempfile::Builder::new()
            .prefix("hooktap-cloudflared-")
            .suffix(".yml")
            .tempfile()
            .context("cannot make an empty config file for the tunnel")?;
        let path = config.path().to_string_lossy().into_owned();
        Ok(Keeper {
            argv: tool.command(port, &path),
            tool,
            timeout,
            quiet,
            ring: Ring::default(),
            _config: config,
            running: None,
            since: Instant::now(),
        })
    }

    /// Starts the tunnel and waits for its URL; the error says why there is none, with the
    /// tunnel's last lines.
    pub async fn first(mut self, shutdown: &CancellationToken) -> anyhow::Result<(Keeper, String)> {
        match self.attempt(shutdown).await {
            Ok(url) => Ok((self, url)),
            Err(ended) => Err(anyhow::anyhow!("{}", self.failure(&ended, ""))),
        }
    }

    /// One start of the tunnel, up to its URL.
    async fn attempt(&mut self, shutdown: &CancellationToken) -> Result<String, Ended> {
        self.ring.clear();
        let mut running = match Running::start(&self.tool, &self.argv, &self.ring) {
            Ok(r) => r,
            Err(e) => {
                self.notice(&format!("{e:#}"));
                return Err(Ended::Exited(None));
            }
        };
        let url = running.url(self.timeout, shutdown).await?;
        self.running = Some(running);
        self.since = Instant::now();
        Ok(url)
    }

    /// Watches the tunnel until `shutdown`: each time it exits, says so, restarts it with
    /// backoff, and hands the new URL to `on_url`.
    pub async fn run(mut self, shutdown: CancellationToken, mut on_url: impl FnMut(&str)) {
        let mut backoff = Backoff::new(
            Duration::from_millis(500),
            Duration::from_secs(30),
            Duration::from_secs(60),
        );
        loop {
            if let Some(mut running) = self.running.take() {
                match running.ended(&shutdown).await {
                    Ended::Stopping => return,
                    ended => {
                        backoff.ended(self.since.elapsed());
                        self.notice(&self.failure(&ended, ", restarting it"));
                    }
                }
            }
            let delay = backoff.next(jitter());
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            match self.attempt(&shutdown).await {
                Ok(url) => {
                    self.notice(&format!("new public URL: {url}"));
                    on_url(&url);
                }
                Err(Ended::Stopping) => return,
                Err(ended) => self.notice(&self.failure(&ended, ", trying again")),
            }
        }
    }

    /// What went wrong (then `next`), with the tunnel's last lines and a hint when they say
    /// why.
    fn failure(&self, ended: &Ended, next: &str) -> String {
        let name = self.tool.name();
        let what = match ended {
            Ended::Exited(Some(status)) => format!("{name} exited ({status})"),
            Ended::Exited(None) => format!("{name} stopped"),
            Ended::NoUrl => format!(
                "{name} gave no public URL within {}",
                crate::forward::humantime(self.timeout)
            ),
            Ended::Stopping => format!("{name} stopped because hooktap is stopping"),
        };
        let lines = self.ring.last(SHOWN_LINES);
        let mut text = what + next;
        if let Some(hint) = self.tool.diagnose(&lines) {
            text.push_str(": ");
            text.push_str(&hint);
        }
        if lines.is_empty() {
            text.push_str("; it printed nothing");
        } else {
            text.push_str("; its last lines:");
            for line in &lines {
                // The tunnel's output may hold anything: each line shown as one line.
                text.push_str("\n    ");
                text.push_str(&crate::text::sanitize(line));
            }
        }
        text
    }

    /// Tells the user: on stderr, or in the log while the TUI owns the screen.
    fn notice(&self, text: &str) {
        if self.quiet {
            tracing::warn!("public URL: {text}");
        } else {
            eprintln!("hooktap: {text}");
        }
    }
}
