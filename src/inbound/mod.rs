//! The glue between the doors (the SMTP session, the IMAP mailboxes of `crate::mailbox`) and
//! the rest: intake, screening and spooling of one received message ([`Inbound::screen_and_spool`],
//! over a door-neutral [`Arrival`]). Its [`Disposition`] (screening's words) becomes the door's own
//! [`Outcome`] here, and each refusal or temporary failure picks its reply through one of
//! [`SmtpReply`]'s named constructors: `smtp` never sees screening's types.
//!
//! This is where principle 1 and 2 of DESIGN.md meet: nothing is accepted unscanned (a scanner
//! that cannot answer is a temporary failure), and `Accepted` is returned only after the spool
//! entry is durable.

use std::net::IpAddr;

use tokio::sync::mpsc::UnboundedSender;

use crate::config::{Config, QueueConfig};
use crate::intake::Submission;
use crate::live::{Live, Shared};
use crate::screen::auth::{AuthResults, SenderGrade};
use crate::screen::rspamd::RspamdEnvelope;
use crate::screen::{self, ScanResults, Verdict};
pub use crate::screen::{Refusal, TempFailure};
use crate::smtp::SmtpReply;
use crate::smtp::limits::SenderKey;
use crate::smtp::{Envelope, Outcome, Receiver, Route};
use crate::spool::{self, Spool, SpoolMeta};
use crate::store::Store;
use crate::store::trace::Trace;

mod reply;
mod trace;
pub use reply::{refusal_words, tempfail_words};
use trace::{record_trace_retrying, trace_of};

/// What happened to a received message.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// Durably spooled under this id.
    Accepted {
        queue_id: String,
    },
    Refused(Refusal),
    TempFail(TempFailure),
}

/// A message arriving through any door (the SMTP session, an IMAP mailbox, the web upload
/// form), in the words
/// intake, screening and the spool need. Each door fills it from its own types.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The print queue (by name) and the plus-address options.
    pub queue: String,
    pub options: Vec<String>,
    /// The connecting client: the patron's MTA over SMTP; for a mailbox, nobody printgate
    /// knows (`0.0.0.0`).
    pub client_ip: IpAddr,
    pub helo: String,
    /// The envelope sender; `None` for `<>` (never replied to).
    pub mail_from: Option<String>,
    pub recipients: Vec<String>,
    pub tls: bool,
    /// The `with` of the `Received:` header: `ESMTP`, `ESMTPS`, `IMAP`, `IMAPS`, `HTTP`, `HTTPS`.
    pub protocol: &'static str,
    /// Whether SPF means anything: the client and envelope sender are the patron's own (SMTP).
    /// Mail read from a mailbox came through the provider's servers, so only DKIM (and DMARC
    /// through it) can authenticate its sender; SPF is then checked for the HELO name only.
    pub spf: bool,
    /// Whether sender authentication applies at all: not for the web upload form, where only
    /// the typed address names the sender (an unauthenticated guest, nothing looked up).
    pub authenticate: bool,
    /// Whether a page reads the trace straight after the answer (the web upload's results
    /// page, on whichever node serves it): the trace is then written before the spool entry.
    /// Else it travels in the spool entry and the pipeline writes it with the jobs.
    pub trace_before_answer: bool,
}

impl From<&Envelope> for Arrival {
    fn from(e: &Envelope) -> Self {
        Self {
            queue: e.queue.clone(),
            options: e.options.clone(),
            client_ip: e.client_ip,
            helo: e.helo.clone(),
            mail_from: e.mail_from.clone(),
            recipients: e.recipients.clone(),
            tls: e.tls,
            protocol: if e.tls { "ESMTPS" } else { "ESMTP" },
            spf: true,
            authenticate: true,
            trace_before_answer: false,
        }
    }
}

/// What screening learnt about the sender, for a door that must tell a refusal by reply.
#[derive(Debug, Clone, Default)]
pub struct Patron {
    /// The `From:` address, else the envelope sender.
    pub address: Option<String>,
    pub grade: String,
    pub spf_fail_without_dkim: bool,
    /// Auto-submitted or list mail (never replied to).
    pub automatic: bool,
    /// The message's own `Message-ID:` field, to thread a reply on.
    pub message_id_field: Option<String>,
    pub subject: Option<String>,
}

/// The outcome of [`Inbound::screen_and_spool`].
#[derive(Debug, Clone)]
pub struct Screened {
    pub disposition: Disposition,
    pub patron: Patron,
}

/// The production [`Receiver`], and the intake every other door shares.
pub struct Inbound {
    live: Shared,
    spool: Spool,
    store: Store,
    work: UnboundedSender<String>,
}

/// One message on its way through screening.
struct Screening<'a> {
    live: &'a Live,
    arrival: &'a Arrival,
    queue: &'a QueueConfig,
    submission: &'a Submission,
    raw: &'a [u8],
}

impl Inbound {
    pub fn new(live: Shared, spool: Spool, store: Store, work: UnboundedSender<String>) -> Self {
        Self { live, spool, store, work }
    }

    /// Intake, screening and spooling of one message, whatever door it came through: the
    /// message is accepted only once its spool entry under `id` is durable. Writing the same
    /// `id` again (a door repeating a message after a crash) replaces the entry, and the
    /// pipeline stores a spool id at most once.
    pub async fn screen_and_spool(&self, arrival: &Arrival, id: String, raw: Vec<u8>) -> Screened {
        let live = self.live.load_full();
        let raw = with_received_header(arrival, &live.config.smtp.hostname, &id, raw);
        let submission = match Submission::parse(&raw) {
            Ok(s) => s,
            Err(e) => {
                let disposition = Disposition::Refused(Refusal::Malformed { reason: e.to_string() });
                return Screened { disposition, patron: Patron::default() };
            }
        };
        let Some(queue) = live.config.queue_named(&arrival.queue) else {
            // The queue was removed by a reload while this session was open.
            return Screened { disposition: Disposition::TempFail(TempFailure::Spool), patron: Patron::default() };
        };
        let step = Screening { live: &live, arrival, queue, submission: &submission, raw: &raw };
        let (scans, auth) = step.scan().await;
        let sender = submission.from_address.clone().or_else(|| arrival.mail_from.clone()).unwrap_or_default();
        let sender_key = SenderKey::new(&sender, auth.grade == SenderGrade::Authenticated, arrival.client_ip);
        let verdict = step.verdict(&scans, &auth, &sender, &sender_key);
        let mut trace = trace_of(&id, arrival, &submission, &scans, &verdict, raw.len(), queue.allowed_types.types());
        trace.auth = auth.summary.clone();
        trace.grade = auth.grade.as_str().to_owned();
        let patron = Patron {
            address: submission.from_address.clone().or_else(|| arrival.mail_from.clone()),
            grade: auth.grade.as_str().to_owned(),
            spf_fail_without_dkim: arrival.spf && auth.spf == "fail" && auth.dkim != "pass",
            automatic: submission.automatic,
            message_id_field: submission.message_id_field.clone(),
            subject: submission.subject.clone(),
        };
        let disposition = match verdict {
            Verdict::Accept { printable, spam_tagged } => {
                let mut meta = spool_meta(id, queue, arrival, &scans, spam_tagged, printable);
                meta.sender_grade = patron.grade.clone();
                meta.spf_fail_without_dkim = patron.spf_fail_without_dkim;
                meta.automatic = submission.automatic;
                self.accept(&live, arrival, meta, &mut trace, raw, sender_key).await
            }
            Verdict::Refuse(r) => Disposition::Refused(r),
            Verdict::TempFail(t) => Disposition::TempFail(t),
        };
        log_outcome(arrival, &scans, &trace.id, &disposition);
        if !matches!(disposition, Disposition::Accepted { .. }) {
            trace.outcome = outcome_word(&disposition).to_owned();
            trace.reply = SmtpReply::from(&disposition).to_string();
            tokio::spawn(record_trace_retrying(self.store.clone(), trace));
        }
        Screened { disposition, patron }
    }

    /// Spools an accepted message with its trace: the pipeline writes the trace in the
    /// transaction that stores the message, so no store write waits before the `250` and a
    /// store outage loses no trace (the spool entry carries it). For a door whose page reads
    /// the trace at once ([`Arrival::trace_before_answer`]) it is written first.
    async fn accept(
        &self,
        live: &Live,
        arrival: &Arrival,
        mut meta: SpoolMeta,
        trace: &mut Trace,
        raw: Vec<u8>,
        sender_key: SenderKey,
    ) -> Disposition {
        trace.reply = format!("250 2.0.0 Ok: queued as {}", meta.id);
        let written = arrival.trace_before_answer && {
            let result = self.store.record_trace(trace).await;
            if let Err(e) = &result {
                tracing::warn!(spool_id = %meta.id, error = %e, "cannot write the message trace now; the pipeline will");
            }
            result.is_ok()
        };
        if !written {
            meta.pending_trace = Some(trace.clone());
        }
        let disposition = self.spool_accepted(meta, raw).await;
        if matches!(disposition, Disposition::Accepted { .. }) {
            live.sender_limits.count(sender_key);
        } else if written {
            if let Err(e) = self.store.trace_outcome(&trace.id, "tempfail", &SmtpReply::from(&disposition).to_string()).await {
                tracing::warn!(spool_id = %trace.id, error = %e, "cannot update the message trace");
            }
        } else {
            trace.outcome = "tempfail".to_owned();
            trace.reply = SmtpReply::from(&disposition).to_string();
            tokio::spawn(record_trace_retrying(self.store.clone(), trace.clone()));
        }
        disposition
    }

    async fn spool_accepted(&self, meta: SpoolMeta, raw: Vec<u8>) -> Disposition {
        if let Err(e) = self.spool.write(&meta, raw).await {
            tracing::error!(spool_id = %meta.id, error = %e, "spool write failed; message not accepted");
            return Disposition::TempFail(TempFailure::Spool);
        }
        // The worker may be gone during shutdown; the entry is durable and replayed at start.
        let _ = self.work.send(meta.id.clone());
        Disposition::Accepted { queue_id: meta.id }
    }
}

impl Screening<'_> {
    /// The scanners and sender authentication, side by side.
    async fn scan(&self) -> (ScanResults, AuthResults) {
        let (arrival, host) = (self.arrival, &self.live.config.smtp.hostname);
        let spf_sender = arrival.mail_from.as_deref().filter(|_| arrival.spf);
        let rspamd = RspamdEnvelope { client_ip: arrival.client_ip, helo: &arrival.helo, mail_from: arrival.mail_from.as_deref() };
        let auth = async {
            if arrival.authenticate {
                self.live.auth.check(self.raw, arrival.client_ip, &arrival.helo, spf_sender, host).await
            } else {
                let from = self.submission.from_address.as_deref().unwrap_or_default();
                AuthResults::not_applicable(from.rsplit_once('@').map_or("", |(_, d)| d), host)
            }
        };
        tokio::join!(self.live.scanners.scan(self.raw, self.submission, rspamd), auth)
    }

    /// Screening's verdict, then the library's sender lists, reply commands and sender rates.
    fn verdict(&self, scans: &ScanResults, auth: &AuthResults, sender: &str, sender_key: &SenderKey) -> Verdict {
        let (queue, arrival) = (self.queue, self.arrival);
        let mut verdict = screen::decide(queue, self.submission, scans, auth);
        // The library's sender lists come first: a denied sender is refused whatever it sent.
        if let Some(refusal) = screen::sender_lists(queue, sender, arrival.mail_from.as_deref().unwrap_or_default()) {
            let cause = if refusal == Refusal::SenderDenied { "deny_list" } else { "not_allowed" };
            crate::metrics::inc("printgate_sender_refusals_total", &[("cause", cause)]);
            verdict = Verdict::Refuse(refusal);
        }
        // A reply command (CANCEL, EXTEND, RESEND to the reply's `+c…` address) has nothing to
        // print by nature; everything else about it is screened like any mail.
        let is_command = arrival.options.iter().any(|o| crate::store::commands::is_token(o));
        if is_command && matches!(verdict, Verdict::Refuse(screen::Refusal::NothingPrintable { .. })) {
            verdict = Verdict::Accept { printable: Vec::new(), spam_tagged: false };
        }
        if matches!(verdict, Verdict::Accept { .. }) && !self.live.sender_limits.has_room(sender_key, std::time::Instant::now()) {
            tracing::warn!(client = %arrival.client_ip, "sender over its hourly rate");
            verdict = Verdict::TempFail(TempFailure::SenderRateLimited);
        }
        verdict
    }
}

fn spool_meta(
    id: String,
    queue: &QueueConfig,
    envelope: &Arrival,
    scans: &ScanResults,
    spam_tagged: bool,
    printable: Vec<usize>,
) -> SpoolMeta {
    SpoolMeta {
        id,
        received_at: crate::store::now(),
        queue: queue.name.clone(),
        mail_from: envelope.mail_from.clone(),
        recipients: envelope.recipients.clone(),
        client_ip: envelope.client_ip.to_string(),
        helo: envelope.helo.clone(),
        spam_score: scans.spam.as_ref().map_or(f64::NAN, |r| r.score),
        spam_tagged,
        printable,
        options: envelope.options.clone(),
        tls: envelope.tls,
        sender_grade: String::new(),
        spf_fail_without_dkim: false,
        automatic: false,
        pending_trace: None,
    }
}

fn outcome_word(d: &Disposition) -> &'static str {
    match d {
        Disposition::Accepted { .. } => "accepted",
        Disposition::Refused(_) => "refused",
        Disposition::TempFail(_) => "tempfail",
    }
}

/// Prepends the trace header every MTA adds (RFC 5321 4.4); SpamAssassin reads it too.
/// Put in front of the message in its own buffer: a second copy of a 25 MB message would be
/// 25 MB more at the peak.
fn with_received_header(envelope: &Arrival, hostname: &str, id: &str, mut raw: Vec<u8>) -> Vec<u8> {
    let protocol = envelope.protocol;
    let helo: String = envelope.helo.chars().filter(|c| c.is_ascii_graphic()).take(100).collect();
    let date = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc2822).unwrap_or_default();
    let header = format!(
        "Received: from {helo} ([{ip}])\r\n\tby {hostname} (printgate) with {protocol} id {id};\r\n\t{date}\r\n",
        ip = envelope.client_ip
    );
    raw.splice(0..0, header.into_bytes());
    raw
}

fn log_outcome(envelope: &Arrival, scans: &ScanResults, id: &str, disposition: &Disposition) {
    crate::metrics::inc("printgate_messages_total", &[("outcome", outcome_word(disposition))]);
    tracing::info!(
        spool_id = %id,
        client = %envelope.client_ip,
        queue = %envelope.queue,
        outcome = outcome_word(disposition),
        reply = %SmtpReply::from(disposition),
        clamav = ?scans.clam.as_ref().map_err(ToString::to_string),
        spam_score = ?scans.spam.as_ref().map(|r| r.score).ok(),
        spam_rules = ?scans.spam.as_ref().map(|r| r.rules.join(",")).ok(),
        "message screened"
    );
}

/// Maps `name+opt1+opt2@domain` to the queue `name@domain` with its options; local parts and
/// domains compare case-insensitively.
pub fn route(config: &Config, address: &str) -> Option<Route> {
    let (local, domain) = address.rsplit_once('@')?;
    let mut parts = local.split('+');
    let base = format!("{}@{domain}", parts.next()?);
    let queue = config.queue_for_address(&base)?;
    let options = parts.filter(|o| !o.is_empty()).map(str::to_ascii_lowercase).collect();
    Some(Route { queue: queue.name.clone(), options })
}

impl Receiver for Inbound {
    fn route(&self, address: &str) -> Option<Route> {
        route(&self.live.load().config, address)
    }

    async fn receive(&self, envelope: Envelope, message: Vec<u8>) -> Outcome {
        Outcome::from(self.screen_and_spool(&Arrival::from(&envelope), spool::new_id(), message).await.disposition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infrastructure_is_4xx_content_is_5xx() {
        let virus = SmtpReply::from(&Refusal::Virus { signature: "Eicar-Test-Signature".into() });
        assert_eq!((virus.code, virus.enhanced), (554, "5.7.1"));
        assert!(virus.text.contains("Eicar-Test-Signature"));
        let spam = SmtpReply::from(&Refusal::Spam { score: 1002.3, limit: 10.0 });
        assert_eq!(spam.code, 550);
        let nothing = SmtpReply::from(&Refusal::NothingPrintable { found: "setup.exe: programs cannot be printed".into() });
        assert_eq!(nothing.to_string(), "550 5.6.0 Nothing printable in this message: setup.exe: programs cannot be printed");
        assert!(spam.text.contains("score 1002.3 / limit 10.0"), "{}", spam.text);
        let down = SmtpReply::from(&TempFailure::ScannerUnavailable { scanner: "ClamAV".into() });
        assert_eq!((down.code, down.enhanced), (451, "4.7.0"));
        let spool = SmtpReply::from(&TempFailure::Spool);
        assert_eq!(spool.code / 100, 4);
    }
}
