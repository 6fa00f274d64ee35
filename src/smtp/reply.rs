//! SMTP replies: the one place where reply codes are chosen.
//!
//! Every reply the server sends is an [`SmtpReply`] built by a named constructor here; the
//! message handler's [`Outcome`] carries one of them. The rule (CONVENTIONS.md 4):
//! infrastructure trouble is 4xx so the sending MTA retries; content and policy are 5xx with the
//! reason, so the patron's own server tells the patron.
//!
//! This module knows nothing of screening: the glue above the door (`inbound.rs`) picks the
//! constructor for each verdict.

use std::fmt;

/// A complete SMTP reply: basic code, enhanced status code (RFC 3463) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpReply {
    pub code: u16,
    pub enhanced: &'static str,
    pub text: String,
}

impl SmtpReply {
    fn new(code: u16, enhanced: &'static str, text: impl Into<String>) -> Self {
        Self { code, enhanced, text: sanitize(text.into()) }
    }

    /// The same reply without an enhanced status code (greetings, EHLO keyword lists).
    #[must_use]
    pub fn without_enhanced(mut self) -> Self {
        self.enhanced = "";
        self
    }

    /// True when the client should close the connection after this reply.
    pub fn closes(&self) -> bool {
        self.code == 221 || self.code == 421
    }

    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    pub fn greeting(hostname: &str) -> Self {
        Self::new(220, "", format!("{hostname} ESMTP printgate"))
    }
    pub fn ok(text: impl Into<String>) -> Self {
        Self::new(250, "2.0.0", text)
    }
    pub fn sender_ok() -> Self {
        Self::new(250, "2.1.0", "Sender OK")
    }
    pub fn recipient_ok() -> Self {
        Self::new(250, "2.1.5", "Recipient OK")
    }
    pub fn start_data() -> Self {
        Self::new(354, "", "Start mail input; end with <CRLF>.<CRLF>")
    }
    pub fn bye(hostname: &str) -> Self {
        Self::new(221, "2.0.0", format!("{hostname} closing connection"))
    }
    pub fn cannot_vrfy() -> Self {
        Self::new(252, "2.1.5", "Cannot VRFY user, but will accept message and attempt delivery")
    }
    pub fn help() -> Self {
        Self::new(214, "2.0.0", "printgate accepts documents to print: see the library's instructions")
    }
    pub fn unknown_recipient(address: &str) -> Self {
        Self::new(550, "5.1.1", format!("<{}>: no such print queue here", one_line(address)))
    }
    pub fn too_many_recipients() -> Self {
        Self::new(452, "4.5.3", "Too many recipients")
    }
    pub fn one_queue_per_message() -> Self {
        Self::new(452, "4.5.3", "One print queue per message; this recipient will be retried separately")
    }
    pub fn bad_sequence(text: &str) -> Self {
        Self::new(503, "5.5.1", text)
    }
    pub fn no_valid_recipients() -> Self {
        Self::new(554, "5.5.1", "No valid recipients")
    }
    pub fn unknown_command() -> Self {
        Self::new(500, "5.5.1", "Command unrecognized")
    }
    pub fn not_implemented(command: &str) -> Self {
        Self::new(502, "5.5.1", format!("{command} not implemented"))
    }
    pub fn syntax_error(what: &str) -> Self {
        Self::new(501, "5.5.4", format!("Syntax error: {what}"))
    }
    pub fn bad_sender() -> Self {
        Self::new(553, "5.1.7", "Invalid sender address")
    }
    pub fn bad_recipient() -> Self {
        Self::new(553, "5.1.3", "Invalid recipient address")
    }
    pub fn line_too_long() -> Self {
        Self::new(500, "5.5.6", "Line too long")
    }
    pub fn message_too_big(limit: usize) -> Self {
        Self::new(552, "5.3.4", format!("Message too big (limit {limit} bytes)"))
    }
    pub fn timeout(hostname: &str) -> Self {
        Self::new(421, "4.4.2", format!("{hostname} timeout, closing connection"))
    }
    pub fn too_busy(hostname: &str) -> Self {
        Self::new(421, "4.7.0", format!("{hostname} too many connections, try again later"))
    }
    pub fn too_many_from_you(hostname: &str) -> Self {
        Self::new(421, "4.7.0", format!("{hostname} too many connections from your address, try again later"))
    }
    pub fn rate_limited() -> Self {
        Self::new(450, "4.7.1", "Too many messages from your address; try again in a minute")
    }
    pub fn session_too_long(hostname: &str) -> Self {
        Self::new(421, "4.4.2", format!("{hostname} session time limit reached, closing connection"))
    }
    pub fn ready_for_tls() -> Self {
        Self::new(220, "2.0.0", "Ready to start TLS")
    }
    pub fn tls_unavailable() -> Self {
        Self::new(502, "5.5.1", "STARTTLS not available")
    }
    pub fn tls_already_active() -> Self {
        Self::new(503, "5.5.1", "TLS already active")
    }
    pub fn chunk_received(octets: usize) -> Self {
        Self::new(250, "2.0.0", format!("{octets} octets received"))
    }
    pub fn too_many_errors(hostname: &str) -> Self {
        Self::new(421, "4.7.0", format!("{hostname} too many errors, closing connection"))
    }
    pub fn shutting_down(hostname: &str) -> Self {
        Self::new(421, "4.3.2", format!("{hostname} shutting down, try again later"))
    }

    /// The message is durably spooled under `queue_id`.
    pub fn queued(queue_id: &str) -> Self {
        Self::ok(format!("Ok: queued as {queue_id}"))
    }
    pub fn virus_found(signature: &str) -> Self {
        Self::new(554, "5.7.1", format!("Message refused: virus found ({})", one_line(signature)))
    }
    pub fn spam(score: f64, limit: f64) -> Self {
        Self::new(550, "5.7.1", format!("Message refused as spam (score {score:.1} / limit {limit:.1})"))
    }
    pub fn nothing_printable(found: &str) -> Self {
        Self::new(550, "5.6.0", format!("Nothing printable in this message: {}", one_line(found)))
    }
    pub fn malformed(reason: &str) -> Self {
        Self::new(550, "5.6.0", format!("Malformed message: {}", one_line(reason)))
    }
    pub fn sender_failing(domain: &str) -> Self {
        Self::new(550, "5.7.1", format!("Sender authentication failed: DMARC policy of {} says reject", one_line(domain)))
    }
    pub fn sender_unauthenticated(domain: &str) -> Self {
        Self::new(
            550,
            "5.7.1",
            format!("This print queue only accepts authenticated senders; {} could not be verified (SPF/DKIM/DMARC)", one_line(domain)),
        )
    }
    /// The queue's `deny_senders` names the sender (the entry is not told: it is the library's).
    pub fn sender_denied() -> Self {
        Self::new(550, "5.7.1", "This print queue does not take mail from your address; ask the library if you think this is wrong")
    }
    /// The queue has an `allow_senders` list without the sender.
    pub fn sender_not_allowed() -> Self {
        Self::new(550, "5.7.1", "This print queue takes mail only from the library's listed senders, and your address is not one of them")
    }
    pub fn too_large_for_scanner() -> Self {
        Self::new(552, "5.3.4", "Message larger than the virus scanner accepts; send smaller files")
    }
    pub fn scanner_unavailable(scanner: &str) -> Self {
        Self::new(451, "4.7.0", format!("{scanner} is unavailable; message not accepted unscanned, try again later"))
    }
    pub fn spool_error() -> Self {
        Self::new(451, "4.3.0", "Local error storing the message, try again later")
    }
    pub fn sender_rate_limited() -> Self {
        Self::new(450, "4.7.1", "Too many messages from this sender or domain this hour; try again later")
    }

    /// Wire form: multi-line replies repeat the code with `-`.
    pub fn to_wire(&self) -> Vec<u8> {
        let lines: Vec<&str> = self.text.split('\n').collect();
        let mut out = Vec::with_capacity(self.text.len() + 16 * lines.len());
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            let enhanced = if self.enhanced.is_empty() { String::new() } else { format!("{} ", self.enhanced) };
            out.extend_from_slice(format!("{}{sep}{enhanced}{line}\r\n", self.code).as_bytes());
        }
        out
    }
}

/// Reply text goes on the wire: no CR, no control characters, bounded length (RFC 5321 4.5.3.1.5).
fn sanitize(text: String) -> String {
    let cleaned: String = text.chars().filter(|c| *c == '\n' || !c.is_control()).collect();
    cleaned.lines().map(|l| truncate(l, 400)).collect::<Vec<_>>().join("\n")
}

/// Text that came from the client or a file name: one line, whatever it contains.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl fmt::Display for SmtpReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.code, self.enhanced, self.text)
    }
}

/// What the message handler ([`crate::smtp::Receiver::receive`]) made of a received message;
/// the session answers the final dot (or `BDAT LAST`) with its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Durably spooled under this id: `250`.
    Accepted { queue_id: String },
    /// Refused for its content or sender: a 5xx reply.
    Refused(SmtpReply),
    /// Not accepted now (scanner down, spool error, rate limit): a 4xx reply.
    TempFail(SmtpReply),
}

impl From<&Outcome> for SmtpReply {
    fn from(o: &Outcome) -> Self {
        match o {
            Outcome::Accepted { queue_id } => Self::queued(queue_id),
            Outcome::Refused(r) | Outcome::TempFail(r) => r.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_replies_repeat_the_code() {
        let r = SmtpReply::new(250, "", "a\nb\nc");
        assert_eq!(r.to_wire(), b"250-a\r\n250-b\r\n250 c\r\n");
    }

    #[test]
    fn control_characters_never_reach_the_wire() {
        let r = SmtpReply::unknown_recipient("x\r\n250 fake@y");
        let wire = String::from_utf8(r.to_wire()).unwrap();
        assert_eq!(wire.matches("\r\n").count(), 1, "{wire:?}");
    }
}
