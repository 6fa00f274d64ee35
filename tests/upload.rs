//! The web upload form against a real server (clamd, spamd, LibreOffice, smtp-sink as the
//! relay): uploads go through the same screening, conversion, sealing and store as mail, the
//! code goes only by email, limits stop reading early, and the form is accessible in Chromium.
//! Run through `scripts/test` (it starts the daemons); nothing here is a mock.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::console::fixture;
use common::{Relay, Scanners, Server};

const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// A server whose `bw` queue takes uploads, the form on a free loopback port (`extra_web`
/// joins the `[web]` section); returns it and the form's URL.
fn start(relay: &Relay, extra_web: &str) -> (Server, String) {
    let port = common::free_port();
    let server = Server::start_custom(
        &Scanners::real(),
        relay.port,
        "",
        &format!("[auth]\nresolver = \"static\"\n\n[web]\nlisten = \"127.0.0.1:{port}\"\n{extra_web}\n"),
        &|config, _| config.replacen("retention = \"72h\"\n", "retention = \"72h\"\nweb_upload = true\n", 1),
    );
    common::wait_for_port(port, Duration::from_secs(10));
    (server, format!("http://127.0.0.1:{port}"))
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(120)).build().unwrap()
}

/// The form's CSRF cookie and token, as a browser gets them from `GET /`.
struct FormToken {
    cookie: String,
    csrf: String,
}

fn open_form(http: &reqwest::blocking::Client, url: &str) -> FormToken {
    let resp = http.get(format!("{url}/")).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert_hygiene(resp.headers());
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("printgate_upload_csrf="))
        .expect("the form sets its CSRF cookie");
    let html = resp.text().unwrap();
    let at = html.find("name=\"csrf\" value=\"").expect("the form has a csrf field") + "name=\"csrf\" value=\"".len();
    let csrf = html[at..at + 32].to_owned();
    FormToken { cookie, csrf }
}

const BOUNDARY: &str = "----printgate-test-boundary-7d1f";

/// A `multipart/form-data` body: text fields, then files (name, bytes).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn post(
    http: &reqwest::blocking::Client,
    url: &str,
    token: &FormToken,
    email: &str,
    files: &[(&str, &[u8])],
) -> reqwest::blocking::Response {
    let body = multipart(&[("csrf", &token.csrf), ("email", email), ("queue", "bw"), ("copies", "1"), ("duplex", "on")], files);
    http.post(format!("{url}/upload"))
        .header("cookie", &token.cookie)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .send()
        .unwrap()
}

/// Follows the results page until it stops refreshing; returns its last HTML.
fn results_when_done(http: &reqwest::blocking::Client, url: &str, location: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let resp = http.get(format!("{url}{location}")).send().unwrap();
        assert_eq!(resp.status(), 200);
        assert_hygiene(resp.headers());
        let html = resp.text().unwrap();
        if !html.contains("http-equiv=\"refresh\"") {
            return html;
        }
        assert!(Instant::now() < deadline, "the results page still refreshes after {timeout:?}:\n{html}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The upload pages' policy and the hygiene headers every web face sets.
fn assert_hygiene(headers: &reqwest::header::HeaderMap) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(
        header("content-security-policy"),
        "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    );
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(header(name), value, "{name}");
    }
}

#[test]
fn a_pdf_a_docx_and_a_heic_photo_are_printed_and_the_code_goes_only_by_mail() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let (server, url) = start(&relay, "");
    let http = client();
    let token = open_form(&http, &url);
    let (pdf, docx, heic) = (
        std::fs::read(fixture("simple.pdf")).unwrap(),
        std::fs::read(fixture("letter.docx")).unwrap(),
        std::fs::read(fixture("iphone.heic")).unwrap(),
    );
    let resp = post(&http, &url, &token, "patron@example.com", &[("simple.pdf", &pdf), ("letter.docx", &docx), ("iphone.heic", &heic)]);
    assert_eq!(resp.status(), 303, "{}", resp.text().unwrap_or_default());
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let id = location.trim_start_matches("/upload/").split('?').next().unwrap().to_owned();
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "a 128-bit id: {location}");

    let html = results_when_done(&http, &url, &location, Duration::from_secs(240));
    for name in ["simple.pdf", "letter.docx", "iphone.heic"] {
        let line = html.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("{name} not listed:\n{html}"));
        assert!(line.contains("class=\"ready\"") && (line.contains(" pages") || line.contains("1 page")), "{line}");
    }
    assert_eq!(html.matches("<li class=\"ready\"").count(), 3, "{html}");

    let replies = relay.wait_for(1, Duration::from_secs(60));
    assert_eq!(replies.len(), 1);
    let code = common::release_code(&replies[0]);
    let spaced = format!("{} {}", &code[..4], &code[4..]);
    assert!(!html.contains(&code) && !html.contains(&spaced), "the results page shows the release code");
    let reply = String::from_utf8_lossy(&replies[0]);
    assert!(reply.contains("patron@example.com"), "the reply goes to the given address");
    // Another browser (no cookie) sees the same page only with the id; a near miss is a 404.
    let mut wrong = id.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let miss = http.get(format!("{url}/upload/{}", String::from_utf8(wrong).unwrap())).send().unwrap();
    assert_eq!(miss.status(), 404);

    let out = work.path().join("printed");
    let released = common::station_release(&server, &server.station_token(), &code, &[&server.key_path()], &out);
    assert!(released.status.success(), "station: {}", String::from_utf8_lossy(&released.stderr));
    let printed = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(printed, 3, "the station released all three documents");
}

#[test]
fn an_eicar_upload_is_refused_with_the_virus_message_and_no_job_or_code() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let (server, url) = start(&relay, "");
    let http = client();
    let token = open_form(&http, &url);
    let resp = post(&http, &url, &token, "patron@example.com", &[("eicar.pdf", EICAR.as_bytes())]);
    assert_eq!(resp.status(), 422);
    let html = resp.text().unwrap();
    assert!(html.contains("A virus was found in your upload") && html.contains("Eicar"), "{html}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(common::sql(&server, "SELECT COUNT(*) FROM jobs"), ["0"]);
    let row = common::wait_for_trace(&server, "outcome, virus", "outcome = 'refused'");
    assert!(row.starts_with("refused|") && row.contains("Eicar"), "{row}");
    assert_eq!(std::fs::read_dir(&relay.dir).unwrap().count(), 0, "no reply for a virus");

    // A program is no document: refused with the file policy's reason, nothing stored either.
    let resp = post(
        &http,
        &url,
        &token,
        "patron@example.com",
        &[("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run in DOS mode")],
    );
    assert_eq!(resp.status(), 422);
    let html = resp.text().unwrap();
    assert!(html.contains("Nothing in your upload can be printed") && html.contains("setup.exe"), "{html}");
    assert_eq!(common::sql(&server, "SELECT COUNT(*) FROM jobs"), ["0"]);
}

#[test]
fn the_form_speaks_german_and_refuses_a_post_without_its_token() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let (_server, url) = start(&relay, "");
    let http = client();
    let german = http.get(format!("{url}/")).header("accept-language", "de-AT,de;q=0.9,en;q=0.5").send().unwrap().text().unwrap();
    assert!(german.contains("<html lang=\"de\">") && german.contains("Dokumente zum Drucken senden"), "{german}");
    let switched = http.get(format!("{url}/?lang=en")).header("accept-language", "de").send().unwrap().text().unwrap();
    assert!(switched.contains("Send documents to print"));
    let token = FormToken {
        cookie: "printgate_upload_csrf=0123456789abcdef0123456789abcdef".into(),
        csrf: "fedcba9876543210fedcba9876543210".into(),
    };
    let resp = post(&http, &url, &token, "patron@example.com", &[("a.pdf", b"%PDF-1.4")]);
    assert_eq!(resp.status(), 403);
}

#[test]
fn a_first_upload_from_a_new_address_waits_for_its_yes() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let port = common::free_port();
    let _server = Server::start_custom(
        &Scanners::real(),
        relay.port,
        "",
        &format!("[auth]\nresolver = \"static\"\n\n[web]\nlisten = \"127.0.0.1:{port}\"\n"),
        &|config, _| config.replacen("retention = \"72h\"\n", "retention = \"72h\"\nweb_upload = true\nverify_new_senders = true\n", 1),
    );
    common::wait_for_port(port, Duration::from_secs(10));
    let url = format!("http://127.0.0.1:{port}");
    let http = client();
    let token = open_form(&http, &url);
    let pdf = std::fs::read(fixture("simple.pdf")).unwrap();
    let resp = post(&http, &url, &token, "newcomer@example.com", &[("simple.pdf", &pdf)]);
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let html = results_when_done(&http, &url, &location, Duration::from_secs(120));
    assert!(html.contains("please confirm your email address") && !html.contains("on its way"), "{html}");
    let mail = relay.wait_for(1, Duration::from_secs(60));
    let text = String::from_utf8_lossy(&mail[0]);
    assert!(!text.contains("Release code:"), "a held upload's first mail asks for YES, it carries no code");
}

/// Sends `POST /upload` by hand: headers, the start of a file part, then `total` bytes of file
/// in chunks from another thread. Returns the status line and how many body bytes had been
/// sent when it arrived.
fn raw_upload(url: &str, token: &FormToken, extra_headers: &str, chunked: bool, total: usize) -> (String, usize) {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n{extra_headers}\r\n",
        token.cookie
    );
    stream.write_all(head.as_bytes()).unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let mut writer = stream.try_clone().unwrap();
    writer.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let counter = sent.clone();
    let csrf = token.csrf.clone();
    let feeder = std::thread::spawn(move || {
        let start = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.pdf\"\r\n\r\n%PDF-1.4\n"
        );
        let chunk = vec![b'x'; 64 * 1024];
        let mut pieces = vec![start.into_bytes()];
        while pieces.iter().map(Vec::len).sum::<usize>() < total {
            pieces.push(chunk.clone());
        }
        for piece in pieces {
            let framed = if chunked {
                [format!("{:x}\r\n", piece.len()).into_bytes(), piece.clone(), b"\r\n".to_vec()].concat()
            } else {
                piece.clone()
            };
            if writer.write_all(&framed).is_err() {
                return;
            }
            counter.fetch_add(piece.len(), Ordering::SeqCst);
        }
    });
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).expect("the server answers");
        assert!(n > 0, "connection closed without an answer");
        response.extend_from_slice(&buf[..n]);
    }
    let at_answer = sent.load(Ordering::SeqCst);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = feeder.join();
    let text = String::from_utf8_lossy(&response).into_owned();
    (text.lines().next().unwrap_or_default().to_owned(), at_answer)
}

#[test]
fn an_oversized_upload_is_cut_off_early_and_rapid_uploads_hit_the_rate_limit() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let (_server, url) = start(&relay, "max_uploads_per_address = 3\nmax_uploads_per_ip = 10\n");
    let http = client();
    let token = open_form(&http, &url);

    // 60 MB streamed (chunked, no length announced) against the 10 MiB limit: the 413 comes
    // while the client is still sending.
    let total = 60 << 20;
    let (status, sent) = raw_upload(&url, &token, "Transfer-Encoding: chunked\r\n", true, total);
    assert!(status.contains(" 413 "), "{status}");
    eprintln!("chunked upload: 413 after {sent} of {total} bytes sent");
    assert!(sent < 30 << 20, "the server read on: {sent} of {total} bytes sent before the answer");
    // A declared length over the limit is refused before any of the body is read.
    let (status, sent) = raw_upload(&url, &token, &format!("Content-Length: {}\r\n", 200u64 << 20), false, 200 << 20);
    assert!(status.contains(" 413 "), "{status}");
    eprintln!("declared 200 MiB: 413 after {sent} bytes of body sent");
    assert!(sent < 20 << 20, "{sent} bytes sent before the answer");
    // The page says why, in words.
    let body = multipart(&[("csrf", &token.csrf)], &[("big.pdf", &vec![b'x'; 11 << 20])]);
    let resp = http
        .post(format!("{url}/upload"))
        .header("cookie", &token.cookie)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .send();
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 413);
        let html = resp.text().unwrap_or_default();
        assert!(html.is_empty() || html.contains("larger than 10 MB"), "{html}");
    }

    // Twenty rapid uploads from one address: three per email address, ten per client address.
    let pdf = std::fs::read(fixture("simple.pdf")).unwrap();
    let mut statuses = Vec::new();
    for i in 0..20 {
        let email = if i < 4 { "same@example.com".to_owned() } else { format!("patron{i}@example.com") };
        let resp = post(&http, &url, &token, &email, &[("simple.pdf", &pdf)]);
        let status = resp.status().as_u16();
        if status == 429 {
            assert!(resp.headers().contains_key("retry-after"));
            let html = resp.text().unwrap();
            assert!(html.contains("Too many uploads"), "{html}");
        }
        statuses.push(status);
    }
    assert_eq!(&statuses[..4], [303, 303, 303, 429], "the fourth from one email address is refused");
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 10, "ten per client address: {statuses:?}");
    assert!(statuses[4..].ends_with(&[429; 7]), "{statuses:?}");
    eprintln!("twenty uploads: {statuses:?}");
}

#[test]
fn the_form_and_results_are_accessible_at_phone_and_desktop_widths() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let (_server, url) = start(&relay, "");
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/upload-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = std::process::Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/upload.mjs"))
        .env("UPLOAD_URL", &url)
        .env("SHOTS_DIR", &shots)
        .env("PDF", fixture("simple.pdf"))
        .env("CHROMIUM", std::env::var("PRINTGATE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
        .output()
        .expect("node must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "upload.mjs failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let line = stdout.lines().rfind(|l| l.starts_with('{')).expect("a JSON line");
    let report: serde_json::Value = serde_json::from_str(line).unwrap();
    for page in report["pages"].as_array().unwrap() {
        assert_eq!(page["violations"], serde_json::json!([]), "axe on {}", page["name"]);
        assert_eq!(page["sideways"], false, "sideways scrolling on {}", page["name"]);
    }
    assert_eq!(report["csp"], serde_json::json!([]), "CSP violations");
    assert_eq!(report["pages"].as_array().unwrap().len(), 10);
    assert!(report["too_large_text"].as_str().unwrap().contains("larger than 10 MB"), "{report}");
    assert_eq!(report["too_large_posted"], false, "files over the limit are not sent");
    assert_eq!(report["upload_via"], "xhr", "the script sent the upload (progress bar), not the plain form");
    assert!(report["results_url"].as_str().unwrap().contains("/upload/"), "the script path reached the results page");
    for name in ["form-360", "form-1280", "results-360"] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
}
