//! Screening's words as the SMTP door's answers: the conversions to [`Outcome`] and
//! [`SmtpReply`] (whose named constructors stay the one place reply codes are chosen), and the
//! same words for a door that tells a refusal by reply.

use super::{Disposition, Refusal, TempFailure};
use crate::smtp::{Outcome, SmtpReply};

/// The words of a refusal (its SMTP reply's text), for a door that tells it by reply.
pub fn refusal_words(r: &Refusal) -> String {
    SmtpReply::from(r).text
}

/// A temporary failure as the SMTP door would answer it, for logs.
pub fn tempfail_words(t: &TempFailure) -> String {
    SmtpReply::from(t).to_string()
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
