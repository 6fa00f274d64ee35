//! The upload form's decisions, as pure functions over plain values: which queues are offered,
//! how large an upload may be, whether an email address is usable, and how the patron's
//! copies / duplex / colour choices become the print options of the message (the subject's
//! option list that `intake::options` reads for mail too).

use crate::config::{Config, QueueConfig};
use crate::intake::options::MAX_COPIES;

/// A queue the form offers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OfferedQueue {
    pub name: String,
    pub address: String,
    pub color: bool,
}

/// The queues with `web_upload = true`, in the config's order.
pub fn offered_queues(config: &Config) -> Vec<OfferedQueue> {
    config
        .queue
        .iter()
        .filter(|q| q.web_upload)
        .map(|q| OfferedQueue { name: q.name.clone(), address: q.address.clone(), color: q.color })
        .collect()
}

/// The queue named `name` if the form offers it.
pub fn offered<'a>(config: &'a Config, name: &str) -> Option<&'a QueueConfig> {
    config.queue.iter().find(|q| q.web_upload && q.name == name)
}

/// Room for the form's text fields and the multipart boundaries around the files.
pub const FORM_OVERHEAD: u64 = 64 * 1024;

/// The largest request body read: the files may together be as large as a mail may be
/// (`smtp.max_message_bytes`), plus the form around them. Reading stops there.
pub fn body_limit(max_message_bytes: usize) -> u64 {
    max_message_bytes as u64 + FORM_OVERHEAD
}

/// Whether a declared `Content-Length` is over the limit (then nothing is read at all).
pub fn declared_too_large(content_length: Option<u64>, max_message_bytes: usize) -> bool {
    content_length.is_some_and(|n| n > body_limit(max_message_bytes))
}

/// An email address a reply can go to: one `@`, a local part and a dotted domain, no spaces,
/// brackets or quotes, at most 254 characters (RFC 5321's path limit).
pub fn usable_email(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else { return false };
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic() && !"<>()[]\\,;:\"@".contains(c));
    address.len() <= 254
        && local.len() <= 64
        && plain(local)
        && plain(domain)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// What the patron chose for the documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choices {
    pub copies: u32,
    pub duplex: bool,
    /// `None`: the queue decides (a mono queue always prints black and white).
    pub color: Option<bool>,
}

/// A form field that cannot be used, named by the word key of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Email,
    Queue,
    Copies,
    Duplex,
    Color,
    NoFile,
    TooManyFiles,
}

impl Problem {
    /// The key of the message in `templates/upload/<lang>.toml`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Email => "problem_email",
            Self::Queue => "problem_queue",
            Self::Copies => "problem_copies",
            Self::Duplex => "problem_duplex",
            Self::Color => "problem_color",
            Self::NoFile => "problem_no_file",
            Self::TooManyFiles => "problem_too_many_files",
        }
    }
}

/// Reads `copies` (empty: 1), `duplex` (a checkbox: absent, `on`, `yes`, `1`, or `simplex`/`no`)
/// and `color` (`color`/`colour`, `mono`/`bw`, empty: the queue decides; only on a colour
/// queue, a mono queue ignores it).
///
/// # Errors
/// The first field that cannot be read.
pub fn parse_choices(copies: &str, duplex: &str, color: &str, queue_color: bool) -> Result<Choices, Problem> {
    let copies = match copies.trim() {
        "" => 1,
        n => n.parse::<u32>().ok().filter(|n| (1..=MAX_COPIES).contains(n)).ok_or(Problem::Copies)?,
    };
    let duplex = match duplex.trim().to_ascii_lowercase().as_str() {
        "" | "no" | "off" | "0" | "false" | "simplex" => false,
        "on" | "yes" | "1" | "true" | "duplex" => true,
        _ => return Err(Problem::Duplex),
    };
    let color = match (queue_color, color.trim().to_ascii_lowercase().as_str()) {
        (false, _) | (true, "") => None,
        (true, "color" | "colour") => Some(true),
        (true, "mono" | "bw") => Some(false),
        (true, _) => return Err(Problem::Color),
    };
    Ok(Choices { copies, duplex, color })
}

/// The subject of the message: its option list in the form `intake::options` reads from mail.
pub fn subject(choices: Choices) -> String {
    let mut words = Vec::new();
    if choices.copies > 1 {
        words.push(format!("copies={}", choices.copies));
    }
    if choices.duplex {
        words.push("duplex".to_owned());
    }
    match choices.color {
        Some(true) => words.push("color".to_owned()),
        Some(false) => words.push("mono".to_owned()),
        None => {}
    }
    if words.is_empty() { "Web upload".to_owned() } else { format!("Web upload [{}]", words.join(", ")) }
}

/// The spool (and trace) id of an upload whose results page is `/upload/{results_id}`: a hash
/// of the page's random id, so the page needs no table of its own, and nobody who sees the
/// trace id (an admin, a log) can work out the page's address.
pub fn spool_id(results_id: &str) -> String {
    let digest = crate::crypto::sha256(format!("printgate web upload v1\0{results_id}").as_bytes());
    hex::encode(&digest[..16])
}

/// A results id as the form makes them: 32 lower-case hex digits (128 random bits).
pub fn is_results_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
#[path = "choices_tests.rs"]
mod tests;
