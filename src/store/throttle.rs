//! Attempt counters and lock-outs shared by every node (release codes per station and per
//! address, console logins per account and per address). They live in the store so that an
//! attacker spreading guesses over the nodes of a cluster meets one limit, not one per node,
//! and a restart forgets nothing.
//!
//! Counting and checking are one atomic step: before a code or password is looked at, the
//! attempt takes one of its key's `max` slots of the window in a single conditional upsert
//! ([`Store::admit_attempt`]), or is refused. A right answer gives its slot back
//! ([`Store::attempt_succeeded`]); a wrong one keeps it as a failure ([`Store::attempt_failed`]),
//! and the failure that reaches `max` starts the lock-out. So however many requests arrive at
//! once, on however many nodes, at most `max` wrong ones are ever checked per window (a right
//! one gives its slot back). Release codes use the same statements inside one transaction
//! around the look-up ([`Store::redeem_code`]), so that a right code writes nothing.
//!
//! Keys are opaque strings chosen by the caller (`release:station:<token id>`,
//! `release:address:<ip>`, `admin:account:<hash>`, `admin:address:<ip>`); they never hold a code
//! or a password.

use sqlx::Row;

use super::{JobInfo, ReleaseCode, SpentReason, Store, StoreError};

/// How many attempts a key may make in one window, and how long it is locked out once that
/// many have failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimit {
    pub max: i64,
    pub window_secs: i64,
    pub lockout_secs: i64,
}

/// Whether an attempt may be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Every key gave the attempt a slot: settle it with [`Store::attempt_succeeded`] or
    /// [`Store::attempt_failed`].
    Admitted,
    /// Key number `key` has no slot left; nothing was taken from any key. `locked_until` is the
    /// end of its lock-out (Unix seconds), or `None` when its slots are held by attempts still
    /// being checked (a moment later one may be free).
    Refused { key: usize, locked_until: Option<i64> },
}

/// A release code looked at inside its brute-force step ([`Store::redeem_code`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// The code is right: these are its jobs; nothing was counted.
    Jobs(Vec<JobInfo>),
    /// The code was right once (its message expired, or all its jobs were printed): not a
    /// guess at a live code, so nothing was counted either.
    Spent(SpentReason),
    /// The code is wrong (or names no live job): counted, with the lock-outs this failure
    /// started, in the order of the keys.
    Wrong(Vec<Option<LockoutStarted>>),
    /// Not looked at: as [`Admission::Refused`].
    Refused { key: usize, locked_until: Option<i64> },
}

/// A lock-out that this failure started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutStarted {
    /// Failures counted in the window, this one included.
    pub failures: i64,
    /// End of the lock-out (Unix seconds).
    pub until: i64,
}

/// Takes one slot of a key, starting a new window when the last one ended; answers no row when
/// the window's slots are all taken (by failures, or by attempts still in flight). One
/// statement: the row lock (PostgreSQL) or the write lock (SQLite) makes the count and the
/// check one step.
const TAKE_SLOT: &str = "INSERT INTO throttle_attempts (key, attempts, failures, resets_at) VALUES ($1, 1, 0, $2) \
     ON CONFLICT (key) DO UPDATE SET \
       attempts  = CASE WHEN throttle_attempts.resets_at <= $3 THEN 1  ELSE throttle_attempts.attempts + 1 END, \
       failures  = CASE WHEN throttle_attempts.resets_at <= $3 THEN 0  ELSE throttle_attempts.failures END, \
       resets_at = CASE WHEN throttle_attempts.resets_at <= $3 THEN $2 ELSE throttle_attempts.resets_at END \
     WHERE throttle_attempts.resets_at <= $3 OR throttle_attempts.attempts < $4 \
     RETURNING attempts";

/// Keeps the slot as a failure; the failure that makes `failures` reach the limit (exactly one:
/// the increments are serialised by the row lock) moves the end of the window to the end of
/// the lock-out, and with every slot taken nothing is admitted until then.
const COUNT_FAILURE: &str = "UPDATE throttle_attempts SET \
       failures = failures + 1, \
       resets_at = CASE WHEN failures + 1 = $2 THEN $3 ELSE resets_at END \
     WHERE key = $1 RETURNING failures, resets_at";

impl Store {
    /// Takes one attempt slot on every one of `keys`, all or none, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Db`]; nothing is taken then.
    pub async fn admit_attempt(&self, keys: &[(String, AttemptLimit)]) -> Result<Admission, StoreError> {
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        if let Some(index) = take_slots(&mut tx, keys, now).await? {
            tx.rollback().await?;
            return Ok(Admission::Refused { key: index, locked_until: self.locked_until(&keys[index], now).await? });
        }
        tx.commit().await?;
        Ok(Admission::Admitted)
    }

    /// Looks a release code up inside its brute-force step: one transaction takes a slot on
    /// every key (or refuses without looking), looks the code up, and then either rolls back
    /// (a right code: nothing is counted, nothing is written to disk) or counts the failure and
    /// commits. A code that names no live job but was right once ([`Redemption::Spent`]: an
    /// expired message, or a code in `spent_codes`) rolls back like a right one. The slots' row
    /// locks (PostgreSQL) or the write lock (SQLite) are held while the code is looked up, so
    /// attempts on the same key are decided one after another, on every node. `None` is a code
    /// that cannot exist (wrong without a look-up).
    ///
    /// This is the release API's form of [`Store::admit_attempt`] + [`Store::attempt_failed`]:
    /// the look-up is a short indexed read, so holding the locks costs less than the two commits
    /// a slot taken and given back would (a right code, the common case, writes nothing).
    ///
    /// # Errors
    /// [`StoreError::Db`]; nothing is counted then.
    pub async fn redeem_code(
        &self,
        keys: &[(String, AttemptLimit)],
        code: Option<&ReleaseCode>,
        site: &str,
    ) -> Result<Redemption, StoreError> {
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        if let Some(index) = take_slots(&mut tx, keys, now).await? {
            tx.rollback().await?;
            return Ok(Redemption::Refused { key: index, locked_until: self.locked_until(&keys[index], now).await? });
        }
        if let Some(found) = self.look_up(&mut tx, code, site).await? {
            tx.rollback().await?;
            return Ok(found);
        }
        let started = count_failures(&mut tx, keys, now).await?;
        tx.commit().await?;
        Ok(Redemption::Wrong(started))
    }

    /// What a code is, in the transaction that holds its slots: its live jobs, or why it was
    /// right once; `None` for a wrong code.
    async fn look_up(&self, tx: &mut Tx, code: Option<&ReleaseCode>, site: &str) -> Result<Option<Redemption>, StoreError> {
        let Some(code) = code else { return Ok(None) };
        let jobs = self.jobs_for_code(&mut **tx, code, site).await?;
        if !jobs.is_empty() {
            return Ok(Some(Redemption::Jobs(jobs)));
        }
        Ok(self.spent_reason(&mut **tx, &self.code_hash(code), site).await?.map(Redemption::Spent))
    }

    /// The end of `key`'s lock-out, if its failures have reached `max` and it has not ended.
    async fn locked_until(&self, (key, limit): &(String, AttemptLimit), now: i64) -> Result<Option<i64>, StoreError> {
        let row =
            sqlx::query("SELECT failures, resets_at FROM throttle_attempts WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        let Some(row) = row else { return Ok(None) };
        let (failures, until): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        Ok((failures >= limit.max && until > now).then_some(until))
    }

    /// An admitted attempt was right: its slots are given back (never below the failures).
    ///
    /// # Errors
    /// [`StoreError::Db`]; the slots then stay taken until the window ends.
    pub async fn attempt_succeeded(&self, keys: &[String]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for key in keys {
            sqlx::query("UPDATE throttle_attempts SET attempts = attempts - 1 WHERE key = $1 AND attempts > failures")
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An admitted attempt was wrong: its slots stay taken as failures, in one transaction.
    /// Returns, in the order of `keys`, the lock-outs this failure starts; of several nodes
    /// counting at once exactly one gets `Some` for a key, so a lock-out is audited once.
    ///
    /// # Errors
    /// [`StoreError::Db`]; nothing is counted then (the slots still stay taken).
    pub async fn attempt_failed(&self, keys: &[(String, AttemptLimit)]) -> Result<Vec<Option<LockoutStarted>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let started = count_failures(&mut tx, keys, self.now()).await?;
        tx.commit().await?;
        Ok(started)
    }

    /// Forgets `key`'s attempts and lock-out (an admin set a new password for the account).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM throttle_attempts WHERE key = $1").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    /// Drops counters whose window or lock-out ended by `now` (the janitor). Returns the rows
    /// removed.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn purge_throttle(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM throttle_attempts WHERE resets_at <= $1").bind(now).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Takes a slot on every key in `tx`, in order; the index of the first key without one.
async fn take_slots(tx: &mut Tx, keys: &[(String, AttemptLimit)], now: i64) -> Result<Option<usize>, StoreError> {
    for (index, (key, limit)) in keys.iter().enumerate() {
        let taken =
            sqlx::query(TAKE_SLOT).bind(key).bind(now + limit.window_secs).bind(now).bind(limit.max).fetch_optional(&mut **tx).await?;
        if taken.is_none() {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// Counts a failure on every key in `tx`; the lock-outs it starts, in the order of the keys.
async fn count_failures(tx: &mut Tx, keys: &[(String, AttemptLimit)], now: i64) -> Result<Vec<Option<LockoutStarted>>, StoreError> {
    let mut started = Vec::with_capacity(keys.len());
    for (key, limit) in keys {
        let until = now + limit.lockout_secs;
        let row = sqlx::query(COUNT_FAILURE).bind(key).bind(limit.max).bind(until).fetch_optional(&mut **tx).await?;
        let start = match row {
            Some(row) => {
                let (failures, resets_at): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
                (failures == limit.max && resets_at == until).then_some(LockoutStarted { failures, until })
            }
            // The janitor removed an ended window while the attempt was checked.
            None => None,
        };
        started.push(start);
    }
    Ok(started)
}
