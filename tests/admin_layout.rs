//! The admin console's layout, accessibility and error pages against a real server with a few
//! mails in it (so the lists have rows): in Debian's headless Chromium, every page at a phone's
//! (390 x 844) and a laptop's (1280 x 800) size has no sideways scrolling, no axe-core WCAG 2.2 A/AA
//! violation, no control under 24 px, a visible focus ring and screenshots
//! (`target/admin-screenshots/layout-*.png`); over HTTP, 400, 403, 404, 405 and 415 answers are
//! pages in words with the console's security headers, times are in the queue's time zone and
//! reply deliveries read as sentences.

mod common;

use std::path::Path;
use std::time::Duration;

use common::console::{Browser, PASSWORD, assert_hygiene, browser_script, fixture, start_custom};
use common::{Relay, Server, sql};

/// The queue `bw` in Berlin's time zone.
fn start_in_berlin(relay: &Relay) -> (Server, String) {
    start_custom(relay, &|config, _| config.replacen("name = \"bw\"\n", "name = \"bw\"\ntimezone = \"Europe/Berlin\"\n", 1))
}

/// Two accepted mails from `sender` and one refused (a Windows program); waits for the replies.
fn send_mails(server: &Server, relay: &Relay, sender: &str, dir: &Path) {
    for _ in 0..2 {
        let t = server.swaks(sender, "please print", &[&fixture("simple.pdf")]);
        assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    }
    let exe = dir.join("setup.exe");
    let mut pe = b"MZ".to_vec();
    pe.resize(512, 0);
    pe[0x3c] = 0x80;
    pe.extend_from_slice(b"PE\0\0");
    pe.resize(2048, 0);
    std::fs::write(&exe, &pe).unwrap();
    let t = server.swaks("someone.refused@example.com", "please print", &[&exe]);
    assert!(t.contains("<** 5"), "not refused:\n{t}");
    relay.wait_for(2, Duration::from_secs(90));
}

/// Pages whose axe-core violations are printed, not failed: none (every page must pass).
const AXE_RECORDED_ONLY: &[&str] = &[];

#[test]
fn in_chromium_every_console_page_fits_a_phone_and_passes_axe_at_both_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start_in_berlin(&relay);
    let sender = "layout-patron@example.com";
    send_mails(&server, &relay, sender, tmp.path());
    let trace_id = sql(&server, &format!("SELECT id FROM traces WHERE mail_from = '{sender}' LIMIT 1")).remove(0);

    let seen = browser_script("layout.mjs", &url, &[("SENDER", sender), ("TRACE_ID", &trace_id)]);
    assert_eq!(seen["csp_violations"], serde_json::json!([]), "{seen}");
    let expected_status = [
        ("login", 200),
        ("dashboard", 200),
        ("desk", 200),
        ("senders", 200),
        ("queues", 200),
        ("tuning", 200),
        ("tuning-apply", 200),
        ("trace", 200),
        ("trace-detail", 200),
        ("jobs", 200),
        ("audit", 200),
        ("accounts", 200),
        ("404", 404),
        ("400", 400),
        ("405", 405),
    ];
    let shots = common::console::shots_dir();
    let mut problems = Vec::new();
    for (page, status) in expected_status {
        let narrowest = &seen["pages"][page]["360x740"];
        if narrowest["scroll_width"].as_u64().unwrap() > 360 {
            problems.push(format!("{page} at 360 px: scrolls sideways ({} px)", narrowest["scroll_width"]));
        }
        for size in ["390x844", "1280x800"] {
            let p = &seen["pages"][page][size];
            let at = format!("{page} at {size}");
            assert_eq!(p["status"], status, "{at}: {p}");
            let (scroll, inner) = (p["scroll_width"].as_u64().unwrap(), p["inner_width"].as_u64().unwrap());
            if scroll > inner {
                problems.push(format!("{at}: scrolls sideways ({scroll} > {inner} px)"));
            }
            if p["small_targets"] != serde_json::json!([]) {
                problems.push(format!("{at}: controls under 24 px: {}", p["small_targets"]));
            }
            if p["lang"] != "en" || !p["title"].as_str().unwrap().ends_with(" · printgate") || p["h1s"] != 1 || p["main"] != 1 {
                problems.push(format!("{at}: lang {}, title {}, {} h1, {} main", p["lang"], p["title"], p["h1s"], p["main"]));
            }
            if p["headings_in_order"] != true {
                problems.push(format!("{at}: headings skip a level"));
            }
            let violations = p["violations"].as_array().unwrap();
            if AXE_RECORDED_ONLY.contains(&page) {
                if !violations.is_empty() {
                    eprintln!("{at}: axe-core violations recorded, not failed: {}", p["violations"]);
                }
            } else if !violations.is_empty() {
                problems.push(format!("{at}: axe-core: {}", p["violations"]));
            }
            let shot = shots.join(format!("layout-{page}-{size}.png"));
            assert!(std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000), "no screenshot {}", shot.display());
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The error pages say what happened in words and lead back.
    assert_eq!(seen["pages"]["404"]["390x844"]["h1"], "Page not found", "{seen}");
    assert_eq!(seen["pages"]["400"]["390x844"]["h1"], "This address has a mistake in it", "{seen}");
    for size in ["390x844", "1280x800"] {
        let steps = seen[format!("focus_{size}")].as_array().unwrap();
        assert!(steps.len() >= 9, "the skip link, seven menu links and the logout button take the focus at {size}: {steps:?}");
        for step in steps {
            assert_eq!(step["outline"], true, "no visible focus at {size}: {step}");
        }
    }
    for item in seen["menu_390"].as_array().unwrap() {
        assert_eq!(item["inside"], true, "the menu item {} leaves the menu's band on a phone: {seen}", item["name"]);
    }
}

#[test]
fn error_answers_are_pages_in_words_and_times_and_replies_read_as_the_library_reads_them() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start_in_berlin(&relay);
    let sender = "words-patron@example.com";
    send_mails(&server, &relay, sender, tmp.path());

    // Not logged in: an unknown address is a page too.
    let mut b = Browser::new(&url);
    let (status, headers, page) = b.get_with_headers("/no-such-page");
    assert_eq!(status, 404);
    assert_error_page("an unknown address", &headers, &page, "Page not found");

    assert_eq!(b.login("librarian", PASSWORD).0, 303);
    let (_, jobs) = b.get("/jobs");
    let csrf = Browser::csrf(&jobs);
    let trace_id = sql(&server, &format!("SELECT id FROM traces WHERE mail_from = '{sender}' LIMIT 1")).remove(0);
    for (what, method, path, form, status, heading) in [
        ("a number that is not one", "GET", "/tuning?days=abc", vec![], 400, "This address has a mistake in it"),
        ("an unknown queue's tuning", "GET", "/tuning?queue=nosuch", vec![], 404, "Queue not found"),
        ("an unknown message", "GET", "/trace/no-such-trace", vec![], 404, "Message not found"),
        ("an unknown job", "POST", "/jobs/00000000000000000000000000000000/cancel", vec![("csrf", csrf.as_str())], 404, "Job not found"),
        ("an unknown queue's form", "POST", "/queues/nosuch", vec![("csrf", csrf.as_str())], 404, "Page not found"),
        ("a form address opened as a page", "GET", "/queues/bw", vec![], 405, "cannot be opened this way"),
        ("a page posted to", "POST", "/jobs", vec![], 405, "cannot be opened this way"),
        ("a stale form", "POST", "/logout", vec![("csrf", "stale")], 403, "This form is out of date"),
    ] {
        let (got, headers, page) = if method == "GET" { b.get_with_headers(path) } else { b.post_with_headers(path, &form) };
        assert_eq!(got, status, "{what}: {path}\n{page}");
        assert_error_page(what, &headers, &page, heading);
    }
    let (_, page) = b.get("/tuning?days=abc");
    assert!(page.contains("“days”"), "the 400 names the value:\n{page}");
    let (_, headers, _) = b.get_with_headers("/queues/bw");
    assert_eq!(headers.get("allow").map(|v| v.to_str().unwrap()), Some("POST"), "405 keeps its Allow header");

    // Times in the queue's zone (Berlin: CET or CEST), replies in words, no "(s)".
    let (status, trace) = b.get(&format!("/trace?sender={sender}"));
    assert_eq!(status, 200);
    assert!(trace.contains(" CET") || trace.contains(" CEST"), "not in Berlin time:\n{trace}");
    assert!(trace.contains("2 messages found"), "{trace}");
    assert!(trace.contains("Delivered to the mail relay at the first attempt"), "{trace}");
    assert!(!trace.contains("(s)") && !trace.contains("attempt(s)"), "{trace}");
    let (status, detail) = b.get(&format!("/trace/{trace_id}"));
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail.matches("<section class=\"trace\">").count(), 1, "{detail}");
    assert!(detail.contains(sender) && detail.contains("1 page"), "{detail}");
    let (_, dashboard) = b.get("/");
    assert!(dashboard.contains("Hours in Europe&#x2f;Berlin"), "minijinja escapes the slash:\n{dashboard}");
    let (_, jobs) = b.get("/jobs");
    assert!(jobs.contains("2 jobs waiting") && (jobs.contains(" CET") || jobs.contains(" CEST")), "{jobs}");
}

/// An error answer: HTML in the console's look, a heading, a link back to the dashboard, the
/// security headers, no machine text.
fn assert_error_page(what: &str, headers: &reqwest::header::HeaderMap, page: &str, heading: &str) {
    assert_hygiene(what, headers);
    assert_eq!(headers.get("content-type").map(|v| v.to_str().unwrap()), Some("text/html; charset=utf-8"), "{what}");
    assert!(page.contains("<html lang=\"en\">") && page.contains("href=\"/console.css\""), "{what}:\n{page}");
    let h1 = &page[page.find("<h1>").expect("a heading") + 4..page.find("</h1>").unwrap()];
    assert!(h1.contains(heading), "{what}: heading {h1:?}, expected {heading:?}");
    assert!(page.contains("<a href=\"/\" id=\"home\">Back to the dashboard</a>"), "{what}:\n{page}");
    for machine in ["Failed to deserialize", "CSRF", "no such"] {
        assert!(!page.contains(machine), "{what}: {machine:?} shown:\n{page}");
    }
}
