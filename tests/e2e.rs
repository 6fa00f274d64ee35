//! System tests of the walking skeleton: real swaks -> printgate -> real clamd/spamd ->
//! SQLite + blobs -> reply through smtp-sink -> `printgate station release`.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{BIN, Relay, Scanners, Server};

const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn emailed_pdf_is_released_byte_for_byte_and_never_stored_in_clear() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    let marker = format!("PGMARKER{}", std::process::id());
    let pdf = printgate::convert::sample::sample_pdf(&format!("Library notes {marker}"), 2);
    let attachment = write(work.path(), "notes.pdf", &pdf);

    let transcript = server.swaks("patron@example.com", "Please print this.", &[&attachment]);
    assert!(transcript.contains("250 2.0.0 Ok: queued as"), "not accepted:\n{transcript}\n{}", server.log());

    let replies = relay.wait_for(1, Duration::from_secs(60));
    let reply = String::from_utf8_lossy(&replies[0]);
    assert!(reply.contains("RCPT TO:<patron@example.com>") || reply.contains("patron@example.com"), "{reply}");
    let code = common::release_code(&replies[0]);
    assert_eq!(code.len(), 8, "code {code:?}");
    let text = mail_parser::MessageParser::default().parse(&replies[0]).unwrap().body_text(0).unwrap().into_owned();
    assert!(text.contains("notes.pdf: 2 pages, black and white"), "{text}");
    assert!(text.contains("UTC"), "expiry missing: {text}");

    // Nothing in clear at rest: neither the document nor the code.
    let data = server.data_dir();
    assert_eq!(common::tree_contains(&data, marker.as_bytes()), None, "plaintext document found at rest");
    assert_eq!(common::tree_contains(&data, code.as_bytes()), None, "release code found in clear");
    let spaced = format!("{} {}", &code[..4], &code[4..]);
    assert_eq!(common::tree_contains(&data, spaced.as_bytes()), None, "release code found in clear");

    // Wrong code: 404 from the API.
    let token = server.station_token();
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    let status = http_release(&server, &token, wrong);
    assert_eq!(status, 404);

    // The station redeems, decrypts, writes, acknowledges.
    let out_dir = work.path().join("printed");
    let station = station_release(&server, &token, &code, &out_dir);
    assert!(station.status.success(), "station failed: {}", String::from_utf8_lossy(&station.stderr));
    let written = std::fs::read(out_dir.join("notes.pdf")).unwrap();
    assert_eq!(common::sha256_hex(&written), common::sha256_hex(&pdf));

    // Acknowledged jobs are gone: the same code now answers "already printed" (410), and the
    // blob is destroyed.
    let again = station_release(&server, &token, &code, &work.path().join("again"));
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already printed"), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(http_release(&server, &token, &code), 410);
    let blobs: Vec<_> = walk(&data.join("blobs"));
    assert!(blobs.is_empty(), "blobs left after ack: {blobs:?}");

    // The admin's trace: accepted, the document stored with its pages, the code only hashed.
    let row = common::wait_for_trace(&server, "outcome, mail_from, documents, code_hash", "outcome = 'accepted'");
    assert!(row.starts_with("accepted|patron@example.com|"), "{row}");
    assert!(row.contains("\"outcome\":\"stored\"") && row.contains("\"pages\":2"), "{row}");
    assert!(!row.contains(&code) && !row.ends_with("|None"), "{row}");
}

#[test]
fn a_station_token_is_required() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    assert_eq!(http_release(&server, "pgst_not-a-token", "12345678"), 401);
}

#[test]
fn eicar_attachment_is_refused_naming_the_signature() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    let eicar = write(work.path(), "invoice.pdf", EICAR.as_bytes());
    let transcript = server.swaks("patron@example.com", "see attached", &[&eicar]);
    let line = reply_line(&transcript, "554 5.7.1");
    assert!(line.contains("virus found") && line.to_ascii_lowercase().contains("eicar"), "{line}");
    let row = common::wait_for_trace(&server, "outcome, virus, reply", "outcome = 'refused'");
    assert!(row.starts_with("refused|") && row.to_ascii_lowercase().contains("eicar") && row.contains("554 5.7.1"), "{row}");
}

#[test]
fn gtube_is_refused_naming_the_score() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    let pdf = write(work.path(), "doc.pdf", &printgate::convert::sample::sample_pdf("spam", 1));
    let transcript = server.swaks("spammer@example.com", GTUBE, &[&pdf]);
    let line = reply_line(&transcript, "550 5.7.1");
    let score: f64 = line.split("score ").nth(1).and_then(|s| s.split(' ').next()).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    assert!(score >= 900.0 && line.contains("limit 10.0"), "GTUBE scores about 1000: {line}");
    let row = common::wait_for_trace(&server, "outcome, spam_score, spam_rules", "outcome = 'refused'");
    assert!(row.starts_with("refused|") && row.contains("GTUBE"), "{row}");
}

#[test]
fn text_only_mail_is_refused_as_nothing_printable() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    // A queue that prints PDF only (the default accepts text as well).
    let server = Server::start_custom(&Scanners::real(), relay.port, "", "[auth]\nresolver = \"static\"\n", &|config, _| {
        config.replacen("name = \"bw\"", "name = \"bw\"\nallowed_types = [\"pdf\"]", 1)
    });
    let txt = write(work.path(), "notes.txt", b"just some notes\n");
    let transcript = server.swaks("patron@example.com", "print please", &[&txt]);
    let line = reply_line(&transcript, "550 5.6.0");
    assert!(line.contains("Nothing printable") && line.contains("notes.txt"), "{line}");
}

#[test]
fn clamd_down_is_a_temporary_failure() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    // A socket path nobody listens on: what printgate sees when clamd is stopped.
    let dead = format!("unix:{}/clamd-stopped.sock", work.path().display());
    let server = Server::start(&Scanners { clamd: dead, spamd: common::daemon_env("PRINTGATE_TEST_SPAMD") }, relay.port);
    let pdf = write(work.path(), "doc.pdf", &printgate::convert::sample::sample_pdf("x", 1));
    let transcript = server.swaks("patron@example.com", "print", &[&pdf]);
    let line = reply_line(&transcript, "451 4.7.0");
    assert!(line.contains("ClamAV"), "{line}");
    assert!(common::tree_contains(&server.data_dir().join("spool"), b"PGSPOOL1").is_none(), "a refused mail was spooled");
}

#[test]
fn spamd_down_is_a_temporary_failure() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let dead = format!("127.0.0.1:{}", common::free_port());
    let server = Server::start(&Scanners { clamd: common::daemon_env("PRINTGATE_TEST_CLAMD"), spamd: dead }, relay.port);
    let pdf = write(work.path(), "doc.pdf", &printgate::convert::sample::sample_pdf("x", 1));
    let transcript = server.swaks("patron@example.com", "print", &[&pdf]);
    let line = reply_line(&transcript, "451 4.7.0");
    assert!(line.contains("SpamAssassin"), "{line}");
}

#[test]
fn unknown_recipient_is_550_5_1_1() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{}", server.smtp_port), "--to", "nobody@print.example.org"])
        .args(["--from", "patron@example.com", "--quit-after", "RCPT"])
        .output()
        .unwrap();
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(transcript.contains("550 5.1.1"), "{transcript}");
}

/// The server's reply line that starts with `code` in a swaks transcript.
fn reply_line(transcript: &str, code: &str) -> String {
    transcript
        .lines()
        .find(|l| l.trim_start_matches(['<', '*', '-', '~', ' ']).starts_with(code))
        .unwrap_or_else(|| panic!("no {code} reply in:\n{transcript}"))
        .to_owned()
}

fn station_release(server: &Server, token: &str, code: &str, out: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(["station", "release", code, "--server", &server.api_url(), "--token", token])
        .arg("--key")
        .arg(server.key_path())
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn http_release(server: &Server, token: &str, code: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/api/v1/release", server.api_url()))
            .bearer_auth(token)
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
        }
    }
    out
}

#[test]
fn subject_and_plus_address_options_reach_the_job_and_the_reply() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    let pdf = write(work.path(), "essay.pdf", &printgate::convert::sample::sample_pdf("options", 3));
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{}", server.smtp_port), "--to", "bw+duplex@print.example.org"])
        .args(["--from", "patron@example.com", "--header", "Subject: essay [2 copies, pages=1-2]"])
        .arg("--attach")
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("250 2.0.0 Ok: queued as"));
    let replies = relay.wait_for(1, Duration::from_secs(60));
    let text = mail_parser::MessageParser::default().parse(&replies[0]).unwrap().body_text(0).unwrap().into_owned();
    assert!(text.contains("Options: double-sided, 2 copies, pages 1-2"), "{text}");
    let code = common::release_code(&replies[0]);
    let token = server.station_token();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let body: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/api/v1/release", server.api_url()))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let job = &body["jobs"][0];
    assert_eq!((job["copies"].as_i64(), job["duplex"].as_bool(), job["page_range"].as_str()), (Some(2), Some(true), Some("1-2")), "{body}");
}

/// The retention promise end to end, through the running server's janitor: an unreleased job,
/// its blob and message, the mail's trace, an audit event and the failure counters all vanish
/// once their time is up, and the code no longer releases (it answers "expired"). The store's
/// retentions are seconds here; a queue keeps jobs at least an hour (a shorter retention is a
/// config error), so the job is stored with the hour and then, while the server is down, its
/// rows are moved an hour into the past (the one clock the test cannot wait for). The janitor's
/// first pass runs when the server starts, so a restart stands in for its minute.
#[test]
fn unreleased_jobs_traces_and_audit_events_vanish_through_the_janitor() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let mut server = Server::start_custom(&Scanners::real(), relay.port, "", "", &|config, _| {
        config
            .replacen("retention = \"72h\"", "retention = \"1h\"", 1)
            .replacen("[store]\n", "[store]\ntrace_retention = \"4s\"\naudit_retention = \"4s\"\n", 1)
            .replacen("[api]\n", "[api]\nmax_failed_codes = 1\nfailed_code_window = \"4s\"\nlockout = \"2s\"\n", 1)
    });
    let pdf = printgate::convert::sample::sample_pdf("retention", 1);
    let attachment = write(work.path(), "notes.pdf", &pdf);
    let transcript = server.swaks("patron@example.com", "Please print.", &[&attachment]);
    assert!(transcript.contains("250 2.0.0 Ok: queued as"), "not accepted:\n{transcript}\n{}", server.log());
    let code = common::release_code(&relay.wait_for(1, Duration::from_secs(60))[0]);
    // One wrong code locks the station out (limit 1): an audit event and the counters' rows.
    let token = server.station_token();
    assert_eq!(http_release(&server, &token, "10000001"), 404);
    assert_eq!(http_release(&server, &token, &code), 429);

    let count =
        |server: &Server, table: &str| -> usize { common::sql(server, &format!("select count(*) from {table}"))[0].parse().unwrap() };
    let blobs = |server: &Server| walk(&server.data_dir().join("blobs")).iter().filter(|p| p.is_file()).count();
    for table in ["jobs", "messages", "traces", "audit_events"] {
        assert_eq!(count(&server, table), 1, "{table} before expiry");
    }
    assert_eq!(count(&server, "throttle_attempts"), 2, "the station's and the address's counters");
    assert_eq!(blobs(&server), 1, "the sealed job's blob");

    let lifetime = common::sql(&server, "select expires_at - created_at from jobs");
    assert_eq!(lifetime, ["3600"], "the job is kept for the queue's retention");

    std::thread::sleep(Duration::from_secs(5));
    server.kill();
    age_by_an_hour(&server);
    server.spawn();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while count(&server, "jobs") > 0 {
        assert!(std::time::Instant::now() < deadline, "the janitor did not purge the expired job:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500)); // the rest of the janitor's pass
    for table in ["jobs", "messages", "traces", "audit_events", "throttle_attempts"] {
        assert_eq!(count(&server, table), 0, "{table} after expiry:\n{}", server.log());
    }
    assert_eq!(blobs(&server), 0, "the expired job's blob is gone");
    assert_eq!(http_release(&server, &server.station_token(), &code), 410, "an expired code releases nothing (410 expired)");
    // What is left of the message is its code's HMAC, to answer "expired" for 30 days.
    assert_eq!(common::sql(&server, "select reason from spent_codes"), ["expired"]);
}

/// Moves the stored message and its jobs an hour into the past (the server is not running).
fn age_by_an_hour(server: &Server) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3,sys\nc = sqlite3.connect(sys.argv[1])\n\
             for t in ('jobs', 'messages'): c.execute(f'update {t} set created_at = created_at - 3600, expires_at = expires_at - 3600')\n\
             c.commit()",
        )
        .arg(server.data_dir().join("printgate.db"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
