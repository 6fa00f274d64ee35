//! The dashboard against a real server and the real clamd and spamd: a clean PDF, a spammy mail
//! (refused: the queue's reject line is set low in the config), an EICAR mail and a
//! password-protected PDF. The dashboard counts them per hour and per refusal category, each
//! category with a link; the virus link lists the EICAR message and no other. In Chromium
//! (`tests/browser/dashboard.mjs`), the dashboard with this data has no sideways scrolling and
//! no axe-core violation at 360, 390 and 1280 px, its charts are drawn and named, and the
//! screenshots are kept (`target/admin-screenshots/dashboard-*.png`).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::console::{Browser, PASSWORD, browser_script, fixture, start_custom};
use common::{Relay, Server, sql};

const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// Queue `bw` in Berlin, refusing from a spam score of 3 (`SPAMMY_BODY` scores about 6.5, a
/// plain "please print" about 0).
fn start_strict(relay: &Relay) -> (Server, String) {
    start_custom(relay, &|config, _| {
        config.replacen("name = \"bw\"\n", "name = \"bw\"\ntimezone = \"Europe/Berlin\"\n", 1).replacen(
            "spam_tag_score = 5.0\nspam_reject_score = 10.0",
            "spam_tag_score = 2.0\nspam_reject_score = 3.0",
            1,
        )
    })
}

/// Sends the four mails and waits until their traces are final (the refusals are recorded in
/// the background, the clean mail's pages once it is stored).
fn send_mails(server: &Server, relay: &Relay, dir: &Path) {
    let clean = server.swaks("clean@example.com", "please print", &[&fixture("simple.pdf")]);
    assert!(clean.contains("250 2.0.0 Ok: queued as"), "{clean}");
    let spammy = server.swaks("spammy@example.com", common::SPAMMY_BODY, &[&fixture("simple.pdf")]);
    assert!(spammy.contains("550 5.7.1 Message refused as spam"), "{spammy}");
    let eicar = dir.join("invoice.pdf");
    std::fs::write(&eicar, EICAR).unwrap();
    let virus = server.swaks("virus@example.com", "see attached", &[&eicar]);
    assert!(virus.contains("554 5.7.1 Message refused: virus found"), "{virus}");
    let locked = server.swaks("locked@example.com", "please print", &[&fixture("password.pdf")]);
    assert!(locked.contains("<** 5") || locked.contains("250 2.0.0 Ok"), "{locked}");
    relay.wait_for(1, Duration::from_secs(90));
    let deadline = Instant::now() + Duration::from_secs(60);
    let settled = "SELECT COUNT(*) FROM traces WHERE documents NOT LIKE '%\"printable\"%'";
    while sql(server, settled) != ["4"] {
        assert!(Instant::now() < deadline, "traces not final: {:?}", sql(server, "SELECT outcome, documents FROM traces"));
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// HTML text as minijinja escapes it, read back.
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/").replace("&#x27;", "'").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The row `<tr id="reason-SLUG">` of the refusals table: (its count, its link if any).
fn reason_row(page: &str, slug: &str) -> (u32, Option<String>) {
    let start = page.find(&format!("<tr id=\"reason-{slug}\">")).unwrap_or_else(|| panic!("no row for {slug}:\n{page}"));
    let row = &page[start..start + page[start..].find("</tr>").unwrap()];
    let count = row.split("<td class=\"num\">").nth(1).and_then(|c| c.split('<').next()).unwrap().parse().unwrap();
    let link = row.split("<a href=\"").nth(1).map(|l| unescape(&l[..l.find('"').unwrap()]));
    (count, link)
}

#[test]
fn the_dashboard_counts_refusals_by_category_and_each_links_to_exactly_its_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start_strict(&relay);
    send_mails(&server, &relay, tmp.path());

    let mut b = Browser::new(&url);
    assert_eq!(b.login("librarian", PASSWORD).0, 303);
    let (status, page) = b.get("/");
    assert_eq!(status, 200, "{page}");
    let (spam, virus, password) = (reason_row(&page, "spam"), reason_row(&page, "virus"), reason_row(&page, "password"));
    assert_eq!(spam.0, 1, "{page}");
    assert_eq!(virus.0, 1, "{page}");
    assert_eq!(password.0, 1, "the protected PDF: {page}");
    for slug in ["sender", "file-type", "macros", "size", "nothing-printable", "other"] {
        assert_eq!(reason_row(&page, slug), (0, None), "{slug}: no refusal, no link");
    }
    let virus_link = virus.1.expect("the virus row links to its messages");
    assert!(virus_link.starts_with("/trace?category=virus&since="), "{virus_link}");
    assert!(spam.1.as_deref().is_some_and(|l| l.starts_with("/trace?category=spam&since=")), "{spam:?}");
    // The hours: one accepted, three refused (or two, if the protected PDF was refused only
    // after it was accepted), in words too.
    let hours = unescape(&page);
    assert!(
        hours.contains("1 accepted, 3 refused, 0 put off in all") || hours.contains("2 accepted, 2 refused, 0 put off in all"),
        "{hours}"
    );
    assert!(hours.contains("(Europe/Berlin)"), "the hours' zone is named: {hours}");
    assert!(page.contains("id=\"pages\">1<"), "simple.pdf's one page: {page}");
    assert!(page.contains("id=\"waiting\">1<") && page.contains("<th scope=\"row\">bw</th><td class=\"num\">1</td>"), "{page}");
    assert!(page.contains("id=\"outbox-refused\"") && page.contains("role=\"img\""), "{page}");

    // The virus link lists the EICAR message and not the others.
    let (status, listed) = b.get(&virus_link);
    assert_eq!(status, 200, "{listed}");
    assert!(listed.contains("virus@example.com") && listed.contains("1 message found"), "{listed}");
    for other in ["clean@example.com", "spammy@example.com", "locked@example.com"] {
        assert!(!listed.contains(other), "{other} listed under virus:\n{listed}");
    }
    assert!(listed.contains("<option value=\"virus\" selected>"), "the form shows the category: {listed}");
    let (_, spam_listed) = b.get(spam.1.as_deref().unwrap());
    assert!(spam_listed.contains("spammy@example.com") && !spam_listed.contains("virus@example.com"), "{spam_listed}");
    let (status, bad) = b.get("/trace?category=nonsense");
    assert!(status == 400 && bad.contains("Choose a refusal reason from the list."), "{status}: {bad}");
    let (status, bad) = b.get("/trace?since=yesterday");
    assert!(status == 400 && bad.contains("2026-11-25T14:00"), "{status}: {bad}");

    let seen = browser_script("dashboard.mjs", &url, &[]);
    assert_eq!(seen["csp_violations"], serde_json::json!([]), "{seen}");
    let shots = common::console::shots_dir();
    for size in ["360x740", "390x844", "1280x800"] {
        let p = &seen["sizes"][size];
        assert!(p["scroll_width"].as_u64() <= p["inner_width"].as_u64(), "{size}: scrolls sideways: {p}");
        assert_eq!(p["violations"], serde_json::json!([]), "{size}: axe-core: {p}");
        assert_eq!(p["charts"], serde_json::json!(["Messages per hour, last 24 hours", "Pages stored per day, last 14 days"]), "{p}");
        assert!(p["segments"].as_u64().unwrap() >= 2, "the hours chart draws its columns: {p}");
        assert!(p["chart_width"].as_f64().unwrap() > 250.0, "{size}: the chart fills its box: {p}");
        let shot = shots.join(format!("dashboard-{size}.png"));
        assert!(std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000), "no screenshot {}", shot.display());
    }
    assert_eq!(seen["virus_listed"], 1, "following the virus link in the browser: {seen}");
}
