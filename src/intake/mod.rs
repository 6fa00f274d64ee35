//! Intake: a raw RFC 5322 message becomes a [`Submission`] of documents.
//!
//! Owns MIME parsing (mail-parser) and file-type detection by content. It makes no accept or
//! reject decision: it reports what it found, and [`crate::screen`] decides.

pub mod detect;

use std::collections::HashSet;

use mail_parser::{MessageParser, MessagePart, MimeHeaders, PartType};

pub use detect::DocumentType;

/// Where in the message a document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An attached file (also inside forwarded messages).
    Attachment,
    /// The message's own text/HTML body.
    Body,
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
    pub role: Role,
}

/// The parsed message: headers printgate needs and every candidate document.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    /// The address in `From:` (what DMARC authenticates and replies go to).
    pub from_address: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
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
}

impl Submission {
    /// Parses `raw` into a submission.
    ///
    /// # Errors
    /// [`IntakeError`] when the bytes are not a message at all.
    pub fn parse(raw: &[u8]) -> Result<Self, IntakeError> {
        let message = MessageParser::default().parse(raw).ok_or(IntakeError::NoHeaders)?;
        if message.headers().is_empty() {
            return Err(IntakeError::NoHeaders);
        }
        let mut submission = Submission {
            from_address: message.from().and_then(|a| a.first()).and_then(|a| a.address()).map(str::to_owned),
            subject: message.subject().map(str::to_owned),
            message_id: message.message_id().map(str::to_owned),
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

fn collect(
    message: &mail_parser::Message<'_>,
    out: &mut Vec<Document>,
    seen: &mut HashSet<[u8; 32]>,
    depth: usize,
) {
    if depth == 0 {
        for part in message.text_bodies() {
            push_body(part, out);
        }
    }
    for part in message.attachments() {
        if let PartType::Message(inner) = &part.body {
            if depth < MAX_NESTING {
                collect(inner, out, seen, depth + 1);
            }
            continue;
        }
        let bytes = part.contents();
        let digest: [u8; 32] = crate::crypto::sha256(bytes);
        if !seen.insert(digest) {
            continue; // the same file attached twice prints once
        }
        let declared_type = declared(part);
        out.push(Document {
            name: part.attachment_name().map_or_else(|| fallback_name(out.len()), sanitize_name),
            detected: DocumentType::detect(bytes, &declared_type),
            bytes: bytes.to_vec(),
            declared_type,
            role: Role::Attachment,
        });
    }
}

fn push_body(part: &MessagePart<'_>, out: &mut Vec<Document>) {
    let text = part.contents();
    if text.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    out.push(Document {
        name: "message body".to_owned(),
        bytes: text.to_vec(),
        declared_type: declared(part),
        detected: DocumentType::Text,
        role: Role::Body,
    });
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
