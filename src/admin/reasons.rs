//! Why a message was refused, as one of a few categories a librarian knows (spam, virus, …),
//! decided from its trace alone: the dashboard counts refusals per category, and the trace
//! search lists the messages of one category (its drill-down).
//!
//! The decision reads the texts printgate itself writes: the SMTP reply (`crate::smtp::reply`)
//! and each document's `refused: <reason>` (intake's `refusal_reason`, the converter's
//! `ConvertError`). The table test builds its examples with those same functions, so a reworded
//! reply that this module no longer recognises fails the test. Pure; nothing here reads the
//! store.

use crate::store::trace::Trace;

/// A refusal's category. The order of [`Category::ALL`] is the dashboard's, and decides between
/// the documents of one message refused for different reasons (the first category wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Spam,
    Virus,
    /// SPF, DKIM, DMARC: the sender's domain could not be verified, or its policy rejects.
    SenderAuth,
    /// A kind of file that is not printed (programs, archives, types the queue does not take).
    FileType,
    /// Encrypted documents, and PDFs whose permissions forbid printing.
    Password,
    Macros,
    /// Too large for the scanner or the converter, or more pages than the queue allows.
    SizeOrPages,
    /// No attachment to print, or only damaged or empty ones.
    NothingPrintable,
    /// Anything else: a malformed message, colour sent to a black-and-white queue, a reply
    /// text this module does not know.
    Other,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Self::Spam,
        Self::Virus,
        Self::SenderAuth,
        Self::FileType,
        Self::Password,
        Self::Macros,
        Self::SizeOrPages,
        Self::NothingPrintable,
        Self::Other,
    ];

    /// The category's name in a URL (`/trace?category=virus`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spam => "spam",
            Self::Virus => "virus",
            Self::SenderAuth => "sender",
            Self::FileType => "file-type",
            Self::Password => "password",
            Self::Macros => "macros",
            Self::SizeOrPages => "size",
            Self::NothingPrintable => "nothing-printable",
            Self::Other => "other",
        }
    }

    /// The category in words, for the dashboard and the trace search's select.
    pub fn words(self) -> &'static str {
        match self {
            Self::Spam => "Spam",
            Self::Virus => "Virus",
            Self::SenderAuth => "Sender authentication (SPF, DKIM, DMARC)",
            Self::FileType => "File type not printed",
            Self::Password => "Password protected",
            Self::Macros => "Documents with macros",
            Self::SizeOrPages => "Too large or too many pages",
            Self::NothingPrintable => "Nothing printable (no attachment, or damaged or empty files)",
            Self::Other => "Other (malformed mail, colour to a black-and-white printer, …)",
        }
    }

    /// The category named `slug` ([`Category::as_str`]).
    pub fn parse(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == slug.trim())
    }
}

/// Why `t` was refused; `None` when it was not. A message counts as refused when it was refused
/// at the door (`outcome` `refused`), or when it was accepted but, once processed, none of its
/// documents could be stored (every one `refused: …`): the patron printed nothing either way.
/// A message put off (`tempfail`) is not refused: its sender's server tries again.
pub fn category(t: &Trace) -> Option<Category> {
    match t.outcome.as_str() {
        "refused" => Some(from_reply(t)),
        "accepted" if all_documents_refused(t) => Some(from_documents(t)),
        _ => None,
    }
}

fn all_documents_refused(t: &Trace) -> bool {
    !t.documents.is_empty()
        && t.documents.iter().all(|d| d.outcome.starts_with("refused: ") || d.outcome.starts_with("skipped: "))
        && t.documents.iter().any(|d| d.outcome.starts_with("refused: "))
}

/// A refusal at the door, from its SMTP reply (and the virus scan's finding).
fn from_reply(t: &Trace) -> Category {
    let reply = t.reply.as_str();
    let has = |needle: &str| reply.contains(needle);
    if has("virus found") {
        Category::Virus
    } else if has("refused as spam") {
        Category::Spam
    } else if has("Sender authentication failed") || has("only accepts authenticated senders") {
        Category::SenderAuth
    } else if has("larger than the virus scanner accepts") || has("Message too big") {
        Category::SizeOrPages
    } else if has("Nothing printable in this message") {
        from_documents(t)
    } else {
        Category::Other
    }
}

/// The first category (in [`Category::ALL`]'s order) among the refused documents' reasons;
/// nothing printable when there is none (a mail with no attachment).
fn from_documents(t: &Trace) -> Category {
    t.documents
        .iter()
        .filter_map(|d| d.outcome.strip_prefix("refused: "))
        .map(document_category)
        .min()
        .unwrap_or(Category::NothingPrintable)
}

/// The category of one document's reason (the text after `refused: `).
fn document_category(reason: &str) -> Category {
    let has = |needles: &[&str]| needles.iter().any(|n| reason.contains(n));
    if has(&["password", "permissions do not allow printing"]) {
        Category::Password
    } else if has(&["macros"]) {
        Category::Macros
    } else if has(&["pages is more than", "megapixels", "more memory to decode", "unpacks to too much data"]) {
        Category::SizeOrPages
    } else if has(&["cannot be printed", "are not accepted by this printer"]) {
        Category::FileType
    } else if has(&["black and white only"]) {
        Category::Other
    } else if has(&[
        "damaged",
        "no pages",
        "cannot be read",
        "could not be read",
        "could not convert",
        "crashed",
        "took longer",
        "not processed",
        "not printable",
        "DTD",
    ]) {
        Category::NothingPrintable
    } else {
        Category::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::ConvertError;
    use crate::intake::detect::refusal_reason;
    use crate::intake::{Detection, DocumentType, Hazard};
    use crate::smtp::SmtpReply;
    use crate::store::trace::TraceDocument;

    fn trace(outcome: &str, reply: SmtpReply, documents: &[&str]) -> Trace {
        Trace {
            id: "t".into(),
            received_at: 0,
            queue: "bw".into(),
            client_ip: "192.0.2.1".into(),
            helo: "h".into(),
            mail_from: "p@example.com".into(),
            header_from: "p@example.com".into(),
            message_id: "<m@example.com>".into(),
            size: 100,
            tls: false,
            outcome: outcome.into(),
            reply: reply.to_string(),
            spam_score: Some(1.0),
            spam_rules: String::new(),
            virus: String::new(),
            auth: String::new(),
            grade: String::new(),
            documents: documents
                .iter()
                .map(|o| TraceDocument { name: "f".into(), kind: "PDF".into(), bytes: 1, outcome: (*o).into(), pages: 0 })
                .collect(),
        }
    }

    fn doc(detection: Detection) -> String {
        format!("refused: {}", refusal_reason(detection, &[DocumentType::Pdf]).unwrap())
    }

    fn converted(e: ConvertError) -> String {
        format!("refused: {e}")
    }

    #[test]
    fn each_real_refusal_falls_in_its_category() {
        let nothing = || SmtpReply::nothing_printable("see the documents");
        let exe = doc(Detection { kind: DocumentType::Executable, hazard: None });
        let locked = doc(Detection { kind: DocumentType::Pdf, hazard: Some(Hazard::Encrypted) });
        let macros = doc(Detection { kind: DocumentType::Pdf, hazard: Some(Hazard::Macros) });
        let bomb = doc(Detection { kind: DocumentType::Pdf, hazard: Some(Hazard::Bomb) });
        let too_long = converted(ConvertError::TooManyPages { pages: 40, limit: 30 });
        let damaged = converted(ConvertError::BrokenPdf("xref".into()));
        let colour = converted(ConvertError::ColourOnMonoQueue("2".into()));
        let cases: Vec<(Trace, Option<Category>)> = vec![
            (trace("refused", SmtpReply::spam(12.3, 10.0), &[]), Some(Category::Spam)),
            (trace("refused", SmtpReply::virus_found("Eicar-Signature"), &["printable"]), Some(Category::Virus)),
            (trace("refused", SmtpReply::sender_failing("example.com"), &["printable"]), Some(Category::SenderAuth)),
            (trace("refused", SmtpReply::sender_unauthenticated("example.com"), &[]), Some(Category::SenderAuth)),
            (trace("refused", nothing(), &[&exe]), Some(Category::FileType)),
            (trace("refused", nothing(), &[&locked]), Some(Category::Password)),
            (trace("refused", nothing(), &[&macros]), Some(Category::Macros)),
            (trace("refused", nothing(), &[&exe, &locked]), Some(Category::FileType)),
            (trace("refused", SmtpReply::too_large_for_scanner(), &[]), Some(Category::SizeOrPages)),
            (trace("refused", nothing(), &[&bomb]), Some(Category::SizeOrPages)),
            (trace("refused", SmtpReply::nothing_printable("a plain text body"), &[]), Some(Category::NothingPrintable)),
            (trace("refused", SmtpReply::malformed("no header"), &[]), Some(Category::Other)),
            // Accepted, but after processing nothing could be stored.
            (trace("accepted", SmtpReply::queued("q1"), &[&too_long]), Some(Category::SizeOrPages)),
            (trace("accepted", SmtpReply::queued("q1"), &[&damaged, "skipped: inline image"]), Some(Category::NothingPrintable)),
            (trace("accepted", SmtpReply::queued("q1"), &[&colour]), Some(Category::Other)),
            (trace("accepted", SmtpReply::queued("q1"), &[&converted(ConvertError::PasswordProtected)]), Some(Category::Password)),
            // Not refused: stored (even partly), still being processed, a command, put off.
            (trace("accepted", SmtpReply::queued("q1"), &["stored", &too_long]), None),
            (trace("accepted", SmtpReply::queued("q1"), &["printable"]), None),
            (trace("accepted", SmtpReply::queued("q1"), &[]), None),
            (trace("tempfail", SmtpReply::sender_rate_limited(), &[]), None),
            (trace("tempfail", SmtpReply::scanner_unavailable("clamd"), &[]), None),
        ];
        for (t, expected) in cases {
            assert_eq!(category(&t), expected, "{} {:?}", t.reply, t.documents);
        }
    }

    #[test]
    fn every_category_has_a_slug_that_parses_back_and_words() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
            assert!(!c.words().is_empty());
        }
        assert_eq!(Category::parse("nonsense"), None);
        assert_eq!(Category::ALL.len(), 9);
    }
}
