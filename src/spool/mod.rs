//! The durable spool: accepted messages, encrypted at rest with the node key, fsync'd before
//! the `250` is sent, and replayed after a crash.
//!
//! Owns the on-disk format (`<id>.msg`: AES-256-GCM under a key derived from the node key,
//! the entry id as associated data) and the write/rename/fsync sequence. It knows nothing of
//! SMTP: it stores [`SpoolMeta`] and the raw bytes, and hands them back.

use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::error::Unspecified;
use serde::{Deserialize, Serialize};

use crate::crypto::{self, Secret};

/// Magic and version at the start of every spool file.
const MAGIC: &[u8; 8] = b"PGSPOOL1";
/// The magic and the AES-256-GCM nonce before the ciphertext (`crypto::aead_seal`'s layout:
/// nonce, ciphertext, tag).
const HEADER_LEN: usize = 8 + NONCE_LEN;
const TAG_LEN: usize = 16;

const SUFFIX: &str = "msg";

/// The spool's AES-256-GCM key (the cipher of `crypto::aead_seal`, used in place here).
fn aead_key(key: &Secret) -> Result<LessSafeKey, Unspecified> {
    UnboundKey::new(&AES_256_GCM, key.expose()).map(LessSafeKey::new)
}

/// Everything the pipeline needs besides the raw message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SpoolMeta {
    pub id: String,
    /// Unix seconds.
    pub received_at: i64,
    pub queue: String,
    pub mail_from: Option<String>,
    pub recipients: Vec<String>,
    pub client_ip: String,
    pub helo: String,
    pub spam_score: f64,
    pub spam_tagged: bool,
    /// Indexes of the documents screening accepted.
    pub printable: Vec<usize>,
    /// Plus-address options of the recipient (`duplex`, …).
    #[serde(default)]
    pub options: Vec<String>,
    /// Received over TLS.
    #[serde(default)]
    pub tls: bool,
    /// The sender's authentication grade (`authenticated`, `unauthenticated`, `failing`).
    #[serde(default)]
    pub sender_grade: String,
    /// SPF failed and no DKIM signature passed: `reply_policy = not_failing` skips these too.
    #[serde(default)]
    pub spf_fail_without_dkim: bool,
    /// The message is automatic or from a list (Auto-Submitted, List-Id, Precedence): no reply.
    #[serde(default)]
    pub automatic: bool,
    /// The screening trace of an accepted message: the pipeline records it in the transaction
    /// that stores the message, so nothing waits on the store before the `250` and the trace
    /// survives a store outage.
    #[serde(default)]
    pub pending_trace: Option<crate::store::trace::Trace>,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool I/O on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("spool entry {id} is corrupt or was written with another node key")]
    Corrupt { id: String },
    #[error("spool task failed: {0}")]
    Task(String),
}

/// A directory of spooled messages.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    key: Secret,
}

impl Spool {
    /// Opens (creating) the spool directory; removes half-written files from a crash.
    ///
    /// # Errors
    /// [`SpoolError::Io`] when the directory cannot be created or read.
    pub fn open(dir: &Path, node_key: &Secret) -> Result<Self, SpoolError> {
        let io = |source| SpoolError::Io { path: dir.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "tmp") {
                let _ = std::fs::remove_file(&path);
            }
        }
        Ok(Self { dir: dir.to_owned(), key: node_key.derive("printgate spool v1") })
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.{SUFFIX}"))
    }

    /// Writes an entry durably: temp file, fsync, rename, fsync of the directory. Takes the
    /// message's buffer, which becomes the encrypted file.
    ///
    /// # Errors
    /// [`SpoolError`] on any I/O failure (disk full included); nothing half-written remains.
    pub async fn write(&self, meta: &SpoolMeta, raw: Vec<u8>) -> Result<(), SpoolError> {
        let meta_json = serde_json::to_vec(meta).map_err(|e| SpoolError::Task(e.to_string()))?;
        // The file is the message's own buffer with the header put in front, encrypted in
        // place: no copy of the message (a 25 MB message was copied three times here before).
        let nonce = crypto::random::<NONCE_LEN>().map_err(|e| SpoolError::Task(e.to_string()))?;
        let mut header = Vec::with_capacity(HEADER_LEN + 4 + meta_json.len());
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&nonce);
        header.extend_from_slice(&u32::try_from(meta_json.len()).unwrap_or(u32::MAX).to_be_bytes());
        header.extend_from_slice(&meta_json);
        let mut file = raw;
        file.reserve(header.len() + TAG_LEN);
        file.splice(0..0, header);
        let tag = aead_key(&self.key)
            .and_then(|key| {
                key.seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(meta.id.as_bytes()), &mut file[HEADER_LEN..])
            })
            .map_err(|_| SpoolError::Task("spool encryption failed".into()))?;
        file.extend_from_slice(tag.as_ref());
        let (dir, final_path) = (self.dir.clone(), self.path(&meta.id));
        tokio::task::spawn_blocking(move || write_durably(&dir, &final_path, &file)).await.map_err(|e| SpoolError::Task(e.to_string()))?
    }

    /// Reads and decrypts an entry.
    ///
    /// # Errors
    /// [`SpoolError::Io`] if it cannot be read, [`SpoolError::Corrupt`] if it does not decrypt.
    pub async fn read(&self, id: &str) -> Result<(SpoolMeta, Vec<u8>), SpoolError> {
        let path = self.path(id);
        let mut bytes = tokio::fs::read(&path).await.map_err(|source| SpoolError::Io { path, source })?;
        let corrupt = || SpoolError::Corrupt { id: id.to_owned() };
        if bytes.len() < HEADER_LEN + TAG_LEN || !bytes.starts_with(MAGIC) {
            return Err(corrupt());
        }
        // Decrypted in place, and the message moved to the front of the same buffer: the
        // pipeline holds one copy of a large message, not three.
        let nonce: [u8; NONCE_LEN] = bytes[MAGIC.len()..HEADER_LEN].try_into().map_err(|_| corrupt())?;
        let key = aead_key(&self.key).map_err(|_| corrupt())?;
        let plain_len = key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(id.as_bytes()), &mut bytes[HEADER_LEN..])
            .map_err(|_| corrupt())?
            .len();
        bytes.truncate(HEADER_LEN + plain_len);
        let plain = &bytes[HEADER_LEN..];
        let (len, rest) = plain.split_at_checked(4).ok_or_else(corrupt)?;
        let len = u32::from_be_bytes(len.try_into().map_err(|_| corrupt())?) as usize;
        let meta = rest.get(..len).ok_or_else(corrupt)?;
        let meta: SpoolMeta = serde_json::from_slice(meta).map_err(|_| corrupt())?;
        bytes.drain(..HEADER_LEN + 4 + len);
        Ok((meta, bytes))
    }

    /// Ids of every entry, oldest first (ids are time-ordered UUIDv7).
    ///
    /// # Errors
    /// [`SpoolError::Io`] if the directory cannot be read.
    pub fn list(&self) -> Result<Vec<String>, SpoolError> {
        let io = |source| SpoolError::Io { path: self.dir.clone(), source };
        let mut ids: Vec<String> = std::fs::read_dir(&self.dir)
            .map_err(io)?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(&format!(".{SUFFIX}")).map(str::to_owned)
            })
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Removes a finished entry whose message is stored. The removal is not fsync'd: an entry
    /// that a crash brings back is replayed, finds its message stored and is removed again (the
    /// pipeline's first step), so a directory fsync per message would buy nothing. An entry
    /// whose replay would act again (a reply command) goes with [`Spool::remove_durably`].
    ///
    /// # Errors
    /// [`SpoolError::Io`] on failure other than "already gone".
    pub async fn remove(&self, id: &str) -> Result<(), SpoolError> {
        let path = self.path(id);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(SpoolError::Io { path, source }),
        }
    }

    /// Removes a finished entry and makes the removal durable (fsync of the directory).
    ///
    /// # Errors
    /// [`SpoolError::Io`] on failure other than "already gone".
    pub async fn remove_durably(&self, id: &str) -> Result<(), SpoolError> {
        self.remove(id).await?;
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || sync_dir(&dir)).await.map_err(|e| SpoolError::Task(e.to_string()))?
    }

    /// Moves an entry that cannot be processed to `failed/` beside the spool.
    ///
    /// # Errors
    /// [`SpoolError::Io`] if it cannot be moved.
    pub async fn quarantine(&self, id: &str) -> Result<PathBuf, SpoolError> {
        let failed = self.dir.join("failed");
        let io = |source| SpoolError::Io { path: failed.clone(), source };
        tokio::fs::create_dir_all(&failed).await.map_err(io)?;
        let target = failed.join(format!("{id}.{SUFFIX}"));
        tokio::fs::rename(self.path(id), &target).await.map_err(io)?;
        Ok(target)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn write_durably(dir: &Path, final_path: &Path, file: &[u8]) -> Result<(), SpoolError> {
    use std::io::Write;
    let tmp = final_path.with_extension("tmp");
    let io = |source| SpoolError::Io { path: tmp.clone(), source };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(file)?;
        f.sync_all()?;
        std::fs::rename(&tmp, final_path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|source| SpoolError::Io { path: dir.to_owned(), source })
}

/// A new, time-ordered spool id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str) -> SpoolMeta {
        SpoolMeta {
            id: id.into(),
            received_at: 1,
            queue: "bw".into(),
            mail_from: Some("a@b".into()),
            recipients: vec!["bw@p".into()],
            client_ip: "127.0.0.1".into(),
            helo: "h".into(),
            spam_score: 0.5,
            spam_tagged: false,
            printable: vec![0],
            options: vec![],
            tls: false,
            sender_grade: "unauthenticated".into(),
            spf_fail_without_dkim: false,
            automatic: false,
            pending_trace: None,
        }
    }

    #[tokio::test]
    async fn entries_round_trip_encrypted_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), &Secret::from_bytes([7; 32])).unwrap();
        let (a, b) = (new_id(), new_id());
        spool.write(&meta(&b), b"second SECRET-MARKER".to_vec()).await.unwrap();
        spool.write(&meta(&a), b"first".to_vec()).await.unwrap();
        assert_eq!(spool.list().unwrap(), vec![a.clone(), b.clone()]);
        let (m, raw) = spool.read(&b).await.unwrap();
        assert_eq!((m, raw.as_slice()), (meta(&b), &b"second SECRET-MARKER"[..]));
        let on_disk = std::fs::read(dir.path().join(format!("{b}.msg"))).unwrap();
        assert!(!on_disk.windows(13).any(|w| w == b"SECRET-MARKER"));
        spool.remove(&b).await.unwrap();
        spool.remove(&b).await.unwrap();
        assert_eq!(spool.list().unwrap(), vec![a]);
    }

    #[tokio::test]
    async fn reads_entries_sealed_by_crypto_aead_seal() {
        // The in-place encryption keeps the layout of `crypto::aead_seal` (nonce, ciphertext,
        // tag after the magic): entries spooled before it still read, and the other way round.
        let dir = tempfile::tempdir().unwrap();
        let node_key = Secret::from_bytes([9; 32]);
        let spool = Spool::open(dir.path(), &node_key).unwrap();
        let id = new_id();
        let meta_json = serde_json::to_vec(&meta(&id)).unwrap();
        let mut plain = u32::try_from(meta_json.len()).unwrap().to_be_bytes().to_vec();
        plain.extend_from_slice(&meta_json);
        plain.extend_from_slice(b"raw message");
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&crypto::aead_seal(spool.key.expose(), id.as_bytes(), &plain).unwrap());
        std::fs::write(dir.path().join(format!("{id}.msg")), &file).unwrap();
        assert_eq!(spool.read(&id).await.unwrap(), (meta(&id), b"raw message".to_vec()));
        let other = new_id();
        spool.write(&meta(&other), b"written in place".to_vec()).await.unwrap();
        let on_disk = std::fs::read(dir.path().join(format!("{other}.msg"))).unwrap();
        let plain = crypto::aead_open(spool.key.expose(), other.as_bytes(), &on_disk[MAGIC.len()..]).unwrap();
        assert!(plain.ends_with(b"written in place"));
    }

    #[tokio::test]
    async fn another_node_key_cannot_read_an_entry() {
        let dir = tempfile::tempdir().unwrap();
        let id = new_id();
        Spool::open(dir.path(), &Secret::from_bytes([1; 32])).unwrap().write(&meta(&id), b"x".to_vec()).await.unwrap();
        let other = Spool::open(dir.path(), &Secret::from_bytes([2; 32])).unwrap();
        assert!(matches!(other.read(&id).await, Err(SpoolError::Corrupt { .. })));
        let parked = other.quarantine(&id).await.unwrap();
        assert!(parked.exists() && other.list().unwrap().is_empty());
    }
}
