//! The sections of the config file for the services around the mail path: `[api]`, `[admin]`,
//! `[pipeline]`, `[convert]` (keys and defaults as in `docs/config.md`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::defaults::*;
use super::values::duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub listen: SocketAddr,
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Wrong release codes one station may try within `failed_code_window` before it is
    /// locked out for `lockout`.
    #[serde(default = "default_max_failed_codes")]
    pub max_failed_codes: u32,
    /// The same for one source address (all stations behind it together).
    #[serde(default = "default_max_failed_codes_per_address")]
    pub max_failed_codes_per_address: u32,
    #[serde(default = "default_failed_code_window", deserialize_with = "duration")]
    pub failed_code_window: Duration,
    #[serde(default = "default_lockout", deserialize_with = "duration")]
    pub lockout: Duration,
    /// Most jobs one poll answer lists (`GET /api/v1/sites/{site}/jobs`).
    #[serde(default = "default_poll_limit")]
    pub poll_limit: u32,
}

fn default_max_failed_codes() -> u32 {
    10
}
fn default_max_failed_codes_per_address() -> u32 {
    50
}
fn default_failed_code_window() -> Duration {
    Duration::from_secs(600)
}
fn default_lockout() -> Duration {
    Duration::from_secs(900)
}
fn default_poll_limit() -> u32 {
    100
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    pub listen: SocketAddr,
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// How long a login lasts.
    #[serde(default = "default_session_lifetime", deserialize_with = "duration")]
    pub session_lifetime: Duration,
    /// Wrong passwords for one account before it is locked for `login_lockout`.
    #[serde(default = "default_max_failed_logins")]
    pub max_failed_logins: u32,
    /// Wrong logins from one address (any account) before the address is locked out.
    #[serde(default = "default_max_failed_logins_per_address")]
    pub max_failed_logins_per_address: u32,
    #[serde(default = "default_lockout", deserialize_with = "duration")]
    pub login_lockout: Duration,
}

fn default_session_lifetime() -> Duration {
    Duration::from_secs(8 * 3600)
}
fn default_max_failed_logins() -> u32 {
    5
}
fn default_max_failed_logins_per_address() -> u32 {
    20
}

/// `[web]`: the patrons' upload form (docs/upload.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub listen: SocketAddr,
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Uploads one email address may make within `upload_window`.
    #[serde(default = "default_uploads_per_address")]
    pub max_uploads_per_address: u32,
    /// Uploads one client address may make within `upload_window` (a library's public PCs
    /// share one address behind NAT, so this is higher than the per-address limit).
    #[serde(default = "default_uploads_per_ip")]
    pub max_uploads_per_ip: u32,
    #[serde(default = "default_upload_window", deserialize_with = "duration")]
    pub upload_window: Duration,
    /// Most files one upload may carry (as many as a mail's parts are worth printing).
    #[serde(default = "default_max_upload_files")]
    pub max_files: usize,
}

/// Ten uploads an hour are a busy patron's afternoon; more from one address is a script.
fn default_uploads_per_address() -> u32 {
    10
}
/// Sixty an hour: a library's public PCs behind one NAT address, about one a minute.
fn default_uploads_per_ip() -> u32 {
    60
}
fn default_upload_window() -> Duration {
    Duration::from_secs(3600)
}
/// Twenty files: more than a patron prints at once, few enough to screen in seconds.
fn default_max_upload_files() -> usize {
    20
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Concurrent pipeline workers (conversion is CPU-bound; one per core is the default).
    #[serde(default = "default_workers")]
    pub workers: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self { workers: default_workers() }
    }
}

/// Document conversion: the LibreOffice pool and the helper programs (see docs/conversion.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertConfig {
    /// Long-running LibreOffice workers (each converts one document at a time).
    #[serde(default = "default_office_workers")]
    pub office_workers: usize,
    /// Start the workers with the server (else on the first Office document).
    #[serde(default = "default_true")]
    pub office_prestart: bool,
    /// A document still converting after this is killed with its worker, and refused.
    #[serde(default = "default_office_timeout", deserialize_with = "duration")]
    pub office_timeout: Duration,
    /// A worker is replaced after this many documents (LibreOffice grows over time).
    #[serde(default = "default_office_recycle")]
    pub office_recycle_after: u32,
    /// Run each worker in its own network namespace (no network at all) when the host allows.
    #[serde(default = "default_true")]
    pub isolate_network: bool,
    #[serde(default = "default_soffice")]
    pub soffice: PathBuf,
    /// A Python 3 with the `uno` module (Debian: python3-uno).
    #[serde(default = "default_uno_python")]
    pub uno_python: PathBuf,
    /// LibreOffice profiles (no documents are kept there).
    #[serde(default = "default_profile_dir")]
    pub profile_dir: PathBuf,
    /// Private scratch space for one conversion at a time; default: /dev/shm (memory) when
    /// present, so plaintext never reaches a disk.
    #[serde(default)]
    pub scratch_dir: Option<PathBuf>,
    /// Time limit for the PDF tools (qpdf, pdftoppm) and image decoders, per document.
    #[serde(default = "default_tool_timeout", deserialize_with = "duration")]
    pub tool_timeout: Duration,
    /// Largest image accepted, in megapixels (decompression bombs stop here).
    #[serde(default = "default_max_megapixels")]
    pub max_image_megapixels: u32,
}

impl Default for ConvertConfig {
    fn default() -> Self {
        Self {
            office_workers: default_office_workers(),
            office_prestart: true,
            office_timeout: default_office_timeout(),
            office_recycle_after: default_office_recycle(),
            isolate_network: true,
            soffice: default_soffice(),
            uno_python: default_uno_python(),
            profile_dir: default_profile_dir(),
            scratch_dir: None,
            tool_timeout: default_tool_timeout(),
            max_image_megapixels: default_max_megapixels(),
        }
    }
}
