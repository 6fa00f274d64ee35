//! Screening: the scanners (clamd, spamd) and the decision over what they and intake found.
//!
//! Owns the [`Verdict`] and its reasons. The I/O clients live in [`clamav`] and [`spamd`];
//! [`decide`] is a pure function over their results, the queue and the [`Submission`], so every
//! rule is unit-tested without sockets. Screening never converts or stores anything.

pub mod auth;
pub mod clamav;
pub mod endpoint;
pub mod rspamd;
pub mod spamd;

use std::time::Duration;

pub use endpoint::Endpoint;

use crate::config::{AcceptPolicy, QueueConfig};
use crate::intake::detect::refusal_reason;
use crate::intake::{DocumentType, Origin, Role, Submission};
use auth::{AuthResults, SenderGrade};
use clamav::{ClamClient, ClamOutcome};
use rspamd::{RspamdClient, RspamdEnvelope};
use spamd::{SpamClient, SpamReport};

/// A scanner could not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("connection failed: {0}")]
    Io(std::io::Error),
    #[error("no answer within {after:?}")]
    Timeout { after: Duration },
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

/// Content or policy reasons to refuse a message (5xx: the sender should not retry).
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    Virus {
        signature: String,
    },
    Spam {
        score: f64,
        limit: f64,
    },
    NothingPrintable {
        found: String,
    },
    Malformed {
        reason: String,
    },
    /// Larger than clamd's `StreamMaxLength`: it cannot be scanned, so it is not accepted.
    TooLargeForScanner,
    /// DMARC fails and the sender's domain asks for rejection.
    SenderFailing {
        domain: String,
    },
    /// The queue takes mail from authenticated senders only.
    SenderUnauthenticated {
        domain: String,
    },
    /// The queue's `deny_senders` names an address of the mail.
    SenderDenied,
    /// The queue's `allow_senders` does not name the patron.
    SenderNotAllowed,
}

/// Infrastructure reasons not to accept a message now (4xx: the sender retries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TempFailure {
    ScannerUnavailable {
        scanner: String,
    },
    Spool,
    /// This sender (or its domain) sent more than its hourly share.
    SenderRateLimited,
}

/// The screening decision for one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Accept {
        /// Indexes into `Submission::documents` of what will be printed.
        printable: Vec<usize>,
        /// At or above the queue's tag score: accepted, but marked.
        spam_tagged: bool,
    },
    Refuse(Refusal),
    TempFail(TempFailure),
}

pub const CLAMAV: &str = "The virus scanner (ClamAV)";
pub const SPAMASSASSIN: &str = "The spam filter (SpamAssassin)";
pub const RSPAMD: &str = "The spam filter (rspamd)";

/// The scanners' raw answers for one message.
#[derive(Debug)]
pub struct ScanResults {
    pub clam: Result<ClamOutcome, ScanError>,
    pub spam: Result<SpamReport, ScanError>,
    /// Which spam filter answered (for the outage reply).
    pub spam_filter: &'static str,
}

/// The spam filter in use.
#[derive(Debug, Clone)]
pub enum SpamFilter {
    SpamAssassin(SpamClient),
    Rspamd(RspamdClient),
}

impl SpamFilter {
    fn max_bytes(&self) -> usize {
        match self {
            Self::SpamAssassin(c) => c.max_bytes(),
            Self::Rspamd(c) => c.max_bytes(),
        }
    }

    /// The filter's name for replies and traces.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SpamAssassin(_) => SPAMASSASSIN,
            Self::Rspamd(_) => RSPAMD,
        }
    }

    /// The engine's name as a metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Self::SpamAssassin(_) => "spamassassin",
            Self::Rspamd(_) => "rspamd",
        }
    }

    async fn check(&self, message: &[u8], envelope: RspamdEnvelope<'_>) -> Result<SpamReport, ScanError> {
        match self {
            Self::SpamAssassin(c) => c.check(message).await,
            Self::Rspamd(c) => c.check(message, envelope).await,
        }
    }
}

/// Both scanner clients, run side by side.
#[derive(Debug, Clone)]
pub struct Scanners {
    pub clam: ClamClient,
    pub spam: SpamFilter,
}

impl Scanners {
    /// # Errors
    /// A message naming the address that does not parse or the missing section.
    pub fn from_config(scan: &crate::config::ScanConfig) -> Result<Self, String> {
        let clam = ClamClient::new(scan.clamav.address.clone(), scan.clamav.timeout);
        let section = scan.spam().ok_or("the selected spam engine has no section")?;
        let spam = match scan.spam_engine {
            crate::config::SpamEngine::Spamassassin => {
                SpamFilter::SpamAssassin(SpamClient::new(section.address.clone(), section.timeout, section.max_bytes))
            }
            crate::config::SpamEngine::Rspamd => {
                SpamFilter::Rspamd(RspamdClient::new(&section.address.to_string(), section.timeout, section.max_bytes)?)
            }
        };
        Ok(Self { clam, spam })
    }

    /// Runs clamd and spamd concurrently: the slower one sets the pace. clamd sees the raw
    /// message once, and on their own only the files it may not decode as intake did
    /// ([`needs_own_scan`]); spamd sees the message, or for a message above its size cap the
    /// headers and text parts only.
    pub async fn scan(&self, raw: &[u8], submission: &Submission, envelope: RspamdEnvelope<'_>) -> ScanResults {
        let spam_input = spam_input(raw, submission, self.spam.max_bytes());
        let spam_name = self.spam.name();
        let (clam_label, spam_label) = ([("scanner", "clamav")], [("scanner", self.spam.label())]);
        let (clam, spam) = tokio::join!(
            crate::metrics::timed("printgate_scanner_seconds", &clam_label, self.scan_clam(raw, submission)),
            crate::metrics::timed("printgate_scanner_seconds", &spam_label, self.spam.check(&spam_input, envelope))
        );
        if clam.is_err() {
            crate::metrics::inc("printgate_scanner_errors_total", &[("scanner", "clamav")]);
        }
        if spam.is_err() {
            crate::metrics::inc("printgate_scanner_errors_total", &spam_label);
        }
        ScanResults { clam, spam, spam_filter: spam_name }
    }

    async fn scan_clam(&self, raw: &[u8], submission: &Submission) -> Result<ClamOutcome, ScanError> {
        let outcome = self.clam.scan(raw).await?;
        if outcome != ClamOutcome::Clean {
            return Ok(outcome);
        }
        for doc in submission.documents.iter().filter(|d| needs_own_scan(d.role, d.origin, d.detected)) {
            let outcome = self.clam.scan(&doc.bytes).await?;
            if outcome != ClamOutcome::Clean {
                return Ok(outcome);
            }
        }
        Ok(ClamOutcome::Clean)
    }
}

/// Whether clamd must scan a file on its own, beside the raw message. Not needed for the
/// message body (text clamd has read in the raw message), nor for a PDF, image or Office file
/// that came as a plain base64 part: clamd decodes that to the same bytes and types it as the
/// same binary file (measured: docs/screening.md, "One ClamAV pass"). Text-like files (HTML,
/// scripts, RTF) clamd normalises, so their bytes are scanned as intake found them.
pub fn needs_own_scan(role: Role, origin: Origin, kind: DocumentType) -> bool {
    use DocumentType as T;
    let binary_document = matches!(
        kind,
        T::Pdf
            | T::Jpeg
            | T::Png
            | T::Gif
            | T::Tiff
            | T::Bmp
            | T::Webp
            | T::Heic
            | T::Avif
            | T::Docx
            | T::Xlsx
            | T::Pptx
            | T::Doc
            | T::Xls
            | T::Ppt
            | T::Odt
            | T::Ods
            | T::Odp
    );
    role != Role::Body && !(origin == Origin::Base64Part && binary_document)
}

/// What each part of a message was and why it will not print, for a 5xx reply. Long lists
/// are cut politely: the reply line must stay readable.
pub fn describe_refusals(submission: &Submission, allowed: &[DocumentType]) -> String {
    const MAX_CHARS: usize = 300;
    let mut parts: Vec<String> = submission
        .documents
        .iter()
        .map(|d| match d.role {
            Role::Attachment => {
                let reason = refusal_reason(d.detection(), allowed).unwrap_or_else(|| "not printable".into());
                format!("{}: {reason}", d.name)
            }
            _ => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        return submission.describe_contents();
    }
    let mut out = String::new();
    let total = parts.len();
    for (i, part) in parts.drain(..).enumerate() {
        if out.len() + part.len() > MAX_CHARS && i > 0 {
            out.push_str(&format!("; and {} more", total - i));
            break;
        }
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&part);
    }
    out
}

/// What spamd is given: the message itself when small enough, else its header section and
/// its text parts as one plain-text message (large mails are large because of attachments,
/// which SpamAssassin does not score anyway).
pub fn spam_input<'a>(raw: &'a [u8], submission: &Submission, max_bytes: usize) -> std::borrow::Cow<'a, [u8]> {
    if raw.len() <= max_bytes {
        return std::borrow::Cow::Borrowed(raw);
    }
    let header_end = raw.windows(4).position(|w| w == b"\r\n\r\n").map_or(raw.len().min(max_bytes), |p| p + 2);
    let mut out = Vec::with_capacity(max_bytes);
    for line in split_header_fields(&raw[..header_end]) {
        let lower = line.to_ascii_lowercase();
        if !(lower.starts_with(b"content-type:") || lower.starts_with(b"content-transfer-encoding:") || lower.starts_with(b"mime-version:"))
        {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nX-Printgate-Scan: headers and text parts only\r\n\r\n",
    );
    for body in submission.documents.iter().filter(|d| d.role == Role::Body) {
        out.extend_from_slice(&body.bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.truncate(max_bytes);
    std::borrow::Cow::Owned(out)
}

/// Header fields with their folded continuation lines, each ending in CRLF.
fn split_header_fields(header: &[u8]) -> Vec<&[u8]> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < header.len() {
        if header[i] == b'\n' {
            let next = header.get(i + 1);
            if !matches!(next, Some(b' ' | b'\t')) {
                fields.push(&header[start..=i]);
                start = i + 1;
            }
        }
        i += 1;
    }
    if start < header.len() {
        fields.push(&header[start..]);
    }
    fields
}

/// Decides what happens to a message. Order matters: a scanner that could not answer means
/// "not now" whatever else is known, a virus outranks spam, and spam outranks content.
/// The queue's sender lists over the patron's address (From, else the envelope sender) and the
/// envelope sender: `None` when the mail may go on ([`crate::config::senders::check`]).
pub fn sender_lists(queue: &QueueConfig, patron: &str, envelope: &str) -> Option<Refusal> {
    use crate::config::senders::{SenderCheck, check};
    match check(&queue.allow_senders, &queue.deny_senders, patron, envelope) {
        SenderCheck::Allowed => None,
        SenderCheck::Denied(_) => Some(Refusal::SenderDenied),
        SenderCheck::NotAllowed => Some(Refusal::SenderNotAllowed),
    }
}

pub fn decide(queue: &QueueConfig, submission: &Submission, scans: &ScanResults, auth: &AuthResults) -> Verdict {
    match &scans.clam {
        Err(_) => return Verdict::TempFail(TempFailure::ScannerUnavailable { scanner: CLAMAV.into() }),
        Ok(ClamOutcome::Infected { signature }) => {
            return Verdict::Refuse(Refusal::Virus { signature: signature.clone() });
        }
        Ok(ClamOutcome::TooLarge) => return Verdict::Refuse(Refusal::TooLargeForScanner),
        Ok(ClamOutcome::Clean) => {}
    }
    let spam = match &scans.spam {
        Err(_) => return Verdict::TempFail(TempFailure::ScannerUnavailable { scanner: scans.spam_filter.into() }),
        Ok(report) => report,
    };
    if spam.score >= queue.spam_reject_score || spam.reject_action {
        // An engine's own reject action counts as at least the queue's limit.
        let score = if spam.reject_action { spam.score.max(queue.spam_reject_score) } else { spam.score };
        return Verdict::Refuse(Refusal::Spam { score, limit: queue.spam_reject_score });
    }
    let domain = || auth.from_domain.clone();
    match (queue.accept_policy, auth.grade) {
        (AcceptPolicy::NotFailing | AcceptPolicy::Authenticated, SenderGrade::Failing) => {
            return Verdict::Refuse(Refusal::SenderFailing { domain: domain() });
        }
        (AcceptPolicy::Authenticated, SenderGrade::Unauthenticated) => {
            return Verdict::Refuse(Refusal::SenderUnauthenticated { domain: domain() });
        }
        _ => {}
    }
    let allowed = queue.allowed_types.types();
    let printable: Vec<usize> = submission
        .documents
        .iter()
        .enumerate()
        .filter(|(_, d)| d.role == Role::Attachment && refusal_reason(d.detection(), allowed).is_none())
        .map(|(i, _)| i)
        .collect();
    if printable.is_empty() {
        return Verdict::Refuse(Refusal::NothingPrintable { found: describe_refusals(submission, allowed) });
    }
    Verdict::Accept { printable, spam_tagged: spam.score >= queue.spam_tag_score }
}

#[cfg(test)]
mod tests;
