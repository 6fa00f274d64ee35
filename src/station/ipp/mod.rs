//! The release station's IPP printer client: asks a printer how it is ([`Printer::status`],
//! worded for patrons by [`condition`]), prints a PDF ([`Printer::submit`]) and follows the job
//! to its end ([`Printer::wait_with`], [`Printer::job_progress`]); [`Printer::print`] is both.
//!
//! Operations: Get-Printer-Attributes, Print-Job, Get-Job-Attributes and Cancel-Job (RFC 8011),
//! encoded and decoded by the `ipp` crate (`wire.rs`). The transport is this module's own
//! long-lived `reqwest::Client` (HTTP POST of `application/ipp` with a Content-Length; `ipp://`
//! is HTTP and `ipps://` HTTPS, both on port 631 unless the URI names one), with a timeout per
//! operation: 3 s for a status, 20 s for the check before a job, 5 min for the Print-Job
//! upload, 10 s for the rest. The crate's own `AsyncIppClient` (feature `async-client`) is not
//! used: in 8.0.0 it builds a new HTTP client, so a new connection, for every request (a poll
//! every 0.5 s), sends `ipps://` URIs without a port to 443, streams every body chunked, and has
//! one timeout for all operations.
//!
//! Owns: talking IPP to one printer. Must not touch: the server's API or the sealed job (the
//! caller hands over the opened PDF, which exists only in memory here) or the patron's words
//! (`status.rs` gives stable keys).

mod job;
mod status;
mod wire;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use tokio::time::Instant;

pub use job::{JobProgress, JobState};
pub use status::{Condition, PrinterState, PrinterStatus, condition};

/// A status must answer quickly: a dead printer is Offline within this.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);
/// The check before a job: longer, as a printer waking from sleep may be slow to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Print-Job uploads the whole document.
const PRINT_TIMEOUT: Duration = Duration::from_secs(300);
/// Get-Job-Attributes and Cancel-Job.
const JOB_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a Print-Job answered `server-error-busy` is offered again before it counts as failed.
const BUSY_WAIT: Duration = Duration::from_secs(120);
/// RFC 8011 §5.4.15: the printer is busy with another job.
const SERVER_ERROR_BUSY: u16 = 0x0507;

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
    Timeout { job_id: i32, secs: u64, state: &'static str },
    #[error("malformed IPP response: {0}")]
    Malformed(String),
    #[error("cannot encode the IPP request: {0}")]
    Encode(String),
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
    /// How long a submitted job may take to complete; then it is cancelled.
    pub job_timeout: Duration,
    /// How often the job's state is asked for.
    pub poll_every: Duration,
    /// How long the printer may be unreachable while a job is not completed before the wait
    /// gives up with [`IppError::Unreachable`] (the job may be lost at the printer).
    pub unreachable_grace: Duration,
    next_request_id: AtomicI32,
    /// Supported colour modes and sides, from the first status that answered.
    capabilities: OnceLock<status::Capabilities>,
}

impl Printer {
    /// # Errors
    /// [`IppError::BadUri`] for a URI that is not `ipp://` or `ipps://`.
    pub fn new(uri: &str) -> Result<Self, IppError> {
        let (_, http_url) = wire::endpoint(uri)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| IppError::Unreachable(error_chain(&e)))?;
        Ok(Self {
            uri: uri.to_owned(),
            http_url,
            http,
            job_timeout: Duration::from_secs(600),
            poll_every: Duration::from_millis(500),
            unreachable_grace: Duration::from_secs(60),
            next_request_id: AtomicI32::new(1),
            capabilities: OnceLock::new(),
        })
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The URI as `printer-uri`, parsed again for each request rather than kept: a stored
    /// `http::Uri` (about 90 bytes) makes `station::Output::Printer` too large next to `Dir`.
    fn target(&self) -> Result<ipp::prelude::Uri, IppError> {
        wire::endpoint(&self.uri).map(|(target, _)| target)
    }

    /// Sends one request (followed by `document`) and decodes the answer.
    async fn send(
        &self,
        mut request: ipp::request::IppRequestResponse,
        document: &[u8],
        timeout: Duration,
    ) -> Result<wire::Answer, IppError> {
        // request-id: 1 ..= i32::MAX (RFC 8011 §4.1.1).
        request.header_mut().request_id = self.next_request_id.fetch_add(1, Ordering::Relaxed).rem_euclid(i32::MAX) + 1;
        let mut body = request.to_bytes().to_vec();
        body.extend_from_slice(document);
        let unreachable = |e: reqwest::Error| {
            if e.is_timeout() {
                IppError::Unreachable(format!("no answer from {} within {} s", self.http_url, timeout.as_secs()))
            } else {
                IppError::Unreachable(error_chain(&e))
            }
        };
        let resp = self
            .http
            .post(&self.http_url)
            .header(reqwest::header::CONTENT_TYPE, "application/ipp")
            .timeout(timeout)
            .body(body)
            .send()
            .await
            .map_err(unreachable)?;
        match resp.status() {
            s if s.is_success() => {}
            reqwest::StatusCode::SERVICE_UNAVAILABLE => return Err(IppError::NotAccepting("HTTP 503 Service Unavailable".into())),
            s => return Err(IppError::Refused(format!("HTTP {s}"))),
        }
        wire::Answer::decode(resp.bytes().await.map_err(unreachable)?)
    }

    /// How the printer is: state, reasons, whether it accepts jobs, what it can print. Answers
    /// within about 3 s; a printer that does not is [`IppError::Unreachable`].
    ///
    /// # Errors
    /// [`IppError::Unreachable`], or the printer's refusal of the request.
    pub async fn status(&self) -> Result<PrinterStatus, IppError> {
        self.fetch_status(STATUS_TIMEOUT).await
    }

    async fn fetch_status(&self, timeout: Duration) -> Result<PrinterStatus, IppError> {
        let ask_capabilities = self.capabilities.get().is_none();
        let mut names = wire::STATUS_ATTRIBUTES.to_vec();
        if ask_capabilities {
            names.extend_from_slice(wire::CAPABILITY_ATTRIBUTES);
        }
        let answer = self.send(wire::get_printer_attributes(&self.target()?, &names)?, &[], timeout).await?;
        if !answer.is_success() {
            return Err(answer.refusal());
        }
        if ask_capabilities {
            let _ = self.capabilities.set(status::Capabilities::from_answer(&answer));
        }
        Ok(PrinterStatus::from_answer(&answer, self.capabilities.get().unwrap_or(&status::Capabilities::default())))
    }

    /// Checks that the printer answers, is not stopped and accepts jobs.
    ///
    /// # Errors
    /// [`IppError::Unreachable`] or [`IppError::NotAccepting`] with the printer's reasons.
    pub async fn ready(&self) -> Result<(), IppError> {
        self.fetch_status(READY_TIMEOUT).await?.ready()
    }

    /// Checks [`Self::ready`] and sends the PDF as one Print-Job: `job-name`, `document-format
    /// application/pdf`, `requesting-user-name printgate`, `copies`, `page-ranges`, and
    /// `print-color-mode`/`sides` only with values the printer supports (asked once, kept).
    /// Returns the printer's job id.
    ///
    /// # Errors
    /// [`IppError`]: the printer is down, stopped or not accepting jobs, or refused the job.
    pub async fn submit(&self, pdf: &[u8], options: &PrintOptions) -> Result<i32, IppError> {
        self.ready().await?;
        let capabilities = self.capabilities.get().cloned().unwrap_or_default();
        let give_up = Instant::now() + BUSY_WAIT;
        let mut pause = Duration::from_millis(250);
        loop {
            let answer = self.send(wire::print_job(&self.target()?, options, &capabilities)?, pdf, PRINT_TIMEOUT).await?;
            if answer.is_success() {
                return answer.int("job-id").ok_or_else(|| IppError::Malformed("Print-Job answer without job-id".into()));
            }
            // A printer still busy with another job (ippeveprinter, many small printers) takes
            // the next one once it is done: ask again rather than fail the patron's job.
            if answer.status != SERVER_ERROR_BUSY || Instant::now() + pause > give_up {
                return Err(answer.refusal());
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    /// Where a submitted job is.
    ///
    /// # Errors
    /// [`IppError::Unreachable`], the printer's refusal (e.g. a job id it does not know), or
    /// [`IppError::Malformed`].
    pub async fn job_progress(&self, job_id: i32) -> Result<JobProgress, IppError> {
        let answer = self.send(wire::get_job_attributes(&self.target()?, job_id)?, &[], JOB_TIMEOUT).await?;
        if !answer.is_success() {
            return Err(answer.refusal());
        }
        JobProgress::from_answer(&answer)
    }

    /// Follows a job every [`Self::poll_every`] until it ends; `on_progress` is told each
    /// progress that differs from the one before (the first always). Returns the job id once
    /// the printer reports it completed.
    ///
    /// # Errors
    /// [`IppError::JobFailed`] when the job is canceled or aborted (naming `job-state-reasons`);
    /// [`IppError::Timeout`] after [`Self::job_timeout`] (the job is cancelled);
    /// [`IppError::Unreachable`] when the printer did not answer for [`Self::unreachable_grace`]
    /// (the job may be lost at the printer: the caller must not count it as printed); other
    /// errors as they come.
    pub async fn wait_with(&self, job_id: i32, mut on_progress: impl FnMut(&JobProgress)) -> Result<i32, IppError> {
        let deadline = Instant::now() + self.job_timeout;
        let mut last: Option<JobProgress> = None;
        let mut unreachable_since: Option<Instant> = None;
        loop {
            match self.job_progress(job_id).await {
                Ok(progress) => {
                    unreachable_since = None;
                    if last.as_ref() != Some(&progress) {
                        tracing::debug!(job_id, state = progress.state.keyword(), reasons = ?progress.reasons, "print job progress");
                        on_progress(&progress);
                    }
                    if let Some(outcome) = progress.outcome(job_id) {
                        return outcome;
                    }
                    last = Some(progress);
                }
                Err(IppError::Unreachable(e)) => {
                    let since = *unreachable_since.get_or_insert_with(Instant::now);
                    tracing::warn!(job_id, error = %e, "printer unreachable while printing");
                    if since.elapsed() >= self.unreachable_grace {
                        let state = last.as_ref().map_or("submitted", |p| p.state.keyword());
                        let secs = since.elapsed().as_secs();
                        return Err(IppError::Unreachable(format!("no contact for {secs} s while job {job_id} was {state}: {e}")));
                    }
                }
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                if let Err(e) = self.send(wire::cancel_job(&self.target()?, job_id)?, &[], JOB_TIMEOUT).await {
                    tracing::warn!(job_id, error = %e, "cannot cancel the overdue job");
                }
                let state = last.as_ref().map_or("unknown", |p| p.state.keyword());
                return Err(IppError::Timeout { job_id, secs: self.job_timeout.as_secs(), state });
            }
            tokio::time::sleep(self.poll_every).await;
        }
    }

    /// Prints a PDF and waits until the printer reports the job completed: [`Self::submit`]
    /// then [`Self::wait_with`].
    ///
    /// # Errors
    /// [`IppError`]: the printer is down or stopped, refused the job, or the job was
    /// cancelled, aborted or did not finish in time (then it is cancelled).
    pub async fn print(&self, pdf: &[u8], options: &PrintOptions) -> Result<i32, IppError> {
        let job_id = self.submit(pdf, options).await?;
        self.wait_with(job_id, |_| {}).await
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
    fn a_printer_keeps_its_uri_and_defaults() {
        let p = Printer::new("ipp://printer.lan/ipp/print").unwrap();
        assert_eq!(p.uri(), "ipp://printer.lan/ipp/print");
        assert_eq!(p.http_url, "http://printer.lan:631/ipp/print");
        assert_eq!(
            (p.job_timeout, p.poll_every, p.unreachable_grace),
            (Duration::from_secs(600), Duration::from_millis(500), Duration::from_secs(60))
        );
        assert!(matches!(Printer::new("http://x/"), Err(IppError::BadUri(_))));
    }
}
