//! What this node knows of each mailbox now, for the admin console's dashboard: its state (the
//! same words as the `printgate_mailbox_state` gauge), its consecutive failures and the last
//! error in words. Kept in memory per process, like the metrics; empty when no mailbox is
//! configured.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// One mailbox as the dashboard shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MailboxStatus {
    /// `user@host:port/FOLDER`.
    pub mailbox: String,
    /// `connecting`, `reading`, `waiting` or `backoff`.
    pub state: String,
    /// Failures in a row (0 once a pass succeeded).
    pub failures: u32,
    /// The last failure, in words (kept after recovery, with `failures` 0).
    pub last_error: String,
}

fn registry() -> &'static Mutex<BTreeMap<String, MailboxStatus>> {
    static STATUS: OnceLock<Mutex<BTreeMap<String, MailboxStatus>>> = OnceLock::new();
    STATUS.get_or_init(Mutex::default)
}

fn update(mailbox: &str, change: impl FnOnce(&mut MailboxStatus)) {
    let mut all = registry().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let entry = all.entry(mailbox.to_owned()).or_insert_with(|| MailboxStatus { mailbox: mailbox.to_owned(), ..MailboxStatus::default() });
    change(entry);
}

pub(super) fn set_state(mailbox: &str, state: &str) {
    update(mailbox, |s| s.state = state.to_owned());
}

pub(super) fn set_failures(mailbox: &str, failures: u32, error: Option<&str>) {
    update(mailbox, |s| {
        s.failures = failures;
        if let Some(error) = error {
            s.last_error = error.to_owned();
        }
    });
}

/// Every mailbox this node reads, by name.
pub fn snapshot() -> Vec<MailboxStatus> {
    registry().lock().unwrap_or_else(std::sync::PoisonError::into_inner).values().cloned().collect()
}
