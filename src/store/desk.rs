//! What the staff desk reads about a patron's messages beyond their traces: which messages are
//! still held, with their live jobs, and how the code of a message that is gone ended (printed
//! or expired, from `spent_codes`). Read-only; the desk's actions use the reply commands' store
//! side ([`super::commands`]) and [`Store::destroy_job`], so the desk and the patron's own
//! CANCEL / EXTEND / RESEND follow the same rules.

use std::collections::HashMap;

use sqlx::Row;

use super::spent::SpentReason;
use super::{Store, StoreError};

/// One live job of a held message.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeskJob {
    pub id: String,
    pub filename: String,
    pub pages: i64,
    pub color_pages: i64,
    pub copies: i64,
    pub expires_at: i64,
    /// Failed print attempts reported by release stations, and the last one's words.
    pub print_failures: i64,
    pub last_failure: String,
}

/// A message still held by the store.
#[derive(Debug, Clone)]
pub struct HeldMessage {
    pub id: String,
    pub queue: String,
    pub site: String,
    pub expires_at: i64,
    /// EXTEND (by the patron or the desk) was used; it works once.
    pub extended: bool,
    /// Where its reply went: the only address a new code may go to.
    pub reply_rcpt: Option<String>,
    /// Waiting for its sender to confirm the address (`verify_new_senders`).
    pub held: bool,
    /// Its live jobs, in the mail's order.
    pub jobs: Vec<DeskJob>,
}

/// `$1, $2, …, $n` for an `IN (…)` list.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

impl Store {
    /// The held messages among `ids` (spool ids), each with its live jobs.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn held_messages(&self, ids: &[String]) -> Result<HashMap<String, HeldMessage>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let list = placeholders(ids.len());
        let now = self.now();
        let sql = format!("SELECT id, queue, site, expires_at, extended, reply_rcpt, held FROM messages WHERE id IN ({list})");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        let mut held = HashMap::new();
        for r in query.fetch_all(&self.pool).await? {
            let id: String = r.try_get(0)?;
            let message = HeldMessage {
                id: id.clone(),
                queue: r.try_get(1)?,
                site: r.try_get(2)?,
                expires_at: r.try_get(3)?,
                extended: r.try_get::<i64, _>(4)? != 0,
                reply_rcpt: r.try_get(5)?,
                held: r.try_get::<i64, _>(6)? != 0,
                jobs: Vec::new(),
            };
            held.insert(id, message);
        }
        let sql = format!(
            "SELECT message_id, id, filename, pages, color_pages, copies, expires_at, print_failures, COALESCE(last_failure, '') \
             FROM jobs WHERE message_id IN ({list}) AND expires_at > ${} ORDER BY message_id, seq",
            ids.len() + 1
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        for r in query.bind(now).fetch_all(&self.pool).await? {
            let message_id: String = r.try_get(0)?;
            let job = DeskJob {
                id: r.try_get(1)?,
                filename: r.try_get(2)?,
                pages: r.try_get(3)?,
                color_pages: r.try_get(4)?,
                copies: r.try_get(5)?,
                expires_at: r.try_get(6)?,
                print_failures: r.try_get(7)?,
                last_failure: r.try_get(8)?,
            };
            if let Some(m) = held.get_mut(&message_id) {
                m.jobs.push(job);
            }
        }
        Ok(held)
    }

    /// How the release code of each traced message among `ids` ended, where `spent_codes`
    /// still remembers it (30 days): printed, or expired.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn spent_by_trace(&self, ids: &[String]) -> Result<HashMap<String, SpentReason>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT t.id, s.reason FROM traces t JOIN spent_codes s ON s.code_hash = t.code_hash WHERE t.id IN ({})",
            placeholders(ids.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(id);
        }
        let mut spent = HashMap::new();
        for r in query.fetch_all(&self.pool).await? {
            let reason: String = r.try_get(1)?;
            let reason = if reason == SpentReason::Printed.as_str() { SpentReason::Printed } else { SpentReason::Expired };
            spent.insert(r.try_get(0)?, reason);
        }
        Ok(spent)
    }

    /// One held message, if it is still held.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn held_message(&self, id: &str) -> Result<Option<HeldMessage>, StoreError> {
        Ok(self.held_messages(&[id.to_owned()]).await?.remove(id))
    }

    /// The message a live job belongs to.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the job is not live.
    pub async fn job_message(&self, job_id: &str) -> Result<String, StoreError> {
        let row = sqlx::query("SELECT message_id FROM jobs WHERE id = $1 AND expires_at > $2")
            .bind(job_id)
            .bind(self.now())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get(0)?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_count_from_one() {
        assert_eq!(super::placeholders(1), "$1");
        assert_eq!(super::placeholders(3), "$1, $2, $3");
    }
}
