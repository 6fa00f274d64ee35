//! Screening: the scanners (clamd, spamd) and the decision over what they and intake found.
//!
//! Owns the [`Verdict`] and its reasons. The I/O clients live in [`clamav`] and [`spamd`];
//! [`decide`] is a pure function over their results, the queue and the [`Submission`], so every
//! rule is unit-tested without sockets. Screening never converts or stores anything.

pub mod clamav;
pub mod auth;
pub mod endpoint;
pub mod spamd;

use std::time::Duration;

pub use endpoint::Endpoint;

use crate::config::QueueConfig;
use crate::intake::{DocumentType, Submission};
use clamav::{ClamClient, ClamOutcome};
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
    Virus { signature: String },
    Spam { score: f64, limit: f64 },
    NothingPrintable { found: String },
    Malformed { reason: String },
    /// Larger than clamd's `StreamMaxLength`: it cannot be scanned, so it is not accepted.
    TooLargeForScanner,
}

/// Infrastructure reasons not to accept a message now (4xx: the sender retries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TempFailure {
    ScannerUnavailable { scanner: String },
    Spool,
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

/// The scanners' raw answers for one message.
#[derive(Debug)]
pub struct ScanResults {
    pub clam: Result<ClamOutcome, ScanError>,
    pub spam: Result<SpamReport, ScanError>,
}

/// Both scanner clients, run side by side.
#[derive(Debug, Clone)]
pub struct Scanners {
    pub clam: ClamClient,
    pub spam: SpamClient,
}

impl Scanners {
    pub fn from_config(scan: &crate::config::ScanConfig) -> Result<Self, String> {
        let clam = ClamClient::new(Endpoint::parse(&scan.clamav.address)?, scan.clamav.timeout);
        let spam = SpamClient::new(
            Endpoint::parse(&scan.spamassassin.address)?,
            scan.spamassassin.timeout,
            scan.spamassassin.max_bytes,
        );
        Ok(Self { clam, spam })
    }

    /// Runs clamd and spamd concurrently on the raw message: the slower one sets the pace.
    pub async fn scan(&self, raw: &[u8]) -> ScanResults {
        let (clam, spam) = tokio::join!(self.clam.scan(raw), self.spam.check(raw));
        ScanResults { clam, spam }
    }
}

/// Decides what happens to a message. Order matters: a scanner that could not answer means
/// "not now" whatever else is known, a virus outranks spam, and spam outranks content.
pub fn decide(queue: &QueueConfig, submission: &Submission, scans: &ScanResults) -> Verdict {
    match &scans.clam {
        Err(_) => return Verdict::TempFail(TempFailure::ScannerUnavailable { scanner: CLAMAV.into() }),
        Ok(ClamOutcome::Infected { signature }) => {
            return Verdict::Refuse(Refusal::Virus { signature: signature.clone() });
        }
        Ok(ClamOutcome::TooLarge) => return Verdict::Refuse(Refusal::TooLargeForScanner),
        Ok(ClamOutcome::Clean) => {}
    }
    let spam = match &scans.spam {
        Err(_) => return Verdict::TempFail(TempFailure::ScannerUnavailable { scanner: SPAMASSASSIN.into() }),
        Ok(report) => report,
    };
    if spam.score >= queue.spam_reject_score {
        return Verdict::Refuse(Refusal::Spam { score: spam.score, limit: queue.spam_reject_score });
    }
    let allowed: Vec<DocumentType> =
        queue.allowed_types.iter().filter_map(|t| DocumentType::from_config_name(t)).collect();
    let printable: Vec<usize> = submission
        .documents
        .iter()
        .enumerate()
        .filter(|(_, d)| allowed.contains(&d.detected))
        .map(|(i, _)| i)
        .collect();
    if printable.is_empty() {
        return Verdict::Refuse(Refusal::NothingPrintable { found: submission.describe_contents() });
    }
    Verdict::Accept { printable, spam_tagged: spam.score >= queue.spam_tag_score }
}

#[cfg(test)]
mod tests;
