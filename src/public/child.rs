//! One run of the tunnel program, through `hooktap __supervise`: its output read line by line
//! into a ring of the last lines (never to stdout or the screen), and its URL waited for.

use std::collections::VecDeque;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::tool::{Stream, Tool};

/// How many of the tunnel's last lines are kept.
const KEPT_LINES: usize = 40;

/// The tunnel's last lines, shared by the readers and whoever reports an error.
#[derive(Clone, Default)]
pub struct Ring(Arc<Mutex<VecDeque<String>>>);

impl Ring {
    fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == KEPT_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The last `n` lines kept, oldest first.
    pub fn last(&self, n: usize) -> Vec<String> {
        let lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        lines
            .iter()
            .skip(lines.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    /// Forgets what an earlier run printed.
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// A running tunnel.
pub struct Running {
    /// Our end of the supervisor's stdin: closing it ends the tunnel.
    stdin: Option<ChildStdin>,
    child: Child,
    readers: Vec<JoinHandle<()>>,
    urls: mpsc::UnboundedReceiver<String>,
}

/// Why a run ended or never gave a URL.
pub enum Ended {
    /// The program exited (before or after giving a URL).
    Exited(Option<ExitStatus>),
    /// No URL within the time allowed; the tunnel was stopped.
    NoUrl,
    /// hooktap is stopping.
    Stopping,
}

impl Running {
    /// Starts `argv` under the supervisor (`hooktap __supervise -- ARGV`).
    pub fn start(tool: &Tool, argv: &[String], ring: &Ring) -> anyhow::Result<Running> {
        let me = std::env::current_exe().context("cannot find hooktap's own executable")?;
        let mut child = Command::new(me)
            .arg("__supervise")
            .arg("--")
            .args(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Out of the terminal's foreground group: a Ctrl-C meant for hooktap must not kill
            // the supervisor before it can end the tunnel (hooktap ends it by closing stdin).
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {}", tool.program()))?;
        let (tx, urls) = mpsc::unbounded_channel();
        let mut readers = Vec::new();
        let stream = tool.stream();
        if let Some(out) = child.stdout.take() {
            let wanted = matches!(stream, Stream::Stdout | Stream::Either);
            readers.push(read(out, tool.clone(), wanted, ring.clone(), tx.clone()));
        }
        if let Some(err) = child.stderr.take() {
            let wanted = matches!(stream, Stream::Stderr | Stream::Either);
            readers.push(read(err, tool.clone(), wanted, ring.clone(), tx));
        }
        Ok(Running {
            stdin: child.stdin.take(),
            child,
            readers,
            urls,
        })
    }

    /// The first URL the tunnel prints, within `limit`.
    pub async fn url(
        &mut self,
        limit: Duration,
        shutdown: &CancellationToken,
    ) -> Result<String, Ended> {
        tokio::select! {
            Some(url) = self.urls.recv() => Ok(url),
            status = self.child.wait() => {
                self.drain().await;
                Err(Ended::Exited(status.ok()))
            }
            _ = tokio::time::sleep(limit) => {
                self.stop().await;
                Err(Ended::NoUrl)
            }
            _ = shutdown.cancelled() => {
                self.stop().await;
                Err(Ended::Stopping)
            }
        }
    }

    /// Waits until the tunnel exits or hooktap stops (then stops it).
    pub async fn ended(&mut self, shutdown: &CancellationToken) -> Ended {
        tokio::select! {
            status = self.child.wait() => {
                self.drain().await;
                Ended::Exited(status.ok())
            }
            _ = shutdown.cancelled() => {
                self.stop().await;
                Ended::Stopping
            }
        }
    }

    /// Closes the supervisor's stdin (it ends the tunnel's group) and waits for it; kills the
    /// supervisor if it takes too long.
    pub async fn stop(&mut self) {
        drop(self.stdin.take());
        let waited = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        if waited.is_err() {
            let _ = self.child.kill().await;
        }
        self.drain().await;
    }

    /// Lets the readers take the last lines of a tunnel that exited.
    async fn drain(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
        }
    }
}

/// Reads one stream line by line into `ring` (and the log, at debug level); on the `wanted`
/// stream, sends each URL found.
fn read(
    stream: impl AsyncRead + Unpin + Send + 'static,
    tool: Tool,
    wanted: bool,
    ring: Ring,
    urls: mpsc::UnboundedSender<String>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&buf).trim_end().to_string();
            tracing::debug!(target: "hooktap::public", "{}: {line}", tool.name());
            if wanted && let Some(url) = tool.url_in(&line) {
                let _ = urls.send(url);
            }
            ring.push(line);
        }
    })
}

/// Whether `program` is an executable file on `PATH` (or a path to one).
pub fn installed(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return executable(Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| executable(&dir.join(program))))
}
