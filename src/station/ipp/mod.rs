//! A small IPP/1.1 client (RFC 8010 encoding, RFC 8011 operations): enough to print a PDF and
//! follow it to the end — Get-Printer-Attributes (is the printer up and accepting jobs?),
//! Print-Job, Get-Job-Attributes (did it complete?) and Cancel-Job (give up on a stuck job).
//!
//! Transport is HTTP POST of `application/ipp` (`ipp://` is HTTP on port 631, `ipps://` HTTPS).
//! The document exists only in memory here.

use std::time::Duration;

/// IPP operation ids (RFC 8011 §5.4.15).
mod op {
    pub const PRINT_JOB: u16 = 0x0002;
    pub const CANCEL_JOB: u16 = 0x0008;
    pub const GET_JOB_ATTRIBUTES: u16 = 0x0009;
    pub const GET_PRINTER_ATTRIBUTES: u16 = 0x000B;
}

/// Delimiter and value tags (RFC 8010 §3.5).
mod tag {
    pub const OPERATION: u8 = 0x01;
    pub const JOB: u8 = 0x02;
    pub const END: u8 = 0x03;
    pub const INTEGER: u8 = 0x21;
    pub const BOOLEAN: u8 = 0x22;
    pub const ENUM: u8 = 0x23;
    pub const RANGE: u8 = 0x33;
    pub const NAME: u8 = 0x42;
    pub const KEYWORD: u8 = 0x44;
    pub const URI: u8 = 0x45;
    pub const CHARSET: u8 = 0x47;
    pub const LANGUAGE: u8 = 0x48;
    pub const MIME: u8 = 0x49;
}

/// Job states (RFC 8011 §5.3.7).
pub mod job_state {
    pub const PROCESSING_STOPPED: i32 = 6;
    pub const CANCELED: i32 = 7;
    pub const ABORTED: i32 = 8;
    pub const COMPLETED: i32 = 9;
}

/// Printer state `stopped` (RFC 8011 §5.4.11).
const PRINTER_STOPPED: i32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum IppError {
    #[error("printer URI {0:?} must be ipp://HOST[:PORT]/PATH or ipps://…")]
    BadUri(String),
    #[error("printer unreachable: {0}")]
    Unreachable(String),
    #[error("printer is not taking jobs: {0}")]
    NotAccepting(String),
    #[error("printer refused the request: {0}")]
    Refused(String),
    #[error("print job {job_id} {state}: {reasons}")]
    JobFailed { job_id: i32, state: &'static str, reasons: String },
    #[error("print job {job_id} did not finish within {secs} s (last state {state}; cancelled)")]
    Timeout { job_id: i32, secs: u64, state: i32 },
    #[error("malformed IPP response: {0}")]
    Malformed(String),
}

/// One attribute value as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i32),
    Bool(bool),
    Text(String),
    Range(i32, i32),
    Other(u8, Vec<u8>),
}

impl Value {
    fn as_int(&self) -> Option<i32> {
        if let Self::Int(i) = self { Some(*i) } else { None }
    }
    fn as_text(&self) -> Option<&str> {
        if let Self::Text(t) = self { Some(t) } else { None }
    }
}

/// An IPP request under construction.
pub struct Request {
    buf: Vec<u8>,
    group: u8,
}

impl Request {
    pub fn new(operation: u16, request_id: u32, printer_uri: &str) -> Self {
        let mut buf = vec![1, 1];
        buf.extend_from_slice(&operation.to_be_bytes());
        buf.extend_from_slice(&request_id.to_be_bytes());
        let mut r = Self { buf, group: 0 };
        r.group(tag::OPERATION);
        r.attr(tag::CHARSET, "attributes-charset", b"utf-8");
        r.attr(tag::LANGUAGE, "attributes-natural-language", b"en");
        r.attr(tag::URI, "printer-uri", printer_uri.as_bytes());
        r
    }

    fn group(&mut self, g: u8) {
        if self.group != g {
            self.buf.push(g);
            self.group = g;
        }
    }

    fn attr(&mut self, value_tag: u8, name: &str, value: &[u8]) {
        self.buf.push(value_tag);
        self.buf.extend_from_slice(&(name.len() as u16).to_be_bytes());
        self.buf.extend_from_slice(name.as_bytes());
        // Values longer than 32767 bytes are not valid IPP; every value here is short.
        let len = value.len().min(32767);
        self.buf.extend_from_slice(&(len as u16).to_be_bytes());
        self.buf.extend_from_slice(&value[..len]);
    }

    /// An additional value of the previous attribute.
    fn more(&mut self, value_tag: u8, value: &[u8]) {
        self.attr(value_tag, "", value);
    }

    pub fn op_text(mut self, value_tag: u8, name: &str, value: &str) -> Self {
        self.group(tag::OPERATION);
        self.attr(value_tag, name, value.as_bytes());
        self
    }

    pub fn op_int(mut self, name: &str, value: i32) -> Self {
        self.group(tag::OPERATION);
        self.attr(tag::INTEGER, name, &value.to_be_bytes());
        self
    }

    pub fn requested(mut self, names: &[&str]) -> Self {
        self.group(tag::OPERATION);
        for (i, n) in names.iter().enumerate() {
            if i == 0 {
                self.attr(tag::KEYWORD, "requested-attributes", n.as_bytes());
            } else {
                self.more(tag::KEYWORD, n.as_bytes());
            }
        }
        self
    }

    pub fn job_int(mut self, name: &str, value: i32) -> Self {
        self.group(tag::JOB);
        self.attr(tag::INTEGER, name, &value.to_be_bytes());
        self
    }

    pub fn job_keyword(mut self, name: &str, value: &str) -> Self {
        self.group(tag::JOB);
        self.attr(tag::KEYWORD, name, value.as_bytes());
        self
    }

    pub fn job_range(mut self, name: &str, first: i32, last: i32) -> Self {
        self.group(tag::JOB);
        let mut v = first.to_be_bytes().to_vec();
        v.extend_from_slice(&last.to_be_bytes());
        self.attr(tag::RANGE, name, &v);
        self
    }

    /// The encoded request followed by the document.
    pub fn finish(mut self, document: &[u8]) -> Vec<u8> {
        self.buf.push(tag::END);
        self.buf.extend_from_slice(document);
        self.buf
    }
}

/// A decoded IPP response.
#[derive(Debug, Default)]
pub struct Response {
    pub status: u16,
    /// `(group tag, name, values)` in order.
    pub attributes: Vec<(u8, String, Vec<Value>)>,
}

impl Response {
    /// Decodes a response (the body after the HTTP headers).
    ///
    /// # Errors
    /// [`IppError::Malformed`] naming what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Self, IppError> {
        let bad = |what: &str| IppError::Malformed(what.to_owned());
        if bytes.len() < 9 {
            return Err(bad("shorter than an IPP header"));
        }
        let status = u16::from_be_bytes([bytes[2], bytes[3]]);
        let mut at = 8;
        let mut group = 0u8;
        let mut attributes: Vec<(u8, String, Vec<Value>)> = Vec::new();
        let take = |at: &mut usize, n: usize| -> Result<&[u8], IppError> {
            let end = at.checked_add(n).filter(|e| *e <= bytes.len()).ok_or_else(|| bad("truncated attribute"))?;
            let s = &bytes[*at..end];
            *at = end;
            Ok(s)
        };
        loop {
            let t = *bytes.get(at).ok_or_else(|| bad("no end-of-attributes tag"))?;
            at += 1;
            if t == tag::END {
                break;
            }
            if t < 0x10 {
                group = t;
                continue;
            }
            let name_len = u16::from_be_bytes(take(&mut at, 2)?.try_into().map_err(|_| bad("length"))?) as usize;
            let name = String::from_utf8_lossy(take(&mut at, name_len)?).into_owned();
            let value_len = u16::from_be_bytes(take(&mut at, 2)?.try_into().map_err(|_| bad("length"))?) as usize;
            let raw = take(&mut at, value_len)?;
            let value = match (t, raw.len()) {
                (tag::INTEGER | tag::ENUM, 4) => Value::Int(i32::from_be_bytes(raw.try_into().map_err(|_| bad("integer"))?)),
                (tag::BOOLEAN, 1) => Value::Bool(raw[0] != 0),
                (tag::RANGE, 8) => Value::Range(
                    i32::from_be_bytes(raw[..4].try_into().map_err(|_| bad("range"))?),
                    i32::from_be_bytes(raw[4..].try_into().map_err(|_| bad("range"))?),
                ),
                (0x41..=0x49, _) => Value::Text(String::from_utf8_lossy(raw).into_owned()),
                _ => Value::Other(t, raw.to_vec()),
            };
            match (name.is_empty(), attributes.last_mut()) {
                (true, Some(last)) => last.2.push(value),
                (true, None) => return Err(bad("additional value without an attribute")),
                (false, _) => attributes.push((group, name, vec![value])),
            }
        }
        Ok(Self { status, attributes })
    }

    pub fn is_success(&self) -> bool {
        self.status < 0x0100
    }

    fn values(&self, name: &str) -> &[Value] {
        self.attributes.iter().find(|(_, n, _)| n == name).map_or(&[], |(_, _, v)| v.as_slice())
    }

    pub fn int(&self, name: &str) -> Option<i32> {
        self.values(name).first().and_then(Value::as_int)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.values(name).first() {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// All text values of an attribute, comma-separated.
    pub fn texts(&self, name: &str) -> String {
        self.values(name).iter().filter_map(Value::as_text).collect::<Vec<_>>().join(", ")
    }

    /// The status code's name and the printer's status-message, for errors.
    pub fn describe(&self) -> String {
        let message = self.texts("status-message");
        let name = status_name(self.status);
        if message.is_empty() { format!("{name} (0x{:04x})", self.status) } else { format!("{name} (0x{:04x}): {message}", self.status) }
    }
}

fn status_name(status: u16) -> &'static str {
    match status {
        0x0000..=0x00ff => "successful",
        0x0400 => "client-error-bad-request",
        0x0401 => "client-error-forbidden",
        0x0402 | 0x0403 => "client-error-not-authorized",
        0x0406 => "client-error-not-found",
        0x040a => "client-error-document-format-not-supported",
        0x040b => "client-error-attributes-or-values-not-supported",
        0x0404..=0x0405 | 0x0407..=0x0409 | 0x040c..=0x04ff => "client-error",
        0x0501 => "server-error-operation-not-supported",
        0x0506 => "server-error-not-accepting-jobs",
        0x0507 => "server-error-busy",
        _ => "server-error",
    }
}

/// What to ask the printer for, from the sealed job's listing.
#[derive(Debug, Clone, Default)]
pub struct PrintOptions {
    pub job_name: String,
    pub copies: i32,
    pub duplex: bool,
    pub color: bool,
    /// `(first, last)` page, or none for all.
    pub page_range: Option<(i32, i32)>,
}

/// One IPP printer.
pub struct Printer {
    uri: String,
    http_url: String,
    http: reqwest::Client,
    /// How long a submitted job may take to complete.
    pub job_timeout: Duration,
    /// How often the job's state is asked for.
    pub poll_every: Duration,
    next_request_id: std::sync::atomic::AtomicU32,
}

impl Printer {
    /// # Errors
    /// [`IppError::BadUri`] for a URI that is not `ipp://` or `ipps://`.
    pub fn new(uri: &str) -> Result<Self, IppError> {
        let (scheme, rest) = if let Some(r) = uri.strip_prefix("ipp://") {
            ("http", r)
        } else if let Some(r) = uri.strip_prefix("ipps://") {
            ("https", r)
        } else {
            return Err(IppError::BadUri(uri.to_owned()));
        };
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        if authority.is_empty() {
            return Err(IppError::BadUri(uri.to_owned()));
        }
        let authority =
            if authority.rsplit_once(':').is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit())) && !authority.ends_with(']') {
                authority.to_owned()
            } else {
                format!("{authority}:631")
            };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| IppError::Unreachable(e.to_string()))?;
        Ok(Self {
            uri: uri.to_owned(),
            http_url: format!("{scheme}://{authority}/{path}"),
            http,
            job_timeout: Duration::from_secs(600),
            poll_every: Duration::from_millis(500),
            next_request_id: std::sync::atomic::AtomicU32::new(1),
        })
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    fn request(&self, operation: u16) -> Request {
        let id = self.next_request_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Request::new(operation, id, &self.uri).op_text(tag::NAME, "requesting-user-name", "printgate")
    }

    async fn send(&self, body: Vec<u8>) -> Result<Response, IppError> {
        let resp = self
            .http
            .post(&self.http_url)
            .header(reqwest::header::CONTENT_TYPE, "application/ipp")
            .body(body)
            .send()
            .await
            .map_err(|e| IppError::Unreachable(error_chain(&e)))?;
        if !resp.status().is_success() {
            return Err(IppError::Refused(format!("HTTP {}", resp.status())));
        }
        let bytes = resp.bytes().await.map_err(|e| IppError::Unreachable(error_chain(&e)))?;
        Response::decode(&bytes)
    }

    /// Checks that the printer answers, is not stopped and accepts jobs.
    ///
    /// # Errors
    /// [`IppError::Unreachable`] or [`IppError::NotAccepting`] with the printer's reasons.
    pub async fn ready(&self) -> Result<(), IppError> {
        let req =
            self.request(op::GET_PRINTER_ATTRIBUTES).requested(&["printer-state", "printer-state-reasons", "printer-is-accepting-jobs"]);
        let resp = self.send(req.finish(&[])).await?;
        if !resp.is_success() {
            return Err(IppError::Refused(resp.describe()));
        }
        let reasons = resp.texts("printer-state-reasons");
        if resp.int("printer-state") == Some(PRINTER_STOPPED) {
            return Err(IppError::NotAccepting(format!("stopped ({reasons})")));
        }
        if resp.bool("printer-is-accepting-jobs") == Some(false) {
            return Err(IppError::NotAccepting(format!("not accepting jobs ({reasons})")));
        }
        Ok(())
    }

    /// Prints a PDF and waits until the printer reports the job completed.
    ///
    /// # Errors
    /// [`IppError`]: the printer is down or stopped, refused the job, or the job was
    /// cancelled, aborted or did not finish in time (then it is cancelled).
    pub async fn print(&self, pdf: &[u8], options: &PrintOptions) -> Result<i32, IppError> {
        self.ready().await?;
        let mut req = self
            .request(op::PRINT_JOB)
            .op_text(tag::NAME, "job-name", &options.job_name)
            .op_text(tag::MIME, "document-format", "application/pdf")
            .job_int("copies", options.copies.max(1))
            .job_keyword("sides", if options.duplex { "two-sided-long-edge" } else { "one-sided" })
            .job_keyword("print-color-mode", if options.color { "color" } else { "monochrome" });
        if let Some((first, last)) = options.page_range {
            req = req.job_range("page-ranges", first, last);
        }
        let resp = self.send(req.finish(pdf)).await?;
        if !resp.is_success() {
            return Err(IppError::Refused(resp.describe()));
        }
        let job_id = resp.int("job-id").ok_or_else(|| IppError::Malformed("Print-Job answer without job-id".into()))?;
        self.wait(job_id).await
    }

    async fn wait(&self, job_id: i32) -> Result<i32, IppError> {
        let deadline = tokio::time::Instant::now() + self.job_timeout;
        let mut state = 0;
        loop {
            let req = self.request(op::GET_JOB_ATTRIBUTES).op_int("job-id", job_id).requested(&["job-state", "job-state-reasons"]);
            match self.send(req.finish(&[])).await {
                Ok(resp) if resp.is_success() => {
                    state = resp.int("job-state").unwrap_or(state);
                    let reasons = resp.texts("job-state-reasons");
                    match state {
                        job_state::COMPLETED => return Ok(job_id),
                        job_state::CANCELED => return Err(IppError::JobFailed { job_id, state: "was cancelled", reasons }),
                        job_state::ABORTED => return Err(IppError::JobFailed { job_id, state: "was aborted", reasons }),
                        _ => {}
                    }
                }
                Ok(resp) => return Err(IppError::Refused(resp.describe())),
                // The printer went away while printing: keep asking until the deadline.
                Err(IppError::Unreachable(e)) => tracing::warn!(job_id, error = %e, "printer unreachable while printing"),
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                let cancel = self.request(op::CANCEL_JOB).op_int("job-id", job_id);
                let _ = self.send(cancel.finish(&[])).await;
                return Err(IppError::Timeout { job_id, secs: self.job_timeout.as_secs(), state });
            }
            tokio::time::sleep(self.poll_every).await;
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_encodes_groups_attributes_and_additional_values() {
        let bytes = Request::new(op::GET_PRINTER_ATTRIBUTES, 7, "ipp://h/p").requested(&["a", "bc"]).job_int("copies", 2).finish(b"DOC");
        assert_eq!(&bytes[..8], &[1, 1, 0, 0x0B, 0, 0, 0, 7]);
        assert_eq!(bytes[8], tag::OPERATION);
        // requested-attributes "a", then an additional value "bc" with an empty name.
        let tail = [tag::KEYWORD, 0, 20]
            .iter()
            .chain(b"requested-attributes")
            .chain(&[0, 1, b'a', tag::KEYWORD, 0, 0, 0, 2, b'b', b'c'])
            .copied()
            .collect::<Vec<u8>>();
        assert!(bytes.windows(tail.len()).any(|w| w == tail.as_slice()));
        assert!(bytes.ends_with(&[
            tag::JOB,
            tag::INTEGER,
            0,
            6,
            b'c',
            b'o',
            b'p',
            b'i',
            b'e',
            b's',
            0,
            4,
            0,
            0,
            0,
            2,
            tag::END,
            b'D',
            b'O',
            b'C'
        ]));
    }

    #[test]
    fn a_response_decodes_and_truncation_is_an_error() {
        let mut body = vec![1, 1, 0, 0, 0, 0, 0, 1, tag::JOB];
        body.extend_from_slice(&[tag::INTEGER, 0, 6]);
        body.extend_from_slice(b"job-id");
        body.extend_from_slice(&[0, 4, 0, 0, 0, 42]);
        body.extend_from_slice(&[tag::KEYWORD, 0, 17]);
        body.extend_from_slice(b"job-state-reasons");
        body.extend_from_slice(&[0, 4]);
        body.extend_from_slice(b"none");
        body.extend_from_slice(&[tag::KEYWORD, 0, 0, 0, 3]);
        body.extend_from_slice(b"two");
        body.push(tag::END);
        let r = Response::decode(&body).unwrap();
        assert!(r.is_success());
        assert_eq!(r.int("job-id"), Some(42));
        assert_eq!(r.texts("job-state-reasons"), "none, two");
        for cut in 9..body.len() {
            assert!(Response::decode(&body[..cut]).is_err(), "cut at {cut} decoded");
        }
    }

    #[test]
    fn printer_uris_map_to_http_with_the_ipp_port() {
        assert_eq!(Printer::new("ipp://printer.lan/ipp/print").unwrap().http_url, "http://printer.lan:631/ipp/print");
        assert_eq!(Printer::new("ipps://10.0.0.5:8631/ipp").unwrap().http_url, "https://10.0.0.5:8631/ipp");
        assert!(matches!(Printer::new("http://x/"), Err(IppError::BadUri(_))));
        assert!(matches!(Printer::new("ipp:///p"), Err(IppError::BadUri(_))));
    }
}
