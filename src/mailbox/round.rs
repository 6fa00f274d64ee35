//! One pass over the folder read: each message is decided once (screened and spooled, or
//! refused and told by reply), the decision recorded in the store, and only then moved out.
//!
//! Order of steps for one UID, and what a crash after each leaves:
//! 1. fetch (`BODY.PEEK[]`, so nothing is marked read) and screen + spool under a spool id
//!    derived from mailbox, UIDVALIDITY, UID and Message-ID: a crash here repeats the step,
//!    writing the same spool entry, which the pipeline stores once;
//! 2. record the decision (`mailbox_uids`): a crash after this only repeats the move;
//! 3. move to `processed_folder` or `refused_folder`, then forget the record.

use std::net::{IpAddr, Ipv4Addr};

use async_imap::types::UnsolicitedResponse;
use futures::TryStreamExt;

use super::client::{ImapSession, MailboxError, limit, timely};
use super::decide::{self, Fate, MoveBy};
use super::{Deps, refusal};
use crate::config::{ImapSecurity, MailboxConfig, QueueConfig};
use crate::inbound::{Arrival, Disposition, refusal_words, tempfail_words};
use crate::store::mailbox::{MailboxDecision, MailboxUid};

/// The longest one message's fetch may take (25 MB over a slow link).
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Set to this (in a debug build only), the mailbox stops for an hour right after a message is
/// spooled, before its decision is recorded or it is moved: `tests/mailbox.rs` kills printgate
/// there with SIGKILL to check that a restart makes neither a second job nor a lost one.
pub const FAULT_ENV: &str = "PRINTGATE_TEST_FAULT";
const FAULT_PAUSE_AFTER_SPOOL: &str = "mailbox_pause_after_spool";

/// The facts of one pass.
pub struct Pass<'a> {
    pub deps: &'a Deps,
    pub config: &'a MailboxConfig,
    pub label: &'a str,
    pub uidvalidity: u32,
    pub move_by: MoveBy,
}

/// Messages screened at once in a pass, as the SMTP door screens its parallel sessions: a
/// backlog (mail that arrived while printgate was down) drains at the scanners' pace rather
/// than one message's latency at a time. The IMAP commands themselves stay one at a time.
const SCREEN_AT_ONCE: usize = 4;

/// A message ready for screening, or already decided without it.
enum Fetched {
    Message(Vec<u8>),
    Decided(Fate),
}

impl Pass<'_> {
    /// Decides and moves every message in the folder; returns how many were moved, and whether
    /// the server announced new mail meanwhile (then the caller reads again before it waits:
    /// that announcement is not repeated in IDLE).
    ///
    /// # Errors
    /// [`MailboxError`] from the server or the store; what was done so far stays done.
    pub async fn run(&self, session: &mut ImapSession) -> Result<(usize, bool), MailboxError> {
        drain(session);
        let mut uids: Vec<u32> = timely(session.uid_search("ALL")).await?.into_iter().collect();
        uids.sort_unstable();
        let mut moved = 0;
        for chunk in uids.chunks(SCREEN_AT_ONCE) {
            let (mut fates, mut fetched) = (Vec::new(), Vec::new());
            for &uid in chunk {
                match self.fetch(session, self.at(uid)).await? {
                    Fetched::Decided(fate) => fates.push((uid, fate)),
                    Fetched::Message(raw) => fetched.push((uid, raw)),
                }
            }
            let (screened_uids, raws): (Vec<u32>, Vec<Vec<u8>>) = fetched.into_iter().unzip();
            let screened =
                futures::future::join_all(screened_uids.iter().zip(raws).map(|(&uid, raw)| self.decide(self.at(uid), raw))).await;
            for (uid, fate) in screened_uids.into_iter().zip(screened) {
                fates.push((uid, fate?));
            }
            fates.sort_unstable_by_key(|(uid, _)| *uid);
            for (uid, fate) in fates {
                let Some(folder) = fate.folder(&self.config.processed_folder, &self.config.refused_folder) else { continue };
                move_message(session, uid, folder, self.move_by).await?;
                self.deps.store.forget_mailbox_uid(self.at(uid)).await?;
                moved += 1;
            }
        }
        Ok((moved, drain(session)))
    }

    fn at(&self, uid: u32) -> MailboxUid<'_> {
        MailboxUid { mailbox: self.label, uidvalidity: self.uidvalidity, uid }
    }

    /// The message at `at`, unless it was decided before (a crash or a lost connection after
    /// the decision: only the move is left) or is refused unread for its size.
    async fn fetch(&self, session: &mut ImapSession, at: MailboxUid<'_>) -> Result<Fetched, MailboxError> {
        if let Some(decision) = self.deps.store.mailbox_decision(at).await? {
            return Ok(Fetched::Decided(Fate::from_word(&decision.outcome).unwrap_or(Fate::Later)));
        }
        // The size limit SMTP announces holds here too, before anything is fetched.
        let size = fetch_size(session, at.uid).await?;
        if let Some(reason) = decide::too_large(size, self.deps.live.load().config.smtp.max_message_bytes) {
            let decision = MailboxDecision {
                message_id: String::new(),
                spool_id: decide::spool_id(self.label, at.uidvalidity, at.uid, ""),
                outcome: Fate::Refused.word().to_owned(),
                reason,
            };
            return self.record(at, decision, Fate::Refused).await.map(Fetched::Decided);
        }
        Ok(fetch(session, at.uid).await?.map_or(Fetched::Decided(Fate::Later), Fetched::Message))
    }

    /// Screens and spools (or refuses) one fetched message and records the decision.
    async fn decide(&self, at: MailboxUid<'_>, raw: Vec<u8>) -> Result<Fate, MailboxError> {
        let live = self.deps.live.load_full();
        let Some(queue) = live.config.mailbox_queue(self.config) else { return Ok(Fate::Later) };
        let message_id = crate::intake::Submission::parse(&raw).ok().and_then(|s| s.message_id).unwrap_or_default();
        let id = decide::spool_id(self.label, at.uidvalidity, at.uid, &message_id);
        let arrival = self.arrival(queue, &raw);
        let screened = self.deps.inbound.screen_and_spool(&arrival, id.clone(), raw).await;
        let (fate, reason) = match &screened.disposition {
            Disposition::Accepted { .. } => {
                fault_point(&id).await;
                (Fate::Accepted, String::new())
            }
            Disposition::Refused(refusal) => {
                let reason = refusal_words(refusal);
                refusal::tell(self.deps, &live, queue, &id, &screened.patron, &reason).await?;
                (Fate::Refused, reason)
            }
            Disposition::TempFail(t) => {
                tracing::warn!(mailbox = %self.label, uid = at.uid, spool_id = %id, reason = %tempfail_words(t), "message not decided now; tried again later");
                return Ok(Fate::Later);
            }
        };
        let decision = MailboxDecision { message_id, spool_id: id, outcome: fate.word().to_owned(), reason };
        self.record(at, decision, fate).await
    }

    /// Logs, counts and records a decision.
    async fn record(&self, at: MailboxUid<'_>, decision: MailboxDecision, fate: Fate) -> Result<Fate, MailboxError> {
        tracing::info!(mailbox = %self.label, uid = at.uid, spool_id = %decision.spool_id, outcome = fate.word(), reason = %decision.reason, "mailbox message decided");
        crate::metrics::inc("printgate_mailbox_messages_total", &[("mailbox", self.label), ("outcome", fate.word())]);
        self.deps.store.record_mailbox_decision(at, &decision).await?;
        Ok(fate)
    }

    /// The message in the door-neutral words of `inbound`.
    fn arrival(&self, queue: &QueueConfig, raw: &[u8]) -> Arrival {
        let tls = self.config.url.security != ImapSecurity::Plain;
        Arrival {
            queue: queue.name.clone(),
            options: Vec::new(),
            client_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            helo: self.config.url.host.clone(),
            mail_from: envelope_sender(raw),
            recipients: vec![queue.address.clone()],
            tls,
            protocol: if tls { "IMAPS" } else { "IMAP" },
            spf: false,
            authenticate: true,
            trace_before_answer: false,
        }
    }
}

/// The message's size (`RFC822.SIZE`); 0 when the server does not say.
async fn fetch_size(session: &mut ImapSession, uid: u32) -> Result<u64, MailboxError> {
    timely(async {
        let fetches: Vec<_> = session.uid_fetch(uid.to_string(), "RFC822.SIZE").await?.try_collect().await?;
        Ok::<_, MailboxError>(fetches.iter().find(|f| f.uid == Some(uid)).and_then(|f| f.size).map_or(0, u64::from))
    })
    .await
}

/// The whole message, without marking it read; `None` when it is gone.
async fn fetch(session: &mut ImapSession, uid: u32) -> Result<Option<Vec<u8>>, MailboxError> {
    limit(FETCH_TIMEOUT, async {
        let fetches: Vec<_> = session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?.try_collect().await?;
        Ok::<_, MailboxError>(fetches.iter().find(|f| f.uid == Some(uid)).or(fetches.first()).and_then(|f| f.body()).map(<[u8]>::to_vec))
    })
    .await
}

/// Moves one message out of the selected folder.
async fn move_message(session: &mut ImapSession, uid: u32, folder: &str, by: MoveBy) -> Result<(), MailboxError> {
    let set = uid.to_string();
    match by {
        MoveBy::Move => timely(session.uid_mv(&set, folder)).await,
        MoveBy::CopyExpunge | MoveBy::CopyDeleteExpunge => {
            // The copy is in place before the original is marked, so nothing is lost between.
            timely(session.uid_copy(&set, folder)).await?;
            timely(async { session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?.try_collect::<Vec<_>>().await }).await?;
            if by == MoveBy::CopyExpunge {
                timely(async { session.uid_expunge(&set).await?.try_collect::<Vec<_>>().await }).await?;
            } else {
                timely(async { session.expunge().await?.try_collect::<Vec<_>>().await }).await?;
            }
            Ok(())
        }
    }
}

/// Drops the server's unsolicited answers collected meanwhile; true if one of them announced
/// new mail (`EXISTS`, `RECENT`; the moves out of the folder only cause `EXPUNGE`).
pub fn drain(session: &mut ImapSession) -> bool {
    let mut news = false;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        news |= matches!(response, UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_));
    }
    news
}

/// The envelope sender of a delivered message: its `Return-Path:` (the delivering server's
/// `MAIL FROM`), `None` for `<>` (a bounce: never replied to), else its `From:` address.
pub fn envelope_sender(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::new().parse_headers(raw)?;
    if let Some(path) = message.header_raw("Return-Path") {
        let path = path.trim().trim_start_matches('<').trim_end_matches('>').trim();
        return (!path.is_empty()).then(|| path.to_owned());
    }
    message.from().and_then(|f| f.first()).and_then(|a| a.address()).map(str::to_owned)
}

/// The test-only pause (see [`FAULT_ENV`]); nothing in a release build.
async fn fault_point(spool_id: &str) {
    if cfg!(debug_assertions) && std::env::var(FAULT_ENV).is_ok_and(|v| v == FAULT_PAUSE_AFTER_SPOOL) {
        tracing::warn!(spool_id = %spool_id, "test fault: mailbox paused after spooling, before recording and moving");
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::envelope_sender;

    #[test]
    fn the_envelope_sender_is_the_return_path_else_the_from_address() {
        // (headers, envelope sender)
        for (headers, sender) in [
            ("Return-Path: <ann@example.org>\r\nFrom: Ann <ann@other.example>\r\n\r\nbody", Some("ann@example.org")),
            ("Return-Path: <>\r\nFrom: MAILER-DAEMON <mailer-daemon@example.org>\r\n\r\nbody", None),
            ("From: Ann <ann@example.org>\r\nSubject: print\r\n\r\nbody", Some("ann@example.org")),
            ("Subject: nobody\r\n\r\nbody", None),
        ] {
            assert_eq!(envelope_sender(headers.as_bytes()).as_deref(), sender, "{headers}");
        }
    }
}
