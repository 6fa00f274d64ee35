//! The queue form's decision, as a pure function ([`check`]): the text a librarian typed is
//! parsed field by field, then the queue it asks for is put into the configuration and checked
//! with the config file's own queue rules ([`Config::queue_issues`]). The answer is the wanted
//! queue, or every problem under the form field it belongs to. Nothing is stored here.
//!
//! A field the form does not send keeps the queue's value in effect (a browser sends every
//! field but an unticked checkbox, which means "no").

use std::collections::{BTreeMap, HashMap};

use crate::config::values::parse_duration;
use crate::config::{AllowedTypes, Config, QueueConfig, QueueOverride, SenderPattern};

/// Problems by form field (`spam_reject_score`); [`GENERAL`] for those of no field.
pub type Problems = BTreeMap<String, String>;

/// The key of a problem that belongs to no field of the form.
pub const GENERAL: &str = "queue";

/// The queue `file.queue[index]` as the form asks for it (on top of the console settings
/// `overrides` in effect), or the problems.
///
/// # Errors
/// Every problem, by field: a value that does not parse, then the queue rules.
pub fn check(file: &Config, overrides: &[QueueOverride], index: usize, form: &HashMap<String, String>) -> Result<QueueConfig, Problems> {
    let others: Vec<QueueOverride> = overrides.iter().filter(|o| o.queue != file.queue[index].name).cloned().collect();
    let mut config = file.with_overrides(&others);
    let current = file.with_overrides(overrides).queue[index].clone();
    let (wanted, mut problems) = parse(&current, form);
    config.queue[index] = wanted.clone();
    let prefix = format!("queue[{index}].");
    for issue in config.queue_issues(index) {
        let field = match issue.key.strip_prefix(&prefix) {
            // The one rule between an edited and a file-only field: the reminder must come
            // before the jobs expire.
            Some("reminder_before") => "retention",
            Some(field) if crate::config::overrides::FIELDS.contains(&field) => field,
            _ => GENERAL,
        };
        problems.entry(field.to_owned()).or_insert(issue.problem);
    }
    if problems.is_empty() { Ok(wanted) } else { Err(problems) }
}

/// The typed values over `current`, and the problems of those that do not parse. A value that
/// does not parse is replaced by a stand-in that no rule between fields can trip over (NaN for
/// a score: no comparison with it holds), so that the rules still check the other fields.
fn parse(current: &QueueConfig, form: &HashMap<String, String>) -> (QueueConfig, Problems) {
    let mut q = current.clone();
    let mut problems = Problems::new();
    let mut problem = |field: &str, text: String| {
        problems.insert(field.to_owned(), text);
    };
    let field = |name: &str| form.get(name).map(|v| v.trim());
    if let Some(address) = field("address") {
        q.address = address.to_lowercase();
        if address.is_empty() {
            problem("address", "enter the address patrons mail to, such as bw@print.example.org".into());
        }
    }
    if let Some(site) = field("site") {
        q.site = site.to_owned();
    }
    for (name, slot) in [("spam_tag_score", &mut q.spam_tag_score), ("spam_reject_score", &mut q.spam_reject_score)] {
        if let Some(text) = field(name) {
            *slot = score(text).unwrap_or_else(|p| {
                problem(name, p);
                f64::NAN
            });
        }
    }
    if let Some(text) = field("max_pages") {
        match whole_number(text) {
            Ok(pages) => q.max_pages = pages,
            Err(p) => problem("max_pages", p),
        }
    }
    if let Some(text) = field("retention") {
        match parse_duration(text) {
            Ok(retention) => q.retention = retention,
            Err(_) => {
                problem("retention", format!("{text:?} is not a length of time: write a number and a unit, such as 72h, 3d or 1h 30m"))
            }
        }
    }
    q.color = field("color").is_some_and(|v| !v.is_empty());
    if let Some(text) = field("allowed_types") {
        let names = text.split([',', ' ']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
        q.allowed_types = AllowedTypes::new(names);
    }
    for (name, slot) in [("allow_senders", &mut q.allow_senders), ("deny_senders", &mut q.deny_senders)] {
        if let Some(text) = field(name) {
            match sender_list(text) {
                Ok(list) => *slot = list,
                Err(p) => problem(name, p),
            }
        }
    }
    // A form that shows the checkbox says so (a hidden `…_present`): other forms posting to
    // this one (the tuning page's "apply") keep the value.
    if field("verify_new_senders_present").is_some() {
        q.verify_new_senders = field("verify_new_senders").is_some_and(|v| !v.is_empty());
    }
    if let Some(text) = field("verified_sender_days") {
        match whole_number(text) {
            Ok(days) => q.verified_sender_days = days,
            Err(p) => problem("verified_sender_days", p),
        }
    }
    for (name, slot) in [
        ("daily_pages", &mut q.daily_pages),
        ("daily_color_pages", &mut q.daily_color_pages),
        ("guest_daily_pages", &mut q.guest_daily_pages),
        ("queue_daily_pages", &mut q.queue_daily_pages),
    ] {
        match field(name) {
            Some("") => *slot = None,
            Some(text) => match whole_number(text) {
                Ok(cap) => *slot = Some(cap),
                Err(p) => problem(name, format!("{p}, or leave it empty for no cap")),
            },
            None => {}
        }
    }
    (q, problems)
}

/// A sender list as typed: patterns separated by commas, spaces or new lines.
fn sender_list(text: &str) -> Result<Vec<SenderPattern>, String> {
    let mut list = Vec::new();
    for entry in text.split([',', ' ', '\n', '\r', '\t']).filter(|e| !e.is_empty()) {
        list.push(SenderPattern::parse(entry)?);
    }
    Ok(list)
}

/// A spam score as people write it: digits with an optional sign and decimal point (`7.5`);
/// not `NaN`, `inf`, `1e3` or `7,5`.
fn score(text: &str) -> Result<f64, String> {
    let plain = !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || "+-.".contains(c));
    plain
        .then(|| text.parse::<f64>().ok())
        .flatten()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{:?} is not a number: write it with digits and a decimal point, such as 7.5", short(text)))
}

/// A count of pages: digits only. One too large for any count is kept as the largest, so that
/// the rule names the limit.
fn whole_number(text: &str) -> Result<u32, String> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("{:?} is not a whole number: write digits only, such as 100", short(text)));
    }
    Ok(text.parse::<u32>().unwrap_or(u32::MAX))
}

/// At most 40 characters of a typed value for a message (the field itself keeps all of it).
fn short(text: &str) -> String {
    if text.chars().count() > 40 { format!("{}…", text.chars().take(40).collect::<String>()) } else { text.to_owned() }
}

#[cfg(test)]
#[path = "queue_form_tests.rs"]
mod tests;
