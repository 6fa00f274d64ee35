//! One SMTP session: the state machine, laid out like the protocol.
//!
//! States: before `HELO`/`EHLO` ([`Phase::Fresh`]), greeted ([`Phase::Ready`]), inside a
//! transaction after `MAIL` ([`Phase::Mail`]) and after the first accepted `RCPT`
//! ([`Phase::Rcpt`]). `DATA` reads the message through [`super::data::DataDecoder`], hands it
//! to the [`Receiver`] and goes back to `Ready`.
//!
//! Replies are buffered and flushed when the client has nothing more pipelined (RFC 2920), before
//! `354`, and before closing.

use std::borrow::Cow;
use std::net::IpAddr;

use smtp_proto::{Error as ParseError, Request};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};
use tokio_util::sync::CancellationToken;

use super::data::{DataDecoder, DataEvent};
use super::io::read_chunk;
use super::reply::SmtpReply;
use super::{Envelope, MAX_COMMAND_LINE, MAX_DATA_CHUNK, MAX_ERRORS, Receiver, SmtpSettings};

/// Where the session stands in the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Fresh,
    Ready,
    Mail { from: Option<String> },
    Rcpt { from: Option<String>, recipients: Vec<String>, queue: String },
}

pub struct Session<'a, R> {
    client_ip: IpAddr,
    settings: &'a super::SmtpSettings,
    receiver: &'a R,
    shutdown: CancellationToken,
    phase: Phase,
    helo: String,
    errors: usize,
}

/// What reading one command produced.
enum Input {
    Line,
    TooLong,
    Eof,
    TimedOut,
    Shutdown,
}

struct Conn<S> {
    reader: BufReader<ReadHalf<S>>,
    writer: WriteHalf<S>,
    pending: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite> Conn<S> {
    /// Queues a reply; writes it out unless more pipelined commands are already waiting.
    async fn reply(&mut self, reply: &SmtpReply) -> std::io::Result<()> {
        self.pending.extend_from_slice(&reply.to_wire());
        if self.reader.buffer().is_empty() || reply.closes() || reply.code == 354 {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            self.writer.write_all(&self.pending).await?;
            self.pending.clear();
        }
        self.writer.flush().await
    }
}

impl<'a, R: Receiver> Session<'a, R> {
    pub fn new(
        client_ip: IpAddr,
        settings: &'a SmtpSettings,
        receiver: &'a R,
        shutdown: CancellationToken,
    ) -> Self {
        Self { client_ip, settings, receiver, shutdown, phase: Phase::Fresh, helo: String::new(), errors: 0 }
    }

    /// Runs the whole conversation on `stream`.
    ///
    /// # Errors
    /// I/O errors on the stream (the client went away); protocol errors are replies, not errors.
    pub async fn run<S: AsyncRead + AsyncWrite + Send>(mut self, stream: S) -> std::io::Result<()> {
        let (rd, writer) = tokio::io::split(stream);
        let mut conn = Conn { reader: BufReader::with_capacity(16 * 1024, rd), writer, pending: Vec::new() };
        conn.reply(&SmtpReply::greeting(&self.settings.hostname)).await?;
        let mut line = Vec::with_capacity(512);
        loop {
            let reply = match self.read_command(&mut conn, &mut line).await? {
                Input::Eof => return Ok(()),
                Input::TimedOut => SmtpReply::timeout(&self.settings.hostname),
                Input::Shutdown => SmtpReply::shutting_down(&self.settings.hostname),
                Input::TooLong => SmtpReply::line_too_long(),
                Input::Line => self.command(&line, &mut conn).await?,
            };
            if !reply.is_positive() && reply.code != 421 {
                self.errors += 1;
            }
            let reply = if self.errors > MAX_ERRORS { SmtpReply::too_many_errors(&self.settings.hostname) } else { reply };
            conn.reply(&reply).await?;
            if reply.closes() {
                conn.flush().await?;
                let _ = conn.writer.shutdown().await;
                return Ok(());
            }
        }
    }

    async fn read_command<S: AsyncRead + AsyncWrite>(
        &self,
        conn: &mut Conn<S>,
        line: &mut Vec<u8>,
    ) -> std::io::Result<Input> {
        let timeout = self.settings.command_timeout;
        let read = tokio::select! {
            () = self.shutdown.cancelled() => return Ok(Input::Shutdown),
            r = tokio::time::timeout(timeout, read_chunk(&mut conn.reader, line, MAX_COMMAND_LINE)) => r,
        };
        let Ok(n) = read else { return Ok(Input::TimedOut) };
        if n? == 0 {
            return Ok(Input::Eof);
        }
        if line.ends_with(b"\n") {
            return Ok(Input::Line);
        }
        // Over-long line: discard the rest of it, then complain once.
        let mut rest = Vec::new();
        loop {
            let Ok(n) = tokio::time::timeout(timeout, read_chunk(&mut conn.reader, &mut rest, MAX_COMMAND_LINE)).await
            else {
                return Ok(Input::TimedOut);
            };
            if n? == 0 {
                return Ok(Input::Eof);
            }
            if rest.ends_with(b"\n") {
                return Ok(Input::TooLong);
            }
        }
    }

    async fn command<S: AsyncRead + AsyncWrite>(
        &mut self,
        line: &[u8],
        conn: &mut Conn<S>,
    ) -> std::io::Result<SmtpReply> {
        let request = match Request::parse(&mut line.iter()) {
            Ok(r) => r,
            Err(e) => return Ok(parse_error_reply(&e)),
        };
        Ok(match request {
            Request::Ehlo { host } => self.ehlo(&host),
            Request::Helo { host } => self.helo(&host),
            Request::Mail { from } => self.mail(&from.address, from.size),
            Request::Rcpt { to } => self.rcpt(&to.address),
            Request::Data => return self.data(conn).await,
            Request::Rset => self.rset(),
            Request::Noop { .. } => SmtpReply::ok("OK"),
            Request::Quit => SmtpReply::bye(&self.settings.hostname),
            Request::Vrfy { .. } => SmtpReply::cannot_vrfy(),
            Request::Help { .. } => SmtpReply::help(),
            other => SmtpReply::not_implemented(other.name()),
        })
    }

    fn ehlo(&mut self, host: &str) -> SmtpReply {
        self.greeted(host);
        let s = self.settings;
        SmtpReply::ok(format!(
            "{} greets {host}\nPIPELINING\nSIZE {}\n8BITMIME\nENHANCEDSTATUSCODES\nSMTPUTF8",
            s.hostname, s.max_message_bytes
        ))
        .without_enhanced()
    }

    fn helo(&mut self, host: &str) -> SmtpReply {
        self.greeted(host);
        SmtpReply::ok(format!("{} greets {host}", self.settings.hostname)).without_enhanced()
    }

    /// HELO/EHLO starts over: any open transaction is dropped (RFC 5321 4.1.4).
    fn greeted(&mut self, host: &str) {
        self.helo = host.chars().take(255).collect();
        self.phase = Phase::Ready;
    }

    fn mail(&mut self, address: &str, declared_size: usize) -> SmtpReply {
        match self.phase {
            Phase::Fresh => return SmtpReply::bad_sequence("Send HELO/EHLO first"),
            Phase::Mail { .. } | Phase::Rcpt { .. } => return SmtpReply::bad_sequence("Nested MAIL command"),
            Phase::Ready => {}
        }
        if declared_size > self.settings.max_message_bytes {
            return SmtpReply::message_too_big(self.settings.max_message_bytes);
        }
        let from = if address.is_empty() { None } else { Some(address.to_owned()) };
        self.phase = Phase::Mail { from };
        SmtpReply::sender_ok()
    }

    fn rcpt(&mut self, address: &str) -> SmtpReply {
        let (from, mut recipients, current_queue) = match std::mem::replace(&mut self.phase, Phase::Ready) {
            Phase::Mail { from } => (from, Vec::new(), None),
            Phase::Rcpt { from, recipients, queue } => (from, recipients, Some(queue)),
            other => {
                self.phase = other;
                return SmtpReply::bad_sequence("Send MAIL first");
            }
        };
        let restore = |recipients: Vec<String>, queue: Option<String>| match queue {
            Some(queue) => Phase::Rcpt { from: from.clone(), recipients, queue },
            None => Phase::Mail { from: from.clone() },
        };
        let reply = match self.receiver.route(address) {
            None => SmtpReply::unknown_recipient(address),
            Some(_) if recipients.len() >= self.settings.max_recipients => SmtpReply::too_many_recipients(),
            Some(queue) if current_queue.as_ref().is_some_and(|q| *q != queue) => SmtpReply::one_queue_per_message(),
            Some(queue) => {
                if !recipients.iter().any(|r| r.eq_ignore_ascii_case(address)) {
                    recipients.push(address.to_owned());
                }
                self.phase = restore(recipients, Some(queue));
                return SmtpReply::recipient_ok();
            }
        };
        self.phase = restore(recipients, current_queue);
        reply
    }

    fn rset(&mut self) -> SmtpReply {
        if self.phase != Phase::Fresh {
            self.phase = Phase::Ready;
        }
        SmtpReply::ok("Reset OK")
    }

    async fn data<S: AsyncRead + AsyncWrite>(&mut self, conn: &mut Conn<S>) -> std::io::Result<SmtpReply> {
        let (from, recipients, queue) = match &self.phase {
            Phase::Rcpt { from, recipients, queue } => (from.clone(), recipients.clone(), queue.clone()),
            Phase::Mail { .. } => return Ok(SmtpReply::no_valid_recipients()),
            _ => return Ok(SmtpReply::bad_sequence("Send MAIL and RCPT first")),
        };
        self.phase = Phase::Ready;
        conn.reply(&SmtpReply::start_data()).await?;
        let limit = self.settings.max_message_bytes;
        let mut decoder = DataDecoder::new(limit);
        let mut chunk = Vec::with_capacity(1024);
        loop {
            let read = tokio::time::timeout(
                self.settings.command_timeout,
                read_chunk(&mut conn.reader, &mut chunk, MAX_DATA_CHUNK),
            )
            .await;
            let Ok(n) = read else { return Ok(SmtpReply::timeout(&self.settings.hostname)) };
            if n? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if decoder.feed(&chunk) == DataEvent::End {
                break;
            }
        }
        if decoder.too_large() {
            return Ok(SmtpReply::message_too_big(limit));
        }
        let envelope = Envelope {
            client_ip: self.client_ip,
            helo: self.helo.clone(),
            mail_from: from,
            recipients,
            queue,
            bare_lf_lines: decoder.bare_lf_lines(),
        };
        let disposition = self.receiver.receive(envelope, decoder.into_message()).await;
        Ok(SmtpReply::from(&disposition))
    }
}

fn parse_error_reply(e: &ParseError) -> SmtpReply {
    match e {
        ParseError::UnknownCommand => SmtpReply::unknown_command(),
        ParseError::InvalidSenderAddress => SmtpReply::bad_sender(),
        ParseError::InvalidRecipientAddress => SmtpReply::bad_recipient(),
        ParseError::SyntaxError { syntax } => SmtpReply::syntax_error(syntax),
        ParseError::InvalidParameter { param } => SmtpReply::syntax_error(&format!("invalid parameter {param}")),
        ParseError::UnsupportedParameter { param } => {
            SmtpReply::syntax_error(&format!("unsupported parameter {}", Cow::Borrowed(param.as_str())))
        }
        ParseError::ResponseTooLong => SmtpReply::line_too_long(),
        ParseError::NeedsMoreData { .. } | ParseError::InvalidResponse { .. } => SmtpReply::syntax_error("incomplete command"),
    }
}

#[cfg(test)]
mod tests;
