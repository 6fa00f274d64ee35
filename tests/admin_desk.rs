//! The staff desk against a real server (clamd, spamd, smtp-sink as the relay): a staff account
//! finds a patron by part of the address, by day and by release code; "send a new code" makes
//! the old code fail at the release API and a new reply with a working code reach the relay;
//! "keep longer" works once; "cancel" asks, then removes the job's row and sealed blob while
//! the patron's other document stays releasable. Every action is audited under the staff
//! account, needs the CSRF token, and returns to the look-up it came from. In Chromium, the
//! desk's screens pass axe-core at a phone's and a laptop's size (tests/browser/desk.mjs).

mod common;

use std::time::Duration;

use common::console::{Browser, add_staff, browser_script, fixture, start};
use common::{Relay, Server, release_status, sql, warm_clients};

const STAFF_PASSWORD: &str = "a long desk passphrase";

/// The `id` of the one message whose trace's sender is `sender`.
fn message_of(server: &Server, sender: &str) -> String {
    let ids = sql(server, &format!("SELECT id FROM traces WHERE mail_from = '{sender}' AND outcome = 'accepted'"));
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

#[test]
fn the_desk_finds_a_patron_resends_a_code_extends_once_and_cancels_one_job() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    add_staff(&server, "desk", STAFF_PASSWORD);
    let patron = "Desk.Patron@example.com";
    let t = server.swaks(patron, "please print", &[&fixture("simple.pdf"), &fixture("colour.pdf")]);
    assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    let t = server.swaks("someone.else@example.org", "please print", &[&fixture("simple.pdf")]);
    assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    let replies = relay.wait_for(2, Duration::from_secs(90));
    let first = replies.iter().find(|r| String::from_utf8_lossy(r).contains("To: Desk.Patron@example.com")).expect("the patron's reply");
    let old_code = common::release_code(first);
    let id = message_of(&server, patron);
    let (api, token) = (server.api_url(), server.station_token());
    let client = &warm_clients(&api, 1)[0];

    let mut desk = Browser::new(&url);
    assert_eq!(desk.login("desk", STAFF_PASSWORD).0, 303);
    // Part of the address, any case: this patron's message with both documents, no one else's.
    let (status, page) = desk.get("/desk?sender=desk.patr");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("1 message found") && page.contains("simple.pdf") && page.contains("colour.pdf"), "{page}");
    assert!(page.contains("Waiting to be printed") && !page.contains("someone.else"), "{page}");
    // Too little to look for, a bad day: said so, nothing listed.
    let (status, page) = desk.get("/desk?sender=de");
    assert!(status == 400 && page.contains("at least 3 characters"), "{status} {page}");
    let (status, page) = desk.get("/desk?sender=desk&date=yesterday");
    assert!(status == 400 && page.contains("must look like 2026-11-25"), "{status} {page}");
    // By the release code (POST, never in the URL).
    let csrf = Browser::csrf(&page);
    let (status, page) = desk.post("/desk", &[("csrf", &csrf), ("code", &old_code)]);
    assert!(status == 200 && page.contains("1 message found") && page.contains("colour.pdf"), "{status} {page}");
    assert!(!page.contains(&old_code), "the code is not shown back");
    let back = format!("/desk?message={id}");

    // A new code: asked first (naming the address), then the old code stops and a new reply comes.
    let resend = format!("/desk/messages/{id}/resend");
    let (status, page) = desk.post(&resend, &[("csrf", &csrf), ("back", &back)]);
    assert!(status == 200 && page.contains("Send a new release code?") && page.contains("Desk.Patron@example.com"), "{status} {page}");
    assert_eq!(release_status(client, &api, &token, &old_code), 200, "asking changed the code");
    let (status, page) = desk.post(&resend, &[("csrf", &csrf), ("back", &back), ("confirm", "yes")]);
    assert_eq!(status, 303, "{page}");
    let replies = relay.wait_for(3, Duration::from_secs(60));
    let new_reply = replies.iter().find(|r| *r != first && String::from_utf8_lossy(r).contains("To: Desk.Patron@example.com")).unwrap();
    let new_code = common::release_code(new_reply);
    assert_ne!(new_code, old_code);
    assert_ne!(release_status(client, &api, &token, &old_code), 200, "the old code still releases");
    assert_eq!(release_status(client, &api, &token, &new_code), 200, "the new code does not release");
    let (_, page) = desk.get(&format!("{back}&done=resent"));
    assert!(page.contains("A new release code is on its way"), "{page}");

    // Keep longer: once.
    let expiry = || sql(&server, &format!("SELECT expires_at FROM messages WHERE id = '{id}'"))[0].parse::<i64>().unwrap();
    let before = expiry();
    let extend = format!("/desk/messages/{id}/extend");
    let (status, _) = desk.post(&extend, &[("csrf", &csrf), ("back", &back)]);
    assert_eq!(status, 303);
    assert!(expiry() > before, "not extended");
    let after = expiry();
    desk.post(&extend, &[("csrf", &csrf), ("back", &back)]);
    assert_eq!(expiry(), after, "extended twice");
    let (_, page) = desk.get(&back);
    assert!(page.contains("Already extended once"), "{page}");

    // Cancel one job: asked first, then its row and blob are gone and the other still releases.
    let rows = sql(&server, &format!("SELECT id, blob_key FROM jobs WHERE message_id = '{id}' AND filename = 'colour.pdf'"));
    let (job, blob_key) = rows[0].split_once('|').unwrap();
    let blob = server.data_dir().join("blobs").join(blob_key);
    assert!(blob.exists());
    let cancel = format!("/desk/jobs/{job}/cancel");
    let (status, page) = desk.post(&cancel, &[("csrf", &csrf), ("back", &back)]);
    assert!(status == 200 && page.contains("Cancel colour.pdf?"), "{status} {page}");
    assert_eq!(sql(&server, &format!("SELECT COUNT(*) FROM jobs WHERE id = '{job}'")), ["1"], "asking cancelled");
    // Without the CSRF token nothing happens.
    let (status, _) = desk.post(&cancel, &[("back", &back), ("confirm", "yes")]);
    assert_eq!(status, 403);
    let (status, _) = desk.post(&cancel, &[("csrf", &csrf), ("back", &back), ("confirm", "yes")]);
    assert_eq!(status, 303);
    assert_eq!(sql(&server, &format!("SELECT COUNT(*) FROM jobs WHERE id = '{job}'")), ["0"]);
    assert!(!blob.exists(), "the sealed blob was left at {}", blob.display());
    assert_eq!(sql(&server, &format!("SELECT filename FROM jobs WHERE message_id = '{id}'")), ["simple.pdf"]);
    assert_eq!(release_status(client, &api, &token, &new_code), 200, "the other document no longer releases");

    // Audited under the staff account.
    for kind in ["desk_code_resent", "desk_extended", "desk_job_cancelled"] {
        assert_eq!(sql(&server, &format!("SELECT station FROM audit_events WHERE kind = '{kind}'")), ["desk"], "{kind}");
    }

    // In Chromium: the look-up, a confirmation and the outcome pass axe at both sizes.
    let seen = browser_script(
        "desk.mjs",
        &url,
        &[("DESK_USER", "desk"), ("DESK_PASSWORD", STAFF_PASSWORD), ("SENDER", "desk.patron"), ("OTHER", "someone.else@example.org")],
    );
    assert_eq!(seen["csp_violations"], serde_json::json!([]), "{seen}");
    for screen in ["lookup", "confirm", "done"] {
        for size in ["390x844", "1280x800"] {
            let s = &seen["screens"][screen][size];
            assert_eq!(s["violations"], serde_json::json!([]), "{screen} at {size}: {s}");
            assert!(s["scroll_width"].as_u64().unwrap() <= s["inner_width"].as_u64().unwrap(), "{screen} at {size} scrolls sideways: {s}");
        }
    }
    assert_eq!(seen["resent_to"], "someone.else@example.org", "{seen}");
    assert!(seen["done_text"].as_str().unwrap_or_default().contains("A new release code is on its way"), "{seen}");
    relay.wait_for(4, Duration::from_secs(60));
}

#[test]
fn a_refused_mail_shows_at_the_desk_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    add_staff(&server, "desk", STAFF_PASSWORD);
    let exe = tmp.path().join("setup.exe");
    let mut pe = b"MZ".to_vec();
    pe.resize(512, 0);
    pe[0x3c] = 0x80;
    pe.extend_from_slice(b"PE\0\0");
    pe.resize(2048, 0);
    std::fs::write(&exe, &pe).unwrap();
    let t = server.swaks("refused.patron@example.com", "please print", &[&exe]);
    assert!(t.contains("<** 5"), "not refused:\n{t}");
    let mut desk = Browser::new(&url);
    assert_eq!(desk.login("desk", STAFF_PASSWORD).0, 303);
    let (status, page) = desk.get("/desk?sender=refused.patron");
    assert_eq!(status, 200);
    let page = page.replace("&#x27;", "'").replace("&#x2f;", "/").replace("&quot;", "\"").replace("&amp;", "&");
    let reply = sql(&server, "SELECT reply FROM traces WHERE mail_from = 'refused.patron@example.com'").remove(0);
    let words = reply.splitn(3, ' ').nth(2).unwrap();
    assert!(page.contains("Refused when it arrived") && page.contains(words), "{words:?} not in {page}");
    assert!(!page.contains("Send a new code"), "a refused mail offers no action: {page}");
}

/// The desk's own store queries (held messages with their live jobs, how a gone message's code
/// ended) on PostgreSQL: a waiting message, then one cancelled at the desk, read as such.
#[test]
fn the_desk_reads_messages_from_postgresql() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let pg = common::PgDatabase::create();
    let (server, url) = common::console::start_custom(&relay, &|config, dir| {
        let sqlite = format!("database_url = \"sqlite://{}/data/printgate.db\"", dir.display());
        assert!(config.contains(&sqlite), "{config}");
        config.replace(&sqlite, &format!("database_url = \"{}\"", pg.url))
    });
    add_staff(&server, "desk", STAFF_PASSWORD);
    let t = server.swaks("pg.patron@example.com", "please print", &[&fixture("simple.pdf")]);
    assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    relay.wait_for(1, Duration::from_secs(90));
    let mut desk = Browser::new(&url);
    assert_eq!(desk.login("desk", STAFF_PASSWORD).0, 303);
    let (_, page) = desk.get("/desk?sender=pg.patron");
    assert!(page.contains("Waiting to be printed") && page.contains("simple.pdf"), "{page}");
    let job = pg.query("SELECT id FROM jobs").remove(0);
    let csrf = Browser::csrf(&page);
    let (status, _) =
        desk.post(&format!("/desk/jobs/{job}/cancel"), &[("csrf", &csrf), ("confirm", "yes"), ("back", "/desk?sender=pg.patron")]);
    assert_eq!(status, 303);
    assert_eq!(pg.query("SELECT COUNT(*) FROM jobs"), ["0"]);
    let (_, page) = desk.get("/desk?sender=pg.patron&done=cancelled");
    assert!(page.contains("The job was cancelled") && !page.contains("Waiting to be printed"), "{page}");
    // Cancelled, not "printed": the code is not remembered as spent by printing.
    assert!(page.contains("Cancelled (by the patron") && !page.contains(">Printed<"), "{page}");
    assert_eq!(pg.query("SELECT COUNT(*) FROM spent_codes"), ["0"]);
}
