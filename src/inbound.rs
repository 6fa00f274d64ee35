//! The glue between the SMTP session and the rest: intake, screening and spooling of one
//! received message, returning a [`Disposition`] that the session turns into its reply.
//!
//! This is where principle 1 and 2 of DESIGN.md meet: nothing is accepted unscanned (a scanner
//! that cannot answer is a temporary failure), and `Accepted` is returned only after the spool
//! entry is durable.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use crate::config::Config;
use crate::intake::Submission;
use crate::screen::{self, Scanners, Verdict};
pub use crate::screen::{Refusal, TempFailure};
use crate::smtp::{Envelope, Receiver};
use crate::spool::{self, Spool, SpoolMeta};

/// What happened to a received message.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// Durably spooled under this id.
    Accepted { queue_id: String },
    Refused(Refusal),
    TempFail(TempFailure),
}

/// The production [`Receiver`].
pub struct Inbound {
    config: Arc<Config>,
    scanners: Scanners,
    spool: Spool,
    work: UnboundedSender<String>,
}

impl Inbound {
    pub fn new(config: Arc<Config>, scanners: Scanners, spool: Spool, work: UnboundedSender<String>) -> Self {
        Self { config, scanners, spool, work }
    }

    async fn screen_and_spool(&self, envelope: Envelope, raw: Vec<u8>) -> Disposition {
        let submission = match Submission::parse(&raw) {
            Ok(s) => s,
            Err(e) => return Disposition::Refused(Refusal::Malformed { reason: e.to_string() }),
        };
        let Some(queue) = self.config.queue_named(&envelope.queue) else {
            return Disposition::TempFail(TempFailure::Spool);
        };
        let scans = self.scanners.scan(&raw).await;
        let verdict = screen::decide(queue, &submission, &scans);
        let spam_score = scans.spam.as_ref().map_or(f64::NAN, |r| r.score);
        let (printable, spam_tagged) = match verdict {
            Verdict::Accept { printable, spam_tagged } => (printable, spam_tagged),
            Verdict::Refuse(r) => {
                log_outcome(&envelope, &scans, "refused", &format!("{r:?}"));
                return Disposition::Refused(r);
            }
            Verdict::TempFail(t) => {
                log_outcome(&envelope, &scans, "tempfail", &format!("{t:?}"));
                return Disposition::TempFail(t);
            }
        };
        let meta = SpoolMeta {
            id: spool::new_id(),
            received_at: crate::store::now(),
            queue: queue.name.clone(),
            mail_from: envelope.mail_from.clone(),
            recipients: envelope.recipients.clone(),
            client_ip: envelope.client_ip.to_string(),
            helo: envelope.helo.clone(),
            spam_score,
            spam_tagged,
            printable,
        };
        if let Err(e) = self.spool.write(&meta, &raw).await {
            tracing::error!(error = %e, "spool write failed; message not accepted");
            return Disposition::TempFail(TempFailure::Spool);
        }
        log_outcome(&envelope, &scans, "accepted", &meta.id);
        // The worker may be gone during shutdown; the entry is durable and replayed at start.
        let _ = self.work.send(meta.id.clone());
        Disposition::Accepted { queue_id: meta.id }
    }
}

fn log_outcome(envelope: &Envelope, scans: &screen::ScanResults, outcome: &str, detail: &str) {
    tracing::info!(
        client = %envelope.client_ip,
        queue = %envelope.queue,
        outcome,
        detail,
        clamav = ?scans.clam.as_ref().map_err(ToString::to_string),
        spam_score = ?scans.spam.as_ref().map(|r| r.score).ok(),
        spam_rules = ?scans.spam.as_ref().map(|r| r.rules.join(",")).ok(),
        "message screened"
    );
}

impl Receiver for Inbound {
    fn route(&self, address: &str) -> Option<String> {
        self.config.queue_for_address(address).map(|q| q.name.clone())
    }

    async fn receive(&self, envelope: Envelope, message: Vec<u8>) -> Disposition {
        self.screen_and_spool(envelope, message).await
    }
}
