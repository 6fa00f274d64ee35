//! The release-station client: redeem a code, fetch sealed jobs, open them, deliver, ack.
//!
//! Runs at the library, with the site's private key. It shares only [`crate::seal`] with the
//! server. Decrypted documents exist in memory and in the output the operator chose; a job is
//! acknowledged (and so destroyed on the server) only after its output was written.

use std::path::{Path, PathBuf};

use crate::crypto;
use crate::seal::{self, SitePrivateKey};

#[derive(Debug, thiserror::Error)]
pub enum StationError {
    #[error("server unreachable or failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the server answered {status}: {message}")]
    Server { status: u16, message: String },
    #[error("unknown or expired code")]
    UnknownCode,
    #[error("job {id}: the downloaded bytes do not match the announced SHA-256")]
    HashMismatch { id: String },
    #[error("job {id}: {source}")]
    Open { id: String, source: seal::SealError },
    #[error("job {id}: bad job id")]
    BadId { id: String },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct JobListing {
    pub id: String,
    pub filename: String,
    pub pages: i64,
    pub color: bool,
    pub copies: i64,
    pub bytes: i64,
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
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(120)).build()?;
        Ok(Self { http, server: server.trim_end_matches('/').to_owned(), token: token.to_owned(), keys })
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
    /// [`StationError::UnknownCode`] for 404, other errors as they come.
    pub async fn redeem(&self, code: &str) -> Result<Release, StationError> {
        let resp = self
            .http
            .post(format!("{}/api/v1/release", self.server))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(StationError::UnknownCode);
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
        let job_id: [u8; 16] = hex::decode(&job.id)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| StationError::BadId { id: job.id.clone() })?;
        self.key_for(&sealed)
            .and_then(|key| seal::open(&sealed, key, seal::Expect { job_id, site }))
            .map_err(|source| StationError::Open { id: job.id.clone(), source })
    }

    /// Reports the outcome; `printed` destroys the job on the server.
    ///
    /// # Errors
    /// [`StationError`] for transport or server errors.
    pub async fn ack(&self, job_id: &str, printed: bool) -> Result<(), StationError> {
        let status = if printed { "printed" } else { "failed" };
        let resp = self
            .http
            .post(format!("{}/api/v1/jobs/{job_id}/ack", self.server))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "status": status }))
            .send()
            .await?;
        check(resp).await?;
        Ok(())
    }
}

async fn check(resp: reqwest::Response) -> Result<reqwest::Response, StationError> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let message = resp.text().await.unwrap_or_default();
    Err(StationError::Server { status, message })
}

/// Redeems `code` and writes each job's PDF into `out`, acknowledging each after it is written.
/// Returns the paths written.
///
/// # Errors
/// The first failure; jobs not yet written are not acknowledged and stay on the server.
pub async fn release_to_dir(client: &StationClient, code: &str, out: &Path) -> Result<Vec<PathBuf>, StationError> {
    let release = client.redeem(code).await?;
    std::fs::create_dir_all(out).map_err(|source| StationError::Write { path: out.to_owned(), source })?;
    let mut written = Vec::new();
    for job in &release.jobs {
        let pdf = client.fetch(job, &release.site).await?;
        let path = unique_path(out, &crate::intake::sanitize_name(&job.filename));
        write_private_file(&path, &pdf).map_err(|source| StationError::Write { path: path.clone(), source })?;
        client.ack(&job.id, true).await?;
        written.push(path);
    }
    Ok(written)
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
