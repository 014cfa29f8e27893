//! `hooktap web`: the web inspector over a Store, without listening for webhooks; beside a
//! running `listen`, new Events appear as it records them.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cmd::{DbArg, stop_on_signal};
use crate::config::{parse_positive_duration, parse_positive_size};
use crate::forward::Forwarder;
use crate::store::{Durability, Reader, Store};
use crate::web::{self, InspectArgs};

/// Browse, filter, replay and export captured Events in a browser tab (no listener)
///
/// Serves http://127.0.0.1:8788 (the next free port if taken) unless --inspect says where.
///
/// Example: hooktap web --db events.db
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub inspect: InspectArgs,
    /// How long the app may take to answer a replay
    #[arg(long, default_value = "9s", value_parser = parse_positive_duration)]
    pub timeout: Duration,
    /// Largest response recorded for a replay
    #[arg(long, default_value = "25MiB", value_parser = parse_positive_size)]
    pub max_response: u64,
    /// A signing secret for re-signed replays, e.g. stripe=whsec_... (repeatable; also
    /// HOOKTAP_SECRET_<PROVIDER> and ~/.config/hooktap/config.toml)
    #[arg(long = "secret", value_name = "PROVIDER=SECRET")]
    pub secrets: Vec<String>,
}

/// Runs `web` until Ctrl-C or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.inspect.no_inspect {
        return Err(crate::cmd::UsageError(
            "hooktap web serves the inspector; --no-inspect leaves nothing to do".into(),
        )
        .into());
    }
    let providers = crate::providers::secrets::load(&crate::cmd::parse_secrets(&args.secrets)?)?;
    let db = args.db.path();
    // A mistyped --db must not serve an empty Store made on the spot.
    drop(Reader::open(&db)?);
    let store = Store::open(&db, Durability::Normal)?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let socket = match args.inspect.inspect {
        Some(addr) => web::bind(addr).await?,
        None => match web::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, web::DEFAULT_PORT))).await {
            Ok(s) => s,
            Err(_) => web::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?,
        },
    };
    eprintln!("hooktap web: the Store {}", db.display());
    let inspector = web::start(
        socket,
        &args.inspect,
        web::Setup {
            db,
            writer: store.writer(),
            bus: Some(store.bus()),
            poll: true,
            forwarder: Arc::new(Forwarder::new(args.timeout, args.max_response as usize)),
            providers,
            redact: crate::redact::load(&[])?,
            runtime_port: None,
            shutdown,
        },
    )?;
    inspector.finish().await;
    store.close();
    Ok(())
}
