//! Site key pairs: RSA-3072, public half in the server config, private half on the station.
//!
//! A key's fingerprint is the SHA-256 of its SubjectPublicKeyInfo DER; the sealed-job header
//! carries it so a station holding several keys (rotation) knows which one opens a job.

use std::path::Path;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};

use super::{SealError, pem};
use crate::crypto;

/// A site's public key, as the server uses it to wrap job keys.
#[derive(Debug, Clone)]
pub struct SitePublicKey {
    key: PublicEncryptingKey,
    fingerprint: [u8; 32],
}

impl SitePublicKey {
    /// Parses a `PUBLIC KEY` PEM (SPKI).
    ///
    /// # Errors
    /// A message naming the problem.
    pub fn from_pem(text: &str) -> Result<Self, String> {
        let der = pem::decode("PUBLIC KEY", text)?;
        let key = PublicEncryptingKey::from_der(&der).map_err(|e| format!("not an RSA public key: {e}"))?;
        if key.key_size_bits() < 2048 {
            return Err(format!("RSA key of {} bits is too small (need 2048+)", key.key_size_bits()));
        }
        // Hash the canonical re-encoding, as the station does from its private key, so that a
        // PEM written by another tool still gives the same fingerprint.
        let canonical = key.as_der().map_err(|_| "cannot re-encode the public key".to_owned())?;
        Ok(Self { fingerprint: crypto::sha256(canonical.as_ref()), key })
    }

    /// Reads a PEM file.
    ///
    /// # Errors
    /// A message naming the file and the problem.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_pem(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    pub(crate) fn wrap(&self, content_key: &[u8; 32]) -> Result<Vec<u8>, SealError> {
        let oaep = OaepPublicEncryptingKey::new(self.key.clone()).map_err(|_| SealError::Crypto("oaep key".into()))?;
        let mut out = vec![0u8; oaep.ciphertext_size()];
        let n = oaep
            .encrypt(&OAEP_SHA256_MGF1SHA256, content_key, &mut out, None)
            .map_err(|_| SealError::Crypto("RSA-OAEP wrap failed".into()))?
            .len();
        out.truncate(n);
        Ok(out)
    }
}

/// A site's private key, held only by its release stations.
#[derive(Debug)]
pub struct SitePrivateKey {
    key: OaepPrivateDecryptingKey,
    fingerprint: [u8; 32],
}

impl SitePrivateKey {
    /// Parses a `PRIVATE KEY` PEM (PKCS#8).
    ///
    /// # Errors
    /// A message naming the problem (never the key material).
    pub fn from_pem(text: &str) -> Result<Self, String> {
        let der = pem::decode("PRIVATE KEY", text)?;
        let private = PrivateDecryptingKey::from_pkcs8(&der).map_err(|e| format!("not an RSA private key: {e}"))?;
        let public_der = private.public_key().as_der().map_err(|_| "cannot derive the public key".to_owned())?;
        let fingerprint = crypto::sha256(public_der.as_ref());
        let key = OaepPrivateDecryptingKey::new(private).map_err(|_| "unusable RSA key".to_owned())?;
        Ok(Self { key, fingerprint })
    }

    /// Reads a PEM file.
    ///
    /// # Errors
    /// A message naming the file and the problem.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_pem(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    pub(crate) fn unwrap(&self, wrapped: &[u8]) -> Result<[u8; 32], SealError> {
        let mut out = vec![0u8; self.key.min_output_size()];
        let plain = self.key.decrypt(&OAEP_SHA256_MGF1SHA256, wrapped, &mut out, None).map_err(|_| SealError::Unwrap)?;
        plain.try_into().map_err(|_| SealError::Unwrap)
    }
}

/// A freshly generated key pair as PEM text: `(private PKCS#8, public SPKI)`.
///
/// # Errors
/// A message if key generation fails.
pub fn generate_pem(bits: KeySize) -> Result<(String, String), String> {
    let private = PrivateDecryptingKey::generate(bits).map_err(|_| "RSA key generation failed".to_owned())?;
    let private_der = private.as_der().map_err(|_| "cannot encode the private key".to_owned())?;
    let public_der = private.public_key().as_der().map_err(|_| "cannot encode the public key".to_owned())?;
    Ok((pem::encode("PRIVATE KEY", private_der.as_ref()), pem::encode("PUBLIC KEY", public_der.as_ref())))
}

/// The key size `printgate keygen` uses: RSA-3072 (NIST's choice for protection past 2030).
pub const KEYGEN_SIZE: KeySize = KeySize::Rsa3072;
