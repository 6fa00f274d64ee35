//! A plain SMTP client for load tests: one transaction per connection, the final answer
//! classified. Any I/O failure before the final reply means the server was down or killed.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `250` with this queue id.
    Accepted(String),
    /// An explicit 4xx/5xx reply (the whole reply text).
    Refused(String),
    /// The connection failed or dropped before a final reply.
    NoAnswer,
}

impl Outcome {
    /// A 4xx reply: the sender may retry; nothing may have been kept.
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::Refused(r) if r.starts_with('4'))
    }

    /// A 5xx reply: final refusal.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Refused(r) if r.starts_with('5'))
    }
}

/// One SMTP transaction: EHLO, MAIL, RCPT, DATA, the message as it is (dot-stuffed here), then
/// the final reply.
pub fn send(port: u16, from: &str, rcpt: &str, message: impl AsRef<[u8]>) -> Outcome {
    let body = dot_stuffed(message.as_ref());
    let attempt = || -> std::io::Result<Outcome> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        let mut writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        let mut reply = || -> std::io::Result<String> {
            let mut all = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                all.push_str(&line);
                if line.as_bytes().get(3) != Some(&b'-') {
                    return Ok(all);
                }
            }
        };
        let greeting = reply()?;
        if !greeting.starts_with('2') {
            return Ok(Outcome::Refused(greeting));
        }
        for cmd in
            ["EHLO load.test\r\n".to_owned(), format!("MAIL FROM:<{from}>\r\n"), format!("RCPT TO:<{rcpt}>\r\n"), "DATA\r\n".to_owned()]
        {
            writer.write_all(cmd.as_bytes())?;
            let r = reply()?;
            if !(r.starts_with('2') || r.starts_with('3')) {
                return Ok(Outcome::Refused(r));
            }
        }
        // The server may answer early (a line too long) and close: that answer is what counts,
        // so a failed write still reads the reply (a dead server fails the read as well).
        let _ = writer.write_all(&body);
        let r = reply()?;
        let _ = writer.write_all(b"QUIT\r\n");
        Ok(match r.strip_prefix("250 2.0.0 Ok: queued as ") {
            Some(id) => Outcome::Accepted(id.trim().to_owned()),
            None => Outcome::Refused(r),
        })
    };
    attempt().unwrap_or(Outcome::NoAnswer)
}

/// `raw` with every line that starts with a dot doubled, ending in CRLF and the final `.`.
pub fn dot_stuffed(raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(raw.len() + 1024);
    for line in raw.split_inclusive(|b| *b == b'\n') {
        if line.first() == Some(&b'.') {
            body.push(b'.');
        }
        body.extend_from_slice(line);
    }
    if !body.is_empty() && !body.ends_with(b"\r\n") {
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b".\r\n");
    body
}
