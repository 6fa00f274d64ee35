//! The reply outbox: encrypted under a key derived from the store secret (replies carry codes).

use sqlx::Row;

use super::{OUTBOX_PARK_SECS, OutboxItem, Store, StoreError, now};
use crate::crypto;

/// A claimed reply is this node's for this long; if the node dies mid-delivery, another node
/// (or this one after a restart) takes it over when the lease runs out.
pub const OUTBOX_LEASE_SECS: i64 = 600;

impl Store {
    /// Claims replies due for (re)delivery: one `UPDATE … RETURNING` moves their next attempt
    /// a lease ahead (on PostgreSQL over `FOR UPDATE SKIP LOCKED`), so with several nodes each
    /// reply is delivered by one of them.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn outbox_due(&self, at: i64, limit: i64) -> Result<Vec<OutboxItem>, StoreError> {
        let claim = if self.is_sqlite {
            "UPDATE outbox SET next_attempt_at = $1 WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $2 \
             ORDER BY next_attempt_at LIMIT $3) RETURNING id, mail_from, rcpt, body, attempts"
        } else {
            "UPDATE outbox SET next_attempt_at = $1 WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $2 \
             ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id, mail_from, rcpt, body, attempts"
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
        sqlx::query("UPDATE outbox SET sent_at = $1, body = $2, last_error = NULL WHERE id = $3")
            .bind(now())
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
