//! Brute-force protection for release codes and console logins, shared by the release API and
//! the admin console: attempts are counted per subject (a station token, or a console account)
//! and per source address in a window; a key whose failures reach its limit is locked out
//! (HTTP 429 with `Retry-After`) for the lock-out time, during which even a right code or
//! password is refused.
//!
//! Counting and checking are one atomic step in the store: a login takes a slot on every key
//! before the password is looked at ([`Throttle::admit`]), and a release code is looked up inside
//! the transaction that holds its slots ([`Throttle::redeem`]), so with N attempts sent at once,
//! on any number of nodes, at most the limit of wrong ones are ever checked (a right one gives
//! its slot back). A lock-out this node has seen is remembered in memory too, so the 429 path of
//! a locked-out key costs no database query.
//!
//! Owns the keys and limits; must not look at codes or passwords (callers do, between
//! [`Throttle::admit`] and [`Throttle::succeeded`]/[`Throttle::failed`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::store::{Admission, AttemptLimit, JobInfo, Redemption, ReleaseCode, SpentReason, Store, StoreError};

/// What is being counted (ordered: subjects before addresses, so concurrent transactions on
/// PostgreSQL take rows in one order).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThrottleKey {
    /// A station token, by its id.
    Station(String),
    /// A console account, by the name typed (existing or not: an unknown name is counted and
    /// locked out exactly like a real one, so the answer does not tell which names exist).
    Account(String),
    /// A source address.
    Address(IpAddr),
}

impl std::fmt::Display for ThrottleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Station(id) => write!(f, "station token {id}"),
            Self::Account(name) => write!(f, "account {name}"),
            Self::Address(ip) => write!(f, "address {ip}"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Attempts per station token or console account in one window.
    pub per_subject: u32,
    pub per_address: u32,
    pub window: Duration,
    pub lockout: Duration,
}

/// A lock-out that has just begun (for the audit trail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedOut {
    pub key: ThrottleKey,
    pub failures: u32,
}

/// A release code looked up in its brute-force step ([`Throttle::redeem`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// A right code: its live jobs. Not counted.
    Jobs(Vec<JobInfo>),
    /// A code that was right once and names no live job now. Not counted.
    Spent(SpentReason),
    /// A wrong code, counted; the lock-outs it started.
    Wrong(Vec<LockedOut>),
}

/// Why a request may not go on.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// Locked out, or every slot of the window is held by attempts still being checked
    /// (`retry_after` is then 1).
    #[error("too many attempts; try again in {retry_after} seconds")]
    LockedOut { retry_after: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An attempt that holds a slot on each of its keys; settle it with [`Throttle::succeeded`] or
/// [`Throttle::failed`]. Dropped unsettled, its slots stay taken until the window ends.
#[derive(Debug)]
#[must_use = "settle the attempt with Throttle::succeeded or Throttle::failed"]
pub struct Attempt {
    keys: Vec<ThrottleKey>,
}

/// Keys as the store counts them: store key and limit, in the order of the [`ThrottleKey`]s.
type Counted = Vec<(String, AttemptLimit)>;

/// How long a node answers a lock-out from memory before it asks the store again: a 429 costs
/// one query per key and node in this time, and a lock-out lifted in the store (a new password)
/// ends everywhere within it.
const REMEMBER_SECS: i64 = 30;
/// Remembered lock-outs above this many are pruned of ended ones.
const PRUNE_ABOVE: usize = 10_000;
/// Longest account name kept in a key (longer typed names are cut; they cannot exist).
const ACCOUNT_KEY_CHARS: usize = 64;

/// The store key of `key` in `scope` (`release`, `admin`): an account name is hashed (typed
/// names are not stored as typed), nothing else is secret.
pub fn store_key(scope: &str, key: &ThrottleKey) -> String {
    match key {
        ThrottleKey::Station(id) => format!("{scope}:station:{id}"),
        ThrottleKey::Account(name) => {
            let name: String = name.chars().take(ACCOUNT_KEY_CHARS).collect();
            format!("{scope}:account:{}", crate::crypto::sha256_hex(name.as_bytes()))
        }
        ThrottleKey::Address(ip) => format!("{scope}:address:{ip}"),
    }
}

pub struct Throttle {
    /// Keeps the release API's and the console's counters apart in the shared table.
    scope: &'static str,
    limits: Limits,
    /// Lock-outs this node has seen: store key -> (end, when to ask the store again), in store
    /// seconds.
    known: Mutex<HashMap<String, (i64, i64)>>,
}

impl Throttle {
    pub fn new(scope: &'static str, limits: Limits) -> Self {
        Self { scope, limits, known: Mutex::new(HashMap::new()) }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn store_key(&self, key: &ThrottleKey) -> String {
        store_key(self.scope, key)
    }

    fn limit(&self, key: &ThrottleKey) -> AttemptLimit {
        let max = match key {
            ThrottleKey::Station(_) | ThrottleKey::Account(_) => self.limits.per_subject,
            ThrottleKey::Address(_) => self.limits.per_address,
        };
        AttemptLimit {
            max: i64::from(max),
            window_secs: self.limits.window.as_secs().max(1) as i64,
            lockout_secs: self.limits.lockout.as_secs().max(1) as i64,
        }
    }

    /// Remembers a lock-out for at most [`REMEMBER_SECS`]: after that the store is asked again,
    /// so a lock-out lifted there (`admin-user set-password`) ends on every node within that time.
    fn remember(&self, key: String, until: i64, now: i64) {
        let mut known = self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if known.len() > PRUNE_ABOVE {
            known.retain(|_, (_, ask_again)| *ask_again > now);
        }
        known.insert(key, (until, now + REMEMBER_SECS));
    }

    /// The end of a remembered lock-out of any of `keys`, while memory may answer for the store.
    fn remembered(&self, keys: &[(String, AttemptLimit)], now: i64) -> Option<i64> {
        let known = self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.iter()
            .filter_map(|(k, _)| known.get(k))
            .filter(|(until, ask_again)| *until > now && *ask_again > now)
            .map(|(until, _)| *until)
            .max()
    }

    /// Takes a slot for one attempt on every key, or refuses: a key locked out (on any node),
    /// or with every slot of its window taken.
    ///
    /// # Errors
    /// [`Refusal`]: too many attempts, or the store could not be asked (nothing is checked
    /// then either: the caller answers "try later").
    pub async fn admit(&self, store: &Store, keys: &[ThrottleKey]) -> Result<Attempt, Refusal> {
        let now = store.now();
        let (keys, counted) = self.prepare(keys, now)?;
        match store.admit_attempt(&counted).await? {
            Admission::Admitted => Ok(Attempt { keys }),
            Admission::Refused { key, locked_until } => Err(self.refused(&counted[key].0, locked_until, now)),
        }
    }

    /// `keys` in their fixed order with their store keys and limits, or the refusal of a
    /// lock-out this node remembers (no store query).
    fn prepare(&self, keys: &[ThrottleKey], now: i64) -> Result<(Vec<ThrottleKey>, Counted), Refusal> {
        let mut keys = keys.to_vec();
        keys.sort();
        let counted = self.counted(&keys);
        match self.remembered(&counted, now) {
            Some(until) => Err(Refusal::LockedOut { retry_after: (until - now).max(1) as u64 }),
            None => Ok((keys, counted)),
        }
    }

    fn counted(&self, keys: &[ThrottleKey]) -> Counted {
        keys.iter().map(|k| (self.store_key(k), self.limit(k))).collect()
    }

    /// Looks up a release code inside the brute-force step of `keys` ([`Store::redeem_code`]);
    /// `None` is a code that cannot exist (wrong).
    ///
    /// # Errors
    /// [`Refusal`]: no attempt left (the code was not looked at), or the store failed.
    pub async fn redeem(&self, store: &Store, keys: &[ThrottleKey], code: Option<&ReleaseCode>, site: &str) -> Result<Redeemed, Refusal> {
        let now = store.now();
        let (keys, counted) = self.prepare(keys, now)?;
        match store.redeem_code(&counted, code, site).await? {
            Redemption::Jobs(jobs) => Ok(Redeemed::Jobs(jobs)),
            Redemption::Spent(reason) => Ok(Redeemed::Spent(reason)),
            Redemption::Wrong(started) => Ok(Redeemed::Wrong(self.started(keys, &counted, started, now))),
            Redemption::Refused { key, locked_until } => Err(self.refused(&counted[key].0, locked_until, now)),
        }
    }

    /// The lock-outs among `started` (one per key), remembered.
    fn started(
        &self,
        keys: Vec<ThrottleKey>,
        counted: &[(String, AttemptLimit)],
        started: Vec<Option<crate::store::LockoutStarted>>,
        now: i64,
    ) -> Vec<LockedOut> {
        let mut locked = Vec::new();
        for ((key, (store_key, _)), start) in keys.into_iter().zip(counted).zip(started) {
            if let Some(lockout) = start {
                self.remember(store_key.clone(), lockout.until, now);
                locked.push(LockedOut { key, failures: u32::try_from(lockout.failures).unwrap_or(u32::MAX) });
            }
        }
        locked
    }

    /// The refusal for a key without a slot (remembered when it is a lock-out).
    fn refused(&self, store_key: &str, locked_until: Option<i64>, now: i64) -> Refusal {
        match locked_until {
            Some(until) => {
                self.remember(store_key.to_owned(), until, now);
                Refusal::LockedOut { retry_after: (until - now).max(1) as u64 }
            }
            None => Refusal::LockedOut { retry_after: 1 },
        }
    }

    /// The attempt was right: its slots are given back. A store failure is logged (the slots
    /// then stay taken until the window ends); the caller's answer does not change.
    pub async fn succeeded(&self, store: &Store, attempt: Attempt) {
        let keys: Vec<String> = attempt.keys.iter().map(|k| self.store_key(k)).collect();
        if let Err(e) = store.attempt_succeeded(&keys).await {
            tracing::error!(error = %e, scope = self.scope, "cannot give back an attempt slot");
        }
    }

    /// The attempt was wrong: counted as a failure on every key. Returns the keys whose lock-out
    /// starts now (of several nodes counting at once, exactly one sees the start). A failure
    /// the store cannot count is logged; its slots stay taken, so it still counts against the
    /// window.
    pub async fn failed(&self, store: &Store, attempt: Attempt) -> Vec<LockedOut> {
        let counted = self.counted(&attempt.keys);
        match store.attempt_failed(&counted).await {
            Ok(started) => self.started(attempt.keys, &counted, started, store.now()),
            Err(e) => {
                tracing::error!(error = %e, scope = self.scope, "cannot count a failed attempt");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests;
