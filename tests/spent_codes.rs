//! Spent release codes and colour pages. A code whose documents were all printed answers
//! `410 printed`, an expired one `410 expired` (before and after the janitor), neither counts
//! toward the brute-force lock-out while a wrong code still answers `404` and counts; a code a
//! later message draws again means that message; spent codes are forgotten after 30 days.
//! Store-level cases run on SQLite and PostgreSQL (the machine's server, a fresh database per
//! test) on a manual clock; the API, the station client's lines and `color_pages` run end to end
//! through `printgate serve` with real scanners and conversion; migration 0013 is run on the
//! version-9 database of tests/station_tokens.rs and, on both back ends, on rows written before it.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use common::{Relay, Scanners, Server, release_code, sql};
use printgate::config::StoreConfig;
use printgate::store::{
    AttemptLimit, Clock, NewJob, NewMessage, Recorded, Redemption, ReleaseCode, SPENT_CODE_KEEP_SECS, SpentReason, Store,
};

const T0: i64 = 1_800_000_000;
const RETENTION: i64 = 72 * 3600;
/// The version-9 database of tests/station_tokens.rs (made by that release's binary).
const OLD_DATABASE: &str = "tests/fixtures/store/printgate-0009.db";

struct Db {
    url: String,
    pg: Option<common::PgDatabase>,
    sqlite: Option<PathBuf>,
}

impl Db {
    fn sqlite(file: PathBuf) -> Self {
        Self { url: format!("sqlite://{}", file.display()), pg: None, sqlite: Some(file) }
    }

    fn postgres() -> Self {
        let pg = common::PgDatabase::create();
        Self { url: pg.url.clone(), pg: Some(pg), sqlite: None }
    }

    /// Runs SQL statements on the database with its own client (psql, Python's sqlite3), not
    /// printgate's code.
    fn execute(&self, statements: &str) {
        match (&self.pg, &self.sqlite) {
            (Some(pg), _) => {
                pg.query(statements);
            }
            (None, Some(file)) => sqlite_exec(file, statements),
            (None, None) => unreachable!(),
        }
    }
}

fn sqlite_exec(file: &Path, statements: &str) {
    let out = Command::new("python3")
        .args(["-c", "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nc.executescript(sys.argv[2])\nc.commit()"])
        .arg(file)
        .arg(statements)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

async fn open(db: &Db, dir: &Path, clock: &Arc<AtomicI64>, code_digits: usize) -> Store {
    let config = StoreConfig {
        database_url: db.url.clone(),
        blob_url: format!("file://{}/blobs", dir.display()),
        secret_file: dir.join("secret.key"),
        code_digits,
        trace_retention: Duration::from_secs(30 * 86400),
        audit_retention: Duration::from_secs(365 * 86400),
    };
    Store::open(&config).await.unwrap().with_clock(Clock::Manual(clock.clone()))
}

fn job(id: &str, seq: i64, (pages, color_pages): (i64, i64)) -> NewJob {
    NewJob {
        id: id.into(),
        seq,
        filename: format!("{id}.pdf"),
        pages,
        color: color_pages > 0,
        color_pages,
        copies: 1,
        duplex: false,
        page_range: String::new(),
        sealed: vec![7; 64],
    }
}

/// Stores message `id` with one one-page job per name in `jobs`.
async fn record(store: &Store, id: &str, jobs: &[&str]) -> ReleaseCode {
    let message =
        NewMessage { id: id.into(), queue: "bw".into(), site: "main".into(), created_at: T0, expires_at: T0 + RETENTION, held: false };
    let jobs = jobs.iter().enumerate().map(|(seq, j)| job(j, seq as i64, (1, 0))).collect();
    match store.record(&message, jobs, None, |_| None).await.unwrap() {
        Recorded::New(code) => code,
        Recorded::AlreadyStored => panic!("stored twice"),
    }
}

/// A station token's and an address's keys with `max` attempts each.
fn keys(station: &str, max: i64) -> Vec<(String, AttemptLimit)> {
    let limit = AttemptLimit { max, window_secs: 600, lockout_secs: 900 };
    vec![(format!("release:station:{station}"), limit), ("release:address:192.0.2.1".to_owned(), AttemptLimit { max: 1000, ..limit })]
}

async fn redeem(store: &Store, keys: &[(String, AttemptLimit)], code: &ReleaseCode, site: &str) -> Redemption {
    store.redeem_code(keys, Some(code), site).await.unwrap()
}

macro_rules! on_both_back_ends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let db = super::Db::sqlite(dir.path().join("store.db"));
                super::$body(&db, dir.path()).await;
            }
            #[tokio::test]
            async fn postgres() {
                let dir = tempfile::tempdir().unwrap();
                let db = super::Db::postgres();
                super::$body(&db, dir.path()).await;
            }
        }
    };
}

/// Printed, expired (before and after the janitor, also partly printed), other-site, wrong;
/// spent codes never count, wrong ones do; 30 days later a spent code is unknown.
async fn spent_codes_are_told_apart_and_not_counted(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(db, dir, &clock, 8).await;
    let (printed, expired, partly) =
        (record(&store, "m1", &["j1a", "j1b"]).await, record(&store, "m2", &["j2"]).await, record(&store, "m3", &["j3a", "j3b"]).await);
    let station = keys("s1", 3);
    store.destroy_job("j1a", "main").await.unwrap();
    assert!(matches!(redeem(&store, &station, &printed, "main").await, Redemption::Jobs(j) if j.len() == 1), "one job left");
    store.destroy_job("j1b", "main").await.unwrap();
    for _ in 0..10 {
        assert_eq!(redeem(&store, &station, &printed, "main").await, Redemption::Spent(SpentReason::Printed));
    }
    assert!(
        matches!(redeem(&store, &station, &expired, "main").await, Redemption::Jobs(_)),
        "10 spent codes on a limit of 3 count nothing"
    );
    store.destroy_job("j3a", "main").await.unwrap();

    clock.store(T0 + RETENTION, Ordering::SeqCst);
    for code in [&expired, &partly] {
        assert_eq!(redeem(&store, &station, code, "main").await, Redemption::Spent(SpentReason::Expired), "before the janitor");
    }
    assert_eq!(store.purge_expired(store.now()).await.unwrap(), 2, "j2 and j3b");
    assert!(!store.message_exists("m2").await.unwrap() && !store.message_exists("m3").await.unwrap());
    for (code, reason) in [(&expired, SpentReason::Expired), (&partly, SpentReason::Expired), (&printed, SpentReason::Printed)] {
        assert_eq!(redeem(&store, &station, code, "main").await, Redemption::Spent(reason), "after the janitor");
    }

    // Another site's spent code is a wrong code; wrong codes count: the third starts the lock-out,
    // and then even a spent code is refused without a look.
    assert!(matches!(redeem(&store, &station, &printed, "branch").await, Redemption::Wrong(s) if s == [None, None]));
    let wrong = ReleaseCode::parse(if printed.digits() == "00000000" { "11111111" } else { "00000000" }).unwrap();
    assert!(matches!(redeem(&store, &station, &wrong, "main").await, Redemption::Wrong(s) if s == [None, None]));
    assert!(matches!(redeem(&store, &station, &wrong, "main").await, Redemption::Wrong(s) if s[0].is_some()));
    assert!(matches!(redeem(&store, &station, &printed, "main").await, Redemption::Refused { key: 0, locked_until: Some(_) }));

    // Kept 30 days from when each was spent (printed at T0, expired by the janitor at T0 + 72 h).
    let fresh = keys("s2", 3);
    clock.store(T0 + SPENT_CODE_KEEP_SECS, Ordering::SeqCst);
    store.purge_expired(store.now()).await.unwrap();
    assert!(matches!(redeem(&store, &fresh, &printed, "main").await, Redemption::Wrong(_)), "forgotten after 30 days");
    assert_eq!(redeem(&store, &fresh, &expired, "main").await, Redemption::Spent(SpentReason::Expired));
    clock.store(T0 + RETENTION + SPENT_CODE_KEEP_SECS, Ordering::SeqCst);
    store.purge_expired(store.now()).await.unwrap();
    assert!(matches!(redeem(&store, &fresh, &expired, "main").await, Redemption::Wrong(_)));
}
on_both_back_ends!(told_apart, spent_codes_are_told_apart_and_not_counted);

/// Stores messages (with one job each, or none) until one draws a code in `spent`.
async fn draw_a_spent_code(store: &Store, spent: &HashSet<String>, prefix: &str, with_job: bool) -> (String, ReleaseCode) {
    for i in 0..3000 {
        let id = format!("{prefix}{i}");
        let job_id = format!("{id}-job");
        let jobs = if with_job { vec![job_id.as_str()] } else { Vec::new() };
        let code = record(store, &id, &jobs).await;
        if spent.contains(code.digits()) {
            return (id, code);
        }
    }
    panic!("3000 draws of 4-digit codes never hit one of {} spent codes", spent.len());
}

/// With 4-digit codes a new message soon draws a spent code: it releases the new message's
/// jobs, and when that message is gone its own reason replaces the old one; a new message
/// without jobs (all its documents refused) makes the code wrong again, not "printed".
async fn a_code_drawn_again_means_its_new_message(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(db, dir, &clock, 4).await;
    let mut spent = HashSet::new();
    for i in 0..150 {
        spent.insert(record(&store, &format!("old{i}"), &[&format!("old{i}-job")]).await.digits().to_owned());
        store.destroy_job(&format!("old{i}-job"), "main").await.unwrap();
    }
    let station = keys("s1", 100_000);
    let (_, again) = draw_a_spent_code(&store, &spent, "live", true).await;
    assert!(matches!(redeem(&store, &station, &again, "main").await, Redemption::Jobs(j) if j.len() == 1), "the live message wins");
    let (_, empty) = draw_a_spent_code(&store, &spent, "empty", false).await;
    assert!(matches!(redeem(&store, &station, &empty, "main").await, Redemption::Wrong(_)), "a message with no jobs is no printed code");
    clock.store(T0 + RETENTION, Ordering::SeqCst);
    store.purge_expired(store.now()).await.unwrap();
    for code in [&again, &empty] {
        assert_eq!(redeem(&store, &station, code, "main").await, Redemption::Spent(SpentReason::Expired), "the new message's reason");
    }
}
on_both_back_ends!(drawn_again, a_code_drawn_again_means_its_new_message);

/// `color_pages` is stored and listed; migration 0013 run on rows written before it counts every
/// page of a colour job. (The migration is undone with the database's own client, the rows
/// written without the column, then the store migrates again.)
async fn color_pages_are_listed_and_migrated(db: &Db, dir: &Path) {
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(db, dir, &clock, 8).await;
    let message = NewMessage {
        id: "m1".into(),
        queue: "colour".into(),
        site: "main".into(),
        created_at: T0,
        expires_at: T0 + RETENTION,
        held: false,
    };
    let Recorded::New(code) = store.record(&message, vec![job("c", 0, (5, 3)), job("m", 1, (2, 0))], None, |_| None).await.unwrap() else {
        panic!("stored twice")
    };
    let listed: Vec<(i64, i64)> = store.release(&code, "main").await.unwrap().iter().map(|j| (j.pages, j.color_pages)).collect();
    assert_eq!(listed, [(5, 3), (2, 0)]);
    assert_eq!(store.site_jobs("main", 10).await.unwrap().iter().map(|j| j.color_pages).collect::<Vec<_>>(), [3, 0]);
    drop(store);

    db.execute(
        "DROP TABLE spent_codes; ALTER TABLE jobs DROP COLUMN color_pages; DELETE FROM schema_version WHERE version = 13; \
         INSERT INTO messages (id, queue, site, code_hash, created_at, expires_at) VALUES ('m0', 'bw', 'main', 'h0', 1, 1900000000); \
         INSERT INTO jobs (id, message_id, seq, site, filename, pages, color, copies, bytes, sha256, blob_key, created_at, expires_at) \
           VALUES ('old-colour', 'm0', 0, 'main', 'a.pdf', 4, 1, 1, 1, 'x', 'k1', 1, 1900000000), \
                  ('old-mono', 'm0', 1, 'main', 'b.pdf', 2, 0, 1, 1, 'x', 'k2', 1, 1900000000);",
    );
    let store = open(db, dir, &clock, 8).await;
    let jobs: Vec<(String, i64)> = store.site_jobs("main", 10).await.unwrap().into_iter().map(|j| (j.id, j.color_pages)).collect();
    let old: Vec<_> = jobs.iter().filter(|(id, _)| id.starts_with("old")).cloned().collect();
    assert_eq!(old, [("old-colour".to_owned(), 4), ("old-mono".to_owned(), 0)], "{jobs:?}");
    store.destroy_job("old-colour", "main").await.unwrap();
    store.destroy_job("old-mono", "main").await.unwrap();
    assert!(!store.message_exists("m0").await.unwrap(), "the spent_codes table works again");
}
on_both_back_ends!(color_pages, color_pages_are_listed_and_migrated);

/// The previous release's database (schema 1-9, a station token) upgrades to 0013: the token
/// still authenticates, jobs it had get `color_pages`, and printed codes are spent.
#[tokio::test]
async fn the_version_9_database_upgrades() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("printgate.db");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(OLD_DATABASE), &file).unwrap();
    sqlite_exec(
        &file,
        "INSERT INTO messages (id, queue, site, code_hash, created_at, expires_at) VALUES ('m0', 'bw', 'main', 'h0', 1, 1900000000); \
         INSERT INTO jobs (id, message_id, seq, site, filename, pages, color, copies, bytes, sha256, blob_key, created_at, expires_at) \
           VALUES ('old-colour', 'm0', 0, 'main', 'a.pdf', 3, 1, 1, 1, 'x', 'k1', 1, 1900000000);",
    );
    let db = Db::sqlite(file.clone());
    let clock = Arc::new(AtomicI64::new(T0));
    let store = open(&db, dir.path(), &clock, 8).await;
    let token = store.station_token("pgst_abb586ee5e7d51a7f69a24952fb30d68dfc7514e2ffa62cb7fd2b13145ba0430").await.unwrap();
    assert_eq!(token.site, "main");
    assert_eq!(store.site_jobs("main", 10).await.unwrap()[0].color_pages, 3);
    let code = record(&store, "m1", &["j1"]).await;
    store.destroy_job("j1", "main").await.unwrap();
    assert_eq!(redeem(&store, &keys("s1", 3), &code, "main").await, Redemption::Spent(SpentReason::Printed));
    let out = Command::new("sqlite3").arg(&file).arg("SELECT MAX(version) FROM schema_version").output().unwrap();
    let newest = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations")).unwrap().count();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), newest.to_string(), "every migration applied");
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert").join(name)
}

/// Mails `files` to `to`; the code of the new reply (the one whose code is not in `known`:
/// the relay's file names do not keep the order replies came in).
fn mail(server: &Server, relay: &Relay, known: &[&str], to: &str, files: &[&Path]) -> String {
    let transcript = server.swaks_to(to, "patron@example.com", "please print", files);
    assert!(transcript.contains("250 2.0.0 Ok: queued as"), "not accepted:\n{transcript}");
    let codes: Vec<String> = relay.wait_for(known.len() + 1, Duration::from_secs(90)).iter().map(|r| release_code(r)).collect();
    let new: Vec<String> = codes.into_iter().filter(|c| !known.contains(&c.as_str())).collect();
    assert_eq!(new.len(), 1, "{new:?}");
    new[0].clone()
}

/// `POST /api/v1/release`: status and JSON body.
fn release(server: &Server, token: &str, code: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/release", server.api_url()))
        .bearer_auth(token)
        .json(&serde_json::json!({ "code": code }))
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.json().unwrap())
}

/// `printgate station release CODE --out DIR`: success and standard error.
fn station_release(server: &Server, token: &str, code: &str, dir: &Path) -> (bool, String) {
    let out = common::station_release(server, token, code, &[&server.key_path()], dir);
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Through `printgate serve`: colour pages listed; printed -> 410 printed, expired (before and
/// after the janitor) -> 410 expired, each with its own line in `station release`; spent codes
/// do not lock a station out, wrong ones do (`429`, and the station's line names the minutes).
#[test]
fn the_api_and_the_station_tell_wrong_expired_printed_and_locked_out_apart() {
    let scanners = Scanners::real();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let colour_queue = "[[queue]]\naddress = \"colour@print.example.org\"\nname = \"colour\"\nsite = \"main\"\ncolor = true\n\n[[site]]\n";
    let mut server = Server::start_custom(&scanners, relay.port, "", "[auth]\nresolver = \"static\"\n", &|c, _| {
        c.replacen("[[site]]\n", colour_queue, 1)
    });
    let (token, poll) = (server.station_token(), server.station_token_scoped("poll"));
    let colour = mail(&server, &relay, &[], "colour@print.example.org", &[&fixture("colour.pdf")]);
    let mono = mail(&server, &relay, &[&colour], "bw@print.example.org", &[&fixture("colour.pdf"), &fixture("simple.pdf")]);

    // colour.pdf has 2 pages, the second in colour: 1 colour page on the colour queue, 0 on bw.
    let (status, body) = release(&server, &token, &colour);
    assert_eq!(status, 200, "{body}");
    let job = &body["jobs"][0];
    assert_eq!(serde_json::json!([job["pages"], job["color"], job["color_pages"]]), serde_json::json!([2, true, 1]), "{body}");
    let (_, body) = release(&server, &token, &mono);
    let listed: Vec<_> = body["jobs"].as_array().unwrap().iter().map(|j| serde_json::json!([j["color"], j["color_pages"]])).collect();
    assert_eq!(listed, [serde_json::json!([false, 0]), serde_json::json!([false, 0])], "{body}");
    let site: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/sites/main/jobs", server.api_url()))
        .bearer_auth(&poll)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut counts: Vec<i64> = site["jobs"].as_array().unwrap().iter().map(|j| j["color_pages"].as_i64().unwrap()).collect();
    counts.sort_unstable();
    assert_eq!(counts, [0, 0, 1], "{site}");

    // Printed through the station: the code is spent as printed.
    let (ok, stderr) = station_release(&server, &token, &colour, &tmp.path().join("out"));
    assert!(ok, "{stderr}");
    let (status, body) = release(&server, &token, &colour);
    assert_eq!((status, body["code"].as_str()), (410, Some("printed")), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("printed")), "{body}");
    let (ok, stderr) = station_release(&server, &token, &colour, &tmp.path().join("again"));
    assert!(!ok && stderr.contains("everything behind this release code was already printed"), "{stderr}");

    // Expired before the janitor ran (expiry moved into the past in the database), then after.
    let past = "UPDATE messages SET expires_at = 1 WHERE id IN (SELECT message_id FROM jobs); UPDATE jobs SET expires_at = 1;";
    sqlite_exec(&server.data_dir().join("printgate.db"), past);
    assert_eq!(release(&server, &token, &mono).1["code"], "expired");
    server.kill();
    server.spawn(); // the janitor runs at start
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sql(&server, "SELECT COUNT(*) FROM messages")[0] != "0" {
        assert!(std::time::Instant::now() < deadline, "the janitor did not purge the expired message");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, body) = release(&server, &token, &mono);
    assert_eq!((status, body["code"].as_str()), (410, Some("expired")), "{body}");
    let (ok, stderr) = station_release(&server, &token, &mono, &tmp.path().join("expired"));
    assert!(!ok && stderr.contains("this release code has expired"), "{stderr}");

    // Spent codes, many more than the limit of 10: nothing counted, a right code still works.
    for i in 0..12 {
        assert_eq!(release(&server, &token, if i % 2 == 0 { &colour } else { &mono }).0, 410);
    }
    let fresh = mail(&server, &relay, &[&colour, &mono], "bw@print.example.org", &[&fixture("simple.pdf")]);
    assert_eq!(release(&server, &token, &fresh).0, 200, "spent codes locked the station out");

    // Wrong codes still answer 404 and count: the 11th is refused, and so is the right code.
    let wrong: Vec<String> =
        (0..11).map(|i| format!("{:08}", 20_000_000 + i * 7919)).filter(|c| ![&colour, &mono, &fresh].contains(&c)).collect();
    let statuses: Vec<u16> = wrong.iter().map(|c| release(&server, &token, c).0).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 404).count(), 10, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429));
    let (ok, stderr) = station_release(&server, &token, &fresh, &tmp.path().join("locked"));
    assert!(!ok && stderr.contains("locked out after too many wrong release codes: ask staff, or try again in 15 minute(s)"), "{stderr}");
    let (ok, stderr) = station_release(&server, &server.station_token(), &wrong[0], &tmp.path().join("wrong"));
    assert!(!ok && stderr.contains("unknown release code"), "{stderr}");

    let log = server.log();
    assert!(log.contains("spent release code"), "{log}");
    assert!([&colour, &mono, &fresh].iter().all(|c| !log.contains(c.as_str())), "a code reached the log");
}
