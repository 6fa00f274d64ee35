//! Station token scopes: a `release` token redeems codes but may not list its site's jobs, a
//! `poll` token may; `station-token list` shows scope and last use; `check-config` warns while
//! poll tokens exist; and a database made by the release before scopes keeps its tokens working,
//! as `poll`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Relay, Scanners, Server, release_code, sql};

/// A SQLite database written by printgate before token scopes existed (schema versions 1-9),
/// made with that release's binary:
/// `printgate station-token create --site main` (the token below), a second token revoked with
/// `station-token revoke`, then `PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE`
/// so the file stands alone. It holds no job, message or key: only the schema and two tokens.
/// A committed file rather than running only the first nine migrations: it is what an upgrading
/// site really has on disk, made by the real previous binary, not by today's migration code.
const OLD_DATABASE: &str = "tests/fixtures/store/printgate-0009.db";
/// The fixture's active token (only its SHA-256 is in the file; it opens nothing else).
const OLD_TOKEN: &str = "pgst_abb586ee5e7d51a7f69a24952fb30d68dfc7514e2ffa62cb7fd2b13145ba0430";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert").join(name)
}

fn list_tokens(server: &Server) -> Vec<Vec<String>> {
    let out = common::run(&["station-token", "list", "--config", server.config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| l.split('\t').map(str::to_owned).collect()).collect()
}

fn check_config(config: &Path) -> String {
    let out = common::run(&["check-config", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn a_release_token_redeems_codes_but_cannot_poll_and_a_poll_token_can() {
    let scanners = Scanners::real();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = Server::start_full(&scanners, relay.port, "", "[auth]\nresolver = \"static\"\n");
    let release = server.station_token();
    assert!(!check_config(&server.config).contains("scope poll"), "no poll token yet, no warning");
    let poll = server.station_token_scoped("poll");
    let bad = common::run(&["station-token", "create", "--site", "main", "--scope", "admin", "--config", server.config.to_str().unwrap()]);
    assert!(!bad.status.success(), "an unknown scope is refused");

    let transcript = server.swaks("patron@example.com", "please print", &[&fixture("simple.pdf")]);
    assert!(transcript.contains("250 2.0.0 Ok: queued as"), "{transcript}");
    let code = release_code(&relay.wait_for(1, Duration::from_secs(90))[0]);
    let client = reqwest::blocking::Client::new();
    let url = server.api_url();

    // The release token may not list the site's jobs: 403 naming the scope.
    let listing = client.get(format!("{url}/api/v1/sites/main/jobs")).bearer_auth(&release).send().unwrap();
    assert_eq!(listing.status(), 403);
    let body: serde_json::Value = listing.json().unwrap();
    assert_eq!(body["code"], "insufficient_scope", "{body}");
    assert!(body["message"].as_str().unwrap().contains("scope release"), "{body}");

    // The poll token lists it, as before scopes.
    let listing: serde_json::Value = client.get(format!("{url}/api/v1/sites/main/jobs")).bearer_auth(&poll).send().unwrap().json().unwrap();
    let job = listing["jobs"][0]["id"].as_str().unwrap().to_owned();

    // The release token redeems the code, fetches the job it names and acknowledges it.
    let redeemed =
        client.post(format!("{url}/api/v1/release")).bearer_auth(&release).json(&serde_json::json!({"code": code})).send().unwrap();
    assert_eq!(redeemed.status(), 200);
    assert_eq!(redeemed.json::<serde_json::Value>().unwrap()["jobs"][0]["id"], job.as_str());
    assert_eq!(client.get(format!("{url}/api/v1/jobs/{job}/sealed")).bearer_auth(&release).send().unwrap().status(), 200);
    let ack = client
        .post(format!("{url}/api/v1/jobs/{job}/ack"))
        .bearer_auth(&release)
        .json(&serde_json::json!({"status": "printed"}))
        .send()
        .unwrap();
    assert_eq!(ack.status(), 200);

    // `list`: id, site, scope, created, last use, state; both were used just now.
    let tokens = list_tokens(&server);
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    let mut scopes: Vec<_> = tokens.iter().map(|t| t[2].as_str()).collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["poll", "release"], "{tokens:?}");
    for t in &tokens {
        let last_used: i64 = t[4].parse().unwrap_or_else(|_| panic!("no last use in {t:?}"));
        assert!(last_used >= t[3].parse::<i64>().unwrap(), "{t:?}");
        assert_eq!(t[5], "active");
    }
    // One write a minute per token at most, not one per request.
    let before = sql(&server, "SELECT last_used_at FROM station_tokens ORDER BY created_at, id");
    std::thread::sleep(Duration::from_millis(1100));
    client.get(format!("{url}/api/v1/sites/main/jobs")).bearer_auth(&poll).send().unwrap();
    assert_eq!(sql(&server, "SELECT last_used_at FROM station_tokens ORDER BY created_at, id"), before);

    let warning = check_config(&server.config);
    assert!(warning.contains("1 station token has scope poll: they can list every pending job of their site"), "{warning}");
}

#[test]
fn a_database_of_the_previous_release_keeps_its_tokens_as_poll() {
    let fixture_db = Path::new(env!("CARGO_MANIFEST_DIR")).join(OLD_DATABASE);
    let versions = |db: &Path| -> Vec<String> {
        let out =
            std::process::Command::new("sqlite3").arg(db).arg("SELECT version FROM schema_version ORDER BY version").output().unwrap();
        String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
    };
    assert_eq!(versions(&fixture_db), (1..=9).map(|v| v.to_string()).collect::<Vec<_>>(), "the fixture is a version-9 database");

    let scanners = Scanners::real();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let untouched = tmp.path().join("untouched.db");
    std::fs::copy(&fixture_db, &untouched).unwrap();
    let server = Server::start_custom(&scanners, relay.port, "", "[auth]\nresolver = \"static\"\n", &|config, dir| {
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::copy(&fixture_db, dir.join("data/printgate.db")).unwrap();
        config
    });

    // check-config reads an un-migrated database without migrating it, and counts its active
    // token as the poll token it becomes.
    let old_config = tmp.path().join("old.toml");
    let text = std::fs::read_to_string(&server.config).unwrap();
    let db_url = format!("sqlite://{}/data/printgate.db", server.config.parent().unwrap().display());
    std::fs::write(&old_config, text.replace(&db_url, &format!("sqlite://{}", untouched.display()))).unwrap();
    let warning = check_config(&old_config);
    assert!(warning.contains("1 station token has scope poll"), "{warning}");
    assert_eq!(versions(&untouched).len(), 9, "check-config migrated the database");

    // Opened by today's server: the old token still authenticates and may still poll.
    let client = reqwest::blocking::Client::new();
    let listing = client.get(format!("{}/api/v1/sites/main/jobs", server.api_url())).bearer_auth(OLD_TOKEN).send().unwrap();
    assert_eq!(listing.status(), 200, "{}", listing.text().unwrap());
    let tokens = list_tokens(&server);
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    let active: Vec<_> = tokens.iter().filter(|t| t[5] == "active").collect();
    assert_eq!(active.len(), 1, "{tokens:?}");
    assert_eq!((active[0][1].as_str(), active[0][2].as_str()), ("main", "poll"), "{tokens:?}");
    assert_ne!(active[0][4], "never", "{tokens:?}");
    assert!(server.log().contains("1 station token has scope poll"), "serve warns at start:\n{}", server.log());
}
