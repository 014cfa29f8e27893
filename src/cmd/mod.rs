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

/// An error in how the command was called (exit code 2), found after parsing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Whether stdout is a terminal (colours, TUI).
pub fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}
