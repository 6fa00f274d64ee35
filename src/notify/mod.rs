//! Patron replies: rendering (templates/), and delivery of the outbox through the relay.
//!
//! Owns the reply's wording and MIME form and the retry loop towards the relay. It decides no
//! verdicts: the pipeline tells it what happened to each document. Replies are queued in the
//! store's encrypted outbox inside the same transaction as the jobs, so a crash never loses
//! or duplicates the record of one.

pub mod outbox;

use lettre::message::{Mailbox, MultiPart};
use minijinja::{Environment, context};

use crate::store::ReleaseCode;

pub mod dkim;
pub use dkim::Dkim;

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
    /// Something the patron should know about a printed document (e.g. greyscale).
    pub note: String,
}

/// Everything a reply says.
#[derive(Debug, Clone)]
pub struct ReplyContent<'a> {
    pub library: &'a str,
    pub code: Option<&'a ReleaseCode>,
    pub documents: &'a [DocumentLine],
    /// Expiry, already formatted in the library's time zone.
    pub expires: &'a str,
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
}

/// The relay, parsed from `relay.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayUrl {
    pub host: String,
    pub port: u16,
    pub implicit_tls: bool,
}

impl RelayUrl {
    /// # Errors
    /// A message naming the accepted forms.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (rest, implicit_tls, default_port) = if let Some(r) = url.strip_prefix("smtp://") {
            (r, false, 25)
        } else if let Some(r) = url.strip_prefix("smtps://") {
            (r, true, 465)
        } else {
            return Err(format!("{url:?} must be smtp://HOST:PORT or smtps://HOST:PORT"));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("bad port in {url:?}"))?),
            None => (rest, default_port),
        };
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        Ok(Self { host: host.to_owned(), port, implicit_tls })
    }
}

fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    // Embedded so the binary needs no files at run time; per-queue overrides come later.
    env.add_template("reply.txt", include_str!("../../templates/reply.txt.j2")).ok();
    env.add_template("reply.html", include_str!("../../templates/reply.html.j2")).ok();
    env
}

/// The subject line names the outcome.
pub fn subject(content: &ReplyContent<'_>) -> String {
    let printable = content.documents.iter().filter(|d| d.ok).count();
    match content.code {
        Some(code) => format!(
            "Ready to print: {printable} document{}, code {}",
            if printable == 1 { "" } else { "s" },
            code.display()
        ),
        None => "Could not print your documents".to_owned(),
    }
}

/// Renders the reply as a complete RFC 5322 message (text + HTML alternative).
///
/// # Errors
/// [`NotifyError`] for template errors or unusable addresses.
pub fn render(from: &str, to: &str, content: &ReplyContent<'_>, dkim: Option<&Dkim>) -> Result<Vec<u8>, NotifyError> {
    let env = templates();
    let subject = subject(content);
    let ctx = context! {
        library => content.library,
        code => content.code.map(ReleaseCode::display),
        documents => minijinja::value::Serde(content.documents),
        expires => content.expires,
        options => content.options,
        subject => &subject,
        commands => content.commands_address.is_some(),
        extension => content.extension,
    };
    let text = env.get_template("reply.txt")?.render(&ctx)?;
    let html = env.get_template("reply.html")?.render(&ctx)?;
    let from: Mailbox = from.parse().map_err(|_| NotifyError::Address(from.to_owned()))?;
    let to: Mailbox = to.parse().map_err(|_| NotifyError::Address(to.to_owned()))?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{}>", content.message_id)))
        // RFC 3834: marks the reply as automatic, so well-behaved responders never answer it
        // (no mail loops with other robots).
        .raw_header(lettre::message::header::HeaderValue::new(
            lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-replied".to_owned(),
        ));
    if let Some(id) = content.in_reply_to {
        builder = builder.in_reply_to(format!("<{id}>")).references(format!("<{id}>"));
    }
    if let Some(address) = content.commands_address {
        let mailbox: Mailbox = address.parse().map_err(|_| NotifyError::Address(address.to_owned()))?;
        builder = builder.reply_to(mailbox);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| NotifyError::Build(e.to_string()))?;
    let formatted = message.formatted();
    match dkim {
        Some(signer) => signer.sign(&formatted).map_err(NotifyError::Dkim),
        None => Ok(formatted),
    }
}

#[cfg(test)]
mod tests;
