//! The sections of the config file that describe the mail path: `[smtp]`, `[[queue]]`,
//! `[[site]]`, `[scan]`, `[store]`, `[spool]`, `[relay]`, `[auth]` (keys and defaults as in
//! `docs/config.md`). Values with a form of their own are typed ([`super::values`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::defaults::*;
pub use super::senders::SenderPattern;
use super::values::{AllowedTypes, Endpoint, Language, RelayUrl, Zone, duration, optional_duration};

/// Where sender authentication gets its DNS answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuthResolver {
    /// The system's resolver (/etc/resolv.conf): production.
    #[default]
    System,
    /// Only the records listed in `auth.records`: tests and air-gapped sites.
    Static,
    /// No checks: every sender is unauthenticated.
    Off,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub resolver: AuthResolver,
    /// `[["example.com", "v=spf1 ip4:192.0.2.0/24 -all"], …]` for `resolver = "static"`.
    #[serde(default)]
    pub records: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub listen: SocketAddr,
    pub hostname: String,
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    #[serde(default = "default_max_recipients")]
    pub max_recipients: usize,
    #[serde(default = "default_command_timeout", deserialize_with = "duration")]
    pub command_timeout: Duration,
    #[serde(default = "default_data_timeout", deserialize_with = "duration")]
    pub data_timeout: Duration,
    #[serde(default = "default_session_timeout", deserialize_with = "duration")]
    pub session_timeout: Duration,
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    #[serde(default = "default_max_connections_per_ip")]
    pub max_connections_per_ip: usize,
    #[serde(default = "default_max_messages_per_ip")]
    pub max_messages_per_ip_per_minute: usize,
    /// Per sender address (the From header, else the envelope sender), per hour.
    #[serde(default = "default_max_messages_per_sender")]
    pub max_messages_per_sender_per_hour: usize,
    /// Per sender domain, per hour.
    #[serde(default = "default_max_messages_per_domain")]
    pub max_messages_per_domain_per_hour: usize,
    #[serde(default = "default_max_line_length")]
    pub max_line_length: usize,
    #[serde(default = "default_max_errors")]
    pub max_errors: usize,
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Optional implicit-TLS listener (port 465 style); needs tls_cert and tls_key.
    #[serde(default)]
    pub tls_listen: Option<SocketAddr>,
}

/// Who may receive an emailed reply (see DESIGN.md, principle 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReplyPolicy {
    /// Reply unless the sender fails authentication.
    #[default]
    NotFailing,
    /// Reply only to authenticated senders.
    Authenticated,
    /// Never reply (the code is shown some other way).
    Never,
}

/// Which senders a queue takes mail from, by their authentication grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AcceptPolicy {
    /// Anyone, even senders whose domain asks for rejection (DMARC p=reject fail).
    Any,
    /// Everyone except senders failing a DMARC reject policy: what the domain owner asked for.
    #[default]
    NotFailing,
    /// Only authenticated senders (DMARC pass, or aligned SPF/DKIM without DMARC).
    Authenticated,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The print address, e.g. `bw@print.example.org`.
    pub address: String,
    pub name: String,
    pub site: String,
    #[serde(default)]
    pub color: bool,
    #[serde(default = "default_allowed_types")]
    pub allowed_types: AllowedTypes,
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
    #[serde(default = "default_spam_tag")]
    pub spam_tag_score: f64,
    #[serde(default = "default_spam_reject")]
    pub spam_reject_score: f64,
    #[serde(default = "default_retention", deserialize_with = "duration")]
    pub retention: Duration,
    #[serde(default)]
    pub reply_policy: ReplyPolicy,
    #[serde(default)]
    pub accept_policy: AcceptPolicy,
    /// How much longer a patron's EXTEND reply keeps the jobs (once per message).
    #[serde(default = "default_extension", deserialize_with = "duration")]
    pub extension: Duration,
    /// Paper the queue's printer holds: images are fitted to it.
    #[serde(default)]
    pub paper: Paper,
    /// What a mono queue does with a document that has colour pages.
    #[serde(default)]
    pub color_documents: ColorDocuments,
    /// Language of the queue's mail to patrons (built in: `en`, `de`).
    #[serde(default)]
    pub language: Language,
    /// IANA time zone that expiry times are shown in (`Europe/Berlin`).
    #[serde(default = "Zone::utc")]
    pub timezone: Zone,
    /// A directory with `reply.txt.j2` and `reply.html.j2` replacing the built-in templates.
    #[serde(default)]
    pub templates: Option<PathBuf>,
    /// Send the patron one reminder this long before unreleased jobs expire (off when unset).
    #[serde(default, deserialize_with = "optional_duration")]
    pub reminder_before: Option<Duration>,
    /// Senders the queue takes mail from (`user@dom`, `@dom`, `@*.dom`); empty: everyone.
    #[serde(default)]
    pub allow_senders: Vec<SenderPattern>,
    /// Senders refused whatever the allow list says.
    #[serde(default)]
    pub deny_senders: Vec<SenderPattern>,
    /// Hold the first mail of an address until its owner answers YES to a verification reply.
    #[serde(default)]
    pub verify_new_senders: bool,
    /// How long a verified sender stays verified.
    #[serde(default = "default_verified_sender_days")]
    pub verified_sender_days: u32,
    /// Pages a sender may print per day (local day in the queue's `timezone`).
    #[serde(default)]
    pub daily_pages: Option<u32>,
    /// Colour pages a sender may print per day.
    #[serde(default)]
    pub daily_color_pages: Option<u32>,
    /// Pages per day for a sender that is not authenticated (no DMARC pass, no aligned SPF or DKIM).
    #[serde(default)]
    pub guest_daily_pages: Option<u32>,
    /// Pages the whole queue may print per day.
    #[serde(default)]
    pub queue_daily_pages: Option<u32>,
    /// Offer the queue on the web upload form (`[web]`, docs/upload.md).
    #[serde(default)]
    pub web_upload: bool,
}

#[cfg(test)]
impl QueueConfig {
    /// A queue for unit tests: `bw@p` on site `main`, PDF only, 10 pages, spam lines 5 / 10,
    /// an hour's retention and extension, no sender policy.
    pub fn sample() -> Self {
        Self {
            address: "bw@p".into(),
            name: "bw".into(),
            site: "main".into(),
            color: false,
            allowed_types: AllowedTypes::new(vec!["pdf".into()]),
            max_pages: 10,
            spam_tag_score: 5.0,
            spam_reject_score: 10.0,
            retention: Duration::from_secs(3600),
            reply_policy: ReplyPolicy::NotFailing,
            accept_policy: AcceptPolicy::NotFailing,
            extension: Duration::from_secs(3600),
            paper: Paper::A4,
            color_documents: ColorDocuments::Greyscale,
            language: Language::En,
            timezone: Zone::utc(),
            templates: None,
            reminder_before: None,
            allow_senders: Vec::new(),
            deny_senders: Vec::new(),
            verify_new_senders: false,
            verified_sender_days: default_verified_sender_days(),
            daily_pages: None,
            daily_color_pages: None,
            guest_daily_pages: None,
            queue_daily_pages: None,
            web_upload: false,
        }
    }
}

/// Paper size of a queue's printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Paper {
    #[default]
    A4,
    Letter,
}

/// A mono queue's answer to a colour document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ColorDocuments {
    /// Print it in shades of grey (the reply says so).
    #[default]
    Greyscale,
    /// Refuse it (the reply names the colour pages).
    Refuse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub name: String,
    /// PEM file with the site's RSA public key (`printgate keygen`).
    pub public_key: PathBuf,
}

/// Which spam filter screens mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpamEngine {
    #[default]
    Spamassassin,
    Rspamd,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    #[serde(default)]
    pub spam_engine: SpamEngine,
    pub clamav: ScannerConfig,
    #[serde(default)]
    pub spamassassin: Option<SpamConfig>,
    /// rspamd's normal worker (`HOST:PORT`), used when `spam_engine = "rspamd"`.
    #[serde(default)]
    pub rspamd: Option<SpamConfig>,
}

impl ScanConfig {
    /// The section of the selected spam engine.
    pub fn spam(&self) -> Option<&SpamConfig> {
        match self.spam_engine {
            SpamEngine::Spamassassin => self.spamassassin.as_ref(),
            SpamEngine::Rspamd => self.rspamd.as_ref(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerConfig {
    /// `HOST:PORT` or `unix:/path`.
    pub address: Endpoint,
    #[serde(default = "default_scan_timeout", deserialize_with = "duration")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpamConfig {
    /// `HOST:PORT` or `unix:/path`.
    pub address: Endpoint,
    #[serde(default = "default_scan_timeout", deserialize_with = "duration")]
    pub timeout: Duration,
    #[serde(default = "default_spam_max_bytes")]
    pub max_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// `file:///DIR` (or `file://relative/dir`) or `s3://BUCKET/PREFIX`.
    pub blob_url: String,
    /// 32+ random bytes keying release-code hashes and the outbox encryption. Every node of
    /// one installation must share this file. Created on first start when missing.
    #[serde(default = "default_secret_file")]
    pub secret_file: PathBuf,
    #[serde(default = "default_code_digits")]
    pub code_digits: usize,
    /// How long message traces (sender addresses, scores) are kept.
    #[serde(default = "default_trace_retention", deserialize_with = "duration")]
    pub trace_retention: Duration,
    /// How long security audit events (lock-outs, console changes) are kept.
    #[serde(default = "default_audit_retention", deserialize_with = "duration")]
    pub audit_retention: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolConfig {
    pub dir: PathBuf,
    /// This node's key for the spool's encryption at rest. Created on first start.
    pub key_file: PathBuf,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        Self { dir: PathBuf::from("data/spool"), key_file: PathBuf::from("data/node.key") }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// `smtp://HOST:PORT` or `smtps://HOST:PORT`.
    pub url: RelayUrl,
    pub from: String,
    /// The library's name, shown in replies.
    #[serde(default = "default_library_name")]
    pub library_name: String,
    /// DKIM-sign replies with this RSA private key (PEM, PKCS#8 or PKCS#1), so they pass the
    /// patron's DMARC checks and land in the inbox. Needs `dkim_selector`.
    #[serde(default)]
    pub dkim_key: Option<PathBuf>,
    /// The selector whose TXT record (`SELECTOR._domainkey.DOMAIN`) publishes the public key.
    #[serde(default)]
    pub dkim_selector: Option<String>,
    /// The signing domain (`d=`); default: the domain of `from`.
    #[serde(default)]
    pub dkim_domain: Option<String>,
    /// STARTTLS on `smtp://`: when the relay offers it (default), or required.
    #[serde(default)]
    pub tls: RelayTls,
    /// Log in to the relay as this user (with `password_file` or `oauth_token_command`).
    #[serde(default)]
    pub username: Option<String>,
    /// A file holding the relay password (its first line).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// A command printing an OAuth2 access token for XOAUTH2 (Microsoft 365, Google).
    #[serde(default)]
    pub oauth_token_command: Option<String>,
    /// Trust this CA (PEM) for the relay's certificate, besides the system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// Whether replies may go to the relay without TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RelayTls {
    /// STARTTLS when the relay offers it, plain otherwise.
    #[default]
    Opportunistic,
    /// STARTTLS or nothing: a relay without it (or a downgrade) gets no mail.
    Required,
}
