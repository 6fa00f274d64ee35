//! First-time sender verification (`verify_new_senders`) in the pipeline. The first mail of an
//! address the queue has not seen confirmed (within `verified_sender_days`) is converted and
//! sealed as usual but stored **held**: its code is never sent; the reply asks the owner of the
//! address to answer YES (a reply command, [`super::command`]) within [`VERIFY_WINDOW_SECS`].
//! The YES records the sender as verified, lifts the hold and sends a normal reply with a new
//! code. Without an answer the held jobs expire. A spoofed sender never sees a code: the
//! question goes to the address the mail claims, whose owner did not send it.

use super::{Pipeline, PipelineError};
use crate::config::QueueConfig;
use crate::live::Live;
use crate::notify::{self, NoticeContent, NoticeKind};

/// How long a held message waits for the YES: a day (or the retention, if shorter).
pub const VERIFY_WINDOW_SECS: i64 = 24 * 3600;

/// When a held message received at `received` expires.
pub fn held_expiry(received: i64, retention_secs: i64) -> i64 {
    received + retention_secs.min(VERIFY_WINDOW_SECS)
}

impl Pipeline {
    /// Whether a message of `sender` with jobs must be held on `queue`.
    pub(super) async fn must_hold(&self, queue: &QueueConfig, sender: &str, has_jobs: bool) -> Result<bool, PipelineError> {
        if !queue.verify_new_senders || !has_jobs {
            return Ok(false);
        }
        let since = self.store.now() - i64::from(queue.verified_sender_days) * 86_400;
        Ok(!self.store.sender_verified(&queue.name, sender, since).await?)
    }
}

/// What the verification question needs besides the live configuration.
pub struct Question<'a> {
    pub queue: &'a QueueConfig,
    pub to: &'a str,
    pub documents: Vec<String>,
    pub expires_at: i64,
    pub in_reply_to: Option<&'a str>,
    pub message_id: &'a str,
    pub commands_address: Option<&'a str>,
}

/// The verification question (a notice in the queue's language), or `None` when it cannot be
/// rendered (logged).
pub fn question(live: &Live, q: &Question<'_>) -> Option<Vec<u8>> {
    let replies = live.replies_for(&q.queue.name);
    let expires = notify::when::format(q.expires_at, &replies.zone, replies.language);
    let content = NoticeContent {
        library: &live.config.relay.library_name,
        kind: NoticeKind::VerifySender,
        in_reply_to: q.in_reply_to,
        message_id: q.message_id,
        commands_address: q.commands_address,
        expires: &expires,
        extension: &replies.language.duration(q.queue.extension),
        jobs: q.documents.len(),
        documents: &q.documents,
    };
    notify::render_notice(&live.config.relay.from, q.to, &content, &replies, live.dkim.as_deref())
        .map_err(|e| tracing::error!(error = %e, "verification question rendering failed; none sent"))
        .ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_held_message_waits_a_day_or_its_retention() {
        assert_eq!(super::held_expiry(1000, 72 * 3600), 1000 + 24 * 3600);
        assert_eq!(super::held_expiry(1000, 3600), 1000 + 3600);
    }
}
