//! Brute-force protection for release codes and admin logins: failures are counted per station
//! token and per source address in a sliding window; a key that reaches its limit is locked out
//! (HTTP 429 with `Retry-After`) for the lock-out time, during which even a right code is
//! refused.
//!
//! The counters and lock-outs are kept in the store ([`Store::count_failure`]), so every node of
//! a cluster enforces the same limit and a restart forgets nothing. A lock-out this node has seen
//! is remembered in memory too, so the 429 path of a locked-out key costs no database query.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::store::{FailureLimit, Store, StoreError};

/// What is being counted (ordered: stations before addresses).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThrottleKey {
    /// A station token, by its id.
    Station(String),
    /// A source address.
    Address(IpAddr),
}

impl std::fmt::Display for ThrottleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Station(id) => write!(f, "station token {id}"),
            Self::Address(ip) => write!(f, "address {ip}"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_station: u32,
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

/// Why a request may not go on.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("locked out for {retry_after} more seconds")]
    LockedOut { retry_after: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Remembered lock-outs above this many are pruned of ended ones.
const PRUNE_ABOVE: usize = 10_000;

pub struct Throttle {
    /// Keeps the release API's and the console's counters apart in the shared tables.
    scope: &'static str,
    limits: Limits,
    /// Lock-outs this node has seen: store key -> end (store seconds).
    known: Mutex<HashMap<String, i64>>,
}

impl Throttle {
    pub fn new(scope: &'static str, limits: Limits) -> Self {
        Self { scope, limits, known: Mutex::new(HashMap::new()) }
    }

    fn store_key(&self, key: &ThrottleKey) -> String {
        match key {
            ThrottleKey::Station(id) => format!("{}:station:{id}", self.scope),
            ThrottleKey::Address(ip) => format!("{}:address:{ip}", self.scope),
        }
    }

    fn limit(&self, key: &ThrottleKey) -> FailureLimit {
        let max = match key {
            ThrottleKey::Station(_) => self.limits.per_station,
            ThrottleKey::Address(_) => self.limits.per_address,
        };
        FailureLimit {
            max_failures: i64::from(max),
            window_secs: self.limits.window.as_secs().max(1) as i64,
            lockout_secs: self.limits.lockout.as_secs().max(1) as i64,
        }
    }

    fn remember(&self, key: String, until: i64, now: i64) {
        let mut known = self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if known.len() > PRUNE_ABOVE {
            known.retain(|_, u| *u > now);
        }
        known.insert(key, until);
    }

    /// `Err(Refusal::LockedOut)` if any of `keys` is locked out now, on any node.
    ///
    /// # Errors
    /// [`Refusal`]: a lock-out, or the store could not be asked.
    pub async fn check(&self, store: &Store, keys: &[ThrottleKey]) -> Result<(), Refusal> {
        let now = store.now();
        let keys: Vec<String> = keys.iter().map(|k| self.store_key(k)).collect();
        let remembered = {
            let known = self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            keys.iter().filter_map(|k| known.get(k)).copied().filter(|u| *u > now).max()
        };
        let until = match remembered {
            Some(until) => Some(until),
            None => store.locked_until(&keys).await?,
        };
        match until {
            Some(until) if until > now => Err(Refusal::LockedOut { retry_after: (until - now).max(1) as u64 }),
            _ => Ok(()),
        }
    }

    /// Counts one failure against every key; returns the keys whose lock-out starts now (on
    /// this node: of several nodes counting at once, one sees the start). A failure the store
    /// cannot count is logged; the caller's answer does not change.
    pub async fn failure(&self, store: &Store, keys: &[ThrottleKey]) -> Vec<LockedOut> {
        // One transaction for all keys: a wrong code costs one commit, not one per key. Keys go
        // in one fixed order so concurrent transactions on PostgreSQL take rows in the same order.
        let mut keys = keys.to_vec();
        keys.sort();
        let counted: Vec<(String, FailureLimit)> = keys.iter().map(|k| (self.store_key(k), self.limit(k))).collect();
        match store.count_failure(&counted).await {
            Ok(started) => {
                let now = store.now();
                let mut locked = Vec::new();
                for ((key, (store_key, _)), start) in keys.into_iter().zip(counted).zip(started) {
                    if let Some(lockout) = start {
                        self.remember(store_key, lockout.until, now);
                        locked.push(LockedOut { key, failures: u32::try_from(lockout.failures).unwrap_or(u32::MAX) });
                    }
                }
                locked
            }
            Err(e) => {
                tracing::error!(error = %e, scope = self.scope, "cannot count a failed attempt");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;
    use crate::store::Clock;

    const T0: i64 = 1_800_000_000;

    async fn store(dir: &std::path::Path, clock: &Arc<AtomicI64>) -> Store {
        let config = crate::config::StoreConfig {
            database_url: format!("sqlite://{}/store.db", dir.display()),
            blob_url: format!("file://{}/blobs", dir.display()),
            secret_file: dir.join("secret.key"),
            code_digits: 8,
            trace_retention: Duration::from_secs(86400),
            audit_retention: Duration::from_secs(86400),
        };
        Store::open(&config).await.unwrap().with_clock(Clock::Manual(clock.clone()))
    }

    fn throttle(per_station: u32, per_address: u32) -> Throttle {
        Throttle::new("release", Limits { per_station, per_address, window: Duration::from_secs(60), lockout: Duration::from_secs(300) })
    }

    fn locked(r: Result<(), Refusal>) -> Option<u64> {
        match r {
            Ok(()) => None,
            Err(Refusal::LockedOut { retry_after }) => Some(retry_after),
            Err(e) => panic!("store error: {e}"),
        }
    }

    #[tokio::test]
    async fn a_station_is_locked_out_at_its_limit_and_the_lockout_names_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(T0));
        let s = store(dir.path(), &clock).await;
        let t = throttle(3, 100);
        let keys = [ThrottleKey::Station("a".into()), ThrottleKey::Address("192.0.2.1".parse().unwrap())];
        assert!(t.failure(&s, &keys).await.is_empty());
        assert!(t.failure(&s, &keys).await.is_empty());
        assert_eq!(locked(t.check(&s, &keys).await), None);
        let started = t.failure(&s, &keys).await;
        assert_eq!(started, vec![LockedOut { key: keys[0].clone(), failures: 3 }]);
        clock.store(T0 + 1, Ordering::SeqCst);
        assert_eq!(locked(t.check(&s, &keys).await), Some(299));
        // Another station behind the same address is not locked by the first one's lock-out.
        assert_eq!(locked(t.check(&s, &[ThrottleKey::Station("b".into()), keys[1].clone()]).await), None);
        // At its end the lock-out lifts, remembered or not.
        clock.store(T0 + 300, Ordering::SeqCst);
        assert_eq!(locked(t.check(&s, &keys).await), None);
    }

    #[tokio::test]
    async fn an_address_is_locked_out_across_stations() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(T0));
        let s = store(dir.path(), &clock).await;
        let t = throttle(100, 4);
        let addr = ThrottleKey::Address("2001:db8::1".parse().unwrap());
        for i in 0..4 {
            t.failure(&s, &[ThrottleKey::Station(format!("s{i}")), addr.clone()]).await;
        }
        assert!(locked(t.check(&s, &[ThrottleKey::Station("fresh".into()), addr]).await).is_some());
    }

    #[tokio::test]
    async fn failures_older_than_the_window_do_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(T0));
        let s = store(dir.path(), &clock).await;
        let t = throttle(2, 100);
        let keys = [ThrottleKey::Station("a".into())];
        t.failure(&s, &keys).await;
        clock.store(T0 + 60, Ordering::SeqCst);
        assert!(t.failure(&s, &keys).await.is_empty(), "the first failure fell out of the window");
        assert_eq!(locked(t.check(&s, &keys).await), None);
        assert_eq!(t.failure(&s, &keys).await.len(), 1, "two in the window lock");
    }

    #[tokio::test]
    async fn two_nodes_share_one_limit_and_the_scopes_stay_apart() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(T0));
        let s = store(dir.path(), &clock).await;
        let (node_a, node_b) = (throttle(4, 100), throttle(4, 100));
        let keys = [ThrottleKey::Station("a".into())];
        assert!(node_a.failure(&s, &keys).await.is_empty());
        assert!(node_b.failure(&s, &keys).await.is_empty());
        assert!(node_a.failure(&s, &keys).await.is_empty());
        assert_eq!(node_b.failure(&s, &keys).await.len(), 1, "the fourth failure, wherever it lands, starts the lock-out");
        assert_eq!(locked(node_a.check(&s, &keys).await), Some(300), "4 failures over two nodes lock on both");
        assert_eq!(locked(node_b.check(&s, &keys).await), Some(300));
        let admin = Throttle::new("admin", node_a.limits);
        assert_eq!(locked(admin.check(&s, &keys).await), None, "the console's counters are its own");
    }
}
