//! Talking to the ACME CA: the account (created once, kept in the data folder), an order for
//! the Relay's domains, its challenges (TLS-ALPN-01 in the resolver, or HTTP-01 on a small
//! server of its own), and the certificate, cached beside the account.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use sha2::{Digest, Sha256};

use super::resolver::{CertResolver, certified_key};
use crate::store::files;

/// What the Relay asks for, and where it keeps it.
pub(super) struct Acme {
    pub domains: Vec<String>,
    pub email: Option<String>,
    pub directory: String,
    /// HTTP-01 on this port; else TLS-ALPN-01.
    pub http: Option<u16>,
    /// `<data>/acme`: `account-<hash>.json`, `cert-<hash>.pem` (chain, then key).
    pub dir: PathBuf,
    pub directory_ca: Option<PathBuf>,
    pub resolver: Arc<CertResolver>,
}

/// Validity `(not_before, not_after)` in seconds since the epoch.
type Validity = (i64, i64);

impl Acme {
    fn hash(parts: &[&str]) -> String {
        hex::encode(&Sha256::digest(parts.join("\n").as_bytes())[..8])
    }

    fn account_path(&self) -> PathBuf {
        self.dir
            .join(format!("account-{}.json", Self::hash(&[&self.directory])))
    }

    fn cert_path(&self) -> PathBuf {
        let mut parts = vec![self.directory.as_str()];
        parts.extend(self.domains.iter().map(String::as_str));
        self.dir.join(format!("cert-{}.pem", Self::hash(&parts)))
    }

    /// Serves the cached certificate if there is one with more than a third of its lifetime
    /// left (else it is renewed at once); returns its validity.
    pub fn cached(&self) -> Option<Validity> {
        let pem = std::fs::read_to_string(self.cert_path()).ok()?;
        let key = certified_key(&pem, &pem).ok()?;
        let validity = crate::tunnel::agent::validity::of(key.cert[0].as_ref())?;
        if crate::event::now_micros() / 1_000_000 >= validity.1 {
            return None;
        }
        self.resolver.set(key);
        Some(validity)
    }

    async fn account(&self) -> anyhow::Result<Account> {
        let builder = || match &self.directory_ca {
            Some(ca) => Account::builder_with_root(ca),
            None => Account::builder(),
        };
        let path = self.account_path();
        if let Ok(json) = std::fs::read(&path) {
            let creds: AccountCredentials = serde_json::from_slice(&json)
                .with_context(|| format!("{} is not an ACME account: delete it", path.display()))?;
            return Ok(builder()?.from_credentials(creds).await?);
        }
        let contact = self.email.as_ref().map(|e| format!("mailto:{e}"));
        let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
        let new = NewAccount {
            contact: &contact,
            terms_of_service_agreed: true,
            only_return_existing: false,
        };
        let (account, creds) = builder()?
            .create(&new, self.directory.clone(), None)
            .await
            .map_err(|e| explain(e, &self.directory))?;
        write_private(&path, &serde_json::to_vec(&creds)?)?;
        Ok(account)
    }

    /// Orders a certificate, proves the domains, caches and serves it; returns its validity.
    pub async fn obtain(&self) -> anyhow::Result<Validity> {
        let account = self
            .account()
            .await
            .with_context(|| format!("cannot use the ACME directory {}", self.directory))?;
        let ids: Vec<Identifier> = self.domains.iter().cloned().map(Identifier::Dns).collect();
        let mut order = account
            .new_order(&NewOrder::new(&ids))
            .await
            .map_err(|e| explain(e, &self.directory))?;
        let http = Arc::new(Mutex::new(HashMap::new()));
        let server = match self.http {
            // Stops listening when dropped, whichever way this function ends.
            Some(port) => Some(tokio_util::task::AbortOnDropHandle::new(
                serve_http01(port, http.clone()).await?,
            )),
            None => None,
        };
        let kind = match self.http {
            Some(_) => ChallengeType::Http01,
            None => ChallengeType::TlsAlpn01,
        };
        let mut proved = Vec::new();
        let mut auths = order.authorizations();
        while let Some(auth) = auths.next().await {
            let mut auth = auth.map_err(|e| explain(e, &self.directory))?;
            if auth.status == AuthorizationStatus::Valid {
                continue;
            }
            let mut challenge = auth
                .challenge(kind.clone())
                .ok_or_else(|| anyhow::anyhow!("the ACME CA offers no {kind:?} challenge"))?;
            let domain = challenge.identifier().to_string();
            let ka = challenge.key_authorization();
            match self.http {
                Some(_) => {
                    let mut map = http.lock().unwrap_or_else(|p| p.into_inner());
                    map.insert(challenge.token.clone(), ka.as_str().to_string());
                }
                None => self.resolver.add_challenge(&domain, ka.digest().as_ref())?,
            }
            proved.push(domain);
            challenge
                .set_ready()
                .await
                .map_err(|e| explain(e, &self.directory))?;
        }
        let status = order.poll_ready(&RetryPolicy::new()).await;
        for d in &proved {
            self.resolver.remove_challenge(d);
        }
        drop(server);
        match status.map_err(|e| explain(e, &self.directory))? {
            OrderStatus::Ready => {}
            other => anyhow::bail!(
                "the ACME CA did not accept the proof for {} ({other:?}): check that their DNS points at this Relay and that port {} is reachable from the internet",
                self.domains.join(", "),
                self.http
                    .map_or("443 (TLS-ALPN-01)".into(), |p| format!("{p} (HTTP-01)"))
            ),
        }
        let key = rcgen::KeyPair::generate().context("cannot make a key")?;
        let mut params = rcgen::CertificateParams::new(self.domains.clone())
            .context("cannot make a certificate request")?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        let csr = params
            .serialize_request(&key)
            .context("cannot make a certificate request")?;
        order
            .finalize_csr(csr.der())
            .await
            .map_err(|e| explain(e, &self.directory))?;
        let chain = order
            .poll_certificate(&RetryPolicy::new())
            .await
            .map_err(|e| explain(e, &self.directory))?;
        let pem = format!("{}\n{}", chain.trim_end(), key.serialize_pem());
        let certified = certified_key(&pem, &pem)?;
        let validity = crate::tunnel::agent::validity::of(certified.cert[0].as_ref())
            .ok_or_else(|| anyhow::anyhow!("the ACME CA sent a certificate hooktap cannot read"))?;
        write_private(&self.cert_path(), pem.as_bytes())?;
        self.resolver.set(certified);
        Ok(validity)
    }
}

/// Writes a file only its owner may read (account key, certificate key).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = files::create_private_file(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// An ACME error with what to do about it.
fn explain(e: instant_acme::Error, directory: &str) -> anyhow::Error {
    // The causes too: "client error (Connect)" alone does not say that the port was closed.
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    let hint = if text.contains("rateLimited") {
        "the ACME CA's rate limit: wait (Let's Encrypt allows 5 certificates per week for the same names), or use its staging server with --acme-directory"
    } else if [
        "dns",
        "connection",
        "unauthorized",
        "incorrectResponse",
        "tls",
    ]
    .iter()
    .any(|k| text.contains(k))
    {
        "the ACME CA could not check this Relay: does the domain's DNS point here, and is the port reachable from the internet?"
    } else if text.contains("rejectedIdentifier") {
        "the ACME CA does not issue for this name"
    } else {
        "is --acme-directory right and reachable from here?"
    };
    anyhow::anyhow!("{text} ({directory}): {hint}")
}

/// Answers `GET /.well-known/acme-challenge/<token>` on `port` while an order is proved.
async fn serve_http01(
    port: u16,
    tokens: Arc<Mutex<HashMap<String, String>>>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .with_context(|| format!("cannot listen on port {port} for the ACME HTTP-01 challenge (ports below 1024 need privileges; or use TLS-ALPN-01 on 443 without --acme-http)"))?;
    Ok(tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tokens = tokens.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: http::Request<_>| {
                    let token = req
                        .uri()
                        .path()
                        .strip_prefix("/.well-known/acme-challenge/")
                        .and_then(|t| tokens.lock().ok()?.get(t).cloned());
                    let found = token.is_some();
                    let mut r =
                        http::Response::new(Full::new(Bytes::from(token.unwrap_or_default())));
                    if !found {
                        *r.status_mut() = http::StatusCode::NOT_FOUND;
                    }
                    async move { Ok::<_, std::convert::Infallible>(r) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    }))
}
