//! The reply outbox: encrypted under a key derived from the store secret (replies carry codes).

use sqlx::Row;

use super::{OUTBOX_PARK_SECS, OutboxItem, Store, StoreError, now};
use crate::crypto;

/// A claimed reply is this node's for this long; if the node dies mid-delivery, another node
/// (or this one after a restart) takes it over when the lease runs out. It must outlast one send
/// (`notify::outbox` bounds a send to 45 s) and is short so that a crash delays the replies it
/// held by a minute and a half, not ten minutes (a SIGKILL test caught a reply waiting that long).
pub const OUTBOX_LEASE_SECS: i64 = 90;

/// A mail to queue in the outbox (a reply, a command's confirmation, a reminder).
#[derive(Debug, Clone)]
pub struct NewReply<'a> {
    /// Unique per mail and derived from what caused it (`SPOOLID-reply`, `MESSAGEID-reminder`),
    /// so doing the same work twice (a replay after a crash) queues it once.
    pub id: &'a str,
    /// The stored message it is about.
    pub message_id: &'a str,
    pub mail_from: &'a str,
    pub rcpt: &'a str,
    /// The formatted mail; sealed under the outbox key before it is written.
    pub body: &'a [u8],
}

/// The outbox's backlog, as the dashboard shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxBacklog {
    /// Not sent and not tried yet.
    pub waiting: i64,
    /// Not sent, tried and failed at least once; tried again at its time.
    pub failing: i64,
    /// The failed attempts of those, in all, and the most of one reply.
    pub failed_attempts: i64,
    pub most_attempts: i64,
    /// Refused for good by the relay (kept, like every outbox row, for a week).
    pub refused: i64,
}

impl Store {
    /// Counts the replies not delivered: waiting, failing (with their attempts), refused for
    /// good. One query of scalar subqueries (the same SQL on SQLite and PostgreSQL; the sum is
    /// cast because PostgreSQL sums a BIGINT as NUMERIC).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn outbox_backlog(&self) -> Result<OutboxBacklog, StoreError> {
        const UNSENT: &str = "FROM outbox WHERE sent_at IS NULL AND refused_at IS NULL";
        let sql = format!(
            "SELECT (SELECT COUNT(*) {UNSENT} AND attempts = 0), (SELECT COUNT(*) {UNSENT} AND attempts > 0), \
             (SELECT CAST(COALESCE(SUM(attempts), 0) AS BIGINT) {UNSENT} AND attempts > 0), \
             (SELECT CAST(COALESCE(MAX(attempts), 0) AS BIGINT) {UNSENT}), \
             (SELECT COUNT(*) FROM outbox WHERE refused_at IS NOT NULL)"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&self.pool).await?;
        Ok(OutboxBacklog {
            waiting: row.try_get(0)?,
            failing: row.try_get(1)?,
            failed_attempts: row.try_get(2)?,
            most_attempts: row.try_get(3)?,
            refused: row.try_get(4)?,
        })
    }

    /// Writes `reply` to the outbox through `executor` (the pool or a transaction), due at
    /// `at`. Returns false when a reply with its id was queued before (nothing written).
    ///
    /// # Errors
    /// [`StoreError`].
    pub(crate) async fn insert_reply<'e, E>(&self, executor: E, reply: &NewReply<'_>, at: i64) -> Result<bool, StoreError>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let body =
            crypto::aead_seal(self.outbox_key.expose(), reply.id.as_bytes(), reply.body).map_err(|e| StoreError::Secret(e.to_string()))?;
        let done = sqlx::query(
            "INSERT INTO outbox (id, message_id, mail_from, rcpt, body, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(reply.id)
        .bind(reply.message_id)
        .bind(reply.mail_from)
        .bind(reply.rcpt)
        .bind(body)
        .bind(at)
        .execute(executor)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Queues `reply` for delivery now. Returns false when it was queued before.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn queue_reply(&self, reply: &NewReply<'_>) -> Result<bool, StoreError> {
        self.insert_reply(&self.pool, reply, now()).await
    }

    /// Whether a mail with this outbox id was queued (and not yet dropped after its week).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn reply_queued(&self, id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM outbox WHERE id = $1").bind(id).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// Claims replies due for (re)delivery: one `UPDATE … RETURNING` moves their next attempt
    /// a lease ahead (on PostgreSQL over `FOR UPDATE SKIP LOCKED`), so with several nodes each
    /// reply is delivered by one of them.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn outbox_due(&self, at: i64, limit: i64) -> Result<Vec<OutboxItem>, StoreError> {
        let claim = if self.is_sqlite {
            "UPDATE outbox SET next_attempt_at = $1 WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL \
             AND refused_at IS NULL AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3) \
             RETURNING id, mail_from, rcpt, body, attempts"
        } else {
            "UPDATE outbox SET next_attempt_at = $1 WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL \
             AND refused_at IS NULL AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, mail_from, rcpt, body, attempts"
        };
        let rows = sqlx::query(claim).bind(at + OUTBOX_LEASE_SECS).bind(at).bind(limit).fetch_all(&self.pool).await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get(0)?;
            let sealed: Vec<u8> = r.try_get(3)?;
            let Ok(body) = crypto::aead_open(self.outbox_key.expose(), id.as_bytes(), &sealed) else {
                // Written under another store secret (a node with a different secret.key):
                // park it instead of stalling every other reply behind it.
                tracing::error!(reply = %id, "outbox item does not decrypt with this node's store secret");
                self.outbox_failed(&id, at + OUTBOX_PARK_SECS, "does not decrypt with this store secret").await?;
                continue;
            };
            items.push(OutboxItem { id, mail_from: r.try_get(1)?, rcpt: r.try_get(2)?, body, attempts: r.try_get(4)? });
        }
        Ok(items)
    }

    /// Marks a reply delivered and drops its body (it holds the release code).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn outbox_sent(&self, id: &str) -> Result<(), StoreError> {
        self.outbox_sent_all(&[id.to_owned()]).await
    }

    /// Marks several replies delivered (and drops their bodies) in one statement.
    ///
    /// # Errors
    /// [`StoreError::Db`]; none is marked then.
    pub async fn outbox_sent_all(&self, ids: &[String]) -> Result<(), StoreError> {
        let list = (0..ids.len()).map(|i| format!("${}", i + 3)).collect::<Vec<_>>().join(", ");
        let sql = format!("UPDATE outbox SET sent_at = $1, body = $2, last_error = NULL WHERE id IN ({list})");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now()).bind(Vec::<u8>::new());
        for id in ids {
            query = query.bind(id);
        }
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// Records that the relay refused a reply for good (`answer`): never tried again, its body
    /// (which holds the release code) erased; the row stays for the message trace.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn outbox_refused(&self, id: &str, answer: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, refused_at = $1, last_error = $2, body = $3 WHERE id = $4 AND sent_at IS NULL",
        )
        .bind(now())
        .bind(answer)
        .bind(Vec::<u8>::new())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a failed delivery attempt and when to try again.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn outbox_failed(&self, id: &str, next_attempt_at: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3")
            .bind(next_attempt_at)
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
