//! Daily page budgets of the sender policy: a sender's pages and colour pages per day on a queue
//! (`daily_pages`, `daily_color_pages`, `guest_daily_pages` for unauthenticated senders) and the
//! whole queue's (`queue_daily_pages`).
//!
//! Owns `page_usage` and `page_charges`. [`admit`] is the decision, a pure function over what
//! was used today and what a message's documents ask for, in order; [`Store::charge_pages`]
//! reads the counts, decides and counts in one transaction (rows locked on PostgreSQL, the
//! database locked on SQLite), so concurrent mails on any number of nodes never print more than
//! a cap. The decision is stored with the message id: processing a message again after a crash
//! returns the same decision and counts nothing twice. The caller computes the day (the local
//! date in the queue's time zone) and says what the documents ask for.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Store, StoreError};

/// Which cap refused a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cap {
    /// `daily_pages`: the sender's pages today.
    SenderPages,
    /// `guest_daily_pages`: an unauthenticated sender's pages today.
    GuestPages,
    /// `daily_color_pages`: the sender's colour pages today.
    ColorPages,
    /// `queue_daily_pages`: the whole queue's pages today.
    QueuePages,
}

/// The caps that apply to one message (`None`: no such cap).
#[derive(Debug, Clone, Default)]
pub struct Budget {
    pub queue: String,
    /// The sender's address, lower case.
    pub sender: String,
    /// The local day, `2026-12-05`.
    pub day: String,
    pub sender_pages: Option<i64>,
    /// Set only for an unauthenticated sender.
    pub guest_pages: Option<i64>,
    pub color_pages: Option<i64>,
    pub queue_pages: Option<i64>,
}

impl Budget {
    fn any(&self) -> bool {
        self.sender_pages.is_some() || self.guest_pages.is_some() || self.color_pages.is_some() || self.queue_pages.is_some()
    }
}

/// What one document would print: pages and colour pages, copies included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask {
    pub pages: i64,
    pub color_pages: i64,
}

/// Today's counts: the sender's pages and colour pages, and the queue's pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub sender_pages: i64,
    pub sender_color_pages: i64,
    pub queue_pages: i64,
}

/// A document's answer from the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Charge {
    Admitted,
    /// It would go over `cap`, which is `limit` pages a day, of which `left` were left.
    Over {
        cap: Cap,
        limit: i64,
        left: i64,
    },
}

/// The budget's decision for a message's documents, in order: each is admitted when every cap
/// still has room for all its pages, and then counted; a document that does not fit is refused
/// without being counted, and later (smaller) ones may still fit. Returns the charges and the
/// counts after them.
pub fn admit(budget: &Budget, mut used: Usage, asks: &[Ask]) -> (Vec<Charge>, Usage) {
    let charges = asks
        .iter()
        .map(|ask| {
            let checks = [
                (Cap::GuestPages, budget.guest_pages, used.sender_pages, ask.pages),
                (Cap::SenderPages, budget.sender_pages, used.sender_pages, ask.pages),
                (Cap::ColorPages, budget.color_pages, used.sender_color_pages, ask.color_pages),
                (Cap::QueuePages, budget.queue_pages, used.queue_pages, ask.pages),
            ];
            let over = checks.into_iter().find_map(|(cap, limit, so_far, wanted)| {
                let limit = limit?;
                (wanted > 0 && so_far + wanted > limit).then(|| Charge::Over { cap, limit, left: (limit - so_far).max(0) })
            });
            if let Some(over) = over {
                return over;
            }
            used.sender_pages += ask.pages;
            used.sender_color_pages += ask.color_pages;
            used.queue_pages += ask.pages;
            Charge::Admitted
        })
        .collect();
    (charges, used)
}

fn sender_scope(queue: &str, sender: &str) -> String {
    format!("sender:{queue}:{}", sender.to_ascii_lowercase())
}

fn queue_scope(queue: &str) -> String {
    format!("queue:{queue}")
}

impl Store {
    /// Checks and counts a message's documents against its budget (see the module docs); every
    /// document is admitted when no cap is set.
    ///
    /// # Errors
    /// [`StoreError`]; nothing is counted then.
    pub async fn charge_pages(&self, message_id: &str, budget: &Budget, asks: &[Ask]) -> Result<Vec<Charge>, StoreError> {
        if !budget.any() {
            return Ok(vec![Charge::Admitted; asks.len()]);
        }
        let mut tx = self.pool.begin().await?;
        // The first statement writes, so SQLite takes its write lock before anything is read.
        let claimed = sqlx::query(
            "INSERT INTO page_charges (message_id, decision, created_at) VALUES ($1, '', $2) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message_id)
        .bind(self.now())
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            let row = sqlx::query("SELECT decision FROM page_charges WHERE message_id = $1").bind(message_id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            let decision: String = row.try_get(0)?;
            return serde_json::from_str(&decision).map_err(|e| StoreError::Corrupt(format!("stored page charge of {message_id}: {e}")));
        }
        let (sender, queue) = (sender_scope(&budget.queue, &budget.sender), queue_scope(&budget.queue));
        let lock = if self.is_sqlite { "" } else { " FOR UPDATE" };
        let mut counts = [(0i64, 0i64); 2];
        for (i, scope) in [&sender, &queue].into_iter().enumerate() {
            sqlx::query(
                "INSERT INTO page_usage (scope, day, pages, color_pages) VALUES ($1, $2, 0, 0) ON CONFLICT (scope, day) DO NOTHING",
            )
            .bind(scope)
            .bind(&budget.day)
            .execute(&mut *tx)
            .await?;
            let sql = format!("SELECT pages, color_pages FROM page_usage WHERE scope = $1 AND day = $2{lock}");
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(scope).bind(&budget.day).fetch_one(&mut *tx).await?;
            counts[i] = (row.try_get(0)?, row.try_get(1)?);
        }
        let used = Usage { sender_pages: counts[0].0, sender_color_pages: counts[0].1, queue_pages: counts[1].0 };
        let (charges, after) = admit(budget, used, asks);
        let added_color = after.sender_color_pages - used.sender_color_pages;
        for (scope, pages, color) in
            [(&sender, after.sender_pages, after.sender_color_pages), (&queue, after.queue_pages, counts[1].1 + added_color)]
        {
            sqlx::query("UPDATE page_usage SET pages = $1, color_pages = $2 WHERE scope = $3 AND day = $4")
                .bind(pages)
                .bind(color)
                .bind(scope)
                .bind(&budget.day)
                .execute(&mut *tx)
                .await?;
        }
        let decision = serde_json::to_string(&charges).unwrap_or_else(|_| "[]".into());
        sqlx::query("UPDATE page_charges SET decision = $1 WHERE message_id = $2")
            .bind(decision)
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(charges)
    }

    /// A sender's pages and colour pages on `queue` on `day` (the console shows them).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn sender_usage(&self, queue: &str, sender: &str, day: &str) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query("SELECT pages, color_pages FROM page_usage WHERE scope = $1 AND day = $2")
            .bind(sender_scope(queue, sender))
            .bind(day)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => (r.try_get(0)?, r.try_get(1)?),
            None => (0, 0),
        })
    }

    /// Sets a sender's count for `day` back to zero (the console's reset); true if there was one.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn reset_sender_usage(&self, queue: &str, sender: &str, day: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM page_usage WHERE scope = $1 AND day = $2")
            .bind(sender_scope(queue, sender))
            .bind(day)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Drops counts of days before `day` and charges older than `before` (the janitor).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn purge_page_usage(&self, day: &str, before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM page_usage WHERE day < $1").bind(day).execute(&self.pool).await?;
        sqlx::query("DELETE FROM page_charges WHERE created_at < $1").bind(before).execute(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
