//! Brute-force protection for release codes: wrong codes are counted per station token and per
//! source address in a sliding window; a key that reaches its limit is locked out (HTTP 429 with
//! `Retry-After`) for the lock-out time, during which even a right code is refused.
//!
//! The counters live in the node's memory: each node of a cluster counts on its own (documented
//! in docs/release-api.md). The map is bounded: stale keys are dropped when it grows.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What is being counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// A station token, by its id.
    Station(String),
    /// A source address.
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_station: u32,
    pub per_address: u32,
    pub window: Duration,
    pub lockout: Duration,
}

#[derive(Default)]
struct Entry {
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

/// A lock-out that has just begun (for the audit trail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedOut {
    pub key: ThrottleKey,
    pub failures: u32,
}

/// Keys above this many are pruned of stale entries.
const PRUNE_ABOVE: usize = 10_000;

pub struct Throttle {
    limits: Limits,
    entries: Mutex<HashMap<ThrottleKey, Entry>>,
}

impl Throttle {
    pub fn new(limits: Limits) -> Self {
        Self { limits, entries: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds to wait)` if any of `keys` is locked out now.
    pub fn check(&self, keys: &[ThrottleKey]) -> Result<(), u64> {
        let now = Instant::now();
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let wait = keys
            .iter()
            .filter_map(|k| entries.get(k).and_then(|e| e.locked_until))
            .filter(|until| *until > now)
            .map(|until| until.duration_since(now).as_secs().max(1))
            .max();
        wait.map_or(Ok(()), Err)
    }

    /// Counts one wrong code against every key; returns the keys whose lock-out starts now.
    pub fn failure(&self, keys: &[ThrottleKey]) -> Vec<LockedOut> {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() > PRUNE_ABOVE {
            let horizon = self.limits.window.max(self.limits.lockout);
            entries.retain(|_, e| {
                e.locked_until.is_some_and(|u| u > now) || e.failures.back().is_some_and(|t| now.duration_since(*t) < horizon)
            });
        }
        let mut started = Vec::new();
        for key in keys {
            let limit = match key {
                ThrottleKey::Station(_) => self.limits.per_station,
                ThrottleKey::Address(_) => self.limits.per_address,
            };
            let entry = entries.entry(key.clone()).or_default();
            while entry.failures.front().is_some_and(|t| now.duration_since(*t) >= self.limits.window) {
                entry.failures.pop_front();
            }
            entry.failures.push_back(now);
            if entry.failures.len() >= limit as usize && entry.locked_until.is_none_or(|u| u <= now) {
                entry.locked_until = Some(now + self.limits.lockout);
                started.push(LockedOut { key: key.clone(), failures: entry.failures.len() as u32 });
                entry.failures.clear();
            }
        }
        started
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_station: u32, per_address: u32) -> Throttle {
        Throttle::new(Limits { per_station, per_address, window: Duration::from_secs(60), lockout: Duration::from_secs(300) })
    }

    #[test]
    fn a_station_is_locked_out_at_its_limit_and_the_lockout_names_the_wait() {
        let t = throttle(3, 100);
        let keys = [ThrottleKey::Station("a".into()), ThrottleKey::Address("192.0.2.1".parse().unwrap())];
        assert!(t.failure(&keys).is_empty());
        assert!(t.failure(&keys).is_empty());
        assert_eq!(t.check(&keys), Ok(()));
        let started = t.failure(&keys);
        assert_eq!(started, vec![LockedOut { key: keys[0].clone(), failures: 3 }]);
        let wait = t.check(&keys).unwrap_err();
        assert!((299..=300).contains(&wait), "{wait}");
        // Another station behind the same address is not locked by the first one's lock-out.
        assert_eq!(t.check(&[ThrottleKey::Station("b".into()), keys[1].clone()]), Ok(()));
    }

    #[test]
    fn an_address_is_locked_out_across_stations() {
        let t = throttle(100, 4);
        let addr = ThrottleKey::Address("2001:db8::1".parse().unwrap());
        for i in 0..4 {
            t.failure(&[ThrottleKey::Station(format!("s{i}")), addr.clone()]);
        }
        assert!(t.check(&[ThrottleKey::Station("fresh".into()), addr]).is_err());
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let t = Throttle::new(Limits { per_station: 2, per_address: 100, window: Duration::from_millis(50), lockout: Duration::from_secs(1) });
        let keys = [ThrottleKey::Station("a".into())];
        t.failure(&keys);
        std::thread::sleep(Duration::from_millis(80));
        assert!(t.failure(&keys).is_empty(), "the first failure fell out of the window");
        assert_eq!(t.check(&keys), Ok(()));
    }
}
