//! The commands behind the CLI. Each module owns its flags (clap `Args`) and its `run`.

pub mod completions;
pub mod demo;
pub mod export;
pub mod import;
pub mod list;
pub mod listen;
pub mod prune;
pub mod relay;
pub mod replay;
pub mod show;
pub mod trigger;
pub mod ui;

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

/// `--db PATH`, shared by every command that opens the Store.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct DbArg {
    /// The Store (SQLite file). Default: $XDG_DATA_HOME/hooktap/events.db
    #[arg(long, env = "HOOKTAP_DB", value_name = "PATH", global = true)]
    pub db: Option<PathBuf>,
}

impl DbArg {
    /// The Store's path: `--db`, else `$HOOKTAP_DB`, else the default.
    pub fn path(&self) -> PathBuf {
        self.db
            .clone()
            .unwrap_or_else(crate::config::default_db_path)
    }
}

/// The limits on senders that `listen` and `relay` share.
#[derive(clap::Args, Clone, Debug)]
pub struct SenderArgs {
    /// Longest pause allowed while a sender sends a body, or reads the answer
    #[arg(long, default_value = "30s", value_parser = crate::config::parse_positive_duration)]
    pub body_timeout: std::time::Duration,
    /// Longest time a sender may take to send a whole body
    #[arg(long, default_value = "120s", value_parser = crate::config::parse_positive_duration)]
    pub body_deadline: std::time::Duration,
    /// Most connections open at once (more are answered 503 and closed)
    #[arg(long, default_value_t = 1024, value_parser = crate::config::parse_positive_count::<usize>)]
    pub max_connections: usize,
}

impl SenderArgs {
    /// The listener's limits with these and the command's own.
    pub fn limits(
        &self,
        max_body: u64,
        header_timeout: std::time::Duration,
    ) -> crate::listener::Limits {
        crate::listener::Limits {
            max_body,
            header_timeout,
            body_timeout: self.body_timeout,
            body_deadline: self.body_deadline,
            max_connections: self.max_connections,
            ..crate::listener::Limits::default()
        }
    }
}

/// An error in how the command was called (exit code 2), found after parsing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Whether stdout is a terminal (colours, TUI).
pub fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}

/// Parses `PROVIDER=SECRET` pairs.
pub fn parse_secrets(pairs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((name, secret)) if !name.is_empty() && !secret.is_empty() => {
                match crate::providers::canonical(name) {
                    Some(name) => Ok((name.to_string(), secret.to_string())),
                    None => Err(UsageError(format!(
                        "--secret: unknown provider '{name}' (known: {})",
                        crate::providers::NAMES.join(", ")
                    ))
                    .into()),
                }
            }
            _ => Err(UsageError(format!(
                "--secret takes PROVIDER=SECRET, e.g. ayrshare=s3cret (got '{}')",
                mask(p)
            ))
            .into()),
        })
        .collect()
}

fn mask(text: &str) -> String {
    match text.split_once('=') {
        Some((name, _)) => format!("{name}=…"),
        None => "…".into(),
    }
}

/// Fires `token` on Ctrl-C or SIGTERM.
pub async fn stop_on_signal(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = ctrl_c.await;
            token.cancel();
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    token.cancel();
}
