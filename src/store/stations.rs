//! What release stations do to the store beyond redeeming a code: poll a site's pending jobs,
//! report a failed print, and the audit events of station lock-outs.

use sqlx::Row;

use super::{JobInfo, Store, StoreError, job_info};

/// The longest failure reason kept (stations send printer messages; they are not trusted).
const MAX_REASON_CHARS: usize = 300;

/// One audit event, as the admin console lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: i64,
    pub kind: String,
    pub station: Option<String>,
    pub peer: Option<String>,
    pub detail: String,
}

impl Store {
    /// The live jobs of `site`, oldest first, at most `limit` (poll mode).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn site_jobs(&self, site: &str, limit: i64) -> Result<Vec<JobInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, filename, pages, color, copies, bytes, sha256, duplex, page_range, color_pages FROM jobs \
             WHERE site = $1 AND expires_at > $2 AND message_id NOT IN (SELECT id FROM messages WHERE held = 1) \
             ORDER BY created_at, message_id, seq LIMIT $3",
        )
        .bind(site)
        .bind(self.now())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_info).collect()
    }

    /// Records that a station could not print a job; the job stays. Returns the number of
    /// failures so far.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the job is not a live job of `site`.
    pub async fn record_print_failure(&self, id: &str, site: &str, reason: &str) -> Result<i64, StoreError> {
        let reason: String = reason.chars().filter(|c| !c.is_control()).take(MAX_REASON_CHARS).collect();
        let row = sqlx::query(
            "UPDATE jobs SET print_failures = print_failures + 1, last_failure = $1 \
             WHERE id = $2 AND site = $3 AND expires_at > $4 RETURNING print_failures",
        )
        .bind(reason)
        .bind(id)
        .bind(site)
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(row.try_get(0)?)
    }

    /// `(print_failures, last_failure)` of a live job.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is no such live job.
    pub async fn print_failures(&self, id: &str) -> Result<(i64, Option<String>), StoreError> {
        let row = sqlx::query("SELECT print_failures, last_failure FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// `(live jobs, unsent replies)` for the metrics.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn pending_counts(&self) -> Result<(i64, i64), StoreError> {
        let row =
            sqlx::query("SELECT (SELECT COUNT(*) FROM jobs WHERE expires_at > $1), (SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL)")
                .bind(self.now())
                .fetch_one(&self.pool)
                .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// Appends an audit event.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn audit(&self, kind: &str, station: Option<&str>, peer: Option<&str>, detail: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit_events (id, at, kind, station, peer, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(uuid::Uuid::now_v7().simple().to_string())
            .bind(self.now())
            .bind(kind)
            .bind(station)
            .bind(peer)
            .bind(detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes audit events older than `before` (unix seconds). Returns how many.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn purge_audit_events(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM audit_events WHERE at < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    /// Audit events since `since` (Unix seconds), oldest first.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn audit_events(&self, since: i64) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query("SELECT at, kind, station, peer, detail FROM audit_events WHERE at >= $1 ORDER BY at, id")
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEvent {
                    at: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    station: r.try_get(2)?,
                    peer: r.try_get(3)?,
                    detail: r.try_get(4)?,
                })
            })
            .collect()
    }
}
