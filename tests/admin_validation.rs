//! The console's queue form against a real server: in Debian's headless Chromium (playwright-core,
//! tests/browser/validation.mjs) a table of bad inputs is each refused with its message at its
//! field and every typed value kept, and afterwards the same mail gets the same SMTP answer and
//! the store holds no console setting (nothing was saved or applied); a saved setting shows what
//! differs from the config file, "Reset to the config file" brings the file's values back for the
//! next mail, and the audit page lists both with before -> after. Over HTTP: a console setting
//! the file has since broken is not applied; the reset and the audit page need a login and the
//! CSRF token.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::console::{Browser, PASSWORD, browser_script, mail_answer, shots_dir, start_custom};
use common::{Relay, Server, sql};

fn pdf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert/simple.pdf")
}

/// The test server's config with a second queue, `colour`, whose address `bw` may not take.
fn with_colour_queue(config: String, _: &Path) -> String {
    let colour = "[[queue]]\naddress = \"colour@print.example.org\"\nname = \"colour\"\nsite = \"main\"\ncolor = true\n\n[[site]]\n";
    config.replacen("[[site]]\n", colour, 1)
}

/// Sends the spammy mail (scored between the test server's lines) to `bw`.
fn spammy(server: &Server) -> String {
    server.swaks("regular-patron@example.com", common::SPAMMY_BODY, &[&pdf()])
}

/// What is typed over the form, the field whose message must say the third.
type Case = (&'static [(&'static str, &'static str)], &'static str, &'static str);

/// Bad inputs for queue `bw` (`LONG` stands for a 270-character address).
const BAD: &[Case] = &[
    (&[("spam_tag_score", "-20"), ("spam_reject_score", "-10")], "spam_tag_score", "above 0"),
    (&[("spam_reject_score", "-1")], "spam_reject_score", "above 0"),
    (&[("spam_tag_score", "9"), ("spam_reject_score", "3")], "spam_reject_score", "above the spam tag score (9)"),
    (&[("spam_tag_score", "7"), ("spam_reject_score", "7")], "spam_reject_score", "above the spam tag score (7)"),
    (&[("spam_tag_score", "abc")], "spam_tag_score", "not a number"),
    (&[("spam_tag_score", "NaN")], "spam_tag_score", "not a number"),
    (&[("spam_reject_score", "inf")], "spam_reject_score", "not a number"),
    (&[("spam_reject_score", "250")], "spam_reject_score", "above 100"),
    (&[("max_pages", "ten")], "max_pages", "not a whole number"),
    (&[("max_pages", "0")], "max_pages", "at least 1"),
    (&[("max_pages", "1000000")], "max_pages", "most allowed, 10000"),
    (&[("allowed_types", "pdf, exe")], "allowed_types", "unknown document type \"exe\""),
    (&[("address", "Colour@Print.Example.org")], "address", "already the address of queue colour"),
    (&[("address", "not an address")], "address", "not an email address"),
    (&[("address", "bw+duplex@print.example.org")], "address", "must not contain '+'"),
    (&[("retention", "0s")], "retention", "at least 1 hour"),
    (&[("retention", "abc")], "retention", "not a length of time"),
    (&[("retention", "400d")], "retention", "at most 90 days"),
    (&[("site", "nowhere")], "site", "no site named \"nowhere\""),
    (&[("address", "LONG")], "address", "at most 254"),
];

#[test]
fn in_chromium_bad_queue_values_are_refused_at_their_fields_and_nothing_is_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start_custom(&relay, &with_colour_queue);
    let before = spammy(&server);
    assert!(before.contains("250 2.0.0 Ok: queued as"), "{before}");

    let long = format!("{}@print.example.org", "a".repeat(250));
    let cases: Vec<serde_json::Value> = BAD
        .iter()
        .map(|(set, field, _)| {
            let set: serde_json::Map<String, serde_json::Value> =
                set.iter().map(|(k, v)| ((*k).to_owned(), (if *v == "LONG" { long.as_str() } else { v }).into())).collect();
            serde_json::json!({ "set": set, "field": field })
        })
        .collect();
    assert!(cases.len() >= 15);
    let cases_json = serde_json::Value::from(cases.clone()).to_string();
    let seen = browser_script("validation.mjs", &url, &[("MODE", "bad"), ("QUEUE", "bw"), ("CASES", &cases_json)]);
    assert_eq!(seen["unlabeled"], serde_json::json!([]), "inputs without a label: {seen}");
    assert_eq!(seen["csp_violations"], serde_json::json!([]), "{seen}");
    for (i, ((_, field, says), case)) in BAD.iter().zip(&cases).enumerate() {
        let got = &seen["cases"][i];
        let id = got["id"].as_str().unwrap_or_else(|| panic!("case {i}: no field {field}: {got}"));
        assert_eq!(got["status"], 400, "case {i} {case}: {got}");
        assert_eq!(got["notice"], 0, "case {i} {case}: a saved notice: {got}");
        assert_eq!(got["summary"], true, "case {i} {case}: no error summary: {got}");
        assert_eq!(got["invalid"], "true", "case {i} {case}: {got}");
        let marked: Vec<&str> = got["invalid_fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert!(marked.contains(field), "case {i} {case}: {field} is not marked: {got}");
        assert!(marked.iter().all(|m| case["set"].get(m).is_some()), "case {i} {case}: a field not typed in is marked: {got}");
        assert!(got["describedby"].as_str().unwrap_or("").split(' ').any(|d| d == format!("{id}-error")), "case {i}: {got}");
        assert_eq!(got["error_tag"], "P", "case {i}: {got}");
        let error = got["error"].as_str().unwrap_or_else(|| panic!("case {i} {case}: no message at {field}: {got}"));
        assert!(error.contains(says), "case {i} {case}: {error:?} does not say {says:?}");
        assert_eq!(got["kept"], case["set"], "case {i}: the typed values were not kept: {got}");
    }
    assert!(std::fs::metadata(shots_dir().join("validation-bad-0.png")).is_ok_and(|m| m.len() > 1000));

    // Nothing was saved or applied: no console setting, no change audited, the same answer.
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM queue_settings"), ["0"]);
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM audit_events WHERE kind LIKE 'queue%'"), ["0"]);
    let after = spammy(&server);
    assert_eq!(mail_answer(&before), "250 2.0.0 Ok: queued as …", "{before}");
    assert_eq!(mail_answer(&after), mail_answer(&before), "before:\n{before}\nafter:\n{after}");
    let scores = sql(&server, "SELECT spam_score FROM traces ORDER BY received_at");
    assert_eq!(scores.len(), 2);
    assert!(scores[0].parse::<f64>().unwrap() >= 5.0, "the mail is scored above the tag line (5), not only accepted: {scores:?}");
}

#[test]
fn in_chromium_a_saved_setting_differs_from_the_file_until_reset_and_both_are_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start_custom(&relay, &with_colour_queue);
    let first = spammy(&server);
    assert!(first.contains("250 2.0.0 Ok: queued as"), "{first}");
    let score: f64 = sql(&server, "SELECT spam_score FROM traces")[0].parse().unwrap();
    assert!((3.0..9.0).contains(&score), "the spammy mail scored {score}");
    let (tag, reject) = (format!("{:.1}", (score - 2.0).floor()), format!("{:.1}", (score - 1.0).floor()));

    let saved = browser_script("validation.mjs", &url, &[("MODE", "save"), ("QUEUE", "bw"), ("NEW_TAG", &tag), ("NEW_REJECT", &reject)]);
    assert_eq!((saved["status"].as_u64(), saved["url"].as_str()), (Some(303), Some(format!("{url}/queues?saved=bw").as_str())), "{saved}");
    assert!(saved["notice"].as_str().unwrap().contains("bw saved"), "{saved}");
    assert_eq!(
        saved["differs"],
        serde_json::json!({
            "queue-bw-spam_tag_score-differs": "Differs from the config file (file: 5)",
            "queue-bw-spam_reject_score-differs": "Differs from the config file (file: 10)",
        }),
        "{saved}"
    );
    assert_eq!(saved["reset_buttons"], 1, "only bw has a console setting: {saved}");
    assert_eq!(saved["unlabeled_after"], serde_json::json!([]), "{saved}");
    let stored = sql(&server, "SELECT spam_tag_score || ' ' || spam_reject_score || ' ' || COALESCE(max_pages, '-') FROM queue_settings");
    assert_eq!(stored, [format!("{tag} {reject} -")], "only the changed fields are stored");
    let refused = spammy(&server);
    assert!(mail_answer(&refused).starts_with("550 5.7.1 Message refused as spam"), "{refused}");

    let reset = browser_script("validation.mjs", &url, &[("MODE", "reset"), ("QUEUE", "bw")]);
    assert!(reset["notice"].as_str().unwrap().contains("bw reset to the config file"), "{reset}");
    assert_eq!((reset["differs"].as_u64(), reset["reset_buttons"].as_u64()), (Some(0), Some(0)), "{reset}");
    assert_eq!((reset["tag"].as_str(), reset["reject"].as_str()), (Some("5"), Some("10")), "{reset}");
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM queue_settings"), ["0"]);
    let again = spammy(&server);
    assert_eq!(mail_answer(&again), mail_answer(&first), "the file's lines apply again:\n{again}");

    // The audit page, newest first: the reset, then the save, each with before -> after.
    let audit: Vec<&serde_json::Value> =
        reset["audit"].as_array().unwrap().iter().filter(|e| e["kind"].as_str().unwrap().starts_with("queue")).collect();
    let kinds: Vec<&str> = audit.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["queue_reset", "queue_changed"], "{reset}");
    let cells = |i: usize| audit[i]["cells"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let (reset_row, save_row) = (cells(0), cells(1));
    assert_eq!(reset_row[1], "librarian");
    assert_eq!(reset_row[2], "Queue reset to the config file");
    assert!(reset_row[3].contains(&format!("spam_reject_score {} -> 10", reject.trim_end_matches(".0"))), "{reset_row:?}");
    assert!(save_row[3].contains(&format!("spam_tag_score 5 -> {}", tag.trim_end_matches(".0"))), "{save_row:?}");
    assert!(save_row[3].contains(&format!("spam_reject_score 10 -> {}", reject.trim_end_matches(".0"))), "{save_row:?}");
    assert!(reset_row[0].ends_with("UTC") && reset_row[0].len() == "2026-11-25 14:05 UTC".len(), "a readable time: {reset_row:?}");
    assert!(std::fs::metadata(shots_dir().join("audit.png")).is_ok_and(|m| m.len() > 1000));
}

/// A console setting the file has since broken (the file's tag line rose above the console's
/// reject line) is not applied: the queue keeps the file's values, the page says why, and the
/// log warns. Reset and the audit page need a login; a reset needs the CSRF token.
#[test]
fn a_setting_the_file_broke_is_not_applied_and_reset_and_audit_need_a_login() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start_custom(&relay, &with_colour_queue);
    let mut b = Browser::new(&url);
    assert_eq!(b.get("/audit").0, 303, "the audit page needs a login");
    assert_eq!(b.post("/queues/bw/reset", &[]).0, 403, "a reset needs a login");
    assert_eq!(b.login("librarian", PASSWORD).0, 303);
    let (_, page) = b.get("/queues");
    let csrf = Browser::csrf(&page);
    // Only the reject line differs from the file, so only it is stored.
    let save = [("csrf", csrf.as_str()), ("spam_tag_score", "5"), ("spam_reject_score", "6")];
    assert_eq!(b.post("/queues/bw", &save).0, 303);
    assert_eq!(b.post("/queues/bw/reset", &[("csrf", "wrong")]).0, 403);
    let stored = sql(&server, "SELECT COALESCE(spam_tag_score, '-') || ' ' || spam_reject_score FROM queue_settings");
    assert_eq!(stored, ["- 6.0"], "a reset without the token changed nothing");
    let refused = spammy(&server);
    assert!(refused.contains("<** 550 5.7.1"), "{refused}");

    let config = std::fs::read_to_string(&server.config).unwrap().replacen("spam_tag_score = 5.0", "spam_tag_score = 8.0", 1);
    std::fs::write(&server.config, config).unwrap();
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("are not applied") {
        assert!(Instant::now() < deadline, "no warning about the broken setting:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let accepted = spammy(&server);
    assert!(accepted.contains("250 2.0.0 Ok: queued as"), "the file's lines (8 / 10) apply:\n{accepted}");
    let (_, page) = b.get("/queues");
    assert!(page.contains("id=\"queue-bw-not-applied\"") && page.contains("must be above the spam tag score (8)"), "{page}");
    let (status, headers, audit) = b.get_with_headers("/audit");
    assert_eq!(status, 200);
    assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    assert!(audit.contains("spam_reject_score 10 -&gt; 6") || audit.contains("spam_reject_score 10 -> 6"), "{audit}");
    assert_eq!(b.post("/queues/bw/reset", &[("csrf", &csrf)]).0, 303);
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM queue_settings"), ["0"]);
}

/// The hidden fields of the form with id `form_id` in `page`, as a browser would send them.
fn form_fields(page: &str, form_id: &str) -> (String, Vec<(String, String)>) {
    let start = page.find(&format!("id=\"{form_id}\"")).unwrap_or_else(|| panic!("no form {form_id} in {page}"));
    let form = &page[page[..start].rfind("<form").unwrap()..start + page[start..].find("</form>").unwrap()];
    let attr = |tag: &str, name: &str| {
        tag.split(&format!("{name}=\"")).nth(1).and_then(|r| r.split('"').next()).unwrap_or("").replace("&#x2f;", "/").replace("&amp;", "&")
    };
    let action = attr(form, "action");
    let fields = form.split("<input").skip(1).map(|i| (attr(i, "name"), attr(i, "value"))).collect();
    (action, fields)
}

/// Acceptance 5 of [3/8]: the what-if predicts that the spammy mail (tagged today) would be
/// refused under a refuse line of 6; "Apply" asks first, listing that mail, then applies the
/// lines through the queue form's own checks; the next such mail is refused as predicted.
#[test]
fn applying_a_what_if_from_the_tuning_page_changes_the_next_mail_as_the_page_predicted() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start_custom(&relay, &with_colour_queue);
    let before = spammy(&server);
    assert_eq!(mail_answer(&before), "250 2.0.0 Ok: queued as …", "{before}");
    let score: f64 = sql(&server, "SELECT spam_score FROM traces")[0].parse().unwrap();
    assert!((6.0..10.0).contains(&score), "the mail must score between the proposed (6) and today's (10) refuse lines: {score}");

    let mut browser = Browser::new(&url);
    assert_eq!(browser.login("librarian", PASSWORD).0, 303);
    let (status, whatif) = browser.get("/tuning?queue=bw&tag=5&reject=6");
    assert_eq!(status, 200, "{whatif}");
    assert!(whatif.contains("proposed refuse line") && whatif.contains("id=\"apply-link\""), "{whatif}");
    let row = &whatif[whatif.find("id=\"changes\"").unwrap()..];
    assert!(row.contains("tagged") && row.contains("refused"), "the page predicts tagged -> refused: {row}");
    let (status, confirm) = browser.get("/tuning?queue=bw&days=7&tag=5&reject=6&confirm=1");
    assert_eq!(status, 200, "{confirm}");
    assert!(confirm.contains("Apply these thresholds to bw?") && confirm.contains("1 listed message"), "{confirm}");
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM queue_settings"), ["0"], "showing the confirmation applied something");

    let (action, fields) = form_fields(&confirm, "apply");
    assert_eq!(action, "/queues/bw");
    let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, page) = browser.post(&action, &form);
    assert_eq!(status, 303, "{page}");
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM audit_events WHERE kind = 'queue_changed'"), ["1"]);
    let after = spammy(&server);
    assert!(mail_answer(&after).starts_with("550"), "the page predicted a refusal:\n{after}");
    // Nothing else of the queue changed (allowed types, colour, pages kept).
    let colour = server.swaks_to("colour@print.example.org", "patron@example.com", "please print", &[&pdf()]);
    assert_eq!(mail_answer(&colour), "250 2.0.0 Ok: queued as …", "{colour}");
}
