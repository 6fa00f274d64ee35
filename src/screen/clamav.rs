//! ClamAV client: `zINSTREAM` over TCP or a unix socket (clamd's documented protocol).
//!
//! Written here rather than taken from `clamav-client` so that every step (connect, each chunk,
//! the answer) runs under our own deadline and the size-limit answer is a distinct outcome.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ScanError;
use super::endpoint::Endpoint;

/// Chunk size for INSTREAM; clamd's default StreamMaxLength is far larger.
const CHUNK: usize = 256 * 1024;

/// What clamd said about one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClamOutcome {
    Clean,
    Infected {
        signature: String,
    },
    /// The stream exceeded clamd's `StreamMaxLength`.
    TooLarge,
}

#[derive(Debug, Clone)]
pub struct ClamClient {
    endpoint: Endpoint,
    timeout: Duration,
}

impl ClamClient {
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Self {
        Self { endpoint, timeout }
    }

    /// Scans `data` as one stream.
    ///
    /// # Errors
    /// [`ScanError`] when clamd cannot be reached, times out or answers something unexpected.
    pub async fn scan(&self, data: &[u8]) -> Result<ClamOutcome, ScanError> {
        let started = Instant::now();
        let result = tokio::time::timeout(self.timeout, self.scan_inner(data)).await;
        let outcome = match result {
            Ok(r) => r,
            Err(_) => Err(ScanError::Timeout { after: self.timeout }),
        };
        tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, ok = outcome.is_ok(), "clamd scan");
        outcome
    }

    async fn scan_inner(&self, data: &[u8]) -> Result<ClamOutcome, ScanError> {
        let mut stream = self.endpoint.connect(self.timeout).await.map_err(ScanError::Connect)?;
        stream.write_all(b"zINSTREAM\0").await.map_err(ScanError::Io)?;
        for chunk in data.chunks(CHUNK) {
            let len = u32::try_from(chunk.len()).map_err(|_| ScanError::Protocol("chunk too large".into()))?;
            stream.write_all(&len.to_be_bytes()).await.map_err(ScanError::Io)?;
            if let Err(e) = stream.write_all(chunk).await {
                // clamd closes the stream once StreamMaxLength is passed; read its reason.
                return read_answer(&mut stream).await.or(Err(ScanError::Io(e)));
            }
        }
        stream.write_all(&0u32.to_be_bytes()).await.map_err(ScanError::Io)?;
        read_answer(&mut stream).await
    }

    /// Asks clamd for `PONG`; used by health checks.
    ///
    /// # Errors
    /// As [`ClamClient::scan`].
    pub async fn ping(&self) -> Result<(), ScanError> {
        let mut stream = self.endpoint.connect(self.timeout).await.map_err(ScanError::Connect)?;
        stream.write_all(b"zPING\0").await.map_err(ScanError::Io)?;
        let mut buf = Vec::new();
        tokio::time::timeout(self.timeout, stream.read_to_end(&mut buf))
            .await
            .map_err(|_| ScanError::Timeout { after: self.timeout })?
            .map_err(ScanError::Io)?;
        if buf.starts_with(b"PONG") { Ok(()) } else { Err(ScanError::Protocol(String::from_utf8_lossy(&buf).into_owned())) }
    }
}

async fn read_answer(stream: &mut super::endpoint::ScanStream) -> Result<ClamOutcome, ScanError> {
    let mut buf = Vec::with_capacity(128);
    stream.read_to_end(&mut buf).await.map_err(ScanError::Io)?;
    parse_answer(&buf)
}

/// Parses clamd's reply to INSTREAM (`stream: OK`, `stream: NAME FOUND`, `... ERROR`).
///
/// # Errors
/// [`ScanError::Protocol`] for any other answer, including clamd's own errors.
pub fn parse_answer(raw: &[u8]) -> Result<ClamOutcome, ScanError> {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_end_matches(['\0', '\n', '\r']).trim();
    if text.contains("size limit exceeded") {
        return Ok(ClamOutcome::TooLarge);
    }
    let body = text.strip_prefix("stream:").map(str::trim);
    match body {
        Some("OK") => Ok(ClamOutcome::Clean),
        Some(found) if found.ends_with(" FOUND") => {
            let signature = found.trim_end_matches(" FOUND").trim().to_owned();
            Ok(ClamOutcome::Infected { signature })
        }
        _ => Err(ScanError::Protocol(format!("unexpected clamd answer: {text:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_clamd_answers() {
        assert_eq!(parse_answer(b"stream: OK\0").unwrap(), ClamOutcome::Clean);
        assert_eq!(
            parse_answer(b"stream: Eicar-Test-Signature FOUND\0").unwrap(),
            ClamOutcome::Infected { signature: "Eicar-Test-Signature".into() }
        );
        assert_eq!(parse_answer(b"INSTREAM size limit exceeded. ERROR\0").unwrap(), ClamOutcome::TooLarge);
        assert!(parse_answer(b"stream: Can't allocate memory ERROR\0").is_err());
        assert!(parse_answer(b"").is_err());
    }
}
