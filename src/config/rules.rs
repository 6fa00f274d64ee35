//! The rules a queue's values must keep, in one place for the config file and the admin
//! console: [`Config::validate`] runs [`Config::queue_issues`] for every `[[queue]]` (so
//! `check-config` and `serve` refuse a file naming `queue[i].KEY`), and the console runs the
//! very same function on the configuration a queue form would produce before it saves anything.
//! [`Config::with_overrides`](super::Config::with_overrides) runs it again on every node before
//! a console setting is applied.
//!
//! Owns the bounds (the constants below, documented with their reasons in `docs/config.md`) and
//! the problems' wording, which is shown to operators in `check-config` and to librarians next
//! to a form field, so it speaks of values, not of code. The rules are pure: no file system, no
//! stage. Checks that read files (a queue's `templates`) stay in [`super::validate`].

use std::time::Duration;

use super::{Config, ConfigIssue};
use crate::doctype::DocumentType;

/// The highest spam line. SpamAssassin's rules add a few points each and ordinary spam scores
/// 5-30; rspamd's `reject` action defaults to 15. Only blocklist entries (100) and test mails
/// (GTUBE, 1000) score higher, so a line above 100 would switch spam refusal off by accident.
pub const SPAM_SCORE_MAX: f64 = 100.0;
/// The most pages a queue may allow: far above any document a patron mails, low enough that a
/// runaway (a spreadsheet rendering to 200 000 pages) is still refused.
pub const MAX_PAGES_LIMIT: u32 = 10_000;
/// The shortest retention: a patron needs time to walk to a release station.
pub const RETENTION_MIN: Duration = Duration::from_secs(3600);
/// The longest retention: patrons' documents are not kept longer than any pickup promise needs.
pub const RETENTION_MAX: Duration = Duration::from_secs(90 * 24 * 3600);
/// RFC 5321 4.5.3.1: a path holds at most 256 octets with its brackets, so 254 for the address.
pub const ADDRESS_MAX_CHARS: usize = 254;
/// RFC 5321 4.5.3.1.1: at most 64 octets before the `@`.
pub const LOCAL_PART_MAX_CHARS: usize = 64;
/// RFC 1035: at most 253 characters in a domain name, 63 in each label.
const DOMAIN_MAX_CHARS: usize = 253;
const LABEL_MAX_CHARS: usize = 63;

impl Config {
    /// Every problem of queue `i` (the key of each names the queue's field: `queue[2].max_pages`).
    /// Compares the queue with the others (addresses, names) and the sites; reads no file.
    pub fn queue_issues(&self, i: usize) -> Vec<ConfigIssue> {
        let Some(q) = self.queue.get(i) else { return Vec::new() };
        let mut issues = Vec::new();
        let mut push = |field: &str, problem: String| issues.push(ConfigIssue { key: format!("queue[{i}].{field}"), problem });
        let others = || self.queue.iter().enumerate().filter(move |(j, _)| *j != i);
        if let Some(problem) = address_problem(&q.address) {
            push("address", problem);
        } else if let Some((_, other)) = others().find(|(_, o)| o.address.eq_ignore_ascii_case(&q.address)) {
            push("address", format!("{} is already the address of queue {}", q.address, other.name));
        }
        if q.name.is_empty() || others().any(|(j, o)| j < i && o.name == q.name) {
            push("name", format!("{:?} is empty or used by two queues", q.name));
        }
        if !self.site.iter().any(|s| s.name == q.site) {
            let known: Vec<&str> = self.site.iter().map(|s| s.name.as_str()).collect();
            push("site", format!("there is no site named {:?} (sites: {})", q.site, known.join(", ")));
        }
        let (tag, reject) = spam_score_problems(q.spam_tag_score, q.spam_reject_score);
        tag.into_iter().for_each(|p| push("spam_tag_score", p));
        reject.into_iter().for_each(|p| push("spam_reject_score", p));
        if let Some(problem) = max_pages_problem(q.max_pages) {
            push("max_pages", problem);
        }
        if let Some(problem) = retention_problem(q.retention) {
            push("retention", problem);
        }
        if let Some(problem) = allowed_types_problem(q.allowed_types.names()) {
            push("allowed_types", problem);
        }
        if let Some(before) = q.reminder_before.filter(|b| b.is_zero() || *b >= q.retention) {
            push(
                "reminder_before",
                format!(
                    "{} must be longer than 0s and shorter than the retention ({})",
                    humantime::format_duration(before),
                    humantime::format_duration(q.retention)
                ),
            );
        }
        for (field, problem) in sender_policy_problems(q) {
            push(field, problem);
        }
        issues
    }
}

/// The most a daily page cap may be: a queue printing more a day needs no cap.
pub const DAILY_PAGES_MAX: u32 = 1_000_000;
/// The longest a verified sender stays verified: ten years.
pub const VERIFIED_DAYS_MAX: u32 = 3650;

/// The sender policy's problems, as `(field, problem)`: caps are whole pages from 1 (leave a
/// cap out for none), a verification lasts 1 day to 10 years, and verifying new senders needs
/// replies (it is one).
fn sender_policy_problems(q: &super::QueueConfig) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    for (field, cap) in [
        ("daily_pages", q.daily_pages),
        ("daily_color_pages", q.daily_color_pages),
        ("guest_daily_pages", q.guest_daily_pages),
        ("queue_daily_pages", q.queue_daily_pages),
    ] {
        if let Some(cap) = cap.filter(|c| !(1..=DAILY_PAGES_MAX).contains(c)) {
            problems.push((field, format!("{cap} is not a page cap: give 1 to {DAILY_PAGES_MAX} pages, or leave it out for no cap")));
        }
    }
    if !(1..=VERIFIED_DAYS_MAX).contains(&q.verified_sender_days) {
        problems.push(("verified_sender_days", format!("{} must be 1 to {VERIFIED_DAYS_MAX} days", q.verified_sender_days)));
    }
    if q.verify_new_senders && q.reply_policy == super::ReplyPolicy::Never {
        problems.push(("verify_new_senders", "needs replies: the verification is a reply, and reply_policy is \"never\"".into()));
    }
    problems
}

/// Why `address` cannot be a print address, if it cannot: `LOCAL@DOMAIN` in ASCII (printgate's
/// SMTP server does not offer SMTPUTF8), at most 254 characters, a dot-atom local part of at
/// most 64 without `+` (plus-addressing adds print options), and a domain of at least two
/// labels of letters, digits and inner hyphens.
pub fn address_problem(address: &str) -> Option<String> {
    let shown =
        || if address.chars().count() > 60 { format!("{}…", address.chars().take(60).collect::<String>()) } else { address.to_owned() };
    if address.chars().count() > ADDRESS_MAX_CHARS {
        return Some(format!("is {} characters long; an address has at most {ADDRESS_MAX_CHARS}", address.chars().count()));
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Some(format!("{} is not an email address (name@domain)", shown()));
    };
    if local.contains('+') {
        return Some("must not contain '+': plus-addressing adds print options to a queue address".into());
    }
    if !dot_atom(local) || local.len() > LOCAL_PART_MAX_CHARS || !domain_name(domain) {
        return Some(format!("{} is not an email address (name@domain)", shown()));
    }
    None
}

/// RFC 5322 dot-atom: atext characters, dots only between them.
fn dot_atom(text: &str) -> bool {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*/=?^_`{|}~-".contains(c);
    !text.is_empty() && text.split('.').all(|part| !part.is_empty() && part.chars().all(atext))
}

fn domain_name(domain: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= LABEL_MAX_CHARS
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    domain.len() <= DOMAIN_MAX_CHARS && domain.split('.').count() >= 2 && domain.split('.').all(label)
}

/// The problems of a queue's spam lines, `(tag, reject)`. Both must be numbers above 0 and at
/// most [`SPAM_SCORE_MAX`], and reject strictly above tag. A line at or below 0 catches
/// ordinary mail: SpamAssassin scores most clean mail about 0, often a little below.
pub fn spam_score_problems(tag: f64, reject: f64) -> (Option<String>, Option<String>) {
    let own = |score: f64| {
        if !score.is_finite() {
            Some("must be a number".to_owned())
        } else if score <= 0.0 {
            Some(format!("{score} catches ordinary mail: clean mail scores about 0, so the line must be above 0"))
        } else if score > SPAM_SCORE_MAX {
            Some(format!("{score} is above {SPAM_SCORE_MAX}: only blocklisted and test mail scores that high"))
        } else {
            None
        }
    };
    let tag_problem = own(tag);
    let reject_problem = own(reject)
        .or_else(|| (reject <= tag).then(|| format!("must be above the spam tag score ({tag}): mail is tagged before it is refused")));
    (tag_problem, reject_problem)
}

/// `max_pages` is 1 to [`MAX_PAGES_LIMIT`].
pub fn max_pages_problem(pages: u32) -> Option<String> {
    match pages {
        0 => Some("must be at least 1: with 0 every document is refused".into()),
        p if p > MAX_PAGES_LIMIT => Some(format!("{p} is more than the most allowed, {MAX_PAGES_LIMIT}")),
        _ => None,
    }
}

/// `retention` is [`RETENTION_MIN`] to [`RETENTION_MAX`].
pub fn retention_problem(retention: Duration) -> Option<String> {
    let shown = humantime::format_duration(retention);
    if retention < RETENTION_MIN {
        Some(format!("{shown} is too short: at least 1 hour, so that a patron can reach a release station"))
    } else if retention > RETENTION_MAX {
        Some(format!("{shown} is too long: at most 90 days"))
    } else {
        None
    }
}

/// `allowed_types` names at least one type, and only types and groups printgate knows.
pub fn allowed_types_problem(names: &[String]) -> Option<String> {
    let unknown: Vec<&str> = names.iter().map(String::as_str).filter(|n| DocumentType::from_config_name(n).is_none()).collect();
    if names.is_empty() {
        Some("must name at least one type: with none every document is refused".into())
    } else if !unknown.is_empty() {
        let quoted: Vec<String> = unknown.iter().map(|n| format!("{n:?}")).collect();
        Some(format!("unknown document type {} (known: {})", quoted.join(", "), KNOWN_TYPE_NAMES.join(", ")))
    } else {
        None
    }
}

/// The names `allowed_types` accepts: the groups, then each type (`text` is a group: plain
/// text and HTML). Shown when a name is unknown; every one is checked against
/// [`DocumentType::from_config_name`] by the tests.
pub const KNOWN_TYPE_NAMES: [&str; 23] = [
    "images", "office", "text", "pdf", "jpeg", "png", "gif", "tiff", "bmp", "webp", "heic", "avif", "html", "rtf", "docx", "xlsx", "pptx",
    "doc", "xls", "ppt", "odt", "ods", "odp",
];

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
