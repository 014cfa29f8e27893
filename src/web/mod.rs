//! The web inspector: the Store in a browser tab, live. A small HTTP server (loopback by
//! default) serving an embedded page and a JSON API over the same `Reader`, filter, records,
//! `replay` and `export` as the CLI; Server-Sent Events follow the Store's commits.
//!
//! ```text
//! browser --GET /api/events, /api/events/ID--> api --> Reader (list, event, explain)
//! browser --POST /api/events/ID/replay--> actions --> replay::plan/store_edit/send --> Store
//! Store bus | data_version --wakes--> stream --reads after the cursor--> browser (SSE)
//! ```

mod actions;
mod api;
mod assets;
pub mod guard;
mod query;
mod reply;
mod routes;
mod stream;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::forward::Forwarder;
use crate::providers::Providers;
use crate::redact::Redactor;
use crate::store::{Change, Reader, Writer};
use guard::Guard;

/// The inspector's default address beside `listen`: the port after the listener's default.
pub const DEFAULT_PORT: u16 = 8788;
/// Ports tried after the default when it is taken, before any free port.
const FALLBACK_PORTS: u16 = 10;

/// `--inspect`, `--no-inspect`, `--inspect-host`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct InspectArgs {
    /// Serve the web inspector here (default 127.0.0.1:8788, the next free port if taken;
    /// any address beyond loopback requires a token, printed at start)
    #[arg(long, value_name = "ADDR", conflicts_with = "no_inspect")]
    pub inspect: Option<SocketAddr>,
    /// Do not serve the web inspector
    #[arg(long)]
    pub no_inspect: bool,
    /// A host name the inspector also answers to (e.g. behind a proxy); others get 403
    #[arg(long, value_name = "NAME")]
    pub inspect_host: Vec<String>,
}

/// What the inspector serves from.
pub struct Setup {
    /// The Store.
    pub db: PathBuf,
    /// Writes replays and edits.
    pub writer: Writer,
    /// The Store's bus in this process.
    pub bus: Option<broadcast::Sender<Change>>,
    /// Also watch for other processes' commits (`hooktap web`).
    pub poll: bool,
    /// Sends replays.
    pub forwarder: Arc<Forwarder>,
    /// Secrets for re-signing.
    pub providers: Providers,
    /// What is masked in stored edits and answers.
    pub redact: Redactor,
    /// `listen`'s port, to write the runtime file beside the Store (`None`: no file).
    pub runtime_port: Option<u16>,
    /// Stops the server.
    pub shutdown: CancellationToken,
}

/// What every request handler shares.
pub(crate) struct Ctx {
    db: PathBuf,
    readers: Mutex<Vec<Reader>>,
    writer: Writer,
    bus: Option<broadcast::Sender<Change>>,
    poll: bool,
    forwarder: Arc<Forwarder>,
    providers: Providers,
    redact: Redactor,
    guard: Guard,
    shutdown: CancellationToken,
}

impl Ctx {
    /// A Reader from the pool (or a new one).
    async fn take_reader(&self) -> anyhow::Result<Reader> {
        if let Some(r) = self.readers.lock().ok().and_then(|mut p| p.pop()) {
            return Ok(r);
        }
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || Reader::open(&db)).await?
    }

    fn give_back(&self, r: Reader) {
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < 8
        {
            pool.push(r);
        }
    }

    /// Runs `f` on a pooled Reader on a blocking thread.
    async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Reader) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let reader = self.take_reader().await?;
        let ctx = self.clone();
        tokio::task::spawn_blocking(move || {
            let out = f(&reader);
            ctx.give_back(reader);
            out
        })
        .await?
    }
}

/// A running inspector.
pub struct Inspector {
    url: String,
    /// The address as the terminal UI's header shows it (kept open so the line stays).
    status: tokio::sync::watch::Sender<String>,
    task: tokio::task::JoinHandle<()>,
    runtime: Option<PathBuf>,
}

impl Inspector {
    /// Where it is, e.g. `http://127.0.0.1:8788`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A line for the terminal UI's header.
    pub fn status_line(&self) -> crate::tui::StatusLine {
        let mut text = self.status.subscribe();
        text.mark_changed();
        crate::tui::StatusLine {
            label: "inspect".into(),
            text,
        }
    }

    /// Waits for the server to stop (after the shutdown token), then removes the runtime file.
    pub async fn finish(self) {
        let _ = self.task.await;
        if let Some(file) = &self.runtime {
            crate::public::runtime::remove(file);
        }
    }
}

/// Starts the inspector beside `listen` or `demo`: at `--inspect`, else 127.0.0.1:8788 (the
/// next free port if taken); none with `--no-inspect`. Prints its address on stderr.
pub async fn beside(args: &InspectArgs, setup: Setup) -> anyhow::Result<Option<Inspector>> {
    if args.no_inspect {
        return Ok(None);
    }
    let socket = match args.inspect {
        Some(addr) => bind(addr).await?,
        None => bind_default().await?,
    };
    start(socket, args, setup).map(Some)
}

/// Binds `addr` for the inspector.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!("cannot serve the inspector on {addr}: pick another with --inspect ADDR (or --no-inspect)")
    })
}

async fn bind_default() -> anyhow::Result<TcpListener> {
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for port in DEFAULT_PORT..DEFAULT_PORT + FALLBACK_PORTS {
        if let Ok(s) = TcpListener::bind((local, port)).await {
            return Ok(s);
        }
    }
    bind(SocketAddr::new(local, 0)).await
}

/// Serves the inspector on `socket` until `setup.shutdown`.
pub fn start(socket: TcpListener, args: &InspectArgs, setup: Setup) -> anyhow::Result<Inspector> {
    let bound = socket.local_addr()?;
    let access = if bound.ip().is_loopback() {
        None
    } else {
        Some(crate::tunnel::protocol::new_token()?)
    };
    let csrf = crate::tunnel::protocol::new_token()?;
    let url = format!("http://{bound}");
    eprintln!("  inspector: {url}");
    if let Some(token) = &access {
        eprintln!(
            "  the inspector is reachable beyond this machine, so every request needs its token \
             (shown once; the login page asks for it): {token}"
        );
    }
    let runtime = setup.runtime_port.map(|port| {
        let file = crate::public::runtime::path(&setup.db);
        crate::public::runtime::record_inspector(&file, port, &url, &csrf, access.as_deref());
        file
    });
    let ctx = Arc::new(Ctx {
        db: setup.db,
        readers: Mutex::new(Vec::new()),
        writer: setup.writer,
        bus: setup.bus,
        poll: setup.poll,
        forwarder: setup.forwarder,
        providers: setup.providers,
        redact: setup.redact,
        guard: Guard {
            bound,
            hosts: args.inspect_host.clone(),
            access,
            csrf,
        },
        shutdown: setup.shutdown.clone(),
    });
    let task = tokio::spawn(routes::serve(socket, ctx, setup.shutdown));
    let (status, _) = tokio::sync::watch::channel(url.clone());
    Ok(Inspector {
        url,
        status,
        task,
        runtime,
    })
}
