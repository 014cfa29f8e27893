//! `hooktap relay --acme DOMAIN`: the Relay obtains its certificate from an ACME CA (Let's
//! Encrypt by default) with TLS-ALPN-01 on its own port 443, or HTTP-01 on port 80 with
//! `--acme-http`; caches the account and the certificate in its data folder (`0600`), and
//! renews a third of the lifetime before expiry by swapping the certificate in its resolver
//! (open Tunnels keep going). [`order`] talks to the CA, [`resolver`] serves the certificates.

mod order;
pub mod resolver;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

pub use resolver::{ACME_TLS_ALPN, CertResolver};

/// Test-only: a PEM file of the CA that signs the ACME directory's own HTTPS certificate
/// (pebble's), instead of the usual web roots.
pub const ENV_DIRECTORY_CA: &str = "HOOKTAP_ACME_DIRECTORY_CA";
/// Test-only: the port HTTP-01 challenges are answered on, instead of 80.
pub const ENV_HTTP_PORT: &str = "HOOKTAP_ACME_HTTP_PORT";

/// `relay`'s ACME flags.
#[derive(clap::Args, Debug, Clone)]
pub struct AcmeArgs {
    /// Obtain and renew the Relay's certificate for this domain automatically (ACME, Let's
    /// Encrypt by default); repeat for more names. Its DNS must point here, and port 443 (or 80
    /// with --acme-http) must be reachable from the internet
    #[arg(long, value_name = "DOMAIN", conflicts_with_all = ["tls_cert", "tls_key"])]
    pub acme: Vec<String>,
    /// Contact address given to the ACME CA (expiry warnings)
    #[arg(long, value_name = "EMAIL", requires = "acme")]
    pub acme_email: Option<String>,
    /// The ACME directory, e.g. Let's Encrypt's staging server
    /// https://acme-staging-v02.api.letsencrypt.org/directory
    #[arg(
        long,
        value_name = "URL",
        requires = "acme",
        default_value = "https://acme-v02.api.letsencrypt.org/directory"
    )]
    pub acme_directory: String,
    /// Prove the domain with HTTP-01 on port 80 instead of TLS-ALPN-01 on the Relay's own port
    /// (which must then be 443)
    #[arg(long, requires = "acme")]
    pub acme_http: bool,
}

/// The Relay's ACME: its resolver serves from the start (TLS-ALPN-01 needs the Relay listening),
/// [`Manager::start`] then gets the certificate and keeps it renewed.
pub struct Manager(Arc<order::Acme>);

impl Manager {
    /// Checks the flags and makes `<data_dir>/acme`.
    pub fn new(args: &AcmeArgs, data_dir: &Path) -> anyhow::Result<Manager> {
        for d in &args.acme {
            if d.is_empty() || d.contains(['/', ':', ' ']) {
                anyhow::bail!("--acme '{d}' is not a domain name (e.g. relay.example.com)");
            }
        }
        let http_port = match std::env::var(ENV_HTTP_PORT) {
            Ok(p) => p
                .parse()
                .with_context(|| format!("{ENV_HTTP_PORT} '{p}' is not a port"))?,
            Err(_) => 80,
        };
        let acme = order::Acme {
            domains: args.acme.iter().map(|d| d.to_ascii_lowercase()).collect(),
            email: args.acme_email.clone(),
            directory: args.acme_directory.clone(),
            http: args.acme_http.then_some(http_port),
            dir: data_dir.join("acme"),
            directory_ca: std::env::var_os(ENV_DIRECTORY_CA).map(PathBuf::from),
            resolver: Arc::new(CertResolver::default()),
        };
        crate::store::files::create_dir(&acme.dir).with_context(|| {
            format!(
                "cannot create {} for the ACME account and certificate",
                acme.dir.display()
            )
        })?;
        Ok(Manager(Arc::new(acme)))
    }

    /// The resolver the Relay's TLS serves from.
    pub fn resolver(&self) -> Arc<CertResolver> {
        self.0.resolver.clone()
    }

    /// Serves the cached certificate, or gets one now (an error if that fails: the Relay
    /// cannot serve HTTPS without it); then renews it in the background until `shutdown`.
    pub async fn start(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let acme = self.0;
        let names = acme.domains.join(", ");
        let until = match acme.cached() {
            Some(until) => {
                eprintln!(
                    "  certificate for {names}: cached, valid until {}",
                    date(until)
                );
                until
            }
            None => {
                eprintln!(
                    "  certificate for {names}: asking {} (this takes a few seconds)",
                    acme.directory
                );
                let until = acme
                    .obtain()
                    .await
                    .with_context(|| format!("cannot get a certificate for {names}"))?;
                eprintln!(
                    "  certificate for {names}: obtained, valid until {}",
                    date(until)
                );
                until
            }
        };
        tokio::spawn(renew(acme, until, shutdown));
        Ok(())
    }
}

/// Renews at two thirds of the certificate's lifetime; a failure is said and tried again
/// (after a minute, doubling up to six hours) while the current certificate still serves.
async fn renew(acme: Arc<order::Acme>, mut until: (i64, i64), shutdown: CancellationToken) {
    let mut retry = Duration::from_secs(60);
    loop {
        let (from, to) = until;
        let at = from + (to - from) * 2 / 3;
        let wait = Duration::from_secs((at - crate::event::now_micros() / 1_000_000).max(0) as u64);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => return,
        }
        match acme.obtain().await {
            Ok(next) => {
                until = next;
                retry = Duration::from_secs(60);
                eprintln!(
                    "certificate for {} renewed, valid until {}",
                    acme.domains.join(", "),
                    date(next)
                );
            }
            Err(e) => {
                eprintln!(
                    "warning: cannot renew the certificate for {} (the current one is valid until {}): {e:#}; trying again in {}",
                    acme.domains.join(", "),
                    date(until),
                    crate::forward::humantime(retry)
                );
                tokio::select! {
                    _ = tokio::time::sleep(retry) => {}
                    _ = shutdown.cancelled() => return,
                }
                retry = (retry * 2).min(Duration::from_secs(6 * 3600));
            }
        }
    }
}

/// The end of a validity period, for humans.
fn date((_, to): (i64, i64)) -> String {
    chrono::DateTime::from_timestamp(to, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| to.to_string())
}
