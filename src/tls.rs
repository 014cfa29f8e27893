//! TLS for the listener (and the Relay): PEM files, or a self-signed certificate made at start.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use pki_types::pem::PemObject;
use pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;

/// The rustls crypto provider hooktap uses everywhere (ring: builds with a C compiler only).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The client configuration for the public web (the webpki roots), as the forwarder and the
/// Ayrshare API client use it.
pub fn web_client_config() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
        .with_no_client_auth()
}

/// A server configuration from a certificate chain and key (TLS 1.2 and 1.3 only; no 0-RTT).
pub fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> anyhow::Result<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS setup failed")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not fit together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A server configuration whose certificate comes from `resolver` (ACME: swapped on renewal),
/// also answering TLS-ALPN-01 validation connections.
pub fn resolver_config(
    resolver: Arc<dyn rustls::server::ResolvesServerCert>,
) -> anyhow::Result<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS setup failed")?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![
        b"http/1.1".to_vec(),
        crate::tunnel::acme::ACME_TLS_ALPN.to_vec(),
    ];
    Ok(config)
}

/// Loads a PEM certificate chain and private key.
pub fn load(
    cert: &Path,
    key: &Path,
) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "cannot read a PEM certificate from {}: check --tls-cert",
                cert.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!("{} holds no certificate: check --tls-cert", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| {
        format!(
            "cannot read a PEM private key from {}: check --tls-key",
            key.display()
        )
    })?;
    Ok((certs, key))
}

/// A fresh self-signed certificate for `localhost` and `127.0.0.1`, with its key.
pub fn self_signed(
    names: &[String],
) -> anyhow::Result<(CertificateDer<'static>, PrivateKeyDer<'static>)> {
    let cert = rcgen::generate_simple_self_signed(names.to_vec())
        .context("cannot make a self-signed certificate")?;
    let der = cert.cert.der().clone();
    let key = PrivateKeyDer::try_from(cert.signing_key.serialize_der())
        .map_err(|e| anyhow::anyhow!("cannot encode the self-signed key: {e}"))?;
    Ok((der, key))
}

/// SHA-256 fingerprint of a certificate as colon-separated upper-case hex, as browsers show it.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// An acceptor for the listener.
pub fn acceptor(config: ServerConfig) -> TlsAcceptor {
    TlsAcceptor::from(Arc::new(config))
}
