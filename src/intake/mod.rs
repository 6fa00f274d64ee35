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
    /// How the bytes came out of the message: decides whether clamd must see them on their own.
    pub origin: Origin,
}

/// Whether clamd, scanning the raw message, meets exactly these bytes.
///
/// Measured (docs/screening.md, "One ClamAV pass"): clamd decodes base64 MIME parts byte for
/// byte as intake does, also inside forwarded messages and unclosed multiparts, but its
/// quoted-printable and 8bit/binary decoding can differ from intake's by line ends; uuencode,
/// TNEF and recovered parts are intake's own extraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// A base64 MIME part, closed by its boundary: the raw-message scan covers it.
    Base64Part,
    /// Decoded or extracted by intake in a way clamd may not reproduce: scanned on its own too.
    #[default]
    Decoded,
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
        let mut message = parsed.map_err(|_| IntakeError::Unreadable)?.ok_or(IntakeError::NoHeaders)?;
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
        collect(&mut message, &mut submission.documents, &mut seen, 0);
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

/// Takes each attachment's decoded bytes out of `message` (the parser's own buffer becomes the
/// document's: a decoded 18 MB attachment is held once, not twice).
fn collect(message: &mut mail_parser::Message<'_>, out: &mut Vec<Document>, seen: &mut HashSet<[u8; 32]>, depth: usize) {
    if depth == 0 {
        for part in message.text_bodies() {
            push_body(part, out);
        }
    }
    let html: String = message.html_bodies().map(|p| String::from_utf8_lossy(p.contents()).into_owned()).collect();
    let depths = part_depths(message);
    for index in 0..message.attachments.len() {
        let id = message.attachments[index];
        if out.len() >= MAX_DOCUMENTS {
            return;
        }
        if let Some(PartType::Message(inner)) = message.parts.get_mut(id as usize).map(|p| &mut p.body) {
            if depth < MAX_NESTING {
                collect(inner, out, seen, depth + 1);
            }
            continue;
        }
        let Some(part) = message.parts.get(id as usize) else { continue };
        let declared_type = declared(part);
        let name = names::attachment_name(&message.raw_message, part).map_or_else(|| fallback_name(out.len()), |n| sanitize_name(&n));
        let recovered = unclosed::recover(&message.raw_message, part);
        let bytes = recovered.as_deref().unwrap_or_else(|| part.contents());
        if is_uuencoded_part(part) {
            let files = uuencode::files(&String::from_utf8_lossy(bytes));
            if !files.is_empty() {
                for f in files {
                    let file = File { name: sanitize_name(&f.name), bytes: f.data, declared_type: declared_type.clone() };
                    push_file(out, seen, file, Role::Attachment, Origin::Decoded);
                }
                continue;
            }
        }
        let detection = detect::classify(bytes, &declared_type, &name);
        if detection.kind == DocumentType::Tnef {
            let inner = tnef::attachments(bytes);
            if !inner.is_empty() {
                for a in inner {
                    let file = File { name: sanitize_name(&a.name), bytes: a.data, declared_type: "application/octet-stream".into() };
                    push_file(out, seen, file, Role::Attachment, Origin::Decoded);
                }
                continue;
            }
        }
        let role = image_role(part, detection.kind, bytes.len(), &html);
        let nesting = depths.get(id as usize).copied().unwrap_or(usize::MAX).saturating_add(2 * depth);
        let origin = origin(part, recovered.is_some(), nesting);
        let bytes = match recovered {
            Some(bytes) => bytes,
            None => take_contents(&mut message.parts[id as usize]),
        };
        push_file(out, seen, File { name, bytes, declared_type }, role, origin);
    }
    for part in message.text_bodies() {
        if let PartType::Text(text) = &part.body {
            for file in uuencode::files(text) {
                let file = File { name: sanitize_name(&file.name), bytes: file.data, declared_type: "application/octet-stream".into() };
                push_file(out, seen, file, Role::Attachment, Origin::Decoded);
            }
        }
    }
}

/// The decoded bytes of an attachment part: moved out of a binary part (left empty: each
/// attachment is visited once), copied from a text part (the body loops read those again).
fn take_contents(part: &mut MessagePart<'_>) -> Vec<u8> {
    match &mut part.body {
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => std::mem::take(bytes).into_owned(),
        _ => part.contents().to_vec(),
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

/// A part sent with `Content-Transfer-Encoding: x-uuencode` (or `uuencode`, `x-uue`), which
/// mail-parser leaves as it came.
fn is_uuencoded_part(part: &MessagePart<'_>) -> bool {
    part.content_transfer_encoding().is_some_and(|e| matches!(e.trim().to_ascii_lowercase().as_str(), "x-uuencode" | "uuencode" | "x-uue"))
}

/// Multipart nesting clamd follows in a message (measured: a file 18 levels down is found, 20
/// is not), with room to spare; a forwarded message counts two levels.
const CLAMD_NESTING: usize = 12;

/// Where a part's bytes came from, for [`Origin`]: only a binary base64 part that ended at
/// its boundary, decoded without trouble and not nested deeper than clamd looks, is one clamd
/// decodes to the same bytes. Text parts are transcoded to UTF-8 by mail-parser.
fn origin(part: &MessagePart<'_>, recovered: bool, nesting: usize) -> Origin {
    let binary = matches!(part.body, PartType::Binary(_) | PartType::InlineBinary(_));
    let clean = part.encoding == mail_parser::Encoding::Base64 && !part.is_encoding_problem && !recovered;
    if binary && clean && nesting <= CLAMD_NESTING { Origin::Base64Part } else { Origin::Decoded }
}

/// Each part's multipart depth in its message (0 for the top part).
fn part_depths(message: &mail_parser::Message<'_>) -> Vec<usize> {
    let mut depths = vec![usize::MAX; message.parts.len()];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((id, depth)) = stack.pop() {
        let Some(slot) = depths.get_mut(id) else { continue };
        if *slot != usize::MAX {
            continue; // seen (mail-parser never shares a part; this only guards the walk)
        }
        *slot = depth;
        if let PartType::Multipart(children) = &message.parts[id].body {
            stack.extend(children.iter().map(|&c| (c as usize, depth + 1)));
        }
    }
    depths
}

/// A file found in the message, before its type is looked at.
struct File {
    name: String,
    bytes: Vec<u8>,
    declared_type: String,
}

fn push_file(out: &mut Vec<Document>, seen: &mut HashSet<[u8; 32]>, file: File, role: Role, origin: Origin) {
    let File { name, bytes, declared_type } = file;
    if !seen.insert(crate::crypto::sha256(&bytes)) {
        return; // the same file attached twice prints once
    }
    let detection = detect::classify(&bytes, &declared_type, &name);
    out.push(Document { name, bytes, declared_type, detected: detection.kind, hazard: detection.hazard, role, origin });
}

fn push_body(part: &MessagePart<'_>, out: &mut Vec<Document>) {
    let text = part.contents();
    if text.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let declared_type = declared(part);
    // An HTML-only mail's body is HTML: printed rendered (and sanitised), not as source.
    let detected = if declared_type == "text/html" { DocumentType::Html } else { DocumentType::Text };
    let body = Document {
        name: "message body".to_owned(),
        bytes: text.to_vec(),
        declared_type,
        detected,
        hazard: None,
        role: Role::Body,
        origin: Origin::Decoded,
    };
    out.push(body);
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
