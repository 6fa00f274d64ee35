//! Test harness for system tests: runs the real `printgate` binary against the real clamd and
//! spamd started by `scripts/test`, with Postfix's `smtp-sink` as the reply relay and `swaks`
//! as the patron's mail client. Nothing here is a mock.
#![allow(dead_code)]

pub mod console;
pub mod convert_docs;
pub mod daemons;
pub mod dovecot;
pub mod kiosk;
pub mod printer;
pub mod reply_mail;
pub mod smtp_client;

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_printgate");

/// A mail body the test spamd scores about 7.5 (SpamAssassin's drug rules; the daemons run
/// without network tests): between the test server's lines (tag 5, reject 10), so it is
/// accepted and tagged, and refused once a reject line is moved below its score. A plain
/// "please print" scores about 0, below any line the rules allow.
pub const SPAMMY_BODY: &str = "Cheap VIAGRA and CIALIS. No prescription needed! Risk free.";

/// An address from the environment that `scripts/test` sets; tests fail (never skip) without it.
pub fn daemon_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the tests through scripts/test, which starts clamd and spamd"))
}

/// A local port that was free a moment ago.
///
/// The port is drawn at random from below the kernel's ephemeral range: a port from
/// `bind(0)` is an ephemeral one, and between the probe and the server's own bind any outgoing
/// connection on the machine may take it as its source port (CI once lost a test to exactly
/// that). Below the range only another test can race for it, and `Server` retries on that.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (from, span) = (10_000u16, low.saturating_sub(10_000).max(1000));
    for _ in 0..1000 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        let port = from + (hasher.finish() % u64::from(span)) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Postfix's smtp-sink, dumping every received message into a directory.
pub struct Relay {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Relay {
    pub fn start(dir: &Path) -> Self {
        Self::start_on(dir, free_port())
    }

    /// A relay on a given port (e.g. one that was down until now).
    pub fn start_on(dir: &Path, port: u16) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        // smtp-sink drops privileges to `nobody`, which must be able to write the dumps.
        Command::new("chmod").arg("777").arg(dir).status().unwrap();
        let sink = std::env::var("PG_SMTP_SINK").unwrap_or_else(|_| "/usr/sbin/smtp-sink".into());
        let child = Command::new(sink)
            .args(["-u", "nobody", "-d"])
            .arg(format!("{}/%Y%m%d%H%M%S.", dir.display()))
            .arg(format!("127.0.0.1:{port}"))
            .arg("64")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-sink (Postfix) must be installed; scripts/test installs it");
        wait_for_port(port, Duration::from_secs(10));
        Self { child, port, dir: dir.to_owned() }
    }

    /// Waits until `count` messages were received; returns their raw bytes.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            // In arrival order: smtp-sink names files by the second plus a random suffix, so
            // two replies of one second sort by their (nanosecond) modification time.
            let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.dir)
                .unwrap()
                .map(|e| e.unwrap())
                .map(|e| (e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), e.path()))
                .collect();
            files.sort();
            let files: Vec<PathBuf> = files.into_iter().map(|(_, p)| p).collect();
            if files.len() >= count {
                std::thread::sleep(Duration::from_millis(100)); // let smtp-sink finish writing
                return files.iter().map(|f| std::fs::read(f).unwrap()).collect();
            }
            assert!(Instant::now() < deadline, "relay received {} of {count} replies in {timeout:?}", files.len());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The replies the relay received, by the mail they answer (`In-Reply-To`).
pub struct Replies {
    /// Distinct reply Message-IDs: one per mail, whatever happened.
    pub ids: HashSet<String>,
    /// Deliveries to the relay, counting a re-send of the same reply after a crash.
    pub deliveries: usize,
}

pub fn replies_by_mail(dir: &Path) -> HashMap<String, Replies> {
    let mut by_mail: HashMap<String, Replies> = HashMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let Ok(raw) = std::fs::read(entry.unwrap().path()) else { continue };
        let Some(m) = mail_parser::MessageParser::default().parse(&raw) else { continue };
        let answers = m.in_reply_to().as_text().unwrap_or_default().to_owned();
        let r = by_mail.entry(answers).or_insert_with(|| Replies { ids: HashSet::new(), deliveries: 0 });
        r.ids.insert(m.message_id().unwrap_or_default().to_owned());
        r.deliveries += 1;
    }
    by_mail
}

pub fn wait_for_port(port: u16, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on port {port} after {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Addresses of the scanners a server should use.
pub struct Scanners {
    pub clamd: String,
    pub spamd: String,
}

impl Scanners {
    /// The real daemons started by scripts/test.
    pub fn real() -> Self {
        Self { clamd: daemon_env("PRINTGATE_TEST_CLAMD"), spamd: daemon_env("PRINTGATE_TEST_SPAMD") }
    }
}

/// A running `printgate serve` in its own directory.
pub struct Server {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub smtp_port: u16,
    pub api_port: u16,
    pub config: PathBuf,
    /// Extra environment for the next (re)start, e.g. a test-only fault switch.
    pub env: Vec<(String, String)>,
}

impl Server {
    pub fn start(scanners: &Scanners, relay_port: u16) -> Self {
        Self::start_with(scanners, relay_port, "")
    }

    /// Like [`Server::start`], with extra lines for the `[smtp]` section. `{dir}` in them is
    /// replaced by the server's directory.
    pub fn start_with(scanners: &Scanners, relay_port: u16, extra_smtp: &str) -> Self {
        Self::start_full(scanners, relay_port, extra_smtp, "[auth]\nresolver = \"static\"\n")
    }

    /// Full control: extra `[smtp]` lines and extra sections at the end (the default `[auth]`
    /// is static with no records: offline, every sender unauthenticated).
    pub fn start_full(scanners: &Scanners, relay_port: u16, extra_smtp: &str, extra_sections: &str) -> Self {
        Self::start_custom(scanners, relay_port, extra_smtp, extra_sections, &|config, _| config)
    }

    /// [`Server::start_full`], then `edit(config text, server dir)` rewrites the config before
    /// the server starts (e.g. to share a database and blob store between two nodes).
    pub fn start_custom(
        scanners: &Scanners,
        relay_port: u16,
        extra_smtp: &str,
        extra_sections: &str,
        edit: &dyn Fn(String, &Path) -> String,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let extra_smtp = extra_smtp.replace("{dir}", &dir.path().display().to_string());
        let out = run(&["keygen", "--site", "main", "--out", dir.path().join("keys").to_str().unwrap()]);
        assert!(out.status.success(), "keygen failed: {}", String::from_utf8_lossy(&out.stderr));
        let (smtp_port, api_port) = (free_port(), free_port());
        let d = dir.path().display();
        // One lazily started LibreOffice worker unless the test configures conversion itself.
        let convert = if extra_sections.contains("[convert]") {
            String::new()
        } else {
            format!("[convert]\nprofile_dir = \"{d}/data/convert\"\noffice_workers = 1\noffice_prestart = false\n")
        };
        let config = format!(
            r#"
[smtp]
listen = "127.0.0.1:{smtp_port}"
hostname = "print.test"
max_message_bytes = 10485760
{extra_smtp}

[[queue]]
address = "bw@print.example.org"
name = "bw"
site = "main"
spam_tag_score = 5.0
spam_reject_score = 10.0
retention = "72h"

[[site]]
name = "main"
public_key = "{d}/keys/main.pub.pem"

[scan.clamav]
address = "{clamd}"
timeout = "20s"

[scan.spamassassin]
address = "{spamd}"
timeout = "30s"

[store]
database_url = "sqlite://{d}/data/printgate.db"
blob_url = "file://{d}/data/blobs"
secret_file = "{d}/data/secret.key"

[spool]
dir = "{d}/data/spool"
key_file = "{d}/data/node.key"

[relay]
url = "smtp://127.0.0.1:{relay_port}"
from = "printgate@print.example.org"
library_name = "Test Library"

[api]
listen = "127.0.0.1:{api_port}"

{convert}
{extra_sections}
"#,
            clamd = scanners.clamd,
            spamd = scanners.spamd,
        );
        let config = edit(config, dir.path());
        let config_path = dir.path().join("printgate.toml");
        std::fs::write(&config_path, &config).unwrap();
        let mut server = Self { child: None, dir, smtp_port, api_port, config: config_path, env: Vec::new() };
        // Ports come from a probe that another test may race for: on a bind failure, pick again.
        for _ in 0..5 {
            if server.try_spawn() {
                return server;
            }
            assert!(server.log().contains("binding"), "server failed to start:\n{}", server.log());
            let (smtp, api) = (free_port(), free_port());
            let text = std::fs::read_to_string(&server.config)
                .unwrap()
                .replace(&format!("127.0.0.1:{}\"", server.smtp_port), &format!("127.0.0.1:{smtp}\""))
                .replace(&format!("127.0.0.1:{}\"", server.api_port), &format!("127.0.0.1:{api}\""));
            std::fs::write(&server.config, text).unwrap();
            (server.smtp_port, server.api_port) = (smtp, api);
        }
        panic!("could not start the server on free ports:\n{}", server.log());
    }

    /// (Re)starts the process on the same directory and ports.
    pub fn spawn(&mut self) {
        assert!(self.try_spawn(), "server failed to start:\n{}", self.log());
    }

    /// Starts the process; false if it exited before both ports listened.
    fn try_spawn(&mut self) -> bool {
        let log = std::fs::File::create(self.dir.path().join("server.log")).unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("PRINTGATE_LOG", "printgate=debug")
            .envs(self.env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        for port in [self.smtp_port, self.api_port] {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_some()) {
                    self.child = None;
                    return false;
                }
                assert!(Instant::now() < deadline, "server not listening after 30 s:\n{}", self.log());
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        true
    }

    /// Sends a signal (`HUP`, `TERM`, …) to the server.
    pub fn signal(&self, name: &str) {
        let pid = self.child.as_ref().expect("server is running").id();
        Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().unwrap();
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server is running");
        Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// False if the process exited on its own (a crash) since it was started.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("keys/main.key.pem")
    }

    /// A token of site main with the default scope (`release`: redeem codes, no poll).
    pub fn station_token(&self) -> String {
        self.create_token(&[])
    }

    /// A token of site main with `scope` (`release` or `poll`).
    pub fn station_token_scoped(&self, scope: &str) -> String {
        self.create_token(&["--scope", scope])
    }

    fn create_token(&self, extra: &[&str]) -> String {
        let mut args = vec!["station-token", "create", "--site", "main", "--config", self.config.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert!(out.status.success(), "station-token failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Sends a mail with swaks; `attachments` are file paths. Returns swaks' transcript.
    pub fn swaks(&self, from: &str, body: &str, attachments: &[&Path]) -> String {
        self.swaks_to("bw@print.example.org", from, body, attachments)
    }

    /// [`Server::swaks`] to another queue's address.
    pub fn swaks_to(&self, to: &str, from: &str, body: &str, attachments: &[&Path]) -> String {
        let mut cmd = Command::new("swaks");
        cmd.args(["--server", &format!("127.0.0.1:{}", self.smtp_port)])
            .args(["--to", to, "--from", from])
            .args(["--helo", "patron.example.com", "--header", "Subject: please print"])
            .args(["--body", body])
            .args(["--timeout", "60"]);
        for a in attachments {
            cmd.arg("--attach").arg(a);
        }
        let out = cmd.output().expect("swaks must be installed; scripts/test installs it");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        text
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Writes a self-signed certificate for `localhost`/127.0.0.1 into `dir`; returns the cert PEM.
pub fn write_test_cert(dir: &Path) -> String {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), signing_key.serialize_pem()).unwrap();
    cert.pem()
}

/// A raw MIME message with one PDF attachment, for clients that send files verbatim.
pub fn mime_with_pdf(from: &str, message_id: &str, pdf: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(pdf);
    let wrapped: Vec<&str> = b64.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!(
        "From: {from}\r\nTo: bw@print.example.org\r\nSubject: print\r\nMessage-ID: <{message_id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nPlease print.\r\n\
         --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"doc.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        wrapped.join("\r\n")
    )
}

/// Rows of a query on the server's SQLite store (columns joined with `|`), read with Python's
/// sqlite3 so the test does not share printgate's own database code.
pub fn sql(server: &Server, query: &str) -> Vec<String> {
    let out = Command::new("python3")
        .arg("-c")
        .arg("import sqlite3,sys\nfor r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print('|'.join(map(str, r)))")
        .arg(server.data_dir().join("printgate.db"))
        .arg(query)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

/// Number of stored messages (mails that became jobs).
pub fn stored_messages(server: &Server) -> usize {
    sql(server, "select count(*) from messages")[0].parse().unwrap()
}

/// Waits until a trace matching `condition` (SQL) exists; returns its row.
pub fn wait_for_trace(server: &Server, columns: &str, condition: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(row) = sql(server, &format!("select {columns} from traces where {condition}")).into_iter().next() {
            return row;
        }
        assert!(Instant::now() < deadline, "no trace where {condition}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// The `Release code: NNNN NNNN` line of a reply's text part, digits only.
pub fn release_code(raw_reply: &[u8]) -> String {
    let message = mail_parser::MessageParser::default().parse(raw_reply).expect("reply parses");
    let text = message.body_text(0).expect("reply has a text part").into_owned();
    let line = text.lines().find(|l| l.starts_with("Release code: ")).unwrap_or_else(|| panic!("no code in {text}"));
    line["Release code: ".len()..].chars().filter(char::is_ascii_digit).collect()
}

/// True if `needle` occurs in any file under `dir`.
pub fn tree_contains(dir: &Path, needle: &[u8]) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if let Some(p) = tree_contains(&path, needle) {
                return Some(p);
            }
        } else if std::fs::read(&path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
            return Some(path);
        }
    }
    None
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    printgate::crypto::sha256_hex(bytes)
}

/// A fresh PostgreSQL database on the machine's server (127.0.0.1:5432, trust auth), dropped
/// when the value goes.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> Self {
        let name = format!("pgtest_{}", uuid::Uuid::new_v4().simple());
        psql(&format!("CREATE DATABASE {name}"));
        let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
        Self { name, url }
    }

    /// Rows of `sql` in this database, columns joined by `|`.
    pub fn query(&self, sql: &str) -> Vec<String> {
        let out =
            Command::new("psql").args([self.url.as_str(), "-v", "ON_ERROR_STOP=1", "-Atc", sql]).output().expect("psql must be installed");
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// Runs one statement as `postgres` in the `test` database.
pub fn psql(sql: &str) {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-v", "ON_ERROR_STOP=1", "-Atc", sql])
        .output()
        .expect("psql must be installed");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A fresh bucket on the S3 test server that `scripts/test` starts (moto), with the `AWS_*`
/// variables printgate's S3 client reads set for this process and its children. Returns the
/// blob URL (`s3://BUCKET/PREFIX`).
pub fn s3_bucket() -> String {
    s3_bucket_at(&daemon_env("PRINTGATE_TEST_S3"))
}

/// [`s3_bucket`] on the S3 server at `endpoint`.
pub fn s3_bucket_at(endpoint: &str) -> String {
    let endpoint = endpoint.to_owned();
    let bucket = format!("pgtest-{}", uuid::Uuid::new_v4().simple());
    let out = Command::new("curl").args(["-fsS", "-X", "PUT", &format!("{endpoint}/{bucket}")]).output().expect("curl must be installed");
    assert!(out.status.success(), "cannot create bucket {bucket}: {}", String::from_utf8_lossy(&out.stderr));
    // SAFETY: tests run one per process (nextest); nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "printgate-test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "printgate-test-secret");
        std::env::set_var("AWS_DEFAULT_REGION", "us-east-1");
        std::env::set_var("AWS_ENDPOINT", &endpoint);
        std::env::set_var("AWS_ALLOW_HTTP", "true");
    }
    format!("s3://{bucket}/jobs-store")
}

/// `printgate station release CODE` against `server`'s API with the given keys (current first).
pub fn station_release(server: &Server, token: &str, code: &str, keys: &[&Path], out: &Path) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["station", "release", code, "--server", &server.api_url(), "--token", token]);
    for key in keys {
        cmd.arg("--key").arg(key);
    }
    cmd.arg("--out").arg(out).output().unwrap()
}

/// Runs `f(0..n)` on `n` threads released together by a barrier (requests "sent at once");
/// the answers come back in index order.
pub fn at_once<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = std::sync::Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, f) = (&barrier, &f);
                s.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// `n` HTTP clients, each with a connection to `url` already open (a `GET /healthz`), so that
/// requests sent "at once" reach the server at once instead of queueing behind TCP set-ups.
pub fn warm_clients(url: &str, n: usize) -> Vec<reqwest::blocking::Client> {
    (0..n)
        .map(|_| {
            let client = reqwest::blocking::Client::new();
            assert!(client.get(format!("{url}/healthz")).send().unwrap().status().is_success());
            client
        })
        .collect()
}

/// `POST /api/v1/release` of `code` with `token` to `api_url`; the HTTP status.
pub fn release_status(client: &reqwest::blocking::Client, api_url: &str, token: &str, code: &str) -> u16 {
    client
        .post(format!("{api_url}/api/v1/release"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "code": code }))
        .send()
        .unwrap()
        .status()
        .as_u16()
}
