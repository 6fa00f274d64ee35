//! The default of every key that has one: serde needs a function per default. Each returns
//! the named constant of `config` or says why its value was chosen.

use std::path::PathBuf;
use std::time::Duration;

use super::values::AllowedTypes;
use super::*;

/// serde needs a function per default; each returns the named constant above.
macro_rules! defaults {
    ($($name:ident -> $ty:ty = $value:expr;)*) => { $(pub(super) fn $name() -> $ty { $value })* };
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
pub(super) fn default_max_messages_per_sender() -> usize {
    60
}
/// A whole university domain: generous, but bounds a compromised domain's flood.
pub(super) fn default_max_messages_per_domain() -> usize {
    600
}
/// Every kind printgate converts (the groups cover every type; see `DocumentType::from_config_name`):
/// a queue configured without the key should not surprise its patrons by refusing Word files.
pub(super) fn default_allowed_types() -> AllowedTypes {
    AllowedTypes::new(["pdf", "images", "text", "office"].map(str::to_owned).to_vec())
}
/// A year: a patron verifies once per academic year at most.
pub(super) fn default_verified_sender_days() -> u32 {
    365
}
/// 100 pages: more than any patron document we have seen, less than a runaway print.
pub(super) fn default_max_pages() -> u32 {
    100
}
/// SpamAssassin's own `required_score`.
pub(super) fn default_spam_tag() -> f64 {
    5.0
}
/// Twice the tag score: only clear spam is refused in the session.
pub(super) fn default_spam_reject() -> f64 {
    10.0
}
pub(super) fn default_secret_file() -> PathBuf {
    PathBuf::from("data/secret.key")
}
/// 30 days: long enough to answer "why did my print not arrive last week", short enough
/// not to keep a patron's mail history.
pub(super) fn default_trace_retention() -> Duration {
    Duration::from_secs(30 * 24 * 3600)
}
/// One year: lock-outs and console changes are what an incident review looks back on.
pub(super) fn default_audit_retention() -> Duration {
    Duration::from_secs(365 * 24 * 3600)
}
pub(super) fn default_library_name() -> String {
    "The library".to_owned()
}
pub(super) fn default_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}
