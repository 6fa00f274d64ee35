//! The pipeline worker: spool -> convert -> seal -> store (+ queued reply) -> spool removal.
//!
//! Every step is idempotent, so replaying a spool entry after a crash is safe: job ids and blob
//! keys are derived from the spool id, and the store records a message at most once. The spool
//! entry is removed only after the store transaction committed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::config::ColorDocuments;
use crate::config::{QueueConfig, ReplyPolicy};
use crate::convert::{ConvertError, Converter, Setup};
use crate::crypto;
use crate::intake::detect::refusal_reason;
use crate::intake::options::PrintOptions;
use crate::intake::{Role, Submission};
use crate::live::Shared;
use crate::notify::{self, DocumentLine, ReplyContent};
use crate::seal::{self, SitePublicKey};
use crate::spool::{Spool, SpoolMeta};
use crate::store::trace::TraceDocument;
use crate::store::{NewJob, NewMessage, Recorded, Store, TraceWrite, commands};

mod budget;
mod command;
mod verify;
pub use budget::local_day;
pub use command::{NewCode, send_new_code};
pub mod reminder;

/// Delay before a failed entry is tried again (store or blob outage).
const RETRY_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Spool(#[from] crate::spool::SpoolError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("queue {0:?} is no longer configured")]
    UnknownQueue(String),
    #[error("no public key for site {0:?}")]
    UnknownSite(String),
    #[error("sealing failed: {0}")]
    Seal(#[from] crate::seal::SealError),
    #[error("worker task failed: {0}")]
    Task(String),
    #[error(transparent)]
    Convert(ConvertError),
}

pub struct Pipeline {
    pub live: Shared,
    pub spool: Spool,
    pub store: Store,
    pub outbox_wake: Arc<Notify>,
    pub converter: Arc<Converter>,
}

impl Pipeline {
    /// Takes one spool entry all the way to the store.
    ///
    /// # Errors
    /// [`PipelineError`]; the spool entry is kept and retried.
    pub async fn process(&self, id: &str) -> Result<(), PipelineError> {
        if self.store.message_exists(id).await? {
            self.spool.remove(id).await?;
            return Ok(());
        }
        let (meta, raw) = match self.spool.read(id).await {
            Ok(entry) => entry,
            Err(crate::spool::SpoolError::Corrupt { .. }) => {
                // Unreadable with this node's key (a lost node.key, a damaged disk): retrying
                // cannot help. Keep the bytes for the operator, out of the work queue.
                let parked = self.spool.quarantine(id).await?;
                tracing::error!(spool_id = %id, path = %parked.display(), "spool entry cannot be decrypted; moved aside");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let live = self.live.load_full();
        let queue = live.config.queue_named(&meta.queue).ok_or_else(|| PipelineError::UnknownQueue(meta.queue.clone()))?;
        let key = live.site_keys.get(&queue.site).ok_or_else(|| PipelineError::UnknownSite(queue.site.clone()))?;
        let submission = Submission::parse(&raw).unwrap_or_default();
        // The documents are in the submission now: the raw message is not needed again, and
        // for a 25 MB message keeping it through conversion and sealing would be 25 MB more.
        drop(raw);
        if let Some(token) = meta.options.iter().find(|o| commands::is_token(o)) {
            if let Some(trace) = &meta.pending_trace {
                self.store.record_trace(trace).await?;
            }
            self.run_command(&meta, &submission, token, queue).await?;
            // A replayed command would act again (a second new code): this removal must last.
            self.spool.remove_durably(id).await?;
            return Ok(());
        }
        let options = PrintOptions::from_mail(submission.subject.as_deref(), &meta.options);
        let (mut jobs, mut lines) = build_jobs(&self.converter, &meta, &submission, queue, key, &options).await?;
        let sender = submission.from_address.clone().or_else(|| meta.mail_from.clone()).unwrap_or_default();
        if !jobs.is_empty() {
            self.apply_caps(&meta, queue, &sender, &mut jobs, &mut lines).await?;
        }
        let held = self.must_hold(queue, &sender, !jobs.is_empty()).await?;
        let options_text = options.describe();
        let retention = queue.retention.as_secs() as i64;
        let message = NewMessage {
            id: meta.id.clone(),
            queue: queue.name.clone(),
            site: queue.site.clone(),
            created_at: meta.received_at,
            expires_at: if held { verify::held_expiry(meta.received_at, retention) } else { meta.received_at + retention },
            held,
        };
        let reply_to = reply_recipient(&meta, &submission, queue).filter(|to| !is_own_address(&live.config, to));
        let replies = live.replies_for(&queue.name);
        let expires = notify::when::format(message.expires_at, &replies.zone, replies.language);
        let library = live.config.relay.library_name.clone();
        let from = live.config.relay.from.clone();
        let has_jobs = !jobs.is_empty();
        let reply_message_id = format!("{}.reply@{}", meta.id, live.config.smtp.hostname);
        let commands_address = reply_to
            .as_deref()
            .filter(|_| has_jobs)
            .and_then(|patron| command_address(&queue.address, &self.store.command_token(&meta.id, patron)));
        let extension = replies.language.duration(queue.extension);
        // The screening trace (the SMTP side leaves it to the pipeline, in the spool entry) and
        // each document's outcome go in with the message: one commit.
        let trace_documents = trace_documents(&submission, &lines, options.body);
        let trace = TraceWrite { screening: meta.pending_trace.as_ref(), documents: Some(&trace_documents) };
        let recorded = self
            .store
            .record_with_trace(
                &message,
                jobs,
                reply_to.as_deref().map(|to| (from.as_str(), to)),
                |code| {
                    let to = reply_to.as_deref().unwrap_or_default();
                    if held {
                        let question = verify::Question {
                            queue,
                            to,
                            documents: lines.iter().filter(|l| l.ok).map(|l| l.name.clone()).collect(),
                            expires_at: message.expires_at,
                            in_reply_to: submission.message_id_field.as_deref(),
                            message_id: &reply_message_id,
                            commands_address: commands_address.as_deref(),
                        };
                        return verify::question(&live, &question);
                    }
                    let content = ReplyContent {
                        library: &library,
                        code: has_jobs.then_some(code),
                        documents: &lines,
                        expires: &expires,
                        in_reply_to: submission.message_id_field.as_deref(),
                        options: &options_text,
                        message_id: &reply_message_id,
                        commands_address: commands_address.as_deref(),
                        extension: &extension,
                    };
                    notify::render(&from, to, &content, &replies, live.dkim.as_deref())
                        .map_err(|e| tracing::error!(spool_id = %meta.id, error = %e, "reply rendering failed; no reply sent"))
                        .ok()
                },
                trace,
            )
            .await?;
        if recorded != Recorded::AlreadyStored {
            tracing::info!(spool_id = %meta.id, jobs = lines.iter().filter(|l| l.ok).count(), reply = reply_to.is_some(), "message stored");
            self.outbox_wake.notify_one();
        }
        self.spool.remove(id).await?;
        Ok(())
    }
}

/// Converts and seals every accepted document (and the body when the patron asked for it);
/// returns the jobs and one reply line per document.
async fn build_jobs(
    converter: &Converter,
    meta: &SpoolMeta,
    submission: &Submission,
    queue: &QueueConfig,
    key: &SitePublicKey,
    options: &PrintOptions,
) -> Result<(Vec<NewJob>, Vec<DocumentLine>), PipelineError> {
    let mut jobs = Vec::new();
    let mut lines = Vec::new();
    let allowed = queue.allowed_types.types();
    let setup = Setup { paper: queue.paper, max_pages: queue.max_pages };
    for (index, doc) in submission.documents.iter().enumerate() {
        let printed_body = doc.role == Role::Body && options.body;
        if doc.role != Role::Attachment && !printed_body {
            continue; // bodies (unless asked for) and decoration images are not printed
        }
        if !printed_body && !meta.printable.contains(&index) {
            let reason = refusal_reason(doc.detection(), allowed).unwrap_or_else(|| "not printable".into());
            lines.push(DocumentLine { name: doc.name.clone(), reason, ..Default::default() });
            continue;
        }
        let started = std::time::Instant::now();
        let converted = converter.convert(doc, setup).await;
        let result = match &converted {
            Ok(_) => "ok",
            Err(e) if e.is_retryable() => "retry",
            Err(_) => "refused",
        };
        crate::metrics::observe("printgate_conversion_seconds", &[("result", result)], started.elapsed().as_secs_f64());
        let rendered = match converted {
            Ok(r) => r,
            Err(e) if e.is_retryable() => return Err(PipelineError::Convert(e)),
            Err(e) => {
                lines.push(refused_line(&doc.name, &e));
                continue;
            }
        };
        let (mut note, mut greyscale) = (String::new(), false);
        if rendered.color() && !queue.color {
            if queue.color_documents == ColorDocuments::Refuse {
                lines.push(refused_line(&doc.name, &ConvertError::ColourOnMonoQueue(rendered.color_pages())));
                continue;
            }
            note = "its colour prints in shades of grey".into();
            greyscale = true;
        }
        // Colour only where the queue prints colour, the document has it and the patron did
        // not ask for black and white.
        let color = queue.color && rendered.color() && options.color != Some(false);
        let color_pages = if color { i64::from(rendered.color_page_count()) } else { 0 };
        let seq = jobs.len() as i64;
        let job_id = job_id(&meta.id, seq);
        let (pdf, site, key) = (rendered.pdf, queue.site.clone(), key.clone());
        let sealed = tokio::task::spawn_blocking(move || seal::seal(&pdf, job_id, &site, &key))
            .await
            .map_err(|e| PipelineError::Task(e.to_string()))??;
        lines.push(DocumentLine { name: doc.name.clone(), ok: true, pages: rendered.pages, color, note, greyscale, ..Default::default() });
        jobs.push(NewJob {
            id: hex::encode(job_id),
            seq,
            filename: doc.name.clone(),
            pages: i64::from(rendered.pages),
            color,
            color_pages,
            copies: i64::from(options.copies),
            duplex: options.duplex,
            page_range: options.pages.map(|(a, b)| format!("{a}-{b}")).unwrap_or_default(),
            sealed,
        });
    }
    for line in &lines {
        crate::metrics::inc("printgate_documents_total", &[("outcome", if line.ok { "printed" } else { "refused" })]);
        if line.ok {
            crate::metrics::add("printgate_pages_stored_total", &[], f64::from(line.pages));
        }
    }
    Ok((jobs, lines))
}

/// The trace's view of each document's final outcome (attachments in reply-line order).
fn trace_documents(submission: &Submission, lines: &[DocumentLine], body_printed: bool) -> Vec<TraceDocument> {
    let mut lines = lines.iter();
    submission
        .documents
        .iter()
        .filter(|d| d.role != Role::Body || body_printed)
        .map(|doc| {
            let (outcome, pages) = match doc.role {
                Role::InlineImage => ("skipped: inline image".to_owned(), 0),
                Role::SignatureImage => ("skipped: signature or tracking image".to_owned(), 0),
                _ => match lines.next() {
                    Some(line) if line.ok => ("stored".to_owned(), line.pages),
                    Some(line) => (format!("refused: {}", line.reason), 0),
                    None => ("refused: not processed".to_owned(), 0),
                },
            };
            TraceDocument { name: doc.name.clone(), kind: doc.detected.label().to_owned(), bytes: doc.bytes.len(), outcome, pages }
        })
        .collect()
}

fn refused_line(name: &str, e: &ConvertError) -> DocumentLine {
    DocumentLine { name: name.to_owned(), reason: e.to_string(), ..Default::default() }
}

/// Job ids are derived from the spool id so a replay reuses them (and their blob keys).
fn job_id(spool_id: &str, seq: i64) -> [u8; 16] {
    let digest = crypto::sha256(format!("printgate job v1\0{spool_id}\0{seq}").as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

/// Who gets the reply: the From address (the one DMARC authenticates), only when the queue's
/// policy trusts the sender, never for a null envelope sender or automatic/list mail.
pub(crate) fn reply_recipient(meta: &SpoolMeta, submission: &Submission, queue: &QueueConfig) -> Option<String> {
    let trusted = match queue.reply_policy {
        ReplyPolicy::Never => false,
        ReplyPolicy::Authenticated => meta.sender_grade == "authenticated",
        ReplyPolicy::NotFailing => meta.sender_grade != "failing" && !meta.spf_fail_without_dkim,
    };
    if !trusted || meta.automatic {
        return None;
    }
    let envelope_sender = meta.mail_from.as_ref()?;
    Some(submission.from_address.clone().unwrap_or_else(|| envelope_sender.clone()))
}

/// Loop guard: printgate never replies to itself, i.e. to its reply sender or to any print
/// address (with or without `+options`), whatever headers a bounced or forwarded reply lost.
pub(crate) fn is_own_address(config: &crate::config::Config, address: &str) -> bool {
    let plain = |a: &str| {
        let a = match (a.find('<'), a.rfind('>')) {
            (Some(start), Some(end)) if start < end => &a[start + 1..end],
            _ => a,
        };
        let a = a.trim().to_ascii_lowercase();
        match a.rsplit_once('@') {
            Some((local, domain)) => format!("{}@{domain}", local.split('+').next().unwrap_or(local)),
            None => a,
        }
    };
    let address = plain(address);
    std::iter::once(config.relay.from.as_str()).chain(config.queue.iter().map(|q| q.address.as_str())).any(|own| plain(own) == address)
}

/// `bw@print.example.org` + token -> `bw+TOKEN@print.example.org`.
pub(crate) fn command_address(queue_address: &str, token: &str) -> Option<String> {
    let (local, domain) = queue_address.rsplit_once('@')?;
    Some(format!("{local}+{token}@{domain}"))
}

/// A time for traces and logs (operators read UTC; patrons get their queue's zone).
fn format_time(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix).ok().and_then(|t| t.format(&format).ok()).unwrap_or_else(|| unix.to_string())
}

/// Feeds spool ids to `workers` concurrent tasks until `shutdown`; failed entries are retried.
pub async fn run(
    pipeline: Arc<Pipeline>,
    sender: mpsc::UnboundedSender<String>,
    receiver: mpsc::UnboundedReceiver<String>,
    workers: usize,
    shutdown: CancellationToken,
) {
    match pipeline.spool.list() {
        Ok(ids) => {
            if !ids.is_empty() {
                tracing::info!(entries = ids.len(), "resuming spooled messages");
            }
            for id in ids {
                let _ = sender.send(id);
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot list the spool"),
    }
    let receiver = Arc::new(Mutex::new(receiver));
    let tasks = tokio_util::task::TaskTracker::new();
    for _ in 0..workers {
        let (pipeline, receiver, sender, shutdown) = (pipeline.clone(), receiver.clone(), sender.clone(), shutdown.clone());
        tasks.spawn(async move {
            loop {
                let next = tokio::select! {
                    () = shutdown.cancelled() => return,
                    id = async { receiver.lock().await.recv().await } => id,
                };
                let Some(id) = next else { return };
                if let Err(e) = pipeline.process(&id).await {
                    tracing::warn!(spool_id = %id, error = %e, "pipeline step failed; will retry");
                    let (sender, shutdown) = (sender.clone(), shutdown.clone());
                    tokio::spawn(async move {
                        tokio::select! {
                            () = shutdown.cancelled() => {}
                            () = tokio::time::sleep(RETRY_AFTER) => { let _ = sender.send(id); }
                        }
                    });
                }
            }
        });
    }
    tasks.close();
    tasks.wait().await;
}
