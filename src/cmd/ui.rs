//! `hooktap ui`: the terminal UI on a Store, without listening: browse, filter and replay the
//! history; beside a running `listen`, new Events appear as they are recorded.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cmd::stop_on_signal;
use crate::cmd::{DbArg, UsageError};
use crate::config::{parse_positive_duration, parse_positive_size};
use crate::forward::Forwarder;
use crate::store::{Durability, Store};
use crate::tui::{self, Setup};

/// Browse, filter and replay captured Events in the terminal UI (no listener)
///
/// Keys: j/k move, Enter and Tab switch panes and tabs, / filters, r replays, R replays to
/// another URL, s and S replay re-signed, e edits then sends, c copies as curl, ? lists every
/// key, q quits.
///
/// Example: hooktap ui --db events.db
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The Store to open.
    #[command(flatten)]
    pub db: DbArg,
    /// How long the app may take to answer a replay
    #[arg(long, default_value = "9s", value_parser = parse_positive_duration)]
    pub timeout: Duration,
    /// Largest response recorded for a replay
    #[arg(long, default_value = "25MiB", value_parser = parse_positive_size)]
    pub max_response: u64,
    /// A signing secret for re-signed replays (s, S), e.g. stripe=whsec_... (repeatable; also
    /// HOOKTAP_SECRET_<PROVIDER> and ~/.config/hooktap/config.toml)
    #[arg(long = "secret", value_name = "PROVIDER=SECRET")]
    pub secrets: Vec<String>,
}

/// Runs `ui` until the user quits, Ctrl-C or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<()> {
    if !crate::cmd::stdout_is_terminal() {
        return Err(UsageError(
            "hooktap ui needs a terminal; `hooktap list` prints Events to a pipe".into(),
        )
        .into());
    }
    let secrets = crate::cmd::parse_secrets(&args.secrets)?;
    let providers = crate::providers::secrets::load(&secrets)?;
    let redact = crate::redact::load(&[])?;
    let db = args.db.path();
    // A mistyped --db must not open an empty UI on a Store made on the spot.
    drop(crate::store::Reader::open(&db)?);
    // Text search indexes on demand; in the background it could hold up a `listen` beside it.
    let store = Store::open(&db, Durability::Normal)?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let result = tui::run(Setup {
        db,
        title: "ui".into(),
        ingress: Vec::new(),
        target: None,
        bus: Some(store.subscribe()),
        writer: store.writer(),
        forwarder: Arc::new(Forwarder::new(args.timeout, args.max_response as usize)),
        providers,
        redact,
        poll_store: true,
        lines: Vec::new(),
        shutdown,
    })
    .await;
    store.close();
    result
}
