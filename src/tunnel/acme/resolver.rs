//! The Relay's certificate under ACME: a rustls resolver whose certificate is swapped in place
//! when it is renewed (open connections keep theirs, new ones get the new one), and which
//! answers TLS-ALPN-01 challenges (RFC 8737) with a certificate made for each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context;
use pki_types::pem::PemObject;
use pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The ALPN protocol of TLS-ALPN-01 validation connections.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The current certificate, and challenge certificates by domain.
#[derive(Debug, Default)]
pub struct CertResolver {
    current: RwLock<Option<Arc<CertifiedKey>>>,
    challenges: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let validating = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if validating {
            let name = hello.server_name()?.to_ascii_lowercase();
            let challenges = self.challenges.lock().unwrap_or_else(|p| p.into_inner());
            return challenges.get(&name).cloned();
        }
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl CertResolver {
    /// Serves `key` to new connections from now on.
    pub fn set(&self, key: Arc<CertifiedKey>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(key);
    }

    /// The certificate served now (its leaf first).
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Answers TLS-ALPN-01 for `domain` with a self-signed certificate carrying the
    /// acmeIdentifier extension (the SHA-256 of the key authorization).
    pub fn add_challenge(&self, domain: &str, digest: &[u8]) -> anyhow::Result<()> {
        let mut params = rcgen::CertificateParams::new(vec![domain.to_string()])
            .context("cannot make a TLS-ALPN-01 certificate")?;
        params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
        let key = rcgen::KeyPair::generate().context("cannot make a TLS-ALPN-01 key")?;
        let cert = params
            .self_signed(&key)
            .context("cannot make a TLS-ALPN-01 certificate")?;
        let certified = certified_key(&cert.pem(), &key.serialize_pem())?;
        self.challenges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(domain.to_ascii_lowercase(), certified);
        Ok(())
    }

    /// Stops answering the challenge for `domain`.
    pub fn remove_challenge(&self, domain: &str) {
        self.challenges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&domain.to_ascii_lowercase());
    }
}

/// A certificate chain and its key, from PEM (one text may hold both).
pub fn certified_key(chain: &str, key: &str) -> anyhow::Result<Arc<CertifiedKey>> {
    let certs = CertificateDer::pem_slice_iter(chain.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .context("the certificate chain is not PEM")?;
    if certs.is_empty() {
        anyhow::bail!("no certificate in the chain");
    }
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).context("the key is not PEM")?;
    let signing = crate::tls::provider()
        .key_provider
        .load_private_key(key)
        .context("the certificate's key is of a kind rustls cannot use")?;
    Ok(Arc::new(CertifiedKey::new(certs, signing)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_certificates_carry_the_digest_and_are_kept_apart() {
        let r = CertResolver::default();
        r.add_challenge("Relay.Example.com", &[7u8; 32]).unwrap();
        let key = r
            .challenges
            .lock()
            .unwrap()
            .get("relay.example.com")
            .cloned()
            .unwrap();
        let der = key.cert[0].as_ref();
        // The acmeIdentifier OID 1.3.6.1.5.5.7.1.31, then the digest as an OCTET STRING.
        let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1f];
        assert!(der.windows(oid.len()).any(|w| w == oid));
        let mut digest = vec![0x04, 0x20];
        digest.extend([7u8; 32]);
        assert!(der.windows(digest.len()).any(|w| w == &digest[..]));
        assert!(r.current().is_none());
        r.remove_challenge("relay.example.com");
        assert!(r.challenges.lock().unwrap().is_empty());
    }
}
