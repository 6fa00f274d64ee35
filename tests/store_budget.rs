//! The sender policy in the shared store, on SQLite (one file, two `Store`s) and PostgreSQL (two
//! `Store`s, as two nodes). Daily page caps: 100 mails of one sender at once never print more
//! than the cap; a message processed again gets the same decision and is not counted twice; the
//! next local day starts from zero; the console's reset empties a sender's count. A message held
//! for its sender's confirmation releases nothing and is gone after its expiry; a YES releases
//! it; verified senders are remembered and revoked. The console's sender-policy settings
//! survive the store round trip.

mod common;

use std::path::Path;
use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use printgate::config::{QueueOverride, SenderOverride, StoreConfig};
use printgate::store::budget::{Ask, Budget, Cap, Charge};
use printgate::store::verified::Held;
use printgate::store::{Clock, NewJob, NewMessage, Recorded, Store, StoreError};

async fn open(url: &str, dir: &Path) -> Store {
    let config = StoreConfig {
        database_url: url.to_owned(),
        blob_url: format!("file://{}/blobs", dir.display()),
        secret_file: dir.join("secret.key"),
        code_digits: 8,
        trace_retention: Duration::from_secs(30 * 86400),
        audit_retention: Duration::from_secs(365 * 86400),
    };
    Store::open(&config).await.unwrap()
}

fn budget(day: &str) -> Budget {
    Budget { queue: "bw".into(), sender: "Patron@Example.org".into(), day: day.into(), sender_pages: Some(10), ..Budget::default() }
}

async fn a_hundred_mails_at_once_never_print_more_than_the_cap(url: &str, dir: &Path) {
    // Two nodes: two stores (two pools) on the same database.
    let nodes = [open(url, dir).await, open(url, dir).await];
    let asks = [Ask { pages: 3, color_pages: 0 }];
    let mut tasks = Vec::new();
    for i in 0..100 {
        let store = nodes[i % 2].clone();
        tasks.push(tokio::spawn(async move { store.charge_pages(&format!("m{i}"), &budget("2026-12-05"), &asks).await.unwrap() }));
    }
    let mut admitted = 0;
    for task in tasks {
        match task.await.unwrap()[0] {
            Charge::Admitted => admitted += 1,
            Charge::Over { cap, limit, left } => assert!(cap == Cap::SenderPages && limit == 10 && left <= 1, "{cap:?} {limit} {left}"),
        }
    }
    assert_eq!(admitted, 3, "3 documents of 3 pages fit in 10");
    assert_eq!(nodes[1].sender_usage("bw", "patron@example.org", "2026-12-05").await.unwrap(), (9, 0));
    // The same message again (a crash before it was stored): the same answer, nothing counted.
    let again = nodes[0].charge_pages("m0", &budget("2026-12-05"), &asks).await.unwrap();
    let first = nodes[1].charge_pages("m0", &budget("2026-12-05"), &asks).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(nodes[0].sender_usage("bw", "patron@example.org", "2026-12-05").await.unwrap(), (9, 0));
    // The next day starts from zero; a reset empties today's count.
    assert_eq!(
        nodes[0].charge_pages("next", &budget("2026-12-06"), &[Ask { pages: 6, color_pages: 0 }]).await.unwrap(),
        [Charge::Admitted]
    );
    assert!(nodes[1].reset_sender_usage("bw", "PATRON@example.org", "2026-12-05").await.unwrap());
    assert_eq!(nodes[0].sender_usage("bw", "patron@example.org", "2026-12-05").await.unwrap(), (0, 0));
    assert_eq!(
        nodes[0].charge_pages("after-reset", &budget("2026-12-05"), &[Ask { pages: 10, color_pages: 0 }]).await.unwrap(),
        [Charge::Admitted]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn caps_hold_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/store.db", dir.path().display());
    a_hundred_mails_at_once_never_print_more_than_the_cap(&url, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn caps_hold_on_postgres_across_two_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let pg = common::PgDatabase::create();
    a_hundred_mails_at_once_never_print_more_than_the_cap(&pg.url, dir.path()).await;
}

async fn held_messages_wait_for_yes_and_expire_unanswered(url: &str, dir: &Path) {
    const T0: i64 = 1_800_000_000;
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(url, dir).await.with_clock(Clock::Manual(clock.clone()));
    let job = |id: &str| NewJob {
        id: id.into(),
        seq: 0,
        filename: "a.pdf".into(),
        pages: 1,
        color: false,
        color_pages: 0,
        copies: 1,
        duplex: false,
        page_range: String::new(),
        sealed: vec![7; 100],
    };
    let held = |id: &str| NewMessage {
        id: id.into(),
        queue: "bw".into(),
        site: "main".into(),
        created_at: T0,
        expires_at: T0 + 86_400,
        held: true,
    };
    let mut codes = Vec::new();
    for id in ["answered", "unanswered"] {
        match store.record(&held(id), vec![job(&format!("job-{id}"))], None, |_| None).await.unwrap() {
            Recorded::New(code) => codes.push(code),
            Recorded::AlreadyStored => panic!("stored twice"),
        }
    }
    // Held: the code releases nothing and a polling station sees nothing.
    for code in &codes {
        assert!(matches!(store.release(code, "main").await, Err(StoreError::NotFound)));
    }
    assert!(store.site_jobs("main", 10).await.unwrap().is_empty());
    // The YES: released for the retention from now; verified; a second YES finds it not held.
    clock.store(T0 + 3600, Ordering::SeqCst);
    assert_eq!(store.release_held("answered", 72 * 3600).await.unwrap(), Held::Released);
    assert_eq!(store.release(&codes[0], "main").await.unwrap().len(), 1);
    assert_eq!(store.release_held("answered", 72 * 3600).await.unwrap(), Held::NotHeld);
    store.verify_sender("bw", "Patron@Example.org").await.unwrap();
    assert!(store.sender_verified("bw", "patron@example.org", T0).await.unwrap());
    assert!(!store.sender_verified("bw", "patron@example.org", T0 + 7200).await.unwrap(), "older than asked for");
    // Unanswered: after its day, the janitor's purge leaves nothing of it.
    clock.store(T0 + 86_400 + 1, Ordering::SeqCst);
    store.purge_expired(T0 + 86_400 + 1).await.unwrap();
    assert_eq!(store.release_held("unanswered", 72 * 3600).await.unwrap(), Held::Gone);
    assert_eq!(store.site_jobs("main", 10).await.unwrap().len(), 1, "only the answered message's job is left");
    assert!(store.revoke_sender("bw", "PATRON@example.org").await.unwrap());
    assert!(store.verified_senders("bw", 10).await.unwrap().is_empty());
    // The console's sender-policy settings survive the round trip.
    let o = QueueOverride {
        queue: "bw".into(),
        senders: SenderOverride {
            deny_senders: Some(vec!["@spam.test".into()]),
            daily_pages: Some(0),
            verify_new_senders: Some(true),
            ..SenderOverride::default()
        },
        updated_at: T0,
        updated_by: "librarian".into(),
        ..QueueOverride::default()
    };
    store.set_queue_override(&o).await.unwrap();
    assert_eq!(store.queue_overrides().await.unwrap(), [o]);
}

#[tokio::test]
async fn held_messages_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/store.db", dir.path().display());
    held_messages_wait_for_yes_and_expire_unanswered(&url, dir.path()).await;
}

#[tokio::test]
async fn held_messages_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let pg = common::PgDatabase::create();
    held_messages_wait_for_yes_and_expire_unanswered(&pg.url, dir.path()).await;
}
