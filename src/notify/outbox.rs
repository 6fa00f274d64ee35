//! Delivers queued replies through the relay, with retry and back-off for what may pass (4xx,
//! no connection) and one attempt for what never will (5xx, a relay without the SMTPUTF8 a
//! non-ASCII address needs): that reply is marked refused, with the relay's answer, for the
//! console's message trace.

use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::NotifyError;
use super::relay::Relay;
use crate::config::RelayConfig;
use crate::store::{OutboxItem, Store, now};

/// How often the outbox is checked when nobody wakes it.
const POLL: Duration = Duration::from_secs(5);
/// First retry after 30 s, doubling up to one hour: a relay outage of a day costs ~30 attempts.
const FIRST_RETRY_SECS: i64 = 30;
const MAX_RETRY_SECS: i64 = 3600;

/// Sends one reply through `relay`.
///
/// # Errors
/// [`SendError`] naming the relay's answer, and whether another attempt can help.
pub async fn send(relay: &Relay, item: &OutboxItem) -> Result<(), SendError> {
    let unusable = |e: NotifyError| SendError::Permanent(e.to_string());
    let from = item.mail_from.parse().map_err(|_| unusable(NotifyError::Address(item.mail_from.clone())))?;
    let to = item.rcpt.parse().map_err(|_| unusable(NotifyError::Address(item.rcpt.clone())))?;
    let envelope = Envelope::new(Some(from), vec![to]).map_err(|e| unusable(NotifyError::Build(e.to_string())))?;
    relay.send(&envelope, &item.body).await.map_err(|e| match e {
        super::relay::PoolError::Smtp(e) => classify(&e, needs_extension(item)),
        connect @ super::relay::PoolError::Connect(_) => SendError::Transient(connect.to_string()),
    })?;
    Ok(())
}

/// Why a delivery attempt failed, and whether another one can help.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// This mail will never be taken: the relay answered 5xx, the relay lacks an extension the
    /// mail needs (SMTPUTF8 for a non-ASCII address), or an address is unusable.
    #[error("refused for good: {0}")]
    Permanent(String),
    /// Worth another attempt later: a 4xx answer, no connection, a timeout.
    #[error("{0}")]
    Transient(String),
    /// The relay refused printgate's login or its TLS failed: its set-up (`[relay]`, the
    /// password, the token, the certificate) must be fixed; the reply waits and is retried.
    #[error("{0}")]
    Setup(String),
}

/// Whether the mail needs an SMTP extension a relay may lack: SMTPUTF8 for a non-ASCII address
/// (`zoë@example.org`), 8BITMIME for a non-ASCII body.
fn needs_extension(item: &OutboxItem) -> bool {
    !item.mail_from.is_ascii() || !item.rcpt.is_ascii() || !item.body.is_ascii()
}

/// Sorts lettre's error. A 5xx is the relay's final word. lettre's client-side refusals are
/// final only when the mail needs an extension: lettre then refuses before `MAIL` because the
/// relay did not announce SMTPUTF8 (or 8BITMIME), and no retry changes the address. Every other
/// failure (4xx, network, TLS, a client-side error about the connection) may pass.
pub fn classify(e: &lettre::transport::smtp::Error, needs_extension: bool) -> SendError {
    let answer = e.to_string();
    let code = e.status().map(|c| c.to_string());
    if let Some(words) = setup_problem(code.as_deref(), e.is_tls(), &answer) {
        SendError::Setup(format!("{words}: {answer}"))
    } else if e.is_permanent() {
        SendError::Permanent(answer)
    } else if e.is_client() && needs_extension && lacks_extension(&answer) {
        SendError::Permanent(format!("the relay lacks an extension this mail needs (SMTPUTF8 or 8BITMIME): {answer}"))
    } else {
        SendError::Transient(answer)
    }
}

/// A login or TLS failure in words, if the error is one: the SMTP codes of AUTH (RFC 4954:
/// 530 authentication required, 534 mechanism too weak, 535 credentials invalid, 538
/// encryption required, 454 temporary failure), a TLS error, or lettre's refusal to go on
/// without STARTTLS or without a usable AUTH mechanism.
fn setup_problem(code: Option<&str>, tls: bool, answer: &str) -> Option<&'static str> {
    match code {
        Some("535") => Some("the relay refused the login (check relay.username and relay.password_file or the token)"),
        Some("530" | "534" | "538" | "454") => Some("the relay did not accept printgate's login"),
        // lettre reports a certificate rustls did not accept as a connection error.
        _ if tls || answer.contains("certificate") || answer.contains("handshake") => {
            Some("TLS with the relay failed (check the relay's certificate and relay.ca_file)")
        }
        _ if answer.contains("STARTTLS") => Some("the relay does not offer STARTTLS, which relay.tls = \"required\" needs"),
        _ if answer.contains("authentication mechanism") => Some("the relay offers no login printgate can use (PLAIN, LOGIN, XOAUTH2)"),
        _ => None,
    }
}

/// lettre's own refusal to send because the relay did not offer SMTPUTF8 or 8BITMIME (its other
/// client-side errors, such as no STARTTLS or no usable AUTH mechanism, may pass once the relay
/// is fixed: those are retried).
fn lacks_extension(answer: &str) -> bool {
    answer.contains("does not support SMTPUTF8") || answer.contains("does not support 8BITMIME")
}

/// Back-off before attempt `attempts + 1`.
pub fn retry_delay(attempts: i64) -> i64 {
    let shift = attempts.clamp(0, 16) as u32;
    (FIRST_RETRY_SECS.saturating_mul(1 << shift)).min(MAX_RETRY_SECS)
}

/// Runs until `shutdown`: delivers due replies whenever woken or every few seconds.
/// The relay settings in effect now (the live configuration's `[relay]`).
pub type RelaySettings = Arc<dyn Fn() -> RelayConfig + Send + Sync>;

pub async fn run(store: Store, mut relay: Relay, settings: RelaySettings, wake: Arc<Notify>, shutdown: CancellationToken) {
    loop {
        match relay.refresh(&settings()).await {
            Ok(Some(fresh)) => {
                tracing::info!("relay set up again (its settings, password or token changed)");
                relay = fresh;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot set the relay up; replies wait in the outbox"),
        }
        match deliver_due(&store, &relay).await {
            Ok(true) => relay.login_refused(),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "outbox pass failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Replies sent at once, each on its own pooled connection (`relay::pool`).
const CONCURRENT_SENDS: usize = 8;

/// Replies claimed per round: exactly as many as are sent at once, so every claimed reply is on
/// the wire straight away and finishes (at worst by [`SEND_TIMEOUT`]) inside the claim's lease.
const CLAIM: i64 = CONCURRENT_SENDS as i64;

/// The longest one delivery may take, all SMTP stages together; must stay below
/// [`crate::store::OUTBOX_LEASE_SECS`] or a slow send could be claimed and sent twice.
const SEND_TIMEOUT: Duration = Duration::from_secs(45);
const _: () = assert!((SEND_TIMEOUT.as_secs() as i64) * 2 <= crate::store::OUTBOX_LEASE_SECS);

/// Delivers every due reply; true when the relay refused the login or TLS (then the pass
/// stops: the next one sets the relay up again).
async fn deliver_due(store: &Store, relay: &Relay) -> Result<bool, crate::store::StoreError> {
    use futures::StreamExt;
    loop {
        let items = store.outbox_due(now(), CLAIM).await?;
        let claimed = items.len() as i64;
        let results: Vec<Result<Delivery, crate::store::StoreError>> =
            futures::stream::iter(items).map(|item| deliver_one(store, relay, item)).buffer_unordered(CONCURRENT_SENDS).collect().await;
        let (mut setup_failed, mut sent) = (false, Vec::new());
        for result in results {
            match result? {
                Delivery::Sent(id) => sent.push(id),
                Delivery::Settled => {}
                Delivery::SetupFailed => setup_failed = true,
            }
        }
        // One commit for the round's delivered replies (a crash before it sends them again:
        // at least once, as docs/operations.md says).
        if !sent.is_empty() {
            store.outbox_sent_all(&sent).await?;
        }
        if setup_failed {
            return Ok(true);
        }
        if claimed < CLAIM {
            return Ok(false);
        }
    }
}

/// What became of one claimed reply.
enum Delivery {
    /// The relay took it; the caller marks it sent, with the round's others.
    Sent(String),
    /// Refused for good, or to be retried: recorded.
    Settled,
    /// The relay's set-up (login, TLS) failed: recorded for a retry.
    SetupFailed,
}

/// Sends one reply and records the outcome, except a delivery (the caller marks the round's
/// deliveries in one commit).
async fn deliver_one(store: &Store, relay: &Relay, item: OutboxItem) -> Result<Delivery, crate::store::StoreError> {
    let sent = match tokio::time::timeout(SEND_TIMEOUT, send(relay, &item)).await {
        Ok(result) => result,
        Err(_) => Err(SendError::Transient(format!("no answer from the relay within {}s", SEND_TIMEOUT.as_secs()))),
    };
    match sent {
        Ok(()) => {
            crate::metrics::inc("printgate_replies_total", &[("result", "sent")]);
            tracing::info!(reply = %item.id, attempts = item.attempts + 1, "reply delivered to relay");
            return Ok(Delivery::Sent(item.id));
        }
        Err(SendError::Permanent(answer)) => {
            crate::metrics::inc("printgate_replies_total", &[("result", "refused")]);
            tracing::warn!(reply = %item.id, attempts = item.attempts + 1, error = %answer, "reply refused for good; not retried");
            store.outbox_refused(&item.id, &answer).await?;
        }
        Err(e) => {
            crate::metrics::inc("printgate_replies_total", &[("result", "failed")]);
            let next = now() + retry_delay(item.attempts);
            tracing::warn!(reply = %item.id, attempts = item.attempts + 1, error = %e, "reply delivery failed; will retry");
            store.outbox_failed(&item.id, next, &e.to_string()).await?;
            return Ok(if matches!(e, SendError::Setup(_)) { Delivery::SetupFailed } else { Delivery::Settled });
        }
    }
    Ok(Delivery::Settled)
}

#[cfg(test)]
mod tests {
    #[test]
    fn back_off_doubles_and_is_capped() {
        assert_eq!(super::retry_delay(0), 30);
        assert_eq!(super::retry_delay(1), 60);
        assert_eq!(super::retry_delay(3), 240);
        assert_eq!(super::retry_delay(40), 3600);
    }

    /// Login and TLS failures are the relay's set-up: named in words, retried.
    #[test]
    fn login_and_tls_failures_are_named() {
        // (code, a TLS error, lettre's text, the words' start or none)
        for (code, tls, answer, words) in [
            (Some("535"), false, "permanent error (535): 5.7.8 Authentication credentials invalid", Some("the relay refused the login")),
            (Some("530"), false, "permanent error (530): 5.7.0 Authentication required", Some("the relay did not accept")),
            (Some("454"), false, "transient error (454): 4.7.0 Temporary authentication failure", Some("the relay did not accept")),
            (None, false, "Connection error: Connection error: invalid peer certificate: UnknownIssuer", Some("TLS with the relay failed")),
            (None, true, "tls error", Some("TLS with the relay failed")),
            (None, false, "client error: STARTTLS is not supported on this server", Some("the relay does not offer STARTTLS")),
            (None, false, "client error: No compatible authentication mechanism was found", Some("the relay offers no login")),
            (Some("550"), false, "permanent error (550): 5.1.1 No such user", None),
            (Some("451"), false, "transient error (451): 4.3.0 Try later", None),
            (None, false, "Connection error: Connection refused (os error 111)", None),
        ] {
            let got = super::setup_problem(code, tls, answer);
            match words {
                Some(w) => assert!(got.is_some_and(|g| g.starts_with(w)), "{answer}: {got:?}"),
                None => assert_eq!(got, None, "{answer}"),
            }
        }
    }

    /// Only lettre's "the relay lacks SMTPUTF8/8BITMIME" is final among its client-side
    /// errors; a relay without STARTTLS or a usable AUTH mechanism may be fixed: retried.
    #[test]
    fn only_a_missing_extension_is_a_final_client_side_error() {
        for (text, is_final) in [
            ("Envelope contains non-ascii chars but server does not support SMTPUTF8", true),
            ("Message contains non-ascii chars but server does not support 8BITMIME", true),
            ("STARTTLS is not supported on this server", false),
            ("No compatible authentication mechanism was found", false),
        ] {
            assert_eq!(super::lacks_extension(&format!("client error: {text}")), is_final, "{text}");
        }
    }
}
