//! The sealed-job format v1 (see `docs/sealed-job.md`): write, open, and the site keys.
//!
//! A sealed job is the print-ready PDF, zstd-compressed, encrypted with a fresh AES-256-GCM key;
//! that key is wrapped with RSA-OAEP-SHA256 to the release site's public key. The whole header
//! (including the job id and site name) is the AEAD's associated data, so a job cannot be
//! re-labelled or moved to another site without detection. This module does not know where the
//! bytes are stored.

pub mod keys;
pub mod pem;

use aws_lc_rs::aead::NONCE_LEN;

pub use keys::{SitePrivateKey, SitePublicKey};

use crate::crypto;

pub const MAGIC: &[u8; 4] = b"PGSJ";
pub const VERSION: u8 = 1;
/// Flag bit: the plaintext is zstd-compressed (always set in v1).
pub const FLAG_ZSTD: u8 = 0x01;
/// zstd level 3: the library default, most of the gain at a fraction of the time.
const ZSTD_LEVEL: i32 = 3;
/// A sealed job never inflates to more than this (guards the station against zstd bombs).
pub const MAX_PLAINTEXT: usize = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("not a sealed job (bad magic)")]
    BadMagic,
    #[error("unsupported sealed-job version {0}")]
    Version(u8),
    #[error("sealed job is truncated")]
    Truncated,
    #[error("job was sealed for key {found}, this key is {expected}")]
    WrongKey { found: String, expected: String },
    #[error("job is for site {found:?}, expected {expected:?}")]
    WrongSite { found: String, expected: String },
    #[error("job id in the envelope is {found}, expected {expected}")]
    WrongJob { found: String, expected: String },
    #[error("cannot unwrap the job key")]
    Unwrap,
    #[error("decryption failed: the job was altered or the key is wrong")]
    Decrypt,
    #[error("decompression failed: {0}")]
    Decompress(String),
    #[error("crypto failure: {0}")]
    Crypto(String),
    #[error("site name too long")]
    SiteName,
}

/// The authenticated header of a sealed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub flags: u8,
    pub job_id: [u8; 16],
    pub site: String,
    pub key_fingerprint: [u8; 32],
    pub wrapped_key: Vec<u8>,
    pub nonce: [u8; NONCE_LEN],
}

impl Header {
    fn encode(&self) -> Result<Vec<u8>, SealError> {
        let site = self.site.as_bytes();
        let site_len = u8::try_from(site.len()).map_err(|_| SealError::SiteName)?;
        let key_len = u16::try_from(self.wrapped_key.len()).map_err(|_| SealError::Crypto("wrapped key".into()))?;
        let mut out = Vec::with_capacity(64 + site.len() + self.wrapped_key.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(self.flags);
        out.extend_from_slice(&self.job_id);
        out.push(site_len);
        out.extend_from_slice(site);
        out.extend_from_slice(&self.key_fingerprint);
        out.extend_from_slice(&key_len.to_be_bytes());
        out.extend_from_slice(&self.wrapped_key);
        out.extend_from_slice(&self.nonce);
        Ok(out)
    }

    /// Parses the header; returns it and its length in bytes.
    ///
    /// # Errors
    /// [`SealError`] for a wrong magic, version or a truncated header.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), SealError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4)? != MAGIC {
            return Err(SealError::BadMagic);
        }
        let version = r.take(1)?[0];
        if version != VERSION {
            return Err(SealError::Version(version));
        }
        let flags = r.take(1)?[0];
        let job_id = r.array::<16>()?;
        let site_len = r.take(1)?[0] as usize;
        let site = String::from_utf8(r.take(site_len)?.to_vec()).map_err(|_| SealError::Truncated)?;
        let key_fingerprint = r.array::<32>()?;
        let key_len = u16::from_be_bytes(r.array::<2>()?) as usize;
        let wrapped_key = r.take(key_len)?.to_vec();
        let nonce = r.array::<NONCE_LEN>()?;
        Ok((Self { flags, job_id, site, key_fingerprint, wrapped_key, nonce }, r.pos))
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SealError> {
        let end = self.pos.checked_add(n).ok_or(SealError::Truncated)?;
        let out = self.bytes.get(self.pos..end).ok_or(SealError::Truncated)?;
        self.pos = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], SealError> {
        self.take(N)?.try_into().map_err(|_| SealError::Truncated)
    }
}

/// Seals `pdf` as job `job_id` for `site` under the site's public key.
///
/// # Errors
/// [`SealError`] on compression or crypto failure.
pub fn seal(pdf: &[u8], job_id: [u8; 16], site: &str, key: &SitePublicKey) -> Result<Vec<u8>, SealError> {
    let compressed = zstd::bulk::compress(pdf, ZSTD_LEVEL).map_err(|e| SealError::Crypto(e.to_string()))?;
    let content_key = crypto::random::<32>().map_err(|e| SealError::Crypto(e.to_string()))?;
    let nonce = crypto::random::<NONCE_LEN>().map_err(|e| SealError::Crypto(e.to_string()))?;
    let wrapped_key = key.wrap(&content_key)?;
    let header = Header { flags: FLAG_ZSTD, job_id, site: site.to_owned(), key_fingerprint: key.fingerprint(), wrapped_key, nonce };
    let mut out = header.encode()?;
    let body = crypto::aead_seal_with_nonce(&content_key, nonce, &out, &compressed).map_err(|e| SealError::Crypto(e.to_string()))?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// What the station expects a job to be.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub job_id: [u8; 16],
    pub site: &'a str,
}

/// Opens a sealed job with the site's private key, checking it is the job and site expected.
///
/// # Errors
/// [`SealError`] naming what did not match, or that the data was altered.
pub fn open(sealed: &[u8], key: &SitePrivateKey, expect: Expect<'_>) -> Result<Vec<u8>, SealError> {
    let (header, header_len) = Header::decode(sealed)?;
    if header.key_fingerprint != key.fingerprint() {
        return Err(SealError::WrongKey { found: hex::encode(header.key_fingerprint), expected: hex::encode(key.fingerprint()) });
    }
    if header.site != expect.site {
        return Err(SealError::WrongSite { found: header.site, expected: expect.site.to_owned() });
    }
    if header.job_id != expect.job_id {
        return Err(SealError::WrongJob { found: hex::encode(header.job_id), expected: hex::encode(expect.job_id) });
    }
    let content_key = key.unwrap(&header.wrapped_key)?;
    let (aad, body) = sealed.split_at(header_len);
    let compressed = crypto::aead_open_with_nonce(&content_key, header.nonce, aad, body).map_err(|_| SealError::Decrypt)?;
    if header.flags & FLAG_ZSTD == 0 {
        return Ok(compressed);
    }
    decompress_bounded(&compressed)
}

fn decompress_bounded(compressed: &[u8]) -> Result<Vec<u8>, SealError> {
    use std::io::Read;
    let decoder = zstd::stream::read::Decoder::new(compressed).map_err(|e| SealError::Decompress(e.to_string()))?;
    let mut out = Vec::new();
    decoder.take(MAX_PLAINTEXT as u64 + 1).read_to_end(&mut out).map_err(|e| SealError::Decompress(e.to_string()))?;
    if out.len() > MAX_PLAINTEXT {
        return Err(SealError::Decompress("larger than the plaintext limit".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
