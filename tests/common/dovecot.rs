//! A private Dovecot IMAP server for `[[mailbox]]` tests: its own config, run and state
//! directories and Maildir in a temporary directory, one user from a passwd-file, plain IMAP on
//! a loopback port. Not the system's Dovecot service (nothing under /etc is read or changed).
//! The test talks to it as a mail client would, with Python's `imaplib` (APPEND, counts).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::free_port;

pub struct Dovecot {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The implicit-TLS port, when started with [`Dovecot::start_tls`].
    pub imaps_port: Option<u16>,
    pub user: String,
    password: String,
}

const DOVECOT: &str = "/usr/sbin/dovecot";

impl Dovecot {
    /// Starts Dovecot with one user `user` whose password is `password`.
    pub fn start(user: &str, password: &str) -> Self {
        Self::start_with(user, password, false)
    }

    /// [`Dovecot::start`] with TLS: implicit TLS on `imaps_port` (and STARTTLS on `port`),
    /// with a self-signed certificate for 127.0.0.1 and localhost in `cert.pem` of its directory.
    pub fn start_tls(user: &str, password: &str) -> Self {
        Self::start_with(user, password, true)
    }

    /// The certificate a TLS Dovecot serves (PEM).
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn start_with(user: &str, password: &str, tls: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Dovecot's mail processes run as an unprivileged user, who must reach the Maildir.
        Command::new("chmod").arg("755").arg(dir.path()).status().unwrap();
        let d = dir.path().display().to_string();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let (mail_uid, mail_gid, login_user) = mail_ids();
        Command::new("chown").arg("-R").arg(format!("{mail_uid}:{mail_gid}")).arg(dir.path().join("mail")).status().unwrap();
        let me = whoami();
        let port = free_port();
        let imaps_port = tls.then(free_port);
        let ssl = match imaps_port {
            Some(_) => {
                super::write_test_cert(dir.path());
                format!("ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n")
            }
            None => "ssl = no\n".to_owned(),
        };
        let config = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\nprotocols = imap\nlisten = 127.0.0.1\n\
             {ssl}disable_plaintext_auth = no\nauth_mechanisms = plain login xoauth2\n\
             default_internal_user = {me}\ndefault_login_user = {login_user}\nfirst_valid_uid = 0\nfirst_valid_gid = 0\n\
             mail_location = maildir:{d}/mail/%u\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid={mail_uid} gid={mail_gid} home={d}/mail/%u\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps}\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\nservice stats {{\n  chroot =\n}}\n\
             service auth {{\n  user = {me}\n}}\nservice auth-worker {{\n  user = {me}\n}}\n",
            imaps = imaps_port.unwrap_or(0),
        );
        std::fs::write(dir.path().join("dovecot.conf"), config).unwrap();
        let server = Self { dir, port, imaps_port, user: user.to_owned(), password: password.to_owned() };
        server.set_password(password);
        let status = Command::new(DOVECOT)
            .arg("-c")
            .arg(server.config())
            .status()
            .expect("dovecot must be installed (dovecot-imapd; scripts/lib.sh installs it)");
        assert!(status.success(), "dovecot did not start:\n{}", server.log());
        super::wait_for_port(port, Duration::from_secs(20));
        server
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Sets the user's password (Dovecot reads the passwd-file again when it changes).
    pub fn set_password(&self, password: &str) {
        std::fs::write(self.dir.path().join("users"), format!("{}:{{PLAIN}}{password}::::::\n", self.user)).unwrap();
    }

    /// Runs a short imaplib script logged in as the user; returns what it printed.
    fn imap(&self, script: &str, input: &[u8]) -> String {
        use std::io::Write;
        let program = format!(
            "import imaplib, sys\nm = imaplib.IMAP4('127.0.0.1', {port})\nm.login({user:?}, {password:?})\n{script}\nm.logout()\n",
            port = self.port,
            user = self.user,
            password = self.password,
        );
        let mut child = Command::new("python3")
            .args(["-c", &program])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "imaplib failed: {}\n{}", String::from_utf8_lossy(&out.stderr), self.log());
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// APPENDs `raw` to `folder`, as a mail client or the provider's delivery would.
    pub fn append(&self, folder: &str, raw: &[u8]) {
        let said = self.imap(&format!("print(m.append({folder:?}, None, None, sys.stdin.buffer.read()))"), raw);
        assert!(said.contains("OK"), "APPEND: {said}");
    }

    /// APPENDs every message of `raws` to `folder` over one connection.
    pub fn append_many(&self, folder: &str, raws: &[Vec<u8>]) {
        let mut input = Vec::new();
        for raw in raws {
            input.extend_from_slice(format!("{}\n", raw.len()).as_bytes());
            input.extend_from_slice(raw);
        }
        let script = format!(
            "inp = sys.stdin.buffer\nwhile True:\n    line = inp.readline()\n    if not line: break\n    t, d = m.append({folder:?}, None, None, inp.read(int(line)))\n    assert t == 'OK', d\nprint('OK')"
        );
        let said = self.imap(&script, &input);
        assert!(said.contains("OK"), "APPEND: {said}");
    }

    /// Messages in `folder` (0 when it does not exist).
    pub fn count(&self, folder: &str) -> usize {
        let said = self.imap(&format!("t, d = m.select({folder:?}, readonly=True)\nprint(int(d[0]) if t == 'OK' else 0)"), b"");
        said.trim().parse().unwrap_or_else(|_| panic!("count of {folder}: {said}"))
    }

    /// Waits until `folder` holds `n` messages.
    pub fn wait_count(&self, folder: &str, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.count(folder);
            if now == n {
                return;
            }
            assert!(Instant::now() < deadline, "{folder} holds {now} messages, not {n}, after {timeout:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The Maildir of the user (to read what the server holds).
    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail").join(&self.user)
    }

    fn pid(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("run/master.pid")).ok().map(|p| p.trim().to_owned())
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").arg(&pid).status();
            let path = Path::new("/proc").join(&pid);
            let deadline = Instant::now() + Duration::from_secs(5);
            while path.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn whoami() -> String {
    String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap().trim().to_owned()
}

/// The mail processes' uid and gid, and the login processes' user: as root, Dovecot's own
/// unprivileged users (it refuses to serve mail as root); otherwise the current user.
fn mail_ids() -> (String, String, String) {
    let id = |args: &[&str]| String::from_utf8(Command::new("id").args(args).output().unwrap().stdout).unwrap().trim().to_owned();
    if id(&["-u"]) == "0" {
        (id(&["-u", "dovecot"]), id(&["-g", "dovecot"]), "dovenull".into())
    } else {
        (id(&["-u"]), id(&["-g"]), whoami())
    }
}
