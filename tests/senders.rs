//! The sender policy of a queue through SMTP against a real server (clamd, spamd, smtp-sink as
//! the relay, LibreOffice-free PDFs): the deny and allow lists refuse with `550 5.7.1` in words,
//! are traced, counted in the metrics and never answered by mail (no backscatter); deny beats
//! allow for an address inside an allowed domain. A daily page cap refuses the document that
//! would go over it, with a reply stating the cap, what is left and when it resets, while the
//! mail's other documents print. (Concurrency across nodes: tests/store_budget.rs.)

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::console::{fixture, mail_answer};
use common::{Relay, Scanners, Server, sql};

/// A server whose queue `bw` has `keys` (TOML lines) added.
fn server_with(relay: &Relay, keys: &str) -> Server {
    let keys = keys.to_owned();
    Server::start_custom(&Scanners::real(), relay.port, "", "", &move |config, _| {
        assert!(config.contains("retention = \"72h\"\n"));
        config.replacen("retention = \"72h\"\n", &format!("retention = \"72h\"\n{keys}"), 1)
    })
}

/// A PDF of `pages` pages (copies of the one-page fixture, joined by qpdf).
fn pdf_of(pages: usize, dir: &Path) -> PathBuf {
    let out = dir.join(format!("pages-{pages}.pdf"));
    let one = fixture("simple.pdf");
    let mut cmd = Command::new("qpdf");
    cmd.args(["--empty", "--pages"]);
    for _ in 0..pages {
        cmd.arg(&one);
    }
    let status = cmd.arg("--").arg(&out).status().expect("qpdf must be installed");
    assert!(status.success());
    out
}

/// The text part of a reply.
fn text_of(reply: &[u8]) -> String {
    let message = mail_parser::MessageParser::default().parse(reply).expect("reply parses");
    message.body_text(0).expect("a text part").into_owned()
}

#[test]
fn deny_wins_allow_lists_refuse_others_and_nobody_refused_gets_mail() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = server_with(&relay, "allow_senders = [\"@*.uni.example\"]\ndeny_senders = [\"@spam.test\", \"Blocked@uni.example\"]\n");
    let pdf = fixture("simple.pdf");
    // (sender, the answer's start)
    for (sender, answer) in [
        ("someone@spam.test", "550 5.7.1 This print queue does not take mail from your address"),
        ("blocked@uni.example", "550 5.7.1 This print queue does not take mail from your address"),
        ("guest@example.org", "550 5.7.1 This print queue takes mail only from the library's listed senders"),
        ("student@mail.uni.example", "250 2.0.0 Ok: queued as"),
    ] {
        let t = server.swaks(sender, "please print", &[&pdf]);
        assert!(mail_answer(&t).starts_with(answer), "{sender}: {}\n{t}", mail_answer(&t));
    }
    // Only the allowed student gets a reply, and only one reply ever arrives.
    let replies = relay.wait_for(1, Duration::from_secs(90));
    std::thread::sleep(Duration::from_secs(3));
    let replies = if replies.len() == 1 { relay.wait_for(1, Duration::from_secs(1)) } else { replies };
    assert_eq!(replies.len(), 1, "refused senders got mail");
    assert!(String::from_utf8_lossy(&replies[0]).contains("To: student@mail.uni.example"));
    // Traced with the answer the sender's server got.
    let traced = sql(&server, "SELECT mail_from, outcome FROM traces WHERE outcome = 'refused' ORDER BY mail_from");
    assert_eq!(traced, ["blocked@uni.example|refused", "guest@example.org|refused", "someone@spam.test|refused"]);
    let metrics = reqwest::blocking::get(format!("{}/metrics", server.api_url())).unwrap().text().unwrap();
    for line in ["printgate_sender_refusals_total{cause=\"deny_list\"} 2", "printgate_sender_refusals_total{cause=\"not_allowed\"} 1"] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }
}

#[test]
fn a_document_over_the_daily_cap_is_refused_in_words_and_the_others_print() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = server_with(&relay, "daily_pages = 10\ntimezone = \"Europe/Berlin\"\n");
    let six = pdf_of(6, tmp.path());
    let t = server.swaks("capped@example.com", "please print", &[&six]);
    assert!(mail_answer(&t).starts_with("250"), "{t}");
    let first = relay.wait_for(1, Duration::from_secs(90)).remove(0);
    assert!(text_of(&first).contains("Release code: "), "{}", text_of(&first));
    // The second mail: six more pages would make 12 (refused, 4 left); one page still fits.
    let t = server.swaks("Capped@Example.com", "please print", &[&six, &fixture("simple.pdf")]);
    assert!(mail_answer(&t).starts_with("250"), "{t}");
    let replies = relay.wait_for(2, Duration::from_secs(90));
    let second = text_of(replies.iter().find(|r| **r != first).unwrap());
    assert!(second.contains("Release code: "), "{second}");
    assert!(second.contains("it would go over your daily limit of 10 pages: 4 left today; the count starts again"), "{second}");
    assert!(second.contains("CET") || second.contains("CEST"), "the reset is in the queue's zone: {second}");
    let stored = sql(&server, "SELECT j.filename, j.pages FROM jobs j JOIN traces t ON t.id = j.message_id ORDER BY j.created_at, j.seq");
    assert_eq!(stored, ["pages-6.pdf|6", "simple.pdf|1"], "the over-cap document is not stored; the other is");
    let used = sql(&server, "SELECT pages FROM page_usage WHERE scope = 'sender:bw:capped@example.com'");
    assert_eq!(used, ["7"]);
}

/// The Reply-To of a reply (where commands go).
fn reply_to(raw: &[u8]) -> String {
    let message = mail_parser::MessageParser::default().parse(raw).unwrap();
    message.reply_to().and_then(|a| a.first()).and_then(|a| a.address()).expect("a Reply-To").to_owned()
}

#[test]
fn a_new_sender_confirms_with_yes_before_anything_prints_and_then_prints_directly() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = server_with(&relay, "verify_new_senders = true\n");
    let patron = "new.patron@example.com";
    let t = server.swaks(patron, "please print", &[&fixture("simple.pdf")]);
    assert!(mail_answer(&t).starts_with("250"), "{t}");
    // The question: no code, the document named, YES asked for.
    let question = relay.wait_for(1, Duration::from_secs(90)).remove(0);
    let text = text_of(&question);
    assert!(!text.contains("Release code") && text.contains("simple.pdf") && text.contains("YES on the first line"), "{text}");
    assert!(String::from_utf8_lossy(&question).contains("Subject: Please confirm"), "{}", String::from_utf8_lossy(&question));
    // Held: nothing releasable, not even to a polling station; it waits a day, not 72 hours.
    assert_eq!(sql(&server, "SELECT held, expires_at - created_at FROM messages"), ["1|86400"]);
    let poll = server.station_token_scoped("poll");
    let client = reqwest::blocking::Client::new();
    let listed: serde_json::Value =
        client.get(format!("{}/api/v1/sites/main/jobs", server.api_url())).bearer_auth(&poll).send().unwrap().json().unwrap();
    assert_eq!(listed["jobs"], serde_json::json!([]), "a held job is listed: {listed}");

    // Someone else answering YES to that address changes nothing.
    let t = server.swaks_to(&reply_to(&question), "intruder@example.org", "YES", &[]);
    assert!(mail_answer(&t).starts_with("250"), "{t}");
    // The owner's YES: verified, released, a reply with a working code.
    let t = server.swaks_to(&reply_to(&question), patron, "YES", &[]);
    assert!(mail_answer(&t).starts_with("250"), "{t}");
    let replies = relay.wait_for(2, Duration::from_secs(60));
    let coded = replies.iter().find(|r| **r != question).unwrap();
    let code = common::release_code(coded);
    assert_eq!(common::release_status(&client, &server.api_url(), &server.station_token(), &code), 200);
    assert_eq!(sql(&server, "SELECT held, expires_at - created_at > 86400 FROM messages"), ["0|1"], "kept the full retention from the YES");
    assert_eq!(sql(&server, "SELECT address FROM verified_senders"), [patron]);

    // The next mail from that sender gets its code at once.
    let t = server.swaks("New.Patron@example.com", "please print", &[&fixture("simple.pdf")]);
    assert!(mail_answer(&t).starts_with("250"), "{t}");
    let replies = relay.wait_for(3, Duration::from_secs(90));
    assert_eq!(replies.len(), 3, "the intruder got an answer");
    let direct = replies.iter().find(|r| **r != question && *r != coded).unwrap();
    assert!(text_of(direct).contains("Release code: "), "{}", text_of(direct));
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM messages WHERE held = 1"), ["0"]);
}

/// The console edits the lists and caps with the queue form: a bad pattern is refused at its
/// field and nothing is saved; a saved deny entry refuses the next mail (no restart) and the
/// change is audited with before -> after.
#[test]
fn the_console_edits_the_sender_policy_live_and_audits_it() {
    use common::console::{Browser, PASSWORD};
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = common::console::start(&relay);
    let mut b = Browser::new(&url);
    assert_eq!(b.login("librarian", PASSWORD).0, 303);
    let (_, page) = b.get("/queues");
    assert!(page.contains("These senders may never print") && page.contains("Pages per sender per day"), "{page}");
    let csrf = Browser::csrf(&page);
    let (status, page) = b.post("/queues/bw", &[("csrf", &csrf), ("allow_senders", "@*.uni.example, not-a-pattern")]);
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("is not a sender pattern"), "{page}");
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM queue_settings"), ["0"], "a refused form saved something");

    let save = [
        ("csrf", csrf.as_str()),
        ("deny_senders", "@blocked.test"),
        ("daily_pages", "50"),
        ("verify_new_senders_present", "1"),
        ("verify_new_senders", "1"),
    ];
    let (status, page) = b.post("/queues/bw", &save);
    assert_eq!(status, 303, "{page}");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let t = server.swaks("someone@blocked.test", "please print", &[&fixture("simple.pdf")]);
        if mail_answer(&t).starts_with("550 5.7.1 This print queue does not take mail from your address") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the console's deny entry is not applied: {}", mail_answer(&t));
        std::thread::sleep(Duration::from_millis(500));
    }
    let audit = sql(&server, "SELECT detail FROM audit_events WHERE kind = 'queue_changed'");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(
        audit[0].contains("deny_senders  -> @blocked.test") || audit[0].contains("deny_senders") && audit[0].contains("@blocked.test"),
        "{audit:?}"
    );
    assert!(audit[0].contains("daily_pages") && audit[0].contains("50"), "{audit:?}");
    let (_, page) = b.get("/queues");
    assert!(page.contains("Differs from the config file"), "{page}");

    // A new sender confirms (the console turned verification on), prints a page; the senders
    // page shows the page against the cap and the confirmation; reset and revoke, audited.
    let patron = "counted@example.com";
    let t = server.swaks(patron, "please print", &[&fixture("simple.pdf")]);
    assert!(mail_answer(&t).starts_with("250"), "{t}");
    let question = relay.wait_for(1, Duration::from_secs(90)).remove(0);
    assert!(text_of(&question).contains("YES on the first line"), "{}", text_of(&question));
    server.swaks_to(&reply_to(&question), patron, "YES", &[]);
    relay.wait_for(2, Duration::from_secs(60));
    let lookup = format!("/senders?queue=bw&sender={patron}");
    let (status, page) = b.get(&lookup);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<td>1 of 50</td>") && page.contains("<td>yes</td>"), "{page}");
    assert!(page.contains(&format!("<span class=\"cl\" aria-hidden=\"true\">address</span>{patron}")), "{page}");
    let form = [("csrf", csrf.as_str()), ("queue", "bw"), ("sender", patron)];
    assert_eq!(b.post("/senders/reset", &[("queue", "bw"), ("sender", patron)]).0, 403, "a reset needs the CSRF token");
    assert_eq!(b.post("/senders/reset", &form).0, 303);
    let (_, page) = b.get(&format!("{lookup}&done=reset"));
    assert!(page.contains("<td>0 of 50</td>") && page.contains("set back to zero"), "{page}");
    assert_eq!(b.post("/senders/revoke", &form).0, 303);
    let (_, page) = b.get(&lookup);
    assert!(page.contains("no: their next mail asks them to answer YES"), "{page}");
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM verified_senders"), ["0"]);
    for kind in ["sender_usage_reset", "sender_revoked"] {
        assert_eq!(sql(&server, &format!("SELECT station FROM audit_events WHERE kind = '{kind}'")), ["librarian"], "{kind}");
    }
}
