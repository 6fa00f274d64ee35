//! Intake: a raw RFC 5322 message becomes a [`Submission`] of documents.
//!
//! Owns MIME parsing (mail-parser) and file-type detection by content. It makes no accept or
//! reject decision: it reports what it found, and [`crate::screen`] decides.

pub mod detect;
mod names;
pub mod options;
pub mod tnef;
mod unclosed;
pub mod uuencode;

use std::collections::HashSet;

use mail_parser::{MessageParser, MessagePart, MimeHeaders, PartType};

pub use detect::{Detection, DocumentType, Hazard};

/// Where in the message a document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An attached file (also inside forwarded messages, TNEF or uuencoded in the body).
    Attachment,
    /// The message's own text/HTML body.
    Body,
    /// An image the HTML body shows by `cid:` (a logo in the text): never printed.
    InlineImage,
    /// A signature logo or tracking pixel: never printed.
    SignatureImage,
}

impl Role {
    /// Parts that are not documents the patron meant to print.
    pub fn is_decoration(self) -> bool {
        matches!(self, Self::InlineImage | Self::SignatureImage)
    }
}

/// One candidate document.
#[derive(Debug, Clone)]
pub struct Document {
    /// File name as the patron's mail program gave it (decoded), or a made-up one.
    pub name: String,
    pub bytes: Vec<u8>,
    /// The Content-Type the sender declared.
    pub declared_type: String,
    /// The type found by looking at the bytes.
    pub detected: DocumentType,
    /// Macros, a password, a bomb: refuses an otherwise printable type.
    pub hazard: Option<Hazard>,
    pub role: Role,
}

impl Document {
    pub fn detection(&self) -> Detection {
        Detection { kind: self.detected, hazard: self.hazard }
    }
}

/// The parsed message: headers printgate needs and every candidate document.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    /// The address in `From:` (what DMARC authenticates and replies go to).
    pub from_address: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    /// The `Message-ID` field as sent, unchecked: a reply threads on it only when it is a
    /// valid msg-id (`notify::msgid`).
    pub message_id_field: Option<String>,
    /// Sent by a program or a list (`Auto-Submitted` other than `no`, `List-Id`, or
    /// `Precedence: bulk|list|junk`): must never get an automatic reply (RFC 3834).
    pub automatic: bool,
    pub documents: Vec<Document>,
}

/// Why a message could not be parsed at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IntakeError {
    #[error("the message has no header section")]
    NoHeaders,
    #[error("the MIME structure is too broken to read")]
    Unreadable,
    #[error("a header line is {bytes} bytes long (the limit is {MAX_HEADER_LINE}; RFC 5322 allows 998)")]
    HeaderLineTooLong { bytes: usize },
}

/// The longest header line accepted. RFC 5322 allows 998 characters; real mail has longer ones
/// (signatures, long References), so the limit is generous — but a megabyte line only serves
/// to stall the spam filter (spamd spent its whole time limit on one), so it is refused.
pub const MAX_HEADER_LINE: usize = 64 * 1024;

/// The length of the longest line of the header section.
fn longest_header_line(raw: &[u8]) -> usize {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| raw.windows(2).position(|w| w == b"\n\n")).unwrap_or(raw.len());
    raw[..end].split(|b| *b == b'\n').map(<[u8]>::len).max().unwrap_or(0)
}

impl Submission {
    /// Parses `raw` into a submission.
    ///
    /// # Errors
    /// [`IntakeError`] when the bytes are not a message at all.
    pub fn parse(raw: &[u8]) -> Result<Self, IntakeError> {
        let longest = longest_header_line(raw);
        if longest > MAX_HEADER_LINE {
            return Err(IntakeError::HeaderLineTooLong { bytes: longest });
        }
        // mail-parser 0.11 has a debug assertion on some broken nested multiparts (found by
        // fuzzing: tests/fixtures/hostile/mail-parser-invalid-part-id.eml). Release builds
        // recover; any build must answer the sender rather than drop the session.
        let parsed = std::panic::catch_unwind(|| MessageParser::default().parse(raw));
        let message = parsed.map_err(|_| IntakeError::Unreadable)?.ok_or(IntakeError::NoHeaders)?;
        if message.headers().is_empty() {
            return Err(IntakeError::NoHeaders);
        }
        let mut submission = Submission {
            from_address: message.from().and_then(|a| a.first()).and_then(|a| a.address()).map(str::to_owned),
            subject: message.subject().map(str::to_owned),
            message_id: message.message_id().map(str::to_owned),
            message_id_field: message.header_raw(mail_parser::HeaderName::MessageId).map(str::to_owned),
            automatic: is_automatic(&message),
            documents: Vec::new(),
        };
        let mut seen = HashSet::new();
        collect(&message, &mut submission.documents, &mut seen, 0);
        Ok(submission)
    }

    /// A short, human description of what the message contained (for refusals).
    pub fn describe_contents(&self) -> String {
        if self.documents.is_empty() {
            return "no attachments".to_owned();
        }
        self.documents
            .iter()
            .map(|d| match d.role {
                Role::Body => format!("a {} body", d.detected.label()),
                Role::InlineImage => format!("{} (an image inside the text)", d.name),
                Role::SignatureImage => format!("{} (a signature or tracking image)", d.name),
                Role::Attachment => format!("{} ({})", d.name, d.detected.label()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn is_automatic(message: &mail_parser::Message<'_>) -> bool {
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    let auto = header("Auto-Submitted").is_some_and(|v| !v.starts_with("no"));
    let list = message.header_raw("List-Id").is_some();
    let bulk = header("Precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "list" | "junk"));
    auto || list || bulk
}

/// Forwarded messages inside forwarded messages stop counting after this depth.
const MAX_NESTING: usize = 8;
/// Decoded parts taken from one message; the rest is ignored (a 10,000-part MIME bomb).
const MAX_DOCUMENTS: usize = 200;
/// An image without a file-like role below this size is a signature logo or a tracking pixel.
const DECORATION_BYTES: usize = 4 * 1024;

fn collect(message: &mail_parser::Message<'_>, out: &mut Vec<Document>, seen: &mut HashSet<[u8; 32]>, depth: usize) {
    if depth == 0 {
        for part in message.text_bodies() {
            push_body(part, out);
        }
    }
    let html: String = message.html_bodies().map(|p| String::from_utf8_lossy(p.contents()).into_owned()).collect();
    for part in message.attachments() {
        if out.len() >= MAX_DOCUMENTS {
            return;
        }
        if let PartType::Message(inner) = &part.body {
            if depth < MAX_NESTING {
                collect(inner, out, seen, depth + 1);
            }
            continue;
        }
        let declared_type = declared(part);
        let name = names::attachment_name(&message.raw_message, part).map_or_else(|| fallback_name(out.len()), |n| sanitize_name(&n));
        let recovered = unclosed::recover(&message.raw_message, part);
        let bytes = recovered.as_deref().unwrap_or_else(|| part.contents());
        let detection = detect::classify(bytes, &declared_type, &name);
        if detection.kind == DocumentType::Tnef {
            let inner = tnef::attachments(bytes);
            if !inner.is_empty() {
                for a in inner {
                    push_file(out, seen, sanitize_name(&a.name), a.data, "application/octet-stream".into(), Role::Attachment);
                }
                continue;
            }
        }
        let role = image_role(part, detection.kind, bytes.len(), &html);
        push_file(out, seen, name, bytes.to_vec(), declared_type, role);
    }
    for part in message.text_bodies() {
        if let PartType::Text(text) = &part.body {
            for file in uuencode::files(text) {
                push_file(out, seen, sanitize_name(&file.name), file.data, "application/octet-stream".into(), Role::Attachment);
            }
        }
    }
}

/// Images shown by the HTML body, and small images beside the text, are decoration.
fn image_role(part: &MessagePart<'_>, kind: DocumentType, size: usize, html: &str) -> Role {
    if !kind.is_image() {
        return Role::Attachment;
    }
    let attached = part.content_disposition().is_some_and(|d| d.c_type.eq_ignore_ascii_case("attachment"));
    if let Some(id) = part.content_id() {
        let id = id.trim_matches(['<', '>']);
        if !id.is_empty() && html.contains(&format!("cid:{id}")) {
            return Role::InlineImage;
        }
        if !attached {
            return Role::SignatureImage;
        }
    }
    if !attached && size < DECORATION_BYTES {
        return Role::SignatureImage;
    }
    Role::Attachment
}

fn push_file(out: &mut Vec<Document>, seen: &mut HashSet<[u8; 32]>, name: String, bytes: Vec<u8>, declared_type: String, role: Role) {
    if !seen.insert(crate::crypto::sha256(&bytes)) {
        return; // the same file attached twice prints once
    }
    let detection = detect::classify(&bytes, &declared_type, &name);
    out.push(Document { name, bytes, declared_type, detected: detection.kind, hazard: detection.hazard, role });
}

fn push_body(part: &MessagePart<'_>, out: &mut Vec<Document>) {
    let text = part.contents();
    if text.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let declared_type = declared(part);
    // An HTML-only mail's body is HTML: printed rendered (and sanitised), not as source.
    let detected = if declared_type == "text/html" { DocumentType::Html } else { DocumentType::Text };
    out.push(Document { name: "message body".to_owned(), bytes: text.to_vec(), declared_type, detected, hazard: None, role: Role::Body });
}

fn declared(part: &MessagePart<'_>) -> String {
    part.content_type().map_or_else(
        || "text/plain".to_owned(),
        |ct| match &ct.c_subtype {
            Some(sub) => format!("{}/{}", ct.c_type, sub).to_ascii_lowercase(),
            None => ct.c_type.to_ascii_lowercase(),
        },
    )
}

fn fallback_name(index: usize) -> String {
    format!("attachment-{}", index + 1)
}

/// File names come from the sender: keep them printable and path-free.
pub fn sanitize_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let trimmed = cleaned.trim().trim_start_matches('.');
    if trimmed.is_empty() { "document".to_owned() } else { trimmed.to_owned() }
}

#[cfg(test)]
mod tests;
