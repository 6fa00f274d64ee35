//! rspamd client: `POST /checkv2` on the normal worker (rspamd's own HTTP protocol).
//!
//! An alternative to spamd behind the same [`SpamReport`]: rspamd is ~40x faster here. Its
//! score is on rspamd's scale (reject at 15 by default), so queues using rspamd set their
//! thresholds accordingly; an explicit `reject` action from rspamd (GTUBE, for one) counts as
//! at least the queue's reject score.

use std::net::IpAddr;
use std::time::Duration;

use super::ScanError;
use super::spamd::SpamReport;

#[derive(Debug, Clone)]
pub struct RspamdClient {
    http: reqwest::Client,
    url: String,
    timeout: Duration,
    max_bytes: usize,
}

/// Envelope facts rspamd uses for its rules.
#[derive(Debug, Clone, Copy)]
pub struct RspamdEnvelope<'a> {
    pub client_ip: IpAddr,
    pub helo: &'a str,
    pub mail_from: Option<&'a str>,
}

impl RspamdClient {
    /// `address` is `HOST:PORT` of rspamd's normal worker.
    ///
    /// # Errors
    /// A message if the HTTP client cannot be built.
    pub fn new(address: &str, timeout: Duration, max_bytes: usize) -> Result<Self, String> {
        let http = reqwest::Client::builder().timeout(timeout).build().map_err(|e| e.to_string())?;
        Ok(Self { http, url: format!("http://{address}/checkv2"), timeout, max_bytes })
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Asks rspamd about `message`.
    ///
    /// # Errors
    /// [`ScanError`] when rspamd cannot be reached, times out or answers something unexpected.
    pub async fn check(&self, message: &[u8], envelope: RspamdEnvelope<'_>) -> Result<SpamReport, ScanError> {
        let mut request = self
            .http
            .post(&self.url)
            .header("IP", envelope.client_ip.to_string())
            .header("Helo", envelope.helo)
            .body(message[..message.len().min(self.max_bytes)].to_vec());
        if let Some(from) = envelope.mail_from {
            request = request.header("From", from);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() { ScanError::Timeout { after: self.timeout } } else { ScanError::Connect(std::io::Error::other(e)) }
        })?;
        if !response.status().is_success() {
            return Err(ScanError::Protocol(format!("rspamd answered HTTP {}", response.status())));
        }
        let body = response.bytes().await.map_err(|e| ScanError::Io(std::io::Error::other(e)))?;
        let mut report = parse_response(&body)?;
        report.truncated = message.len() > self.max_bytes;
        Ok(report)
    }
}

/// Parses a `/checkv2` JSON answer.
///
/// # Errors
/// [`ScanError::Protocol`] when the JSON has no score.
pub fn parse_response(body: &[u8]) -> Result<SpamReport, ScanError> {
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ScanError::Protocol(format!("rspamd answer is not JSON: {e}")))?;
    let score = json["score"].as_f64().ok_or_else(|| ScanError::Protocol("rspamd answer has no score".into()))?;
    let mut rules: Vec<String> = json["symbols"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    rules.sort();
    let rejected = json["action"].as_str() == Some("reject");
    Ok(SpamReport { score, rules, truncated: false, reject_action: rejected })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_checkv2_answers() {
        let body = br#"{"is_skipped":false,"score":3.5,"required_score":15.0,"action":"no action","symbols":{"R_SPF_NA":{"score":0},"MIME_GOOD":{"score":-0.1}}}"#;
        let r = parse_response(body).unwrap();
        assert_eq!((r.score, r.reject_action), (3.5, false));
        assert_eq!(r.rules, vec!["MIME_GOOD", "R_SPF_NA"]);
        let gtube = parse_response(br#"{"score":0.0,"action":"reject","symbols":{"GTUBE":{}}}"#).unwrap();
        assert!(gtube.reject_action);
        assert!(parse_response(b"<html>").is_err());
        assert!(parse_response(b"{}").is_err());
    }
}
