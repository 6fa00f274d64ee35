//! Telling a patron that a message read from a mailbox was refused. Over SMTP the refusal is
//! the session's `5xx`, which the patron's own server turns into a bounce; mail pulled from a
//! mailbox has no such answer, so a reply says it, under the queue's `reply_policy`
//! ([`decide::refusal_recipient`]: no backscatter to forged senders).

use super::Deps;
use super::client::MailboxError;
use super::decide::{self, SenderTrust};
use crate::config::QueueConfig;
use crate::inbound::Patron;
use crate::live::Live;
use crate::notify::{self, DocumentLine, ReplyContent};
use crate::store::NewReply;

/// Queues the refusal reply for the message spooled-to-be under `spool_id`, if the queue's
/// policy lets the patron be told. The reply's outbox id is derived from `spool_id`, so a
/// message refused again after a crash is told once.
///
/// # Errors
/// [`MailboxError::Store`] when the outbox cannot take it (the message is tried again later).
pub async fn tell(
    deps: &Deps,
    live: &Live,
    queue: &QueueConfig,
    spool_id: &str,
    patron: &Patron,
    reason: &str,
) -> Result<(), MailboxError> {
    let trust = SenderTrust { grade: &patron.grade, spf_fail_without_dkim: patron.spf_fail_without_dkim, automatic: patron.automatic };
    let Some(to) = decide::refusal_recipient(queue.reply_policy, trust, patron.address.as_deref())
        .filter(|to| !crate::pipeline::is_own_address(&live.config, to))
    else {
        tracing::info!(spool_id = %spool_id, "refusal not told by reply (reply_policy, automatic mail or no sender)");
        return Ok(());
    };
    let replies = live.replies_for(&queue.name);
    let name = patron.subject.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "your message".to_owned());
    let documents = [DocumentLine { name, ok: false, reason: reason.to_owned(), ..DocumentLine::default() }];
    let message_id = format!("{spool_id}.refusal@{}", live.config.smtp.hostname);
    let extension = replies.language.duration(queue.extension);
    let content = ReplyContent {
        library: &live.config.relay.library_name,
        code: None,
        documents: &documents,
        expires: "",
        in_reply_to: patron.message_id_field.as_deref(),
        options: "",
        message_id: &message_id,
        commands_address: None,
        extension: &extension,
    };
    let from = &live.config.relay.from;
    let body = match notify::render(from, to, &content, &replies, live.dkim.as_deref()) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(spool_id = %spool_id, error = %e, "refusal reply rendering failed; no reply sent");
            return Ok(());
        }
    };
    let id = format!("{spool_id}-refusal");
    let reply = NewReply { id: &id, message_id: spool_id, mail_from: from, rcpt: to, body: &body };
    if deps.store.queue_reply(&reply).await? {
        deps.outbox_wake.notify_one();
    }
    Ok(())
}
