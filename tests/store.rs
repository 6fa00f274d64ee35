//! The shared store on both SQL back ends and both blob back ends: SQLite (a file) with local
//! blobs, PostgreSQL (the machine's server at 127.0.0.1:5432, a fresh database per test) with
//! local blobs, and PostgreSQL with S3 (the moto server `scripts/test` starts, a fresh bucket
//! per test).
//!
//! Expiry runs on a manual clock, so "expires at exactly its retention time" is tested to the
//! second; two `Store`s on one database stand for two nodes.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use printgate::config::StoreConfig;
use printgate::store::{Clock, NewJob, NewMessage, Recorded, ReleaseCode, Store, StoreError};

const T0: i64 = 1_800_000_000;
const RETENTION: i64 = 72 * 3600;

/// A database for one test; PostgreSQL ones are dropped at the end.
struct Db {
    url: String,
    pg: Option<common::PgDatabase>,
    /// `None`: local blobs in the test's directory.
    blob_url: Option<String>,
}

impl Db {
    fn sqlite(dir: &Path) -> Self {
        Self { url: format!("sqlite://{}/store.db", dir.display()), pg: None, blob_url: None }
    }

    fn postgres() -> Self {
        let pg = common::PgDatabase::create();
        Self { url: pg.url.clone(), pg: Some(pg), blob_url: None }
    }

    fn postgres_s3() -> Self {
        Self { blob_url: Some(common::s3_bucket()), ..Self::postgres() }
    }
}

async fn open(db: &Db, dir: &Path, clock: &Arc<AtomicI64>) -> Store {
    let config = StoreConfig {
        database_url: db.url.clone(),
        blob_url: db.blob_url.clone().unwrap_or_else(|| format!("file://{}/blobs", dir.display())),
        secret_file: dir.join("secret.key"),
        code_digits: 8,
        trace_retention: Duration::from_secs(30 * 86400),
        audit_retention: Duration::from_secs(365 * 86400),
    };
    Store::open(&config).await.unwrap().with_clock(Clock::Manual(clock.clone()))
}

fn message(id: &str) -> NewMessage {
    NewMessage { id: id.into(), queue: "bw".into(), site: "main".into(), created_at: T0, expires_at: T0 + RETENTION, held: false }
}

fn job(id: &str, sealed: Vec<u8>) -> NewJob {
    NewJob {
        id: id.into(),
        seq: 0,
        filename: "a.pdf".into(),
        pages: 1,
        color: false,
        color_pages: 0,
        copies: 1,
        duplex: false,
        page_range: String::new(),
        sealed,
    }
}

async fn record(store: &Store, id: &str, job_id: &str) -> ReleaseCode {
    match store.record(&message(id), vec![job(job_id, vec![7; 100])], None, |_| None).await.unwrap() {
        Recorded::New(code) => code,
        Recorded::AlreadyStored => panic!("stored twice"),
    }
}

/// Job blobs in the store, whichever back end holds them.
async fn blob_files(store: &Store) -> usize {
    store.blobs().list_older_than("jobs/", i64::MAX).await.unwrap().len()
}

/// Runs `body` on SQLite + local blobs, PostgreSQL + local blobs, PostgreSQL + S3.
macro_rules! on_both_back_ends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let db = super::Db::sqlite(dir.path());
                super::$body(&db, dir.path()).await;
            }
            #[tokio::test]
            async fn postgres() {
                let dir = tempfile::tempdir().unwrap();
                let db = super::Db::postgres();
                super::$body(&db, dir.path()).await;
            }
            #[tokio::test]
            async fn postgres_s3() {
                let dir = tempfile::tempdir().unwrap();
                let db = super::Db::postgres_s3();
                super::$body(&db, dir.path()).await;
            }
        }
    };
}

async fn expiry_is_exact(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(db, dir, &clock).await;
    let code = record(&store, "m1", "j1").await;
    clock.store(T0 + RETENTION - 1, Ordering::SeqCst);
    assert_eq!(store.release(&code, "main").await.unwrap().len(), 1, "one second before expiry the job is releasable");
    assert!(matches!(store.release(&code, "other-site").await, Err(StoreError::NotFound)), "another site never sees it");
    assert_eq!(store.purge_expired(store.now()).await.unwrap(), 0);
    clock.store(T0 + RETENTION, Ordering::SeqCst);
    assert!(matches!(store.release(&code, "main").await, Err(StoreError::NotFound)), "at the retention time it is gone");
    assert!(matches!(store.job("j1", "main").await, Err(StoreError::NotFound)));
    assert_eq!(blob_files(&store).await, 1, "the blob waits for the janitor");
    assert_eq!(store.purge_expired(store.now()).await.unwrap(), 1);
    assert_eq!(blob_files(&store).await, 0, "purge leaves no blob");
    assert!(!store.message_exists("m1").await.unwrap(), "the message row went with its last job");
    assert_eq!(store.purge_expired(store.now()).await.unwrap(), 0, "nothing twice");
}
on_both_back_ends!(expiry, expiry_is_exact);

async fn acknowledged_jobs_are_destroyed_at_once(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(db, dir, &clock).await;
    let code = record(&store, "m1", "j1").await;
    assert!(
        matches!(store.destroy_job("j1", "other-site").await, Err(StoreError::NotFound)),
        "a station of another site cannot destroy it"
    );
    assert_eq!(blob_files(&store).await, 1);
    store.destroy_job("j1", "main").await.unwrap();
    assert_eq!(blob_files(&store).await, 0, "the blob is gone on acknowledgement");
    assert!(matches!(store.release(&code, "main").await, Err(StoreError::NotFound)));
    assert!(!store.message_exists("m1").await.unwrap());
}
on_both_back_ends!(ack, acknowledged_jobs_are_destroyed_at_once);

/// Two nodes run the janitor at the same moment over a backlog: every job is purged by
/// exactly one of them.
async fn two_janitors_purge_each_job_once(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let (a, b) = (open(db, dir, &clock).await, open(db, dir, &clock).await);
    const JOBS: usize = 260;
    for i in 0..JOBS {
        record(if i % 2 == 0 { &a } else { &b }, &format!("m{i}"), &format!("j{i}")).await;
    }
    assert_eq!(blob_files(&a).await, JOBS);
    clock.store(T0 + RETENTION, Ordering::SeqCst);
    let at = a.now();
    let (na, nb) = tokio::join!(a.purge_expired(at), b.purge_expired(at));
    let (na, nb) = (na.unwrap(), nb.unwrap());
    assert_eq!(na + nb, JOBS, "node A purged {na}, node B {nb}: each job exactly once");
    assert_eq!(blob_files(&a).await, 0);
}
on_both_back_ends!(two_nodes, two_janitors_purge_each_job_once);

/// A blob no row names (a crash between blob and row) is removed once it is older than the
/// grace period, never before (it could belong to a store in flight).
async fn orphans_are_collected_after_the_grace_period(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(printgate::store::now()));
    let store = open(db, dir, &clock).await;
    record(&store, "m1", "live").await;
    store.blobs().put(&printgate::store::blob_key("orphan"), vec![1; 10]).await.unwrap();
    assert_eq!(blob_files(&store).await, 2);
    assert_eq!(store.collect_orphans(store.now()).await.unwrap(), 0, "too young to be an orphan");
    let later = store.now() + printgate::store::ORPHAN_GRACE_SECS + 5;
    assert_eq!(store.collect_orphans(later).await.unwrap(), 1);
    assert_eq!(blob_files(&store).await, 1, "the live job's blob stays");
    assert!(store.blobs().get(&printgate::store::blob_key("live")).await.is_ok());
}
on_both_back_ends!(orphans, orphans_are_collected_after_the_grace_period);

/// A message whose reply went to a patron (so a reminder has an address).
async fn record_with_reply(store: &Store, id: &str, job_id: &str) -> ReleaseCode {
    let reply = Some(("printgate@print.test", "patron@example.com"));
    match store.record(&message(id), vec![job(job_id, vec![7; 100])], reply, |_| Some(b"reply".to_vec())).await.unwrap() {
        Recorded::New(code) => code,
        Recorded::AlreadyStored => panic!("stored twice"),
    }
}

const BEFORE: i64 = 12 * 3600;

/// The reminder of a message is due `BEFORE` its expiry, not a second earlier, is queued
/// once, and none comes for a message whose jobs are gone or that had no reply.
async fn reminders_come_once_at_their_time(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(db, dir, &clock).await;
    record_with_reply(&store, "m1", "j1").await;
    record_with_reply(&store, "gone", "j2").await;
    record(&store, "silent", "j3").await; // no reply: nobody to remind
    store.destroy_job("j2", "main").await.unwrap();
    let render =
        |due: &printgate::store::DueReminder| Some(format!("remind {} {} {:?}", due.rcpt, due.expires_at, due.documents).into_bytes());
    let queue = |store: &Store| {
        let store = store.clone();
        async move { store.queue_reminders("bw", BEFORE, "printgate@print.test", render).await.unwrap() }
    };
    let due_at = T0 + RETENTION - BEFORE;
    clock.store(due_at - 1, Ordering::SeqCst);
    assert_eq!(queue(&store).await, 0, "one second early");
    assert_eq!(store.queue_reminders("other-queue", BEFORE, "p@x", render).await.unwrap(), 0, "another queue's setting");
    clock.store(due_at, Ordering::SeqCst);
    assert_eq!(queue(&store).await, 1, "due now: only m1");
    assert_eq!(queue(&store).await, 0, "sent once");
    let items = store.outbox_due(due_at, 100).await.unwrap();
    let reminder = items.iter().find(|i| i.id == "m1-reminder").expect("the reminder is in the outbox");
    assert_eq!(reminder.rcpt, "patron@example.com");
    assert_eq!(String::from_utf8_lossy(&reminder.body), format!("remind patron@example.com {} [\"a.pdf\"]", T0 + RETENTION));
    clock.store(T0 + RETENTION + 10, Ordering::SeqCst);
    assert_eq!(queue(&store).await, 0, "never after expiry");
}
on_both_back_ends!(reminders, reminders_come_once_at_their_time);

/// A claimed reply belongs to its node for the lease: a second claim gets nothing until the
/// lease runs out, then takes it over (the node holding it was killed); once sent it is gone.
async fn outbox_claims_are_leased_and_taken_over(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let (a, b) = (open(db, dir, &clock).await, open(db, dir, &clock).await);
    record_with_reply(&a, "m1", "j1").await;
    let claimed = a.outbox_due(T0, 8).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(b.outbox_due(T0, 8).await.unwrap().is_empty(), "claimed by node A");
    let lease = printgate::store::OUTBOX_LEASE_SECS;
    assert!(b.outbox_due(T0 + lease - 1, 8).await.unwrap().is_empty(), "still A's a second before the lease ends");
    let taken = b.outbox_due(T0 + lease, 8).await.unwrap();
    assert_eq!(taken.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), vec![claimed[0].id.as_str()], "B takes it over");
    assert!(lease <= 120, "a crash must not hold replies for long: lease {lease} s");
    b.outbox_sent(&taken[0].id).await.unwrap();
    assert!(a.outbox_due(T0 + 10 * lease, 8).await.unwrap().is_empty(), "sent replies are never claimed again");
}
on_both_back_ends!(outbox_lease, outbox_claims_are_leased_and_taken_over);

/// A round's delivered replies are marked sent in one statement: each of them, and no other.
async fn a_rounds_replies_are_marked_sent_together(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(db, dir, &clock).await;
    for (m, j) in [("m1", "j1"), ("m2", "j2"), ("m3", "j3")] {
        record_with_reply(&store, m, j).await;
    }
    let claimed = store.outbox_due(T0, 8).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let sent: Vec<String> = claimed.iter().take(2).map(|i| i.id.clone()).collect();
    store.outbox_sent_all(&sent).await.unwrap();
    let lease = printgate::store::OUTBOX_LEASE_SECS;
    let again = store.outbox_due(T0 + lease, 8).await.unwrap();
    assert_eq!(again.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), vec![claimed[2].id.clone()], "only the unmarked one is due again");
}
on_both_back_ends!(outbox_sent_together, a_rounds_replies_are_marked_sent_together);

/// A reply the relay refused for good is never claimed again (a failed one is, at its time);
/// its body (the release code) is erased and the console's record says refused.
async fn refused_replies_are_never_claimed_again(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(db, dir, &clock).await;
    record_with_reply(&store, "m1", "j1").await;
    record_with_reply(&store, "m2", "j2").await;
    let claimed = store.outbox_due(T0, 8).await.unwrap();
    assert_eq!(claimed.len(), 2);
    store.outbox_refused("m1-reply", "permanent error (550): 5.1.1 no such user").await.unwrap();
    store.outbox_failed("m2-reply", T0 + 60, "transient error (451): try later").await.unwrap();
    let later = store.outbox_due(T0 + 3600, 8).await.unwrap();
    assert_eq!(later.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), vec!["m2-reply"], "only the failed one is retried");
    let attempts = store.reply_attempts("m1").await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert!(attempts[0].refused_at.is_some() && attempts[0].sent_at.is_none(), "{attempts:?}");
    assert_eq!((attempts[0].attempts, attempts[0].last_error.as_str()), (1, "permanent error (550): 5.1.1 no such user"));
    assert!(store.reply_attempts("m2").await.unwrap()[0].refused_at.is_none());
}
on_both_back_ends!(outbox_refused, refused_replies_are_never_claimed_again);

/// The dashboard's counts: the outbox backlog (waiting, failing with its attempts, refused for
/// good; delivered replies are not counted) and the jobs waiting per queue, until they expire.
async fn the_dashboard_counts_the_outbox_backlog_and_waiting_jobs(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(db, dir, &clock).await;
    assert_eq!(store.outbox_backlog().await.unwrap(), printgate::store::OutboxBacklog::default());
    for (m, j) in [("m1", "j1"), ("m2", "j2"), ("m3", "j3"), ("m4", "j4"), ("m5", "j5")] {
        record_with_reply(&store, m, j).await;
    }
    let colour = NewMessage { queue: "colour".into(), ..message("m6") };
    assert!(matches!(store.record(&colour, vec![job("j6", vec![7; 100])], None, |_| None).await.unwrap(), Recorded::New(_)));
    assert_eq!(store.outbox_backlog().await.unwrap().waiting, 5);
    store.outbox_refused("m1-reply", "permanent error (550): no such user").await.unwrap();
    store.outbox_failed("m2-reply", T0 + 60, "transient error (451)").await.unwrap();
    store.outbox_failed("m2-reply", T0 + 120, "transient error (451)").await.unwrap();
    store.outbox_failed("m3-reply", T0 + 60, "connection refused").await.unwrap();
    store.outbox_sent("m4-reply").await.unwrap();
    let backlog = store.outbox_backlog().await.unwrap();
    assert_eq!(
        backlog,
        printgate::store::OutboxBacklog { waiting: 1, failing: 2, failed_attempts: 3, most_attempts: 2, refused: 1 },
        "{backlog:?}"
    );
    assert_eq!(store.waiting_jobs_per_queue().await.unwrap(), [("bw".to_owned(), 5), ("colour".to_owned(), 1)]);
    clock.store(T0 + RETENTION, Ordering::SeqCst);
    assert!(store.waiting_jobs_per_queue().await.unwrap().is_empty(), "expired jobs do not wait");
}
on_both_back_ends!(dashboard_counts, the_dashboard_counts_the_outbox_backlog_and_waiting_jobs);

/// The janitor's purges keep exactly what is younger than the cut-off: traces by their
/// arrival, audit events by their time; and a trace recorded twice (a replay) stays one.
async fn traces_and_audit_events_are_purged_at_their_cutoff(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(db, dir, &clock).await;
    let trace = |id: &str, received_at: i64| printgate::store::trace::Trace {
        id: id.to_owned(),
        received_at,
        queue: "bw".into(),
        client_ip: "192.0.2.1".into(),
        helo: "h".into(),
        mail_from: "patron@example.com".into(),
        header_from: "patron@example.com".into(),
        message_id: format!("{id}@example.com"),
        size: 100,
        tls: false,
        outcome: "refused".into(),
        reply: "554".into(),
        spam_score: Some(1.0),
        spam_rules: String::new(),
        virus: String::new(),
        auth: String::new(),
        grade: "unauthenticated".into(),
        documents: Vec::new(),
    };
    store.record_trace(&trace("old", T0 - 100)).await.unwrap();
    store.record_trace(&trace("edge", T0)).await.unwrap();
    store.record_trace(&trace("edge", T0)).await.unwrap(); // a replay: still one
    store.audit("station_locked_out", Some("s1"), None, "old").await.unwrap();
    clock.store(T0 + 50, Ordering::SeqCst);
    store.audit("station_locked_out", Some("s1"), None, "new").await.unwrap();
    assert_eq!(store.purge_traces(T0).await.unwrap(), 1, "only the trace received before the cut-off");
    assert_eq!(store.recent_traces(10).await.unwrap(), vec!["edge".to_owned()]);
    assert_eq!(store.purge_audit_events(T0 + 50).await.unwrap(), 1);
    let left: Vec<String> = store.audit_events(0).await.unwrap().into_iter().map(|e| e.detail).collect();
    assert_eq!(left, vec!["new".to_owned()]);
}
on_both_back_ends!(purges, traces_and_audit_events_are_purged_at_their_cutoff);

/// A message that arrives with less time left than `BEFORE` gets no reminder; and two nodes
/// running the janitor together queue each reminder once.
async fn two_nodes_queue_each_reminder_once(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let (a, b) = (open(db, dir, &clock).await, open(db, dir, &clock).await);
    const MESSAGES: usize = 120;
    for i in 0..MESSAGES {
        record_with_reply(if i % 2 == 0 { &a } else { &b }, &format!("m{i}"), &format!("j{i}")).await;
    }
    let short = NewMessage { expires_at: T0 + BEFORE - 1, ..message("short") };
    store_short(&a, &short).await;
    clock.store(T0 + RETENTION - BEFORE + 1, Ordering::SeqCst);
    let render = |_: &printgate::store::DueReminder| Some(b"r".to_vec());
    let (na, nb) = tokio::join!(
        a.queue_reminders("bw", BEFORE, "printgate@print.test", render),
        b.queue_reminders("bw", BEFORE, "printgate@print.test", render)
    );
    let (na, nb) = (na.unwrap(), nb.unwrap());
    assert_eq!(na + nb, MESSAGES, "node A queued {na}, node B {nb}: each reminder exactly once");
    clock.store(T0 + BEFORE - 2, Ordering::SeqCst);
    assert_eq!(a.queue_reminders("bw", BEFORE, "printgate@print.test", render).await.unwrap(), 0, "too short-lived for a reminder");
}
on_both_back_ends!(reminders_two_nodes, two_nodes_queue_each_reminder_once);

/// Attempt counters are one per cluster, and counting is checking: 100 attempts at once over
/// two nodes take exactly the limit's slots, their failures start exactly one lock-out, both
/// nodes refuse while it lasts, and the janitor drops it when it ends.
async fn two_nodes_share_attempt_counters(db: &Db, dir: &Path) {
    use printgate::store::{Admission, AttemptLimit};
    let clock = Arc::new(AtomicI64::new(T0));
    let (a, b) = (open(db, dir, &clock).await, open(db, dir, &clock).await);
    let limit = AttemptLimit { max: 10, window_secs: 600, lockout_secs: 900 };
    let keys = vec![("release:station:s1".to_owned(), limit), ("release:address:192.0.2.1".to_owned(), AttemptLimit { max: 50, ..limit })];
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let (node, keys) = (if i % 2 == 0 { a.clone() } else { b.clone() }, keys.clone());
        tasks.spawn(async move { (node.admit_attempt(&keys).await.unwrap(), node) });
    }
    let answers = tasks.join_all().await;
    let admitted: Vec<Store> = answers.iter().filter(|(r, _)| *r == Admission::Admitted).map(|(_, n)| n.clone()).collect();
    assert_eq!(admitted.len(), 10, "100 at once over two nodes, limit 10");
    assert!(answers.iter().all(|(r, _)| matches!(r, Admission::Admitted | Admission::Refused { key: 0, locked_until: None })));
    let mut started = Vec::new();
    for node in admitted {
        started.extend(node.attempt_failed(&keys).await.unwrap().into_iter().enumerate().filter_map(|(k, s)| s.map(|s| (k, s))));
    }
    assert_eq!(started.len(), 1, "one lock-out, not one per node: {started:?}");
    assert_eq!((started[0].0, started[0].1.failures, started[0].1.until), (0, 10, T0 + 900));
    for node in [&a, &b] {
        assert_eq!(node.admit_attempt(&keys).await.unwrap(), Admission::Refused { key: 0, locked_until: Some(T0 + 900) });
        let other = vec![("release:station:s2".to_owned(), limit), keys[1].clone()];
        assert_eq!(node.admit_attempt(&other).await.unwrap(), Admission::Admitted, "other stations are free");
        node.attempt_succeeded(&other.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()).await.unwrap();
    }
    clock.store(T0 + 900, Ordering::SeqCst);
    assert!(a.purge_throttle(T0 + 900).await.unwrap() > 0, "the ended lock-out goes");
    assert_eq!(b.admit_attempt(&keys).await.unwrap(), Admission::Admitted, "counting starts afresh");
}
on_both_back_ends!(throttle, two_nodes_share_attempt_counters);

async fn store_short(store: &Store, message: &NewMessage) {
    let reply = Some(("printgate@print.test", "patron@example.com"));
    store.record(message, vec![job("short-job", vec![7; 10])], reply, |_| Some(b"reply".to_vec())).await.unwrap();
}

/// RESEND gives the message a new code in one transaction with its reply: the old code stops
/// releasing, the new one releases; the same command again (a replay) changes nothing; a
/// message without live jobs gets no code.
async fn resend_replaces_the_code(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(db, dir, &clock).await;
    let old = record_with_reply(&store, "m1", "j1").await;
    let reply = printgate::store::NewReply {
        id: "cmd1-reply",
        message_id: "m1",
        mail_from: "printgate@print.test",
        rcpt: "patron@example.com",
        body: &[],
    };
    let render = |code: &ReleaseCode, view: &printgate::store::commands::ResendView| {
        Some(format!("code {} jobs {:?} until {}", code.digits(), view.jobs, view.expires_at).into_bytes())
    };
    let new = match store.resend_code("m1", &reply, render).await.unwrap() {
        printgate::store::Resent::New(code) => code,
        other => panic!("{other:?}"),
    };
    assert_ne!(new, old);
    assert!(matches!(store.release(&old, "main").await, Err(StoreError::NotFound)), "the old code still releases");
    assert_eq!(store.release(&new, "main").await.unwrap().len(), 1, "the new code releases");
    let items = store.outbox_due(T0, 100).await.unwrap();
    let sent = items.iter().find(|i| i.id == "cmd1-reply").expect("the new reply is queued");
    assert_eq!(String::from_utf8_lossy(&sent.body), format!("code {} jobs [(\"a.pdf\", 1, false)] until {}", new.digits(), T0 + RETENTION));
    assert_eq!(store.resend_code("m1", &reply, render).await.unwrap(), printgate::store::Resent::AlreadyDone);
    assert_eq!(store.release(&new, "main").await.unwrap().len(), 1, "a replay keeps the new code");
    store.destroy_job("j1", "main").await.unwrap();
    let again = printgate::store::NewReply { id: "cmd2-reply", ..reply };
    assert_eq!(store.resend_code("m1", &again, render).await.unwrap(), printgate::store::Resent::NotLive);
}
on_both_back_ends!(resend, resend_replaces_the_code);

/// A password change ends every session of that account (and only of that account) in the
/// same step; the other account's session and a fresh login after the change work.
async fn a_password_change_ends_the_accounts_sessions(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(db, dir, &clock).await;
    assert!(store.create_admin_user("librarian", "old-hash").await.unwrap());
    assert!(store.create_admin_user("other", "other-hash").await.unwrap());
    for (session, user) in [("s-desk", "librarian"), ("s-laptop", "librarian"), ("s-other", "other")] {
        store.create_admin_session(session, user, "csrf", T0 + 3600).await.unwrap();
    }
    store.set_admin_password("librarian", "new-hash").await.unwrap();
    for session in ["s-desk", "s-laptop"] {
        assert!(matches!(store.admin_session(session).await, Err(StoreError::NotFound)), "{session} outlived the password change");
    }
    assert_eq!(store.admin_session("s-other").await.unwrap().0, "other");
    assert_eq!(store.admin_user("librarian").await.unwrap().password_hash, "new-hash");
    store.create_admin_session("s-new", "librarian", "csrf", T0 + 3600).await.unwrap();
    assert_eq!(store.admin_session("s-new").await.unwrap().0, "librarian");
    assert!(matches!(store.set_admin_password("nobody", "h").await, Err(StoreError::NotFound)));
}
on_both_back_ends!(password_change, a_password_change_ends_the_accounts_sessions);

/// Nothing readable at rest in PostgreSQL: a full dump of the database holds neither the
/// release code nor the sealed document's plaintext marker.
#[tokio::test]
async fn postgres_holds_no_plaintext_and_no_code() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::postgres();
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(&db, dir.path(), &clock).await;
    let (private_pem, public_pem) = printgate::seal::keys::generate_pem(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let _ = private_pem;
    let key = printgate::seal::SitePublicKey::from_pem(&public_pem).unwrap();
    let marker = format!("PGSTOREMARKER{}", std::process::id());
    let pdf = printgate::convert::sample::sample_pdf(&marker, 1);
    let sealed = printgate::seal::seal(&pdf, [9; 16], "main", &key).unwrap();
    // The reply waits in the outbox (no relay here): it holds the code and the file name, as a
    // real reply does, and must be encrypted at rest.
    let reply = Some(("printgate@print.test", "patron@example.com"));
    let code = match store
        .record(&message("m1"), vec![job("j1", sealed)], reply, |code| {
            Some(format!("Release code: {}\r\nnotes-{marker}.pdf will print\r\n", code.digits()).into_bytes())
        })
        .await
        .unwrap()
    {
        Recorded::New(code) => code,
        Recorded::AlreadyStored => unreachable!(),
    };
    let name = &db.pg.as_ref().unwrap().name;
    let dump = Command::new("pg_dump").args(["-h", "127.0.0.1", "-U", "postgres", "--data-only", name]).output().unwrap();
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(text.contains("m1") && text.contains("patron@example.com"), "the dump has the message and the pending reply");
    // bytea columns are dumped as hex: look for both spellings.
    for (what, secret) in [("the release code", code.digits().to_owned()), ("document or reply plaintext", marker.clone())] {
        assert!(!text.contains(&secret), "{what} is stored in clear");
        assert!(!text.contains(&hex::encode(secret.as_bytes())), "{what} is stored in clear (hex)");
    }
}
