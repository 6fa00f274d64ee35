//! The glue between the SMTP session and the rest: intake, screening and spooling of one
//! received message. Its [`Disposition`] (screening's words) becomes the door's own
//! [`Outcome`] here, and each refusal or temporary failure picks its reply through one of
//! [`SmtpReply`]'s named constructors: `smtp` never sees screening's types.
//!
//! This is where principle 1 and 2 of DESIGN.md meet: nothing is accepted unscanned (a scanner
//! that cannot answer is a temporary failure), and `Accepted` is returned only after the spool
//! entry is durable.

use tokio::sync::mpsc::UnboundedSender;

use crate::config::{Config, QueueConfig};
use crate::intake::detect::refusal_reason;
use crate::intake::{Role, Submission};
use crate::live::Shared;
use crate::screen::auth::SenderGrade;
use crate::screen::clamav::ClamOutcome;
use crate::screen::rspamd::RspamdEnvelope;
use crate::screen::{self, ScanResults, Verdict};
pub use crate::screen::{Refusal, TempFailure};
use crate::smtp::SmtpReply;
use crate::smtp::limits::SenderKey;
use crate::smtp::{Envelope, Outcome, Receiver, Route};
use crate::spool::{self, Spool, SpoolMeta};
use crate::store::Store;
use crate::store::trace::{Trace, TraceDocument};

/// What happened to a received message.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// Durably spooled under this id.
    Accepted {
        queue_id: String,
    },
    Refused(Refusal),
    TempFail(TempFailure),
}

/// The door a message came in through. Mail is checked for sender authentication; an upload
/// through the web form has no mail server to check and is an unauthenticated guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    Smtp,
    Web,
}

/// The production [`Receiver`].
pub struct Inbound {
    live: Shared,
    spool: Spool,
    store: Store,
    work: UnboundedSender<String>,
}

impl Inbound {
    pub fn new(live: Shared, spool: Spool, store: Store, work: UnboundedSender<String>) -> Self {
        Self { live, spool, store, work }
    }

    /// The one way into screening and the spool, for every door: intake, screening (file
    /// policy, ClamAV, spam, sender lists and limits), then the durable spool entry `id`
    /// (a fresh [`spool::new_id`] for mail; the web form derives its own).
    pub async fn submit(&self, id: String, envelope: Envelope, raw: Vec<u8>, door: Door) -> Disposition {
        let live = self.live.load_full();
        let raw = with_received_header(&envelope, &live.config.smtp.hostname, &id, door, raw);
        let submission = match Submission::parse(&raw) {
            Ok(s) => s,
            Err(e) => return Disposition::Refused(Refusal::Malformed { reason: e.to_string() }),
        };
        let Some(queue) = live.config.queue_named(&envelope.queue) else {
            // The queue was removed by a reload while this session was open.
            return Disposition::TempFail(TempFailure::Spool);
        };
        let host = live.config.smtp.hostname.clone();
        let (scans, auth) = tokio::join!(
            live.scanners.scan(
                &raw,
                &submission,
                RspamdEnvelope { client_ip: envelope.client_ip, helo: &envelope.helo, mail_from: envelope.mail_from.as_deref() }
            ),
            async {
                match door {
                    Door::Smtp => live.auth.check(&raw, envelope.client_ip, &envelope.helo, envelope.mail_from.as_deref(), &host).await,
                    Door::Web => {
                        let from = submission.from_address.as_deref().unwrap_or_default();
                        crate::screen::auth::AuthResults::not_applicable(from.rsplit_once('@').map_or("", |(_, d)| d), &host)
                    }
                }
            }
        );
        let sender = submission.from_address.clone().or_else(|| envelope.mail_from.clone()).unwrap_or_default();
        let sender_key = SenderKey::new(&sender, auth.grade == SenderGrade::Authenticated, envelope.client_ip);
        let mut verdict = screen::decide(queue, &submission, &scans, &auth);
        // The library's sender lists come first: a denied sender is refused whatever it sent.
        if let Some(refusal) = screen::sender_lists(queue, &sender, envelope.mail_from.as_deref().unwrap_or_default()) {
            let cause = if refusal == Refusal::SenderDenied { "deny_list" } else { "not_allowed" };
            crate::metrics::inc("printgate_sender_refusals_total", &[("cause", cause)]);
            verdict = Verdict::Refuse(refusal);
        }
        // A reply command (CANCEL, EXTEND, RESEND to the reply's `+c…` address) has nothing to
        // print by nature; everything else about it is screened like any mail.
        let is_command = envelope.options.iter().any(|o| crate::store::commands::is_token(o));
        if is_command && matches!(verdict, Verdict::Refuse(screen::Refusal::NothingPrintable { .. })) {
            verdict = Verdict::Accept { printable: Vec::new(), spam_tagged: false };
        }
        if matches!(verdict, Verdict::Accept { .. }) && !live.sender_limits.has_room(&sender_key, std::time::Instant::now()) {
            tracing::warn!(client = %envelope.client_ip, "sender over its hourly rate");
            verdict = Verdict::TempFail(TempFailure::SenderRateLimited);
        }
        let mut trace = trace_of(&id, &envelope, &submission, &scans, &verdict, raw.len(), queue.allowed_types.types());
        trace.auth = auth.summary.clone();
        trace.grade = auth.grade.as_str().to_owned();
        let disposition = match verdict {
            Verdict::Accept { printable, spam_tagged } => {
                // The trace goes in before the spool entry, so the pipeline can always update it.
                trace.reply = format!("250 2.0.0 Ok: queued as {id}");
                let mut meta = spool_meta(id, queue, &envelope, &scans, spam_tagged, printable);
                if let Err(e) = self.store.record_trace(&trace).await {
                    tracing::warn!(spool_id = %meta.id, error = %e, "cannot write the message trace now; the pipeline will");
                    meta.pending_trace = Some(trace.clone());
                }
                meta.sender_grade = auth.grade.as_str().to_owned();
                meta.spf_fail_without_dkim = auth.spf == "fail" && auth.dkim != "pass";
                meta.automatic = submission.automatic;
                let disposition = self.spool_accepted(meta, &raw).await;
                if matches!(disposition, Disposition::Accepted { .. }) {
                    live.sender_limits.count(sender_key);
                } else if let Err(e) = self.store.trace_outcome(&trace.id, "tempfail", &SmtpReply::from(&disposition).to_string()).await {
                    tracing::warn!(spool_id = %trace.id, error = %e, "cannot update the message trace");
                }
                disposition
            }
            Verdict::Refuse(r) => Disposition::Refused(r),
            Verdict::TempFail(t) => Disposition::TempFail(t),
        };
        log_outcome(&envelope, &scans, &trace.id, &disposition);
        if !matches!(disposition, Disposition::Accepted { .. }) {
            trace.outcome = outcome_word(&disposition).to_owned();
            trace.reply = SmtpReply::from(&disposition).to_string();
            tokio::spawn(record_trace_retrying(self.store.clone(), trace));
        }
        disposition
    }

    async fn spool_accepted(&self, meta: SpoolMeta, raw: &[u8]) -> Disposition {
        if let Err(e) = self.spool.write(&meta, raw).await {
            tracing::error!(spool_id = %meta.id, error = %e, "spool write failed; message not accepted");
            return Disposition::TempFail(TempFailure::Spool);
        }
        // The worker may be gone during shutdown; the entry is durable and replayed at start.
        let _ = self.work.send(meta.id.clone());
        Disposition::Accepted { queue_id: meta.id }
    }
}

/// Traces of refused mail in memory, waiting for an unreachable store.
static PENDING_TRACES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// At most this many (about 1 KiB each); beyond it a refusal's trace is dropped with a warning.
const MAX_PENDING_TRACES: usize = 10_000;
/// Retries 1 s, 2 s, 4 s … capped at 60 s: about 10 minutes in all.
const TRACE_ATTEMPTS: u32 = 15;

/// Records the trace of a mail that was not spooled (refused or deferred). Such mail has no
/// spool entry to carry its trace through a database outage, so the write is retried in
/// memory for about ten minutes; only a restart in that time loses it.
async fn record_trace_retrying(store: Store, trace: Trace) {
    use std::sync::atomic::Ordering;
    if PENDING_TRACES.fetch_add(1, Ordering::SeqCst) >= MAX_PENDING_TRACES {
        PENDING_TRACES.fetch_sub(1, Ordering::SeqCst);
        tracing::warn!(spool_id = %trace.id, "too many traces waiting for the store; this one is dropped");
        return;
    }
    let mut delay = std::time::Duration::from_secs(1);
    for attempt in 1..=TRACE_ATTEMPTS {
        match store.record_trace(&trace).await {
            Ok(()) => break,
            Err(e) if attempt == TRACE_ATTEMPTS => {
                tracing::warn!(spool_id = %trace.id, error = %e, attempts = attempt, "cannot write the message trace; giving up");
            }
            Err(e) => {
                tracing::debug!(spool_id = %trace.id, error = %e, attempt, "cannot write the message trace yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(60));
            }
        }
    }
    PENDING_TRACES.fetch_sub(1, Ordering::SeqCst);
}

fn spool_meta(
    id: String,
    queue: &QueueConfig,
    envelope: &Envelope,
    scans: &ScanResults,
    spam_tagged: bool,
    printable: Vec<usize>,
) -> SpoolMeta {
    SpoolMeta {
        id,
        received_at: crate::store::now(),
        queue: queue.name.clone(),
        mail_from: envelope.mail_from.clone(),
        recipients: envelope.recipients.clone(),
        client_ip: envelope.client_ip.to_string(),
        helo: envelope.helo.clone(),
        spam_score: scans.spam.as_ref().map_or(f64::NAN, |r| r.score),
        spam_tagged,
        printable,
        options: envelope.options.clone(),
        tls: envelope.tls,
        sender_grade: String::new(),
        spf_fail_without_dkim: false,
        automatic: false,
        pending_trace: None,
    }
}

fn outcome_word(d: &Disposition) -> &'static str {
    match d {
        Disposition::Accepted { .. } => "accepted",
        Disposition::Refused(_) => "refused",
        Disposition::TempFail(_) => "tempfail",
    }
}

/// What the trace says of a document at screening time.
fn screening_outcome(doc: &crate::intake::Document, printable: bool, allowed: &[crate::intake::DocumentType]) -> String {
    match doc.role {
        Role::InlineImage => "skipped: inline image".into(),
        Role::SignatureImage => "skipped: signature or tracking image".into(),
        _ if printable => "printable".into(),
        _ => format!("refused: {}", refusal_reason(doc.detection(), allowed).unwrap_or_else(|| "not printable".into())),
    }
}

/// The trace record of a screened message: envelope, headers, scores, documents; no content.
fn trace_of(
    id: &str,
    envelope: &Envelope,
    submission: &Submission,
    scans: &ScanResults,
    verdict: &Verdict,
    size: usize,
    allowed: &[crate::intake::DocumentType],
) -> Trace {
    let printable: &[usize] = match verdict {
        Verdict::Accept { printable, .. } => printable,
        _ => &[],
    };
    let documents = submission
        .documents
        .iter()
        .enumerate()
        .filter(|(_, d)| d.role != Role::Body)
        .map(|(i, d)| TraceDocument {
            name: d.name.clone(),
            kind: d.detected.label().to_owned(),
            bytes: d.bytes.len(),
            outcome: screening_outcome(d, printable.contains(&i), allowed),
            pages: 0,
        })
        .collect();
    Trace {
        id: id.to_owned(),
        received_at: crate::store::now(),
        queue: envelope.queue.clone(),
        client_ip: envelope.client_ip.to_string(),
        helo: envelope.helo.clone(),
        mail_from: envelope.mail_from.clone().unwrap_or_default(),
        header_from: submission.from_address.clone().unwrap_or_default(),
        message_id: submission.message_id.clone().unwrap_or_default(),
        size: size as i64,
        tls: envelope.tls,
        outcome: "accepted".into(),
        reply: String::new(),
        spam_score: scans.spam.as_ref().ok().map(|r| r.score),
        spam_rules: scans.spam.as_ref().map_or_else(
            |e| format!("error: {e}"),
            |r| if r.truncated { format!("(headers and text parts only) {}", r.rules.join(",")) } else { r.rules.join(",") },
        ),
        virus: match &scans.clam {
            Ok(ClamOutcome::Infected { signature }) => signature.clone(),
            Ok(ClamOutcome::TooLarge) => "too large to scan".into(),
            Ok(ClamOutcome::Clean) => String::new(),
            Err(e) => format!("error: {e}"),
        },
        auth: String::new(),
        grade: String::new(),
        documents,
    }
}

/// Prepends the trace header every MTA adds (RFC 5321 4.4); SpamAssassin reads it too.
fn with_received_header(envelope: &Envelope, hostname: &str, id: &str, door: Door, raw: Vec<u8>) -> Vec<u8> {
    let protocol = match (door, envelope.tls) {
        (Door::Smtp, true) => "ESMTPS",
        (Door::Smtp, false) => "ESMTP",
        (Door::Web, true) => "HTTPS",
        (Door::Web, false) => "HTTP",
    };
    let helo: String = envelope.helo.chars().filter(|c| c.is_ascii_graphic()).take(100).collect();
    let date = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc2822).unwrap_or_default();
    let header = format!(
        "Received: from {helo} ([{ip}])\r\n\tby {hostname} (printgate) with {protocol} id {id};\r\n\t{date}\r\n",
        ip = envelope.client_ip
    );
    let mut out = Vec::with_capacity(header.len() + raw.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&raw);
    out
}

fn log_outcome(envelope: &Envelope, scans: &ScanResults, id: &str, disposition: &Disposition) {
    crate::metrics::inc("printgate_messages_total", &[("outcome", outcome_word(disposition))]);
    tracing::info!(
        spool_id = %id,
        client = %envelope.client_ip,
        queue = %envelope.queue,
        outcome = outcome_word(disposition),
        reply = %SmtpReply::from(disposition),
        clamav = ?scans.clam.as_ref().map_err(ToString::to_string),
        spam_score = ?scans.spam.as_ref().map(|r| r.score).ok(),
        spam_rules = ?scans.spam.as_ref().map(|r| r.rules.join(",")).ok(),
        "message screened"
    );
}

/// Maps `name+opt1+opt2@domain` to the queue `name@domain` with its options; local parts and
/// domains compare case-insensitively.
pub fn route(config: &Config, address: &str) -> Option<Route> {
    let (local, domain) = address.rsplit_once('@')?;
    let mut parts = local.split('+');
    let base = format!("{}@{domain}", parts.next()?);
    let queue = config.queue_for_address(&base)?;
    let options = parts.filter(|o| !o.is_empty()).map(str::to_ascii_lowercase).collect();
    Some(Route { queue: queue.name.clone(), options })
}

impl Receiver for Inbound {
    fn route(&self, address: &str) -> Option<Route> {
        route(&self.live.load().config, address)
    }

    async fn receive(&self, envelope: Envelope, message: Vec<u8>) -> Outcome {
        Outcome::from(self.submit(spool::new_id(), envelope, message, Door::Smtp).await)
    }
}

impl From<Disposition> for Outcome {
    fn from(d: Disposition) -> Self {
        match d {
            Disposition::Accepted { queue_id } => Self::Accepted { queue_id },
            Disposition::Refused(r) => Self::Refused((&r).into()),
            Disposition::TempFail(t) => Self::TempFail((&t).into()),
        }
    }
}

impl From<&Disposition> for SmtpReply {
    fn from(d: &Disposition) -> Self {
        match d {
            Disposition::Accepted { queue_id } => Self::queued(queue_id),
            Disposition::Refused(r) => r.into(),
            Disposition::TempFail(t) => t.into(),
        }
    }
}

impl From<&Refusal> for SmtpReply {
    fn from(r: &Refusal) -> Self {
        match r {
            Refusal::Virus { signature } => Self::virus_found(signature),
            Refusal::Spam { score, limit } => Self::spam(*score, *limit),
            Refusal::NothingPrintable { found } => Self::nothing_printable(found),
            Refusal::Malformed { reason } => Self::malformed(reason),
            Refusal::SenderFailing { domain } => Self::sender_failing(domain),
            Refusal::SenderUnauthenticated { domain } => Self::sender_unauthenticated(domain),
            Refusal::TooLargeForScanner => Self::too_large_for_scanner(),
            Refusal::SenderDenied => Self::sender_denied(),
            Refusal::SenderNotAllowed => Self::sender_not_allowed(),
        }
    }
}

impl From<&TempFailure> for SmtpReply {
    fn from(t: &TempFailure) -> Self {
        match t {
            TempFailure::ScannerUnavailable { scanner } => Self::scanner_unavailable(scanner),
            TempFailure::Spool => Self::spool_error(),
            TempFailure::SenderRateLimited => Self::sender_rate_limited(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infrastructure_is_4xx_content_is_5xx() {
        let virus = SmtpReply::from(&Refusal::Virus { signature: "Eicar-Test-Signature".into() });
        assert_eq!((virus.code, virus.enhanced), (554, "5.7.1"));
        assert!(virus.text.contains("Eicar-Test-Signature"));
        let spam = SmtpReply::from(&Refusal::Spam { score: 1002.3, limit: 10.0 });
        assert_eq!(spam.code, 550);
        let nothing = SmtpReply::from(&Refusal::NothingPrintable { found: "setup.exe: programs cannot be printed".into() });
        assert_eq!(nothing.to_string(), "550 5.6.0 Nothing printable in this message: setup.exe: programs cannot be printed");
        assert!(spam.text.contains("score 1002.3 / limit 10.0"), "{}", spam.text);
        let down = SmtpReply::from(&TempFailure::ScannerUnavailable { scanner: "ClamAV".into() });
        assert_eq!((down.code, down.enhanced), (451, "4.7.0"));
        let spool = SmtpReply::from(&TempFailure::Spool);
        assert_eq!(spool.code / 100, 4);
    }
}
