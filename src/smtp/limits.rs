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

/// Counts messages per sender address and per sender domain in hourly windows.
#[derive(Debug)]
pub struct SenderLimits {
    per_sender: usize,
    per_domain: usize,
    senders: Mutex<HashMap<String, (Instant, usize)>>,
    domains: Mutex<HashMap<String, (Instant, usize)>>,
}

/// Length of the sender-rate window.
pub const SENDER_WINDOW: Duration = Duration::from_secs(3600);

impl SenderLimits {
    pub fn new(per_sender: usize, per_domain: usize) -> Self {
        Self { per_sender, per_domain, senders: Mutex::default(), domains: Mutex::default() }
    }

    /// True when `key` may send another message this hour.
    pub fn has_room(&self, key: &SenderKey, now: Instant) -> bool {
        let mut senders = self.senders.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut domains = self.domains.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let sender_ok = window_has_room(&mut senders, &key.sender, self.per_sender, now);
        let domain_ok = key.domain.as_ref().is_none_or(|d| window_has_room(&mut domains, d, self.per_domain, now));
        sender_ok && domain_ok
    }

    /// Counts one accepted message.
    pub fn count(&self, key: SenderKey) {
        bump(&mut self.senders.lock().unwrap_or_else(std::sync::PoisonError::into_inner), key.sender);
        if let Some(domain) = key.domain {
            bump(&mut self.domains.lock().unwrap_or_else(std::sync::PoisonError::into_inner), domain);
        }
    }
}

/// Whom a message counts against. An authenticated sender counts by address and domain; an
/// unauthenticated one by address *and client address* and not against its domain, so that a
/// forger cannot use up a real domain's share (and lock its patrons out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderKey {
    sender: String,
    domain: Option<String>,
}

impl SenderKey {
    pub fn new(address: &str, authenticated: bool, client: std::net::IpAddr) -> Self {
        let address = address.to_ascii_lowercase();
        if authenticated {
            let domain = address.rsplit_once('@').map(|(_, d)| d.to_owned());
            Self { sender: address, domain }
        } else {
            Self { sender: format!("{address} via {client}"), domain: None }
        }
    }
}

fn window_has_room(map: &mut HashMap<String, (Instant, usize)>, key: &str, max: usize, now: Instant) -> bool {
    if map.len() > 10_000 {
        map.retain(|_, (start, _)| now.duration_since(*start) < SENDER_WINDOW);
    }
    match map.get_mut(key) {
        Some(entry) if now.duration_since(entry.0) >= SENDER_WINDOW => {
            *entry = (now, 0);
            true
        }
        Some(entry) => entry.1 < max,
        None => {
            map.insert(key.to_owned(), (now, 0));
            true
        }
    }
}

fn bump(map: &mut HashMap<String, (Instant, usize)>, key: String) {
    map.entry(key).or_insert_with(|| (Instant::now(), 0)).1 += 1;
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

    fn send(limits: &SenderLimits, address: &str, authenticated: bool, at: Instant) -> bool {
        let key = SenderKey::new(address, authenticated, "192.0.2.7".parse().unwrap());
        let ok = limits.has_room(&key, at);
        if ok {
            limits.count(key);
        }
        ok
    }

    #[test]
    fn senders_and_domains_have_hourly_limits() {
        let limits = SenderLimits::new(2, 3);
        let t0 = Instant::now();
        assert!(send(&limits, "Pat@Example.com", true, t0));
        assert!(send(&limits, "pat@example.com", true, t0));
        assert!(!send(&limits, "pat@example.com", true, t0), "third from one sender");
        assert!(send(&limits, "kim@example.com", true, t0));
        assert!(!send(&limits, "lee@example.com", true, t0), "fourth from one domain");
        assert!(send(&limits, "lee@other.org", true, t0));
        assert!(send(&limits, "pat@example.com", true, t0 + SENDER_WINDOW));
    }

    #[test]
    fn forgers_cannot_use_up_a_domain() {
        let limits = SenderLimits::new(2, 2);
        let t0 = Instant::now();
        for i in 0..10 {
            send(&limits, &format!("forged{i}@example.com"), false, t0);
        }
        assert!(send(&limits, "pat@example.com", true, t0), "authenticated patron still served");
        // The forger's own address from its own client is limited.
        let key = SenderKey::new("x@example.com", false, "192.0.2.7".parse().unwrap());
        limits.count(key.clone());
        limits.count(key.clone());
        assert!(!limits.has_room(&key, t0));
        assert!(limits.has_room(&SenderKey::new("x@example.com", false, "198.51.100.1".parse().unwrap()), t0));
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
