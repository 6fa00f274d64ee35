//! The station's kiosk for system tests: a real `printgate station kiosk` process against a
//! test [`Server`], and the browser script `tests/browser/kiosk.mjs` (node + playwright-core,
//! Debian's Chromium) that drives its page. The script prints JSON lines; at a checkpoint it
//! waits until the test has looked at printers and the server and calls [`Browser::resume`].

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use super::{BIN, Server, free_port, wait_for_port};

/// A running `printgate station kiosk` with its token in the environment.
pub struct Kiosk {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Kiosk {
    /// Starts the kiosk for `server`'s site with `printers` (name, IPP URI) and `extra`
    /// arguments (`--idle 15s`, …); its log goes to `dir/kiosk-PORT.log`.
    pub fn start(server: &Server, dir: &Path, printers: &[(&str, String)], extra: &[&str]) -> Self {
        let port = free_port();
        let log = dir.join(format!("kiosk-{port}.log"));
        let mut cmd = Command::new(BIN);
        cmd.args(["station", "kiosk", "--server", &server.api_url(), "--listen", &format!("127.0.0.1:{port}")])
            .arg("--key")
            .arg(server.key_path())
            .env("PRINTGATE_STATION_TOKEN", server.station_token())
            .env("PRINTGATE_LOG", "printgate=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (name, uri) in printers {
            cmd.arg("--printer").arg(format!("{name}={uri}"));
        }
        let child = cmd.args(extra).spawn().unwrap();
        let mut kiosk = Self { child, port, log };
        wait_for_port(port, Duration::from_secs(15));
        assert!(kiosk.child.try_wait().unwrap().is_none(), "the kiosk exited:\n{}", kiosk.log());
        // The first round of printer states (asked for at start, every 2 s after).
        std::thread::sleep(Duration::from_millis(500));
        kiosk
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `GET /session`: what the station remembers of the patron, as text.
    pub fn session(&self) -> String {
        reqwest::blocking::get(format!("{}/session", self.url())).unwrap().text().unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the kiosk's screenshots go (test artefacts, kept).
pub fn shots_dir() -> PathBuf {
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/kiosk-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

/// One run of `tests/browser/kiosk.mjs`.
pub struct Browser {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: PathBuf,
    scenario: String,
}

impl Browser {
    /// Starts `scenario` against `kiosk` with the patron's `code` and more `vars`.
    pub fn start(kiosk: &Kiosk, scenario: &str, code: &str, vars: &[(&str, &str)]) -> Self {
        let stderr = shots_dir().join(format!("{scenario}.stderr.log"));
        let mut child = Command::new("node")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/kiosk.mjs"))
            .env("KIOSK_URL", kiosk.url())
            .env("SCENARIO", scenario)
            .env("CODE", code)
            .env("SHOTS_DIR", shots_dir())
            .env("CHROMIUM", std::env::var("PRINTGATE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
            .envs(vars.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("node must be installed");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self { child, stdin, stdout, stderr, scenario: scenario.to_owned() }
    }

    /// The next JSON line the script prints (a checkpoint, or its last line).
    pub fn next(&mut self) -> serde_json::Value {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.stdout.read_line(&mut line).unwrap();
            assert!(
                n > 0,
                "kiosk.mjs {} ended without a result:\n{}",
                self.scenario,
                std::fs::read_to_string(&self.stderr).unwrap_or_default()
            );
            if line.starts_with('{') {
                let seen: serde_json::Value = serde_json::from_str(&line).unwrap();
                assert!(
                    seen.get("error").is_none(),
                    "kiosk.mjs {} failed: {}\nsaw: {seen}",
                    self.scenario,
                    seen["error"].as_str().unwrap_or_default()
                );
                return seen;
            }
        }
    }

    /// Lets the script go on from a checkpoint.
    pub fn resume(&mut self) {
        self.stdin.write_all(b"go\n").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The script's last line, once it exited cleanly.
    pub fn finish(mut self) -> serde_json::Value {
        let seen = self.next();
        assert!(seen.get("checkpoint").is_none(), "kiosk.mjs {} stopped at a checkpoint: {seen}", self.scenario);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "kiosk.mjs {} exited with {status}", self.scenario);
        assert_eq!(seen["problems"], serde_json::json!([]), "CSP violations or script errors on the kiosk page: {seen}");
        seen
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `scenario` to its end (no checkpoints).
pub fn browse(kiosk: &Kiosk, scenario: &str, code: &str, vars: &[(&str, &str)]) -> serde_json::Value {
    Browser::start(kiosk, scenario, code, vars).finish()
}
