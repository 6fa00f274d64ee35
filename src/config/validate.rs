//! Checks of values that only make sense together ([`Config::validate`]): every problem is
//! collected with the key it concerns, so an operator sees all mistakes at once.
//!
//! Owns the rules of `docs/config.md` that no single value's type can express (a listener
//! without a certificate stays on loopback, …); a queue's rules are [`super::rules`], shared
//! with the admin console. It parses nothing that a
//! stage owns and calls no stage: checks that need a stage's machinery (compiling reply
//! templates) are passed in by the loader's caller.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;

use super::values::{BlobUrl, Endpoint};
use super::{AuthResolver, Config, ConfigIssue, SpamEngine};

/// The files a queue's `templates` directory must hold (docs/replies.md).
pub const REPLY_TEMPLATE_FILES: [&str; 2] = ["reply.txt.j2", "reply.html.j2"];

impl Config {
    /// Checks values that only make sense together; returns every problem.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut push = |key: &str, problem: String| issues.push(ConfigIssue { key: key.into(), problem });
        let smtp = &self.smtp;
        if smtp.tls_cert.is_some() != smtp.tls_key.is_some() {
            push("smtp.tls_cert", "tls_cert and tls_key must be set together".into());
        }
        for (key, path) in [("smtp.tls_cert", &smtp.tls_cert), ("smtp.tls_key", &smtp.tls_key)] {
            if let Some(p) = path.as_ref().filter(|p| !p.exists()) {
                push(key, format!("file {} does not exist", p.display()));
            }
        }
        if smtp.tls_listen.is_some() && smtp.tls_cert.is_none() {
            push("smtp.tls_listen", "an implicit-TLS listener needs tls_cert and tls_key".into());
        }
        if smtp.max_line_length < 512 {
            push("smtp.max_line_length", "must be at least 512 (RFC 5321)".into());
        }
        for (key, value) in [
            ("smtp.command_timeout", smtp.command_timeout.as_secs() as usize),
            ("smtp.data_timeout", smtp.data_timeout.as_secs() as usize),
            ("smtp.session_timeout", smtp.session_timeout.as_secs() as usize),
            ("smtp.max_errors", smtp.max_errors),
            ("smtp.max_connections", smtp.max_connections),
            ("smtp.max_connections_per_ip", smtp.max_connections_per_ip),
            ("smtp.max_messages_per_ip_per_minute", smtp.max_messages_per_ip_per_minute),
            ("smtp.max_messages_per_sender_per_hour", smtp.max_messages_per_sender_per_hour),
            ("smtp.max_messages_per_domain_per_hour", smtp.max_messages_per_domain_per_hour),
            ("smtp.max_recipients", smtp.max_recipients),
            ("smtp.max_message_bytes", smtp.max_message_bytes),
        ] {
            if value == 0 {
                push(key, "must be at least 1 (or 1s)".into());
            }
        }
        if self.queue.is_empty() {
            push("queue", "at least one [[queue]] is required".into());
        }
        for (i, q) in self.queue.iter().enumerate() {
            // The rules the console's queue form shares (`rules`); then what only the file
            // has: the queue's own templates must be there. Whether they compile and keep the
            // reply's contract is `notify`'s check, which the loader passes in
            // (`Config::load_with`).
            for issue in self.queue_issues(i) {
                push(&issue.key, issue.problem);
            }
            if let Some(problem) = q.templates.as_deref().and_then(missing_template) {
                push(&format!("queue[{i}].templates"), problem);
            }
        }
        let mut site_names = HashSet::new();
        for (i, s) in self.site.iter().enumerate() {
            if s.name.is_empty() || s.name.len() > 255 || !site_names.insert(s.name.as_str()) {
                push(&format!("site[{i}].name"), format!("{:?} is empty, longer than 255 bytes, or used twice", s.name));
            }
            if !s.public_key.exists() {
                push(&format!("site[{i}].public_key"), format!("file {} does not exist", s.public_key.display()));
            }
        }
        let spam_key = match self.scan.spam_engine {
            SpamEngine::Spamassassin => "scan.spamassassin",
            SpamEngine::Rspamd => "scan.rspamd",
        };
        match self.scan.spam() {
            Some(spam) if self.scan.spam_engine == SpamEngine::Rspamd && matches!(spam.address, Endpoint::Unix(_)) => {
                push("scan.rspamd.address", "rspamd is reached over HTTP: use HOST:PORT of its normal worker".into());
            }
            Some(_) => {}
            None => push(spam_key, format!("missing section [{spam_key}] for scan.spam_engine")),
        }
        let db = &self.store.database_url;
        let sqlite_file = db.strip_prefix("sqlite://").is_some_and(|p| !p.is_empty() && !p.starts_with(":memory:"));
        if !(sqlite_file || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            push("store.database_url", "must be sqlite://PATH (a file) or postgres://…".into());
        }
        if let Err(e) = BlobUrl::parse(&self.store.blob_url) {
            push("store.blob_url", e);
        }
        if !(4..=12).contains(&self.store.code_digits) {
            push("store.code_digits", "must be between 4 and 12".into());
        }
        for issue in super::mailbox::mailbox_issues(self) {
            push(&issue.key, issue.problem);
        }
        if !self.relay.from.contains('@') {
            push("relay.from", format!("{:?} is not an email address", self.relay.from));
        }
        for (key, problem) in http_listener_issues("api", self.api.listen, self.api.tls_cert.as_deref(), self.api.tls_key.as_deref()) {
            push(&key, problem);
        }
        if self.api.max_failed_codes == 0 || self.api.max_failed_codes_per_address == 0 {
            push("api.max_failed_codes", "must be at least 1".into());
        }
        if self.api.failed_code_window.is_zero() {
            push("api.failed_code_window", "must be longer than 0s".into());
        }
        if self.api.poll_limit == 0 {
            push("api.poll_limit", "must be at least 1".into());
        }
        if let Some(admin) = &self.admin {
            for (key, problem) in http_listener_issues("admin", admin.listen, admin.tls_cert.as_deref(), admin.tls_key.as_deref()) {
                push(&key, problem);
            }
            if admin.max_failed_logins == 0 || admin.max_failed_logins_per_address == 0 {
                push("admin.max_failed_logins", "must be at least 1".into());
            }
        }
        for (key, problem) in self.web_issues() {
            push(&key, problem);
        }
        if self.auth.resolver != AuthResolver::Static && !self.auth.records.is_empty() {
            push("auth.records", "only used with resolver = \"static\"".into());
        }
        if self.convert.office_timeout.is_zero() {
            push("convert.office_timeout", "must be longer than 0s".into());
        }
        if self.convert.tool_timeout.is_zero() {
            push("convert.tool_timeout", "must be longer than 0s".into());
        }
        if self.convert.max_image_megapixels == 0 {
            push("convert.max_image_megapixels", "must be at least 1".into());
        }
        for (key, problem) in relay_login_problems(&self.relay) {
            push(key, problem);
        }
        match (&self.relay.dkim_key, &self.relay.dkim_selector) {
            (Some(key), Some(_)) if !key.exists() => push("relay.dkim_key", format!("file {} does not exist", key.display())),
            (Some(_), None) => push("relay.dkim_selector", "is required with relay.dkim_key".into()),
            (None, Some(_)) => push("relay.dkim_key", "is required with relay.dkim_selector".into()),
            _ => {}
        }
        if self.pipeline.workers == 0 {
            push("pipeline.workers", "must be at least 1".into());
        }
        issues
    }
}

/// The first reply template missing from (or unreadable in) `dir`, as a problem.
fn missing_template(dir: &Path) -> Option<String> {
    REPLY_TEMPLATE_FILES.iter().find_map(|file| {
        let path = dir.join(file);
        std::fs::File::open(&path).err().map(|e| format!("{}: {e}", path.display()))
    })
}

impl Config {
    /// `[web]`: the listener's rules, limits of at least 1, and a queue to offer.
    fn web_issues(&self) -> Vec<(String, String)> {
        let Some(web) = &self.web else {
            return Vec::new();
        };
        let mut issues = http_listener_issues("web", web.listen, web.tls_cert.as_deref(), web.tls_key.as_deref());
        for (key, value) in [
            ("web.max_uploads_per_address", web.max_uploads_per_address as usize),
            ("web.max_uploads_per_ip", web.max_uploads_per_ip as usize),
            ("web.upload_window", web.upload_window.as_secs() as usize),
            ("web.max_files", web.max_files),
        ] {
            if value == 0 {
                issues.push((key.to_owned(), "must be at least 1 (or 1s)".to_owned()));
            }
        }
        // An upload's sender is never authenticated: such a queue would refuse every upload, or
        // never send its code (the only way an uploader learns it).
        for (i, q) in self.queue.iter().enumerate().filter(|(_, q)| q.web_upload) {
            if q.accept_policy == super::AcceptPolicy::Authenticated {
                issues.push((
                    format!("queue[{i}].web_upload"),
                    "uploads are never from an authenticated sender: this queue's accept_policy = \"authenticated\" would refuse them all"
                        .to_owned(),
                ));
            }
            if q.reply_policy != super::ReplyPolicy::NotFailing {
                issues.push((
                    format!("queue[{i}].web_upload"),
                    "the release code of an upload goes only by reply email: needs reply_policy = \"not_failing\"".to_owned(),
                ));
            }
        }
        if !self.queue.iter().any(|q| q.web_upload) {
            issues.push(("web".to_owned(), "no [[queue]] has web_upload = true: the form would offer nothing".to_owned()));
        }
        issues
    }
}

/// The rules an HTTP listener (`[api]`, `[admin]`, `[web]`) shares: certificate and key together and
/// readable; without them, plain HTTP on a loopback address only. `(key, problem)` pairs.
fn http_listener_issues(section: &str, listen: SocketAddr, cert: Option<&Path>, key: Option<&Path>) -> Vec<(String, String)> {
    let mut issues = Vec::new();
    if cert.is_some() != key.is_some() {
        issues.push((format!("{section}.tls_cert"), "tls_cert and tls_key must be set together".to_owned()));
    }
    for (name, path) in [("tls_cert", cert), ("tls_key", key)] {
        if let Some(path) = path
            && !path.is_file()
        {
            issues.push((format!("{section}.{name}"), format!("{} is not a readable file", path.display())));
        }
    }
    if cert.is_none() && !listen.ip().is_loopback() {
        issues.push((
            format!("{section}.listen"),
            "plain HTTP is only allowed on a loopback address; set tls_cert and tls_key to serve HTTPS".to_owned(),
        ));
    }
    issues
}

/// The relay login's problems: a password file or a token command needs a user name and the
/// two exclude each other; the files must be there.
fn relay_login_problems(r: &super::RelayConfig) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    match (&r.username, &r.password_file, &r.oauth_token_command) {
        (_, Some(_), Some(_)) => problems.push(("relay.oauth_token_command", "use password_file or oauth_token_command, not both".into())),
        (None, Some(_), None) => problems.push(("relay.username", "is required with relay.password_file".into())),
        (None, None, Some(_)) => problems.push(("relay.username", "is required with relay.oauth_token_command".into())),
        (Some(_), None, None) => problems.push(("relay.password_file", "relay.username needs password_file or oauth_token_command".into())),
        _ => {}
    }
    for (key, path) in [("relay.password_file", &r.password_file), ("relay.ca_file", &r.ca_file)] {
        if let Some(p) = path.as_ref().filter(|p| !p.is_file()) {
            problems.push((key, format!("file {} does not exist", p.display())));
        }
    }
    if r.oauth_token_command.as_deref().is_some_and(|c| c.trim().is_empty()) {
        problems.push(("relay.oauth_token_command", "is empty".into()));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::relay_login_problems;
    use crate::config::{RelayConfig, RelayTls, RelayUrl};

    #[test]
    fn a_relay_login_needs_a_user_and_one_secret() {
        let file = std::env::temp_dir().join("printgate-relay-password-test");
        std::fs::write(&file, "x\n").unwrap();
        let relay = |user: Option<&str>, password: bool, command: Option<&str>| RelayConfig {
            url: RelayUrl::parse("smtp://relay.example:587").unwrap(),
            from: "print@example.org".into(),
            library_name: String::new(),
            dkim_key: None,
            dkim_selector: None,
            dkim_domain: None,
            tls: RelayTls::Required,
            username: user.map(str::to_owned),
            password_file: password.then(|| file.clone()),
            oauth_token_command: command.map(str::to_owned),
            ca_file: None,
        };
        // (user, password file, token command, the key of the one problem or none)
        for (user, password, command, key) in [
            (None, false, None, None),
            (Some("u"), true, None, None),
            (Some("u"), false, Some("print-token"), None),
            (Some("u"), true, Some("print-token"), Some("relay.oauth_token_command")),
            (None, true, None, Some("relay.username")),
            (None, false, Some("print-token"), Some("relay.username")),
            (Some("u"), false, None, Some("relay.password_file")),
            (Some("u"), false, Some("  "), Some("relay.oauth_token_command")),
        ] {
            let problems = relay_login_problems(&relay(user, password, command));
            assert_eq!(problems.first().map(|p| p.0), key, "{user:?} {password} {command:?}: {problems:?}");
            assert!(problems.len() <= 1, "{problems:?}");
        }
        let missing = RelayConfig { ca_file: Some("/no/such/ca.pem".into()), ..relay(None, false, None) };
        assert_eq!(relay_login_problems(&missing)[0].0, "relay.ca_file");
    }
}
