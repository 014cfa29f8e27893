//! `listen --public`: a public HTTPS URL through a tunnel program the user has (cloudflared,
//! ngrok, ssh to localhost.run or pinggy, or any command), started and kept running by hooktap,
//! and optionally registered with a provider (`--register ayrshare`). See docs/public-url.md.
//!
//! ```text
//! sender --> tunnel (child, via __supervise) --> 127.0.0.1:TUNNEL_PORT (Via::Tunnel) --> capture
//! ```

mod ayrshare;
mod child;
mod keep;
pub mod listing;
mod register;
pub mod runtime;
mod state;
pub mod supervise;
pub mod tool;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::capture::Capture;
use crate::cmd::UsageError;
use crate::listener::{Limits, Via};
pub use tool::Tool;

/// How long a tunnel has to print its URL (`HOOKTAP_PUBLIC_TIMEOUT` overrides it).
pub const URL_TIMEOUT: Duration = Duration::from_secs(30);

/// `listen`'s flags for a public URL.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PublicArgs {
    /// Get a public HTTPS URL through a tunnel you have: cloudflared (no account), ngrok,
    /// localhost.run or pinggy (ssh only), 'exec:COMMAND {port}' for any other; `relay` is
    /// hooktap's own Relay (--relay URL --channel NAME --token T)
    #[arg(long, value_name = "TUNNEL")]
    pub public: Option<String>,
    /// Register the public URL with Ayrshare's webhooks (API key in AYRSHARE_API_KEY):
    /// ayrshare for every action, or ayrshare=scheduled,social
    #[arg(long, value_name = "ayrshare[=ACTIONS]", requires = "public")]
    pub register: Option<String>,
    /// With --register: also take over actions that point to a URL hooktap did not register
    /// (the old URL is restored when hooktap stops; the signing secret is never changed)
    #[arg(long, requires = "register")]
    pub register_replace: bool,
}

/// What `--public` asked for, checked before anything starts.
pub struct Plan {
    tool: Tool,
    timeout: Duration,
    register: Option<register::Registrar>,
    /// Whether an ayrshare secret was configured before `--register` (to say what verifies).
    configured: bool,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plan({:?})", self.tool)
    }
}

/// Checks the flags and that the tunnel's program is installed; with `--register`, lists the
/// webhooks and settles the secret (a made one is stored in the config file, so call this
/// before the providers' secrets are loaded). `secret_flags` are `listen --secret`'s values.
/// `None` without `--public`.
pub async fn check(args: &PublicArgs, secret_flags: &[String]) -> anyhow::Result<Option<Plan>> {
    let Some(text) = &args.public else {
        return Ok(None);
    };
    let tool = Tool::parse(text)?;
    if !child::installed(tool.program()) {
        anyhow::bail!("{}", tool.install_hint());
    }
    let timeout = match std::env::var("HOOKTAP_PUBLIC_TIMEOUT") {
        Ok(text) => crate::config::parse_positive_duration(&text)
            .map_err(|e| UsageError(format!("HOOKTAP_PUBLIC_TIMEOUT: {e}")))?,
        Err(_) => URL_TIMEOUT,
    };
    let configured = configured_secret(secret_flags)?;
    let has_secret = configured.is_some();
    let register = match &args.register {
        Some(text) => {
            let actions = listing::parse_register(text).map_err(UsageError)?;
            Some(register::prepare(actions, args.register_replace, configured).await?)
        }
        None => None,
    };
    Ok(Some(Plan {
        tool,
        timeout,
        register,
        configured: has_secret,
    }))
}

/// The ayrshare secret from `--secret`, `HOOKTAP_SECRET_AYRSHARE` or the config file, read
/// quietly (the providers' own load says what is wrong with them).
fn configured_secret(flags: &[String]) -> anyhow::Result<Option<String>> {
    use crate::providers::secrets;
    let flags = crate::cmd::parse_secrets(flags)?;
    let path = secrets::config_path();
    let text = std::fs::read_to_string(&path).ok();
    let env = std::env::vars().filter(|(k, _)| k.starts_with(secrets::ENV_PREFIX));
    let found = secrets::gather(
        &flags,
        env,
        text.as_deref().map(|t| (path.as_path(), t, 0o600)),
    )
    .unwrap_or_default();
    Ok(found
        .pairs
        .into_iter()
        .find(|(name, _)| name == "ayrshare")
        .map(|(_, secret)| secret))
}

/// What the tunnel needs from `listen`.
pub struct Context {
    pub capture: Arc<Capture>,
    pub limits: Limits,
    /// `listen`'s own port (for the runtime file).
    pub port: u16,
    /// The Store's file: the runtime file goes beside it.
    pub db: PathBuf,
    /// A terminal UI owns the screen: notices go to the log, not stderr.
    pub quiet: bool,
    pub shutdown: CancellationToken,
}

/// A running public URL.
pub struct Public {
    url: watch::Receiver<String>,
    keeper: JoinHandle<()>,
    listener: JoinHandle<()>,
    registrar: Option<JoinHandle<()>>,
    runtime: PathBuf,
}

/// Starts the tunnel and waits for its URL (printed as a start-up line); an error, with the
/// tunnel's last lines, if it gives none in time. `None` without `--public`.
pub async fn start(plan: Option<Plan>, ctx: Context) -> anyhow::Result<Option<Public>> {
    let Some(plan) = plan else {
        return Ok(None);
    };
    // The tunnel's own loopback port: the only one where a header names the sender.
    let socket = TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot open a loopback port for the tunnel")?;
    let tunnel_port = socket.local_addr()?.port();
    let via = Via::Tunnel(plan.tool.client_header());
    let listener = tokio::spawn(crate::listener::serve_via(
        socket,
        None,
        ctx.capture.clone(),
        ctx.limits.clone(),
        ctx.shutdown.clone(),
        via,
    ));
    let runtime = runtime::path(&ctx.db);
    let keeper = keep::Keeper::new(plan.tool.clone(), tunnel_port, plan.timeout, ctx.quiet)?;
    let (keeper, url) = match keeper.first(&ctx.shutdown).await {
        Ok(started) => started,
        Err(e) => {
            ctx.shutdown.cancel();
            let _ = listener.await;
            return Err(e);
        }
    };
    // The URL came from the tunnel's output; `Tool::url_in` took only one that parses as a URL.
    eprintln!("  public URL: {url}  ({})", plan.tool.describe());
    let port = ctx.port;
    runtime::record(&runtime, port, &url);
    let mut registrar = plan.register;
    if let Some(r) = registrar.as_mut() {
        r.register(&url, plan.configured).await;
        r.quiet = ctx.quiet;
    }
    let (tx, rx) = watch::channel(url);
    let registrar =
        registrar.map(|r| tokio::spawn(keep_registered(r, rx.clone(), ctx.shutdown.clone())));
    let file = runtime.clone();
    let keeper = tokio::spawn(keeper.run(ctx.shutdown.clone(), move |url: &str| {
        runtime::record(&file, port, url);
        tx.send_replace(url.to_string());
    }));
    Ok(Some(Public {
        url: rx,
        keeper,
        listener,
        registrar,
        runtime,
    }))
}

/// Re-registers each new URL until `shutdown`, then restores what was registered.
async fn keep_registered(
    mut registrar: register::Registrar,
    mut url: watch::Receiver<String>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            changed = url.changed() => {
                if changed.is_err() {
                    break;
                }
                let new = url.borrow_and_update().clone();
                registrar.reregister(&new).await;
            }
        }
    }
    registrar.restore().await;
}

impl Public {
    /// The public URL as it changes (a new one after each restart of the tunnel).
    pub fn url(&self) -> watch::Receiver<String> {
        self.url.clone()
    }

    /// The TUI's header line for it.
    pub fn status_line(&self) -> crate::tui::StatusLine {
        crate::tui::StatusLine {
            label: "public".into(),
            text: self.url(),
        }
    }

    /// After `shutdown` fired: waits for the tunnel to stop, and removes the runtime file.
    pub async fn finish(self) {
        let _ = self.keeper.await;
        let _ = self.listener.await;
        if let Some(r) = self.registrar {
            let _ = r.await;
        }
        runtime::remove(&self.runtime);
    }
}
