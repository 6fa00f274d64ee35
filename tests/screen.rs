//! Screening against the real daemons: every ClamAV test file (also zipped), spamd's own
//! classification of a ham/spam corpus, live threshold changes by SIGHUP, and scanner deaths
//! in the middle of a load.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::daemons::PrivateDaemons;
use common::{Relay, Scanners, Server};

const TESTFILES: &str = "/usr/share/clamav-testfiles";

fn swaks_attach(server: &Server, body: &str, file: &Path) -> String {
    server.swaks("patron@example.com", body, &[file])
}

#[test]
fn every_clamav_test_file_is_refused_plain_and_zipped() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    let mut files: Vec<PathBuf> = std::fs::read_dir(TESTFILES)
        .expect("clamav-testfiles must be installed; scripts/test installs it")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 40, "expected Debian's 44 test files, found {}", files.len());
    let zip = work.path().join("all-testfiles.zip");
    let status = Command::new("python3")
        .args(["-c", "import sys,zipfile,os\nz=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)\nfor f in sys.argv[2:]: z.write(f, os.path.basename(f))"])
        .arg(&zip)
        .args(&files)
        .status()
        .unwrap();
    assert!(status.success());
    files.push(zip);

    let queue = Arc::new(Mutex::new(files.clone()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let server = Arc::new(server);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (queue, failures, server) = (queue.clone(), failures.clone(), server.clone());
            std::thread::spawn(move || {
                while let Some(file) = queue.lock().unwrap().pop() {
                    let transcript = swaks_attach(&server, "please print", &file);
                    if !transcript.contains("554 5.7.1 Message refused: virus found") {
                        failures.lock().unwrap().push(format!("{}: {transcript}", file.display()));
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "{} of {} not refused:\n{}", failures.len(), files.len(), failures.join("\n"));
    assert_eq!(common::stored_messages(&server), 0);
}

/// spamd's own verdict on a message, asked with spamc (the daemon alone, no printgate).
fn spamc_score(message: &[u8]) -> f64 {
    let spamd = common::daemon_env("PRINTGATE_TEST_SPAMD");
    let (host, port) = spamd.rsplit_once(':').unwrap();
    let mut child = Command::new("spamc")
        .args(["-c", "-d", host, "-p", port])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().split('/').next().unwrap().parse().unwrap_or_else(|_| panic!("spamc said {text:?}"))
}

/// Sends a raw message (as the file holds it) through printgate with swaks.
fn send_raw(server: &Server, path: &Path) -> String {
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{}", server.smtp_port), "--to", "bw@print.example.org"])
        .args(["--from", "patron@example.com", "--data"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ham_and_spam_are_classified_as_spamd_alone_classifies_them() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    // The queue's reject score is spamd's own required_score (5.0) so both must agree.
    let mut server = Server::start(&Scanners::real(), relay.port);
    let config = std::fs::read_to_string(&server.config)
        .unwrap()
        .replace("spam_tag_score = 5.0\nspam_reject_score = 10.0", "spam_tag_score = 4.0\nspam_reject_score = 5.0");
    std::fs::write(&server.config, config).unwrap();
    server.kill();
    server.spawn();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spam-corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let (mut hams, mut spams) = (0, 0);
    for file in &files {
        let message = std::fs::read(file).unwrap();
        let alone = spamc_score(&message);
        let transcript = send_raw(&server, file);
        let refused_as_spam = transcript.contains("550 5.7.1 Message refused as spam");
        // printgate adds one Received header; scores far from the line must classify alike.
        assert_eq!(refused_as_spam, alone >= 5.0, "{}: spamd alone scored {alone}\n{transcript}", file.display());
        if alone >= 5.0 { spams += 1 } else { hams += 1 }
    }
    assert!(hams >= 3 && spams >= 2, "corpus must hold both kinds: {hams} ham, {spams} spam");
}

/// A mail spamd scores between the lines (accepted, tagged) is refused once a reload moves
/// the reject line below its score; a broken file is then refused and the running lines kept.
/// (The lines stay within the rules: above 0, at most 100; GTUBE, at 1000, is refused by any.)
#[test]
fn thresholds_change_on_sighup_without_restart() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    let pdf = work.path().join("doc.pdf");
    std::fs::write(&pdf, printgate::convert::sample::sample_pdf("hup", 1)).unwrap();
    let before = server.swaks("patron@example.com", common::SPAMMY_BODY, &[&pdf]);
    assert!(before.contains("250 2.0.0 Ok: queued as"), "{before}");
    let score: f64 = common::sql(&server, "SELECT spam_score FROM traces")[0].parse().unwrap();
    assert!((3.0..10.0).contains(&score), "the spammy body scored {score}; the test needs 3 to 10");
    let reject = (score - 1.0).floor();
    let config = std::fs::read_to_string(&server.config).unwrap().replace(
        "spam_tag_score = 5.0\nspam_reject_score = 10.0",
        &format!("spam_tag_score = {:.1}\nspam_reject_score = {reject:.1}", reject / 2.0),
    );
    std::fs::write(&server.config, config).unwrap();
    server.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server.log().contains("configuration reloaded") {
        assert!(std::time::Instant::now() < deadline, "no reload logged:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = server.swaks("patron@example.com", common::SPAMMY_BODY, &[&pdf]);
    assert!(after.contains("550 5.7.1 Message refused as spam"), "{after}");

    // A broken file is refused and the running configuration kept.
    std::fs::write(&server.config, "[smtp]\nlisten = 5\n").unwrap();
    server.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server.log().contains("configuration reload failed") {
        assert!(std::time::Instant::now() < deadline, "no failed reload logged:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let still = server.swaks("patron@example.com", common::SPAMMY_BODY, &[&pdf]);
    assert!(still.contains("550 5.7.1 Message refused as spam"), "{still}");
}

#[test]
fn scanners_dying_mid_load_never_let_a_message_through_unscreened() {
    let work = tempfile::tempdir().unwrap();
    let daemons = PrivateDaemons::start();
    let relay = Relay::start(&work.path().join("relay"));
    let scanners = Scanners { clamd: daemons.env("PRINTGATE_TEST_CLAMD"), spamd: daemons.env("PRINTGATE_TEST_SPAMD") };
    let server = Arc::new(Server::start(&scanners, relay.port));
    let pdf = work.path().join("doc.pdf");
    std::fs::write(&pdf, printgate::convert::sample::sample_pdf("load", 1)).unwrap();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let senders: Vec<_> = (0..3)
        .map(|_| {
            let (server, outcomes, pdf) = (server.clone(), outcomes.clone(), pdf.clone());
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let t = server.swaks("patron@example.com", "print", &[&pdf]);
                    let code = ["250 2.0.0", "451 4.7.0"].into_iter().find(|c| t.contains(c)).unwrap_or("other");
                    outcomes.lock().unwrap().push((code, t));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(600));
    daemons.kill("clamd");
    std::thread::sleep(Duration::from_millis(800));
    daemons.kill("spamd");
    for s in senders {
        s.join().unwrap();
    }
    let outcomes = outcomes.lock().unwrap();
    let other: Vec<_> = outcomes.iter().filter(|(c, _)| *c == "other").collect();
    assert!(other.is_empty(), "every reply must be 250 or 451: {other:?}");
    assert!(outcomes.iter().any(|(c, _)| *c == "451 4.7.0"), "the kills never showed");
    // Every accepted message was fully screened: its trace has a spam score and a clean scan.
    let accepted = outcomes.iter().filter(|(c, _)| *c == "250 2.0.0").count();
    let screened = common::sql(&server, "select count(*) from traces where outcome = 'accepted' and spam_score is not null and virus = ''");
    assert_eq!(screened[0].parse::<usize>().unwrap(), accepted);

    // The daemons come back; printgate needs no restart.
    daemons.restart();
    let t = server.swaks("patron@example.com", "print", &[&pdf]);
    assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}\n{}", server.log());
}

#[test]
fn dmarc_reject_failures_are_refused_and_authenticated_senders_pass() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    // example.com publishes SPF for 127.0.0.1 and p=reject; forged.example fails both.
    let records = r#"[auth]
resolver = "static"
records = [
  ["example.com", "v=spf1 ip4:127.0.0.1 -all"],
  ["_dmarc.example.com", "v=DMARC1; p=reject"],
  ["forged.example", "v=spf1 ip4:192.0.2.1 -all"],
  ["_dmarc.forged.example", "v=DMARC1; p=reject"],
]
"#;
    let server = Server::start_full(&Scanners::real(), relay.port, "", records);
    let pdf = work.path().join("doc.pdf");
    std::fs::write(&pdf, printgate::convert::sample::sample_pdf("auth", 1)).unwrap();
    let good = server.swaks("patron@example.com", "print", &[&pdf]);
    assert!(good.contains("250 2.0.0 Ok: queued as"), "{good}");
    let forged = server.swaks("ceo@forged.example", "print", &[&pdf]);
    assert!(forged.contains("550 5.7.1 Sender authentication failed: DMARC policy of forged.example says reject"), "{forged}");
    let row = common::wait_for_trace(&server, "grade, auth", "outcome = 'refused'");
    assert!(row.starts_with("failing|") && row.contains("dmarc=fail"), "{row}");
    let row = common::wait_for_trace(&server, "grade, auth", "outcome = 'accepted'");
    assert!(row.starts_with("authenticated|") && row.contains("spf=pass"), "{row}");
    // The authenticated sender gets the reply.
    relay.wait_for(1, Duration::from_secs(60));
}

#[test]
fn rspamd_can_be_the_spam_engine() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let rspamd = common::daemon_env("PRINTGATE_TEST_RSPAMD");
    let sections = format!(
        "[scan]\nspam_engine = \"rspamd\"\n\n[scan.rspamd]\naddress = \"{rspamd}\"\ntimeout = \"20s\"\n\n[auth]\nresolver = \"static\"\n"
    );
    let server = Server::start_full(&Scanners::real(), relay.port, "", &sections);
    let pdf = work.path().join("doc.pdf");
    std::fs::write(&pdf, printgate::convert::sample::sample_pdf("rspamd", 1)).unwrap();
    let ham = server.swaks("patron@example.com", "Please print my notes.", &[&pdf]);
    assert!(ham.contains("250 2.0.0 Ok: queued as"), "{ham}\n{}", server.log());
    let gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
    let spam = server.swaks("patron@example.com", gtube, &[&pdf]);
    assert!(spam.contains("550 5.7.1 Message refused as spam"), "{spam}");
    let row = common::wait_for_trace(&server, "spam_rules", "outcome = 'refused'");
    assert!(row.contains("GTUBE"), "{row}");

    // rspamd unreachable: a temporary failure naming it.
    let dead = format!(
        "[scan]\nspam_engine = \"rspamd\"\n\n[scan.rspamd]\naddress = \"127.0.0.1:{}\"\n\n[auth]\nresolver = \"static\"\n",
        common::free_port()
    );
    let down = Server::start_full(&Scanners::real(), relay.port, "", &dead);
    let t = down.swaks("patron@example.com", "print", &[&pdf]);
    assert!(t.contains("451 4.7.0 The spam filter (rspamd) is unavailable"), "{t}");
}
