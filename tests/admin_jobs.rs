//! Cancelling a job in the console: the jobs page asks first (a page naming the document; the
//! job is untouched until confirmed), then destroys the job's row and its sealed blob, audits
//! it, and the patron's code no longer lists it. Against a real server (clamd, spamd).

mod common;

use std::time::Duration;

use common::console::{Browser, PASSWORD, fixture, start};
use common::{Relay, release_status, sql, warm_clients};

#[test]
fn a_job_is_cancelled_only_after_the_console_asked_and_then_row_and_blob_are_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let (server, url) = start(&relay);
    let t = server.swaks("cancel-patron@example.com", "please print", &[&fixture("simple.pdf")]);
    assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    let code = common::release_code(&relay.wait_for(1, Duration::from_secs(90))[0]);
    let row = sql(&server, "SELECT id, blob_key FROM jobs");
    assert_eq!(row.len(), 1, "{row:?}");
    let (id, blob_key) = row[0].split_once('|').unwrap();
    let blob = server.data_dir().join("blobs").join(blob_key);
    assert!(blob.exists(), "the sealed job is stored at {}", blob.display());

    let mut browser = Browser::new(&url);
    assert_eq!(browser.login("librarian", PASSWORD).0, 303);
    let (status, jobs) = browser.get("/jobs");
    assert_eq!(status, 200);
    let csrf = Browser::csrf(&jobs);
    let cancel = format!("/jobs/{id}/cancel");

    // The first press asks, naming the document; nothing is destroyed.
    let (status, page) = browser.post(&cancel, &[("csrf", &csrf)]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Cancel simple.pdf?") && page.contains("Yes, cancel simple.pdf") && page.contains("No, keep it"), "{page}");
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM jobs"), ["1"], "asking destroyed the job");
    assert!(blob.exists());
    let client = &warm_clients(&server.api_url(), 1)[0];
    let token = server.station_token();
    assert_eq!(release_status(client, &server.api_url(), &token, &code), 200, "the code still lists the job");

    // Confirmed: row and blob gone, audited, the code lists nothing.
    let (status, page) = browser.post(&cancel, &[("csrf", &csrf), ("confirm", "yes")]);
    assert_eq!(status, 303, "{page}");
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM jobs"), ["0"]);
    assert!(!blob.exists(), "the sealed blob was left at {}", blob.display());
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM audit_events WHERE kind = 'job_cancelled'"), ["1"]);
    assert_ne!(release_status(client, &server.api_url(), &token, &code), 200, "the cancelled job is still released");

    // Asking again for a job that is gone: a page in words, nothing else.
    let (status, page) = browser.post(&cancel, &[("csrf", &csrf)]);
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("Job not found"), "{page}");
}
