//! Release stations end to end: mail -> code -> `printgate station release|poll` -> a real IPP
//! printer (CUPS' `ippeveprinter`), over HTTPS; a stopped printer; brute force; site
//! isolation; the API's JSON errors; schemathesis against the OpenAPI document.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::printer::Printer;
use common::{Relay, Scanners, Server, release_code, sql};

const BIN: &str = env!("CARGO_BIN_EXE_printgate");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert").join(name)
}

fn pages(pdf: &Path) -> u32 {
    let out = Command::new("qpdf").arg("--show-npages").arg(pdf).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("qpdf cannot count {}", pdf.display()))
}

/// Sends `files` to `to` and returns the release code from the reply.
fn mail_for_code(server: &Server, relay: &Relay, replies_before: usize, to: &str, files: &[&Path]) -> String {
    let transcript = server.swaks_to(to, "patron@example.com", "please print", files);
    assert!(transcript.contains("250 2.0.0 Ok: queued as"), "not accepted:\n{transcript}");
    let replies = relay.wait_for(replies_before + 1, Duration::from_secs(90));
    release_code(&replies[replies_before])
}

fn job_count(server: &Server) -> usize {
    sql(server, "SELECT COUNT(*) FROM jobs")[0].parse().unwrap()
}

fn station(args: &[&str], server_url: &str, token: &str, key: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("station").args(args).args(["--server", server_url, "--token", token]).arg("--key").arg(key).args(extra);
    cmd
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_mailed_pdf_prints_on_an_ipp_printer_through_the_https_release_api() {
    let scanners = Scanners::real();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = Server::start_custom(&scanners, relay.port, "", "[auth]\nresolver = \"static\"\n", &|config, dir| {
        common::write_test_cert(dir);
        let d = dir.display();
        config.replace("[api]\n", &format!("[api]\ntls_cert = \"{d}/cert.pem\"\ntls_key = \"{d}/key.pem\"\n"))
    });
    let printer = Printer::start(tmp.path());
    let token = server.station_token();
    let original = std::fs::read(fixture("ten-pages.pdf")).unwrap();
    let code = mail_for_code(&server, &relay, 0, "bw@print.example.org", &[&fixture("ten-pages.pdf")]);
    let https = format!("https://127.0.0.1:{}", server.api_port);
    let ca = server.dir.path().join("cert.pem");

    // Without trusting the library's CA the station refuses the server's certificate.
    let untrusted = station(&["release", &code], &https, &token, &server.key_path(), &["--printer", &printer.uri()]).output().unwrap();
    assert!(!untrusted.status.success(), "a self-signed server certificate was trusted");
    assert_eq!(job_count(&server), 1);
    // Plain HTTP to the HTTPS port is not served.
    let plain = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", &format!("http://127.0.0.1:{}/healthz", server.api_port)])
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200");

    let out =
        station(&["release", &code], &https, &token, &server.key_path(), &["--ca", ca.to_str().unwrap(), "--printer", &printer.uri()])
            .output()
            .unwrap();
    assert!(out.status.success(), "station release failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&printer.uri()), "{}", String::from_utf8_lossy(&out.stdout));
    let printed = printer.printed();
    assert_eq!(printed.len(), 1, "{printed:?}");
    // A sound PDF is printed byte for byte as the patron sent it: all ten pages.
    assert!(std::fs::read(&printed[0]).unwrap() == original, "the printed PDF differs from the one sent");
    assert_eq!(pages(&printed[0]), 10);
    assert_eq!(job_count(&server), 0, "the printed job was not destroyed");
}

#[test]
fn poll_prints_the_sites_jobs_without_a_code_and_never_another_sites() {
    let scanners = Scanners::real();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = Server::start_custom(&scanners, relay.port, "", "[auth]\nresolver = \"static\"\n", &|config, dir| {
        let out = common::run(&["keygen", "--site", "branch", "--out", dir.join("keys").to_str().unwrap()]);
        assert!(out.status.success());
        let d = dir.display();
        config.replace(
            "[[site]]\n",
            &format!(
                "[[queue]]\naddress = \"branch@print.example.org\"\nname = \"branch\"\nsite = \"branch\"\n\n\
                 [[site]]\nname = \"branch\"\npublic_key = \"{d}/keys/branch.pub.pem\"\n\n[[site]]\n"
            ),
        )
    });
    let printer = Printer::start(tmp.path());
    let token = server.station_token_scoped("poll");
    mail_for_code(&server, &relay, 0, "bw@print.example.org", &[&fixture("simple.pdf"), &fixture("colour.pdf")]);
    mail_for_code(&server, &relay, 1, "branch@print.example.org", &[&fixture("ten-pages.pdf")]);
    assert_eq!(job_count(&server), 3);
    let branch_job = sql(&server, "SELECT id FROM jobs WHERE site = 'branch'")[0].clone();

    // A station of site main cannot list or fetch site branch's jobs.
    let client = reqwest::blocking::Client::new();
    let listing = client.get(format!("{}/api/v1/sites/branch/jobs", server.api_url())).bearer_auth(&token).send().unwrap();
    assert_eq!(listing.status(), 403);
    assert_eq!(listing.json::<serde_json::Value>().unwrap()["code"], "forbidden");
    let fetch = client.get(format!("{}/api/v1/jobs/{branch_job}/sealed", server.api_url())).bearer_auth(&token).send().unwrap();
    assert_eq!(fetch.status(), 404);
    let ack = client
        .post(format!("{}/api/v1/jobs/{branch_job}/ack", server.api_url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"status": "printed"}))
        .send()
        .unwrap();
    assert_eq!(ack.status(), 404);
    let wrong_site =
        station(&["poll", "--site", "branch", "--once"], &server.api_url(), &token, &server.key_path(), &["--printer", &printer.uri()])
            .output()
            .unwrap();
    assert!(!wrong_site.status.success());
    assert!(String::from_utf8_lossy(&wrong_site.stderr).contains("403"), "{}", String::from_utf8_lossy(&wrong_site.stderr));

    let out = station(&["poll", "--site", "main", "--once"], &server.api_url(), &token, &server.key_path(), &["--printer", &printer.uri()])
        .output()
        .unwrap();
    assert!(out.status.success(), "station poll failed: {}", String::from_utf8_lossy(&out.stderr));
    let printed = printer.printed();
    assert_eq!(printed.len(), 2, "{printed:?}");
    let mut printed_bytes: Vec<String> = printed.iter().map(|p| common::sha256_hex(&std::fs::read(p).unwrap())).collect();
    let mut sent: Vec<String> =
        ["simple.pdf", "colour.pdf"].iter().map(|f| common::sha256_hex(&std::fs::read(fixture(f)).unwrap())).collect();
    printed_bytes.sort();
    sent.sort();
    assert_eq!(printed_bytes, sent);
    assert_eq!(sql(&server, "SELECT site FROM jobs"), vec!["branch".to_owned()], "only site branch's job is left");
}

/// `?limit=0` lists no job (it used to be raised to 1 and hand out a job nobody asked for);
/// other limits count, and the cap holds.
#[test]
fn poll_with_limit_zero_lists_no_job() {
    let scanners = Scanners::real();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = Server::start_full(&scanners, relay.port, "", "[auth]\nresolver = \"static\"\n");
    let token = server.station_token_scoped("poll");
    mail_for_code(&server, &relay, 0, "bw@print.example.org", &[&fixture("simple.pdf"), &fixture("colour.pdf")]);
    assert_eq!(job_count(&server), 2);
    let client = reqwest::blocking::Client::new();
    let listed = |query: &str| -> usize {
        let resp = client.get(format!("{}/api/v1/sites/main/jobs{query}", server.api_url())).bearer_auth(&token).send().unwrap();
        assert_eq!(resp.status(), 200, "{query}");
        let body: serde_json::Value = resp.json().unwrap();
        body["jobs"].as_array().map(Vec::len).unwrap_or_else(|| panic!("{query}: {body}"))
    };
    assert_eq!(listed("?limit=0"), 0);
    assert_eq!(listed("?limit=1"), 1);
    assert_eq!(listed("?limit=4294967295"), 2);
    assert_eq!(listed(""), 2);
    for bad in ["?limit=-1", "?limit=x", "?limit=4294967296"] {
        let resp = client.get(format!("{}/api/v1/sites/main/jobs{bad}", server.api_url())).bearer_auth(&token).send().unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
    }
    assert_eq!(job_count(&server), 2, "listing takes nothing away");
}

#[test]
fn a_stopped_printer_costs_nothing_and_the_job_prints_once_when_it_is_back() {
    let scanners = Scanners::real();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = Server::start_full(&scanners, relay.port, "", "[auth]\nresolver = \"static\"\n");
    let mut printer = Printer::start(tmp.path());
    let token = server.station_token_scoped("poll");
    let code = mail_for_code(&server, &relay, 0, "bw@print.example.org", &[&fixture("simple.pdf")]);
    let job = sql(&server, "SELECT id FROM jobs")[0].clone();

    // Kiosk mode: the printer is off while the patron releases.
    printer.power_off();
    let release =
        station(&["release", &code], &server.api_url(), &token, &server.key_path(), &["--printer", &printer.uri(), "--retry-for", "120s"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    wait_until("the station reported the failed print", Duration::from_secs(30), || {
        sql(&server, &format!("SELECT print_failures FROM jobs WHERE id = '{job}'")).first().is_some_and(|n| n != "0")
    });
    let reason = sql(&server, &format!("SELECT last_failure FROM jobs WHERE id = '{job}'"))[0].clone();
    assert!(reason.contains("printer unreachable"), "{reason}");
    assert_eq!(job_count(&server), 1, "nothing may be acknowledged while the printer is off");
    assert!(printer.printed().is_empty());
    printer.power_on();
    let out = release.wait_with_output().unwrap();
    assert!(out.status.success(), "release did not finish after the printer came back: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(printer.printed().len(), 1);
    assert_eq!(job_count(&server), 0);

    // Poll mode: the printer is off for a while; the poller keeps the job and prints it once.
    mail_for_code(&server, &relay, 1, "bw@print.example.org", &[&fixture("colour.pdf")]);
    printer.power_off();
    let mut poll = station(
        &["poll", "--site", "main", "--interval", "1s"],
        &server.api_url(),
        &token,
        &server.key_path(),
        &["--printer", &printer.uri()],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_until("the poller reported the failed print", Duration::from_secs(30), || {
        sql(&server, "SELECT print_failures FROM jobs").first().is_some_and(|n| n != "0")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(job_count(&server), 1);
    printer.power_on();
    wait_until("the poller printed the job", Duration::from_secs(90), || job_count(&server) == 0);
    // A few more rounds: nothing prints twice.
    std::thread::sleep(Duration::from_secs(3));
    let _ = Command::new("kill").arg(poll.id().to_string()).status();
    let status = poll.wait().unwrap();
    assert!(status.success(), "the poller did not stop cleanly on SIGTERM");
    let mut printed: Vec<String> = printer.printed().iter().map(|p| common::sha256_hex(&std::fs::read(p).unwrap())).collect();
    let mut sent: Vec<String> =
        ["simple.pdf", "colour.pdf"].iter().map(|f| common::sha256_hex(&std::fs::read(fixture(f)).unwrap())).collect();
    printed.sort();
    sent.sort();
    assert_eq!(printed, sent, "each document printed exactly once");
}

/// Sends `n` wrong codes with `token`; returns the statuses and the last Retry-After.
fn wrong_codes(client: &reqwest::blocking::Client, url: &str, token: &str, n: usize) -> (Vec<u16>, Option<u64>) {
    let mut statuses = Vec::with_capacity(n);
    let mut retry_after = None;
    for i in 0..n {
        let resp = client
            .post(format!("{url}/api/v1/release"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "code": format!("{:08}", 10_000_000 + i * 7919) }))
            .send()
            .unwrap();
        statuses.push(resp.status().as_u16());
        if let Some(v) = resp.headers().get("retry-after") {
            retry_after = v.to_str().ok().and_then(|s| s.parse().ok());
        }
        if resp.status() == 429 {
            assert_eq!(resp.json::<serde_json::Value>().unwrap()["code"], "locked_out");
        }
    }
    (statuses, retry_after)
}

#[test]
fn a_thousand_wrong_codes_are_throttled_locked_out_and_audited() {
    let scanners = Scanners::real();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = Server::start_full(&scanners, relay.port, "", "[auth]\nresolver = \"static\"\n");
    let code = mail_for_code(&server, &relay, 0, "bw@print.example.org", &[&fixture("simple.pdf")]);
    let client = reqwest::blocking::Client::new();
    let url = server.api_url();

    let token = server.station_token();
    let (statuses, retry_after) = wrong_codes(&client, &url, &token, 1000);
    let not_found = statuses.iter().filter(|s| **s == 404).count();
    let locked = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((not_found, locked), (10, 990), "default limit: 10 wrong codes per station");
    assert!(statuses[..10].iter().all(|s| *s == 404) && statuses[10..].iter().all(|s| *s == 429));
    let retry_after = retry_after.expect("429 carries Retry-After");
    assert!((800..=900).contains(&retry_after), "lockout is 15 minutes: {retry_after}");
    // Locked out means locked out: the right code is refused too.
    let right = client.post(format!("{url}/api/v1/release")).bearer_auth(&token).json(&serde_json::json!({ "code": code })).send().unwrap();
    assert_eq!(right.status(), 429);

    // Other stations behind the same address: the address is locked after 50 wrong codes.
    for _ in 0..4 {
        let (s, _) = wrong_codes(&client, &url, &server.station_token(), 10);
        assert!(s.iter().all(|s| *s == 404), "{s:?}");
    }
    let fresh = server.station_token();
    let (s, _) = wrong_codes(&client, &url, &fresh, 1);
    assert_eq!(s, vec![429], "the address's 51st wrong code");
    let right = client.post(format!("{url}/api/v1/release")).bearer_auth(&fresh).json(&serde_json::json!({ "code": code })).send().unwrap();
    assert_eq!(right.status(), 429);

    let audit = sql(&server, "SELECT kind || ' ' || detail FROM audit_events ORDER BY at, id");
    assert!(audit.iter().filter(|a| a.starts_with("station_locked_out")).count() == 5, "{audit:?}");
    assert!(audit.iter().any(|a| a.starts_with("address_locked_out") && a.contains("127.0.0.1")), "{audit:?}");
    // Wrong codes are never written down, not even in the log.
    let log = server.log();
    assert!(log.contains("wrong release code"));
    assert!(!log.contains("10000000") && !log.contains(&code), "a code reached the log");

    // The counters and lock-outs are in the store, not the process: a restarted node (or
    // another node of the cluster) still refuses the locked-out station and address.
    let mut server = server;
    server.kill();
    server.spawn();
    let right = client.post(format!("{url}/api/v1/release")).bearer_auth(&fresh).json(&serde_json::json!({ "code": code })).send().unwrap();
    assert_eq!(right.status(), 429, "a restart forgot the lock-out");
}

/// 100 wrong codes sent at once on one token from one address (SQLite, one node): the count
/// and the check are one store step taken before the code is looked at, so at most the
/// limit (10) are checked (404) and all others get 429 - before, 23 of 30 sent at once were
/// checked. A right code sent with them is refused like the rest once the slots are gone.
#[test]
fn a_hundred_wrong_codes_at_once_check_at_most_the_limit() {
    let scanners = Scanners::real();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = Server::start_full(&scanners, relay.port, "", "[auth]\nresolver = \"static\"\n");
    let code = mail_for_code(&server, &relay, 0, "bw@print.example.org", &[&fixture("simple.pdf")]);
    let (url, token) = (server.api_url(), server.station_token());
    let clients = common::warm_clients(&url, 100);
    let client = &clients[0];
    let statuses = common::at_once(100, |i| common::release_status(&clients[i], &url, &token, &format!("{:08}", 40_000_000 + i * 7919)));
    let checked = statuses.iter().filter(|s| **s == 404).count();
    assert!((1..=10).contains(&checked), "{checked} wrong codes checked against a limit of 10: {statuses:?}");
    assert_eq!(checked + statuses.iter().filter(|s| **s == 429).count(), 100, "{statuses:?}");
    assert_eq!(common::release_status(client, &url, &token, &code), 429, "after the limit even the right code waits");
    // The address's own limit (50) holds the same way for many tokens at once.
    let tokens: Vec<String> = (0..10).map(|_| server.station_token()).collect();
    let statuses =
        common::at_once(100, |i| common::release_status(&clients[i], &url, &tokens[i % 10], &format!("{:08}", 50_000_000 + i * 7919)));
    let checked_by_address = statuses.iter().filter(|s| **s == 404).count();
    assert!(checked + checked_by_address <= 50, "{} wrong codes from one address, limit 50: {statuses:?}", checked + checked_by_address);
}

#[test]
fn every_api_error_is_json_with_a_stable_code() {
    let scanners = Scanners::real();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = Server::start_full(&scanners, relay.port, "", "[auth]\nresolver = \"static\"\n");
    let token = server.station_token();
    mail_for_code(&server, &relay, 0, "bw@print.example.org", &[&fixture("simple.pdf")]);
    let job = sql(&server, "SELECT id FROM jobs")[0].clone();
    let client = reqwest::blocking::Client::new();
    let url = server.api_url();
    let check = |resp: reqwest::blocking::Response, status: u16, code: &str| {
        assert_eq!(resp.status().as_u16(), status);
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let body: serde_json::Value = resp.json().unwrap();
        assert_eq!(body["code"], code, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    };
    check(client.get(format!("{url}/api/v1/nothing")).send().unwrap(), 404, "not_found");
    check(client.get(format!("{url}/api/v1/release")).send().unwrap(), 405, "method_not_allowed");
    check(client.post(format!("{url}/api/v1/release")).json(&serde_json::json!({"code": "1"})).send().unwrap(), 401, "unauthorized");
    check(
        client.post(format!("{url}/api/v1/release")).bearer_auth("pgst_00").json(&serde_json::json!({"code": "1"})).send().unwrap(),
        401,
        "unauthorized",
    );
    check(
        client.post(format!("{url}/api/v1/release")).bearer_auth(&token).body("{\"code\": \"1\"}").send().unwrap(),
        415,
        "unsupported_media_type",
    );
    check(
        client
            .post(format!("{url}/api/v1/release"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{\"code\":")
            .send()
            .unwrap(),
        400,
        "bad_request",
    );
    check(
        client.post(format!("{url}/api/v1/release")).bearer_auth(&token).json(&serde_json::json!({"code": 5})).send().unwrap(),
        400,
        "bad_request",
    );
    check(
        client
            .post(format!("{url}/api/v1/release"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"code": "x".repeat(20_000)}))
            .send()
            .unwrap(),
        413,
        "payload_too_large",
    );
    check(client.get(format!("{url}/api/v1/jobs/..%2F..%2Fetc/sealed")).bearer_auth(&token).send().unwrap(), 404, "not_found");
    check(
        client
            .post(format!("{url}/api/v1/jobs/{job}/ack"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"status": "maybe"}))
            .send()
            .unwrap(),
        400,
        "bad_request",
    );

    // `failed` keeps the job and records why; the count goes up with each report.
    for n in 1..=2 {
        let kept = client
            .post(format!("{url}/api/v1/jobs/{job}/ack"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"status": "failed", "reason": "paper jam in tray 2\r\nInjected: yes"}))
            .send()
            .unwrap();
        assert_eq!(kept.status(), 200);
        assert_eq!(kept.json::<serde_json::Value>().unwrap(), serde_json::json!({"status": "kept", "failures": n}));
    }
    assert_eq!(
        sql(&server, "SELECT print_failures || '|' || last_failure FROM jobs"),
        vec!["2|paper jam in tray 2Injected: yes".to_owned()]
    );

    // A revoked token is refused at once, with the same 401 as an unknown one.
    let id = sql(&server, "SELECT id FROM station_tokens")[0].clone();
    let revoked = common::run(&["station-token", "revoke", &id, "--config", server.config.to_str().unwrap()]);
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    check(client.get(format!("{url}/api/v1/sites/main/jobs")).bearer_auth(&token).send().unwrap(), 401, "unauthorized");
    let token = server.station_token_scoped("poll");

    // The OpenAPI document is served as kept in docs/.
    let spec = client.get(format!("{url}/api/v1/openapi.json")).send().unwrap().text().unwrap();
    assert_eq!(spec, std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json")).unwrap());
    let poll: serde_json::Value =
        client.get(format!("{url}/api/v1/sites/main/jobs?limit=5")).bearer_auth(&token).send().unwrap().json().unwrap();
    assert_eq!(poll["jobs"].as_array().map(Vec::len), Some(1), "{poll}");
    assert_eq!(poll["jobs"][0]["id"], job.as_str());
}

#[test]
fn schemathesis_finds_no_server_error_or_schema_violation() {
    let schemathesis = common::daemon_env("PRINTGATE_TEST_SCHEMATHESIS");
    let scanners = Scanners::real();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = Server::start_custom(&scanners, relay.port, "", "[auth]\nresolver = \"static\"\n", &|config, _| {
        config.replace("[api]\n", "[api]\nmax_failed_codes = 100000\nmax_failed_codes_per_address = 100000\n")
    });
    let token = server.station_token_scoped("poll");
    mail_for_code(&server, &relay, 0, "bw@print.example.org", &[&fixture("simple.pdf")]);
    let out = Command::new(&schemathesis)
        .args(["run", &format!("{}/api/v1/openapi.json", server.api_url())])
        .args(["--url", &server.api_url()])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "all", "--max-examples", "60", "--seed", "1"])
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let report = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{report}");
    assert!(out.status.success(), "schemathesis found problems:\n{report}");
    // It really exercised the API: hundreds of cases over every authenticated operation.
    let cases = report
        .lines()
        .find_map(|l| l.trim().strip_suffix(" passed")?.split_once(" generated, "))
        .map(|(g, p)| (g.to_owned(), p.to_owned()));
    let (generated, passed) = cases.unwrap_or_else(|| panic!("no test-case summary in:\n{report}"));
    assert_eq!(generated, passed, "{report}");
    assert!(generated.parse::<u32>().unwrap() >= 200, "{report}");
    assert!(report.contains("Tested: 5"), "{report}");
    assert!(!server.log().contains("ERROR"), "{}", server.log());
}

#[test]
fn metrics_parse_with_the_prometheus_text_parser_and_count_what_happened() {
    let scanners = Scanners::real();
    let tmp = tempfile::tempdir().unwrap();
    let relay = Relay::start(&tmp.path().join("relay"));
    let server = Server::start_full(&scanners, relay.port, "", "[auth]\nresolver = \"static\"\n");
    let token = server.station_token();
    let code = mail_for_code(&server, &relay, 0, "bw@print.example.org", &[&fixture("simple.pdf")]);
    let client = reqwest::blocking::Client::new();
    let wrong = client
        .post(format!("{}/api/v1/release", server.api_url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"code": "1234 5678"}))
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let right = client
        .post(format!("{}/api/v1/release", server.api_url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"code": code}))
        .send()
        .unwrap();
    assert_eq!(right.status(), 200);
    let text = client.get(format!("{}/metrics", server.api_url())).send().unwrap().text().unwrap();
    let metrics = tmp.path().join("metrics.txt");
    std::fs::write(&metrics, &text).unwrap();
    // The Prometheus project's Python parser (python3-prometheus-client), independent of ours:
    // every sample as "name{labels} value", one per line.
    let script = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value} {family.type}")
"#;
    let out = Command::new("/usr/bin/python3").args(["-c", script]).arg(&metrics).output().unwrap();
    assert!(out.status.success(), "the Prometheus parser rejected /metrics: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    let samples = String::from_utf8(out.stdout).unwrap();
    let value = |prefix: &str| -> f64 {
        samples
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{samples}"))
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("printgate_messages_total{outcome=accepted}"), 1.0);
    assert_eq!(value("printgate_release_requests_total{result=wrong_code}"), 1.0);
    assert_eq!(value("printgate_release_requests_total{result=redeemed}"), 1.0);
    assert_eq!(value("printgate_documents_total{outcome=printed}"), 1.0);
    assert_eq!(value("printgate_pages_stored_total{}"), 1.0);
    assert_eq!(value("printgate_jobs_pending{}"), 1.0);
    assert!(value("printgate_smtp_sessions_total{}") >= 1.0);
    assert_eq!(value("printgate_scanner_seconds_count{scanner=clamav}"), 1.0);
    assert_eq!(value("printgate_scanner_seconds_count{scanner=spamassassin}"), 1.0);
    assert!(samples.contains("printgate_conversion_seconds_bucket{le=+Inf,result=ok} 1.0 histogram"), "{samples}");
    // Counts only: no code, address or file name is ever a label.
    assert!(!text.contains(&code) && !text.contains("patron@example.com") && !text.contains("simple.pdf"));
}
