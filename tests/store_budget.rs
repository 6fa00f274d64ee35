//! Daily page caps in the shared store, on SQLite (one file, two `Store`s) and PostgreSQL (two
//! `Store`s, as two nodes): 20 mails of one sender at once never print more than the cap; a
//! message processed again gets the same decision and is not counted twice; the next local day
//! starts from zero; the console's reset empties a sender's count.

mod common;

use std::path::Path;
use std::time::Duration;

use printgate::config::StoreConfig;
use printgate::store::Store;
use printgate::store::budget::{Ask, Budget, Cap, Charge};

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

async fn twenty_mails_at_once_never_print_more_than_the_cap(url: &str, dir: &Path) {
    // Two nodes: two stores (two pools) on the same database.
    let nodes = [open(url, dir).await, open(url, dir).await];
    let asks = [Ask { pages: 3, color_pages: 0 }];
    let mut tasks = Vec::new();
    for i in 0..20 {
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
    twenty_mails_at_once_never_print_more_than_the_cap(&url, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn caps_hold_on_postgres_across_two_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let pg = common::PgDatabase::create();
    twenty_mails_at_once_never_print_more_than_the_cap(&pg.url, dir.path()).await;
}
