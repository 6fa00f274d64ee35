//! DKIM signatures on replies (RFC 6376), through mail-auth.
//!
//! Owns the signing key and which headers are signed. A signed reply passes the patron's
//! provider's DMARC check for the library's domain, so it lands in the inbox rather than in spam.

use mail_auth::common::crypto::{RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;

use crate::config::RelayConfig;

/// The headers signed: everything a patron sees or a filter judges, so none can be altered in
/// transit. `From` is listed twice to forbid adding a second one (RFC 6376 §8.15).
const SIGNED: &[&str] =
    &["From", "From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "MIME-Version", "Content-Type", "Auto-Submitted"];

pub struct Dkim {
    key_der: Vec<u8>,
    pkcs8: bool,
    domain: String,
    selector: String,
}

impl std::fmt::Debug for Dkim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dkim").field("domain", &self.domain).field("selector", &self.selector).finish_non_exhaustive()
    }
}

impl Dkim {
    /// Loads the key the relay settings name; `None` when signing is not configured.
    ///
    /// # Errors
    /// A message naming the key file and what is wrong with it.
    pub fn from_config(relay: &RelayConfig) -> Result<Option<Self>, String> {
        let (Some(path), Some(selector)) = (&relay.dkim_key, &relay.dkim_selector) else { return Ok(None) };
        let pem = std::fs::read_to_string(path).map_err(|e| format!("relay.dkim_key {}: {e}", path.display()))?;
        let (pkcs8, der) = match crate::seal::pem::decode("PRIVATE KEY", &pem) {
            Ok(der) => (true, der),
            Err(_) => (
                false,
                crate::seal::pem::decode("RSA PRIVATE KEY", &pem)
                    .map_err(|_| format!("relay.dkim_key {}: no PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1) block", path.display()))?,
            ),
        };
        let domain = match &relay.dkim_domain {
            Some(d) => d.clone(),
            None => relay.from.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>').to_owned()).ok_or("relay.from has no domain")?,
        };
        let dkim = Self { key_der: der, pkcs8, domain, selector: selector.clone() };
        // Parse once now, so a bad key stops the start instead of every reply.
        dkim.key().map_err(|e| format!("relay.dkim_key {}: {e}", path.display()))?;
        Ok(Some(dkim))
    }

    fn key(&self) -> Result<RsaKey<Sha256>, String> {
        use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer};
        let der = if self.pkcs8 {
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.as_slice()))
        } else {
            PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(self.key_der.as_slice()))
        };
        RsaKey::<Sha256>::from_key_der(der).map_err(|e| e.to_string())
    }

    /// Returns `message` with a `DKIM-Signature` header in front.
    ///
    /// # Errors
    /// A message when signing fails.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let signature = DkimSigner::from_key(self.key()?)
            .domain(self.domain.clone())
            .selector(self.selector.clone())
            .headers(SIGNED.iter().copied())
            .sign(message)
            .map_err(|e| e.to_string())?;
        let mut signed = signature.to_header().into_bytes();
        signed.extend_from_slice(message);
        Ok(signed)
    }
}
