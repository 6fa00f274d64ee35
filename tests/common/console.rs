//! The admin console's test kit: a server with the console on a free port and an account
//! ([`start`]), a plain HTTP client that keeps its cookies by hand (they are HttpOnly and
//! SameSite=Strict) and finds the CSRF tokens in its forms ([`Browser`]), and the runner of the
//! Chromium scripts in `tests/browser/` ([`browser_script`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Relay, Scanners, Server};

/// The password of the account `librarian` that [`start`] creates.
pub const PASSWORD: &str = "a long librarian passphrase";

/// A file of `tests/fixtures/convert`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convert").join(name)
}

/// A server with the console on a free loopback port and the account `librarian`; returns it
/// and the console's URL.
pub fn start(relay: &Relay) -> (Server, String) {
    start_custom(relay, &|config, _| config)
}

/// [`start`], with `edit(config text, server dir)` rewriting the config first (as
/// [`Server::start_custom`]).
pub fn start_custom(relay: &Relay, edit: &dyn Fn(String, &Path) -> String) -> (Server, String) {
    let port = super::free_port();
    let server = Server::start_custom(
        &Scanners::real(),
        relay.port,
        "",
        &format!("[auth]\nresolver = \"static\"\n\n[admin]\nlisten = \"127.0.0.1:{port}\"\n"),
        edit,
    );
    super::wait_for_port(port, Duration::from_secs(10));
    add_admin(&server, "librarian", PASSWORD);
    (server, format!("http://127.0.0.1:{port}"))
}

/// Where the browser scripts leave their screenshots.
pub fn shots_dir() -> PathBuf {
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/admin-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

/// Runs `tests/browser/<script>` (node + playwright-core, Debian's Chromium) against the console
/// at `url`, logged in as `librarian`; returns the JSON line it prints.
pub fn browser_script(script: &str, url: &str, vars: &[(&str, &str)]) -> serde_json::Value {
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser").join(script))
        .env("ADMIN_URL", url)
        .env("ADMIN_USER", "librarian")
        .env("ADMIN_PASSWORD", PASSWORD)
        .env("SHOTS_DIR", shots_dir())
        .env("CHROMIUM", std::env::var("PRINTGATE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
        .envs(vars.iter().copied())
        .output()
        .expect("node must be installed");
    assert!(out.status.success(), "{script} failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(out.stdout.split(|b| *b == b'\n').rfind(|l| l.starts_with(b"{")).expect("a JSON line")).unwrap()
}

/// The security and caching headers every console answer must carry.
pub fn assert_hygiene(what: &str, headers: &reqwest::header::HeaderMap) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let csp = header("content-security-policy").unwrap_or_else(|| panic!("{what}: no Content-Security-Policy in {headers:?}"));
    for directive in ["default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'", "style-src 'self'"] {
        assert!(csp.split(';').any(|d| d.trim() == directive), "{what}: no {directive} in {csp:?}");
    }
    assert!(!csp.contains("unsafe") && !csp.contains("script-src"), "{what}: {csp:?}");
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(header(name).as_deref(), Some(value), "{what}: {name}");
    }
}

/// A client that keeps cookies by hand (the console's are HttpOnly, SameSite=Strict).
pub struct Browser {
    http: reqwest::blocking::Client,
    url: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn new(url: &str) -> Self {
        let http = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, url: url.to_owned(), cookies: Vec::new() }
    }

    fn keep(&mut self, resp: &reqwest::blocking::Response) {
        for v in resp.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap().to_owned();
            let (k, val) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            self.cookies.push((k.to_owned(), val.to_owned()));
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub fn get(&mut self, path: &str) -> (u16, String) {
        let (status, _, body) = self.get_with_headers(path);
        (status, body)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let (status, _, body) = self.post_with_headers(path, form);
        (status, body)
    }

    /// A GET that also returns the answer's headers.
    pub fn get_with_headers(&mut self, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
        let resp = self.http.get(format!("{}{path}", self.url)).header("cookie", self.cookie_header()).send().unwrap();
        self.answer(resp)
    }

    /// A form POST that also returns the answer's headers.
    pub fn post_with_headers(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, String) {
        let body = form.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
        let resp = self
            .http
            .post(format!("{}{path}", self.url))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .unwrap();
        self.answer(resp)
    }

    fn answer(&mut self, resp: reqwest::blocking::Response) -> (u16, reqwest::header::HeaderMap, String) {
        self.keep(&resp);
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        (status, headers, resp.text().unwrap())
    }

    /// The value of the first hidden `csrf` field on a page.
    pub fn csrf(page: &str) -> String {
        let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
        page[at..at + 64].to_owned()
    }

    pub fn login(&mut self, user: &str, password: &str) -> (u16, String) {
        let (_, form) = self.get("/login");
        let csrf = Self::csrf(&form);
        self.post("/login", &[("user", user), ("password", password), ("csrf", &csrf)])
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// `printgate admin-user add NAME` with the password on standard input.
pub fn add_admin(server: &super::Server, name: &str, password: &str) {
    admin_user(server, &["add", name], password);
}

/// `printgate admin-user add NAME --role staff` with the password on standard input.
pub fn add_staff(server: &super::Server, name: &str, password: &str) {
    admin_user(server, &["add", name, "--role", "staff"], password);
}

/// `printgate admin-user set-password NAME` with the password on standard input.
pub fn set_admin_password(server: &super::Server, name: &str, password: &str) {
    admin_user(server, &["set-password", name], password);
}

fn admin_user(server: &super::Server, args: &[&str], password: &str) {
    let mut child = std::process::Command::new(super::BIN)
        .arg("admin-user")
        .args(args)
        .args(["--config", server.config.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{password}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "admin-user {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The server's last answer to a mail in a swaks transcript (the one after the data), with the
/// queue id left out: `250 2.0.0 Ok: queued as …` or `550 5.7.1 Message refused as spam …`.
pub fn mail_answer(transcript: &str) -> String {
    let after_data = transcript.rsplit_once(" -> .\n").map_or(transcript, |(_, rest)| rest);
    let line = after_data.lines().find(|l| l.starts_with("<-") || l.starts_with("<**")).unwrap_or("(no answer)");
    let line = line.trim_start_matches(['<', '-', '*', ' ']);
    line.split_once("queued as").map_or_else(|| line.to_owned(), |(head, _)| format!("{head}queued as …"))
}
