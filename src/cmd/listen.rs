//! `hooktap listen`: receive webhooks, record them, forward them to the Target.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::capture::{Capture, Respond};
use crate::cmd::{DbArg, SenderArgs, parse_secrets, stop_on_signal};
use crate::config::{parse_positive_count, parse_positive_duration, parse_positive_size};
use crate::forward::{Forwarder, hop, humantime};
use crate::lines::{self, Format};
use crate::listener;
use crate::store::{Durability, Store};
use crate::tls;
use crate::tunnel::start::StateLines;

/// Receive webhooks, record each one, and forward it to your app.
///
/// Example: hooktap listen --forward http://localhost:3000
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub routing: crate::route::args::RouteArgs,
    /// Port to listen on (0 picks a free one) [default: 8787]
    #[arg(long)]
    pub port: Option<u16>,
    /// Address to listen on (0.0.0.0 to accept from other machines)
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    #[command(flatten)]
    pub db: DbArg,
    /// Print one line per Delivery instead of the terminal UI
    #[arg(long)]
    pub no_tui: bool,
    /// Print one JSON object per Delivery instead of the terminal UI
    #[arg(long)]
    pub json: bool,
    /// What the sender gets: the app's real answer, or 202 as soon as the Event is stored
    #[arg(long, value_enum, default_value_t = RespondArg::Passthrough)]
    pub respond: RespondArg,
    /// How long the app may take to answer (then 504)
    #[arg(long, default_value = "9s", value_parser = parse_positive_duration)]
    pub timeout: Duration,
    /// Largest body accepted (then 413)
    #[arg(long, default_value = "25MiB", value_parser = parse_positive_size)]
    pub max_body: u64,
    /// Time a sender has to send a request head (also how long an idle connection stays open)
    #[arg(long, default_value = "10s", value_parser = parse_positive_duration)]
    pub header_timeout: Duration,
    #[command(flatten)]
    pub senders: SenderArgs,
    /// Serve HTTPS with this PEM certificate chain
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate made at start (its fingerprint is printed)
    #[arg(long, conflicts_with = "tls_cert")]
    pub tls_self_signed: bool,
    /// A signing secret for a provider, e.g. ayrshare=s3cret (repeatable; also
    /// HOOKTAP_SECRET_<PROVIDER> and ~/.config/hooktap/config.toml)
    #[arg(long = "secret", value_name = "PROVIDER=SECRET")]
    pub secrets: Vec<String>,
    /// Answer 401 instead of forwarding when a signature is invalid, or missing for a provider
    /// with a secret (the Event is recorded, its Delivery `rejected`)
    #[arg(long)]
    pub verify_enforce: bool,
    /// Mask a secret before it is stored: header:NAME or json:.path (repeatable; also
    /// [redact] rules = [...] in ~/.config/hooktap/config.toml). Your app still gets the original
    #[arg(long = "redact", value_name = "RULE", value_parser = crate::redact::Rule::parse)]
    pub redact: Vec<crate::redact::Rule>,
    /// When the app is down or too slow, answer 202 (the Event is stored) and deliver it again,
    /// oldest first, until the app answers; for at most DURATION (default 1h)
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "1h",
          value_parser = parse_positive_duration)]
    pub redeliver: Option<Duration>,
    /// Keep at most N Events: the oldest are pruned in the background
    #[arg(long, value_name = "N", value_parser = parse_positive_count::<u64>)]
    pub keep: Option<u64>,
    /// Keep the Store's data under this size (e.g. 1GiB): the oldest Events are pruned
    #[arg(long, value_name = "SIZE", value_parser = parse_positive_size)]
    pub max_db_size: Option<u64>,
    #[command(flatten)]
    pub relay: crate::tunnel::agent::RelayArgs,
    #[command(flatten)]
    pub public: crate::public::PublicArgs,
    #[command(flatten)]
    pub inspect: crate::web::InspectArgs,
}

/// `--respond`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RespondArg {
    Passthrough,
    Accept,
}

/// Runs `listen` until Ctrl-C or SIGTERM.
pub async fn run(mut args: Args) -> anyhow::Result<()> {
    // First, so a signal during start-up (a tunnel, Ayrshare's API) stops it gracefully too.
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    let file = crate::route::args::read_file(args.routing.config.as_deref())?;
    let chosen = args.routing.resolve(&file)?;
    let port = args.port.or(file.port).unwrap_or(8787);
    if args.public.public.is_none() {
        args.public.public = file.public.clone();
        if args.public.register.is_none() {
            args.public.register = file.register.clone();
        }
    }
    let forward = chosen.routes.default_target().cloned();
    if args.redeliver.is_some() && forward.is_none() {
        return Err(crate::cmd::UsageError(
            "--redeliver needs --forward: it delivers again to that app".into(),
        )
        .into());
    }
    // First: with --register it may store a new ayrshare secret the providers then load.
    let public = crate::public::check(&args.public, &args.secrets).await?;
    let providers = crate::providers::secrets::load(&parse_secrets(&args.secrets)?)?;
    // A compressed body decodes to at most what a plain one may be.
    let redact = crate::redact::load(&args.redact)?.max_decoded(args.max_body);
    // Checked before anything starts, so a usage error leaves no port bound and no Store made.
    let relay = crate::tunnel::start::config(&args.relay)?;
    let tls = tls_acceptor(&args)?;
    let db = args.db.path();
    // Text search indexes on demand (a search catches up first), not in the background here:
    // indexing a few multi-MiB bodies held the write lock long enough that capture answered
    // 503 under load (hardening/load L3). See docs/search.md.
    let store = Store::open(&db, Durability::Normal)?;
    let interrupted = store.recover_interrupted().await?;
    if interrupted > 0 {
        eprintln!(
            "hooktap: {interrupted} Delivery(ies) were in flight when hooktap last stopped; marked interrupted"
        );
    }
    let held = || {
        crate::store::Reader::open(&db)
            .and_then(|r| crate::prune::held(&r))
            .map_or(0, |h| h.len())
    };
    let waiting = if args.redeliver.is_none() { held() } else { 0 };
    if waiting > 0 {
        eprintln!(
            "hooktap: {waiting} Event(s) in this Store are held for redelivery; `listen \
             --redeliver` sends them to your app"
        );
    }
    let addr = SocketAddr::new(args.bind, port);
    let socket = TcpListener::bind(addr)
        .await
        .map_err(|e| bind_error(addr, e))?;
    let local = socket.local_addr()?;
    if let Some(t) = chosen
        .routes
        .targets()
        .find(|t| hop::points_at(t.as_str(), local))
    {
        return Err(crate::cmd::UsageError(format!(
            "{t} is this hooktap's own listener ({local}): every request would come back to \
             it; --forward and --route must point at your app"
        ))
        .into());
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let respond = match args.respond {
        RespondArg::Passthrough => Respond::Passthrough,
        RespondArg::Accept => Respond::Accept,
    };
    let forwarder = Arc::new(Forwarder::new(args.timeout, args.max_body as usize));
    let routes_text = chosen.routes.describe();
    let mut capture = Capture::routed(
        store.writer(),
        forwarder.clone(),
        chosen.routes,
        respond,
        providers.clone(),
    )
    .fail(chosen.fail)
    .extra_headers(chosen.headers)
    .verify_enforce(args.verify_enforce)
    .redact(redact.clone());
    let mut redeliverer = None;
    if let (Some(window), Some(target)) = (args.redeliver, forward.clone()) {
        let setup = crate::redeliver::Setup {
            db: db.clone(),
            writer: store.writer(),
            forwarder: forwarder.clone(),
            target,
            options: crate::replay::Options {
                resign: None,
                redact: redact.clone(),
            },
            window,
            bus: store.subscribe(),
        };
        let (redeliver, task) = crate::redeliver::spawn(setup, shutdown.clone())?;
        capture = capture.redeliver(redeliver);
        redeliverer = Some(task);
    }
    let capture = Arc::new(capture);
    let tui = !args.no_tui && !args.json && crate::cmd::stdout_is_terminal();
    let limits = args.senders.limits(args.max_body, args.header_timeout);
    // Without --public (which writes its own) the runtime file tells `trigger` the port, with
    // an empty public_url; written before the address is printed, so whoever reads that line
    // finds it.
    let runtime_file = public.is_none().then(|| crate::public::runtime::path(&db));
    if let Some(file) = &runtime_file {
        crate::public::runtime::record(file, local.port(), "");
    }
    eprintln!("hooktap listening on {scheme}://{local}");
    let inspector = crate::web::beside(
        &args.inspect,
        crate::web::Setup {
            db: db.clone(),
            writer: store.writer(),
            bus: Some(store.bus()),
            poll: false,
            forwarder: forwarder.clone(),
            providers: providers.clone(),
            redact: redact.clone(),
            runtime_port: Some(local.port()),
            shutdown: shutdown.clone(),
        },
    )
    .await?;
    let public = crate::public::start(
        public,
        crate::public::Context {
            capture: capture.clone(),
            limits: limits.clone(),
            port: local.port(),
            db: db.clone(),
            quiet: tui,
            shutdown: shutdown.clone(),
        },
    )
    .await?;
    eprintln!(
        "  forwarding to {} ({}, timeout {})",
        forward
            .as_ref()
            .map_or("nothing (answered by --mock)".into(), |t| t.to_string()),
        if respond == Respond::Passthrough {
            "passthrough"
        } else {
            "accept"
        },
        humantime(args.timeout)
    );
    for route in routes_text {
        eprintln!("  route {}", crate::text::sanitize(&route));
    }
    eprintln!("  Store: {}", db.display());
    if let Some(window) = args.redeliver {
        eprintln!(
            "  redelivering what the app misses, for up to {}",
            humantime(window)
        );
    }
    let checked = providers.configured();
    if !checked.is_empty() {
        let enforced = if args.verify_enforce {
            ", enforced"
        } else {
            ""
        };
        eprintln!("  signatures checked for {}{enforced}", checked.join(", "));
    }
    if !redact.is_empty() {
        let rules: Vec<String> = redact.rules().iter().map(|r| r.to_string()).collect();
        eprintln!("  redacting before storing: {}", rules.join(", "));
    }
    let format = if args.json {
        Format::Json
    } else {
        Format::Text
    };
    let printer = (!tui).then(|| tokio::spawn(lines::print(store.subscribe(), format)));
    let bounds = crate::prune::Bounds {
        keep: args.keep,
        max_bytes: args.max_db_size,
    };
    let pruner = bounds.any().then(|| {
        let (writer, db, stop) = (store.writer(), db.clone(), shutdown.clone());
        tokio::spawn(crate::prune::keep_bounded(writer, db, bounds, stop))
    });
    let state_lines = match (tui, format) {
        (true, _) => StateLines::Silent,
        (false, Format::Text) => StateLines::Stdout,
        (false, Format::Json) => StateLines::Stderr,
    };
    let tunnel = crate::tunnel::start::spawn(
        relay,
        capture.clone(),
        &limits,
        state_lines,
        shutdown.clone(),
    )?;
    let mut status_lines = Vec::new();
    if let Some(t) = &tunnel {
        status_lines.push(crate::tui::StatusLine {
            label: "relay".into(),
            text: crate::tunnel::start::status_text(t.state()),
        });
    }
    status_lines.extend(public.as_ref().map(crate::public::Public::status_line));
    status_lines.extend(inspector.as_ref().map(crate::web::Inspector::status_line));
    let screen = tui.then(|| {
        tokio::spawn(crate::tui::run(crate::tui::Setup {
            db: db.clone(),
            title: "listen".into(),
            ingress: vec![format!("{scheme}://{local}")],
            target: forward.clone(),
            bus: Some(store.subscribe()),
            writer: store.writer(),
            forwarder,
            providers: providers.clone(),
            redact: redact.clone(),
            poll_store: false,
            lines: status_lines,
            shutdown: shutdown.clone(),
        }))
    });

    listener::serve(socket, tls, capture.clone(), limits, shutdown).await;
    // The screen gives the terminal back before anything else is printed.
    let screen = match screen {
        Some(s) => crate::tui::joined(s.await),
        None => Ok(()),
    };
    if let Some(p) = pruner {
        let _ = p.await;
    }
    let tunnel = match tunnel {
        Some(t) => t.finish().await,
        None => Ok(()),
    };
    if let Some(task) = redeliverer {
        let _ = task.await;
    }
    if let Some(p) = public {
        p.finish().await;
    }
    if let Some(i) = inspector {
        i.finish().await;
    }
    if let Some(file) = &runtime_file {
        crate::public::runtime::remove(file);
    }
    drop(capture);
    store.close();
    if let Some(p) = printer {
        let _ = p.await;
    }
    eprintln!("hooktap stopped; the Store is flushed");
    let left = if args.redeliver.is_some() { held() } else { 0 };
    if left > 0 {
        eprintln!(
            "hooktap: {left} Event(s) are still held; the next `listen --redeliver` delivers them"
        );
    }
    screen.and(tunnel)
}

fn bind_error(addr: SocketAddr, e: std::io::Error) -> anyhow::Error {
    let hint = match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            "address in use: is another hooktap running? pick another port with --port"
        }
        std::io::ErrorKind::PermissionDenied => {
            "permission denied: ports below 1024 need privileges; use --port 8787"
        }
        std::io::ErrorKind::AddrNotAvailable => "that address is not on this machine; check --bind",
        _ => "check --bind and --port",
    };
    anyhow::anyhow!("cannot listen on {addr}: {hint} ({e})")
}

fn tls_acceptor(args: &Args) -> anyhow::Result<Option<tokio_rustls::TlsAcceptor>> {
    let config = if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let (certs, key) = tls::load(cert, key)?;
        tls::server_config(certs, key)?
    } else if args.tls_self_signed {
        let (cert, key) = tls::self_signed(&[
            "localhost".into(),
            "127.0.0.1".into(),
            args.bind.to_string(),
        ])?;
        eprintln!(
            "hooktap: self-signed certificate, SHA-256 fingerprint {}",
            tls::fingerprint(&cert)
        );
        tls::server_config(vec![cert], key)?
    } else {
        return Ok(None);
    };
    Ok(Some(tls::acceptor(config)))
}
