//! The typed values of the configuration: each string form documented in `docs/config.md` is
//! parsed here, once, at load, and the stages receive the parsed value.
//!
//! Owns the value forms (scanner addresses, the blob and relay URLs, reply languages, time
//! zones, `allowed_types`, durations) and their error messages. It knows nothing of what the
//! stages do with them: connecting to a scanner lives in `screen`, opening the blob store in
//! `store`, the strings of a language in `notify`; those add their own `impl` blocks.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::doctype::DocumentType;

/// Where a daemon listens (`[scan.*] address`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Endpoint {
    Tcp(String),
    Unix(std::path::PathBuf),
}

impl Endpoint {
    /// Parses `HOST:PORT` or `unix:/path`.
    ///
    /// # Errors
    /// A message saying what form is expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs a socket path".into());
            }
            return Ok(Self::Unix(path.into()));
        }
        match text.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(Self::Tcp(text.to_owned())),
            _ => Err(format!("{text:?} is neither HOST:PORT nor unix:/path")),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(a) => f.write_str(a),
            Self::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// An endpoint equals the text it was written as.
impl PartialEq<&str> for Endpoint {
    fn eq(&self, other: &&str) -> bool {
        match self {
            Self::Tcp(address) => address == other,
            Self::Unix(path) => other.strip_prefix("unix:").is_some_and(|p| path.as_os_str() == p),
        }
    }
}

/// Where blobs live, parsed from `store.blob_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobUrl {
    /// `file:///abs/dir` or `file://relative/dir`.
    Local(std::path::PathBuf),
    /// `s3://bucket/prefix` (endpoint and credentials from `AWS_*`).
    S3 { bucket: String, prefix: String },
}

impl BlobUrl {
    /// # Errors
    /// A message saying which forms are accepted.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("file://") {
            if path.is_empty() {
                return Err("file:// needs a directory".into());
            }
            return Ok(Self::Local(path.into()));
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("s3:// needs a bucket name".into());
            }
            return Ok(Self::S3 { bucket: bucket.into(), prefix: prefix.trim_matches('/').into() });
        }
        Err(format!("{url:?} must be file:///DIR or s3://BUCKET/PREFIX"))
    }
}

/// The relay, parsed from `relay.url`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct RelayUrl {
    pub host: String,
    pub port: u16,
    pub implicit_tls: bool,
}

impl RelayUrl {
    /// # Errors
    /// A message naming the accepted forms.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (rest, implicit_tls, default_port) = if let Some(r) = url.strip_prefix("smtp://") {
            (r, false, 25)
        } else if let Some(r) = url.strip_prefix("smtps://") {
            (r, true, 465)
        } else {
            return Err(format!("{url:?} must be smtp://HOST:PORT or smtps://HOST:PORT"));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("bad port in {url:?}"))?),
            None => (rest, default_port),
        };
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        Ok(Self { host: host.to_owned(), port, implicit_tls })
    }
}

impl fmt::Display for RelayUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.implicit_tls { "smtps" } else { "smtp" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// A built-in reply language (`[[queue]] language`). Its words and templates are `notify`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum Language {
    /// Replies are in English unless a queue says otherwise.
    #[default]
    En,
    De,
}

impl Language {
    pub const ALL: [Self; 2] = [Self::En, Self::De];

    /// The config name (`language = "de"`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == name)
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
        }
    }

    /// [`Language::parse`] with the message a config error shows.
    ///
    /// # Errors
    /// The unknown name and the built-in ones.
    pub fn from_config(name: &str) -> Result<Self, String> {
        Self::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|l| l.code()).collect();
            format!("unknown language {name:?} (built in: {})", known.join(", "))
        })
    }
}

/// An IANA time zone (`[[queue]] timezone`), with the name it was given by.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Zone {
    name: String,
    zone: jiff::tz::TimeZone,
}

impl Zone {
    /// # Errors
    /// A message naming the zone when the database does not know it.
    pub fn parse(name: &str) -> Result<Self, String> {
        jiff::tz::TimeZone::get(name)
            .map(|zone| Self { name: name.to_owned(), zone })
            .map_err(|_| format!("unknown time zone {name:?} (an IANA name such as \"Europe/Berlin\", or \"UTC\")"))
    }

    /// UTC, the default: the one zone that is right for no library but wrong for none by surprise.
    pub fn utc() -> Self {
        Self { name: "UTC".to_owned(), zone: jiff::tz::TimeZone::UTC }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn time_zone(&self) -> &jiff::tz::TimeZone {
        &self.zone
    }
}

/// The document types a queue accepts (`allowed_types`): the names as written, and the types
/// they stand for with groups expanded, computed once. A name printgate does not know selects
/// nothing and is reported by validation ([`AllowedTypes::unknown`]).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "Vec<String>")]
pub struct AllowedTypes {
    names: Vec<String>,
    types: Vec<DocumentType>,
}

impl AllowedTypes {
    pub fn new(names: Vec<String>) -> Self {
        let types = names.iter().filter_map(|n| DocumentType::from_config_name(n)).flatten().collect();
        Self { names, types }
    }

    /// The names as configured (`pdf`, `images`, …).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Every type the names stand for.
    pub fn types(&self) -> &[DocumentType] {
        &self.types
    }

    /// Names that are no type or group printgate knows.
    pub fn unknown(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str).filter(|n| DocumentType::from_config_name(n).is_none())
    }
}

impl From<Vec<String>> for AllowedTypes {
    fn from(names: Vec<String>) -> Self {
        Self::new(names)
    }
}

/// Shown as the list of names, as written in the file.
impl fmt::Debug for AllowedTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.names.fmt(f)
    }
}

impl PartialEq<Vec<&str>> for AllowedTypes {
    fn eq(&self, other: &Vec<&str>) -> bool {
        self.names.iter().map(String::as_str).eq(other.iter().copied())
    }
}

macro_rules! from_string {
    ($($ty:ty => $parse:expr;)*) => {$(
        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                $parse(&text)
            }
        }
    )*};
}

from_string! {
    Endpoint => Endpoint::parse;
    RelayUrl => RelayUrl::parse;
    Language => Language::from_config;
    Zone => Zone::parse;
}

pub(super) fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    duration(d).map(Some)
}

pub(super) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

/// A duration as the config file and the admin console write it (`"72h"`, `"3d"`, `"1h 30m"`).
///
/// # Errors
/// A message quoting the text, with an example of the form.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("invalid duration {text:?}: write a number and a unit, such as 72h, 3d or 1h 30m ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_explains_bad_ones() {
        assert_eq!(Endpoint::parse("unix:/run/clamd.sock").unwrap(), Endpoint::Unix("/run/clamd.sock".into()));
        assert_eq!(Endpoint::parse("127.0.0.1:3310").unwrap(), Endpoint::Tcp("127.0.0.1:3310".into()));
        assert!(Endpoint::parse("localhost").unwrap_err().contains("HOST:PORT"));
        assert!(Endpoint::parse("unix:").is_err());
        assert!(Endpoint::parse("host:99999").is_err());
    }

    #[test]
    fn allowed_types_expand_groups_once_and_keep_unknown_names_for_validation() {
        let allowed = AllowedTypes::new(vec!["pdf".into(), "images".into(), "exe".into()]);
        assert_eq!(allowed.types().len(), 9);
        assert!(allowed.types().contains(&DocumentType::Png));
        assert_eq!(allowed.unknown().collect::<Vec<_>>(), ["exe"]);
        assert_eq!(format!("{allowed:?}"), r#"["pdf", "images", "exe"]"#);
    }
}
