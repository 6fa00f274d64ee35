//! Benchmark of mailbox intake (issue [6/8]): N messages already in a Dovecot mailbox (a
//! private instance, `common::dovecot`) are read, screened (the real clamd and spamd) and
//! spooled; the rate is compared with N mails sent over SMTP to the same server (4 concurrent
//! senders, a new connection per mail), in the same run. Ignored by default; run through
//! `scripts/bench/mailbox [N]` (`PRINTGATE_MAILBOX_BENCH=N`, default 500).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::dovecot::Dovecot;
use common::smtp_client::Outcome;
use common::{Relay, Scanners, Server};

#[test]
#[ignore = "a benchmark: scripts/bench/mailbox"]
fn mailbox_intake_rate_beside_smtp() {
    let n: usize = std::env::var("PRINTGATE_MAILBOX_BENCH").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let work = tempfile::tempdir().unwrap();
    let dovecot = Dovecot::start("print", "secret");
    let relay = Relay::start(&work.path().join("relay"));
    // Every message a different sender (the hourly per-sender limit) and a different PDF.
    let mail = |i: usize, via: &str| {
        let from = format!("patron{i}.{via}@example.com");
        let pdf = printgate::convert::sample::sample_pdf(&format!("{via} {i}"), 1);
        format!("Return-Path: <{from}>\r\n{}", common::mime_with_pdf(&from, &format!("{via}-{i}@bench.test"), &pdf))
    };
    let appended = Instant::now();
    let mails: Vec<Vec<u8>> = (0..n).map(|i| mail(i, "imap").into_bytes()).collect();
    dovecot.append_many("INBOX", &mails);
    eprintln!("appended {n} messages in {:.1} s", appended.elapsed().as_secs_f64());
    let port = dovecot.port;
    // The SMTP side from one address: its per-minute limit out of the way.
    let limits = "max_messages_per_ip_per_minute = 1000000";
    let server = Server::start_custom(&Scanners::real(), relay.port, limits, "", &move |config, dir| {
        let file = dir.join("imap-password");
        std::fs::write(&file, "secret\n").unwrap();
        format!(
            "{config}\n[[mailbox]]\nurl = \"imap://127.0.0.1:{port}/INBOX\"\nusername = \"print\"\npassword_file = \"{}\"\nqueue = \"bw\"\n",
            file.display()
        )
    });
    let started = Instant::now();
    dovecot.wait_count("Processed", n, Duration::from_secs(3600));
    let imap = started.elapsed().as_secs_f64();
    // The pipeline finishes the mailbox's messages before the SMTP phase starts.
    relay.wait_for(n, Duration::from_secs(3600));

    let next = Arc::new(AtomicUsize::new(0));
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let started = Instant::now();
    let smtp_port = server.smtp_port;
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (next, outcomes, mail) = (next.clone(), outcomes.clone(), mail);
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        return;
                    }
                    let from = format!("patron{i}.smtp@example.com");
                    let outcome = common::smtp_client::send(smtp_port, &from, "bw@print.example.org", mail(i, "smtp"));
                    outcomes.lock().unwrap().push(outcome);
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let smtp = started.elapsed().as_secs_f64();
    let accepted = outcomes.lock().unwrap().iter().filter(|o| matches!(o, Outcome::Accepted(_))).count();
    assert_eq!(accepted, n, "every SMTP mail accepted");
    assert_eq!(dovecot.count("INBOX"), 0);
    assert_eq!(dovecot.count("Refused"), 0);
    let (imap_rate, smtp_rate) = (n as f64 / imap, n as f64 / smtp);
    println!("mailbox: {n} messages read, screened, spooled and moved in {imap:.1} s: {imap_rate:.1} msg/s");
    println!("smtp: {n} mails accepted (250) by 4 senders in {smtp:.1} s: {smtp_rate:.1} msg/s");
    println!("ratio mailbox/smtp: {:.2}", imap_rate / smtp_rate);
}
