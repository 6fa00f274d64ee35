//! Reply commands in the pipeline: acts on CANCEL, EXTEND or RESEND when the token was made for
//! the sender, records the outcome in the message trace, and answers the patron.
//!
//! The answer (a confirmation, a "nothing was done, because …", or for RESEND a whole new reply
//! with the new code) goes through the durable outbox, and only to the sender the token was
//! made for, and only when a reply to that sender is allowed at all (the queue's
//! `reply_policy`, no automatic or list mail, never printgate itself): a forged or forwarded
//! command never makes printgate mail anyone else (no backscatter). The answer's outbox id is
//! `COMMAND-SPOOL-ID-reply`, so a command mail replayed after a crash is answered once.

use std::sync::Arc;

use super::{Pipeline, PipelineError, command_address, format_time, is_own_address, reply_recipient};
use crate::config::QueueConfig;
use crate::intake::{Role, Submission};
use crate::live::Live;
use crate::notify::{self, DocumentLine, NoticeContent, NoticeKind, QueueReplies, ReplyContent};
use crate::spool::SpoolMeta;
use crate::store::commands::{Command, ResendView};
use crate::store::verified::Held;
use crate::store::{NewReply, Resent, Store, StoreError};

/// Everything an answer to one command mail needs.
struct Thread<'a> {
    live: Arc<Live>,
    replies: Arc<QueueReplies>,
    queue: &'a QueueConfig,
    meta: &'a SpoolMeta,
    submission: &'a Submission,
    /// The stored message the token names.
    message_id: String,
    /// The sender the token was made for, when an answer may go to them.
    answer_to: Option<String>,
    /// The outbox id of the answer.
    reply_id: String,
}

/// A short notice to send: its kind, the expiry it names, the jobs it counts.
struct Notice {
    kind: NoticeKind,
    expires: Option<i64>,
    jobs: usize,
}

impl Notice {
    fn new(kind: NoticeKind) -> Self {
        Self { kind, expires: None, jobs: 0 }
    }
}

impl Pipeline {
    /// Runs a reply command; see the module docs for who is answered.
    pub(super) async fn run_command(
        &self,
        meta: &SpoolMeta,
        submission: &Submission,
        token: &str,
        queue: &QueueConfig,
    ) -> Result<(), PipelineError> {
        let patron = submission.from_address.clone().or_else(|| meta.mail_from.clone()).unwrap_or_default();
        let Some(message_id) = self.store.verify_command_token(token, &patron) else {
            return self.trace_command(meta, "command ignored: the reply address was not made for this sender").await;
        };
        let reply_id = format!("{}-reply", meta.id);
        if self.store.reply_queued(&reply_id).await? {
            return self.trace_command(meta, "command ignored: answered before (the same mail again)").await;
        }
        let live = self.live.load_full();
        let answer_to =
            reply_recipient(meta, submission, queue).filter(|to| to.eq_ignore_ascii_case(&patron) && !is_own_address(&live.config, to));
        let replies = live.replies_for(&queue.name);
        let thread = Thread { live, replies, queue, meta, submission, message_id, answer_to, reply_id };
        let (outcome, notice) = match Command::parse(&first_text(submission)) {
            None => {
                ("command ignored: the first line is not CANCEL, EXTEND or RESEND".to_owned(), Some(Notice::new(NoticeKind::NotACommand)))
            }
            Some(Command::Cancel) => {
                let jobs = self.store.cancel_message(&thread.message_id).await?;
                let kind = if jobs > 0 { NoticeKind::Cancelled } else { NoticeKind::NothingToCancel };
                (format!("command CANCEL: {jobs} job(s) destroyed"), Some(Notice { jobs, ..Notice::new(kind) }))
            }
            Some(Command::Extend) => match self.store.extend_message(&thread.message_id, queue.extension.as_secs() as i64).await? {
                Some(until) => (
                    format!("command EXTEND: kept until {}", format_time(until)),
                    Some(Notice { expires: Some(until), ..Notice::new(NoticeKind::Extended) }),
                ),
                None => ("command EXTEND refused: extended before, or already gone".to_owned(), Some(Notice::new(NoticeKind::NotExtended))),
            },
            Some(Command::Resend) => self.resend(&thread).await?,
            Some(Command::Yes) => self.confirm(&thread, &patron).await?,
        };
        if let Some(notice) = notice {
            self.send_notice(&thread, &notice).await?;
        }
        self.trace_command(meta, &outcome).await
    }

    /// YES: the owner of `patron` (the token was made for it) confirms a held first mail: the
    /// address is verified on the queue, the hold lifted and a reply with a new code sent (as
    /// RESEND; the held message's code was never sent). A YES to a message that is not held
    /// sends a new code too.
    async fn confirm(&self, thread: &Thread<'_>, patron: &str) -> Result<(String, Option<Notice>), PipelineError> {
        let retention = thread.queue.retention.as_secs() as i64;
        if self.store.release_held(&thread.message_id, retention).await? == Held::Gone {
            return Ok(("command YES refused: nothing waits any more".to_owned(), Some(Notice::new(NoticeKind::NotResent))));
        }
        self.store.verify_sender(&thread.queue.name, patron).await?;
        let (outcome, notice) = self.resend(thread).await?;
        Ok((format!("command YES: sender verified; {}", outcome.trim_start_matches("command ")), notice))
    }

    /// RESEND: a new code and a new reply, or a notice saying why not.
    async fn resend(&self, thread: &Thread<'_>) -> Result<(String, Option<Notice>), PipelineError> {
        let Some(to) = thread.answer_to.as_deref() else {
            // Without a way to tell the patron, a new code would only break the old one.
            return Ok(("command RESEND ignored: no reply may go to this sender".to_owned(), None));
        };
        let reply_message_id = format!("{}.reply@{}", thread.meta.id, thread.live.config.smtp.hostname);
        let new_code = NewCode {
            live: &thread.live,
            queue: thread.queue,
            message_id: &thread.message_id,
            to,
            reply_id: &thread.reply_id,
            reply_message_id: &reply_message_id,
            in_reply_to: thread.submission.message_id_field.as_deref(),
        };
        Ok(match send_new_code(&self.store, &new_code).await? {
            Resent::New(_) => {
                self.outbox_wake.notify_one();
                ("command RESEND: new release code sent, the old one no longer works".to_owned(), None)
            }
            Resent::NotLive => ("command RESEND refused: no jobs waiting".to_owned(), Some(Notice::new(NoticeKind::NotResent))),
            Resent::AlreadyDone => ("command RESEND: answered before".to_owned(), None),
            Resent::NotRendered => ("command RESEND failed: the reply could not be rendered".to_owned(), None),
        })
    }

    /// Queues a short notice to the patron, when one may go to them.
    async fn send_notice(&self, thread: &Thread<'_>, notice: &Notice) -> Result<(), PipelineError> {
        let Some(to) = thread.answer_to.as_deref() else { return Ok(()) };
        let config = &thread.live.config;
        // Commands still make sense after these; after CANCEL or a refusal the message is gone.
        let still_live = matches!(notice.kind, NoticeKind::Extended | NoticeKind::NotACommand);
        let commands =
            still_live.then(|| command_address(&thread.queue.address, &self.store.command_token(&thread.message_id, to))).flatten();
        let expires = notice.expires.map(|at| notify::when::format(at, &thread.replies.zone, thread.replies.language)).unwrap_or_default();
        let content = NoticeContent {
            library: &config.relay.library_name,
            kind: notice.kind,
            in_reply_to: thread.submission.message_id_field.as_deref(),
            message_id: &format!("{}.reply@{}", thread.meta.id, config.smtp.hostname),
            commands_address: commands.as_deref(),
            expires: &expires,
            extension: &thread.replies.language.duration(thread.queue.extension),
            jobs: notice.jobs,
            documents: &[],
        };
        let body = match notify::render_notice(&config.relay.from, to, &content, &thread.replies, thread.live.dkim.as_deref()) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(spool_id = %thread.meta.id, error = %e, "command notice rendering failed; none sent");
                return Ok(());
            }
        };
        let reply = NewReply { id: &thread.reply_id, message_id: &thread.message_id, mail_from: &config.relay.from, rcpt: to, body: &body };
        if self.store.queue_reply(&reply).await? {
            self.outbox_wake.notify_one();
        }
        Ok(())
    }

    /// Records what a command did as the command mail's trace outcome.
    async fn trace_command(&self, meta: &SpoolMeta, outcome: &str) -> Result<(), PipelineError> {
        tracing::info!(spool_id = %meta.id, outcome = %outcome, "reply command");
        let reply = self.store.trace(&meta.id).await.map(|t| t.reply).unwrap_or_default();
        self.store.trace_outcome(&meta.id, outcome, &reply).await?;
        Ok(())
    }
}

/// A new release code for a stored message, sent by reply to its patron: what the patron's
/// RESEND and the staff desk's "resend code" both do.
pub struct NewCode<'a> {
    pub live: &'a Live,
    pub queue: &'a QueueConfig,
    /// The stored message (its spool id).
    pub message_id: &'a str,
    /// The patron: the only address the new code goes to.
    pub to: &'a str,
    /// The outbox id of the reply: a second call with the same id sends nothing.
    pub reply_id: &'a str,
    /// The reply's own `Message-ID` (`id@host`).
    pub reply_message_id: &'a str,
    /// The `Message-ID` field answered, for threading (copied only when valid).
    pub in_reply_to: Option<&'a str>,
}

/// Draws a new code for the message and queues the reply carrying it, in one transaction
/// ([`crate::store::Store::resend_code`]): the old code stops working exactly when the new
/// one is on its way. The caller wakes the outbox.
///
/// # Errors
/// [`StoreError`].
pub async fn send_new_code(store: &Store, n: &NewCode<'_>) -> Result<Resent, StoreError> {
    let config = &n.live.config;
    let replies = n.live.replies_for(&n.queue.name);
    let commands = command_address(&n.queue.address, &store.command_token(n.message_id, n.to));
    let reply = NewReply { id: n.reply_id, message_id: n.message_id, mail_from: &config.relay.from, rcpt: n.to, body: &[] };
    let render = |code: &crate::store::ReleaseCode, view: &ResendView| {
        let documents: Vec<DocumentLine> = view
            .jobs
            .iter()
            .map(|(name, pages, color)| DocumentLine {
                name: name.clone(),
                ok: true,
                pages: u32::try_from(*pages).unwrap_or(0),
                color: *color,
                ..Default::default()
            })
            .collect();
        let content = ReplyContent {
            library: &config.relay.library_name,
            code: Some(code),
            documents: &documents,
            expires: &notify::when::format(view.expires_at, &replies.zone, replies.language),
            in_reply_to: n.in_reply_to,
            options: "",
            message_id: n.reply_message_id,
            commands_address: commands.as_deref(),
            extension: &replies.language.duration(n.queue.extension),
        };
        notify::render(&config.relay.from, n.to, &content, &replies, n.live.dkim.as_deref())
            .map_err(|e| tracing::error!(message_id = %n.message_id, error = %e, "new-code reply rendering failed"))
            .ok()
    };
    store.resend_code(n.message_id, &reply, render).await
}

/// The text of the command mail's body part (where the command word is).
fn first_text(submission: &Submission) -> String {
    submission.documents.iter().find(|d| d.role == Role::Body).map(|d| String::from_utf8_lossy(&d.bytes).into_owned()).unwrap_or_default()
}
