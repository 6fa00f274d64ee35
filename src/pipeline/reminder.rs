//! Expiry reminders: the janitor's pass over the queues that set `reminder_before`. Each due
//! message's patron gets one short notice (its documents, when they go, and the commands that
//! still help: EXTEND, RESEND, CANCEL), threaded under the original reply.
//!
//! Which messages are due, and claiming each once across nodes, is the store's
//! (`store/reminders.rs`); the words are `notify`'s. This pass lives in `pipeline`, above both
//! `notify` and the running configuration (`live`), so that `notify` imports neither.

use super::command_address;
use crate::live::Live;
use crate::notify::{NoticeContent, NoticeKind, render_notice, when};
use crate::store::{DueReminder, Store, StoreError};

/// Queues every due reminder of every queue; returns how many.
///
/// # Errors
/// [`StoreError`] from the first queue that failed; the rest waits for the next round.
pub async fn queue_due(store: &Store, live: &Live) -> Result<usize, StoreError> {
    let config = &live.config;
    let mut queued = 0;
    for queue in &config.queue {
        let Some(before) = queue.reminder_before else { continue };
        let replies = live.replies_for(&queue.name);
        let extension = replies.language.duration(queue.extension);
        let render = |due: &DueReminder| {
            let commands = command_address(&queue.address, &store.command_token(&due.message_id, &due.rcpt));
            // Threaded under the original reply, whose Message-ID is derived the same way.
            let original = format!("<{}.reply@{}>", due.message_id, config.smtp.hostname);
            let message_id = format!("{}.reminder@{}", due.message_id, config.smtp.hostname);
            let expires = when::format(due.expires_at, &replies.zone, replies.language);
            let content = NoticeContent {
                library: &config.relay.library_name,
                kind: NoticeKind::Reminder,
                in_reply_to: Some(&original),
                message_id: &message_id,
                commands_address: commands.as_deref(),
                expires: &expires,
                extension: &extension,
                jobs: due.documents.len(),
                documents: &due.documents,
            };
            render_notice(&config.relay.from, &due.rcpt, &content, &replies, live.dkim.as_deref())
                .map_err(|e| tracing::error!(message = %due.message_id, error = %e, "reminder rendering failed; none sent"))
                .ok()
        };
        queued += store.queue_reminders(&queue.name, before.as_secs() as i64, &config.relay.from, render).await?;
    }
    Ok(queued)
}
