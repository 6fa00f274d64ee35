//! Running the helper programs (qpdf, pdftoppm, heif-convert) with a time limit.
//!
//! Owns process handling for one-shot tools: a missing program is infrastructure trouble
//! ([`ToolError::Missing`], retried later), a time-out kills the process, and a failure carries
//! the program's own first line of complaint (never document content: these tools print
//! structure errors, not text). Every process started is counted in
//! `printgate_converter_processes_total`, so a test can see that none starts for a document.

use std::ffi::OsStr;
use std::process::{Output, Stdio};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{0} is not installed or cannot be started: {1}")]
    Missing(String, std::io::Error),
    #[error("{0} took longer than {1:?}")]
    Timeout(String, Duration),
    #[error("{program} failed ({status}): {message}")]
    Failed { program: String, status: String, message: String, output: Output },
}

/// Runs `program args…` and waits at most `limit`. Exit codes listed in `ok_codes` count as
/// success (qpdf exits 3 after repairing a file).
///
/// # Errors
/// [`ToolError`].
pub async fn run<S: AsRef<OsStr>>(program: &str, args: &[S], limit: Duration, ok_codes: &[i32]) -> Result<Output, ToolError> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| ToolError::Missing(program.to_owned(), e))?;
    crate::metrics::inc("printgate_converter_processes_total", &[("program", program)]);
    let output = match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(out) => out.map_err(|e| ToolError::Missing(program.to_owned(), e))?,
        Err(_) => return Err(ToolError::Timeout(program.to_owned(), limit)),
    };
    match output.status.code() {
        Some(code) if code == 0 || ok_codes.contains(&code) => Ok(output),
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let message = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message").trim().to_owned();
            Err(ToolError::Failed { program: program.to_owned(), status: output.status.to_string(), message, output })
        }
    }
}
