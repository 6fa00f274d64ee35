//! The release-station client: redeem a code (kiosk mode) or poll the site's jobs (PDS mode),
//! fetch sealed jobs, open them, deliver them (IPP printer or directory), then ack.
//!
//! Runs at the library, with the site's private key, and connects outbound only. It shares only
//! [`crate::seal`] with the server. Decrypted documents exist in memory (and, with `--out`, in
//! the directory the operator chose); a job is acknowledged as printed (and so destroyed on the
//! server) only after the printer reported it completed or its file was written and synced.
//! A printer that is down, stopped or fails the job costs nothing: the job stays on the server,
//! the failure is reported (`failed`, kept) and the job is tried again with back-off.

pub mod ipp;
pub mod kiosk;
pub mod poll;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::crypto;
use crate::seal::{self, SitePrivateKey};

#[derive(Debug, thiserror::Error)]
pub enum StationError {
    #[error("server unreachable or failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the server answered {status}: {message}")]
    Server { status: u16, message: String },
    #[error("unknown release code: check the digits")]
    UnknownCode,
    #[error("this release code has expired: its documents were deleted")]
    ExpiredCode,
    #[error("everything behind this release code was already printed")]
    AlreadyPrinted,
    #[error("locked out after too many wrong release codes: ask staff, or try again in {} minute(s)", minutes(*retry_after_secs))]
    LockedOut { retry_after_secs: u64 },
    #[error("job {id}: the downloaded bytes do not match the announced SHA-256")]
    HashMismatch { id: String },
    #[error("job {id}: {source}")]
    Open { id: String, source: seal::SealError },
    #[error("job {id}: bad job id")]
    BadId { id: String },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("job {id}: {source}")]
    Print { id: String, source: ipp::IppError },
    #[error("server URL {0:?}: {1}")]
    BadServer(String, String),
    #[error("CA certificate {path}: {reason}")]
    BadCa { path: PathBuf, reason: String },
}

impl StationError {
    /// True when the printer (not this job) is the problem: other jobs would fail the same way.
    pub fn printer_unavailable(&self) -> bool {
        matches!(self, Self::Print { source: ipp::IppError::Unreachable(_) | ipp::IppError::NotAccepting(_), .. })
    }
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct JobListing {
    pub id: String,
    pub filename: String,
    pub pages: i64,
    pub color: bool,
    /// Pages that print in colour (0 for a job printed in black and white; servers before
    /// this field do not send it).
    #[serde(default)]
    pub color_pages: i64,
    pub copies: i64,
    pub bytes: i64,
    /// Checked against the downloaded bytes; never shown (`GET /session` of the kiosk).
    #[serde(skip_serializing)]
    pub sha256: String,
    #[serde(default)]
    pub duplex: bool,
    #[serde(default)]
    pub page_range: String,
}

/// The answer to a redeemed code: the site the jobs are sealed for, and the jobs.
#[derive(Debug, serde::Deserialize)]
pub struct Release {
    pub site: String,
    pub jobs: Vec<JobListing>,
}

/// A connection to one printgate server for one site.
pub struct StationClient {
    http: reqwest::Client,
    server: String,
    token: String,
    /// The site's private keys: the current one and, during a rotation, the previous ones.
    keys: Vec<SitePrivateKey>,
}

impl StationClient {
    /// # Errors
    /// [`StationError::Http`] if the HTTP client cannot be built.
    pub fn new(server: &str, token: &str, keys: Vec<SitePrivateKey>) -> Result<Self, StationError> {
        Self::with_ca(server, token, keys, None)
    }

    /// As [`Self::new`], trusting `ca` (a PEM file) besides the system's roots: for a server
    /// whose certificate comes from the library's own CA.
    ///
    /// # Errors
    /// [`StationError::BadServer`] for a URL that is not https:// (or http:// to a loopback
    /// host: tokens never cross a network in clear), [`StationError::BadCa`] for an unreadable CA.
    pub fn with_ca(server: &str, token: &str, keys: Vec<SitePrivateKey>, ca: Option<&Path>) -> Result<Self, StationError> {
        let server = server.trim_end_matches('/');
        let url = reqwest::Url::parse(server).map_err(|e| StationError::BadServer(server.to_owned(), e.to_string()))?;
        let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
        let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(StationError::BadServer(server.to_owned(), "plain http:// only to a loopback address; use https://".into()));
            }
            other => return Err(StationError::BadServer(server.to_owned(), format!("scheme {other:?} is not https"))),
        }
        let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(15)).timeout(Duration::from_secs(120));
        if let Some(path) = ca {
            let bad = |reason: String| StationError::BadCa { path: path.to_owned(), reason };
            let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))? {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(Self { http: builder.build()?, server: server.to_owned(), token: token.to_owned(), keys })
    }

    /// The key a sealed job names by fingerprint (site key rotation: jobs sealed before the
    /// rotation still name the previous key). With no match, the current (first) key, whose
    /// open then fails naming both fingerprints.
    fn key_for(&self, sealed: &[u8]) -> Result<&SitePrivateKey, seal::SealError> {
        let (header, _) = seal::Header::decode(sealed)?;
        let current = self.keys.first().ok_or_else(|| seal::SealError::Crypto("the station holds no key".into()))?;
        Ok(self.keys.iter().find(|k| k.fingerprint() == header.key_fingerprint).unwrap_or(current))
    }

    /// Asks the server for the jobs behind a code.
    ///
    /// # Errors
    /// [`StationError::UnknownCode`] for 404, [`StationError::ExpiredCode`] and
    /// [`StationError::AlreadyPrinted`] for 410, [`StationError::LockedOut`] for 429, other
    /// errors as they come.
    pub async fn redeem(&self, code: &str) -> Result<Release, StationError> {
        let resp = self
            .http
            .post(format!("{}/api/v1/release", self.server))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await?;
        let status = resp.status().as_u16();
        if matches!(status, 404 | 410 | 429) {
            let retry_after = resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let body = resp.text().await.unwrap_or_default();
            return Err(code_refusal(status, retry_after.as_deref(), &body));
        }
        Ok(check(resp).await?.json::<Release>().await?)
    }

    /// Downloads, verifies and opens one job; returns the PDF.
    ///
    /// # Errors
    /// [`StationError`] when the bytes do not match or do not open.
    pub async fn fetch(&self, job: &JobListing, site: &str) -> Result<Vec<u8>, StationError> {
        let resp = self.http.get(format!("{}/api/v1/jobs/{}/sealed", self.server, job.id)).bearer_auth(&self.token).send().await?;
        let sealed = check(resp).await?.bytes().await?;
        if crypto::sha256_hex(&sealed) != job.sha256 {
            return Err(StationError::HashMismatch { id: job.id.clone() });
        }
        let job_id: [u8; 16] =
            hex::decode(&job.id).ok().and_then(|v| v.try_into().ok()).ok_or_else(|| StationError::BadId { id: job.id.clone() })?;
        self.key_for(&sealed)
            .and_then(|key| seal::open(&sealed, key, seal::Expect { job_id, site }))
            .map_err(|source| StationError::Open { id: job.id.clone(), source })
    }

    /// Reports the outcome; `printed` destroys the job on the server.
    ///
    /// # Errors
    /// [`StationError`] for transport or server errors.
    pub async fn ack(&self, job_id: &str, printed: bool) -> Result<(), StationError> {
        let body = if printed { serde_json::json!({ "status": "printed" }) } else { serde_json::json!({ "status": "failed" }) };
        self.post_ack(job_id, body).await
    }

    /// Reports a failed print with its reason; the server keeps the job.
    ///
    /// # Errors
    /// [`StationError`] for transport or server errors.
    pub async fn ack_failed(&self, job_id: &str, reason: &str) -> Result<(), StationError> {
        self.post_ack(job_id, serde_json::json!({ "status": "failed", "reason": reason })).await
    }

    async fn post_ack(&self, job_id: &str, body: serde_json::Value) -> Result<(), StationError> {
        let resp = self.http.post(format!("{}/api/v1/jobs/{job_id}/ack", self.server)).bearer_auth(&self.token).json(&body).send().await?;
        check(resp).await?;
        Ok(())
    }

    /// The pending jobs of `site` (poll mode).
    ///
    /// # Errors
    /// [`StationError`] for transport or server errors (403 when the token is of another site).
    pub async fn site_jobs(&self, site: &str) -> Result<Release, StationError> {
        let resp = self.http.get(format!("{}/api/v1/sites/{site}/jobs", self.server)).bearer_auth(&self.token).send().await?;
        Ok(check(resp).await?.json::<Release>().await?)
    }
}

/// Where released documents go.
pub enum Output {
    /// Files in a directory (mode 0600, never overwriting).
    Dir(PathBuf),
    /// An IPP printer.
    Printer(ipp::Printer),
}

impl Output {
    /// Delivers one opened job; returns where it went (a path, or the printer's job id).
    ///
    /// # Errors
    /// [`StationError::Write`] or [`StationError::Print`]; nothing is acknowledged then.
    pub async fn deliver(&self, job: &JobListing, pdf: &[u8]) -> Result<String, StationError> {
        match self {
            Self::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| StationError::Write { path: dir.clone(), source })?;
                let path = unique_path(dir, &crate::intake::sanitize_name(&job.filename));
                write_private_file(&path, pdf).map_err(|source| StationError::Write { path: path.clone(), source })?;
                Ok(path.display().to_string())
            }
            Self::Printer(printer) => {
                let options = ipp::PrintOptions {
                    job_name: crate::intake::sanitize_name(&job.filename),
                    copies: i32::try_from(job.copies).unwrap_or(1),
                    duplex: job.duplex,
                    color: job.color,
                    page_range: parse_range(&job.page_range),
                };
                let ipp_job = printer.print(pdf, &options).await.map_err(|source| StationError::Print { id: job.id.clone(), source })?;
                Ok(format!("{} job {ipp_job}", printer.uri()))
            }
        }
    }
}

/// A job's `page_range` (`"2-5"`) as IPP's `(first, last)`; none for all pages.
pub(crate) fn parse_range(range: &str) -> Option<(i32, i32)> {
    let (a, b) = range.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// What a refused redemption means for the patron: 404 a wrong code, 410 a spent one (the
/// error body's `code` says `expired` or `printed`), 429 a lock-out (`Retry-After` seconds).
/// Anything else is the server's answer as it came.
pub fn code_refusal(status: u16, retry_after: Option<&str>, body: &str) -> StationError {
    let code = serde_json::from_str::<serde_json::Value>(body).ok().and_then(|v| v.get("code")?.as_str().map(str::to_owned));
    match (status, code.as_deref()) {
        (404, _) => StationError::UnknownCode,
        (410, Some("expired")) => StationError::ExpiredCode,
        (410, Some("printed")) => StationError::AlreadyPrinted,
        (429, _) => StationError::LockedOut { retry_after_secs: retry_after.and_then(|v| v.trim().parse().ok()).unwrap_or(0) },
        _ => StationError::Server { status, message: body.to_owned() },
    }
}

/// Whole minutes to wait, rounded up (at least one).
fn minutes(secs: u64) -> u64 {
    secs.div_ceil(60).max(1)
}

/// Back-off between attempts at one job: 5 s, doubling, at most `max`.
pub fn backoff(failures: u32, max: Duration) -> Duration {
    Duration::from_secs(5u64.saturating_mul(1 << failures.saturating_sub(1).min(16))).min(max)
}

async fn check(resp: reqwest::Response) -> Result<reqwest::Response, StationError> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let message = resp.text().await.unwrap_or_default();
    Err(StationError::Server { status, message })
}

/// Redeems `code` and delivers each job, acknowledging each after it was delivered. A failed
/// delivery is reported (`failed`, the job stays) and retried with back-off until `retry_for`
/// has passed. Returns where each job went.
///
/// # Errors
/// The first failure that outlasts `retry_for`; jobs not yet delivered are not acknowledged
/// as printed and stay on the server.
pub async fn release(client: &StationClient, code: &str, output: &Output, retry_for: Duration) -> Result<Vec<String>, StationError> {
    let release = client.redeem(code).await?;
    let deadline = tokio::time::Instant::now() + retry_for;
    let mut delivered = Vec::new();
    for job in &release.jobs {
        let pdf = client.fetch(job, &release.site).await?;
        let mut failures = 0u32;
        let place = loop {
            match output.deliver(job, &pdf).await {
                Ok(place) => break place,
                Err(e) => {
                    failures += 1;
                    let reason = e.to_string();
                    tracing::warn!(job = %job.id, failures, error = %reason, "delivery failed; the job stays on the server");
                    if let Err(ack) = client.ack_failed(&job.id, &reason).await {
                        tracing::warn!(job = %job.id, error = %ack, "cannot report the failure to the server");
                    }
                    let wait = backoff(failures, Duration::from_secs(60));
                    if tokio::time::Instant::now() + wait > deadline {
                        return Err(e);
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        };
        client.ack(&job.id, true).await?;
        delivered.push(place);
    }
    Ok(delivered)
}

/// Released documents are readable by the station's user only.
fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn unique_path(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    (1..).map(|i| dir.join(format!("{i}-{name}"))).find(|p| !p.exists()).unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::{StationError, code_refusal};

    #[test]
    fn each_refusal_of_a_code_has_its_own_error_and_line() {
        let gone = |code: &str| format!(r#"{{"code":"{code}","message":"…"}}"#);
        let cases: &[(u16, Option<&str>, String, &str)] = &[
            (404, None, gone("not_found"), "unknown release code: check the digits"),
            (410, None, gone("expired"), "this release code has expired: its documents were deleted"),
            (410, None, gone("printed"), "everything behind this release code was already printed"),
            (429, Some("840"), gone("locked_out"), "ask staff, or try again in 14 minute(s)"),
            (429, Some("841"), gone("locked_out"), "try again in 15 minute(s)"),
            (429, Some("1"), gone("locked_out"), "try again in 1 minute(s)"),
            (429, None, gone("locked_out"), "try again in 1 minute(s)"),
            (410, None, gone("cancelled"), "the server answered 410"),
            (503, Some("30"), gone("unavailable"), "the server answered 503"),
        ];
        for (status, retry_after, body, line) in cases {
            let error = code_refusal(*status, *retry_after, body);
            assert!(error.to_string().contains(line), "{status} {retry_after:?}: {error}");
        }
        assert!(matches!(code_refusal(429, Some(" 900 "), ""), StationError::LockedOut { retry_after_secs: 900 }));
        assert!(matches!(code_refusal(404, None, "not json"), StationError::UnknownCode));
    }
}
