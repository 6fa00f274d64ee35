//! Soak (issue [10/10]): a bounded load of mixed mail (PDFs, photos, text, Office files, large
//! mails, viruses, spam, programs and hostile fixtures) against printgate on PostgreSQL + S3,
//! while printgate is SIGKILLed and restarted and every daemon it depends on is taken away in
//! turn: clamd, spamd, PostgreSQL (crashed with `pg_ctl stop -m immediate`), the S3 store
//! (frozen with SIGSTOP: the S3 test server keeps objects in memory only, so a restart would
//! lose what printgate already stored, which is the store's fault, not printgate's), the reply
//! relay, and the LibreOffice workers (SIGKILL). Every daemon here is private to this test.
//!
//! Invariants checked at the end:
//! - every `250` is stored with exactly the jobs its documents call for, every job's sealed blob
//!   is in the S3 bucket, and it got exactly one reply (one reply Message-ID; a re-delivery of
//!   the same reply after a crash between the relay's `250` and the store's update is counted
//!   and printed, not hidden);
//! - every 4xx and 5xx left nothing behind (no message, no reply);
//! - every screened mail has its trace for the admin, also when PostgreSQL was down at DATA;
//! - nothing is stored twice; the server never crashed on its own.
//!
//! Size: `PRINTGATE_SOAK_MAILS` (default 160) offered evenly over `PRINTGATE_SOAK_SECONDS`
//! (default 100; faster if the server keeps up, later if it does not) and
//! `PRINTGATE_SOAK_ROUNDS` rounds of faults spread over that time (default 1; 0 is the
//! fault-free reference); `scripts/bench/soak` runs it at full size.
//! `PRINTGATE_SOAK_SEED` varies the fault moments.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::daemons::{PrivateDaemons, PrivatePostgres};
use common::smtp_client::{self, Outcome};
use common::{Relay, Scanners, Server};

/// What each mail (by Message-ID) was: its kind, what was expected, and what the SMTP peer saw.
type Outcomes = HashMap<String, (&'static str, Expect, Outcome)>;

const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
const SENDERS: usize = 4;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What a mail must come to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// `250` (unless a fault gave a 4xx) and exactly this many jobs.
    Jobs(usize),
    /// A 5xx at the end of DATA (or a 4xx during a fault).
    Refused,
    /// A hostile mail whose answer may be either: `250` with a reply, or a 5xx.
    Definite,
}

struct Mail {
    kind: &'static str,
    from: String,
    raw: Vec<u8>,
    expect: Expect,
}

/// A MIME message with a text part and the given attachments.
fn mime(from: &str, message_id: &str, subject: &str, text: &str, attachments: &[(&str, &str, &[u8])]) -> Vec<u8> {
    use base64::Engine;
    let mut m = format!(
        "From: {from}\r\nTo: bw@print.example.org\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"soak-b\"\r\n\r\n\
         --soak-b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    );
    for (name, content_type, bytes) in attachments {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let lines: Vec<&str> = b64.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
        m.push_str(&format!(
            "--soak-b\r\nContent-Type: {content_type}\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            lines.join("\r\n")
        ));
    }
    m.push_str("--soak-b--\r\n");
    m.into_bytes()
}

/// A hostile fixture with its own Message-ID replaced by ours (replies are matched by it).
fn with_message_id(raw: &[u8], message_id: &str) -> Vec<u8> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| raw.windows(2).position(|w| w == b"\n\n")).unwrap_or(raw.len());
    let mut out = format!("Message-ID: <{message_id}>\r\n").into_bytes();
    for line in raw[..head_end].split_inclusive(|b| *b == b'\n') {
        if !line.to_ascii_lowercase().starts_with(b"message-id:") {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(&raw[head_end..]);
    out
}

/// Files the mix is made of, read once.
struct Corpus {
    photo: Vec<u8>,
    ten_pages: Vec<u8>,
    text: Vec<u8>,
    docx: Vec<u8>,
    noise: Vec<u8>,
    /// (fixture name, raw mail, expectation) from tests/fixtures/hostile.
    hostile: Vec<(&'static str, Vec<u8>, Expect)>,
}

impl Corpus {
    fn load() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let read = |p: &str| std::fs::read(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        // Incompressible bytes of no printable type: a 2 MB mail that clamd and spamd must read
        // in full, and that policy refuses per document.
        let mut noise = vec![0u8; 2 << 20];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for b in &mut noise {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let hostile = [
            ("pdf-javascript-launch", Expect::Jobs(1)),
            ("polyglot-pdf-zip", Expect::Jobs(1)),
            ("nested-multipart-500", Expect::Definite),
            ("invalid-utf8", Expect::Definite),
            ("nul-bytes", Expect::Definite),
            ("tnef-malformed", Expect::Definite),
            ("header-1mb-line", Expect::Refused),
        ]
        .into_iter()
        .map(|(name, expect)| (name, read(&format!("hostile/{name}.eml")), expect))
        .collect();
        Self {
            photo: read("convert/photo.jpg"),
            ten_pages: read("convert/ten-pages.pdf"),
            text: read("convert/arabic-chinese.txt"),
            docx: read("convert/letter.docx"),
            noise,
            hostile,
        }
    }

    /// Mail number `i` of the mix (deterministic, so a failing run can be replayed).
    fn mail(&self, i: usize) -> (String, Mail) {
        let id = format!("soak-{i}@soak.test");
        let from = format!("patron{}@example.com", i % 97);
        let pdf = printgate::convert::sample::sample_pdf(&format!("soak mail {i}"), 1 + i % 3);
        let (kind, raw, expect) = match i % 100 {
            0..=49 => ("pdf", mime(&from, &id, "print", "Please print.", &[("doc.pdf", "application/pdf", &pdf)]), Expect::Jobs(1)),
            50..=61 => (
                "pdf+photo",
                mime(
                    &from,
                    &id,
                    "two",
                    "Both please.",
                    &[("ten.pdf", "application/pdf", &self.ten_pages), ("photo.jpg", "image/jpeg", &self.photo)],
                ),
                Expect::Jobs(2),
            ),
            62..=69 => ("text", mime(&from, &id, "notes", "Notes attached.", &[("notes.txt", "text/plain", &self.text)]), Expect::Jobs(1)),
            70..=72 => (
                "docx",
                mime(
                    &from,
                    &id,
                    "letter",
                    "My letter.",
                    &[("letter.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", &self.docx)],
                ),
                Expect::Jobs(1),
            ),
            73..=77 => (
                "pdf+exe",
                mime(
                    &from,
                    &id,
                    "setup",
                    "Print this.",
                    &[
                        ("doc.pdf", "application/pdf", &pdf),
                        ("setup.exe", "application/octet-stream", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00program"),
                    ],
                ),
                Expect::Jobs(1),
            ),
            78..=81 => (
                "large",
                mime(
                    &from,
                    &id,
                    "big",
                    "A big one.",
                    &[("doc.pdf", "application/pdf", &pdf), ("data.bin", "application/octet-stream", &self.noise)],
                ),
                Expect::Jobs(1),
            ),
            82..=86 => (
                "virus",
                mime(&from, &id, "invoice", "See attached.", &[("invoice.pdf", "application/pdf", EICAR.as_bytes())]),
                Expect::Refused,
            ),
            87..=90 => ("spam", mime(&from, &id, "offer", GTUBE, &[("doc.pdf", "application/pdf", &pdf)]), Expect::Refused),
            n => {
                let (name, raw, expect) = &self.hostile[(n + i / 100) % self.hostile.len()];
                (*name, with_message_id(raw, &id), *expect)
            }
        };
        (id, Mail { kind, from, raw, expect })
    }
}

/// Something taken away from printgate, and how it comes back.
#[derive(Debug, Clone, Copy)]
enum Fault {
    KillPrintgate,
    Clamd,
    Spamd,
    Postgres,
    S3,
    Relay,
    Office,
}

const ROUND: [Fault; 9] = [
    Fault::KillPrintgate,
    Fault::Clamd,
    Fault::Postgres,
    Fault::KillPrintgate,
    Fault::Spamd,
    Fault::S3,
    Fault::Relay,
    Fault::KillPrintgate,
    Fault::Office,
];

/// Everything the fault thread needs to break and mend.
struct Stack {
    server: Mutex<Server>,
    daemons: PrivateDaemons,
    postgres: PrivatePostgres,
    relay: Mutex<Option<Relay>>,
    relay_dir: PathBuf,
    relay_port: u16,
    /// Exits of printgate that nobody caused.
    crashes: AtomicUsize,
}

impl Stack {
    fn inject(&self, fault: Fault, pause: Duration) {
        eprintln!("soak: fault {fault:?} (down for {pause:?})");
        match fault {
            Fault::KillPrintgate => {
                let mut server = self.server.lock().unwrap();
                self.check_alive(&mut server);
                server.kill();
                std::thread::sleep(pause.min(Duration::from_millis(500)));
                server.spawn();
            }
            Fault::Clamd | Fault::Spamd => {
                let name = if matches!(fault, Fault::Clamd) { "clamd" } else { "spamd" };
                self.daemons.kill(name);
                std::thread::sleep(pause);
                self.daemons.restart_only(&[name]);
            }
            Fault::Postgres => {
                self.postgres.crash();
                std::thread::sleep(pause);
                self.postgres.start_server();
            }
            Fault::S3 => {
                self.daemons.freeze("s3");
                std::thread::sleep(pause);
                self.daemons.thaw("s3");
            }
            Fault::Relay => {
                drop(self.relay.lock().unwrap().take());
                std::thread::sleep(pause);
                *self.relay.lock().unwrap() = Some(Relay::start_on(&self.relay_dir, self.relay_port));
            }
            Fault::Office => {
                // The LibreOffice workers run under the server's own profile directory.
                let server = self.server.lock().unwrap();
                let profiles = server.data_dir().join("convert");
                let killed = Command::new("pkill").args(["-KILL", "-f"]).arg(profiles.display().to_string()).status().unwrap();
                eprintln!("soak: LibreOffice workers killed: {}", killed.success());
            }
        }
    }

    /// Counts a crash if the server exited without being told to, and keeps its log.
    fn check_alive(&self, server: &mut Server) {
        let log = server.log();
        if !server.is_running() || log.contains("panicked") {
            self.crashes.fetch_add(1, Ordering::SeqCst);
            eprintln!("soak: printgate was not running or panicked:\n{log}");
        }
    }
}

/// Keys of every object in `bucket` (boto3 from the S3 test server's venv).
fn bucket_keys(python: &str, endpoint: &str, bucket: &str) -> HashSet<String> {
    let script = "import boto3,sys\n\
        s3=boto3.client('s3',endpoint_url=sys.argv[1],aws_access_key_id='k',aws_secret_access_key='s',region_name='us-east-1')\n\
        for page in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[2]):\n\
        \x20   for o in page.get('Contents',[]): print(o['Key'])";
    let out = Command::new(python).args(["-c", script, endpoint, bucket]).output().unwrap();
    assert!(out.status.success(), "listing the bucket: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn mixed_load_survives_kills_and_every_daemon_going_away() {
    let total = env_usize("PRINTGATE_SOAK_MAILS", 160);
    let rounds = env_usize("PRINTGATE_SOAK_ROUNDS", 1);
    let span = Duration::from_secs(env_usize("PRINTGATE_SOAK_SECONDS", 100) as u64);
    let seed = env_usize("PRINTGATE_SOAK_SEED", 7) as u64;
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let daemons = PrivateDaemons::start_with_s3(true);
    let postgres = PrivatePostgres::start();
    let s3 = daemons.env("PRINTGATE_TEST_S3");
    let blob_url = common::s3_bucket_at(&s3);
    let bucket = blob_url.trim_start_matches("s3://").split('/').next().unwrap().to_owned();
    let relay_dir = work.path().join("relay");
    let relay = Relay::start(&relay_dir);
    let relay_port = relay.port;
    let scanners = Scanners { clamd: daemons.env("PRINTGATE_TEST_CLAMD"), spamd: daemons.env("PRINTGATE_TEST_SPAMD") };
    let db_url = postgres.url();
    let server = Server::start_custom(
        &scanners,
        relay_port,
        "max_messages_per_ip_per_minute = 1000000\nmax_messages_per_sender_per_hour = 1000000\nmax_messages_per_domain_per_hour = 1000000\nmax_connections_per_ip = 64",
        "[auth]\nresolver = \"static\"\n[convert]\nprofile_dir = \"{dir}/data/convert\"\noffice_workers = 1\noffice_prestart = true\n",
        &|config, dir| {
            config
                .replace("{dir}", &dir.display().to_string())
                .replace("site = \"main\"\n", "site = \"main\"\nallowed_types = [\"pdf\", \"images\", \"text\", \"office\"]\n")
                .replace(&format!("sqlite://{}/data/printgate.db", dir.display()), &db_url)
                .replace(&format!("file://{}/data/blobs", dir.display()), &blob_url)
        },
    );
    let port = server.smtp_port;
    let stack = Arc::new(Stack {
        server: Mutex::new(server),
        daemons,
        postgres,
        relay: Mutex::new(Some(relay)),
        relay_dir: relay_dir.clone(),
        relay_port,
        crashes: AtomicUsize::new(0),
    });
    let corpus = Arc::new(Corpus::load());

    // Mail i is offered no earlier than i/total of the span after the load starts.
    let load_start = Instant::now();
    let offer_at = move |i: usize| load_start + span.mul_f64(i as f64 / total as f64);
    let next = Arc::new(AtomicUsize::new(0));
    let outcomes: Arc<Mutex<Outcomes>> = Arc::default();
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (next, outcomes, corpus) = (next.clone(), outcomes.clone(), corpus.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= total {
                        return;
                    }
                    std::thread::sleep(offer_at(i).saturating_duration_since(Instant::now()));
                    let (id, mail) = corpus.mail(i);
                    let outcome = smtp_client::send(port, &mail.from, "bw@print.example.org", &mail.raw);
                    if outcome == Outcome::NoAnswer {
                        std::thread::sleep(Duration::from_millis(200)); // printgate restarting
                    }
                    outcomes.lock().unwrap().insert(id, (mail.kind, mail.expect, outcome));
                }
            })
        })
        .collect();

    // Faults at evenly spread moments of the span, each shifted by a pseudo-random delay, one
    // after the other (a fault that overruns its slot delays the next).
    let faults: Vec<Fault> = (0..rounds).flat_map(|_| ROUND).collect();
    let injector = {
        let stack = stack.clone();
        let faults = faults.clone();
        std::thread::spawn(move || {
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            for (k, fault) in faults.iter().enumerate() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = load_start + span.mul_f64((k + 1) as f64 / (faults.len() + 1) as f64) + Duration::from_millis(x % 700);
                std::thread::sleep(at.saturating_duration_since(Instant::now()));
                stack.inject(*fault, Duration::from_millis(2000 + x % 4000));
            }
        })
    };
    for s in senders {
        s.join().unwrap();
    }
    let load_secs = load_start.elapsed().as_secs_f64();
    injector.join().unwrap();

    // Drain: everything is back; wait until the spool is empty and every stored message has its
    // reply at the relay (the outbox's back-off after the relay outage is 30 s, then 60 s; a reply
    // held by a killed node waits out its 90 s lease).
    let mut server = stack.server.lock().unwrap();
    stack.check_alive(&mut server);
    let deadline = Instant::now() + Duration::from_secs(420);
    let reply_ids = loop {
        let stored = stack.postgres.sql("select count(*) from messages")[0].parse::<usize>().unwrap();
        let spool_empty = std::fs::read_dir(server.data_dir().join("spool")).unwrap().next().is_none();
        let replies = common::replies_by_mail(&relay_dir);
        if spool_empty && replies.len() >= stored {
            std::thread::sleep(Duration::from_secs(2)); // let smtp-sink finish its last file
            break common::replies_by_mail(&relay_dir);
        }
        assert!(
            Instant::now() < deadline,
            "not drained after 420 s: stored {stored}, replies {}, spool empty {spool_empty}\n{}",
            replies.len(),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    stack.check_alive(&mut server);

    let outcomes = outcomes.lock().unwrap().clone();
    let stored: HashSet<String> = stack.postgres.sql("select id from messages").into_iter().collect();
    let jobs: HashMap<String, usize> = stack
        .postgres
        .sql("select message_id, count(*) from jobs group by message_id")
        .into_iter()
        .map(|r| {
            let (id, n) = r.split_once('|').unwrap();
            (id.to_owned(), n.parse().unwrap())
        })
        .collect();
    let blob_keys: Vec<String> = stack.postgres.sql("select blob_key from jobs");
    let in_bucket = bucket_keys(&stack.daemons.env("PRINTGATE_TEST_BOTO_PYTHON"), &s3, &bucket);

    // Traces by the Message-ID they record (the admin's view of every answered mail).
    let traces: HashMap<String, String> = stack
        .postgres
        .sql("select message_id, outcome from traces")
        .into_iter()
        .filter_map(|r| r.split_once('|').map(|(m, o)| (m.trim_matches(['<', '>']).to_owned(), o.to_owned())))
        .collect();
    let mut problems = Vec::new();
    let (mut accepted, mut temporary, mut permanent, mut no_answer) = (0, 0, 0, 0);
    let mut by_kind: HashMap<&str, [usize; 4]> = HashMap::new();
    for (mid, (kind, expect, outcome)) in &outcomes {
        let slot = by_kind.entry(kind).or_default();
        let replies = reply_ids.get(mid).map_or(0, |r| r.ids.len());
        // Every mail that was screened has its trace, also when PostgreSQL was down at the time
        // (a line over 64 KiB is refused while reading DATA, before any screening).
        let screened = matches!(outcome, Outcome::Accepted(_)) || (matches!(outcome, Outcome::Refused(_)) && *kind != "header-1mb-line");
        match traces.get(mid) {
            None if screened => problems.push(format!("{mid} ({kind}) has no trace ({outcome:?})")),
            Some(t) if matches!(outcome, Outcome::Accepted(_)) && t != "accepted" => {
                problems.push(format!("{mid} ({kind}) got 250 but its trace says {t}"))
            }
            _ => {}
        }
        match outcome {
            Outcome::Accepted(queue_id) => {
                accepted += 1;
                slot[0] += 1;
                if !stored.contains(queue_id) {
                    problems.push(format!("{mid} ({kind}) got 250 as {queue_id} but was not stored"));
                }
                let n = jobs.get(queue_id).copied().unwrap_or(0);
                match expect {
                    Expect::Jobs(want) if n != *want => problems.push(format!("{mid} ({kind}): {n} jobs, expected {want}")),
                    Expect::Refused => problems.push(format!("{mid} ({kind}) must be refused but got 250")),
                    _ => {}
                }
                if replies != 1 {
                    problems.push(format!("{mid} ({kind}) got 250 and {replies} different replies"));
                }
            }
            Outcome::Refused(reply) => {
                let temp = outcome.is_temporary();
                if temp {
                    temporary += 1;
                    slot[1] += 1;
                } else {
                    permanent += 1;
                    slot[2] += 1;
                }
                if !temp && matches!(expect, Expect::Jobs(_)) {
                    problems.push(format!("{mid} ({kind}) must print but was refused: {}", reply.trim()));
                }
                if !temp && !outcome.is_permanent() {
                    problems.push(format!("{mid} ({kind}) got neither 4xx nor 5xx: {}", reply.trim()));
                }
                if replies != 0 {
                    problems.push(format!("{mid} ({kind}) was refused ({}) but processed", reply.trim()));
                }
            }
            Outcome::NoAnswer => {
                no_answer += 1;
                slot[3] += 1;
                if replies > 1 {
                    problems.push(format!("{mid} ({kind}) had no answer and {replies} different replies"));
                }
            }
        }
    }
    // Every stored message is one that got 250 or lost its connection at the kill, never one
    // that was refused; each has exactly one reply; every job's sealed blob is in the bucket.
    let answered: HashSet<&str> =
        outcomes.values().filter_map(|(_, _, o)| if let Outcome::Accepted(q) = o { Some(q.as_str()) } else { None }).collect();
    let stored_unanswered = stored.iter().filter(|id| !answered.contains(id.as_str())).count();
    if stored.len() != reply_ids.len() {
        problems.push(format!("{} stored messages but replies to {} mails", stored.len(), reply_ids.len()));
    }
    let missing_blobs: Vec<&String> = blob_keys.iter().filter(|k| !in_bucket.iter().any(|o| o.ends_with(k.as_str()))).collect();
    if !missing_blobs.is_empty() {
        problems.push(format!(
            "{} jobs have no sealed blob in the bucket, e.g. {:?}",
            missing_blobs.len(),
            &missing_blobs[..missing_blobs.len().min(3)]
        ));
    }
    let crashes = stack.crashes.load(Ordering::SeqCst);
    if crashes > 0 {
        problems.push(format!("printgate crashed {crashes} times on its own"));
    }
    let raw_deliveries: usize = reply_ids.values().map(|r| r.deliveries).sum();
    let job_count: usize = jobs.values().sum();

    let mut kinds: Vec<_> = by_kind.into_iter().collect();
    kinds.sort();
    for (kind, [a, t, p, n]) in &kinds {
        println!("soak kind {kind:<22} 250 {a:>5}  4xx {t:>4}  5xx {p:>4}  no answer {n:>3}");
    }
    println!(
        "soak: sent {total}, 250 {accepted}, 4xx {temporary}, 5xx {permanent}, no answer {no_answer}; stored {} messages \
         ({stored_unanswered} of them lost their 250 at a kill), jobs {job_count}, blobs {}, replies {} (relay deliveries {raw_deliveries}); \
         faults {} ({} rounds of {:?}); crashes {crashes}; load {load_secs:.0} s ({:.1} mails/s), total {:.0} s; problems {}",
        stored.len(),
        in_bucket.len(),
        reply_ids.len(),
        faults.len(),
        rounds,
        if rounds > 0 { &ROUND[..] } else { &[] },
        total as f64 / load_secs,
        started.elapsed().as_secs_f64(),
        problems.len()
    );
    assert!(accepted > total / 3, "too few accepted ({accepted} of {total}) for a meaningful run");
    if rounds > 0 {
        assert!(temporary > 0, "no fault ever showed as a 4xx: the faults did not land");
    }
    assert!(problems.is_empty(), "{} invariant violations:\n{}", problems.len(), problems.join("\n"));
}

/// PostgreSQL down at DATA: a good mail still gets `250` within seconds (the spool is durable)
/// and a spam mail its `5xx`; when the database is back the message is stored, replied to, and
/// both mails have their traces (the accepted one carried in the spool entry, the refused one
/// retried in memory).
#[test]
fn postgres_down_at_data_still_accepts_and_keeps_every_trace() {
    let work = tempfile::tempdir().unwrap();
    let postgres = PrivatePostgres::start();
    let relay = Relay::start(&work.path().join("relay"));
    let db_url = postgres.url();
    let server = Server::start_custom(&Scanners::real(), relay.port, "", "[auth]\nresolver = \"static\"\n", &|config, dir| {
        config.replace(&format!("sqlite://{}/data/printgate.db", dir.display()), &db_url)
    });
    postgres.crash();
    let pdf = printgate::convert::sample::sample_pdf("outage", 1);
    let good = mime("patron@example.com", "outage-good@soak.test", "print", "Please print.", &[("doc.pdf", "application/pdf", &pdf)]);
    let spam = mime("patron@example.com", "outage-spam@soak.test", "offer", GTUBE, &[("doc.pdf", "application/pdf", &pdf)]);
    let t = Instant::now();
    let accepted = smtp_client::send(server.smtp_port, "patron@example.com", "bw@print.example.org", &good);
    assert!(matches!(accepted, Outcome::Accepted(_)), "{accepted:?}\n{}", server.log());
    assert!(t.elapsed() < Duration::from_secs(20), "the 250 took {:?} with the database down", t.elapsed());
    let refused = smtp_client::send(server.smtp_port, "patron@example.com", "bw@print.example.org", &spam);
    assert!(refused.is_permanent(), "{refused:?}");

    postgres.start_server();
    relay.wait_for(1, Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rows = postgres.sql("select message_id, outcome from traces order by message_id");
        if rows.len() == 2 {
            assert_eq!(rows, vec!["outage-good@soak.test|accepted".to_owned(), "outage-spam@soak.test|refused".to_owned()]);
            break;
        }
        assert!(Instant::now() < deadline, "traces after the outage: {rows:?}\n{}", server.log());
        std::thread::sleep(Duration::from_millis(300));
    }
    let Outcome::Accepted(queue_id) = accepted else { unreachable!() };
    assert_eq!(postgres.sql(&format!("select count(*) from jobs where message_id = '{queue_id}'")), vec!["1".to_owned()]);
}
