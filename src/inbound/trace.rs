//! The message trace of a screened message (envelope, headers, scores, documents; no content)
//! and its write for mail that was not spooled.

use crate::intake::detect::refusal_reason;
use crate::intake::{Role, Submission};
use crate::screen::clamav::ClamOutcome;
use crate::screen::{ScanResults, Verdict};
use crate::store::Store;
use crate::store::trace::{Trace, TraceDocument};

use super::Arrival;

/// Traces of refused mail in memory, waiting for an unreachable store.
static PENDING_TRACES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// At most this many (about 1 KiB each); beyond it a refusal's trace is dropped with a warning.
const MAX_PENDING_TRACES: usize = 10_000;
/// Retries 1 s, 2 s, 4 s … capped at 60 s: about 10 minutes in all.
const TRACE_ATTEMPTS: u32 = 15;

/// Records the trace of a mail that was not spooled (refused or deferred). Such mail has no
/// spool entry to carry its trace through a database outage, so the write is retried in
/// memory for about ten minutes; only a restart in that time loses it.
pub(super) async fn record_trace_retrying(store: Store, trace: Trace) {
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
pub(super) fn trace_of(
    id: &str,
    arrival: &Arrival,
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
        queue: arrival.queue.clone(),
        client_ip: arrival.client_ip.to_string(),
        helo: arrival.helo.clone(),
        mail_from: arrival.mail_from.clone().unwrap_or_default(),
        header_from: submission.from_address.clone().unwrap_or_default(),
        message_id: submission.message_id.clone().unwrap_or_default(),
        size: size as i64,
        tls: arrival.tls,
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
