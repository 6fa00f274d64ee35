//! The admin console against a real server: a browser test in Debian's headless Chromium
//! (playwright-core) that moves a queue's spam lines and sees a mail change outcome; the trace
//! search; login brute force and CSRF; the console's web hygiene (security and no-store headers
//! on every answer, release codes looked up by POST only, sessions ended by a password change,
//! and in Chromium: no framing, no personal data on Back after logout).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::console::{Browser, PASSWORD, assert_hygiene, browser_script, fixture, shots_dir, start};
use common::{Relay, Server, sql};

fn send(server: &Server, from: &str, file: &Path) -> String {
    server.swaks(from, "please print", &[file])
}

#[test]
fn in_chromium_an_admin_moves_the_reject_line_and_the_next_mail_changes_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    let sender = "regular-patron@example.com";
    let spammy = || server.swaks(sender, common::SPAMMY_BODY, &[&fixture("simple.pdf")]);
    for _ in 0..2 {
        let t = spammy();
        assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    }
    let scores: Vec<f64> = sql(&server, "SELECT spam_score FROM traces ORDER BY received_at").iter().map(|s| s.parse().unwrap()).collect();
    assert_eq!(scores.len(), 2);
    let score = scores[0];
    assert!((scores[1] - score).abs() < 0.05, "the same mail scored {scores:?}");
    assert!((3.0..9.0).contains(&score), "the mail scored {score}; the old reject line (10) must be above it, and lines above 0 below it");
    // Lines one point below the mail's score: it was accepted, it would be refused now.
    let new_reject = ((score - 1.0) * 10.0).floor() / 10.0;
    let new_tag = new_reject - 1.0;

    let (tag_field, reject_field) = (format!("{new_tag:.1}"), format!("{new_reject:.1}"));
    let seen =
        browser_script("admin.mjs", &url, &[("QUEUE", "bw"), ("NEW_TAG", &tag_field), ("NEW_REJECT", &reject_field), ("SENDER", sender)]);
    let shots = shots_dir();
    // Every page works under the console's Content-Security-Policy.
    assert_eq!(seen["csp_violations"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["styled"], true, "the stylesheet was not applied: {seen}");
    assert!(seen["tallest_column"].as_f64().unwrap() > 100.0, "the dashboard's hours chart is not drawn: {seen}");
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
        "{audit:?} {new_reject} {reject_field} {seen}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let t = spammy();
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
    assert!(page.contains("Too many failed logins"), "{page}");
    // An unknown name gets exactly the same answers: nothing tells which names exist.
    for i in 0..5 {
        assert_eq!(attacker.login("ghost", &format!("guess number {i}")).0, 401);
    }
    let (status, ghost_page) = attacker.login("ghost", "another long passphrase");
    assert_eq!(status, 429, "{ghost_page}");
    let message = |p: &str| p[p.find("Too many").expect("the lock-out message")..].split('<').next().unwrap().to_owned();
    assert_eq!(message(&ghost_page), message(&page), "unknown and locked accounts answer alike");
    // Address lock-out: 20 failures from one address, whatever the names.
    for i in 0..10 {
        assert_eq!(attacker.login(&format!("nobody{i}"), "x").0, 401);
    }
    let (status, page) = attacker.login("librarian", PASSWORD);
    assert_eq!(status, 429, "the address's 21st login: {page}");
    let audit = sql(&server, "SELECT kind FROM audit_events ORDER BY at");
    assert!(audit.iter().any(|k| k == "admin_account_locked_out") && audit.iter().any(|k| k == "admin_address_locked_out"), "{audit:?}");
    assert!(!server.log().contains("guess number"), "a password reached the log");
}

/// 100 logins sent at once for one account from one address, one of them with the right
/// password: counting and checking are one store step taken before the password is looked
/// at, so at most the account's limit (5) of wrong ones are checked and every other one gets
/// 429 (a right one gives its slot back, so it can let one more wrong one in) - before, all 30
/// of 30 were checked and 29 wrong plus the right one logged in. Once the limit is
/// reached the right password does not log in, and the lock-out ends the account's sessions.
#[test]
fn a_hundred_logins_at_once_check_at_most_the_limit_and_a_lockout_ends_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    let mut owner = Browser::new(&url);
    assert_eq!(owner.login("librarian", PASSWORD).0, 303);
    assert_eq!(owner.get("/queues").0, 200);

    let forms: Vec<(Browser, String)> = (0..100)
        .map(|_| {
            let mut b = Browser::new(&url);
            let csrf = Browser::csrf(&b.get("/login").1);
            (b, csrf)
        })
        .collect();
    let forms: Vec<std::sync::Mutex<(Browser, String)>> = forms.into_iter().map(std::sync::Mutex::new).collect();
    let statuses = common::at_once(100, |i| {
        let (b, csrf) = &mut *forms[i].lock().unwrap();
        let password = if i == 99 { PASSWORD.to_owned() } else { format!("wrong guess {i}") };
        b.post("/login", &[("user", "librarian"), ("password", &password), ("csrf", csrf)]).0
    });
    assert!(statuses.iter().all(|s| [401, 303, 429].contains(s)), "{statuses:?}");
    // A right password gives its slot back, so it may let one more wrong one be checked:
    // the limit bounds the wrong passwords checked, never more than 5 of them.
    let wrong_checked = statuses.iter().filter(|s| **s == 401).count();
    assert!((1..=5).contains(&wrong_checked), "{wrong_checked} wrong passwords checked against a limit of 5: {statuses:?}");
    assert!(statuses.iter().filter(|s| **s == 303).count() <= 1, "{statuses:?}");
    if wrong_checked == 5 {
        assert_eq!(Browser::new(&url).login("librarian", PASSWORD).0, 429, "the limit is reached: the right password waits");
        assert_eq!(owner.get("/queues").0, 303, "the lock-out ended the owner's session");
        let audit = sql(&server, "SELECT kind FROM audit_events WHERE kind = 'admin_account_locked_out'");
        assert_eq!(audit.len(), 1, "{audit:?}");
    }
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

#[test]
fn every_console_answer_forbids_framing_sniffing_referrers_and_caching() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    let mut b = Browser::new(&url);
    let (status, headers, login_form) = b.get_with_headers("/login");
    assert_eq!(status, 200);
    assert_hygiene("the login page", &headers);
    let (status, headers, _) = b.get_with_headers("/jobs");
    assert_eq!(status, 303);
    assert_hygiene("a redirect to the login page", &headers);
    let login = [("user", "librarian"), ("password", PASSWORD), ("csrf", &Browser::csrf(&login_form))];
    let (status, headers, _) = b.post_with_headers("/login", &login);
    assert_eq!(status, 303);
    assert_hygiene("the login POST", &headers);
    for path in ["/", "/queues", "/tuning", "/trace", "/trace?sender=nobody", "/jobs"] {
        let (status, headers, page) = b.get_with_headers(path);
        assert_eq!(status, 200, "{path}");
        assert_hygiene(path, &headers);
        // What the policy would block: no page may need it.
        for needs_unsafe_inline in ["<style", "style=", "<script", " onclick=", "javascript:"] {
            assert!(!page.contains(needs_unsafe_inline), "{path} has {needs_unsafe_inline:?}:\n{page}");
        }
    }
    let (status, headers, css) = b.get_with_headers("/console.css");
    assert_eq!((status, headers.get("content-type").unwrap().to_str().unwrap()), (200, "text/css; charset=utf-8"));
    assert!(css.contains("font-family"));
    assert_hygiene("the stylesheet", &headers);
    let (status, headers, _) = b.get_with_headers("/no-such-page");
    assert_eq!(status, 404);
    assert_hygiene("a 404", &headers);
    let (status, headers, _) = b.post_with_headers("/jobs", &[]);
    assert_eq!(status, 405);
    assert_hygiene("a 405", &headers);
    let (status, headers, _) = b.post_with_headers("/queues/bw", &[("csrf", "wrong")]);
    assert_eq!(status, 403);
    assert_hygiene("a refused POST", &headers);
    let (_, page) = b.get("/queues");
    let (status, headers, _) = b.post_with_headers("/logout", &[("csrf", &Browser::csrf(&page))]);
    assert_eq!(status, 303);
    assert_hygiene("the logout POST", &headers);
    // The release API's answers (JSON, errors) are neither sniffed nor cached either.
    let http = reqwest::blocking::Client::new();
    for path in ["/healthz", "/api/v1/openapi.json", "/api/v1/no-such-thing"] {
        let resp = http.get(format!("{}{path}", server.api_url())).send().unwrap();
        for (name, value) in [("x-content-type-options", "nosniff"), ("cache-control", "no-store")] {
            assert_eq!(resp.headers().get(name).and_then(|v| v.to_str().ok()), Some(value), "release API {path}: {name}");
        }
    }
}

#[test]
fn release_codes_are_looked_up_by_post_and_never_from_a_url() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    for sender in ["code-owner@example.com", "someone-else@example.com"] {
        let t = send(&server, sender, &fixture("simple.pdf"));
        assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    }
    let replies = relay.wait_for(2, Duration::from_secs(90));
    let reply = replies.iter().find(|r| String::from_utf8_lossy(r).contains("code-owner@example.com")).expect("a reply to code-owner");
    let code = common::release_code(reply);

    let mut b = Browser::new(&url);
    assert_eq!(b.login("librarian", PASSWORD).0, 303);
    for path in [format!("/trace?code={code}"), format!("/trace?sender=code-owner&code={code}")] {
        let (status, page) = b.get(&path);
        assert_eq!(status, 400, "{path}: {page}");
        assert_eq!(page.matches("<section class=\"trace\">").count(), 0, "{path} looked the code up:\n{page}");
        assert!(page.contains("not looked up from a URL") && !page.contains(&code), "{page}");
    }
    let (_, page) = b.get("/trace");
    let csrf = Browser::csrf(&page);
    assert_eq!(b.post("/trace", &[("code", &code)]).0, 403, "a look-up without the CSRF token");
    let (status, page) = b.post("/trace", &[("csrf", &csrf), ("code", &code)]);
    assert_eq!(status, 200, "{page}");
    assert_eq!(page.matches("<section class=\"trace\">").count(), 1, "{page}");
    assert!(page.contains("code-owner@example.com") && !page.contains("someone-else@example.com"), "{page}");
    assert!(!page.contains(&code), "the code is shown back:\n{page}");
    let (status, page) = b.post("/trace", &[("csrf", &csrf), ("code", "12")]);
    assert_eq!(status, 400);
    assert!(page.contains("4 to 18 digits"), "{page}");
    assert!(!server.log().contains(&code), "the code reached the log");
}

#[test]
fn a_password_change_logs_out_every_session_of_that_account() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    common::console::add_admin(&server, "second", "another long passphrase");
    let (mut desk, mut laptop, mut colleague) = (Browser::new(&url), Browser::new(&url), Browser::new(&url));
    assert_eq!(desk.login("librarian", PASSWORD).0, 303);
    assert_eq!(laptop.login("librarian", PASSWORD).0, 303);
    assert_eq!(colleague.login("second", "another long passphrase").0, 303);
    for b in [&mut desk, &mut laptop, &mut colleague] {
        assert_eq!(b.get("/jobs").0, 200);
    }
    common::console::set_admin_password(&server, "librarian", "a brand new passphrase");
    for b in [&mut desk, &mut laptop] {
        let (status, headers, _) = b.get_with_headers("/jobs");
        assert_eq!(status, 303, "a session outlived the password change");
        assert_eq!(headers["location"], "/login");
    }
    assert_eq!(colleague.get("/jobs").0, 200, "another account's session ended too");
    assert_eq!(desk.login("librarian", PASSWORD).0, 401, "the old password");
    assert_eq!(desk.login("librarian", "a brand new passphrase").0, 303);
    assert_eq!(desk.get("/jobs").0, 200);
}

/// In Chromium: a page on another port of the same host cannot frame the logged-in console (a
/// control frame of its own shows), the release-code form finds its message by POST with no
/// code in the URL, and Back after logout shows the login page, not the trace it left.
#[test]
fn in_chromium_the_console_cannot_be_framed_and_back_after_logout_shows_no_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    let sender = "private-patron@example.com";
    let t = send(&server, sender, &fixture("simple.pdf"));
    assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    let code = common::release_code(&relay.wait_for(1, Duration::from_secs(90))[0]);

    let seen = browser_script("hygiene.mjs", &url, &[("SENDER", sender), ("CODE", &code)]);
    assert_eq!(seen["jobs_heading_direct"], true, "{seen}");
    assert_eq!(seen["control_shown"], true, "the framing page's own frame did not show: {seen}");
    assert_eq!(seen["framed_jobs_heading"], false, "the console showed in a frame: {seen}");
    assert_eq!(seen["by_code_form"], true, "{seen}");
    assert_eq!(seen["by_code_traces"], 1, "{seen}");
    assert_eq!(seen["by_code_url"], format!("{url}/trace"), "{seen}");
    assert_eq!(seen["sender_before_logout"], true, "{seen}");
    assert_eq!(seen["back_url"], format!("{url}/login"), "{seen}");
    assert_eq!(seen["sender_after_back"], false, "Back after logout showed the trace: {seen}");
    assert_eq!(seen["other_csp_violations"], serde_json::json!([]), "{seen}");
    let shots = shots_dir();
    for shot in ["framed", "by-code", "trace-before-logout", "back-after-logout"] {
        assert!(std::fs::metadata(shots.join(format!("hygiene-{shot}.png"))).is_ok_and(|m| m.len() > 1000), "no screenshot {shot}");
    }
}
