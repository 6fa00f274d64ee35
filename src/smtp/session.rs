//! One SMTP session: the state machine, laid out like the protocol.
//!
//! States: before `HELO`/`EHLO` ([`Phase::Fresh`]), greeted ([`Phase::Ready`]), inside a
//! transaction after `MAIL` ([`Phase::Mail`]) and after the first accepted `RCPT`
//! ([`Phase::Rcpt`]). `DATA` (or the last `BDAT` chunk) hands the message to the [`Receiver`]
//! and goes back to `Ready`. `STARTTLS` ends the plain conversation; a new one starts on the
//! TLS stream in `Fresh`, so nothing said before the handshake survives it (RFC 3207).
//!
//! Replies are buffered and flushed when the client has nothing more pipelined (RFC 2920), before
//! `354`, and before closing.

use std::net::IpAddr;
use tokio::time::Instant;

use smtp_proto::{Error as ParseError, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};
use tokio_util::sync::CancellationToken;

use super::data::{DataDecoder, DataEvent};
use super::io::read_chunk;
use super::limits::IpLimits;
use super::reply::SmtpReply;
use super::{Envelope, MAX_DATA_CHUNK, Receiver, SmtpSettings};

/// Where the session stands in the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Fresh,
    Ready,
    Mail { from: Option<String> },
    Rcpt { from: Option<String>, recipients: Vec<String>, queue: String, options: Vec<String> },
}

pub struct Session<'a, R> {
    client_ip: IpAddr,
    settings: &'a SmtpSettings,
    receiver: &'a R,
    limits: &'a IpLimits,
    shutdown: CancellationToken,
    phase: Phase,
    helo: String,
    errors: usize,
    tls: bool,
    deadline: Instant,
    /// Message built from `BDAT` chunks so far (`None` outside a BDAT transfer).
    chunks: Option<Chunks>,
}

struct Chunks {
    message: Vec<u8>,
    too_large: bool,
}

/// What reading one command produced.
enum Input {
    Line,
    TooLong,
    Eof,
    TimedOut,
    SessionOver,
    Shutdown,
}

/// How a conversation ended.
enum Next<S> {
    Closed,
    StartTls(Conn<S>),
}

struct Conn<S> {
    reader: BufReader<ReadHalf<S>>,
    writer: WriteHalf<S>,
    pending: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite> Conn<S> {
    fn new(stream: S) -> Self {
        let (rd, writer) = tokio::io::split(stream);
        Self { reader: BufReader::with_capacity(16 * 1024, rd), writer, pending: Vec::new() }
    }

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

    /// The bare stream again. Input the client pipelined after `STARTTLS` sits in the
    /// reader's buffer and is dropped here: it was sent in clear and must not be obeyed.
    fn into_stream(self) -> S
    where
        S: Unpin,
    {
        self.reader.into_inner().unsplit(self.writer)
    }
}

impl<'a, R: Receiver> Session<'a, R> {
    pub fn new(client_ip: IpAddr, settings: &'a SmtpSettings, receiver: &'a R, limits: &'a IpLimits, shutdown: CancellationToken) -> Self {
        Self {
            client_ip,
            settings,
            receiver,
            limits,
            shutdown,
            phase: Phase::Fresh,
            helo: String::new(),
            errors: 0,
            tls: false,
            deadline: Instant::now() + settings.session_timeout,
            chunks: None,
        }
    }

    /// Runs the whole conversation on a plain stream, upgrading it on `STARTTLS`.
    ///
    /// # Errors
    /// I/O errors on the stream (the client went away); protocol errors are replies, not errors.
    pub async fn run<S: AsyncRead + AsyncWrite + Send + Unpin>(mut self, stream: S) -> std::io::Result<()> {
        let mut conn = Conn::new(stream);
        conn.reply(&SmtpReply::greeting(&self.settings.hostname)).await?;
        let Next::StartTls(conn) = self.converse(conn).await? else { return Ok(()) };
        let Some(acceptor) = self.settings.tls.clone() else { return Ok(()) };
        let handshake = tokio::time::timeout(self.settings.command_timeout, acceptor.accept(conn.into_stream())).await;
        let tls = handshake.map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        self.tls = true;
        self.phase = Phase::Fresh;
        self.helo.clear();
        self.converse(Conn::new(tls)).await?;
        Ok(())
    }

    /// Runs the conversation on a stream that is already TLS (implicit-TLS listener).
    ///
    /// # Errors
    /// As [`Session::run`].
    pub async fn run_tls<S: AsyncRead + AsyncWrite + Send + Unpin>(mut self, stream: S) -> std::io::Result<()> {
        self.tls = true;
        let mut conn = Conn::new(stream);
        conn.reply(&SmtpReply::greeting(&self.settings.hostname)).await?;
        self.converse(conn).await?;
        Ok(())
    }

    async fn converse<S: AsyncRead + AsyncWrite + Send + Unpin>(&mut self, mut conn: Conn<S>) -> std::io::Result<Next<S>> {
        let mut line = Vec::with_capacity(512);
        loop {
            let reply = match self.read_command(&mut conn, &mut line).await? {
                Input::Eof => return Ok(Next::Closed),
                Input::TimedOut => SmtpReply::timeout(&self.settings.hostname),
                Input::SessionOver => SmtpReply::session_too_long(&self.settings.hostname),
                Input::Shutdown => SmtpReply::shutting_down(&self.settings.hostname),
                Input::TooLong => SmtpReply::line_too_long(),
                Input::Line => match super::command::parse(&line) {
                    Ok(Request::StartTls) => match self.starttls() {
                        Ok(ready) => {
                            conn.reply(&ready).await?;
                            conn.flush().await?;
                            return Ok(Next::StartTls(conn));
                        }
                        Err(refusal) => refusal,
                    },
                    Ok(request) => self.command(request, &mut conn).await?,
                    Err(e) => parse_error_reply(&e),
                },
            };
            // Only the client's own mistakes (5xx) count; our 4xx (a scanner outage, a rate
            // limit) must not end a pipelining MTA's session.
            if reply.code >= 500 {
                self.errors += 1;
            }
            let reply = if self.errors > self.settings.max_errors { SmtpReply::too_many_errors(&self.settings.hostname) } else { reply };
            conn.reply(&reply).await?;
            if reply.closes() {
                conn.flush().await?;
                let _ = conn.writer.shutdown().await;
                return Ok(Next::Closed);
            }
        }
    }

    /// The time allowed for the next read: the per-command timeout, capped by the session's.
    fn read_budget(&self, per_read: std::time::Duration) -> Option<std::time::Duration> {
        let left = self.deadline.checked_duration_since(Instant::now())?;
        Some(left.min(per_read))
    }

    async fn read_command<S: AsyncRead + AsyncWrite>(&self, conn: &mut Conn<S>, line: &mut Vec<u8>) -> std::io::Result<Input> {
        let Some(budget) = self.read_budget(self.settings.command_timeout) else { return Ok(Input::SessionOver) };
        let max = self.settings.max_line_length;
        let read = tokio::select! {
            () = self.shutdown.cancelled() => return Ok(Input::Shutdown),
            r = tokio::time::timeout(budget, read_chunk(&mut conn.reader, line, max)) => r,
        };
        let Ok(n) = read else { return Ok(self.timed_out()) };
        if n? == 0 {
            return Ok(Input::Eof);
        }
        if line.ends_with(b"\n") {
            return Ok(Input::Line);
        }
        // Over-long line: discard the rest of it, then complain once.
        let mut rest = Vec::new();
        loop {
            let Ok(n) = tokio::time::timeout(budget, read_chunk(&mut conn.reader, &mut rest, max)).await else {
                return Ok(self.timed_out());
            };
            if n? == 0 {
                return Ok(Input::Eof);
            }
            if rest.ends_with(b"\n") {
                return Ok(Input::TooLong);
            }
        }
    }

    fn timed_out(&self) -> Input {
        if Instant::now() >= self.deadline { Input::SessionOver } else { Input::TimedOut }
    }

    async fn command<S: AsyncRead + AsyncWrite>(&mut self, request: Request<String>, conn: &mut Conn<S>) -> std::io::Result<SmtpReply> {
        if self.chunks.is_some() && !matches!(request, Request::Bdat { .. } | Request::Rset | Request::Quit | Request::Noop { .. }) {
            self.abort_transaction();
            return Ok(SmtpReply::bad_sequence("Only BDAT, RSET, NOOP or QUIT may follow BDAT; transaction aborted"));
        }
        Ok(match request {
            Request::Ehlo { host } => self.ehlo(&host),
            Request::Helo { host } => self.helo(&host),
            Request::Mail { from } => self.mail(&from.address, from.size),
            Request::Rcpt { to } => self.rcpt(&to.address),
            Request::Data => return self.data(conn).await,
            Request::Bdat { chunk_size, is_last } => return self.bdat(conn, chunk_size, is_last).await,
            Request::Rset => self.rset(),
            Request::Noop { .. } => SmtpReply::ok("OK"),
            Request::Quit => SmtpReply::bye(&self.settings.hostname),
            Request::Vrfy { .. } => SmtpReply::cannot_vrfy(),
            Request::Expn { .. } => SmtpReply::not_implemented("EXPN"),
            Request::Help { .. } => SmtpReply::help(),
            other => SmtpReply::not_implemented(other.name()),
        })
    }

    fn ehlo(&mut self, host: &str) -> SmtpReply {
        self.greeted(host);
        let s = self.settings;
        let starttls = if s.tls.is_some() && !self.tls { "\nSTARTTLS" } else { "" };
        SmtpReply::ok(format!(
            "{} greets {host}\nPIPELINING\nSIZE {}\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\nCHUNKING{starttls}",
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
        self.helo = host.chars().filter(|c| !c.is_control()).take(255).collect();
        self.abort_transaction();
        self.phase = Phase::Ready;
    }

    fn starttls(&mut self) -> Result<SmtpReply, SmtpReply> {
        if self.tls {
            return Err(SmtpReply::tls_already_active());
        }
        if self.settings.tls.is_none() {
            return Err(SmtpReply::tls_unavailable());
        }
        if self.phase == Phase::Fresh {
            return Err(SmtpReply::bad_sequence("Send EHLO first"));
        }
        Ok(SmtpReply::ready_for_tls())
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
        if !self.limits.allow_message(self.client_ip, Instant::now().into_std()) {
            return SmtpReply::rate_limited();
        }
        let from = if address.is_empty() { None } else { Some(address.to_owned()) };
        self.phase = Phase::Mail { from };
        SmtpReply::sender_ok()
    }

    fn rcpt(&mut self, address: &str) -> SmtpReply {
        let (from, mut recipients, current, options) = match std::mem::replace(&mut self.phase, Phase::Ready) {
            Phase::Mail { from } => (from, Vec::new(), None, Vec::new()),
            Phase::Rcpt { from, recipients, queue, options } => (from, recipients, Some(queue), options),
            other => {
                self.phase = other;
                return SmtpReply::bad_sequence("Send MAIL first");
            }
        };
        let reply = match self.receiver.route(address) {
            None => SmtpReply::unknown_recipient(address),
            Some(_) if recipients.len() >= self.settings.max_recipients => SmtpReply::too_many_recipients(),
            Some(route) if current.as_ref().is_some_and(|q| *q != route.queue) => SmtpReply::one_queue_per_message(),
            Some(route) => {
                if !recipients.iter().any(|r| r.eq_ignore_ascii_case(address)) {
                    recipients.push(address.to_owned());
                }
                let mut options = options;
                for option in route.options {
                    if !options.contains(&option) {
                        options.push(option);
                    }
                }
                self.phase = Phase::Rcpt { from, recipients, queue: route.queue, options };
                return SmtpReply::recipient_ok();
            }
        };
        self.phase = match current {
            Some(queue) => Phase::Rcpt { from, recipients, queue, options },
            None => Phase::Mail { from },
        };
        reply
    }

    fn rset(&mut self) -> SmtpReply {
        self.abort_transaction();
        if self.phase != Phase::Fresh {
            self.phase = Phase::Ready;
        }
        SmtpReply::ok("Reset OK")
    }

    fn abort_transaction(&mut self) {
        self.chunks = None;
        if matches!(self.phase, Phase::Mail { .. } | Phase::Rcpt { .. }) {
            self.phase = Phase::Ready;
        }
    }

    /// Takes the transaction out of the phase, or the reply that says why there is none.
    fn take_transaction(&mut self) -> Result<Envelope, SmtpReply> {
        match std::mem::replace(&mut self.phase, Phase::Ready) {
            Phase::Rcpt { from, recipients, queue, options } => Ok(Envelope {
                client_ip: self.client_ip,
                helo: self.helo.clone(),
                mail_from: from,
                recipients,
                queue,
                bare_lf_lines: 0,
                tls: self.tls,
                options,
            }),
            Phase::Mail { from } => {
                self.phase = Phase::Mail { from };
                Err(SmtpReply::no_valid_recipients())
            }
            other => {
                self.phase = other;
                Err(SmtpReply::bad_sequence("Send MAIL and RCPT first"))
            }
        }
    }

    async fn data<S: AsyncRead + AsyncWrite>(&mut self, conn: &mut Conn<S>) -> std::io::Result<SmtpReply> {
        let mut envelope = match self.take_transaction() {
            Ok(e) => e,
            Err(reply) => return Ok(reply),
        };
        conn.reply(&SmtpReply::start_data()).await?;
        let limit = self.settings.max_message_bytes;
        let mut decoder = DataDecoder::new(limit);
        let mut chunk = Vec::with_capacity(1024);
        loop {
            let Some(budget) = self.read_budget(self.settings.data_timeout) else {
                return Ok(SmtpReply::session_too_long(&self.settings.hostname));
            };
            let Ok(n) = tokio::time::timeout(budget, read_chunk(&mut conn.reader, &mut chunk, MAX_DATA_CHUNK)).await else {
                return Ok(SmtpReply::timeout(&self.settings.hostname));
            };
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
        envelope.bare_lf_lines = decoder.bare_lf_lines();
        Ok(self.deliver(envelope, decoder.into_message()).await)
    }

    /// RFC 3030 CHUNKING: exactly `size` octets follow the command, no dot-stuffing.
    async fn bdat<S: AsyncRead + AsyncWrite>(&mut self, conn: &mut Conn<S>, size: usize, last: bool) -> std::io::Result<SmtpReply> {
        let ready = matches!(self.phase, Phase::Rcpt { .. });
        let limit = self.settings.max_message_bytes;
        let Some(budget) = self.read_budget(self.settings.data_timeout) else {
            return Ok(SmtpReply::session_too_long(&self.settings.hostname));
        };
        // The octets are read (and dropped if unwanted) so the stream stays in sync.
        let chunks = self.chunks.get_or_insert_with(|| Chunks { message: Vec::new(), too_large: false });
        let keep = ready && !chunks.too_large && chunks.message.len().saturating_add(size) <= limit;
        if !keep {
            chunks.too_large = ready;
            chunks.message = Vec::new();
        }
        let mut take = (&mut conn.reader).take(size as u64);
        let copied = if keep {
            chunks.message.reserve(size);
            tokio::time::timeout(budget, take.read_to_end(&mut chunks.message)).await
        } else {
            let discard = async { tokio::io::copy(&mut take, &mut tokio::io::sink()).await.map(|n| n as usize) };
            tokio::time::timeout(budget, discard).await
        };
        let Ok(copied) = copied else { return Ok(SmtpReply::timeout(&self.settings.hostname)) };
        if copied? < size {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if !ready {
            self.chunks = None;
            return Ok(self.take_transaction().err().unwrap_or_else(|| SmtpReply::bad_sequence("Send MAIL and RCPT first")));
        }
        if !last {
            return Ok(SmtpReply::chunk_received(size));
        }
        let chunks = self.chunks.take().unwrap_or(Chunks { message: Vec::new(), too_large: false });
        let envelope = match self.take_transaction() {
            Ok(e) => e,
            Err(reply) => return Ok(reply),
        };
        if chunks.too_large {
            return Ok(SmtpReply::message_too_big(limit));
        }
        Ok(self.deliver(envelope, chunks.message).await)
    }

    async fn deliver(&mut self, envelope: Envelope, message: Vec<u8>) -> SmtpReply {
        let disposition = self.receiver.receive(envelope, message).await;
        SmtpReply::from(&disposition)
    }
}

fn parse_error_reply(e: &ParseError) -> SmtpReply {
    match e {
        ParseError::UnknownCommand => SmtpReply::unknown_command(),
        ParseError::InvalidSenderAddress => SmtpReply::bad_sender(),
        ParseError::InvalidRecipientAddress => SmtpReply::bad_recipient(),
        ParseError::SyntaxError { syntax } => SmtpReply::syntax_error(syntax),
        ParseError::InvalidParameter { param } => SmtpReply::syntax_error(&format!("invalid parameter {param}")),
        ParseError::UnsupportedParameter { param } => SmtpReply::syntax_error(&format!("unsupported parameter {param}")),
        ParseError::ResponseTooLong => SmtpReply::line_too_long(),
        ParseError::NeedsMoreData { .. } | ParseError::InvalidResponse { .. } => SmtpReply::syntax_error("incomplete command"),
    }
}

#[cfg(test)]
mod tests;
