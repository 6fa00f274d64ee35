//! Patron replies as a second, independent parser (Python's `email` package) reads them, and
//! the rules about who never gets one (RFC 3834: null senders, automatic and list mail).
//! Reply commands (CANCEL, EXTEND, RESEND) are in `tests/reply_commands.rs`.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::reply_mail::*;
use common::{Relay, Scanners, Server};

#[test]
fn null_senders_automatic_and_list_mail_get_no_reply() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    let cases = [
        ("<>", "", "null sender"),
        ("patron@example.com", "Auto-Submitted: auto-generated\r\n", "Auto-Submitted"),
        ("patron@example.com", "List-Id: <readers.lists.example.com>\r\n", "List-Id"),
        ("patron@example.com", "Precedence: bulk\r\n", "Precedence: bulk"),
    ];
    for (i, (from, headers, what)) in cases.iter().enumerate() {
        let out = send_raw(&server, from, &mail(&format!("silent{i}@example.com"), headers, "filename=\"doc.pdf\""));
        assert!(out.contains("250 2.0.0 Ok: queued as"), "{what}: not accepted:\n{out}");
    }
    // Loop guard: a mail that claims to come from printgate's own reply address (a bounced or
    // forwarded reply that lost its Auto-Submitted header) gets no reply either.
    let own = mail("silent-own@example.com", "", "filename=\"doc.pdf\"")
        .replace("From: patron@example.com", "From: Print service <printgate@print.example.org>");
    let out = send_raw(&server, "patron@example.com", &own);
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    // A control mail sent last: once its reply is out, the earlier ones were processed too.
    let out = send_raw(&server, "patron@example.com", &mail("control@example.com", "", "filename=\"doc.pdf\""));
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    relay.wait_for(1, Duration::from_secs(60));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while common::stored_messages(&server) < cases.len() + 2 {
        assert!(std::time::Instant::now() < deadline, "not every mail was stored:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    // Give the outbox time to send anything it (wrongly) queued for the earlier mails.
    std::thread::sleep(Duration::from_secs(2));
    let replies = relay.wait_for(1, Duration::from_millis(100));
    assert_eq!(replies.len(), 1, "only the control mail gets a reply");
    assert!(String::from_utf8_lossy(&replies[0]).contains("<control@example.com>"), "the reply answers the control mail");
}

/// A file name with CR LF and a header in it (RFC 2231 percent-encoded, as a hostile mail
/// program would send it) ends up as text in the body, never as a header of the reply; the
/// reply parses without defects and carries `Auto-Submitted: auto-replied`.
#[test]
fn a_hostile_file_name_cannot_add_a_header_and_replies_parse_cleanly() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    let long = "x".repeat(300);
    let disposition = format!("filename*=utf-8''report%0D%0ABcc%3A%20victim%40example.net%0D%0A%0D%0Abody{long}.pdf");
    let out = send_raw(&server, "patron@example.com", &mail("hostile@example.com", "", &disposition));
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    let replies = relay.wait_for(1, Duration::from_secs(60));
    let (headers, text, defects) = python_parse(&replies[0], work.path());
    assert!(defects.is_empty(), "the reply has defects: {defects:?}");
    let names: Vec<String> = headers.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
    assert!(!names.contains(&"bcc".to_owned()), "a header was injected: {headers:?}");
    let to: Vec<&String> = headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("to")).map(|(_, v)| v).collect();
    assert_eq!(to, vec!["patron@example.com"], "{headers:?}");
    assert!(headers.iter().any(|(k, v)| k == "Auto-Submitted" && v == "auto-replied"), "{headers:?}");
    assert!(headers.iter().any(|(k, v)| k == "In-Reply-To" && v == "<hostile@example.com>"), "{headers:?}");
    assert!(headers.iter().any(|(k, v)| k == "Subject" && v.starts_with("Ready to print: 1 document, code ")), "{headers:?}");
    // The name is in the body, as text, on the document's line.
    assert!(text.contains("Bcc: victim@example.net"), "{text}");
    assert!(text.contains(": 1 page, black and white"), "{text}");
    // SMTP line limits hold even for the 300-character name (RFC 5322: 998 octets).
    for line in replies[0].split(|b| *b == b'\n') {
        assert!(line.len() <= 998, "a reply line of {} octets", line.len());
    }
}

/// With `[relay] dkim_key`, replies carry a DKIM signature that an independent verifier
/// (Python's dkimpy, given the selector's TXT record) accepts, and that breaks when the body
/// is altered.
#[test]
fn replies_are_dkim_signed_and_verify_with_dkimpy() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let keys = work.path().join("dkim");
    let out = common::run(&["keygen", "--site", "dkim", "--out", keys.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = keys.join("dkim.key.pem");
    let server = Server::start_custom(&Scanners::real(), relay.port, "", "[auth]\nresolver = \"static\"\n", &|config, _| {
        config.replace(
            "library_name = \"Test Library\"\n",
            &format!("library_name = \"Test Library\"\ndkim_key = \"{}\"\ndkim_selector = \"pg2026\"\n", key.display()),
        )
    });
    let out = send_raw(&server, "patron@example.com", &mail("signed@example.com", "", "filename=\"doc.pdf\""));
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    let reply = relay.wait_for(1, Duration::from_secs(60)).remove(0);
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("DKIM-Signature:") || text.contains("\nDKIM-Signature:"), "{text}");
    assert!(text.contains("d=print.example.org") && text.contains("s=pg2026"), "{text}");

    // The public key as DNS would publish it: v=DKIM1; k=rsa; p=<base64 SPKI DER>.
    let public = std::fs::read_to_string(keys.join("dkim.pub.pem")).unwrap();
    let p: String = public.lines().filter(|l| !l.starts_with("-----")).collect();
    let record = format!("v=DKIM1; k=rsa; p={p}");
    let verify = |message: &[u8]| -> String {
        let path = work.path().join(format!("m-{}.eml", uuid::Uuid::new_v4().simple()));
        // smtp-sink's dump starts with its own envelope lines; the message follows them.
        std::fs::write(&path, message).unwrap();
        let script = r#"
import dkim, sys
raw = open(sys.argv[1], 'rb').read()
record = sys.argv[2].encode()
def dns(name, timeout=5):
    assert name == b'pg2026._domainkey.print.example.org.', name
    return record
print('pass' if dkim.verify(raw, dnsfunc=dns) else 'fail')
"#;
        let out = Command::new("/usr/bin/python3").arg("-c").arg(script).arg(&path).arg(&record).output().unwrap();
        assert!(out.status.success(), "dkimpy: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let message = strip_sink_envelope(&reply);
    assert_eq!(verify(&message), "pass", "dkimpy rejects the signature:\n{}", String::from_utf8_lossy(&message));
    let tampered = String::from_utf8_lossy(&message).replacen("1 page, black and white", "9 pages, black and white", 1);
    assert_ne!(tampered.as_bytes(), &message[..], "the body text to alter is there");
    assert_eq!(verify(tampered.as_bytes()), "fail", "an altered body still verifies");
}

/// smtp-sink's dump file may start with envelope lines (`X-…` records) before the message:
/// keep everything from the first DKIM-Signature header on.
fn strip_sink_envelope(dump: &[u8]) -> Vec<u8> {
    let text = dump;
    let needle = b"DKIM-Signature:";
    let start = text.windows(needle.len()).position(|w| w == needle).expect("no DKIM-Signature");
    text[start..].to_vec()
}

/// The relay is down while 50 mails arrive; once it is back, every reply is delivered, each
/// exactly once (the outbox retries with back-off; the first retry comes after 30 s).
#[test]
fn replies_queued_while_the_relay_is_down_are_delivered_once_it_is_back() {
    let work = tempfile::tempdir().unwrap();
    let relay_port = common::free_port();
    let server = Server::start(&Scanners::real(), relay_port);
    const MAILS: usize = 50;
    std::thread::scope(|scope| {
        for worker in 0..4 {
            let server = &server;
            scope.spawn(move || {
                for i in (worker..MAILS).step_by(4) {
                    let out = send_raw(server, "patron@example.com", &mail(&format!("queued{i}@example.com"), "", "filename=\"doc.pdf\""));
                    assert!(out.contains("250 2.0.0 Ok: queued as"), "mail {i}: {out}");
                }
            });
        }
    });
    // Every reply waits in the outbox, none delivered.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let waiting = common::sql(&server, "select count(*) from outbox where sent_at is null and attempts >= 1");
        if waiting == vec![MAILS.to_string()] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "replies not queued as failed attempts: {waiting:?}\n{}", server.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let relay = common::Relay::start_on(&work.path().join("relay"), relay_port);
    let replies = relay.wait_for(MAILS, Duration::from_secs(120));
    // A little longer: nothing is sent twice.
    std::thread::sleep(Duration::from_secs(3));
    let replies = if replies.len() == MAILS { relay.wait_for(MAILS, Duration::from_secs(1)) } else { replies };
    assert_eq!(replies.len(), MAILS, "replies delivered");
    let mut answered: Vec<String> = replies
        .iter()
        .map(|r| {
            let text = String::from_utf8_lossy(r);
            let at = text.find("In-Reply-To: <").expect("In-Reply-To") + "In-Reply-To: <".len();
            text[at..].split('>').next().unwrap().to_owned()
        })
        .collect();
    answered.sort();
    answered.dedup();
    assert_eq!(answered.len(), MAILS, "each mail answered exactly once");
    assert_eq!(common::sql(&server, "select count(*) from outbox where sent_at is null"), vec!["0".to_owned()]);
}

/// A queue with `language = "de"` and `timezone = "Europe/Berlin"`: the reply's subject and
/// text are German, the code line carries the German label, the expiry is Berlin time as
/// Python's zoneinfo computes it, and the HTML part's QR image decodes (ZBar) to the code.
/// Python's `email` reads the reply without defects.
#[test]
fn a_german_queue_in_berlin_replies_in_german_with_a_qr_code_of_the_code() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = server_with_queue_settings(&relay, "language = \"de\"\ntimezone = \"Europe/Berlin\"\n");
    let out = send_raw(&server, "patron@example.com", &mail("deutsch@example.com", "", "filename=\"aufsatz.pdf\""));
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    let reply = relay.wait_for(1, Duration::from_secs(60)).remove(0);
    let (headers, text, defects) = python_parse(&reply, work.path());
    assert!(defects.is_empty(), "the reply has defects: {defects:?}");
    let subject = &headers.iter().find(|(k, _)| k == "Subject").unwrap().1;
    assert!(subject.starts_with("Bereit zum Drucken: 1 Dokument, Code "), "{subject}");
    let line = text.lines().find(|l| l.starts_with("Freigabecode: ")).unwrap_or_else(|| panic!("no German code line:\n{text}"));
    let code: String = line.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 8, "{line}");
    assert!(subject.ends_with(&line["Freigabecode: ".len()..]), "subject {subject:?} and line {line:?} name one code");
    assert!(text.contains("- aufsatz.pdf: 1 Seite, schwarz-weiß"), "{text}");

    let expires: i64 = common::sql(&server, "select expires_at from messages")[0].parse().unwrap();
    let (weekday, day, month, year, hm, zone) = python_local_time(expires, "Europe/Berlin");
    assert!(zone == "CET" || zone == "CEST", "{zone}");
    let days = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"];
    let months = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"];
    let expected = format!("{}, {day}. {} {year}, {hm} Uhr ({zone})", days[weekday], months[month - 1]);
    assert!(text.contains(&format!("bis {expected} an einer Freigabestation")), "expected {expected:?} in:\n{text}");

    let (pngs, cids) = python_png_parts(&reply, work.path());
    assert_eq!(pngs.len(), 1, "one QR image, referenced as {cids:?}");
    assert_eq!(zbar(&pngs[0]), code, "the QR code holds the release code's digits");
}

/// A queue's `templates` directory replaces the built-in reply; `check-config` refuses a
/// directory whose template does not compile, naming the file.
#[test]
fn queue_templates_replace_the_built_in_reply_and_broken_ones_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let templates = work.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("reply.txt.j2"),
        "Branch library print desk.\n{% if code %}Release code: {{ code }}\n{% endif %}{% for d in documents %}* {{ d.name }} ({{ d.pages }} p.)\n{% endfor %}Until {{ expires }}.\n",
    )
    .unwrap();
    std::fs::write(
        templates.join("reply.html.j2"),
        "<p>Code <b>{{ code }}</b></p>{% if qr_cid %}<img src=\"cid:{{ qr_cid }}\" alt=\"\">{% endif %}",
    )
    .unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let settings = format!("templates = \"{}\"\ntimezone = \"America/New_York\"\n", templates.display());
    let server = server_with_queue_settings(&relay, &settings);
    let out = send_raw(&server, "patron@example.com", &mail("custom@example.com", "", "filename=\"doc.pdf\""));
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    let reply = relay.wait_for(1, Duration::from_secs(60)).remove(0);
    let (_, text, defects) = python_parse(&reply, work.path());
    assert!(defects.is_empty(), "{defects:?}");
    assert!(text.starts_with("Branch library print desk.\nRelease code: "), "{text}");
    assert!(text.contains("* doc.pdf (1 p.)"), "{text}");
    assert!(text.contains(" EST.") || text.contains(" EDT."), "New York time: {text}");
    let (pngs, _) = python_png_parts(&reply, work.path());
    assert_eq!(zbar(&pngs[0]), common::release_code(&reply));

    std::fs::write(templates.join("reply.txt.j2"), "Release code: {{ code }\n").unwrap();
    let out = common::run(&["check-config", "--config", server.config.to_str().unwrap()]);
    assert!(!out.status.success(), "a broken template passes check-config");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("queue[0].templates") && stderr.contains("reply.txt.j2") && stderr.contains("syntax error"), "{stderr}");
}

/// With `reminder_before`, the janitor sends one reminder before expiry: threaded under the
/// reply, naming the document, with a Reply-To through which EXTEND works; a restart (the
/// janitor runs again at once) sends no second one. The janitor runs at start and every 60 s,
/// so the test makes the message due 3 s after it arrives and restarts the server.
#[test]
fn an_expiry_reminder_is_sent_once_through_the_janitor() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    // 72 h retention, reminder 72 h - 3 s before expiry.
    let mut server = server_with_queue_settings(&relay, "reminder_before = \"259197s\"\n");
    let out = send_raw(&server, "patron@example.com", &mail("remind@example.com", "", "filename=\"thesis.pdf\""));
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    let reply = relay.wait_for(1, Duration::from_secs(60)).remove(0);
    let reply_id = mail_parser::MessageParser::default().parse(&reply).unwrap().message_id().unwrap().to_owned();
    assert_eq!(relay.wait_for(1, Duration::from_secs(1)).len(), 1, "no reminder before it is due");
    std::thread::sleep(Duration::from_secs(4));
    server.terminate();
    server.spawn();
    let reminder = answer_to(&relay, &reply_id);
    let (subject, text) = subject_and_text(&reminder);
    assert_eq!(subject, "Reminder: your documents will be deleted soon");
    assert!(text.contains("1 document is still waiting to print at Test Library") && text.contains("- thesis.pdf"), "{text}");
    assert!(text.contains("will be deleted after ") && text.contains(" UTC:"), "{text}");
    assert!(!text.contains(&common::release_code(&reply)), "the code is not stored, so not in the reminder");
    assert_eq!(reply_to(&reminder), reply_to(&reply), "the same command address");
    assert_eq!(common::sql(&server, "select count(*) from messages where reminded_at is not null"), vec!["1".to_owned()]);

    server.terminate();
    server.spawn();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(relay.wait_for(2, Duration::from_secs(1)).len(), 2, "the reminder is sent once");
    let out = send_command_with_id(&server, &reply_to(&reminder), "patron@example.com", "after-reminder@example.com", "EXTEND");
    wait_for_outcome(&server, &out, "command EXTEND: kept until");
    let (subject, _) = subject_and_text(&answer_to(&relay, "after-reminder@example.com"));
    assert_eq!(subject, "Extended: your documents are kept longer");
}

/// The patron's Message-ID goes into `In-Reply-To` and `References` only when it is one valid
/// msg-id. A malformed one (a blank inside, no angle brackets, a bare CR, longer than a header
/// line may be) is dropped: the reply still goes out, not threaded, and parses without defects.
#[test]
fn only_a_valid_message_id_is_copied_into_the_reply() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let server = Server::start(&Scanners::real(), relay.port);
    let long = format!("<{}@example.com>", "a".repeat(1200));
    let cases = [
        ("valid", "<good.1@example.com>", Some("<good.1@example.com>")),
        ("blank", "<a b@example.com>", None),
        ("noangle", "no-angle@example.com", None),
        ("cr", "<a\rb@example.com>", None),
        ("long", long.as_str(), None),
    ];
    for (who, field, _) in &cases {
        let message = mail("x@example.com", "", "filename=\"doc.pdf\"")
            .replace("From: patron@example.com", &format!("From: {who}@example.com"))
            .replace("Message-ID: <x@example.com>", &format!("Message-ID: {field}"));
        let outcome = common::smtp_client::send(server.smtp_port, &format!("{who}@example.com"), "bw@print.example.org", message);
        assert!(matches!(outcome, common::smtp_client::Outcome::Accepted(_)), "{who}: {outcome:?}");
    }
    let replies = relay.wait_for(cases.len(), Duration::from_secs(90));
    let parsed: Vec<_> = replies.iter().map(|r| python_parse(r, work.path())).collect();
    for (who, _, kept) in &cases {
        let header =
            |headers: &[(String, String)], name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        let to = format!("{who}@example.com");
        let (headers, _, defects) =
            parsed.iter().find(|(h, _, _)| header(h, "To") == Some(to.clone())).unwrap_or_else(|| panic!("no reply to {to}"));
        assert!(defects.is_empty(), "{who}: {defects:?}");
        assert_eq!(header(headers, "In-Reply-To").as_deref(), *kept, "{who}: {headers:?}");
        assert_eq!(header(headers, "References").as_deref(), *kept, "{who}: {headers:?}");
    }
}

/// A reply to an address that needs SMTPUTF8 (`zoë@…`) can never pass a relay that does not
/// offer SMTPUTF8 (Postfix's smtp-sink announces none; lettre refuses before `MAIL`). That is
/// final: one attempt, the outbox row marked refused with the reason, no retry (the first would
/// come 30 s later), and the console's message trace says so. Other replies go out meanwhile.
#[test]
fn a_reply_the_relay_can_never_take_is_tried_once_and_shown_in_the_trace() {
    let work = tempfile::tempdir().unwrap();
    let relay = Relay::start(&work.path().join("relay"));
    let admin_port = common::free_port();
    let sections = format!("[auth]\nresolver = \"static\"\n\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\n");
    let server = Server::start_full(&Scanners::real(), relay.port, "", &sections);
    common::wait_for_port(admin_port, Duration::from_secs(10));
    common::console::add_admin(&server, "librarian", "a long librarian passphrase");
    let zoe = "zoë@example.org";
    let message = mail("utf8-sender@example.org", "", "filename=\"doc.pdf\"").replace("From: patron@example.com", &format!("From: {zoe}"));
    let outcome = common::smtp_client::send(server.smtp_port, zoe, "bw@print.example.org", message);
    assert!(matches!(outcome, common::smtp_client::Outcome::Accepted(_)), "{outcome:?}");
    let first_attempt = std::time::Instant::now() + Duration::from_secs(60);
    while common::sql(&server, "SELECT COUNT(*) FROM outbox WHERE attempts > 0") != vec!["1".to_owned()] {
        assert!(std::time::Instant::now() < first_attempt, "no delivery attempt:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    // Another patron's reply is delivered while the first one waits (or not).
    let out = send_raw(&server, "patron@example.com", &mail("control@example.com", "", "filename=\"doc.pdf\""));
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    let replies = relay.wait_for(1, Duration::from_secs(60));
    assert!(String::from_utf8_lossy(&replies[0]).contains("<control@example.com>"));
    // Past the first retry's time: still one attempt.
    std::thread::sleep(Duration::from_secs(40));
    let row = common::sql(&server, "SELECT attempts FROM outbox WHERE rcpt <> 'patron@example.com'");
    assert_eq!(row, vec!["1".to_owned()], "the refused reply was tried again:\n{}", server.log());
    let row = common::sql(
        &server,
        "SELECT refused_at IS NOT NULL, sent_at IS NULL, length(body), last_error FROM outbox WHERE attempts = 1 AND rcpt <> 'patron@example.com'",
    );
    assert_eq!(row.len(), 1, "{row:?}");
    let fields: Vec<&str> = row[0].splitn(4, '|').collect();
    assert_eq!(fields[..3], ["1", "1", "0"], "refused, not sent, body (with the code) erased: {row:?}");
    assert!(fields[3].contains("SMTPUTF8"), "the reason is recorded: {row:?}");
    assert_eq!(relay.wait_for(1, Duration::from_millis(100)).len(), 1, "nothing reached the relay for zoë");

    let mut browser = common::console::Browser::new(&format!("http://127.0.0.1:{admin_port}"));
    assert_eq!(browser.login("librarian", "a long librarian passphrase").0, 303);
    let (status, page) = browser.get("/trace?message_id=utf8-sender");
    assert_eq!(status, 200);
    assert_eq!(page.matches("<section class=\"trace\">").count(), 1, "{page}");
    assert!(page.contains("Refused for good by the mail relay at the first attempt") && page.contains("it is not tried again"), "{page}");
    assert!(page.contains("SMTPUTF8"), "{page}");
}

/// Postfix's smtp-sink with extra options (`-r RCPT`: answer RCPT with 450, `-f RCPT`: with 500).
struct Sink(std::process::Child);

impl Sink {
    fn start(port: u16, options: &[&str]) -> Self {
        let sink = std::env::var("PG_SMTP_SINK").unwrap_or_else(|_| "/usr/sbin/smtp-sink".into());
        let child = Command::new(sink)
            .args(["-u", "nobody"])
            .args(options)
            .arg(format!("127.0.0.1:{port}"))
            .arg("64")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-sink (Postfix) must be installed");
        common::wait_for_port(port, Duration::from_secs(10));
        Self(child)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A relay's 4xx is retried (with back-off); its 5xx ends the attempts with the answer kept.
#[test]
fn a_4xx_from_the_relay_is_retried_and_a_5xx_ends_the_attempts() {
    let relay_port = common::free_port();
    let soft = Sink::start(relay_port, &["-r", "RCPT"]);
    let server = Server::start(&Scanners::real(), relay_port);
    let out = send_raw(&server, "patron@example.com", &mail("bounced@example.com", "", "filename=\"doc.pdf\""));
    assert!(out.contains("250 2.0.0 Ok: queued as"), "{out}");
    let state = || common::sql(&server, "SELECT attempts, refused_at IS NULL, last_error FROM outbox");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while state().first().is_none_or(|r| r.starts_with("0|")) {
        assert!(std::time::Instant::now() < deadline, "no delivery attempt:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let row = state();
    assert!(row[0].starts_with("1|1|") && row[0].contains("450"), "a 4xx is a failed attempt to retry: {row:?}");
    drop(soft);
    let _hard = Sink::start(relay_port, &["-f", "RCPT"]);
    // The retry comes 30 s after the first attempt; the 500 ends it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while state().first().is_none_or(|r| r.starts_with("1|")) {
        assert!(std::time::Instant::now() < deadline, "no second attempt:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(500));
    }
    let row = state();
    assert!(row[0].starts_with("2|0|") && row[0].contains("500"), "a 5xx is final, with the relay's answer: {row:?}");
}
