//! Whom the Agent trusts as its Relay. Without `--relay-ca`: the usual web roots, verified by
//! webpki. With it: a certificate the Relay presents that equals one in the PEM, byte for byte
//! (DER), is pinned: accepted whatever its CA flag (a plain `openssl req -x509` certificate is
//! CA:TRUE, which webpki refuses as a server's own), once its names cover the Relay's host and
//! today lies in its validity. Any other certificate must chain to the PEM's certificates as
//! CAs, verified by webpki as before. The handshake's signatures are checked by rustls's own
//! functions with the ring provider's algorithms in both cases.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use pki_types::pem::PemObject;
use pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

/// A TLS connector for the Relay: pinning the PEM at `relay_ca` (see the module doc), else the
/// web roots.
pub fn connector(relay_ca: Option<&Path>) -> anyhow::Result<tokio_rustls::TlsConnector> {
    let provider = crate::tls::provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS setup failed")?;
    let mut config = match relay_ca {
        None => {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Some(path) => {
            let verifier = Pinned::new(read_pem(path)?, provider)?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

fn read_pem(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "cannot read PEM certificates from {}: check --relay-ca",
                path.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!("{} holds no certificate: check --relay-ca", path.display());
    }
    Ok(certs)
}

/// `--relay-ca`: the PEM's certificates pinned, and as CAs for any other.
#[derive(Debug)]
struct Pinned {
    pinned: Vec<CertificateDer<'static>>,
    as_cas: Arc<WebPkiServerVerifier>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Pinned {
    fn new(
        certs: Vec<CertificateDer<'static>>,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> anyhow::Result<Pinned> {
        let mut roots = rustls::RootCertStore::empty();
        // A certificate webpki cannot use as a CA is still pinned: only CAs need to be roots.
        let (added, _) = roots.add_parsable_certificates(certs.iter().cloned());
        if added == 0 {
            anyhow::bail!("no certificate in --relay-ca could be parsed: check the PEM file");
        }
        let as_cas = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .context("cannot use the --relay-ca certificates")?;
        Ok(Pinned {
            pinned: certs,
            as_cas,
            algorithms: provider.signature_verification_algorithms,
        })
    }
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if !self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return self.as_cas.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            );
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        let (not_before, not_after) = super::validity::of(end_entity.as_ref())
            .ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let now = now.as_secs() as i64;
        if now < not_before {
            return Err(Error::InvalidCertificate(CertificateError::NotValidYet));
        }
        if now > not_after {
            return Err(Error::InvalidCertificate(CertificateError::Expired));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    fn cert(ca: bool, names: &[&str]) -> CertificateDer<'static> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        if ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        params
            .self_signed(&KeyPair::generate().unwrap())
            .unwrap()
            .der()
            .clone()
    }

    fn verify(pinned: &Pinned, presented: &CertificateDer<'_>, host: &str) -> Result<(), Error> {
        let name = ServerName::try_from(host.to_string()).unwrap();
        pinned
            .verify_server_cert(presented, &[], &name, &[], UnixTime::now())
            .map(|_| ())
    }

    #[test]
    fn a_pinned_certificate_is_accepted_whatever_its_ca_flag_for_its_names_only() {
        let ca_true = cert(true, &["localhost", "127.0.0.1"]);
        let plain = cert(false, &["relay.test"]);
        let other = cert(true, &["localhost"]);
        let p = Pinned::new(vec![ca_true.clone(), plain.clone()], crate::tls::provider()).unwrap();
        assert_eq!(verify(&p, &ca_true, "localhost"), Ok(()));
        assert_eq!(verify(&p, &ca_true, "127.0.0.1"), Ok(()));
        assert_eq!(verify(&p, &plain, "relay.test"), Ok(()));
        assert!(matches!(
            verify(&p, &ca_true, "elsewhere.test"),
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForNameContext { .. }
            ))
        ));
        // Not in the PEM and not signed by it: refused.
        assert!(verify(&p, &other, "localhost").is_err());
    }

    #[test]
    fn a_pinned_certificate_out_of_its_validity_is_refused() {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.not_before = rcgen::date_time_ymd(2001, 1, 1);
        params.not_after = rcgen::date_time_ymd(2002, 1, 1);
        let old = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
        let old = old.der().clone();
        let p = Pinned::new(vec![old.clone()], crate::tls::provider()).unwrap();
        assert_eq!(
            verify(&p, &old, "localhost"),
            Err(Error::InvalidCertificate(CertificateError::Expired))
        );
    }
}
