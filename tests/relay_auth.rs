//! Replies through a relay that insists on STARTTLS and a login, as Microsoft 365, Google and
//! campus smarthosts do on port 587: aiosmtpd (a real SMTP server, started here with
//! tests/fixtures/relay/auth_relay.py) with a certificate from a private CA, AUTH PLAIN/LOGIN
//! and XOAUTH2 that checks the bearer token. With a wrong password the reply waits in the
//! outbox, the log and the outbox say why, and it is delivered once the password file is fixed
//! and the configuration reloaded; without the private CA, TLS fails in words and nothing is
//! sent in the clear; XOAUTH2 logs in with what `relay.oauth_token_command` prints.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Scanners, Server, free_port, sql};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

const USER: &str = "printgate@library.example";
const PASSWORD: &str = "the right relay password";
const TOKEN: &str = "ya29.test-access-token";

/// The relay: aiosmtpd on a free port, killed on drop.
struct AuthRelay {
    child: Child,
    port: u16,
    dir: PathBuf,
    ca: PathBuf,
}

impl AuthRelay {
    fn start(work: &Path) -> Self {
        let (ca, cert, key) = certificates(work);
        let (port, dir) = (free_port(), work.join("relay"));
        let python = common::daemon_env("PRINTGATE_TEST_AIOSMTPD_PYTHON");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/relay/auth_relay.py");
        let mut child = Command::new(python)
            .arg(script)
            .args([&port.to_string(), cert.to_str().unwrap(), key.to_str().unwrap(), USER, PASSWORD, TOKEN, dir.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut ready).unwrap();
        assert_eq!(ready.trim(), "ready", "aiosmtpd did not start");
        Self { child, port, dir, ca }
    }

    /// The messages received so far (with the relay's X-Relay-* lines first).
    fn received(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        files.sort();
        files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect()
    }

    fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "the relay received {} of {n} messages in {timeout:?}", got.len());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for AuthRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private CA and a certificate it signed for 127.0.0.1: `(ca.pem, cert.pem, key.pem)`.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "printgate test CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap().signed_by(&key, &ca).unwrap();
    let paths = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

/// A server replying through `relay` with `login` (TOML lines of `[relay]`) after its `url`.
fn server(relay: &AuthRelay, login: &str) -> Server {
    let login = login.to_owned();
    let port = relay.port;
    Server::start_custom(&Scanners::real(), port, "", "", &move |config, _| {
        let url = format!("url = \"smtp://127.0.0.1:{port}\"\n");
        assert!(config.contains(&url), "{config}");
        config.replace(&url, &format!("{url}tls = \"required\"\n{login}"))
    })
}

/// Waits until the outbox's only reply failed at least once with `error` in its last error.
fn wait_for_outbox_error(server: &Server, error: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let rows = sql(server, "SELECT attempts, last_error FROM outbox WHERE sent_at IS NULL");
        if let Some(row) = rows.iter().find(|r| r.contains(error)) {
            return row.clone();
        }
        assert!(Instant::now() < deadline, "no outbox error {error:?}: {rows:?}\n{}", server.log());
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_wrong_relay_password_keeps_the_reply_until_it_is_fixed_and_reloaded() {
    let work = tempfile::tempdir().unwrap();
    let relay = AuthRelay::start(work.path());
    let password_file = work.path().join("relay-password");
    std::fs::write(&password_file, "a wrong password\n").unwrap();
    let login = format!("username = \"{USER}\"\npassword_file = \"{}\"\nca_file = \"{}\"\n", password_file.display(), relay.ca.display());
    let mut server = server(&relay, &login);
    let t = server.swaks("patron@example.com", "please print", &[&common::console::fixture("simple.pdf")]);
    assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    let row = wait_for_outbox_error(&server, "the relay refused the login");
    assert!(row.contains("535"), "{row}");
    assert!(server.log().contains("the relay refused the login"), "{}", server.log());
    assert!(!server.log().contains("a wrong password"), "the password is logged");
    assert!(relay.received().is_empty());

    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    server.signal("HUP");
    // The first retry comes 30 s after the failure.
    let got = relay.wait_for(1, Duration::from_secs(90));
    assert!(
        got[0].contains(&format!("X-Relay-Login: 'plain:{USER}'")) || got[0].contains(&format!("X-Relay-Login: 'login:{USER}'")),
        "{}",
        got[0]
    );
    assert!(got[0].contains("Release code: "), "{}", got[0]);
    assert_eq!(sql(&server, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"), ["0"]);
    assert!(server.terminate().success());
}

#[test]
fn without_the_private_ca_tls_fails_in_words_and_nothing_goes_in_the_clear() {
    let work = tempfile::tempdir().unwrap();
    let relay = AuthRelay::start(work.path());
    let password_file = work.path().join("relay-password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let server = server(&relay, &format!("username = \"{USER}\"\npassword_file = \"{}\"\n", password_file.display()));
    let t = server.swaks("patron@example.com", "please print", &[&common::console::fixture("simple.pdf")]);
    assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    let row = wait_for_outbox_error(&server, "TLS with the relay failed");
    assert!(row.contains("relay.ca_file"), "{row}");
    assert!(relay.received().is_empty(), "mail went through without a trusted certificate");
}

#[test]
fn xoauth2_logs_in_with_the_token_the_command_prints() {
    let work = tempfile::tempdir().unwrap();
    let relay = AuthRelay::start(work.path());
    let script = work.path().join("token.sh");
    std::fs::write(&script, format!("#!/bin/sh\nprintf '{{\"access_token\": \"{TOKEN}\", \"expires_in\": 3599}}'\n")).unwrap();
    let login = format!("username = \"{USER}\"\noauth_token_command = \"sh {}\"\nca_file = \"{}\"\n", script.display(), relay.ca.display());
    let server = server(&relay, &login);
    let t = server.swaks("patron@example.com", "please print", &[&common::console::fixture("simple.pdf")]);
    assert!(t.contains("250 2.0.0 Ok: queued as"), "{t}");
    let got = relay.wait_for(1, Duration::from_secs(60));
    assert!(got[0].contains(&format!("X-Relay-Login: 'xoauth2:{USER}'")), "{}", got[0]);
    assert!(!server.log().contains(TOKEN), "the token is logged");
}
