//! Failure counters and lock-outs shared by every node (wrong release codes, failed admin
//! logins per address). They live in the store so that an attacker spreading guesses over the
//! nodes of a cluster meets one limit, not one per node, and a restart forgets nothing.
//!
//! Keys are opaque strings chosen by the caller (`release:station:<token id>`,
//! `release:address:<ip>`, `admin:address:<ip>`); they never hold a code or a password.

use sqlx::Row;

use super::{Store, StoreError};

/// How many failures a key may collect in a sliding window before it is locked out, and for
/// how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    pub max_failures: i64,
    pub window_secs: i64,
    pub lockout_secs: i64,
}

/// A lock-out that this failure started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutStarted {
    /// Failures counted in the window, this one included.
    pub failures: i64,
    /// End of the lock-out (Unix seconds).
    pub until: i64,
}

impl Store {
    /// The latest end of a lock-out in force now among `keys`, if any.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn locked_until(&self, keys: &[String]) -> Result<Option<i64>, StoreError> {
        if keys.is_empty() {
            return Ok(None);
        }
        let placeholders: Vec<String> = (0..keys.len()).map(|i| format!("${}", i + 2)).collect();
        let sql =
            format!("SELECT MAX(locked_until) FROM throttle_lockouts WHERE locked_until > $1 AND key IN ({})", placeholders.join(", "));
        // Only numbered placeholders are formatted in; the keys are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(self.now());
        for key in keys {
            query = query.bind(key);
        }
        Ok(query.fetch_one(&self.pool).await?.try_get::<Option<i64>, _>(0)?)
    }

    /// Counts one failure against each of `keys` (with its limit), in one transaction; returns,
    /// in the same order, the lock-outs this failure starts. A key that reaches its limit while
    /// no lock-out is in force starts one and its failures are cleared; of several nodes
    /// counting at once exactly one gets `Some` (the upsert only replaces an ended lock-out), so
    /// a lock-out is audited once.
    ///
    /// # Errors
    /// [`StoreError::Db`]; nothing is counted then.
    pub async fn count_failure(&self, keys: &[(String, FailureLimit)]) -> Result<Vec<Option<LockoutStarted>>, StoreError> {
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        let mut started = Vec::with_capacity(keys.len());
        for (key, limit) in keys {
            // Failures older than the window are not counted below and the janitor purges
            // them; nothing to delete here.
            sqlx::query("INSERT INTO throttle_failures (key, at) VALUES ($1, $2)").bind(key).bind(now).execute(&mut *tx).await?;
            // Counting stops at the limit, so a key with many failures (limits raised very
            // high) costs no more than one at its limit.
            let failures: i64 =
                sqlx::query("SELECT COUNT(*) FROM (SELECT 1 FROM throttle_failures WHERE key = $1 AND at > $2 LIMIT $3) AS recent")
                    .bind(key)
                    .bind(now - limit.window_secs)
                    .bind(limit.max_failures)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
            if failures < limit.max_failures {
                started.push(None);
                continue;
            }
            let until = now + limit.lockout_secs;
            let locked = sqlx::query(
                "INSERT INTO throttle_lockouts (key, locked_until) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET locked_until = excluded.locked_until \
                 WHERE throttle_lockouts.locked_until <= $3",
            )
            .bind(key)
            .bind(until)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if locked {
                sqlx::query("DELETE FROM throttle_failures WHERE key = $1").bind(key).execute(&mut *tx).await?;
            }
            started.push(locked.then_some(LockoutStarted { failures, until }));
        }
        tx.commit().await?;
        Ok(started)
    }

    /// Drops failures counted before `failures_before` and lock-outs that ended by `now`
    /// (the janitor). Returns the rows removed.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn purge_throttle(&self, failures_before: i64, now: i64) -> Result<u64, StoreError> {
        let failures = sqlx::query("DELETE FROM throttle_failures WHERE at <= $1").bind(failures_before).execute(&self.pool).await?;
        let lockouts = sqlx::query("DELETE FROM throttle_lockouts WHERE locked_until <= $1").bind(now).execute(&self.pool).await?;
        Ok(failures.rows_affected() + lockouts.rows_affected())
    }
}
