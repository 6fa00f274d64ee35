//! `[[mailbox]]`: print from an existing IMAP mailbox (docs/mailbox.md). The section's typed
//! values ([`MailboxConfig`], [`MailboxUrl`]) and its checks ([`mailbox_issues`]); the
//! connection and the intake of fetched mail are `crate::mailbox`'s.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{Config, ConfigIssue};

/// Where processed mail goes unless the section says otherwise.
pub const DEFAULT_PROCESSED_FOLDER: &str = "Processed";
/// Where refused mail goes unless the section says otherwise.
pub const DEFAULT_REFUSED_FOLDER: &str = "Refused";
/// How often the mailbox is looked at without IDLE (and how long one IDLE waits before it is
/// renewed): a minute keeps a patron's wait short without hammering the provider (Microsoft
/// and Google throttle clients that log in many times a minute).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// How the connection is secured, from the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapSecurity {
    /// `imaps://`: TLS from the first byte (port 993).
    Implicit,
    /// `imap://` to a host that is not loopback: STARTTLS, which must succeed.
    StartTls,
    /// `imap://` to a loopback address: no TLS (local tests only).
    Plain,
}

/// `imaps://HOST[:PORT]/FOLDER` or `imap://HOST[:PORT]/FOLDER`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct MailboxUrl {
    pub host: String,
    pub port: u16,
    pub folder: String,
    pub security: ImapSecurity,
}

impl MailboxUrl {
    /// # Errors
    /// A message naming the accepted forms.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (rest, implicit, default_port) = if let Some(r) = url.strip_prefix("imaps://") {
            (r, true, 993)
        } else if let Some(r) = url.strip_prefix("imap://") {
            (r, false, 143)
        } else {
            return Err(format!("{url:?} must be imaps://HOST:PORT/FOLDER or imap://HOST:PORT/FOLDER"));
        };
        let (authority, folder) = rest.split_once('/').unwrap_or((rest, ""));
        let folder = percent_encoding::percent_decode_str(folder.trim_end_matches('/')).decode_utf8_lossy().into_owned();
        let folder = if folder.is_empty() { "INBOX".to_owned() } else { folder };
        if authority.contains('@') {
            return Err(format!("{url:?}: put the user in username and the secret in password_file, not in the URL"));
        }
        let bad_port = || format!("bad port in {url:?}");
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            // An IPv6 literal: `[::1]` or `[::1]:PORT`.
            let (host, after) = bracketed.split_once(']').ok_or_else(|| format!("{url:?} has an unclosed [ in its host"))?;
            match after.strip_prefix(':') {
                Some(port) => (host, port.parse::<u16>().map_err(|_| bad_port())?),
                None if after.is_empty() => (host, default_port),
                None => return Err(bad_port()),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad_port())?),
                None => (authority, default_port),
            }
        };
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        let security = match (implicit, is_loopback(host)) {
            (true, _) => ImapSecurity::Implicit,
            (false, true) => ImapSecurity::Plain,
            (false, false) => ImapSecurity::StartTls,
        };
        Ok(Self { host: host.to_owned(), port, folder, security })
    }
}

impl std::fmt::Display for MailboxUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.security == ImapSecurity::Implicit { "imaps" } else { "imap" };
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        write!(f, "{scheme}://{host}:{}/{}", self.port, self.folder)
    }
}

impl TryFrom<String> for MailboxUrl {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

/// Plain IMAP is allowed only to these: `localhost` and loopback addresses.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// One `[[mailbox]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    pub url: MailboxUrl,
    pub username: String,
    /// A file whose first line is the IMAP password (LOGIN).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// A command printing an OAuth2 access token (AUTHENTICATE XOAUTH2), as for the relay.
    #[serde(default)]
    pub oauth_token_command: Option<String>,
    /// The queue fed: its name or its address.
    pub queue: String,
    #[serde(default = "default_processed")]
    pub processed_folder: String,
    #[serde(default = "default_refused")]
    pub refused_folder: String,
    /// Wait with IMAP IDLE when the server offers it; else look every `poll_interval`.
    #[serde(default = "default_true")]
    pub idle: bool,
    #[serde(default = "default_poll_interval", deserialize_with = "super::values::duration")]
    pub poll_interval: Duration,
}

fn default_processed() -> String {
    DEFAULT_PROCESSED_FOLDER.into()
}
fn default_refused() -> String {
    DEFAULT_REFUSED_FOLDER.into()
}
fn default_true() -> bool {
    true
}
fn default_poll_interval() -> Duration {
    DEFAULT_POLL_INTERVAL
}

impl MailboxConfig {
    /// The name in logs and metrics: `user@host:port/FOLDER` (no secret).
    pub fn label(&self) -> String {
        format!("{}@{}:{}/{}", self.username, self.url.host, self.url.port, self.url.folder)
    }
}

impl Config {
    /// The queue a mailbox feeds: `queue` is a queue's name or its address.
    pub fn mailbox_queue(&self, mailbox: &MailboxConfig) -> Option<&super::QueueConfig> {
        self.queue_named(&mailbox.queue).or_else(|| self.queue_for_address(&mailbox.queue))
    }
}

/// Every problem of the `[[mailbox]]` sections, under `mailbox[i].KEY`.
pub fn mailbox_issues(config: &Config) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let mut labels = std::collections::HashSet::new();
    for (i, m) in config.mailbox.iter().enumerate() {
        let mut push = |key: &str, problem: String| issues.push(ConfigIssue { key: format!("mailbox[{i}].{key}"), problem });
        match (&m.password_file, &m.oauth_token_command) {
            (Some(_), Some(_)) => push("oauth_token_command", "use password_file or oauth_token_command, not both".into()),
            (None, None) => push("password_file", "a mailbox needs password_file or oauth_token_command".into()),
            (Some(p), None) if !p.is_file() => push("password_file", format!("file {} does not exist", p.display())),
            (None, Some(c)) if c.trim().is_empty() => push("oauth_token_command", "is empty".into()),
            _ => {}
        }
        if m.username.is_empty() {
            push("username", "is empty".into());
        }
        if config.mailbox_queue(m).is_none() {
            let names: Vec<&str> = config.queue.iter().map(|q| q.name.as_str()).collect();
            push("queue", format!("there is no queue named or addressed {:?} (queues: {})", m.queue, names.join(", ")));
        }
        for (key, folder) in [("processed_folder", &m.processed_folder), ("refused_folder", &m.refused_folder)] {
            if folder.is_empty() || folder.eq_ignore_ascii_case(&m.url.folder) {
                push(key, format!("{folder:?} must be a folder other than the one read ({})", m.url.folder));
            }
        }
        if m.poll_interval < Duration::from_secs(1) {
            push("poll_interval", "must be at least 1s".into());
        }
        if !labels.insert(m.label()) {
            push("url", format!("{} is read by an earlier [[mailbox]] already", m.label()));
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_host_port_folder_and_security() {
        use ImapSecurity::*;
        // (url, host, port, folder, security)
        for (url, host, port, folder, security) in [
            ("imaps://outlook.office365.com:993/INBOX", "outlook.office365.com", 993, "INBOX", Implicit),
            ("imaps://imap.gmail.com/INBOX", "imap.gmail.com", 993, "INBOX", Implicit),
            ("imap://mail.example.org/Print", "mail.example.org", 143, "Print", StartTls),
            ("imap://mail.example.org:143/Print/Jobs", "mail.example.org", 143, "Print/Jobs", StartTls),
            ("imap://127.0.0.1:10143/INBOX", "127.0.0.1", 10143, "INBOX", Plain),
            ("imap://localhost:10143", "localhost", 10143, "INBOX", Plain),
            ("imap://[::1]:10143/INBOX", "::1", 10143, "INBOX", Plain),
            ("imap://[::1]/INBOX", "::1", 143, "INBOX", Plain),
            ("imaps://127.0.0.1:10993/INBOX", "127.0.0.1", 10993, "INBOX", Implicit),
            ("imaps://mail.example.org/Print%20Jobs", "mail.example.org", 993, "Print Jobs", Implicit),
        ] {
            let parsed = MailboxUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                (parsed.host.as_str(), parsed.port, parsed.folder.as_str(), parsed.security),
                (host, port, folder, security),
                "{url}"
            );
        }
        for bad in
            ["pop3://mail.example.org", "imaps://", "imaps://:993/INBOX", "imap://mail.example.org:99999/x", "imaps://user:pw@host/INBOX"]
        {
            assert!(MailboxUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(MailboxUrl::parse("imap://[::1]:10143/INBOX").unwrap().to_string(), "imap://[::1]:10143/INBOX");
    }

    fn config(mailbox: &str) -> Result<Config, crate::config::ConfigError> {
        let head = format!(
            "[smtp]\nlisten = \"127.0.0.1:2525\"\nhostname = \"print.test\"\n\n[[queue]]\naddress = \"bw@print.test\"\nname = \"bw\"\nsite = \"main\"\n\n[[site]]\nname = \"main\"\npublic_key = \"Cargo.toml\"\n\n{mailbox}\n"
        );
        Config::from_toml(&crate::config::test_config(&head), std::path::Path::new("test.toml"), std::iter::empty())
    }

    #[test]
    fn a_mailbox_section_is_checked_like_every_other() {
        let ok = config("[[mailbox]]\nurl = \"imap://127.0.0.1:10143/INBOX\"\nusername = \"print\"\npassword_file = \"Cargo.toml\"\nqueue = \"bw@print.test\"\n").unwrap();
        let m = &ok.mailbox[0];
        assert_eq!(
            (m.processed_folder.as_str(), m.refused_folder.as_str(), m.idle, m.poll_interval),
            ("Processed", "Refused", true, DEFAULT_POLL_INTERVAL)
        );
        assert_eq!(ok.mailbox_queue(m).map(|q| q.name.as_str()), Some("bw"));
        // (section body, the key of the problem)
        for (body, key) in [
            ("url = \"imap://127.0.0.1/INBOX\"\nusername = \"p\"\npassword_file = \"Cargo.toml\"\nqueue = \"colour\"", "mailbox[0].queue"),
            ("url = \"imap://127.0.0.1/INBOX\"\nusername = \"p\"\nqueue = \"bw\"", "mailbox[0].password_file"),
            (
                "url = \"imap://127.0.0.1/INBOX\"\nusername = \"p\"\npassword_file = \"Cargo.toml\"\noauth_token_command = \"x\"\nqueue = \"bw\"",
                "mailbox[0].oauth_token_command",
            ),
            (
                "url = \"imap://127.0.0.1/INBOX\"\nusername = \"p\"\npassword_file = \"/no/such\"\nqueue = \"bw\"",
                "mailbox[0].password_file",
            ),
            ("url = \"pop3://127.0.0.1/INBOX\"\nusername = \"p\"\npassword_file = \"Cargo.toml\"\nqueue = \"bw\"", "mailbox[0].url"),
            (
                "url = \"imap://127.0.0.1/INBOX\"\nusername = \"p\"\npassword_file = \"Cargo.toml\"\nqueue = \"bw\"\nprocessed_folder = \"INBOX\"",
                "mailbox[0].processed_folder",
            ),
            (
                "url = \"imap://127.0.0.1/INBOX\"\nusername = \"p\"\npassword_file = \"Cargo.toml\"\nqueue = \"bw\"\nfolder = \"x\"",
                "mailbox[0]",
            ),
        ] {
            let err = config(&format!("[[mailbox]]\n{body}\n")).expect_err(body).to_string();
            assert!(err.contains(&format!("{key}:")) || err.contains(&format!("{key}.")), "{body}: {err}");
        }
    }
}
