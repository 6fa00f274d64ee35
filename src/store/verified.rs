//! First-time sender verification (`verify_new_senders`): the senders who confirmed an address
//! by answering YES, per queue, and the messages held until they do.
//!
//! Owns `verified_senders` and `messages.held`. A held message's jobs are not released (the
//! release API and poll mode leave them out, as if its code were unknown) and get no reminder;
//! its code was never sent. [`Store::release_held`] lifts the hold; the caller then sends a new
//! code ([`crate::store::Store::resend_code`]). Addresses are stored in lower case.

use sqlx::Row;

use super::{Store, StoreError};

/// How a YES found its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// It was held; now it is not, and its jobs are kept for the retention from now.
    Released,
    /// It is live and was not held (released before: the same YES again, or a normal message).
    NotHeld,
    /// It is gone (expired, cancelled).
    Gone,
}

impl Store {
    /// Whether `address` confirmed itself on `queue` at or after `since`.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn sender_verified(&self, queue: &str, address: &str, since: i64) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM verified_senders WHERE queue = $1 AND address = $2 AND verified_at >= $3")
            .bind(queue)
            .bind(address.trim().to_ascii_lowercase())
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// Records that `address` confirmed itself on `queue` now.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn verify_sender(&self, queue: &str, address: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO verified_senders (queue, address, verified_at) VALUES ($1, $2, $3) \
             ON CONFLICT (queue, address) DO UPDATE SET verified_at = excluded.verified_at",
        )
        .bind(queue)
        .bind(address.trim().to_ascii_lowercase())
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets a verified sender (the console's revoke); true if there was one.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn revoke_sender(&self, queue: &str, address: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM verified_senders WHERE queue = $1 AND address = $2")
            .bind(queue)
            .bind(address.trim().to_ascii_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The verified senders of `queue`, newest first: `(address, verified at)`.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn verified_senders(&self, queue: &str, limit: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT address, verified_at FROM verified_senders WHERE queue = $1 ORDER BY verified_at DESC LIMIT $2")
            .bind(queue)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Lifts the hold of a live message and keeps it and its jobs `retention` seconds from now.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn release_held(&self, message_id: &str, retention: i64) -> Result<Held, StoreError> {
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        let released =
            sqlx::query("UPDATE messages SET held = 0, expires_at = $1 WHERE id = $2 AND held = 1 AND expires_at > $3 RETURNING id")
                .bind(now + retention)
                .bind(message_id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
        if released.is_some() {
            sqlx::query("UPDATE jobs SET expires_at = $1 WHERE message_id = $2")
                .bind(now + retention)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(Held::Released);
        }
        let live = sqlx::query("SELECT COUNT(*) FROM messages WHERE id = $1 AND expires_at > $2")
            .bind(message_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(if live.try_get::<i64, _>(0)? > 0 { Held::NotHeld } else { Held::Gone })
    }
}
