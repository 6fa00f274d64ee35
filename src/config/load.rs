//! Loading: the TOML text, `PRINTGATE_<SECTION>__<KEY>` environment overrides, typed values,
//! then deserialization one section at a time, then [`Config::validate`]. Every problem is
//! collected as a [`ConfigIssue`] naming its key.
//!
//! Owns reading the file and the error types. Imports no stage (see `config`'s module doc).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::values::{Endpoint, Language, RelayUrl, Zone};
use super::*;

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
        Self::load_with(path, &|_| Vec::new())
    }

    /// [`Config::load`], with `later`: checks that need a stage's machinery (compiling a
    /// queue's reply templates), passed in by a caller above that stage so that this module
    /// imports none. Their issues join the others; a key already reported is not repeated.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn load_with(path: &Path, later: &dyn Fn(&Config) -> Vec<ConfigIssue>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::from_toml_with(&text, path, std::env::vars(), later)
    }

    /// Parses `text` (from `path`, for messages) with the given environment.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn from_toml(text: &str, path: &Path, env: impl Iterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        Self::from_toml_with(text, path, env, &|_| Vec::new())
    }

    /// [`Config::from_toml`] with the `later` checks of [`Config::load_with`].
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn from_toml_with(
        text: &str,
        path: &Path,
        env: impl Iterator<Item = (String, String)>,
        later: &dyn Fn(&Config) -> Vec<ConfigIssue>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax { path: path.to_owned(), message: e.to_string() })?;
        let mut issues = apply_env_overrides(&mut table, env);
        check_typed_values(&mut table, &mut issues);
        let config = Sections { table, issues: &mut issues }.into_config();
        match config {
            Some(config) => {
                issues.extend(config.validate());
                for issue in later(&config) {
                    if !issues.iter().any(|i| i.key == issue.key) {
                        issues.push(issue);
                    }
                }
                if issues.is_empty() { Ok(config) } else { Err(ConfigError::Invalid(issues)) }
            }
            None => Err(ConfigError::Invalid(issues)),
        }
    }
}

/// Checks one typed value's text.
type Check = fn(&str) -> Result<(), String>;

/// Keys whose text is parsed into a typed value ([`super::values`]): table (`queue[]` for every
/// entry of the list), key, check, and a stand-in that parses.
const TYPED_KEYS: &[(&str, &str, Check, &str)] = &[
    ("scan.clamav", "address", |t| Endpoint::parse(t).map(drop), "unix:/stand-in"),
    ("scan.spamassassin", "address", |t| Endpoint::parse(t).map(drop), "unix:/stand-in"),
    ("scan.rspamd", "address", |t| Endpoint::parse(t).map(drop), "stand-in:1"),
    ("relay", "url", |t| RelayUrl::parse(t).map(drop), "smtp://stand-in"),
    ("queue[]", "language", |t| Language::from_config(t).map(drop), "en"),
    ("queue[]", "timezone", |t| Zone::parse(t).map(drop), "UTC"),
    ("mailbox[]", "url", |t| super::MailboxUrl::parse(t).map(drop), "imap://127.0.0.1/INBOX"),
];

/// Reports a typed value that does not parse under its own key (`queue[0].language`) and puts
/// the stand-in in its place, so the rest of its section is still deserialized and checked:
/// the operator sees every mistake at once. The stand-in never reaches a stage, since a config
/// with any issue is refused.
fn check_typed_values(table: &mut toml::Table, issues: &mut Vec<ConfigIssue>) {
    for (path, key, check, stand_in) in TYPED_KEYS {
        for (prefix, section) in tables_at(table, path) {
            let Some(toml::Value::String(text)) = section.get(*key) else { continue };
            if let Err(problem) = check(text) {
                issues.push(ConfigIssue { key: format!("{prefix}.{key}"), problem });
                section.insert((*key).to_owned(), toml::Value::String((*stand_in).to_owned()));
            }
        }
    }
}

/// The tables at `path` (`scan.clamav`, or `queue[]` for each entry), each with its key prefix.
fn tables_at<'a>(table: &'a mut toml::Table, path: &str) -> Vec<(String, &'a mut toml::Table)> {
    if let Some(list) = path.strip_suffix("[]") {
        let Some(toml::Value::Array(items)) = table.get_mut(list) else { return Vec::new() };
        return items.iter_mut().enumerate().filter_map(|(i, v)| Some((format!("{list}[{i}]"), v.as_table_mut()?))).collect();
    }
    let mut current = table;
    for part in path.split('.') {
        match current.get_mut(part).and_then(toml::Value::as_table_mut) {
            Some(next) => current = next,
            None => return Vec::new(),
        }
    }
    vec![(path.to_owned(), current)]
}

/// Deserializes the config one section (and one `[[queue]]`/`[[site]]` entry) at a time, so a
/// mistake in one section does not hide the mistakes in the others.
struct Sections<'a> {
    table: toml::Table,
    issues: &'a mut Vec<ConfigIssue>,
}

const SECTIONS: &[&str] =
    &["smtp", "queue", "site", "scan", "store", "spool", "relay", "api", "admin", "web", "pipeline", "auth", "convert", "mailbox"];

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
        let web = self.optional::<WebConfig>("web");
        let pipeline = self.optional::<PipelineConfig>("pipeline");
        let auth = self.optional::<AuthConfig>("auth");
        let convert = self.optional::<ConvertConfig>("convert");
        let mailbox = self.list::<super::MailboxConfig>("mailbox");
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
            web: web?,
            pipeline: pipeline?.unwrap_or_default(),
            auth: auth?.unwrap_or_default(),
            convert: convert?.unwrap_or_default(),
            mailbox: mailbox?,
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
