//! What the admin console keeps in the store: accounts, sessions, per-queue settings changed in
//! the console, and the read-only views it shows (trace search, score history, pending jobs,
//! reply delivery attempts). Password hashing and session tokens are made by
//! [`crate::admin`]; this module stores only their hashes.

use sqlx::Row;

use super::trace::{TRACE_COLUMNS, Trace, trace_row};
use super::{Store, StoreError};
use crate::config::QueueOverride;

/// An admin account as stored.
#[derive(Debug, Clone)]
pub struct AdminUser {
    pub name: String,
    pub password_hash: String,
    /// A disabled account cannot log in ([`super::accounts`]).
    pub disabled: bool,
}

/// What the trace search looks for; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct TraceFilter {
    /// Part of the envelope sender or the From header.
    pub sender: String,
    /// Part of the Message-ID header.
    pub message_id: String,
    pub queue: String,
    /// HMAC of a release code (the console hashes what the admin typed).
    pub code_hash: Option<String>,
    /// Received at or after / before (Unix seconds).
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Spam score within `[min, max)`.
    pub score_min: Option<f64>,
    pub score_max: Option<f64>,
    pub limit: i64,
}

/// One pending job as the console lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PendingJob {
    pub id: String,
    pub site: String,
    pub queue: String,
    pub filename: String,
    pub pages: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub print_failures: i64,
    pub last_failure: String,
}

/// One delivery record of a reply.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplyAttempts {
    pub attempts: i64,
    pub last_error: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    /// When the relay refused it for good (`last_error` holds its answer); never retried.
    pub refused_at: Option<i64>,
}

impl Store {
    /// Creates an admin account; false if the name is taken.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn create_admin_user(&self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        self.create_console_account(name, password_hash, super::accounts::Role::Admin).await
    }

    /// Replaces an account's password and ends every session of the account, in one
    /// transaction (the caller lifts the account's lock-out: `clear_attempts`): whoever was logged in with the old password (or a stolen
    /// cookie) is logged out by the change.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown name.
    pub async fn set_admin_password(&self, name: &str, password_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE admin_users SET password_hash = $1 WHERE name = $2")
            .bind(password_hash)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM admin_sessions WHERE user_name = $1").bind(name).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// # Errors
    /// [`StoreError::NotFound`] for an unknown name.
    pub async fn admin_user(&self, name: &str) -> Result<AdminUser, StoreError> {
        let row = sqlx::query("SELECT name, password_hash, disabled FROM admin_users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(AdminUser { name: row.try_get(0)?, password_hash: row.try_get(1)?, disabled: row.try_get::<i64, _>(2)? != 0 })
    }

    /// # Errors
    /// [`StoreError::Db`].
    pub async fn create_admin_session(&self, id_hash: &str, user: &str, csrf: &str, expires_at: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO admin_sessions (id_hash, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id_hash)
            .bind(user)
            .bind(csrf)
            .bind(self.now())
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// `(user, csrf token)` of a live session of an enabled account (with the role:
    /// [`Store::console_session`]).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown or expired session, or one of a disabled account.
    pub async fn admin_session(&self, id_hash: &str) -> Result<(String, String), StoreError> {
        self.console_session(id_hash).await.map(|s| (s.user, s.csrf))
    }

    /// Ends a session (and every expired one).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn delete_admin_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM admin_sessions WHERE id_hash = $1 OR expires_at <= $2")
            .bind(id_hash)
            .bind(self.now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every session of `user` (lock-out, password change).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn end_admin_sessions(&self, user: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM admin_sessions WHERE user_name = $1").bind(user).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    /// Every queue setting changed in the console.
    ///
    /// # Errors
    /// [`StoreError::Db`] or [`StoreError::Corrupt`].
    pub async fn queue_overrides(&self) -> Result<Vec<QueueOverride>, StoreError> {
        let rows = sqlx::query(
            "SELECT queue, spam_tag_score, spam_reject_score, max_pages, retention_secs, color, allowed_types, updated_at, updated_by, \
             address, site, sender_policy FROM queue_settings ORDER BY queue",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QueueOverride {
                    queue: r.try_get(0)?,
                    spam_tag_score: r.try_get(1)?,
                    spam_reject_score: r.try_get(2)?,
                    max_pages: r.try_get::<Option<i64>, _>(3)?.map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
                    retention: r.try_get::<Option<i64>, _>(4)?.map(|s| std::time::Duration::from_secs(s.max(0) as u64)),
                    color: r.try_get::<Option<i64>, _>(5)?.map(|v| v != 0),
                    allowed_types: r
                        .try_get::<Option<String>, _>(6)?
                        .map(|s| s.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect()),
                    updated_at: r.try_get(7)?,
                    updated_by: r.try_get(8)?,
                    address: r.try_get(9)?,
                    site: r.try_get(10)?,
                    senders: match r.try_get::<Option<String>, _>(11)? {
                        Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("queue sender policy: {e}")))?,
                        None => Default::default(),
                    },
                })
            })
            .collect()
    }

    /// Removes a queue's console settings, so that the file's values apply again. False when
    /// there were none.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn delete_queue_override(&self, queue: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM queue_settings WHERE queue = $1").bind(queue).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores a queue's console settings (replacing earlier ones).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn set_queue_override(&self, o: &QueueOverride) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM queue_settings WHERE queue = $1").bind(&o.queue).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO queue_settings (queue, spam_tag_score, spam_reject_score, max_pages, retention_secs, color, allowed_types, updated_at, updated_by, \
             address, site, sender_policy) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&o.queue)
        .bind(o.spam_tag_score)
        .bind(o.spam_reject_score)
        .bind(o.max_pages.map(i64::from))
        .bind(o.retention.map(|d| d.as_secs() as i64))
        .bind(o.color.map(i64::from))
        .bind(o.allowed_types.as_ref().map(|t| t.join(",")))
        .bind(o.updated_at)
        .bind(&o.updated_by)
        .bind(&o.address)
        .bind(&o.site)
        .bind((o.senders != Default::default()).then(|| serde_json::to_string(&o.senders).unwrap_or_default()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The HMAC under which a release code is stored (to find its message's trace).
    pub fn code_hash_of(&self, code: &super::ReleaseCode) -> String {
        self.code_hash(code)
    }

    /// Traces matching `filter`, newest first.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn search_traces(&self, f: &TraceFilter) -> Result<Vec<Trace>, StoreError> {
        let sql = format!(
            "SELECT {TRACE_COLUMNS} FROM traces WHERE \
             ($1 = '' OR LOWER(mail_from) LIKE $2 OR LOWER(header_from) LIKE $2) \
             AND ($3 = '' OR message_id LIKE $4) AND ($5 = '' OR queue = $5) \
             AND ($6 = '' OR code_hash = $6) AND received_at >= $7 AND received_at < $8 \
             AND ($9 = 0 OR (spam_score IS NOT NULL AND spam_score >= $10 AND spam_score < $11)) \
             ORDER BY received_at DESC, id DESC LIMIT $12"
        );
        let like = |s: &str| format!("%{}%", s.to_lowercase().replace(['\\', '%', '_'], ""));
        let scored = f.score_min.is_some() || f.score_max.is_some();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&f.sender)
            .bind(like(&f.sender))
            .bind(&f.message_id)
            .bind(format!("%{}%", f.message_id.replace('%', "")))
            .bind(&f.queue)
            .bind(f.code_hash.clone().unwrap_or_default())
            .bind(f.since.unwrap_or(0))
            .bind(f.until.unwrap_or(i64::MAX))
            .bind(i64::from(scored))
            .bind(f.score_min.unwrap_or(f64::MIN))
            .bind(f.score_max.unwrap_or(f64::MAX))
            .bind(f.limit.max(1))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(trace_row).collect()
    }

    /// `(spam score, outcome)` of every scored message of `queue` since `since`.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn spam_scores(&self, queue: &str, since: i64) -> Result<Vec<(f64, String)>, StoreError> {
        let rows = sqlx::query("SELECT spam_score, outcome FROM traces WHERE queue = $1 AND received_at >= $2 AND spam_score IS NOT NULL")
            .bind(queue)
            .bind(since)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Live jobs, by site and expiry.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn pending_jobs(&self, limit: i64) -> Result<Vec<PendingJob>, StoreError> {
        let rows = sqlx::query(
            "SELECT j.id, j.site, m.queue, j.filename, j.pages, j.created_at, j.expires_at, j.print_failures, COALESCE(j.last_failure, '') \
             FROM jobs j JOIN messages m ON m.id = j.message_id WHERE j.expires_at > $1 ORDER BY j.site, j.expires_at LIMIT $2",
        )
        .bind(self.now())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingJob {
                    id: r.try_get(0)?,
                    site: r.try_get(1)?,
                    queue: r.try_get(2)?,
                    filename: r.try_get(3)?,
                    pages: r.try_get(4)?,
                    created_at: r.try_get(5)?,
                    expires_at: r.try_get(6)?,
                    print_failures: r.try_get(7)?,
                    last_failure: r.try_get(8)?,
                })
            })
            .collect()
    }

    /// How many live jobs wait for release in each queue that has any, by queue name.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn waiting_jobs_per_queue(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.queue, COUNT(*) FROM jobs j JOIN messages m ON m.id = j.message_id WHERE j.expires_at > $1 \
             GROUP BY m.queue ORDER BY m.queue",
        )
        .bind(self.now())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// The site of a live job (for the console's cancel).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn job_site(&self, id: &str) -> Result<String, StoreError> {
        let row =
            sqlx::query("SELECT site FROM jobs WHERE id = $1").bind(id).fetch_optional(&self.pool).await?.ok_or(StoreError::NotFound)?;
        Ok(row.try_get(0)?)
    }

    /// The reply records of a message (its reply, confirmations, reminders).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn reply_attempts(&self, message_id: &str) -> Result<Vec<ReplyAttempts>, StoreError> {
        let rows = sqlx::query(
            "SELECT attempts, COALESCE(last_error, ''), created_at, sent_at, refused_at FROM outbox \
             WHERE message_id = $1 ORDER BY created_at",
        )
        .bind(message_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReplyAttempts {
                    attempts: r.try_get(0)?,
                    last_error: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                    sent_at: r.try_get(3)?,
                    refused_at: r.try_get(4)?,
                })
            })
            .collect()
    }
}
