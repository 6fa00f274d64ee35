//! Expiry reminders: which messages are due one, claimed so that each is reminded once even
//! when several nodes run the janitor.
//!
//! A message is due when its queue sends reminders, its reply went to a patron
//! (`reply_rcpt`), it still has jobs, and `expires_at - before` has come (but lay after the
//! message arrived: a message that came in with less time left than `before` gets none).
//! The claim (`reminded_at`) and the reminder's outbox row commit in one transaction.

use sqlx::Row;

use super::{NewReply, Store, StoreError};

/// A message whose reminder is due.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub message_id: String,
    /// The patron the reply went to.
    pub rcpt: String,
    pub expires_at: i64,
    /// File names of its jobs, in order.
    pub documents: Vec<String>,
}

/// Reminders claimed per transaction: small, so nodes share a backlog and a transaction
/// holding rendered mail stays short.
const REMINDER_BATCH: i64 = 50;

/// Claims up to `$4` due reminders of queue `$2` (sent `$3` seconds before expiry) at `$1`.
const CLAIM_SQLITE: &str = "UPDATE messages SET reminded_at = $1 WHERE id IN (SELECT id FROM messages WHERE queue = $2 \
     AND reminded_at IS NULL AND held = 0 AND reply_rcpt IS NOT NULL AND expires_at > $1 AND expires_at - $3 <= $1 \
     AND expires_at - $3 > created_at AND EXISTS (SELECT 1 FROM jobs WHERE jobs.message_id = messages.id) LIMIT $4) \
     RETURNING id, reply_rcpt, expires_at";
/// The same, skipping rows another node's claim holds.
const CLAIM_POSTGRES: &str = "UPDATE messages SET reminded_at = $1 WHERE id IN (SELECT id FROM messages WHERE queue = $2 \
     AND reminded_at IS NULL AND held = 0 AND reply_rcpt IS NOT NULL AND expires_at > $1 AND expires_at - $3 <= $1 \
     AND expires_at - $3 > created_at AND EXISTS (SELECT 1 FROM jobs WHERE jobs.message_id = messages.id) LIMIT $4 \
     FOR UPDATE SKIP LOCKED) RETURNING id, reply_rcpt, expires_at";

impl Store {
    /// Queues the due reminders of `queue` (sent `before_secs` ahead of expiry) from
    /// `mail_from`, each rendered by `render`. Returns how many were queued. On PostgreSQL the
    /// claim skips rows another node holds (`FOR UPDATE SKIP LOCKED`); on SQLite the single
    /// writer serialises claims. A reminder `render` declines is claimed all the same (it
    /// would fail again).
    ///
    /// # Errors
    /// [`StoreError`]; nothing of the failed batch is claimed then.
    pub async fn queue_reminders(
        &self,
        queue: &str,
        before_secs: i64,
        mail_from: &str,
        render: impl Fn(&DueReminder) -> Option<Vec<u8>>,
    ) -> Result<usize, StoreError> {
        let claim = if self.is_sqlite { CLAIM_SQLITE } else { CLAIM_POSTGRES };
        let mut queued = 0;
        loop {
            let now = self.now();
            let mut tx = self.pool.begin().await?;
            let rows = sqlx::query(claim).bind(now).bind(queue).bind(before_secs).bind(REMINDER_BATCH).fetch_all(&mut *tx).await?;
            for row in &rows {
                let message_id: String = row.try_get(0)?;
                let names = sqlx::query("SELECT filename FROM jobs WHERE message_id = $1 ORDER BY seq")
                    .bind(&message_id)
                    .fetch_all(&mut *tx)
                    .await?;
                let due = DueReminder {
                    documents: names.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?,
                    rcpt: row.try_get(1)?,
                    expires_at: row.try_get(2)?,
                    message_id,
                };
                let Some(body) = render(&due) else { continue };
                let id = format!("{}-reminder", due.message_id);
                let reply = NewReply { id: &id, message_id: &due.message_id, mail_from, rcpt: &due.rcpt, body: &body };
                if self.insert_reply(&mut *tx, &reply, now).await? {
                    queued += 1;
                }
            }
            tx.commit().await?;
            if (rows.len() as i64) < REMINDER_BATCH {
                return Ok(queued);
            }
        }
    }
}
