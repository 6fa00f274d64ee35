//! Configuration: loading, environment overrides, defaulting and validation.
//!
//! Owns the TOML file format documented in `docs/config.md`. Nothing else in printgate reads
//! configuration files or `PRINTGATE_*` variables; every other module receives the typed
//! [`Config`] (or the part of it it needs).
//!
//! Loading is done in three steps so that an operator sees every mistake at once:
//! 1. parse the TOML and apply `PRINTGATE_<SECTION>__<KEY>` environment overrides;
//! 2. deserialize into typed sections (unknown keys are errors naming the key);
//! 3. validate the values together ([`Config::validate`]) and collect every problem.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

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
    pub pipeline: PipelineConfig,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub convert: ConvertConfig,
}

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
    pub allowed_types: Vec<String>,
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
    #[serde(default = "default_language")]
    pub language: String,
    /// IANA time zone that expiry times are shown in (`Europe/Berlin`).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// A directory with `reply.txt.j2` and `reply.html.j2` replacing the built-in templates.
    #[serde(default)]
    pub templates: Option<PathBuf>,
    /// Send the patron one reminder this long before unreleased jobs expire (off when unset).
    #[serde(default, deserialize_with = "optional_duration")]
    pub reminder_before: Option<Duration>,
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
    pub address: String,
    #[serde(default = "default_scan_timeout", deserialize_with = "duration")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpamConfig {
    /// `HOST:PORT` or `unix:/path`.
    pub address: String,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// `smtp://HOST:PORT` or `smtps://HOST:PORT`.
    pub url: String,
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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub listen: SocketAddr,
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Wrong release codes one station may try within `failed_code_window` before it is
    /// locked out for `lockout`.
    #[serde(default = "default_max_failed_codes")]
    pub max_failed_codes: u32,
    /// The same for one source address (all stations behind it together).
    #[serde(default = "default_max_failed_codes_per_address")]
    pub max_failed_codes_per_address: u32,
    #[serde(default = "default_failed_code_window", deserialize_with = "duration")]
    pub failed_code_window: Duration,
    #[serde(default = "default_lockout", deserialize_with = "duration")]
    pub lockout: Duration,
    /// Most jobs one poll answer lists (`GET /api/v1/sites/{site}/jobs`).
    #[serde(default = "default_poll_limit")]
    pub poll_limit: u32,
}

fn default_max_failed_codes() -> u32 {
    10
}
fn default_max_failed_codes_per_address() -> u32 {
    50
}
fn default_failed_code_window() -> Duration {
    Duration::from_secs(600)
}
fn default_lockout() -> Duration {
    Duration::from_secs(900)
}
fn default_poll_limit() -> u32 {
    100
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    pub listen: SocketAddr,
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// How long a login lasts.
    #[serde(default = "default_session_lifetime", deserialize_with = "duration")]
    pub session_lifetime: Duration,
    /// Wrong passwords for one account before it is locked for `login_lockout`.
    #[serde(default = "default_max_failed_logins")]
    pub max_failed_logins: u32,
    /// Wrong logins from one address (any account) before the address is locked out.
    #[serde(default = "default_max_failed_logins_per_address")]
    pub max_failed_logins_per_address: u32,
    #[serde(default = "default_lockout", deserialize_with = "duration")]
    pub login_lockout: Duration,
}

fn default_session_lifetime() -> Duration {
    Duration::from_secs(8 * 3600)
}
fn default_max_failed_logins() -> u32 {
    5
}
fn default_max_failed_logins_per_address() -> u32 {
    20
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Concurrent pipeline workers (conversion is CPU-bound; one per core is the default).
    #[serde(default = "default_workers")]
    pub workers: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self { workers: default_workers() }
    }
}

/// Document conversion: the LibreOffice pool and the helper programs (see docs/conversion.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertConfig {
    /// Long-running LibreOffice workers (each converts one document at a time).
    #[serde(default = "default_office_workers")]
    pub office_workers: usize,
    /// Start the workers with the server (else on the first Office document).
    #[serde(default = "default_true")]
    pub office_prestart: bool,
    /// A document still converting after this is killed with its worker, and refused.
    #[serde(default = "default_office_timeout", deserialize_with = "duration")]
    pub office_timeout: Duration,
    /// A worker is replaced after this many documents (LibreOffice grows over time).
    #[serde(default = "default_office_recycle")]
    pub office_recycle_after: u32,
    /// Run each worker in its own network namespace (no network at all) when the host allows.
    #[serde(default = "default_true")]
    pub isolate_network: bool,
    #[serde(default = "default_soffice")]
    pub soffice: PathBuf,
    /// A Python 3 with the `uno` module (Debian: python3-uno).
    #[serde(default = "default_uno_python")]
    pub uno_python: PathBuf,
    /// LibreOffice profiles (no documents are kept there).
    #[serde(default = "default_profile_dir")]
    pub profile_dir: PathBuf,
    /// Private scratch space for one conversion at a time; default: /dev/shm (memory) when
    /// present, so plaintext never reaches a disk.
    #[serde(default)]
    pub scratch_dir: Option<PathBuf>,
    /// Time limit for the PDF tools (qpdf, pdftoppm) and image decoders, per document.
    #[serde(default = "default_tool_timeout", deserialize_with = "duration")]
    pub tool_timeout: Duration,
    /// Largest image accepted, in megapixels (decompression bombs stop here).
    #[serde(default = "default_max_megapixels")]
    pub max_image_megapixels: u32,
}

impl Default for ConvertConfig {
    fn default() -> Self {
        Self {
            office_workers: default_office_workers(),
            office_prestart: true,
            office_timeout: default_office_timeout(),
            office_recycle_after: default_office_recycle(),
            isolate_network: true,
            soffice: default_soffice(),
            uno_python: default_uno_python(),
            profile_dir: default_profile_dir(),
            scratch_dir: None,
            tool_timeout: default_tool_timeout(),
            max_image_megapixels: default_max_megapixels(),
        }
    }
}

/// serde needs a function per default; each returns the named constant above.
macro_rules! defaults {
    ($($name:ident -> $ty:ty = $value:expr;)*) => { $(fn $name() -> $ty { $value })* };
}

defaults! {
    default_max_message_bytes -> usize = DEFAULT_MAX_MESSAGE_BYTES;
    default_max_recipients -> usize = DEFAULT_MAX_RECIPIENTS;
    default_command_timeout -> Duration = DEFAULT_COMMAND_TIMEOUT;
    default_data_timeout -> Duration = DEFAULT_DATA_TIMEOUT;
    default_session_timeout -> Duration = DEFAULT_SESSION_TIMEOUT;
    default_max_connections -> usize = DEFAULT_MAX_CONNECTIONS;
    default_max_connections_per_ip -> usize = DEFAULT_MAX_CONNECTIONS_PER_IP;
    default_max_messages_per_ip -> usize = DEFAULT_MAX_MESSAGES_PER_IP_PER_MINUTE;
    default_max_line_length -> usize = DEFAULT_MAX_LINE_LENGTH;
    default_max_errors -> usize = DEFAULT_MAX_ERRORS;
    default_scan_timeout -> Duration = DEFAULT_SCAN_TIMEOUT;
    default_spam_max_bytes -> usize = DEFAULT_SPAM_MAX_BYTES;
    default_retention -> Duration = DEFAULT_RETENTION;
    default_code_digits -> usize = DEFAULT_CODE_DIGITS;
    default_true -> bool = true;
    default_extension -> Duration = Duration::from_secs(24 * 3600);
    default_office_workers -> usize = 2;
    default_office_timeout -> Duration = Duration::from_secs(60);
    default_office_recycle -> u32 = 200;
    default_soffice -> PathBuf = PathBuf::from("soffice");
    default_uno_python -> PathBuf = PathBuf::from("/usr/bin/python3");
    default_profile_dir -> PathBuf = PathBuf::from("data/convert");
    default_tool_timeout -> Duration = Duration::from_secs(60);
    default_max_megapixels -> u32 = 150;
}

/// A patron prints a few documents a day; 60 an hour is a runaway script, not a person.
fn default_max_messages_per_sender() -> usize {
    60
}
/// A whole university domain: generous, but bounds a compromised domain's flood.
fn default_max_messages_per_domain() -> usize {
    600
}
/// Every kind printgate converts (the groups cover every type; see `DocumentType::from_config_name`):
/// a queue configured without the key should not surprise its patrons by refusing Word files.
fn default_allowed_types() -> Vec<String> {
    ["pdf", "images", "text", "office"].map(str::to_owned).to_vec()
}
/// 100 pages: more than any patron document we have seen, less than a runaway print.
fn default_max_pages() -> u32 {
    100
}
/// SpamAssassin's own `required_score`.
fn default_spam_tag() -> f64 {
    5.0
}
/// Twice the tag score: only clear spam is refused in the session.
fn default_spam_reject() -> f64 {
    10.0
}
fn default_secret_file() -> PathBuf {
    PathBuf::from("data/secret.key")
}
/// 30 days: long enough to answer "why did my print not arrive last week", short enough
/// not to keep a patron's mail history.
fn default_trace_retention() -> Duration {
    Duration::from_secs(30 * 24 * 3600)
}
/// One year: lock-outs and console changes are what an incident review looks back on.
fn default_audit_retention() -> Duration {
    Duration::from_secs(365 * 24 * 3600)
}
/// Replies are in English unless a queue says otherwise.
fn default_language() -> String {
    crate::notify::Language::En.code().to_owned()
}
/// UTC: the one zone that is right for no library but wrong for none by surprise.
fn default_timezone() -> String {
    "UTC".to_owned()
}
fn default_library_name() -> String {
    "The library".to_owned()
}
fn default_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| serde::de::Error::custom(format!("invalid duration {text:?}: {e}")))
}

/// The rules an HTTP listener (`[api]`, `[admin]`) shares: certificate and key together and
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

/// One problem found in the configuration, naming the key it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub key: String,
    pub problem: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.problem)
    }
}

/// Why a configuration could not be loaded. Holds every problem found, not just the first.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("invalid configuration:\n{}", list(.0))]
    Invalid(Vec<ConfigIssue>),
}

fn list(issues: &[ConfigIssue]) -> String {
    issues.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n")
}

impl Config {
    /// Loads `path`, applies environment overrides from the process environment and validates.
    ///
    /// # Errors
    /// Every problem found, each naming its key.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::from_toml(&text, path, std::env::vars())
    }

    /// Parses `text` (from `path`, for messages) with the given environment.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn from_toml(text: &str, path: &Path, env: impl Iterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax { path: path.to_owned(), message: e.to_string() })?;
        let mut issues = apply_env_overrides(&mut table, env);
        let config = Sections { table, issues: &mut issues }.into_config();
        match config {
            Some(config) => {
                issues.extend(config.validate());
                if issues.is_empty() { Ok(config) } else { Err(ConfigError::Invalid(issues)) }
            }
            None => Err(ConfigError::Invalid(issues)),
        }
    }

    /// Checks values that only make sense together; returns every problem.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut push = |key: &str, problem: String| issues.push(ConfigIssue { key: key.into(), problem });
        let sites: HashSet<&str> = self.site.iter().map(|s| s.name.as_str()).collect();
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
        let mut addresses = HashSet::new();
        let mut names = HashSet::new();
        for (i, q) in self.queue.iter().enumerate() {
            let key = |k: &str| format!("queue[{i}].{k}");
            match q.address.split_once('@') {
                Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !local.contains('+') => {}
                Some((local, _)) if local.contains('+') => {
                    push(&key("address"), "must not contain '+': plus-addressing adds options to a queue address".into());
                }
                _ => push(&key("address"), format!("{:?} is not an email address", q.address)),
            }
            if q.name.is_empty() || !names.insert(q.name.as_str()) {
                push(&key("name"), format!("{:?} is empty or used by two queues", q.name));
            }
            if q.max_pages == 0 {
                push(&key("max_pages"), "must be at least 1".into());
            }
            if q.retention.is_zero() {
                push(&key("retention"), "must be longer than 0s".into());
            }
            if !addresses.insert(q.address.to_ascii_lowercase()) {
                push(&key("address"), format!("{:?} is used by two queues", q.address));
            }
            if !sites.contains(q.site.as_str()) {
                push(&key("site"), format!("no [[site]] named {:?}", q.site));
            }
            if q.spam_reject_score < q.spam_tag_score {
                push(&key("spam_reject_score"), "must not be below spam_tag_score".into());
            }
            for t in &q.allowed_types {
                if crate::intake::DocumentType::from_config_name(t).is_none() {
                    push(&key("allowed_types"), format!("unknown document type {t:?}"));
                }
            }
            // Language, zone and the queue's own templates (compiled and rendered on a sample).
            for (k, problem) in crate::notify::QueueReplies::load(q).err().unwrap_or_default() {
                push(&key(k), problem);
            }
            if let Some(before) = q.reminder_before.filter(|b| b.is_zero() || *b >= q.retention) {
                push(
                    &key("reminder_before"),
                    format!("{} must be longer than 0s and shorter than retention", humantime::format_duration(before)),
                );
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
        let mut scanners = vec![("scan.clamav.address".to_owned(), self.scan.clamav.address.clone())];
        match self.scan.spam() {
            Some(spam) => scanners.push((format!("{spam_key}.address"), spam.address.clone())),
            None => push(spam_key, format!("missing section [{spam_key}] for scan.spam_engine")),
        }
        for (key, addr) in scanners {
            if let Err(e) = crate::screen::Endpoint::parse(&addr) {
                push(&key, e);
            } else if key == "scan.rspamd.address" && addr.starts_with("unix:") {
                push(&key, "rspamd is reached over HTTP: use HOST:PORT of its normal worker".into());
            }
        }
        let db = &self.store.database_url;
        let sqlite_file = db.strip_prefix("sqlite://").is_some_and(|p| !p.is_empty() && !p.starts_with(":memory:"));
        if !(sqlite_file || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            push("store.database_url", "must be sqlite://PATH (a file) or postgres://…".into());
        }
        if let Err(e) = crate::store::blob::BlobUrl::parse(&self.store.blob_url) {
            push("store.blob_url", e);
        }
        if !(4..=12).contains(&self.store.code_digits) {
            push("store.code_digits", "must be between 4 and 12".into());
        }
        if let Err(e) = crate::notify::RelayUrl::parse(&self.relay.url) {
            push("relay.url", e);
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
            self.scan.spam().map_or("(missing)", |s| s.address.as_str())
        ));
        out.push_str(&format!("store: {} blobs {}\n", redact_url(&self.store.database_url), self.store.blob_url));
        out.push_str(&format!("relay: {} from {}\napi: {}\n", redact_url(&self.relay.url), self.relay.from, self.api.listen));
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

/// Deserializes the config one section (and one `[[queue]]`/`[[site]]` entry) at a time, so a
/// mistake in one section does not hide the mistakes in the others.
struct Sections<'a> {
    table: toml::Table,
    issues: &'a mut Vec<ConfigIssue>,
}

const SECTIONS: &[&str] = &["smtp", "queue", "site", "scan", "store", "spool", "relay", "api", "admin", "pipeline", "auth", "convert"];

impl Sections<'_> {
    fn into_config(mut self) -> Option<Config> {
        let unknown: Vec<String> = self.table.keys().filter(|k| !SECTIONS.contains(&k.as_str())).cloned().collect();
        for key in unknown {
            self.issues.push(ConfigIssue { key, problem: format!("unknown section or key (known: {})", SECTIONS.join(", ")) });
        }
        let smtp = self.required::<SmtpConfig>("smtp");
        let queue = self.list::<QueueConfig>("queue");
        let site = self.list::<SiteConfig>("site");
        let scan = self.required::<ScanConfig>("scan");
        let store = self.required::<StoreConfig>("store");
        let spool = self.optional::<SpoolConfig>("spool");
        let relay = self.required::<RelayConfig>("relay");
        let api = self.required::<ApiConfig>("api");
        let admin = self.optional::<AdminConfig>("admin");
        let pipeline = self.optional::<PipelineConfig>("pipeline");
        let auth = self.optional::<AuthConfig>("auth");
        let convert = self.optional::<ConvertConfig>("convert");
        Some(Config {
            smtp: smtp?,
            queue: queue?,
            site: site?,
            scan: scan?,
            store: store?,
            spool: spool?.unwrap_or_default(),
            relay: relay?,
            api: api?,
            admin: admin?,
            pipeline: pipeline?.unwrap_or_default(),
            auth: auth?.unwrap_or_default(),
            convert: convert?.unwrap_or_default(),
        })
    }

    fn parse<T: serde::de::DeserializeOwned>(&mut self, key: &str, value: toml::Value) -> Option<T> {
        match value.try_into::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.issues.push(ConfigIssue { key: key.to_owned(), problem: e.message().trim().to_owned() });
                None
            }
        }
    }

    fn required<T: serde::de::DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        match self.table.remove(key) {
            Some(v) => self.parse(key, v),
            None => {
                self.issues.push(ConfigIssue { key: key.to_owned(), problem: format!("missing section [{key}]") });
                None
            }
        }
    }

    /// `Some(None)` when absent, `None` when present but invalid.
    fn optional<T: serde::de::DeserializeOwned>(&mut self, key: &str) -> Option<Option<T>> {
        match self.table.remove(key) {
            Some(v) => self.parse(key, v).map(Some),
            None => Some(None),
        }
    }

    fn list<T: serde::de::DeserializeOwned>(&mut self, key: &str) -> Option<Vec<T>> {
        let Some(value) = self.table.remove(key) else { return Some(Vec::new()) };
        let toml::Value::Array(items) = value else {
            self.issues.push(ConfigIssue { key: key.to_owned(), problem: format!("must be a list of tables ([[{key}]])") });
            return None;
        };
        let parsed: Vec<Option<T>> = items.into_iter().enumerate().map(|(i, v)| self.parse(&format!("{key}[{i}]"), v)).collect();
        parsed.into_iter().collect()
    }
}

/// Applies `PRINTGATE_<SECTION>__<KEY>=VALUE` to the table. `SECTION` names nested tables joined
/// with `_` (`SCAN_CLAMAV` is `[scan.clamav]`). VALUE is read as a TOML value when it parses as
/// one (numbers, booleans, arrays), otherwise as a string.
fn apply_env_overrides(table: &mut toml::Table, env: impl Iterator<Item = (String, String)>) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let overrides: BTreeMap<String, String> = env.filter(|(k, _)| k.starts_with("PRINTGATE_") && k.contains("__")).collect();
    for (name, value) in overrides {
        let rest = &name["PRINTGATE_".len()..];
        let Some((section, key)) = rest.split_once("__") else { continue };
        let path: Vec<String> = section.split('_').map(str::to_ascii_lowercase).collect();
        match section_mut(table, &path) {
            Some(current) => {
                current.insert(key.to_ascii_lowercase(), parse_env_value(&value));
            }
            None => issues.push(ConfigIssue { key: name.clone(), problem: format!("[{}] is not a section", path.join(".")) }),
        }
    }
    issues
}

/// The table at `path`, created when missing; `None` if a non-table value is in the way.
fn section_mut<'a>(table: &'a mut toml::Table, path: &[String]) -> Option<&'a mut toml::Table> {
    let Some((first, rest)) = path.split_first() else { return Some(table) };
    let next = table.entry(first.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new())).as_table_mut()?;
    section_mut(next, rest)
}

fn parse_env_value(value: &str) -> toml::Value {
    format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()))
}

#[cfg(test)]
mod tests;

/// Queue settings an admin changed in the console. They live in the shared store and every node
/// applies them on top of its config file (`None` keeps the file's value).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct QueueOverride {
    pub queue: String,
    pub address: Option<String>,
    pub site: Option<String>,
    pub spam_tag_score: Option<f64>,
    pub spam_reject_score: Option<f64>,
    pub max_pages: Option<u32>,
    pub retention: Option<Duration>,
    pub color: Option<bool>,
    pub allowed_types: Option<Vec<String>>,
    pub updated_at: i64,
    pub updated_by: String,
}

impl QueueOverride {
    fn apply(&self, q: &mut QueueConfig) {
        if let Some(v) = &self.address {
            q.address.clone_from(v);
        }
        if let Some(v) = &self.site {
            q.site.clone_from(v);
        }
        if let Some(v) = self.spam_tag_score {
            q.spam_tag_score = v;
        }
        if let Some(v) = self.spam_reject_score {
            q.spam_reject_score = v;
        }
        if let Some(v) = self.max_pages {
            q.max_pages = v;
        }
        if let Some(v) = self.retention {
            q.retention = v;
        }
        if let Some(v) = self.color {
            q.color = v;
        }
        if let Some(v) = &self.allowed_types {
            q.allowed_types.clone_from(v);
        }
    }
}

impl Config {
    /// This configuration with the console's queue settings applied (settings for queues the
    /// file no longer has are ignored).
    pub fn with_overrides(&self, overrides: &[QueueOverride]) -> Self {
        let mut config = self.clone();
        for o in overrides {
            if let Some(q) = config.queue.iter_mut().find(|q| q.name == o.queue) {
                o.apply(q);
            }
        }
        config
    }
}
