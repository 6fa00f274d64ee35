//! `mailbox_uids` (migration 0016) on both SQL back ends: SQLite (a file) and PostgreSQL (the
//! machine's server at 127.0.0.1:5432, a fresh database per test). A decision is found by
//! mailbox, UIDVALIDITY and UID, kept once, and forgotten after the move; two `Store`s on one
//! database stand for two nodes.

mod common;

use std::path::Path;
use std::time::Duration;

use printgate::config::StoreConfig;
use printgate::store::Store;
use printgate::store::mailbox::{MailboxDecision, MailboxUid};

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

fn decision(spool_id: &str, outcome: &str) -> MailboxDecision {
    MailboxDecision { message_id: "a@b".into(), spool_id: spool_id.into(), outcome: outcome.into(), reason: String::new() }
}

async fn decisions_are_kept_once_per_uid_and_forgotten_after_the_move(url: &str, dir: &Path) {
    let (node1, node2) = (open(url, dir).await, open(url, dir).await);
    let at = MailboxUid { mailbox: "print@mail:993/INBOX", uidvalidity: 7, uid: 42 };
    assert_eq!(node1.mailbox_decision(at).await.unwrap(), None);
    node1.record_mailbox_decision(at, &decision("s1", "accepted")).await.unwrap();
    // A second record (another node, a repeat after a crash) keeps the first decision.
    node2.record_mailbox_decision(at, &decision("s2", "refused")).await.unwrap();
    assert_eq!(node2.mailbox_decision(at).await.unwrap(), Some(decision("s1", "accepted")));
    // Another UIDVALIDITY, UID or mailbox is another message.
    for other in [MailboxUid { uidvalidity: 8, ..at }, MailboxUid { uid: 43, ..at }, MailboxUid { mailbox: "other@mail:993/INBOX", ..at }] {
        assert_eq!(node1.mailbox_decision(other).await.unwrap(), None, "{other:?}");
    }
    // UIDs and UIDVALIDITYs use all 32 bits.
    let high = MailboxUid { mailbox: at.mailbox, uidvalidity: u32::MAX, uid: u32::MAX };
    node1.record_mailbox_decision(high, &decision("s3", "refused")).await.unwrap();
    assert_eq!(node2.mailbox_decision(high).await.unwrap().map(|d| d.spool_id), Some("s3".into()));
    node2.forget_mailbox_uid(at).await.unwrap();
    assert_eq!(node1.mailbox_decision(at).await.unwrap(), None);
}

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/store.db", dir.path().display());
    decisions_are_kept_once_per_uid_and_forgotten_after_the_move(&url, dir.path()).await;
}

#[tokio::test]
async fn postgres() {
    let dir = tempfile::tempdir().unwrap();
    let pg = common::PgDatabase::create();
    decisions_are_kept_once_per_uid_and_forgotten_after_the_move(&pg.url, dir.path()).await;
}
