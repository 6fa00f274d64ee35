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

fn throttle(per_subject: u32, per_address: u32) -> Throttle {
    Throttle::new("release", Limits { per_subject, per_address, window: Duration::from_secs(60), lockout: Duration::from_secs(300) })
}

fn refused<T: std::fmt::Debug>(r: Result<T, Refusal>) -> Option<u64> {
    match r {
        Ok(_) => None,
        Err(Refusal::LockedOut { retry_after }) => Some(retry_after),
        Err(e) => panic!("store error: {e}"),
    }
}

/// One wrong attempt: admitted, then counted as a failure.
async fn wrong(t: &Throttle, s: &Store, keys: &[ThrottleKey]) -> Vec<LockedOut> {
    let attempt = t.admit(s, keys).await.expect("admitted");
    t.failed(s, attempt).await
}

#[tokio::test]
async fn a_station_is_locked_out_at_its_limit_and_the_lockout_names_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let s = store(dir.path(), &clock).await;
    let t = throttle(3, 100);
    let keys = [ThrottleKey::Station("a".into()), ThrottleKey::Address("192.0.2.1".parse().unwrap())];
    assert!(wrong(&t, &s, &keys).await.is_empty());
    assert!(wrong(&t, &s, &keys).await.is_empty());
    assert_eq!(wrong(&t, &s, &keys).await, vec![LockedOut { key: keys[0].clone(), failures: 3 }]);
    clock.store(T0 + 1, Ordering::SeqCst);
    assert_eq!(refused(t.admit(&s, &keys).await), Some(299));
    // A node that has not seen the lock-out start learns it from the store.
    assert_eq!(refused(throttle(3, 100).admit(&s, &keys).await), Some(299));
    // Another station behind the same address is not locked by the first one's lock-out.
    let other = t.admit(&s, &[ThrottleKey::Station("b".into()), keys[1].clone()]).await.expect("station b is free");
    t.succeeded(&s, other).await;
    // At its end the lock-out lifts, remembered or not, and counting starts afresh.
    clock.store(T0 + 300, Ordering::SeqCst);
    assert!(wrong(&t, &s, &keys).await.is_empty());
}

#[tokio::test]
async fn an_address_is_locked_out_across_stations() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let s = store(dir.path(), &clock).await;
    let t = throttle(100, 4);
    let addr = ThrottleKey::Address("2001:db8::1".parse().unwrap());
    for i in 0..4 {
        wrong(&t, &s, &[ThrottleKey::Station(format!("s{i}")), addr.clone()]).await;
    }
    assert!(refused(t.admit(&s, &[ThrottleKey::Station("fresh".into()), addr]).await).is_some());
}

#[tokio::test]
async fn the_window_ends_and_right_answers_give_their_slot_back() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let s = store(dir.path(), &clock).await;
    let t = throttle(2, 100);
    let keys = [ThrottleKey::Station("a".into())];
    wrong(&t, &s, &keys).await;
    for _ in 0..5 {
        let right = t.admit(&s, &keys).await.expect("one slot is left");
        t.succeeded(&s, right).await;
    }
    clock.store(T0 + 60, Ordering::SeqCst);
    assert!(wrong(&t, &s, &keys).await.is_empty(), "the first failure's window ended");
    assert_eq!(wrong(&t, &s, &keys).await.len(), 1, "two in the window lock");
}

#[tokio::test]
async fn attempts_in_flight_hold_their_slots() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let s = store(dir.path(), &clock).await;
    let t = throttle(3, 100);
    let keys = [ThrottleKey::Account("librarian".into()), ThrottleKey::Address("192.0.2.7".parse().unwrap())];
    let held: Vec<Attempt> =
        [t.admit(&s, &keys).await, t.admit(&s, &keys).await, t.admit(&s, &keys).await].into_iter().map(Result::unwrap).collect();
    assert_eq!(refused(t.admit(&s, &keys).await), Some(1), "all three slots are being checked: come back in a second");
    let mut held = held.into_iter();
    t.succeeded(&s, held.next().unwrap()).await;
    let again = t.admit(&s, &keys).await.expect("a slot came back");
    for attempt in held.chain([again]) {
        t.failed(&s, attempt).await;
    }
    assert_eq!(refused(t.admit(&s, &keys).await), Some(300), "three failures lock the account");
    // The refused attempts took nothing from the address: another account from it is free.
    let other = t.admit(&s, &[ThrottleKey::Account("someone".into()), keys[1].clone()]).await;
    assert!(other.is_ok());
}

#[tokio::test]
async fn a_hundred_attempts_at_once_admit_exactly_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let s = store(dir.path(), &clock).await;
    let t = Arc::new(throttle(10, 50));
    let keys = [ThrottleKey::Station("a".into()), ThrottleKey::Address("192.0.2.9".parse().unwrap())];
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (t, s, keys) = (t.clone(), s.clone(), keys.clone());
        tasks.spawn(async move { t.admit(&s, &keys).await.ok() });
    }
    let admitted: Vec<Attempt> = tasks.join_all().await.into_iter().flatten().collect();
    assert_eq!(admitted.len(), 10, "100 at once, limit 10");
    let mut started = Vec::new();
    for attempt in admitted {
        started.extend(t.failed(&s, attempt).await);
    }
    assert_eq!(started, vec![LockedOut { key: keys[0].clone(), failures: 10 }], "one lock-out, started once");
}

#[tokio::test]
async fn two_nodes_share_one_limit_and_the_scopes_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let s = store(dir.path(), &clock).await;
    let (node_a, node_b) = (throttle(4, 100), throttle(4, 100));
    let keys = [ThrottleKey::Station("a".into())];
    assert!(wrong(&node_a, &s, &keys).await.is_empty());
    assert!(wrong(&node_b, &s, &keys).await.is_empty());
    assert!(wrong(&node_a, &s, &keys).await.is_empty());
    assert_eq!(wrong(&node_b, &s, &keys).await.len(), 1, "the fourth failure, wherever it lands, starts the lock-out");
    assert_eq!(refused(node_a.admit(&s, &keys).await), Some(300), "4 failures over two nodes lock on both");
    assert_eq!(refused(node_b.admit(&s, &keys).await), Some(300));
    let admin = Throttle::new("admin", node_a.limits());
    assert!(admin.admit(&s, &keys).await.is_ok(), "the console's counters are its own");
}

/// A lock-out lifted in the store (a new password) ends on a node that remembers it within
/// REMEMBER_SECS, and a node asks the store again at most that often.
#[tokio::test]
async fn a_lockout_lifted_in_the_store_ends_on_every_node_within_the_memory_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let s = store(dir.path(), &clock).await;
    let t = throttle(2, 100);
    let keys = [ThrottleKey::Account("librarian".into())];
    wrong(&t, &s, &keys).await;
    assert_eq!(wrong(&t, &s, &keys).await.len(), 1);
    s.clear_attempts(&store_key("release", &keys[0])).await.unwrap();
    clock.store(T0 + 1, Ordering::SeqCst);
    assert_eq!(refused(t.admit(&s, &keys).await), Some(299), "answered from memory");
    clock.store(T0 + REMEMBER_SECS, Ordering::SeqCst);
    let attempt = t.admit(&s, &keys).await.expect("the store says the lock-out is gone");
    t.succeeded(&s, attempt).await;
}
