//! Malformed-MIME corpus (tests/fixtures/malformed): no panic in intake, a defined SMTP outcome
//! for every message from the real server, and the server still serving afterwards.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{Relay, Scanners, Server};

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed");
    let mut files: Vec<PathBuf> =
        ["cpython", "mail-parser"].iter().flat_map(|d| std::fs::read_dir(root.join(d)).unwrap().map(|e| e.unwrap().path())).collect();
    files.sort();
    assert!(files.len() >= 50, "corpus too small: {}", files.len());
    files
}

#[test]
fn intake_never_panics_and_describes_every_message() {
    for file in corpus() {
        let raw = std::fs::read(&file).unwrap();
        let outcome = std::panic::catch_unwind(|| match printgate::intake::Submission::parse(&raw) {
            Ok(s) => s.describe_contents(),
            Err(e) => e.to_string(),
        });
        let text = outcome.unwrap_or_else(|_| panic!("intake panicked on {}", file.display()));
        assert!(!text.is_empty(), "{}", file.display());
    }
}

#[test]
fn the_server_gives_every_malformed_message_a_definite_reply() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Arc::new(Server::start_with(
        &Scanners::real(),
        relay.port,
        "max_messages_per_ip_per_minute = 10000\nmax_messages_per_sender_per_hour = 10000\nmax_messages_per_domain_per_hour = 10000",
    ));
    let queue = Arc::new(Mutex::new(corpus()));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (queue, failures, server) = (queue.clone(), failures.clone(), server.clone());
            std::thread::spawn(move || {
                while let Some(file) = queue.lock().unwrap().pop() {
                    let out = Command::new("swaks")
                        .args(["--server", &format!("127.0.0.1:{}", server.smtp_port), "--to", "bw@print.example.org"])
                        .args(["--from", "patron@example.com", "--suppress-data", "--data"])
                        .arg(&file)
                        .output()
                        .unwrap();
                    let t = String::from_utf8_lossy(&out.stdout).into_owned();
                    // After DATA's 354, the final reply is 250, or a 5xx naming the reason.
                    let definite = t.contains("250 2.0.0 Ok: queued as")
                        || t.contains("<** 550 5.")
                        || t.contains("<** 554 5.")
                        || t.contains("<** 552 5.");
                    if !definite {
                        failures.lock().unwrap().push(format!("{}:\n{t}", file.display()));
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "{} without a definite reply:\n{}", failures.len(), failures.join("\n"));
    let pdf = work.path().join("after.pdf");
    std::fs::write(&pdf, printgate::convert::sample::sample_pdf("still up", 1)).unwrap();
    assert!(server.swaks("patron@example.com", "print", &[&pdf]).contains("250 2.0.0 Ok"), "{}", server.log());
}
