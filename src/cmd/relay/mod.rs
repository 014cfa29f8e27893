//! `hooktap relay`: run a Relay on a public host, and manage its Channels.

mod channel;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cmd::UsageError;
use crate::cmd::stop_on_signal;
use crate::config::{
    format_size, parse_positive_count, parse_positive_duration, parse_positive_size,
};
use crate::event::{Micros, now_micros};
use crate::forward::humantime;
use crate::listener::Limits;
use crate::tls;
use crate::tunnel::hub::{Hub, HubConfig, Offline};
use crate::tunnel::protocol::CHANNEL_PREFIX;
use crate::tunnel::relay::{self, RelayConfig};
use crate::tunnel::relay_store::{self, ChannelRow, RelayStore};

/// Run a Relay: receive webhooks for Channels at a public URL and keep each one until the
/// Channel's Agent (`hooktap listen --relay ...`) has stored it.
///
/// Example: hooktap relay --bind 0.0.0.0:443 --tls-cert fullchain.pem --tls-key privkey.pem
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<RelayCommand>,
    /// Address to listen on, e.g. 0.0.0.0:443 (or 127.0.0.1:8080 behind Caddy or nginx);
    /// with --acme, 0.0.0.0:443 unless given
    #[arg(long, value_name = "ADDR", required_unless_present = "acme")]
    pub bind: Option<SocketAddr>,
    /// Serve HTTPS with this PEM certificate chain (without it: plain HTTP, for a TLS proxy)
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The relay's database. Default: $XDG_DATA_HOME/hooktap/relay.db
    #[arg(long, env = "HOOKTAP_RELAY_DB", value_name = "PATH", global = true)]
    pub db: Option<PathBuf>,
    /// The public base URL, e.g. https://relay.example.com (default: from each request's Host)
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// With no Agent connected: accept (202, queue) or reject (503 + Retry-After)
    #[arg(long, value_enum, default_value_t = Offline::Accept)]
    pub offline: Offline,
    /// Largest body accepted per Event (then 413)
    #[arg(long, default_value = "25MiB", value_parser = parse_positive_size)]
    pub max_body: u64,
    /// How long delivered Events are kept before they are pruned
    #[arg(long, default_value = "7d", value_parser = parse_positive_duration)]
    pub retain: Duration,
    /// Most Events waiting per Channel; newer ones get 503 + Retry-After until it drains
    #[arg(long, default_value_t = 10_000, value_parser = parse_positive_count::<u64>)]
    pub max_queue: u64,
    /// How long a sender waits for the app's answer through the Tunnel (then 202: it is stored)
    #[arg(long, default_value = "15s", value_parser = parse_positive_duration)]
    pub wait: Duration,
    /// Deadline for TLS plus a request head, and for a Tunnel handshake
    #[arg(long, default_value = "5s", value_parser = parse_positive_duration)]
    pub handshake_timeout: Duration,
    /// HTTP/2 PING interval on Tunnels; a PING unanswered as long drops the Tunnel
    #[arg(long, default_value = "15s", value_parser = parse_positive_duration)]
    pub ping: Duration,
    /// How often the Channel table is re-read (and the WAL checkpointed); for tests
    #[arg(long, default_value = "500ms", value_parser = parse_positive_duration, hide = true)]
    pub reload_every: Duration,
    /// How often the Relay notes which Agents are connected and what it refused, for
    /// `relay channel list`; for tests
    #[arg(long, default_value = "5s", value_parser = parse_positive_duration, hide = true)]
    pub status_every: Duration,
    #[command(flatten)]
    pub acme: crate::tunnel::acme::AcmeArgs,
    #[command(flatten)]
    pub senders: crate::cmd::SenderArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum RelayCommand {
    /// Manage Channels: each has a name, a token, and a public URL /c/<name>/
    ///
    /// Examples:
    ///   hooktap relay channel add alice
    ///   hooktap relay channel list
    ///   hooktap relay channel rotate alice
    ///   hooktap relay channel remove alice
    #[command(subcommand, verbatim_doc_comment)]
    Channel(ChannelCommand),
}

#[derive(clap::Subcommand, Debug)]
pub enum ChannelCommand {
    /// Add a Channel and print its new token (once; only its hash is kept)
    Add { name: String },
    /// List Channels: whether an Agent is connected (as the running Relay notes it every few
    /// seconds), Events waiting and the oldest one's age, those too large for the Channel's
    /// Agent (its last stated --max-body), webhooks and Agents refused, last seen, created
    List,
    /// Remove a Channel: its token stops working at once and its waiting Events are dropped
    Remove { name: String },
    /// Give a Channel a new token (printed once); the old one stops working at once
    Rotate { name: String },
}

fn db_path(args: &Args) -> PathBuf {
    args.db
        .clone()
        .unwrap_or_else(|| crate::config::data_dir().join("relay.db"))
}

/// Runs `relay` (until Ctrl-C or SIGTERM) or one of its Channel commands.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let path = db_path(&args);
    match &args.command {
        Some(RelayCommand::Channel(c)) => channel::run(c, &path),
        None => serve(args, path).await,
    }
}

async fn serve(args: Args, path: PathBuf) -> anyhow::Result<()> {
    let acme = !args.acme.acme.is_empty();
    let bind = match args.bind {
        Some(b) => b,
        None if acme => SocketAddr::from(([0, 0, 0, 0], 443)),
        None => {
            return Err(
                UsageError("relay needs --bind ADDR, e.g. --bind 0.0.0.0:443".into()).into(),
            );
        }
    };
    let shutdown = CancellationToken::new();
    let mut public_url = args.public_url.clone();
    let mut acme_manager = None;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let (certs, key) = tls::load(cert, key)?;
            Some(tls::acceptor(tls::server_config(certs, key)?))
        }
        _ if acme => {
            let data = path.parent().unwrap_or(std::path::Path::new("."));
            let manager = crate::tunnel::acme::Manager::new(&args.acme, data)?;
            let domain = &args.acme.acme[0];
            public_url.get_or_insert_with(|| match bind.port() {
                443 => format!("https://{domain}"),
                port => format!("https://{domain}:{port}"),
            });
            let config = tls::resolver_config(manager.resolver())?;
            acme_manager = Some(manager);
            Some(tls::acceptor(config))
        }
        _ => None,
    };
    let (store, _thread) = RelayStore::open(&path)?;
    // No Agent is connected yet, whatever a Relay that was killed left noted.
    store.forget_agents().await?;
    let rows = store.channels().await?;
    let socket = TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}: check --bind (is another relay running? ports below 1024 need privileges)"))?;
    let local = socket.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    eprintln!("hooktap relay listening on {scheme}://{local}");
    if tls.is_none() {
        eprintln!(
            "  plain HTTP: put it behind a TLS proxy (Caddy, nginx), or pass --tls-cert and --tls-key"
        );
    }
    eprintln!("  database: {} (synchronous=FULL)", path.display());
    eprintln!(
        "  offline Agents: {}; max body {}; {} Events max per Channel; delivered Events kept {}",
        if args.offline == Offline::Accept {
            "accept and queue"
        } else {
            "reject with 503"
        },
        format_size(args.max_body),
        args.max_queue,
        humantime(args.retain)
    );
    let base = public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{local}"));
    if rows.is_empty() {
        eprintln!("  no Channels yet: add one with `hooktap relay channel add NAME`");
    }
    let mut names: Vec<_> = rows.values().collect();
    names.sort_by(|a, b| a.name.cmp(&b.name));
    for r in names {
        eprintln!(
            "  channel {}: {}{CHANNEL_PREFIX}{}/ ({} waiting)",
            r.name,
            base.trim_end_matches('/'),
            r.name,
            crate::tunnel::events(r.queued)
        );
    }
    let hub = Hub::new(
        store.clone(),
        HubConfig {
            offline: args.offline,
            max_queue: args.max_queue,
            wait: args.wait,
            max_answer: args.max_body as usize,
        },
        rows,
    );
    tokio::spawn(stop_on_signal(shutdown.clone()));
    watch_channels(
        path.clone(),
        hub.clone(),
        args.reload_every,
        shutdown.clone(),
    )?;
    tokio::spawn(prune(store, args.retain, shutdown.clone()));
    let status = tokio::spawn(
        hub.clone()
            .note_status_every(args.status_every, shutdown.clone()),
    );
    let config = RelayConfig {
        limits: Limits {
            tls_timeout: args.handshake_timeout,
            ..args.senders.limits(args.max_body, args.handshake_timeout)
        },
        handshake_timeout: args.handshake_timeout,
        ping: args.ping,
        public_url,
    };
    let serving = tokio::spawn(relay::serve(socket, tls, config, hub, shutdown.clone()));
    if let Some(manager) = acme_manager
        && let Err(e) = manager.start(shutdown.clone()).await
    {
        shutdown.cancel();
        let _ = serving.await;
        return Err(e);
    }
    let _ = serving.await;
    let _ = status.await;
    eprintln!("hooktap relay stopped");
    Ok(())
}

/// Re-reads the Channel table twice a second (another process adds, rotates and removes
/// Channels), so a revoked token loses its Tunnel at once.
fn watch_channels(
    path: PathBuf,
    hub: Arc<Hub>,
    every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let conn = relay_store::open(&path)?;
    let key = |rows: &HashMap<String, ChannelRow>| {
        let mut k: Vec<_> = rows
            .values()
            .map(|r| (r.name.clone(), r.token_sha256))
            .collect();
        k.sort();
        k
    };
    std::thread::Builder::new()
        .name("hooktap-relay-channels".into())
        .spawn(move || {
            let mut last = None;
            while !shutdown.is_cancelled() {
                std::thread::sleep(every);
                match relay_store::channels(&conn) {
                    Ok(rows) => {
                        let rows: HashMap<_, _> =
                            rows.into_iter().map(|r| (r.name.clone(), r)).collect();
                        let k = key(&rows);
                        if last.as_ref() != Some(&k) {
                            hub.reload(rows);
                            last = Some(k);
                        }
                    }
                    Err(e) => tracing::warn!("cannot read the Channels: {e:#}"),
                }
            }
        })
        .context("cannot start the Channel watcher")?;
    Ok(())
}

/// Deletes delivered Events older than `retain`, now and every ten minutes.
async fn prune(store: RelayStore, retain: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let before: Micros =
            now_micros().saturating_sub(retain.as_micros().min(i64::MAX as u128) as i64);
        match store.prune(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("pruned {n} delivered Events"),
            Err(e) => tracing::warn!("pruning failed: {e:#}"),
        }
    }
}
