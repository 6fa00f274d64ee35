//! Spent release codes: codes that released jobs once and no longer do, because their message
//! expired or every one of its jobs was printed. Kept (as the code's HMAC only, never a code) for
//! [`SPENT_CODE_KEEP_SECS`], so that a release station can tell a patron "expired" or "already
//! printed" instead of "wrong code", and so that such a code is not counted as a guess.
//!
//! Owns the `spent_codes` table: writing a row in the transaction that deletes a message
//! ([`Store::destroy_job`]'s last job, [`Store::purge_expired`]), forgetting it when a new
//! message draws the same code, and looking a code up; and the end of a single job: printed
//! ([`Store::destroy_job`]) or cancelled ([`Store::cancel_job`], which remembers nothing: a
//! cancelled code is unknown, as after the patron's CANCEL). Decides nothing about HTTP answers or
//! brute-force counting (throttle.rs and the API do).

use sqlx::Row;

use super::{Store, StoreError};

/// How long a spent code is remembered: 30 days, longer than any retention or extension a
/// patron is likely to come back after. Then it is unknown (and counted) like any wrong code.
pub const SPENT_CODE_KEEP_SECS: i64 = 30 * 24 * 3600;

/// Why a code that was right once releases nothing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpentReason {
    /// Its message's retention ended (before or after the janitor deleted it).
    Expired,
    /// Every job behind it was acknowledged as printed.
    Printed,
}

impl SpentReason {
    /// The stored (and API) name: `expired`, `printed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Printed => "printed",
        }
    }

    /// What a code that names no live job is: `expired_messages` messages of the site still hold
    /// it with their expiry passed (the janitor has not run yet), `spent` is its `spent_codes`
    /// reason, if any. A message still present wins: it is the newest use of the code.
    pub fn decide(expired_messages: i64, spent: Option<&str>) -> Option<Self> {
        if expired_messages > 0 {
            return Some(Self::Expired);
        }
        match spent? {
            "expired" => Some(Self::Expired),
            "printed" => Some(Self::Printed),
            _ => None,
        }
    }
}

/// Remembers a code hash as spent, replacing what an earlier message with the same code left.
const UPSERT: &str = "INSERT INTO spent_codes (code_hash, site, reason, spent_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (code_hash) DO UPDATE SET site = excluded.site, reason = excluded.reason, spent_at = excluded.spent_at";

impl Store {
    /// Why `code_hash` names no live job of `site`, if it was right once (on `db`: the
    /// transaction that holds the brute-force slots).
    pub(crate) async fn spent_reason<'e, E>(&self, db: E, code_hash: &str, site: &str) -> Result<Option<SpentReason>, StoreError>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM messages WHERE code_hash = $1 AND site = $2 AND expires_at <= $3), \
                    (SELECT reason FROM spent_codes WHERE code_hash = $1 AND site = $2)",
        )
        .bind(code_hash)
        .bind(site)
        .bind(self.now())
        .fetch_one(db)
        .await?;
        let spent: Option<String> = row.try_get(1)?;
        Ok(SpentReason::decide(row.try_get(0)?, spent.as_deref()))
    }

    /// Records `code_hash` of `site` as spent for `reason` at `at` (inside the transaction that
    /// deletes its message).
    pub(crate) async fn mark_spent<'e, E>(db: E, code_hash: &str, site: &str, reason: SpentReason, at: i64) -> Result<(), StoreError>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        sqlx::query(UPSERT).bind(code_hash).bind(site).bind(reason.as_str()).bind(at).execute(db).await?;
        Ok(())
    }

    /// Forgets that `code_hash` was spent: a new message drew that code, and its own state
    /// (live, or none of its documents stored) is what the code means now.
    pub(crate) async fn unspend<'e, E>(db: E, code_hash: &str) -> Result<(), StoreError>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        sqlx::query("DELETE FROM spent_codes WHERE code_hash = $1").bind(code_hash).execute(db).await?;
        Ok(())
    }

    /// Destroys a job after the station printed it: blob first, then the row; the message
    /// (and so its code) goes with its last job, and the code is remembered as printed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the job is not a live job of `site`.
    pub async fn destroy_job(&self, id: &str, site: &str) -> Result<(), StoreError> {
        let message_id = self.remove_job(id, site).await?;
        self.delete_printed_message(&message_id).await
    }

    /// Cancels a job (the console's jobs page, the staff desk): as [`Self::destroy_job`], but a
    /// message left without jobs goes without being remembered as printed, as after the
    /// patron's CANCEL: a station then does not tell the patron "already printed".
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if the job is not a live job of `site`.
    pub async fn cancel_job(&self, id: &str, site: &str) -> Result<(), StoreError> {
        let message_id = self.remove_job(id, site).await?;
        sqlx::query("DELETE FROM messages WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM jobs WHERE message_id = $1)")
            .bind(&message_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes a job's blob, then its row; returns its message.
    async fn remove_job(&self, id: &str, site: &str) -> Result<String, StoreError> {
        let (_, blob_key) = self.job(id, site).await?;
        self.blobs.delete(&blob_key).await?;
        let row = sqlx::query("DELETE FROM jobs WHERE id = $1 AND site = $2 RETURNING message_id")
            .bind(id)
            .bind(site)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get(0)?)
    }

    /// Deletes a message whose last job was just printed and remembers its code as printed, in
    /// one transaction. Nothing happens while the message still has jobs (another job of it is
    /// pending, or a concurrent ack of its last job deletes it).
    pub(crate) async fn delete_printed_message(&self, message_id: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let gone = sqlx::query(
            "DELETE FROM messages WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM jobs WHERE message_id = $1) RETURNING code_hash, site",
        )
        .bind(message_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = gone {
            let (hash, site): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            Self::mark_spent(&mut *tx, &hash, &site, SpentReason::Printed, self.now()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the expired messages without jobs left, a batch per transaction, remembering each
    /// code as expired in the same transaction; then forgets codes spent more than
    /// [`SPENT_CODE_KEEP_SECS`] before `at`. On PostgreSQL a batch is claimed with
    /// `FOR UPDATE SKIP LOCKED`, so janitors on several nodes share the work.
    pub(crate) async fn purge_expired_messages(&self, at: i64, batch: i64) -> Result<(), StoreError> {
        let claim = if self.is_sqlite {
            "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE expires_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE message_id = messages.id) LIMIT $2) RETURNING code_hash, site, held"
        } else {
            "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE expires_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE message_id = messages.id) LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING code_hash, site, held"
        };
        loop {
            let mut tx = self.pool.begin().await?;
            let rows = sqlx::query(claim).bind(at).bind(batch).fetch_all(&mut *tx).await?;
            for row in &rows {
                let (hash, site): (String, String) = (row.try_get(0)?, row.try_get(1)?);
                Self::mark_spent(&mut *tx, &hash, &site, SpentReason::Expired, at).await?;
                if row.try_get::<i64, _>(2)? != 0 {
                    // Held for a verification nobody answered: its jobs never printed.
                    crate::metrics::inc("printgate_sender_refusals_total", &[("cause", "unverified_expired")]);
                }
            }
            tx.commit().await?;
            if (rows.len() as i64) < batch {
                break;
            }
        }
        sqlx::query("DELETE FROM spent_codes WHERE spent_at <= $1").bind(at - SPENT_CODE_KEEP_SECS).execute(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::SpentReason::{self, Expired, Printed};

    #[test]
    fn a_present_expired_message_wins_over_an_older_spent_row() {
        let cases: &[(i64, Option<&str>, Option<SpentReason>)] = &[
            (0, None, None),
            (0, Some("printed"), Some(Printed)),
            (0, Some("expired"), Some(Expired)),
            (1, None, Some(Expired)),
            (1, Some("printed"), Some(Expired)),
            (0, Some("cancelled"), None),
        ];
        for (messages, spent, expected) in cases {
            assert_eq!(SpentReason::decide(*messages, *spent), *expected, "{messages} {spent:?}");
        }
    }

    #[test]
    fn names_are_the_stored_and_api_ones() {
        assert_eq!((Expired.as_str(), Printed.as_str()), ("expired", "printed"));
        assert_eq!(SpentReason::decide(0, Some(Printed.as_str())), Some(Printed));
    }
}
