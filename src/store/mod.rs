//! The shared store: jobs and release codes in SQL, sealed blobs in object storage.
//!
//! Owns the schema and its migrations (SQLite and PostgreSQL, one SQL dialect through sqlx's
//! `Any` driver), release codes (stored only as HMAC-SHA256 under the store secret), station
//! tokens (stored only as SHA-256), the encrypted reply outbox, expiry, and spent codes (why a
//! code that was right once releases nothing now: spent.rs). It renders nothing
//! and decides no verdicts. Every node of an installation shares one store.

pub mod accounts;
pub mod admin;
mod audit;
pub mod blob;
pub mod budget;
pub mod codes;
pub mod commands;
pub mod desk;
pub mod mailbox;
mod outbox;
mod record;
mod reminders;
mod schema;
mod snapshot;
mod spent;
mod stations;
mod throttle;
mod tokens;
pub mod verified;
pub use stations::AuditEvent;
pub mod trace;

use std::path::Path;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Executor, Row};

use crate::config::StoreConfig;
use crate::crypto::{self, Secret};
pub use blob::{BlobUrl, Blobs};
pub use codes::ReleaseCode;
pub use commands::Resent;
pub use outbox::{NewReply, OUTBOX_LEASE_SECS, OutboxBacklog};
pub use reminders::DueReminder;
pub use spent::{SPENT_CODE_KEEP_SECS, SpentReason};
pub use throttle::{Admission, AttemptLimit, LockoutStarted, Redemption};
pub use tokens::{StationToken, TokenListing, TokenScope, inspect_poll_tokens, poll_tokens_warning};
pub use trace::TraceWrite;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("blob store: {0}")]
    Blob(String),
    #[error("not found")]
    NotFound,
    #[error("store secret: {0}")]
    Secret(String),
    #[error("could not find a free release code")]
    CodeSpaceExhausted,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// One accepted mail, as stored.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The spool id: storing the same message twice is a no-op.
    pub id: String,
    pub queue: String,
    pub site: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Held until the sender confirms the address (`verify_new_senders`; store/verified.rs).
    pub held: bool,
}

/// One sealed print job to store.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: String,
    pub seq: i64,
    pub filename: String,
    pub pages: i64,
    pub color: bool,
    /// Pages that print in colour: 0 when `color` is false.
    pub color_pages: i64,
    pub copies: i64,
    pub duplex: bool,
    /// `""` for all pages, else `first-last`.
    pub page_range: String,
    pub sealed: Vec<u8>,
}

/// What a station sees of a job.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct JobInfo {
    pub id: String,
    pub filename: String,
    pub pages: i64,
    pub color: bool,
    pub copies: i64,
    pub bytes: i64,
    pub sha256: String,
    pub duplex: bool,
    pub page_range: String,
    /// Pages of the document that print in colour (0 for a job printed in black and white).
    pub color_pages: i64,
}

/// A reply waiting for the relay.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub id: String,
    pub mail_from: String,
    pub rcpt: String,
    /// The formatted message (decrypted).
    pub body: Vec<u8>,
    pub attempts: i64,
}

/// The outcome of storing a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Newly stored under this code.
    New(ReleaseCode),
    /// The message was already stored (a replay after a crash).
    AlreadyStored,
}

/// The store's idea of "now": the system clock, or a clock a test sets.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(std::sync::Arc<std::sync::atomic::AtomicI64>),
}

impl Clock {
    pub fn now(&self) -> i64 {
        match self {
            Self::System => now(),
            Self::Manual(t) => t.load(std::sync::atomic::Ordering::SeqCst),
        }
    }
}

/// Jobs purged per claim: small enough that nodes share a large backlog.
const PURGE_BATCH: i64 = 100;
/// A blob without a job row younger than this may belong to a `record` in flight.
pub const ORPHAN_GRACE_SECS: i64 = 3600;

#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) is_sqlite: bool,
    clock: Clock,
    blobs: Blobs,
    code_key: Secret,
    pub(crate) outbox_key: Secret,
    command_key: Secret,
    code_digits: usize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("blobs", &self.blobs).finish_non_exhaustive()
    }
}

/// How long outbox rows (delivered or not) are kept: a week, longer than any retention.
const OUTBOX_KEEP_SECS: i64 = 7 * 24 * 3600;
/// How long an undecryptable outbox item waits before it is looked at again.
pub(crate) const OUTBOX_PARK_SECS: i64 = 3600;

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl Store {
    /// Connects, migrates, and opens the blob store.
    ///
    /// # Errors
    /// [`StoreError`] naming the part that failed.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let secret = Secret::load_or_create(&config.secret_file).map_err(|e| StoreError::Secret(e.to_string()))?;
        let url = database_url(&config.database_url)?;
        let is_sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            .max_connections(if is_sqlite { 4 } else { 10 })
            // A PostgreSQL server that is down fails each store call after 5 s instead of
            // sqlx's 30 s, so a door that asks the store before it answers (the web upload
            // writes its trace first) is not held half a minute: the spool is durable and the
            // pipeline retries the store.
            .acquire_timeout(std::time::Duration::from_secs(if is_sqlite { 30 } else { 5 }))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if is_sqlite {
                        conn.execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        if is_sqlite {
            pool.execute("PRAGMA journal_mode = WAL").await?;
        }
        schema::migrate(&pool, is_sqlite).await?;
        let blobs = Blobs::open(&BlobUrl::parse(&config.blob_url).map_err(StoreError::Blob)?)?;
        Ok(Self {
            pool,
            is_sqlite,
            clock: Clock::System,
            blobs,
            code_key: secret.derive("printgate release code v1"),
            outbox_key: secret.derive("printgate outbox v1"),
            command_key: secret.derive("printgate reply command v1"),
            code_digits: config.code_digits,
        })
    }

    pub fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    /// Replaces the clock (tests of expiry).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The store's current time (Unix seconds).
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    fn code_hash(&self, code: &ReleaseCode) -> String {
        hex::encode(crypto::hmac_sha256(self.code_key.expose(), code.digits().as_bytes()))
    }

    /// The live jobs behind a release code, for a station of `site`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown, expired or other-site code.
    pub async fn release(&self, code: &ReleaseCode, site: &str) -> Result<Vec<JobInfo>, StoreError> {
        let jobs = self.jobs_for_code(&self.pool, code, site).await?;
        if jobs.is_empty() { Err(StoreError::NotFound) } else { Ok(jobs) }
    }

    /// The live jobs behind a release code (none for an unknown, expired or other-site code),
    /// on `db`: the pool, or a transaction that holds a brute-force slot (throttle.rs).
    pub(crate) async fn jobs_for_code<'e, E>(&self, db: E, code: &ReleaseCode, site: &str) -> Result<Vec<JobInfo>, StoreError>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let rows = sqlx::query(
            "SELECT j.id, j.filename, j.pages, j.color, j.copies, j.bytes, j.sha256, j.duplex, j.page_range, j.color_pages FROM jobs j \
             JOIN messages m ON m.id = j.message_id \
             WHERE m.code_hash = $1 AND m.site = $2 AND m.expires_at > $3 AND m.held = 0 ORDER BY j.seq",
        )
        .bind(self.code_hash(code))
        .bind(site)
        .bind(self.now())
        .fetch_all(db)
        .await?;
        rows.iter().map(job_info).collect()
    }

    /// One live job of `site`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such live job for this site.
    pub async fn job(&self, id: &str, site: &str) -> Result<(JobInfo, String), StoreError> {
        let row = sqlx::query(
            "SELECT id, filename, pages, color, copies, bytes, sha256, duplex, page_range, color_pages, blob_key FROM jobs \
             WHERE id = $1 AND site = $2 AND expires_at > $3",
        )
        .bind(id)
        .bind(site)
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok((job_info(&row)?, row.try_get::<String, _>(10)?))
    }

    /// Removes every expired job (row, then blob) and message (its code is remembered as
    /// expired, and spent codes older than [`SPENT_CODE_KEEP_SECS`] are forgotten: spent.rs).
    /// Returns the number of jobs this
    /// call purged. Safe on many nodes at once: each batch of rows is claimed by a single
    /// `DELETE … RETURNING` (on PostgreSQL over `FOR UPDATE SKIP LOCKED`), so every job is
    /// purged by exactly one node. A blob whose delete fails after its row is gone is an
    /// orphan; [`Self::collect_orphans`] removes it later.
    ///
    /// # Errors
    /// [`StoreError`] on the first failure; the rest is retried on the next run.
    pub async fn purge_expired(&self, at: i64) -> Result<usize, StoreError> {
        let claim = if self.is_sqlite {
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE expires_at <= $1 LIMIT $2) RETURNING id, blob_key"
        } else {
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id, blob_key"
        };
        let mut purged = 0;
        loop {
            let rows = sqlx::query(claim).bind(at).bind(PURGE_BATCH).fetch_all(&self.pool).await?;
            for row in &rows {
                let key: String = row.try_get(1)?;
                if let Err(e) = self.blobs.delete(&key).await {
                    tracing::warn!(error = %e, "cannot delete an expired job's blob; the orphan collector will retry");
                }
            }
            purged += rows.len();
            if (rows.len() as i64) < PURGE_BATCH {
                break;
            }
        }
        self.purge_expired_messages(at, PURGE_BATCH).await?;
        // Delivered replies keep only addresses and times; drop them after a week. Replies the
        // relay never took are given up after the same week (their jobs are gone by then).
        let gave_up = sqlx::query("DELETE FROM outbox WHERE created_at <= $1 AND sent_at IS NULL")
            .bind(at - OUTBOX_KEEP_SECS)
            .execute(&self.pool)
            .await?;
        if gave_up.rows_affected() > 0 {
            tracing::warn!(replies = gave_up.rows_affected(), "undeliverable replies given up after a week");
        }
        sqlx::query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at <= $1")
            .bind(at - OUTBOX_KEEP_SECS)
            .execute(&self.pool)
            .await?;
        Ok(purged)
    }

    /// Deletes job blobs that no job row names and that are older than [`ORPHAN_GRACE_SECS`]
    /// (left by a crash between blob and row, or a failed delete). Returns how many.
    ///
    /// # Errors
    /// [`StoreError`] when listing or the database fails.
    pub async fn collect_orphans(&self, at: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for key in self.blobs.list_older_than("jobs/", at - ORPHAN_GRACE_SECS).await? {
            let row = sqlx::query("SELECT COUNT(*) FROM jobs WHERE blob_key = $1").bind(&key).fetch_one(&self.pool).await?;
            if row.try_get::<i64, _>(0)? == 0 {
                self.blobs.delete(&key).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn job_info(row: &sqlx::any::AnyRow) -> Result<JobInfo, StoreError> {
    Ok(JobInfo {
        id: row.try_get(0)?,
        filename: row.try_get(1)?,
        pages: row.try_get(2)?,
        color: row.try_get::<i64, _>(3)? != 0,
        copies: row.try_get(4)?,
        bytes: row.try_get(5)?,
        sha256: row.try_get(6)?,
        duplex: row.try_get::<i64, _>(7)? != 0,
        page_range: row.try_get(8)?,
        color_pages: row.try_get(9)?,
    })
}

pub fn blob_key(job_id: &str) -> String {
    format!("jobs/{job_id}.pgsj")
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

/// SQLite URLs get `mode=rwc` (create the file) and their directory created.
fn database_url(url: &str) -> Result<String, StoreError> {
    let Some(path) = url.strip_prefix("sqlite://") else { return Ok(url.to_owned()) };
    let file = path.split('?').next().unwrap_or(path);
    if let Some(dir) = Path::new(file).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Blob(format!("{}: {e}", dir.display())))?;
    }
    Ok(if path.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") })
}
