//! Configuration: loading, environment overrides, defaulting, typed values and validation.
//!
//! Owns the TOML file format documented in `docs/config.md`. Nothing else in printgate reads
//! configuration files or `PRINTGATE_*` variables; every other module receives the typed
//! [`Config`] (or the part of it it needs).
//!
//! Loading is done in four steps so that an operator sees every mistake at once ([`load`]):
//! 1. parse the TOML and apply `PRINTGATE_<SECTION>__<KEY>` environment overrides;
//! 2. parse the values that have a form of their own into typed values ([`values`]: scanner
//!    addresses, the relay URL, reply language and time zone, `allowed_types`), each once;
//! 3. deserialize into typed sections ([`sections`], [`services`]; unknown keys are errors
//!    naming the key);
//! 4. validate the values together ([`Config::validate`], in [`validate`]; a queue's rules in
//!    [`rules`], shared with the admin console) and collect every problem.
//!
//! The admin console's queue settings ([`overrides`]) are applied on top of the file, each only
//! when the queue it yields still keeps [`rules`].
//!
//! Layering: config sits at the bottom of the house, above only [`crate::doctype`]. It imports
//! no stage (`intake`, `screen`, `store`, `notify`, …); the stages import its typed values
//! (checked by `tests/architecture.rs`). A check that needs a stage's machinery is passed in
//! by the caller ([`Config::load_with`]).

mod defaults;
pub mod load;
pub mod mailbox;
pub mod overrides;
pub mod rules;
pub mod sections;
pub mod senders;
pub mod services;
pub mod validate;
pub mod values;

use std::time::Duration;

use serde::Deserialize;

pub use load::{ConfigError, ConfigIssue};
pub use mailbox::{ImapSecurity, MailboxConfig, MailboxUrl};
pub use overrides::{FieldChange, QueueOverride, RefusedOverride, SenderOverride};
pub use sections::*;
pub use services::*;
pub use values::{AllowedTypes, BlobUrl, Endpoint, Language, RelayUrl, Zone};

/// Default SMTP message size limit: 25 MiB is what Gmail and Outlook.com let patrons send.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;
/// Default retention of unreleased jobs: the product promise (72 hours).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(72 * 3600);
/// Default maximum recipients per transaction; a print mail has one, a few are tolerated.
pub const DEFAULT_MAX_RECIPIENTS: usize = 20;
/// Default per-command timeout: RFC 5321 section 4.5.3.2 asks for at least 5 minutes.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// Default DATA timeout: RFC 5321 4.5.3.2.6 asks for 10 minutes per data block.
pub const DEFAULT_DATA_TIMEOUT: Duration = Duration::from_secs(600);
/// Default whole-session limit: a slow phone link sends 25 MB in well under half an hour.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(1800);
/// Default cap on simultaneous sessions: far above a library's traffic, far below what would
/// exhaust memory (an idle session costs a few KiB).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;
/// Default simultaneous sessions per client address: big MTAs open a handful in parallel.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 20;
/// Default messages per client address per minute: a busy campus relay stays below this.
pub const DEFAULT_MAX_MESSAGES_PER_IP_PER_MINUTE: usize = 120;
/// Default longest command line (RFC 5321 says 512; extensions need more).
pub const DEFAULT_MAX_LINE_LENGTH: usize = 4096;
/// Default protocol errors tolerated before a session is closed (Postfix uses 10-20).
pub const DEFAULT_MAX_ERRORS: usize = 10;
/// Default scanner timeout: clamd scans 25 MB in well under a second; spamd can take seconds.
pub const DEFAULT_SCAN_TIMEOUT: Duration = Duration::from_secs(60);
/// Default SpamAssassin input cap: spamc's own default (500 KB); larger mails send a prefix.
pub const DEFAULT_SPAM_MAX_BYTES: usize = 512 * 1024;
/// Default release-code length: 8 digits (10^8 codes) as promised in the reply format.
pub const DEFAULT_CODE_DIGITS: usize = 8;

/// The whole, validated configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub smtp: SmtpConfig,
    #[serde(default)]
    pub queue: Vec<QueueConfig>,
    #[serde(default)]
    pub site: Vec<SiteConfig>,
    pub scan: ScanConfig,
    pub store: StoreConfig,
    #[serde(default)]
    pub spool: SpoolConfig,
    pub relay: RelayConfig,
    pub api: ApiConfig,
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    #[serde(default)]
    pub web: Option<WebConfig>,
    #[serde(default)]
    pub pipeline: PipelineConfig,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub convert: ConvertConfig,
    /// IMAP mailboxes printgate reads mail from (`[[mailbox]]`, docs/mailbox.md).
    #[serde(default)]
    pub mailbox: Vec<MailboxConfig>,
}

impl Config {
    /// The effective settings in a few lines, secrets redacted (for `check-config`).
    pub fn summary(&self) -> String {
        let mut out = format!(
            "smtp: listen {} hostname {} max_message_bytes {} starttls {}\n",
            self.smtp.listen,
            self.smtp.hostname,
            self.smtp.max_message_bytes,
            self.smtp.tls_cert.is_some()
        );
        for q in &self.queue {
            out.push_str(&format!(
                "queue {}: {} -> site {} color {} types {:?} max_pages {} spam tag {} reject {} retention {} reply {:?}\n",
                q.name,
                q.address,
                q.site,
                q.color,
                q.allowed_types,
                q.max_pages,
                q.spam_tag_score,
                q.spam_reject_score,
                humantime::format_duration(q.retention),
                q.reply_policy
            ));
        }
        for s in &self.site {
            out.push_str(&format!("site {}: public key {}\n", s.name, s.public_key.display()));
        }
        out.push_str(&format!(
            "scan: clamav {} spam {:?} at {}\n",
            self.scan.clamav.address,
            self.scan.spam_engine,
            self.scan.spam().map_or_else(|| "(missing)".to_owned(), |s| s.address.to_string())
        ));
        out.push_str(&format!("store: {} blobs {}\n", redact_url(&self.store.database_url), self.store.blob_url));
        out.push_str(&format!("relay: {} from {}\napi: {}\n", self.relay.url, self.relay.from, self.api.listen));
        for m in &self.mailbox {
            out.push_str(&format!("mailbox {} -> queue {} (idle {})\n", m.url, m.queue, m.idle));
        }
        if let Some(web) = &self.web {
            let queues: Vec<&str> = self.queue.iter().filter(|q| q.web_upload).map(|q| q.name.as_str()).collect();
            out.push_str(&format!("web: {} https {} queues {}\n", web.listen, web.tls_cert.is_some(), queues.join(", ")));
        }
        out
    }

    /// The queue whose address is `address` (case-insensitive), if any.
    pub fn queue_for_address(&self, address: &str) -> Option<&QueueConfig> {
        self.queue.iter().find(|q| q.address.eq_ignore_ascii_case(address))
    }

    pub fn queue_named(&self, name: &str) -> Option<&QueueConfig> {
        self.queue.iter().find(|q| q.name == name)
    }
}

/// `scheme://user:password@host` -> `scheme://user:***@host`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests;

/// A configuration for unit tests: `head` (the SMTP section, queues, sites) followed by the
/// sections every such test shares (scanners, store, relay, API). `Cargo.toml` stands in for
/// site keys in `head` (only their existence is checked at load).
#[cfg(test)]
pub(crate) fn test_config(head: &str) -> String {
    const SERVICES: &str = r#"
[scan.clamav]
address = "unix:/run/clamd.sock"

[scan.spamassassin]
address = "127.0.0.1:783"

[store]
database_url = "sqlite://data/x.db"
blob_url = "file://data/blobs"

[relay]
url = "smtp://127.0.0.1:25"
from = "printgate@print.test"

[api]
listen = "127.0.0.1:8443"
"#;
    format!("{head}{SERVICES}")
}
