//! The intake fixture corpus (tests/fixtures/intake, made by examples/make_intake_fixtures.rs)
//! run as one table test against the real server, clamd and spamd: every mail is sent with
//! swaks, its SMTP reply and its message trace (per-document outcomes) are compared with
//! expected.toml, and all mismatches are reported together in one table.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Relay, Scanners, Server};
use serde::Deserialize;

#[derive(Deserialize)]
struct Corpus {
    mail: Vec<Mail>,
}

#[derive(Deserialize)]
struct Mail {
    file: String,
    message_id: String,
    covers: String,
    smtp: String,
    code: Option<String>,
    #[serde(default)]
    reply_contains: Vec<String>,
    documents: Vec<Doc>,
}

#[derive(Deserialize)]
struct Doc {
    name: String,
    expect: String,
}

/// One row of the failure table.
struct Mismatch {
    file: String,
    what: String,
    expected: String,
    actual: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/intake")
}

fn load_corpus() -> Corpus {
    let text = std::fs::read_to_string(corpus_dir().join("expected.toml")).expect("tests/fixtures/intake/expected.toml");
    toml::from_str(&text).expect("expected.toml parses")
}

/// The corpus itself is well formed: every .eml is listed once, ids are unique, mails are CRLF
/// RFC 5322 messages carrying their listed Message-ID, and every expectation is well formed.
#[test]
fn the_corpus_is_complete_and_well_formed() {
    let corpus = load_corpus();
    assert!(corpus.mail.len() >= 40, "the corpus must hold at least 40 mails, has {}", corpus.mail.len());
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = corpus.mail.iter().map(|m| m.file.clone()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "expected.toml and the .eml files differ");
    let mut ids = HashSet::new();
    let mut total = 0;
    for mail in &corpus.mail {
        assert!(ids.insert(mail.message_id.clone()), "{}: Message-ID used twice", mail.file);
        let raw = std::fs::read(corpus_dir().join(&mail.file)).unwrap();
        total += raw.len();
        let header_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("{}: no header end", mail.file));
        let header = String::from_utf8_lossy(&raw[..header_end]);
        assert!(header.contains(&format!("\r\nMessage-ID: <{}>", mail.message_id)), "{}: Message-ID header", mail.file);
        assert!(header.starts_with("From: ") && header.contains("patron@example.com"), "{}: From", mail.file);
        assert!(header.contains("\r\nTo: bw@print.example.org"), "{}: To", mail.file);
        for (i, &b) in raw.iter().enumerate() {
            assert!(b != b'\n' || (i > 0 && raw[i - 1] == b'\r'), "{}: bare LF at byte {i}", mail.file);
        }
        match (mail.smtp.as_str(), &mail.code) {
            ("accept", None) => {}
            ("reject", Some(code)) => assert!(code.starts_with("5."), "{}: reject code {code}", mail.file),
            other => panic!("{}: bad smtp/code {other:?}", mail.file),
        }
        let mut names = HashSet::new();
        for doc in &mail.documents {
            assert!(names.insert(doc.name.as_str()), "{}: document {} listed twice", mail.file, doc.name);
            let ok = doc.expect == "print" || doc.expect == "skip" || doc.expect.strip_prefix("refuse:").is_some_and(|r| !r.is_empty());
            assert!(ok, "{}: bad expectation {:?}", mail.file, doc.expect);
        }
        assert!(!mail.covers.is_empty());
    }
    assert!(total < 2 * 1024 * 1024, "the corpus must stay under 2 MiB, is {total} bytes");
}

#[test]
fn every_corpus_mail_gets_its_expected_outcome_per_document() {
    let corpus = load_corpus();
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    // The corpus sends ~60 mails from one sender in a minute: lift the rate limits.
    let limits =
        "max_messages_per_ip_per_minute = 10000\nmax_messages_per_sender_per_hour = 10000\nmax_messages_per_domain_per_hour = 10000";
    let mut server = Server::start_full(&Scanners::real(), relay.port, limits, "[auth]\nresolver = \"static\"\n");
    let mut mismatches = Vec::new();

    // The `bw` queue accepts every printable group, so refusals come from the file policy only.
    let original = std::fs::read_to_string(&server.config).unwrap();
    let widened = original.replacen("name = \"bw\"", "name = \"bw\"\nallowed_types = [\"pdf\", \"images\", \"office\", \"text\"]", 1);
    assert_ne!(original, widened, "the harness config has no `name = \"bw\"` queue line");
    std::fs::write(&server.config, &widened).unwrap();
    let check = common::run(&["check-config", "--config", server.config.to_str().unwrap()]);
    if !check.status.success() {
        mismatches.push(Mismatch {
            file: "(config)".into(),
            what: "allowed_types groups".into(),
            expected: "check-config accepts [\"pdf\", \"images\", \"office\", \"text\"]".into(),
            actual: format!("{} (ran with the default allowed_types instead)", one_line(&String::from_utf8_lossy(&check.stderr))),
        });
        std::fs::write(&server.config, &original).unwrap();
    }
    server.kill();
    server.spawn();

    // Phase 1: send every mail and keep the reply to DATA.
    let mut replies = BTreeMap::new();
    for mail in &corpus.mail {
        let transcript = send_raw(&server, &corpus_dir().join(&mail.file));
        replies.insert(mail.file.clone(), data_reply(&transcript));
    }

    // Phase 2: wait (bounded, for the whole corpus at once) until the pipeline has settled the
    // accepted mails: no document still waiting as "printable".
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut traces: BTreeMap<String, Option<(String, serde_json::Value)>> = BTreeMap::new();
    loop {
        let mut pending = false;
        for mail in &corpus.mail {
            let trace = read_trace(&server, &mail.message_id);
            let settled = trace.as_ref().is_some_and(|(outcome, docs)| {
                outcome != "accepted" || docs.as_array().is_none_or(|d| d.iter().all(|d| d["outcome"] != "printable"))
            });
            pending |= !settled && replies[&mail.file].starts_with("250");
            traces.insert(mail.file.clone(), trace);
        }
        if !pending || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    // Phase 3: compare.
    for mail in &corpus.mail {
        let reply = &replies[&mail.file];
        let row = |what: &str, expected: &str, actual: &str| Mismatch {
            file: mail.file.clone(),
            what: what.to_owned(),
            expected: expected.to_owned(),
            actual: actual.to_owned(),
        };
        let expected_smtp = match (mail.smtp.as_str(), &mail.code) {
            ("reject", Some(code)) => format!("5xx {code}"),
            _ => "250".to_owned(),
        };
        let smtp_ok = match (mail.smtp.as_str(), &mail.code) {
            ("reject", Some(code)) => reply.starts_with('5') && reply.get(4..4 + code.len()) == Some(code.as_str()),
            _ => reply.starts_with("250"),
        };
        if !smtp_ok {
            mismatches.push(row("SMTP reply", &expected_smtp, &first_line(reply)));
        }
        for needle in &mail.reply_contains {
            if !reply.contains(needle.as_str()) {
                mismatches.push(row("SMTP reply text", &format!("contains {needle:?}"), &first_line(reply)));
            }
        }
        let Some((_, documents)) = &traces[&mail.file] else {
            mismatches.push(row("trace", &format!("a trace for <{}>", mail.message_id), "none"));
            continue;
        };
        let mut actual: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in documents.as_array().map(Vec::as_slice).unwrap_or_default() {
            let name = d["name"].as_str().unwrap_or("?").to_owned();
            actual.entry(name).or_default().push(d["outcome"].as_str().unwrap_or("?").to_owned());
        }
        for doc in &mail.documents {
            match actual.remove(&doc.name).as_deref() {
                None => mismatches.push(row(&doc.name, &doc.expect, "(not in the trace)")),
                Some([outcome]) => {
                    if !matches(&doc.expect, outcome) {
                        mismatches.push(row(&doc.name, &doc.expect, outcome));
                    }
                }
                Some(many) => mismatches.push(row(
                    &doc.name,
                    &format!("{} (once)", doc.expect),
                    &format!("{} times: {}", many.len(), many.join(" / ")),
                )),
            }
        }
        for (name, outcomes) in actual {
            mismatches.push(row(&name, "(not a document of this mail)", &outcomes.join(" / ")));
        }
    }

    if !mismatches.is_empty() {
        panic!(
            "{} mismatches in {} corpus mails:\n{}\nserver log tail:\n{}",
            mismatches.len(),
            corpus.mail.len(),
            table(&mismatches),
            tail(&server.log(), 20)
        );
    }
}

/// Does a trace outcome satisfy an expectation from expected.toml?
fn matches(expect: &str, outcome: &str) -> bool {
    match expect {
        "print" => {
            outcome == "printable" || outcome == "stored" || (outcome.starts_with("refused: ") && outcome.contains("cannot be printed yet"))
        }
        "skip" => outcome.starts_with("skipped"),
        _ => {
            let reasons = expect.strip_prefix("refuse:").expect("checked by the corpus test");
            outcome.starts_with("refused") && reasons.split('|').any(|r| outcome.contains(r))
        }
    }
}

fn send_raw(server: &Server, path: &Path) -> String {
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{}", server.smtp_port), "--to", "bw@print.example.org"])
        .args(["--from", "patron@example.com", "--helo", "patron.example.com", "--timeout", "120", "--suppress-data"])
        .arg("--data")
        .arg(path)
        .output()
        .expect("swaks must be installed; scripts/test installs it");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

/// The server's reply to the end of DATA ("250 2.0.0 Ok…", "550 5.6.0 …"; the lines of a
/// multi-line reply joined by spaces), or the end of the transcript when there is none.
fn data_reply(transcript: &str) -> String {
    let lines: Vec<&str> = transcript.lines().collect();
    let Some(go_ahead) = lines.iter().position(|l| is_reply(l) && reply_text(l).starts_with("354")) else {
        return format!("(no 354 to DATA) {}", tail(transcript, 3).replace('\n', " | "));
    };
    let mut reply = Vec::new();
    for line in &lines[go_ahead + 1..] {
        if is_reply(line) {
            let text = reply_text(line);
            reply.push(text.to_owned());
            if text.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        } else if !reply.is_empty() {
            break;
        }
    }
    if reply.is_empty() {
        return format!("(no reply after DATA) {}", tail(transcript, 3).replace('\n', " | "));
    }
    reply.join(" ")
}

fn is_reply(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("<-") || t.starts_with("<**") || t.starts_with("<~")
}

fn reply_text(line: &str) -> &str {
    line.trim_start().trim_start_matches(['<', '-', '*', '~']).trim_start()
}

/// The trace's outcome and documents (JSON) for a Message-ID, stored with or without brackets.
fn read_trace(server: &Server, message_id: &str) -> Option<(String, serde_json::Value)> {
    let condition = format!("message_id in ('{message_id}', '<{message_id}>') order by received_at desc limit 1");
    let outcome = common::sql(server, &format!("select outcome from traces where {condition}")).into_iter().next()?;
    let documents = common::sql(server, &format!("select documents from traces where {condition}")).join("\n");
    Some((outcome, serde_json::from_str(&documents).unwrap_or(serde_json::Value::Null)))
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    if line.chars().count() > 160 { format!("{}…", line.chars().take(160).collect::<String>()) } else { line.to_owned() }
}

/// All lines of `s` joined into one, shortened like [`first_line`].
fn one_line(s: &str) -> String {
    first_line(&s.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn table(rows: &[Mismatch]) -> String {
    let headers = ["file", "document / check", "expected", "actual"];
    let cells: Vec<[String; 4]> = rows.iter().map(|m| [m.file.clone(), m.what.clone(), m.expected.clone(), m.actual.clone()]).collect();
    let mut widths = headers.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count()).min(70);
        }
    }
    let line = |cols: [&str; 4]| {
        let mut s = String::from("|");
        for (c, w) in cols.iter().zip(widths) {
            s.push_str(&format!(" {c:<w$} |"));
        }
        s
    };
    let mut out = vec![line(headers), line(widths.map(|w| "-".repeat(w)).each_ref().map(String::as_str))];
    for row in &cells {
        out.push(line(row.each_ref().map(String::as_str)));
    }
    out.join("\n")
}
