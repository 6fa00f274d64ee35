//! Mailbox intake (`[[mailbox]]`, issue [6/8]) against a real Dovecot started by the test
//! (`common::dovecot`: a private instance on a loopback port, plain IMAP, a passwd-file user),
//! the real clamd and spamd, and Postfix's smtp-sink as the reply relay. Mail is put in the
//! mailbox with IMAP APPEND (Python's imaplib), as a provider's delivery would.
//!
//! The crash test uses a fault switch: `PRINTGATE_TEST_FAULT=mailbox_pause_after_spool`, honoured
//! only by debug builds (`src/mailbox/round.rs`), makes the mailbox stop right after a message is
//! spooled, before its decision is recorded and before it is moved; the test then kills printgate
//! with SIGKILL there.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::dovecot::Dovecot;
use common::{Relay, Scanners, Server};

const USER: &str = "print";
const PASSWORD: &str = "correct horse";
const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// The config edit of a server reading `dovecot`'s INBOX for queue `bw`, its password file
/// holding `password`. The poll interval is long, so only IMAP IDLE can make a mail arrive
/// within seconds.
fn with_mailbox(dovecot: &Dovecot, password: &str) -> impl Fn(String, &Path) -> String + use<> {
    let (port, password) = (dovecot.port, password.to_owned());
    move |config, dir| {
        let file = dir.join("imap-password");
        std::fs::write(&file, format!("{password}\n")).unwrap();
        format!(
            "{config}\n[[mailbox]]\nurl = \"imap://127.0.0.1:{port}/INBOX\"\nusername = \"{USER}\"\npassword_file = \"{}\"\nqueue = \"bw\"\npoll_interval = \"10m\"\n",
            file.display()
        )
    }
}

fn server(dovecot: &Dovecot, relay: &Relay, password: &str) -> Server {
    Server::start_custom(&Scanners::real(), relay.port, "", "", &with_mailbox(dovecot, password))
}

fn wait_for_log(server: &Server, needle: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !server.log().contains(needle) {
        assert!(Instant::now() < deadline, "no {needle:?} in the log within {timeout:?}:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn mail_with(from: &str, message_id: &str, name: &str, content_type: &str, bytes: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let lines: Vec<&str> = b64.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!(
        "Return-Path: <{from}>\r\nFrom: {from}\r\nTo: print@library.example\r\nSubject: print {name}\r\nMessage-ID: <{message_id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nPlease print.\r\n\
         --b\r\nContent-Type: {content_type}\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

fn pdf_mail(message_id: &str) -> Vec<u8> {
    mail_with("patron@example.com", message_id, "doc.pdf", "application/pdf", &printgate::convert::sample::sample_pdf("mailbox", 1))
}

fn count(server: &Server, table: &str) -> usize {
    common::sql(server, &format!("SELECT COUNT(*) FROM {table}"))[0].parse().unwrap()
}

fn text_of(raw: &[u8]) -> String {
    let message = mail_parser::MessageParser::default().parse(raw).expect("reply parses");
    message.body_text(0).expect("reply has a text part").into_owned()
}

#[test]
fn an_appended_pdf_is_printed_within_seconds_and_a_virus_refused_into_its_folder() {
    let work = tempfile::tempdir().unwrap();
    let dovecot = Dovecot::start(USER, PASSWORD);
    let relay = Relay::start(&work.path().join("relay"));
    let server = server(&dovecot, &relay, PASSWORD);
    wait_for_log(&server, "mailbox connected", Duration::from_secs(30));

    let started = Instant::now();
    dovecot.append("INBOX", &pdf_mail("imap-pdf@example.com"));
    let replies = relay.wait_for(1, Duration::from_secs(60));
    let took = started.elapsed();
    let code = common::release_code(&replies[0]);
    assert_eq!(code.len(), 8, "{code}");
    // IDLE, not the 10-minute poll: the reply comes within seconds (conversion included).
    assert!(took < Duration::from_secs(30), "the reply took {took:?}");
    dovecot.wait_count("Processed", 1, Duration::from_secs(10));
    assert_eq!(dovecot.count("INBOX"), 0);
    assert_eq!(count(&server, "jobs"), 1);

    let eicar = mail_with("patron@example.com", "imap-virus@example.com", "invoice.pdf", "application/pdf", EICAR.as_bytes());
    dovecot.append("INBOX", &eicar);
    dovecot.wait_count("Refused", 1, Duration::from_secs(60));
    assert_eq!(dovecot.count("INBOX"), 0);
    assert_eq!(dovecot.count("Processed"), 1);
    // The refusal is told by reply (the sender is not failing authentication), without a code.
    let replies = relay.wait_for(2, Duration::from_secs(30));
    let refusal = text_of(&replies[1]);
    assert!(!refusal.contains("Release code:"), "{refusal}");
    assert!(refusal.to_ascii_lowercase().contains("eicar"), "{refusal}");
    // No job, and the reason is in the console's message trace and the log.
    assert_eq!(count(&server, "jobs"), 1);
    let trace = common::wait_for_trace(&server, "outcome, reply", "message_id = 'imap-virus@example.com' and outcome = 'refused'");
    assert!(trace.to_ascii_lowercase().contains("eicar"), "{trace}");
    assert!(server.log().contains("outcome=\"refused\""), "{}", server.log());
    assert_eq!(count(&server, "mailbox_uids"), 0, "decisions are forgotten once moved");
    // SIGTERM stops the mailbox task with the rest (IDLE does not hold the drain).
    let mut server = server;
    assert!(server.terminate().success(), "{}", server.log());
}

#[test]
fn sigkill_between_spooling_and_moving_makes_exactly_one_job_and_one_reply() {
    let work = tempfile::tempdir().unwrap();
    let dovecot = Dovecot::start(USER, PASSWORD);
    let relay = Relay::start(&work.path().join("relay"));
    let mut server = server(&dovecot, &relay, PASSWORD);
    wait_for_log(&server, "mailbox connected", Duration::from_secs(30));
    // Restart with the fault switch on (test-only, debug builds).
    server.kill();
    server.env = vec![("PRINTGATE_TEST_FAULT".into(), "mailbox_pause_after_spool".into())];
    server.spawn();
    wait_for_log(&server, "mailbox connected", Duration::from_secs(30));
    dovecot.append("INBOX", &pdf_mail("imap-crash@example.com"));
    wait_for_log(&server, "test fault: mailbox paused after spooling", Duration::from_secs(60));
    server.kill(); // SIGKILL: spooled, not recorded, not moved.
    assert_eq!(dovecot.count("INBOX"), 1, "nothing is moved before the decision is safe");

    server.env.clear();
    server.spawn();
    dovecot.wait_count("Processed", 1, Duration::from_secs(60));
    // The pipeline may have stored the message and the outbox claimed its reply just before the
    // kill: the claim's lease (OUTBOX_LEASE_SECS, 90 s) must run out before it is sent again.
    relay.wait_for(1, Duration::from_secs(150));
    // Time for a second job or reply, were one to come.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(dovecot.count("INBOX"), 0);
    assert_eq!(count(&server, "jobs"), 1);
    assert_eq!(count(&server, "messages"), 1);
    let replies = common::replies_by_mail(&relay.dir);
    assert_eq!(replies.len(), 1, "one mail answered");
    let only = replies.values().next().unwrap();
    assert_eq!(only.ids.len(), 1, "one reply");
    // A kill between the relay's 250 and the outbox's note of it re-sends the same reply (same
    // Message-ID) after the lease: at most once more, as in tests/crash.rs.
    assert!((1..=2).contains(&only.deliveries), "delivered {} times", only.deliveries);
    assert!(spool_is_empty(&server.data_dir().join("spool")), "the spool entry is gone");
}

fn spool_is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().filter_map(Result::ok).all(|e| e.path().is_dir())
}

#[test]
fn a_wrong_password_backs_off_while_smtp_serves_and_a_fixed_file_with_sighup_reads_the_mailbox() {
    let work = tempfile::tempdir().unwrap();
    let dovecot = Dovecot::start(USER, PASSWORD);
    let relay = Relay::start(&work.path().join("relay"));
    let (server, console) = common::console::start_custom(&relay, &with_mailbox(&dovecot, "wrong password"));
    let label = format!("{USER}@127.0.0.1:{}/INBOX", dovecot.port);
    dovecot.append("INBOX", &pdf_mail("imap-waiting@example.com"));

    // A clear line naming the mailbox and the cause, repeated after a back-off.
    wait_for_log(&server, "the IMAP server refused the login", Duration::from_secs(30));
    assert!(server.log().contains(&label), "{}", server.log());
    wait_for_log(&server, "failures=2", Duration::from_secs(30));
    let metrics = reqwest::blocking::get(format!("{}/metrics", server.api_url())).unwrap().text().unwrap();
    assert!(metrics.contains(&format!("printgate_mailbox_errors_total{{mailbox=\"{label}\"}}")), "{metrics}");
    assert!(metrics.contains(&format!("printgate_mailbox_state{{mailbox=\"{label}\",state=\"backoff\"}} 1")), "{metrics}");
    // The console's dashboard shows it too.
    let mut browser = common::console::Browser::new(&console);
    browser.login("librarian", common::console::PASSWORD);
    let (status, page) = browser.get("/");
    assert_eq!(status, 200);
    let row = page.split("<table id=\"mailboxes\">").nth(1).unwrap_or_else(|| panic!("no mailbox table:\n{page}"));
    let shown = label.replace('/', "&#x2f;"); // as the page's HTML escaping writes it
    assert!(row.contains(&shown) && row.contains("backoff") && row.contains("refused the login"), "{row}");

    // SMTP keeps serving meanwhile.
    let pdf = work.path().join("smtp.pdf");
    std::fs::write(&pdf, printgate::convert::sample::sample_pdf("smtp", 1)).unwrap();
    let said = server.swaks("patron@example.com", "please print", &[&pdf]);
    assert!(said.contains("250 2.0.0"), "{said}");
    let replies = relay.wait_for(1, Duration::from_secs(60));
    assert_eq!(common::release_code(&replies[0]).len(), 8);
    assert_eq!(dovecot.count("INBOX"), 1, "the mailbox was not read");

    // The fixed password file is read after SIGHUP, without waiting out the back-off.
    std::fs::write(server.dir.path().join("imap-password"), format!("{PASSWORD}\n")).unwrap();
    server.signal("HUP");
    dovecot.wait_count("Processed", 1, Duration::from_secs(30));
    relay.wait_for(2, Duration::from_secs(60));
    let metrics = reqwest::blocking::get(format!("{}/metrics", server.api_url())).unwrap().text().unwrap();
    assert!(metrics.contains(&format!("printgate_mailbox_state{{mailbox=\"{label}\",state=\"backoff\"}} 0")), "{metrics}");
}

#[test]
fn xoauth2_logs_in_with_the_token_the_command_prints() {
    // Dovecot's XOAUTH2 mechanism hands the bearer token to its passdb as the password, so
    // the passwd-file user's password plays the token the provider would check.
    let token = "ya29.test-token-for-printgate";
    let work = tempfile::tempdir().unwrap();
    let dovecot = Dovecot::start(USER, token);
    let relay = Relay::start(&work.path().join("relay"));
    let port = dovecot.port;
    let server = Server::start_custom(&Scanners::real(), relay.port, "", "", &move |config, _| {
        let command = format!("printf '{{\"access_token\": \"{token}\", \"expires_in\": 3599}}'");
        format!(
            "{config}\n[[mailbox]]\nurl = \"imap://127.0.0.1:{port}/INBOX\"\nusername = \"{USER}\"\noauth_token_command = \"\"\"{command}\"\"\"\nqueue = \"bw@print.example.org\"\n"
        )
    });
    wait_for_log(&server, "mailbox connected", Duration::from_secs(30));
    assert!(dovecot.log().contains("method=XOAUTH2"), "{}", dovecot.log());
    dovecot.append("INBOX", &pdf_mail("imap-oauth@example.com"));
    dovecot.wait_count("Processed", 1, Duration::from_secs(60));
    relay.wait_for(1, Duration::from_secs(60));
    assert!(!server.log().contains(token), "the token is never logged");
}

#[test]
fn imaps_checks_the_certificate_and_reads_once_it_is_trusted() {
    let work = tempfile::tempdir().unwrap();
    let dovecot = Dovecot::start_tls(USER, PASSWORD);
    let relay = Relay::start(&work.path().join("relay"));
    let imaps = dovecot.imaps_port.unwrap();
    let mut server = Server::start_custom(&Scanners::real(), relay.port, "", "", &move |config, dir| {
        let file = dir.join("imap-password");
        std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
        format!(
            "{config}\n[[mailbox]]\nurl = \"imaps://127.0.0.1:{imaps}/INBOX\"\nusername = \"{USER}\"\npassword_file = \"{}\"\nqueue = \"bw\"\n",
            file.display()
        )
    });
    // A self-signed certificate the system does not trust: TLS fails, in words, and nothing is read.
    wait_for_log(&server, "TLS with the IMAP server failed", Duration::from_secs(30));
    dovecot.append("INBOX", &pdf_mail("imap-tls@example.com"));
    // Trusted (rustls' platform verifier reads SSL_CERT_FILE on Linux): read over TLS.
    server.kill();
    server.env = vec![("SSL_CERT_FILE".into(), dovecot.cert().display().to_string())];
    server.spawn();
    wait_for_log(&server, "mailbox connected", Duration::from_secs(30));
    dovecot.wait_count("Processed", 1, Duration::from_secs(60));
    relay.wait_for(1, Duration::from_secs(60));
    assert!(dovecot.log().contains("TLS"), "{}", dovecot.log());
}

#[test]
fn a_message_over_the_size_limit_is_refused_unread() {
    let work = tempfile::tempdir().unwrap();
    let dovecot = Dovecot::start(USER, PASSWORD);
    let relay = Relay::start(&work.path().join("relay"));
    let server = server(&dovecot, &relay, PASSWORD);
    wait_for_log(&server, "mailbox connected", Duration::from_secs(30));
    // The test server's smtp.max_message_bytes is 10 MiB.
    let big = mail_with("patron@example.com", "imap-big@example.com", "big.pdf", "application/pdf", &vec![b'%'; 8 * 1024 * 1024]);
    assert!(big.len() > 10 * 1024 * 1024);
    dovecot.append("INBOX", &big);
    dovecot.wait_count("Refused", 1, Duration::from_secs(60));
    wait_for_log(&server, "Message too large", Duration::from_secs(10));
    assert_eq!(count(&server, "jobs"), 0);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(std::fs::read_dir(&relay.dir).unwrap().count(), 0, "no reply to a sender nobody authenticated");
}

#[test]
fn a_stream_of_mail_is_read_as_it_comes_without_waiting_for_the_poll() {
    let work = tempfile::tempdir().unwrap();
    let dovecot = Dovecot::start(USER, PASSWORD);
    let relay = Relay::start(&work.path().join("relay"));
    let server = server(&dovecot, &relay, PASSWORD);
    wait_for_log(&server, "mailbox connected", Duration::from_secs(30));
    // One after another while earlier ones are being read; the poll is 10 minutes away, so
    // each must be seen through IDLE (or the EXISTS a pass collects, `round::drain`). Whether a
    // message lands inside a pass is up to timing: this does not force that case.
    for i in 0..12 {
        dovecot.append("INBOX", &pdf_mail(&format!("imap-stream-{i}@example.com")));
    }
    dovecot.wait_count("Processed", 12, Duration::from_secs(90));
    relay.wait_for(12, Duration::from_secs(60));
}
