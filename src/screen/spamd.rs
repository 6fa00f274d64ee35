//! SpamAssassin client: the SPAMC/1.5 `SYMBOLS` request (no maintained crate exists).
//!
//! One request per connection, as spamd expects. The score is compared with the *queue's*
//! thresholds by [`super::decide`]; spamd's own `required_score` is ignored.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::ScanError;
use super::endpoint::Endpoint;

/// spamd's verdict on one message.
#[derive(Debug, Clone, PartialEq)]
pub struct SpamReport {
    pub score: f64,
    /// Names of the rules that fired (kept for the admin's trace).
    pub rules: Vec<String>,
    /// True when spamd saw only the headers and text parts (or a prefix) of a large message.
    pub truncated: bool,
    /// The engine itself asked for rejection (rspamd's `reject` action), whatever the score.
    pub reject_action: bool,
}

#[derive(Debug, Clone)]
pub struct SpamClient {
    endpoint: Endpoint,
    timeout: Duration,
    max_bytes: usize,
}

impl SpamClient {
    pub fn new(endpoint: Endpoint, timeout: Duration, max_bytes: usize) -> Self {
        Self { endpoint, timeout, max_bytes }
    }

    /// The largest input spamd is given (`scan.spamassassin.max_bytes`).
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Asks spamd for the score and rule names of `message`.
    ///
    /// # Errors
    /// [`ScanError`] when spamd cannot be reached, times out or answers with an error.
    pub async fn check(&self, message: &[u8]) -> Result<SpamReport, ScanError> {
        let truncated = message.len() > self.max_bytes || message.windows(25).take(64 * 1024).any(|w| w == b"X-Printgate-Scan: headers");
        let body = &message[..message.len().min(self.max_bytes)];
        let answer =
            tokio::time::timeout(self.timeout, self.exchange(body)).await.map_err(|_| ScanError::Timeout { after: self.timeout })??;
        let mut report = parse_response(&answer)?;
        report.truncated = truncated;
        Ok(report)
    }

    async fn exchange(&self, body: &[u8]) -> Result<Vec<u8>, ScanError> {
        let mut stream = self.endpoint.connect(self.timeout).await.map_err(ScanError::Connect)?;
        let head = format!("SYMBOLS SPAMC/1.5\r\nContent-length: {}\r\nUser: printgate\r\n\r\n", body.len());
        stream.write_all(head.as_bytes()).await.map_err(ScanError::Io)?;
        stream.write_all(body).await.map_err(ScanError::Io)?;
        stream.flush().await.map_err(ScanError::Io)?;
        let mut answer = Vec::with_capacity(512);
        stream.read_to_end(&mut answer).await.map_err(ScanError::Io)?;
        Ok(answer)
    }
}

/// Parses a `SPAMD/1.x` response to `SYMBOLS`.
///
/// # Errors
/// [`ScanError::Protocol`] for a non-zero status or a missing `Spam:` header.
pub fn parse_response(raw: &[u8]) -> Result<SpamReport, ScanError> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let mut parts = status.split_whitespace();
    let (proto, code) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    if !proto.starts_with("SPAMD/") || code != "0" {
        return Err(ScanError::Protocol(format!("spamd answered {status:?}")));
    }
    let spam_line = lines
        .find_map(|l| l.strip_prefix("Spam:").map(str::trim))
        .ok_or_else(|| ScanError::Protocol("spamd answer has no Spam header".into()))?;
    // "True ; 1000.5 / 5.0"
    let score = spam_line
        .split(';')
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .ok_or_else(|| ScanError::Protocol(format!("cannot read score from {spam_line:?}")))?;
    let rules = body.split([',', '\r', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    Ok(SpamReport { score, rules, truncated: false, reject_action: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_symbols_answers() {
        let raw = b"SPAMD/1.1 0 EX_OK\r\nContent-length: 22\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,MISSING_DATE\r\n";
        let r = parse_response(raw).unwrap();
        assert_eq!(r.score, 1000.0);
        assert_eq!(r.rules, vec!["GTUBE", "MISSING_DATE"]);
        let clean = parse_response(b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.3 / 5.0\r\n\r\n").unwrap();
        assert_eq!(clean.score, -0.3);
        assert!(clean.rules.is_empty());
    }

    #[test]
    fn errors_are_errors_not_scores() {
        assert!(parse_response(b"SPAMD/1.0 76 Bad header line\r\n\r\n").is_err());
        assert!(parse_response(b"SPAMD/1.1 0 EX_OK\r\n\r\n").is_err());
        assert!(parse_response(b"").is_err());
    }
}
