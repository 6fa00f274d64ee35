//! Mail for the reply tests (`tests/replies.rs`, `tests/reply_commands.rs`): sending a raw
//! message or a reply command with swaks, a mail with one PDF, the answers at the relay, and
//! what independent tools read in a reply — Python's `email` package, ZBar for the QR code,
//! Python's zoneinfo for local times.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Relay, Scanners, Server};

/// Sends `message` (CRLF text) from `from` (`"<>"` for the null sender) with swaks.
pub fn send_raw(server: &Server, from: &str, message: &str) -> String {
    let mut child = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{}", server.smtp_port), "--to", "bw@print.example.org"])
        .args(["--from", from, "--data", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(message.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A mail with one PDF attachment, extra headers and the attachment's raw
/// Content-Disposition parameters.
pub fn mail(message_id: &str, extra_headers: &str, disposition: &str) -> String {
    use base64::Engine;
    let pdf = printgate::convert::sample::sample_pdf("reply test", 1);
    let b64 = base64::engine::general_purpose::STANDARD.encode(pdf);
    format!(
        "From: patron@example.com\r\nTo: bw@print.example.org\r\nSubject: print\r\nMessage-ID: <{message_id}>\r\n{extra_headers}\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nPlease print.\r\n\
         --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; {disposition}\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
    )
}

/// Python's `email` parser (policy `default`, which raises on malformed headers when asked)
/// reads the reply: returns its headers as (name, value) pairs and its text part.
pub fn python_parse(raw: &[u8], dir: &Path) -> (Vec<(String, String)>, String, Vec<String>) {
    let path = dir.join(format!("reply-{}.eml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, raw).unwrap();
    let script = r#"
import email, email.policy, json, sys
raw = open(sys.argv[1], 'rb').read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
defects = [type(d).__name__ for d in msg.defects]
for part in msg.walk():
    defects += [type(d).__name__ for d in part.defects]
text = msg.get_body(preferencelist=('plain',)).get_content()
print(json.dumps({"headers": [[k, str(v)] for k, v in msg.items()], "text": text, "defects": defects}))
"#;
    let out = Command::new("/usr/bin/python3").arg("-c").arg(script).arg(&path).output().unwrap();
    assert!(out.status.success(), "python could not parse the reply: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let headers =
        v["headers"].as_array().unwrap().iter().map(|h| (h[0].as_str().unwrap().to_owned(), h[1].as_str().unwrap().to_owned())).collect();
    let defects = v["defects"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect();
    (headers, v["text"].as_str().unwrap().to_owned(), defects)
}

/// Sends a reply command: `to` is the reply's Reply-To address, `from` the sender.
pub fn send_command(server: &Server, to: &str, from: &str, body: &str) -> String {
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{}", server.smtp_port), "--to", to, "--from", from])
        .args(["--header", &format!("From: {from}"), "--header", "Subject: Re: Ready to print", "--body", body])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn reply_to(raw: &[u8]) -> String {
    let message = mail_parser::MessageParser::default().parse(raw).unwrap();
    message.reply_to().and_then(|a| a.first()).and_then(|a| a.address()).expect("the reply has a Reply-To").to_owned()
}

pub fn wait_for_outcome(server: &Server, spool_reply: &str, wanted: &str) -> String {
    let id = spool_reply.split("queued as ").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let outcome = super::wait_for_trace(server, "outcome", &format!("id = '{id}' and outcome like 'command%'"));
    assert!(outcome.starts_with(wanted), "trace outcome {outcome:?}, expected {wanted:?}…\n{}", server.log());
    outcome
}

/// A server whose `bw` queue has extra settings (lines added after `retention`).
pub fn server_with_queue_settings(relay: &Relay, settings: &str) -> Server {
    let settings = settings.to_owned();
    Server::start_custom(&Scanners::real(), relay.port, "", "[auth]\nresolver = \"static\"\n", &move |config, _| {
        config.replacen("retention = \"72h\"\n", &format!("retention = \"72h\"\n{settings}"), 1)
    })
}

/// The PNG parts of a reply, as Python's `email` package finds them, written to `dir`;
/// returns their paths and the Content-IDs the HTML refers to.
pub fn python_png_parts(raw: &[u8], dir: &Path) -> (Vec<std::path::PathBuf>, Vec<String>) {
    let path = dir.join(format!("qr-{}.eml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, raw).unwrap();
    let script = r#"
import email, email.policy, json, re, sys
msg = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
html = msg.get_body(preferencelist=('html',)).get_content()
pngs = []
for i, part in enumerate(msg.walk()):
    if part.get_content_type() == 'image/png':
        out = sys.argv[1] + f'.{i}.png'
        open(out, 'wb').write(part.get_payload(decode=True))
        pngs.append([out, part['Content-ID']])
print(json.dumps({"pngs": pngs, "cids": re.findall(r'src="cid:([^"]+)"', html)}))
"#;
    let out = Command::new("/usr/bin/python3").arg("-c").arg(script).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pngs = v["pngs"].as_array().unwrap();
    for png in pngs {
        let cid = png[1].as_str().unwrap().trim_matches(|c| c == '<' || c == '>');
        assert!(v["cids"].as_array().unwrap().iter().any(|c| c.as_str() == Some(cid)), "image {cid} is not referenced: {v}");
    }
    (
        pngs.iter().map(|p| p[0].as_str().unwrap().into()).collect(),
        v["cids"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect(),
    )
}

/// What zbarimg (ZBar, an independent QR decoder) reads in a PNG.
pub fn zbar(png: &Path) -> String {
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(png)
        .output()
        .expect("zbarimg (Debian zbar-tools) must be installed; scripts/test installs it");
    assert!(out.status.success(), "zbarimg found no code in {}: {}", png.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `(weekday 0=Monday, day, month, year, "HH:MM", zone abbreviation)` of a Unix time in an
/// IANA zone, computed by Python's zoneinfo (the system tz database), not by printgate's jiff.
pub fn python_local_time(unix: i64, zone: &str) -> (usize, u32, usize, i32, String, String) {
    let script = "import datetime, json, sys, zoneinfo\n\
        t = datetime.datetime.fromtimestamp(int(sys.argv[1]), zoneinfo.ZoneInfo(sys.argv[2]))\n\
        print(json.dumps([t.weekday(), t.day, t.month, t.year, t.strftime('%H:%M'), t.tzname()]))";
    let out = Command::new("/usr/bin/python3").arg("-c").arg(script).arg(unix.to_string()).arg(zone).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v[0].as_u64().unwrap() as usize,
        v[1].as_u64().unwrap() as u32,
        v[2].as_u64().unwrap() as usize,
        v[3].as_i64().unwrap() as i32,
        v[4].as_str().unwrap().to_owned(),
        v[5].as_str().unwrap().to_owned(),
    )
}

/// Sends a reply command with a known Message-ID (to find the answer by its In-Reply-To).
pub fn send_command_with_id(server: &Server, to: &str, from: &str, message_id: &str, body: &str) -> String {
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{}", server.smtp_port), "--to", to, "--from", from])
        .args(["--header", &format!("From: {from}"), "--header", "Subject: Re: Ready to print"])
        .args(["--header", &format!("Message-ID: <{message_id}>"), "--body", body])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The mail the relay got that answers `message_id`; waits for it.
pub fn answer_to(relay: &Relay, message_id: &str) -> Vec<u8> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mails = relay.wait_for(0, Duration::from_secs(1));
        if let Some(m) = mails.into_iter().find(|m| String::from_utf8_lossy(m).contains(&format!("In-Reply-To: <{message_id}>"))) {
            return m;
        }
        assert!(std::time::Instant::now() < deadline, "no answer to {message_id}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn subject_and_text(raw: &[u8]) -> (String, String) {
    let message = mail_parser::MessageParser::default().parse(raw).unwrap();
    (message.subject().unwrap_or_default().to_owned(), message.body_text(0).unwrap_or_default().into_owned())
}
