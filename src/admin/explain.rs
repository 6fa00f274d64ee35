//! The message trace in words: each stage a message went through (connection, sender, virus
//! scan, spam score, each document, the SMTP answer, each reply) as one [`Stage`] with a
//! [`Verdict`] and a plain sentence a librarian understands. `/trace/{id}` shows them above the
//! raw facts ([`super::trace`]).
//!
//! Pure: a function of the stored trace, the queue's live settings, the reply records and the
//! queue's time zone. It reads no clock, store or configuration of its own. The sentences read
//! the trace's own strings as [`crate::inbound`], [`crate::pipeline`] and
//! [`crate::screen::auth`] write them; what happened is taken from the trace (the outcome and
//! the SMTP reply), the queue's spam limits from its settings now.

mod auth;

use super::trace::ordinal;
use super::{count, size, zones};
use crate::config::{QueueConfig, Zone};
use crate::store::admin::ReplyAttempts;
use crate::store::trace::{Trace, TraceDocument};

/// How a stage went, as a word and a marker (never by colour alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Warning,
    Refused,
    Info,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warning => "warning",
            Self::Refused => "refused",
            Self::Info => "info",
        }
    }

    /// A sign shown before the word (hidden from screen readers, which read the word).
    pub fn marker(self) -> &'static str {
        match self {
            Self::Pass => "✓",
            Self::Warning => "!",
            Self::Refused => "✗",
            Self::Info => "i",
        }
    }
}

/// One stage of a message's way, in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    pub verdict: Verdict,
    pub sentence: String,
}

impl Stage {
    fn new(name: &str, verdict: Verdict, sentence: &str) -> Self {
        Self { name: name.to_owned(), verdict, sentence: sentence.to_owned() }
    }
}

/// What the sentences need besides the trace.
pub struct Setting<'a> {
    /// The message's queue as configured now; `None` when it is no longer configured.
    pub queue: Option<&'a QueueConfig>,
    /// The spam filter's name ([`crate::screen::SPAMASSASSIN`] or [`crate::screen::RSPAMD`]).
    pub spam_filter: &'a str,
    /// The zone times are written in (the queue's).
    pub zone: &'a Zone,
}

/// Every stage of `t`, in the order the message went through them.
pub fn stages(t: &Trace, setting: &Setting<'_>, replies: &[ReplyAttempts]) -> Vec<Stage> {
    let mut stages = vec![connection(t, setting.zone), auth::stage(&t.auth, &t.grade, &t.outcome, &t.reply), virus(t), spam(t, setting)];
    stages.extend(documents(t));
    stages.push(answer(t));
    stages.extend(reply_stages(t, replies, setting.zone));
    stages
}

fn connection(t: &Trace, zone: &Zone) -> Stage {
    let helo =
        if t.helo.is_empty() { "which did not introduce itself".to_owned() } else { format!("which introduced itself as {}", t.helo) };
    let channel = if t.tls { "over an encrypted connection (TLS)" } else { "over a connection that was not encrypted" };
    let sentence = format!(
        "It arrived at {} for the queue {}: {} from {}, {helo}, {channel}.",
        zones::when(t.received_at, zone),
        t.queue,
        size(t.size),
        t.client_ip
    );
    Stage::new("Connection", Verdict::Info, &sentence)
}

/// The consequence of a scanner that did not answer, for a mail that was put off.
fn put_off_clause(t: &Trace) -> &'static str {
    if t.outcome == "tempfail" { ", so the mail was not accepted unchecked: the sending server was asked to try again later." } else { "." }
}

fn virus(t: &Trace) -> Stage {
    let name = "Virus scan";
    match t.virus.as_str() {
        "" => Stage::new(name, Verdict::Pass, "The virus scanner found no virus."),
        "too large to scan" => {
            Stage::new(name, Verdict::Refused, "The mail is larger than the virus scanner can check, so it was refused unscanned.")
        }
        other => match other.strip_prefix("error: ") {
            Some(error) => {
                Stage::new(name, Verdict::Warning, &format!("The virus scanner could not check the mail ({error}){}", put_off_clause(t)))
            }
            None => {
                Stage::new(name, Verdict::Refused, &format!("The virus scanner found the virus “{other}” in the mail, so it was refused."))
            }
        },
    }
}

fn spam(t: &Trace, setting: &Setting<'_>) -> Stage {
    let name = "Spam score";
    let filter = setting.spam_filter;
    let Some(score) = t.spam_score else {
        return match t.spam_rules.strip_prefix("error: ") {
            Some(error) => Stage::new(name, Verdict::Warning, &format!("{filter} could not score the mail ({error}){}", put_off_clause(t))),
            None => Stage::new(name, Verdict::Info, "The mail was not scored for spam."),
        };
    };
    let partial = if t.spam_rules.starts_with("(headers and text parts only)") {
        " for its headers and text (the mail is larger than the filter scores whole)"
    } else {
        ""
    };
    let gave = format!("{filter} gave {score:.1} points{partial}");
    let Some(q) = setting.queue else {
        return Stage::new(
            name,
            Verdict::Info,
            &format!("{gave}; the queue {} is no longer configured, so its limits are unknown.", t.queue),
        );
    };
    let (tag, reject) = (q.spam_tag_score, q.spam_reject_score);
    let (verdict, then) = spam_consequence(score, tag, reject, &t.outcome, t.reply.contains("refused as spam"));
    Stage::new(name, verdict, &format!("{gave}; the queue marks mail as spam from {tag} points and refuses it from {reject}, so {then}."))
}

/// What a score meant, given the limits now and what happened when the mail arrived.
fn spam_consequence(score: f64, tag: f64, reject: f64, outcome: &str, refused_as_spam: bool) -> (Verdict, &'static str) {
    let accepted = outcome == "accepted";
    match (refused_as_spam, score >= reject, score >= tag) {
        (true, true, _) => (Verdict::Refused, "it was refused as spam"),
        (true, false, _) => (
            Verdict::Refused,
            "it would pass now, but it was refused as spam when it arrived (the limits were lower, or the filter itself said to refuse it)",
        ),
        (false, true, _) if accepted => {
            (Verdict::Warning, "it would be refused now, but it was accepted when it arrived (the limits were higher then)")
        }
        (false, true, _) => (Verdict::Refused, "its score alone would have it refused"),
        (false, false, true) if accepted => (Verdict::Warning, "it was accepted and marked as spam"),
        (false, false, true) => (Verdict::Warning, "it counts as spam, though not enough to be refused"),
        (false, false, false) => (Verdict::Pass, "it does not count as spam"),
    }
}

fn documents(t: &Trace) -> Vec<Stage> {
    if t.documents.is_empty() {
        return vec![Stage::new("Documents", Verdict::Info, "The mail carried nothing to print.")];
    }
    t.documents.iter().map(|d| document(d, t.outcome == "accepted")).collect()
}

/// One document's fate (see [`TraceDocument::outcome`]); `accepted`: the mail as a whole was.
fn document(d: &TraceDocument, accepted: bool) -> Stage {
    let kind = if d.kind.is_empty() { String::new() } else { format!("{}, ", d.kind) };
    let what = format!("“{}” ({kind}{})", d.name, size(d.bytes as i64));
    let (verdict, sentence) = match d.outcome.as_str() {
        "stored" => (Verdict::Pass, format!("{what} was converted and stored for printing: {}.", count(i64::from(d.pages), "page"))),
        "printable" if accepted => (Verdict::Info, format!("{what} passed the checks and waits to be converted for printing.")),
        "printable" => (Verdict::Info, format!("{what} could be printed, but the mail was not accepted.")),
        "refused: not printable" if !accepted => (Verdict::Info, format!("{what} was not looked at further: the mail was not accepted.")),
        "refused: not processed" => (Verdict::Refused, format!("{what} was not converted: its processing did not finish.")),
        "skipped: inline image" => {
            (Verdict::Info, format!("{what} was left out: it is a picture inside the mail's text, not an attachment."))
        }
        "skipped: signature or tracking image" => {
            (Verdict::Info, format!("{what} was left out: it is a signature logo or a tracking image."))
        }
        other => match (other.strip_prefix("skipped: "), other.strip_prefix("refused: ")) {
            (Some(why), _) => (Verdict::Info, format!("{what} was left out: {why}.")),
            (_, Some(why)) => (Verdict::Refused, format!("{what} was not printed: {}.", why.trim_end_matches('.'))),
            _ => (Verdict::Info, format!("{what}: {other}.")),
        },
    };
    Stage::new("Document", verdict, &sentence)
}

fn answer(t: &Trace) -> Stage {
    let name = "Answer";
    let told = super::desk::reason_words(&t.reply);
    match t.outcome.as_str() {
        "accepted" => Stage::new(name, Verdict::Pass, "The mail was accepted, and the sending server was told so."),
        "refused" => Stage::new(
            name,
            Verdict::Refused,
            &format!("The mail was refused for good. The sending server was told “{told}” and tells the patron so in a bounce."),
        ),
        "tempfail" => Stage::new(
            name,
            Verdict::Warning,
            &format!("The mail was put off: the sending server was told “{told}” and tries again later (usually for a few days)."),
        ),
        other => Stage::new(name, Verdict::Info, &format!("The outcome was recorded as “{other}”.")),
    }
}

fn reply_stages(t: &Trace, replies: &[ReplyAttempts], zone: &Zone) -> Vec<Stage> {
    if replies.is_empty() {
        let sentence = if t.outcome == "accepted" {
            "No reply is recorded: the queue's reply policy sent none, or it was cleaned up since."
        } else {
            "No reply was sent: printgate answers only mail it accepted; for this one the sending server tells the patron."
        };
        return vec![Stage::new("Reply", Verdict::Info, sentence)];
    }
    let n = replies.len();
    replies
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = if n == 1 { "Reply".to_owned() } else { format!("Reply {} of {n}", i + 1) };
            let (verdict, sentence) = delivery(r, &|secs| zones::when(secs, zone));
            Stage { name, verdict, sentence }
        })
        .collect()
}

fn tries(n: i64) -> String {
    if n == 1 { "1 try".to_owned() } else { format!("{n} tries") }
}

/// A reply's delivery. `attempts` counts the tries that did not deliver (a refusal for good
/// is one of them); `when` writes a time.
fn delivery(r: &ReplyAttempts, when: &dyn Fn(i64) -> String) -> (Verdict, String) {
    let failed = r.attempts.max(0);
    if let Some(at) = r.sent_at {
        let earlier =
            if failed == 0 { String::new() } else { format!(", after {} that failed (the last: {})", tries(failed), r.last_error) };
        return (Verdict::Pass, format!("Delivered to the mail relay on the {} try, {}{earlier}.", ordinal(failed + 1), when(at)));
    }
    if let Some(at) = r.refused_at {
        let sentence = format!(
            "The mail relay refused it for good on the {} try, {}; it is not tried again. The relay said: {}",
            ordinal(failed.max(1)),
            when(at),
            r.last_error
        );
        return (Verdict::Refused, sentence);
    }
    if failed == 0 {
        return (Verdict::Info, "Waiting to be sent; not tried yet.".to_owned());
    }
    (Verdict::Warning, format!("Waiting: {} failed so far, and it will be tried again. The last error: {}", tries(failed), r.last_error))
}

#[cfg(test)]
mod tests;
