//! Per-client-address limits shared by all sessions: simultaneous connections and message rate.
//!
//! Both are small maps behind a mutex, touched once per connection or per `MAIL`; entries are
//! dropped when they fall to zero (connections) or their window passed (rates), so a scan from
//! many addresses cannot grow them without bound for long.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Length of the message-rate window.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct IpLimits {
    max_connections: usize,
    max_messages_per_window: usize,
    connections: Mutex<HashMap<IpAddr, usize>>,
    messages: Mutex<HashMap<IpAddr, (Instant, usize)>>,
}

/// Held while a connection is open; releases its slot when dropped.
#[derive(Debug)]
pub struct ConnectionSlot {
    limits: Arc<IpLimits>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut map = self.limits.connections.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

impl IpLimits {
    pub fn new(max_connections: usize, max_messages_per_window: usize) -> Arc<Self> {
        Arc::new(Self {
            max_connections,
            max_messages_per_window,
            connections: Mutex::new(HashMap::new()),
            messages: Mutex::new(HashMap::new()),
        })
    }

    /// A connection slot for `ip`, or `None` when it already has the maximum open.
    pub fn connect(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionSlot> {
        let mut map = self.connections.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = map.entry(ip).or_insert(0);
        if *n >= self.max_connections {
            return None;
        }
        *n += 1;
        Some(ConnectionSlot { limits: self.clone(), ip })
    }

    /// Counts one message from `ip`; false when it is over its rate.
    pub fn allow_message(&self, ip: IpAddr, now: Instant) -> bool {
        let mut map = self.messages.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 10_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < RATE_WINDOW);
        }
        let entry = map.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= RATE_WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= self.max_messages_per_window {
            return false;
        }
        entry.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_slots_are_counted_and_released() {
        let limits = IpLimits::new(2, 10);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let a = limits.connect(ip).unwrap();
        let _b = limits.connect(ip).unwrap();
        assert!(limits.connect(ip).is_none());
        assert!(limits.connect("192.0.2.2".parse().unwrap()).is_some(), "other addresses are not affected");
        drop(a);
        assert!(limits.connect(ip).is_some());
    }

    #[test]
    fn message_rate_resets_after_the_window() {
        let limits = IpLimits::new(2, 3);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        assert!((0..3).all(|_| limits.allow_message(ip, t0)));
        assert!(!limits.allow_message(ip, t0 + Duration::from_secs(59)));
        assert!(limits.allow_message("192.0.2.9".parse().unwrap(), t0));
        assert!(limits.allow_message(ip, t0 + RATE_WINDOW));
    }
}
