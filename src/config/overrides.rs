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
    pub updated_at: i64,
    pub updated_by: String,
}

/// The queue fields the console edits, in the order of its form.
pub const FIELDS: [&str; 8] =
    ["address", "site", "spam_tag_score", "spam_reject_score", "max_pages", "retention", "color", "allowed_types"];

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
