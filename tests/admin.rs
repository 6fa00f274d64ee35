//! The admin console against a real server: a browser test in Debian's headless Chromium
//! (playwright-core) that moves a queue's spam lines and sees a mail change outcome; the trace
//! search; login brute force and CSRF.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::console::Browser;
use common::{Relay, Scanners, Server, free_port, sql};

const PASSWORD: &str = "a long librarian passphrase";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert").join(name)
}

/// A server with the console on a free loopback port; returns it and the console's URL.
fn start(relay: &Relay) -> (Server, String) {
    let port = free_port();
    let server = Server::start_full(
        &Scanners::real(),
        relay.port,
        "",
        &format!("[auth]\nresolver = \"static\"\n\n[admin]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    common::wait_for_port(port, Duration::from_secs(10));
    common::console::add_admin(&server, "librarian", PASSWORD);
    (server, format!("http://127.0.0.1:{port}"))
}

fn send(server: &Server, from: &str, file: &Path) -> String {
    server.swaks(from, "please print", &[file])
}

#[test]
fn in_chromium_an_admin_moves_the_reject_line_and_the_next_mail_changes_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    let sender = "regular-patron@example.com";
    for _ in 0..2 {
        let t = send(&server, sender, &fixture("simple.pdf"));
        assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    }
    let scores: Vec<f64> = sql(&server, "SELECT spam_score FROM traces ORDER BY received_at").iter().map(|s| s.parse().unwrap()).collect();
    assert_eq!(scores.len(), 2);
    let score = scores[0];
    assert!((scores[1] - score).abs() < 0.05, "the same mail scored {scores:?}");
    assert!(score < 9.0, "a plain mail scored {score}; the old reject line (10) must be above it");
    // Lines one point below the mail's score: it was accepted, it would be refused now.
    let new_reject = ((score - 1.0) * 10.0).floor() / 10.0;
    let new_tag = new_reject - 1.0;

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/admin-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/admin.mjs"))
        .env("ADMIN_URL", &url)
        .env("ADMIN_USER", "librarian")
        .env("ADMIN_PASSWORD", PASSWORD)
        .env("QUEUE", "bw")
        .env("NEW_TAG", format!("{new_tag:.1}"))
        .env("NEW_REJECT", format!("{new_reject:.1}"))
        .env("SENDER", sender)
        .env("SHOTS_DIR", &shots)
        .env("CHROMIUM", std::env::var("PRINTGATE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
        .output()
        .expect("node must be installed");
    assert!(
        out.status.success(),
        "browser script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').rfind(|l| l.starts_with(b"{")).unwrap()).unwrap();
    // The what-if, before the change: both past mails pass today and would be refused.
    assert_eq!(seen["now-refused"], 0, "{seen}");
    assert_eq!(seen["now-pass"].as_u64().unwrap() + seen["now-tagged"].as_u64().unwrap(), 2, "{seen}");
    assert_eq!(seen["if-refused"], 2, "{seen}");
    assert_eq!(seen["changes"], 2, "{seen}");
    assert!(seen["notice"].as_str().unwrap().contains("bw saved"), "{seen}");
    assert_eq!(seen["traces"], 2, "{seen}");
    assert_eq!(seen["jobs"], 2, "{seen}");
    for page in ["login", "dashboard", "tuning", "queues", "trace", "jobs"] {
        assert!(std::fs::metadata(shots.join(format!("{page}.png"))).is_ok_and(|m| m.len() > 1000), "no screenshot of {page}");
    }
    // Stored, audited, and applied without a restart: the same mail is refused now.
    let audit = sql(&server, "SELECT station || ' ' || detail FROM audit_events WHERE kind = 'queue_changed'");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(
        audit[0].starts_with("librarian queue bw:") && audit[0].contains(&format!("spam_reject_score 10 -> {new_reject}")),
        "{audit:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let t = send(&server, sender, &fixture("simple.pdf"));
        if !t.contains("250 2.0.0 Ok: queued as") {
            break t;
        }
        assert!(Instant::now() < deadline, "the new reject line was not applied:\n{t}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(refused.contains("<** 550 5.7.1"), "{refused}");
}

#[test]
fn a_refused_mail_is_found_by_its_sender_with_the_reason_the_patron_was_told() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    let exe = tmp.path().join("setup.exe");
    let mut pe = b"MZ".to_vec();
    pe.resize(512, 0);
    pe[0x3c] = 0x80;
    pe.extend_from_slice(b"PE\0\0");
    pe.resize(2048, 0);
    std::fs::write(&exe, &pe).unwrap();
    let transcript = send(&server, "Someone.Refused@Example.com", &exe);
    let reply = transcript.lines().find(|l| l.starts_with("<** 5")).unwrap_or_else(|| panic!("not refused:\n{transcript}")).to_owned();
    let reason = reply.trim_start_matches("<** ").splitn(3, ' ').nth(2).unwrap().to_owned();
    send(&server, "other@example.com", &fixture("simple.pdf"));

    let mut b = Browser::new(&url);
    assert_eq!(b.login("librarian", PASSWORD).0, 303);
    let (status, page) = b.get("/trace?sender=someone.refused");
    assert_eq!(status, 200);
    assert_eq!(page.matches("<section class=\"trace\">").count(), 1, "{page}");
    let escaped = reason.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&#34;").replace('\'', "&#39;");
    assert!(page.contains(&escaped) || page.contains(&reason), "reason {reason:?} not in the trace page:\n{page}");
    assert!(page.contains("setup.exe"), "{page}");
    // Found by date too, and by nothing else that does not match.
    let today = sql(&server, "SELECT received_at FROM traces LIMIT 1")[0].parse::<i64>().unwrap();
    let date = jiff::Timestamp::from_second(today).unwrap().strftime("%Y-%m-%d").to_string();
    let (_, by_date) = b.get(&format!("/trace?date={date}"));
    assert_eq!(by_date.matches("<section class=\"trace\">").count(), 2);
    let (_, none) = b.get("/trace?sender=nobody-like-this");
    assert_eq!(none.matches("<section class=\"trace\">").count(), 0);
}

#[test]
fn login_brute_force_is_throttled_and_every_post_needs_the_csrf_token() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    common::console::add_admin(&server, "second", "another long passphrase");

    // CSRF first, from a logged-in session.
    let mut b = Browser::new(&url);
    assert_eq!(b.get("/queues").0, 303, "pages need a login");
    // A login form post without the login CSRF token is refused.
    assert_eq!(b.post("/login", &[("user", "librarian"), ("password", PASSWORD)]).0, 403);
    assert_eq!(b.login("librarian", PASSWORD).0, 303);
    let (status, page) = b.get("/queues");
    assert_eq!(status, 200);
    let csrf = Browser::csrf(&page);
    let form = |token: &'static str| {
        vec![
            ("csrf", token),
            ("spam_tag_score", "1"),
            ("spam_reject_score", "2"),
            ("max_pages", "5"),
            ("retention", "1h"),
            ("allowed_types", "pdf"),
        ]
    };
    for (path, body) in [
        ("/queues/bw", form("")),
        ("/queues/bw", form("0000000000000000000000000000000000000000000000000000000000000000")),
        ("/jobs/00000000000000000000000000000000/cancel", vec![]),
        ("/logout", vec![("csrf", "wrong")]),
    ] {
        assert_eq!(b.post(path, &body).0, 403, "{path} without a valid CSRF token");
    }
    assert!(sql(&server, "SELECT COUNT(*) FROM queue_settings")[0] == "0", "a refused POST changed a queue");
    // A bad value is refused with the reason; the right token saves.
    let (status, page) = b.post(
        "/queues/bw",
        &[
            ("csrf", &csrf),
            ("spam_tag_score", "9"),
            ("spam_reject_score", "3"),
            ("max_pages", "5"),
            ("retention", "1h"),
            ("allowed_types", "pdf"),
        ],
    );
    assert_eq!(status, 400);
    assert!(page.contains("not saved") && page.contains("spam_reject_score"), "{page}");
    let (status, _) = b.post(
        "/queues/bw",
        &[
            ("csrf", &csrf),
            ("spam_tag_score", "4"),
            ("spam_reject_score", "8"),
            ("max_pages", "5"),
            ("retention", "1h"),
            ("allowed_types", "pdf"),
        ],
    );
    assert_eq!(status, 303);
    assert_eq!(sql(&server, "SELECT spam_reject_score || ' ' || updated_by FROM queue_settings"), vec!["8.0 librarian".to_owned()]);
    // The print address moves at once: the new one takes mail, the old one is unknown.
    let moved = [
        ("csrf", csrf.as_str()),
        ("address", "Copies@Print.Example.org"),
        ("site", "main"),
        ("spam_tag_score", "4"),
        ("spam_reject_score", "8"),
        ("max_pages", "5"),
        ("retention", "1h"),
        ("allowed_types", "pdf"),
    ];
    assert_eq!(b.post("/queues/bw", &moved).0, 303);
    let t = server.swaks_to("copies@print.example.org", "patron@example.com", "print", &[&fixture("simple.pdf")]);
    assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    let t = server.swaks_to("bw@print.example.org", "patron@example.com", "print", &[&fixture("simple.pdf")]);
    assert!(t.contains("<** 550 5.1.1"), "{t}");
    let unknown_site = [
        ("csrf", csrf.as_str()),
        ("address", "bw@print.example.org"),
        ("site", "nowhere"),
        ("spam_tag_score", "4"),
        ("spam_reject_score", "8"),
        ("max_pages", "5"),
        ("retention", "1h"),
        ("allowed_types", "pdf"),
    ];
    let (status, page) = b.post("/queues/bw", &unknown_site);
    assert_eq!(status, 400);
    assert!(page.contains("nowhere"), "{page}");
    assert_eq!(b.post("/logout", &[("csrf", &csrf)]).0, 303);
    assert_eq!(b.get("/queues").0, 303, "logged out");

    // Account lock-out: 5 wrong passwords, then even the right one waits.
    let mut attacker = Browser::new(&url);
    for i in 0..5 {
        assert_eq!(attacker.login("second", &format!("guess number {i}")).0, 401);
    }
    let (status, page) = attacker.login("second", "another long passphrase");
    assert_eq!(status, 429, "{page}");
    assert!(page.contains("locked"), "{page}");
    // Address lock-out: 20 failures from one address, whatever the names.
    for i in 0..15 {
        assert_eq!(attacker.login(&format!("nobody{i}"), "x").0, 401);
    }
    let (status, page) = attacker.login("librarian", PASSWORD);
    assert_eq!(status, 429, "the address's 21st login: {page}");
    let audit = sql(&server, "SELECT kind FROM audit_events ORDER BY at");
    assert!(audit.iter().any(|k| k == "admin_account_locked_out") && audit.iter().any(|k| k == "admin_address_locked_out"), "{audit:?}");
    assert!(!server.log().contains("guess number"), "a password reached the log");
}

/// Everything a mail brings into the console (sender name and address, Message-ID, file
/// names, the refusal reason built from them) is shown escaped: a mail carrying markup in each
/// of those finds its trace page with the markup as text, never as HTML.
#[test]
fn markup_in_a_mail_is_shown_as_text_in_the_trace() {
    use base64::Engine as _;
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    let mut pe = b"MZ".to_vec();
    pe.resize(512, 0);
    pe[0x3c] = 0x80;
    pe.extend_from_slice(b"PE\0\0");
    pe.resize(2048, 0);
    let attachment = base64::engine::general_purpose::STANDARD.encode(&pe);
    let message = format!(
        "From: \"<script>alert('from')</script>\" <evil-markup@example.com>\r\n\
         To: bw@print.example.org\r\n\
         Subject: <b>print</b>\r\n\
         Message-ID: <\"><img src=x onerror=alert(1)>@example.com>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nplease print\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"<svg onload=alert(2)>.exe\"\r\n\
         Content-Disposition: attachment; filename=\"<svg onload=alert(2)>.exe\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--b--\r\n"
    );
    let outcome = common::smtp_client::send(server.smtp_port, "evil-markup@example.com", "bw@print.example.org", message);
    assert!(matches!(outcome, common::smtp_client::Outcome::Refused(ref r) if r.starts_with("5")), "{outcome:?}");

    let mut b = Browser::new(&url);
    assert_eq!(b.login("librarian", PASSWORD).0, 303);
    let (status, page) = b.get("/trace?sender=evil-markup");
    assert_eq!(status, 200);
    assert_eq!(page.matches("<section class=\"trace\">").count(), 1, "{page}");
    for raw in ["<script>alert", "<img src=x", "<svg onload", "<b>print"] {
        assert!(!page.contains(raw), "{raw:?} reached the page as markup:\n{page}");
    }
    assert!(page.contains("&lt;svg onload=alert(2)&gt;.exe"), "the file name is shown, escaped:\n{page}");
    assert!(page.contains("onerror=alert(1)"), "the Message-ID is shown (as text):\n{page}");
}
