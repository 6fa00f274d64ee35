//! Patron mail: replies, command confirmations and expiry reminders (rendering from
//! `templates/LANG/`, per-queue language, zone and templates), and delivery of the outbox
//! through the relay.
//!
//! Owns the reply's wording and MIME form and the retry loop towards the relay. It decides no
//! verdicts: the pipeline tells it what happened to each document. Replies are queued in the
//! store's encrypted outbox inside the same transaction as the jobs, so a crash never loses
//! or duplicates the record of one.

pub mod dkim;
pub mod lang;
pub mod msgid;
pub mod outbox;
pub mod qr;
pub mod relay;
pub mod templates;
pub mod when;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MessageBuilder, MultiPart, SinglePart};
use minijinja::context;

use crate::store::ReleaseCode;
pub use dkim::Dkim;
pub use lang::{Language, NoticeKind};
pub use templates::QueueReplies;

/// What became of one document, for the reply.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DocumentLine {
    pub name: String,
    pub ok: bool,
    pub pages: u32,
    /// Prints in colour (only ever true on a colour queue).
    pub color: bool,
    /// Why it was refused (when not `ok`).
    pub reason: String,
    /// Something the patron should know about a printed document (English; templates of
    /// other languages word the known cases themselves, like `greyscale`).
    pub note: String,
    /// A colour document printed in shades of grey on a mono queue.
    pub greyscale: bool,
}

/// Everything a reply says.
#[derive(Debug, Clone)]
pub struct ReplyContent<'a> {
    pub library: &'a str,
    pub code: Option<&'a ReleaseCode>,
    pub documents: &'a [DocumentLine],
    /// Expiry, already formatted in the library's time zone.
    pub expires: &'a str,
    /// The patron's `Message-ID` field as sent (`<id@host>`); threaded on only when it is a
    /// valid msg-id ([`msgid::msg_id`]).
    pub in_reply_to: Option<&'a str>,
    /// Print options applied, in words ("double-sided, 2 copies"); empty for none.
    pub options: &'a str,
    /// The reply's own Message-ID, stable across retries so a duplicate delivery (crash
    /// between the relay's acceptance and the outbox update) is recognisable as the same mail.
    pub message_id: &'a str,
    /// Where reply commands go (`Reply-To:`): the queue address with the message's token.
    pub commands_address: Option<&'a str>,
    /// How long EXTEND keeps the jobs, in words ("24 hours").
    pub extension: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("address {0:?} is not valid")]
    Address(String),
    #[error("message: {0}")]
    Build(String),
    #[error("relay: {0}")]
    Relay(String),
    #[error("DKIM signing: {0}")]
    Dkim(String),
    #[error(transparent)]
    Qr(#[from] qr::QrError),
}

/// The relay, parsed from `relay.url` by `config` at load.
pub use crate::config::RelayUrl;

/// The subject line names the outcome, in the queue's language.
pub fn subject(content: &ReplyContent<'_>, language: Language) -> String {
    let printable = content.documents.iter().filter(|d| d.ok).count();
    match content.code {
        Some(code) => language.ready_subject(printable, &code.display()),
        None => language.failed_subject().to_owned(),
    }
}

/// Renders the reply as a complete RFC 5322 message: a text part, and an HTML alternative
/// that carries the QR code of the release code as an inline image (`multipart/related`,
/// referenced by `cid:`) when its template shows it.
///
/// # Errors
/// [`NotifyError`] for template errors or unusable addresses.
pub fn render(
    from: &str,
    to: &str,
    content: &ReplyContent<'_>,
    replies: &QueueReplies,
    dkim: Option<&Dkim>,
) -> Result<Vec<u8>, NotifyError> {
    let qr_cid = content.code.map(|_| format!("qr.{}", content.message_id));
    let (text, html) = replies.render_reply(content, qr_cid.as_deref())?;
    let headers = Headers {
        subject: subject(content, replies.language),
        message_id: content.message_id,
        in_reply_to: content.in_reply_to,
        commands_address: content.commands_address,
    };
    let alternative = MultiPart::alternative().singlepart(SinglePart::plain(text));
    let body = match (content.code, qr_cid) {
        (Some(code), Some(cid)) if html.contains(&format!("cid:{cid}")) => {
            let png = qr::png(code.digits())?;
            let png_type = ContentType::parse("image/png").map_err(|e| NotifyError::Build(e.to_string()))?;
            let image = Attachment::new_inline(cid).body(png, png_type);
            alternative.multipart(MultiPart::related().singlepart(SinglePart::html(html)).singlepart(image))
        }
        _ => alternative.singlepart(SinglePart::html(html)),
    };
    let message = builder(from, to, &headers)?.multipart(body).map_err(|e| NotifyError::Build(e.to_string()))?;
    sign(message.formatted(), dkim)
}

/// What a short notice (a command's confirmation, an expiry reminder) says.
#[derive(Debug, Clone)]
pub struct NoticeContent<'a> {
    pub library: &'a str,
    pub kind: NoticeKind,
    /// The `Message-ID` field answered (`<id@host>`), as in [`ReplyContent::in_reply_to`].
    pub in_reply_to: Option<&'a str>,
    pub message_id: &'a str,
    /// Where reply commands go (reminders: EXTEND and RESEND still work).
    pub commands_address: Option<&'a str>,
    /// The (new) expiry, formatted in the library's time zone; empty when there is none.
    pub expires: &'a str,
    /// How long EXTEND keeps the jobs, in words.
    pub extension: &'a str,
    /// Jobs the notice is about (destroyed by CANCEL, waiting for a reminder).
    pub jobs: usize,
    /// Their file names (reminders).
    pub documents: &'a [String],
}

/// Renders a short notice: text only, same headers as a reply (`Auto-Submitted`, threading).
///
/// # Errors
/// [`NotifyError`] for template errors or unusable addresses.
pub fn render_notice(
    from: &str,
    to: &str,
    content: &NoticeContent<'_>,
    replies: &QueueReplies,
    dkim: Option<&Dkim>,
) -> Result<Vec<u8>, NotifyError> {
    let subject = replies.language.notice_subject(content.kind).to_owned();
    let text = replies.render_notice(&context! {
        library => content.library,
        kind => minijinja::value::Serde(content.kind),
        expires => content.expires,
        extension => content.extension,
        jobs => content.jobs,
        documents => minijinja::value::Serde(content.documents),
        commands => content.commands_address.is_some(),
        subject => &subject,
    })?;
    let headers =
        Headers { subject, message_id: content.message_id, in_reply_to: content.in_reply_to, commands_address: content.commands_address };
    let message = builder(from, to, &headers)?.singlepart(SinglePart::plain(text)).map_err(|e| NotifyError::Build(e.to_string()))?;
    sign(message.formatted(), dkim)
}

/// The headers every mail to a patron has.
struct Headers<'a> {
    subject: String,
    message_id: &'a str,
    in_reply_to: Option<&'a str>,
    commands_address: Option<&'a str>,
}

fn builder(from: &str, to: &str, headers: &Headers<'_>) -> Result<MessageBuilder, NotifyError> {
    let from: Mailbox = from.parse().map_err(|_| NotifyError::Address(from.to_owned()))?;
    let to: Mailbox = to.parse().map_err(|_| NotifyError::Address(to.to_owned()))?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(headers.subject.clone())
        .message_id(Some(format!("<{}>", headers.message_id)))
        // RFC 3834: marks the reply as automatic, so well-behaved responders never answer it
        // (no mail loops with other robots).
        .raw_header(lettre::message::header::HeaderValue::new(
            lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-replied".to_owned(),
        ));
    // Threading is a courtesy: a malformed Message-ID (no brackets, a blank or CR inside, too
    // long) is dropped rather than copied into our own headers.
    if let Some(id) = headers.in_reply_to.and_then(msgid::msg_id) {
        builder = builder.in_reply_to(format!("<{id}>")).references(format!("<{id}>"));
    }
    if let Some(address) = headers.commands_address {
        let mailbox: Mailbox = address.parse().map_err(|_| NotifyError::Address(address.to_owned()))?;
        builder = builder.reply_to(mailbox);
    }
    Ok(builder)
}

fn sign(formatted: Vec<u8>, dkim: Option<&Dkim>) -> Result<Vec<u8>, NotifyError> {
    match dkim {
        Some(signer) => signer.sign(&formatted).map_err(NotifyError::Dkim),
        None => Ok(formatted),
    }
}

#[cfg(test)]
mod tests;
