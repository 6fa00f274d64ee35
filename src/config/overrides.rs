//! Queue settings changed in the admin console ([`QueueOverride`]): they live in the shared store
//! and every node applies them on top of its config file ([`Config::with_overrides`]), each only
//! when the queue it yields keeps the queue rules ([`super::rules`]), so that neither a console
//! change nor a later edit of the file under it can leave a queue broken.
//!
//! Owns how an override is made from a wanted queue (only the fields that differ from the file
//! are kept: a field the console did not change follows later edits of the file), how it is
//! applied, and how two versions of a queue are compared field by field for the console's
//! "differs from the config file" and the audit trail's before -> after. It stores nothing.

use std::time::Duration;

use super::{AllowedTypes, Config, ConfigIssue, QueueConfig};

/// Queue settings an admin changed in the console. `None` keeps the file's value.
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
    /// The sender policy's fields (stored together, as JSON).
    pub senders: SenderOverride,
    pub updated_at: i64,
    pub updated_by: String,
}

/// The sender policy's console settings. `None` keeps the file's value; a cap of `Some(0)`
/// means "no cap" (0 is no cap a rule allows).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SenderOverride {
    pub allow_senders: Option<Vec<String>>,
    pub deny_senders: Option<Vec<String>>,
    pub verify_new_senders: Option<bool>,
    pub verified_sender_days: Option<u32>,
    pub daily_pages: Option<u32>,
    pub daily_color_pages: Option<u32>,
    pub guest_daily_pages: Option<u32>,
    pub queue_daily_pages: Option<u32>,
}

/// The queue fields the console edits, in the order of its form.
pub const FIELDS: [&str; 16] = [
    "address",
    "site",
    "spam_tag_score",
    "spam_reject_score",
    "max_pages",
    "retention",
    "color",
    "allowed_types",
    "allow_senders",
    "deny_senders",
    "verify_new_senders",
    "verified_sender_days",
    "daily_pages",
    "daily_color_pages",
    "guest_daily_pages",
    "queue_daily_pages",
];

/// A sender list as the form shows it: `a@b.org, @c.org`.
fn list_text(list: &[super::SenderPattern]) -> String {
    list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// A cap as the form shows it: the number, or empty for none.
fn cap_text(cap: Option<u32>) -> String {
    cap.map(|c| c.to_string()).unwrap_or_default()
}

/// A console field whose value differs between two versions of a queue, as people read it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

/// The value of the console field `field` of `q`, as the form shows it and the audit trail
/// records it (`10`, `6.5`, `3days`, `pdf, images`).
pub fn field_text(q: &QueueConfig, field: &str) -> String {
    match field {
        "address" => q.address.clone(),
        "site" => q.site.clone(),
        "spam_tag_score" => q.spam_tag_score.to_string(),
        "spam_reject_score" => q.spam_reject_score.to_string(),
        "max_pages" => q.max_pages.to_string(),
        "retention" => humantime::format_duration(q.retention).to_string(),
        "color" => if q.color { "yes" } else { "no" }.to_owned(),
        "allowed_types" => q.allowed_types.names().join(", "),
        "allow_senders" => list_text(&q.allow_senders),
        "deny_senders" => list_text(&q.deny_senders),
        "verify_new_senders" => if q.verify_new_senders { "yes" } else { "no" }.to_owned(),
        "verified_sender_days" => q.verified_sender_days.to_string(),
        "daily_pages" => cap_text(q.daily_pages),
        "daily_color_pages" => cap_text(q.daily_color_pages),
        "guest_daily_pages" => cap_text(q.guest_daily_pages),
        "queue_daily_pages" => cap_text(q.queue_daily_pages),
        _ => String::new(),
    }
}

/// The console fields that differ from `before` to `after` (addresses compare
/// case-insensitively, as mail delivery does).
pub fn changes(before: &QueueConfig, after: &QueueConfig) -> Vec<FieldChange> {
    FIELDS
        .iter()
        .filter_map(|&field| {
            let (b, a) = (field_text(before, field), field_text(after, field));
            let same = if field == "address" { b.eq_ignore_ascii_case(&a) } else { b == a };
            (!same).then_some(FieldChange { field, before: b, after: a })
        })
        .collect()
}

impl QueueOverride {
    /// The override that turns the file's `file` queue into `wanted`, by `by` at `at`: only the
    /// fields that differ are set.
    pub fn between(file: &QueueConfig, wanted: &QueueConfig, by: &str, at: i64) -> Self {
        let differs: Vec<&str> = changes(file, wanted).iter().map(|c| c.field).collect();
        let set = |field: &str| differs.contains(&field);
        Self {
            queue: file.name.clone(),
            address: set("address").then(|| wanted.address.clone()),
            site: set("site").then(|| wanted.site.clone()),
            spam_tag_score: set("spam_tag_score").then_some(wanted.spam_tag_score),
            spam_reject_score: set("spam_reject_score").then_some(wanted.spam_reject_score),
            max_pages: set("max_pages").then_some(wanted.max_pages),
            retention: set("retention").then_some(wanted.retention),
            color: set("color").then_some(wanted.color),
            allowed_types: set("allowed_types").then(|| wanted.allowed_types.names().to_vec()),
            senders: SenderOverride {
                allow_senders: set("allow_senders").then(|| wanted.allow_senders.iter().map(ToString::to_string).collect()),
                deny_senders: set("deny_senders").then(|| wanted.deny_senders.iter().map(ToString::to_string).collect()),
                verify_new_senders: set("verify_new_senders").then_some(wanted.verify_new_senders),
                verified_sender_days: set("verified_sender_days").then_some(wanted.verified_sender_days),
                daily_pages: set("daily_pages").then_some(wanted.daily_pages.unwrap_or(0)),
                daily_color_pages: set("daily_color_pages").then_some(wanted.daily_color_pages.unwrap_or(0)),
                guest_daily_pages: set("guest_daily_pages").then_some(wanted.guest_daily_pages.unwrap_or(0)),
                queue_daily_pages: set("queue_daily_pages").then_some(wanted.queue_daily_pages.unwrap_or(0)),
            },
            updated_at: at,
            updated_by: by.to_owned(),
        }
    }

    /// True when it sets no field (the queue is as in the file).
    pub fn is_empty(&self) -> bool {
        self.address.is_none()
            && self.site.is_none()
            && self.spam_tag_score.is_none()
            && self.spam_reject_score.is_none()
            && self.max_pages.is_none()
            && self.retention.is_none()
            && self.color.is_none()
            && self.allowed_types.is_none()
            && self.senders == SenderOverride::default()
    }

    /// True when both set the same fields to the same values (who and when aside).
    pub fn same_settings(&self, other: &Self) -> bool {
        let bare = |o: &Self| Self { updated_at: 0, updated_by: String::new(), ..o.clone() };
        bare(self) == bare(other)
    }

    /// `q` with this override's fields set.
    pub fn apply(&self, q: &mut QueueConfig) {
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
            q.allowed_types = AllowedTypes::new(v.clone());
        }
        self.senders.apply(q);
    }
}

impl SenderOverride {
    fn apply(&self, q: &mut QueueConfig) {
        let patterns = |list: &[String]| list.iter().filter_map(|p| super::SenderPattern::parse(p).ok()).collect();
        if let Some(v) = &self.allow_senders {
            q.allow_senders = patterns(v);
        }
        if let Some(v) = &self.deny_senders {
            q.deny_senders = patterns(v);
        }
        if let Some(v) = self.verify_new_senders {
            q.verify_new_senders = v;
        }
        if let Some(v) = self.verified_sender_days {
            q.verified_sender_days = v;
        }
        for (set, slot) in [
            (self.daily_pages, &mut q.daily_pages),
            (self.daily_color_pages, &mut q.daily_color_pages),
            (self.guest_daily_pages, &mut q.guest_daily_pages),
            (self.queue_daily_pages, &mut q.queue_daily_pages),
        ] {
            if let Some(cap) = set {
                *slot = (cap > 0).then_some(cap);
            }
        }
    }
}

/// A console setting that is not applied, and why: the queue it would yield breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedOverride {
    pub queue: String,
    pub issues: Vec<ConfigIssue>,
}

impl Config {
    /// This configuration with the console's queue settings applied, in order. A setting whose
    /// queue would break a rule ([`Config::queue_issues`]: the file changed under it, e.g. its
    /// site was removed, another queue took its address, or the file's tag score rose above
    /// the console's reject score) is left out: that queue keeps the file's values, and the
    /// setting is returned with its problems. Settings for queues the file no longer has are
    /// ignored.
    pub fn apply_overrides(&self, overrides: &[QueueOverride]) -> (Self, Vec<RefusedOverride>) {
        let mut config = self.clone();
        let mut refused = Vec::new();
        for o in overrides {
            let Some(i) = config.queue.iter().position(|q| q.name == o.queue) else { continue };
            let mut candidate = config.clone();
            o.apply(&mut candidate.queue[i]);
            let issues = candidate.queue_issues(i);
            if issues.is_empty() {
                config = candidate;
            } else {
                refused.push(RefusedOverride { queue: o.queue.clone(), issues });
            }
        }
        (config, refused)
    }

    /// [`Config::apply_overrides`] without the refused settings.
    pub fn with_overrides(&self, overrides: &[QueueOverride]) -> Self {
        self.apply_overrides(overrides).0
    }
}
