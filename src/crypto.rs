//! Small cryptographic helpers over aws-lc-rs, shared by the spool, the store and the seal.
//!
//! Owns random bytes, digests, HMAC, AES-256-GCM with a random nonce, and the 32-byte secret
//! key files (node key, store secret). Key material never reaches a log line.

use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{digest, hmac, rand};

/// Bytes in a secret key file.
pub const SECRET_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the system random generator failed")]
    Random,
    #[error("authenticated decryption failed (wrong key or tampered data)")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
}

/// Fills a fresh array from the system CSPRNG.
///
/// # Errors
/// [`CryptoError::Random`] if the OS generator fails.
pub fn random<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    rand::fill(&mut out).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha256(data))
}

/// Compares two byte strings in time independent of where they differ (MACs, tokens).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// A 256-bit secret with a purpose; derives sub-keys so one file can key several things.
#[derive(Clone)]
pub struct Secret([u8; SECRET_LEN]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> Self {
        Self(bytes)
    }

    /// A sub-key for one purpose (HMAC-based derivation with a label).
    pub fn derive(&self, label: &str) -> Secret {
        Secret(hmac_sha256(&self.0, label.as_bytes()))
    }

    pub fn expose(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }

    /// Loads a key file, or creates it (mode 0600) with fresh random bytes when missing.
    ///
    /// # Errors
    /// [`CryptoError::KeyFile`] if the file cannot be read, created, or has the wrong size.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let err = |reason: String| CryptoError::KeyFile { path: path.display().to_string(), reason };
        match std::fs::read(path) {
            Ok(bytes) => {
                let arr: [u8; SECRET_LEN] =
                    bytes.try_into().map_err(|b: Vec<u8>| err(format!("expected {SECRET_LEN} bytes, found {}", b.len())))?;
                Ok(Self(arr))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes = random::<SECRET_LEN>()?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                }
                write_private(path, &bytes).map_err(|e| err(e.to_string()))?;
                Ok(Self(bytes))
            }
            Err(e) => Err(err(e.to_string())),
        }
    }
}

/// Writes a file readable only by its owner, fsync'd. Fails if it already exists.
///
/// # Errors
/// I/O errors.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// AES-256-GCM with a random 96-bit nonce: output is `nonce || ciphertext || tag`.
///
/// # Errors
/// [`CryptoError`] on RNG or cipher failure.
pub fn aead_seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce_bytes = random::<NONCE_LEN>()?;
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&aead_seal_with_nonce(key, nonce_bytes, aad, plaintext)?);
    Ok(out)
}

/// AES-256-GCM with a caller-chosen nonce: output is `ciphertext || tag`.
///
/// # Errors
/// [`CryptoError::Encrypt`] on cipher failure.
pub fn aead_seal_with_nonce(key: &[u8; 32], nonce: [u8; NONCE_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::Encrypt)?);
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf).map_err(|_| CryptoError::Encrypt)?;
    Ok(buf)
}

/// Opens what [`aead_seal`] produced.
///
/// # Errors
/// [`CryptoError::Decrypt`] when the key is wrong or any byte was changed.
pub fn aead_open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(CryptoError::Decrypt);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Decrypt)?;
    aead_open_with_nonce(key, nonce, aad, body)
}

/// Opens `ciphertext || tag` under an explicit nonce.
///
/// # Errors
/// [`CryptoError::Decrypt`] when the key is wrong or any byte was changed.
pub fn aead_open_with_nonce(key: &[u8; 32], nonce: [u8; NONCE_LEN], aad: &[u8], body: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::Decrypt)?);
    let mut buf = body.to_vec();
    let plain = key.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf).map_err(|_| CryptoError::Decrypt)?;
    let n = plain.len();
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aead_round_trip_and_tamper_detection() {
        let key = random::<32>().unwrap();
        let sealed = aead_seal(&key, b"aad", b"secret document").unwrap();
        assert_eq!(aead_open(&key, b"aad", &sealed).unwrap(), b"secret document");
        assert!(aead_open(&key, b"other aad", &sealed).is_err());
        let mut tampered = sealed.clone();
        tampered[NONCE_LEN] ^= 1;
        assert!(aead_open(&key, b"aad", &tampered).is_err());
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn key_files_are_created_private_and_reloaded() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/node.key");
        let a = Secret::load_or_create(&path).unwrap();
        let b = Secret::load_or_create(&path).unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_ne!(a.derive("x").expose(), a.derive("y").expose());
    }
}
