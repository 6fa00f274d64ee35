//! The mailbox's decisions as pure functions (table-tested below): how long to back off, which
//! folder a message goes to, how it is moved, what its spool id is, and who is told of a
//! refusal.

use std::time::Duration;

use crate::config::ReplyPolicy;

/// The first wait after a failure; doubled per further failure.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(5);
/// The longest wait between attempts: a mailbox fixed by its provider is read within ten
/// minutes, and a wrong password does not lock the account (providers lock after many failed
/// logins in a short time).
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// How long to wait after `failures` consecutive failures (1 = the first).
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_BACKOFF.saturating_mul(1 << doublings).min(MAX_BACKOFF)
}

/// What became of a fetched message, as far as the mailbox cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Spooled: printgate has it and the mailbox may let it go.
    Accepted,
    /// Refused by screening: kept in the refused folder for the admin.
    Refused,
    /// Not decided (a scanner or the spool could not answer): left where it is, tried again.
    Later,
}

impl Fate {
    /// The word recorded in the store (`mailbox_uids.outcome`).
    pub fn word(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Later => "later",
        }
    }

    /// The fate recorded as `word`.
    pub fn from_word(word: &str) -> Option<Self> {
        [Self::Accepted, Self::Refused].into_iter().find(|f| f.word() == word)
    }

    /// The folder it is moved to, if any.
    pub fn folder<'a>(self, processed: &'a str, refused: &'a str) -> Option<&'a str> {
        match self {
            Self::Accepted => Some(processed),
            Self::Refused => Some(refused),
            Self::Later => None,
        }
    }
}

/// How a message leaves the folder read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveBy {
    /// `UID MOVE` (RFC 6851).
    Move,
    /// `UID COPY`, `\Deleted`, then `UID EXPUNGE` of that one UID (RFC 4315, UIDPLUS).
    CopyExpunge,
    /// `UID COPY` and `\Deleted`, then `EXPUNGE`: a server without UIDPLUS. Only messages
    /// this client marked are `\Deleted` in a folder given to printgate, so nothing else goes.
    CopyDeleteExpunge,
}

/// The way to move, from the server's capabilities.
pub fn move_by(has: impl Fn(&str) -> bool) -> MoveBy {
    if has("MOVE") {
        MoveBy::Move
    } else if has("UIDPLUS") {
        MoveBy::CopyExpunge
    } else {
        MoveBy::CopyDeleteExpunge
    }
}

/// The spool id of a message read from a mailbox: derived from where it sits (the mailbox's
/// label, UIDVALIDITY and UID) and its Message-ID, so reading it again after a crash writes the
/// same spool entry and the pipeline, which stores a spool id once, makes no second job. 32 hex
/// digits, the form of the SMTP door's ids (a UUID without dashes).
pub fn spool_id(mailbox: &str, uidvalidity: u32, uid: u32, message_id: &str) -> String {
    let digest = crate::crypto::sha256(format!("printgate mailbox v1\0{mailbox}\0{uidvalidity}\0{uid}\0{message_id}").as_bytes());
    hex::encode(&digest[..16])
}

/// Why a message of `size` bytes is refused unread, when it is larger than the limit SMTP
/// announces (`smtp.max_message_bytes`): nothing larger is fetched, scanned or spooled. It goes
/// to the refused folder without a reply, since its sender was never authenticated.
pub fn too_large(size: u64, limit: usize) -> Option<String> {
    (size > limit as u64).then(|| format!("Message too large ({size} bytes; the limit is {limit} bytes)"))
}

/// What the sender's authentication allows, for [`refusal_recipient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderTrust<'a> {
    /// `authenticated`, `unauthenticated` or `failing`.
    pub grade: &'a str,
    pub spf_fail_without_dkim: bool,
    /// Auto-submitted or list mail.
    pub automatic: bool,
}

/// Who is told of a refusal by reply (the mailbox has no SMTP answer to give): the patron's
/// address under the queue's `reply_policy`, as for accepted mail, so a forged sender gets no
/// backscatter; never automatic mail.
pub fn refusal_recipient<'a>(policy: ReplyPolicy, trust: SenderTrust<'_>, patron: Option<&'a str>) -> Option<&'a str> {
    let trusted = match policy {
        ReplyPolicy::Never => false,
        ReplyPolicy::Authenticated => trust.grade == "authenticated",
        ReplyPolicy::NotFailing => trust.grade != "failing" && !trust.spf_fail_without_dkim,
    };
    patron.filter(|p| trusted && !trust.automatic && !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_exponentially_up_to_ten_minutes() {
        let secs = |n| backoff(n).as_secs();
        // (consecutive failures, seconds to wait)
        for (failures, wait) in
            [(0, 5), (1, 5), (2, 10), (3, 20), (4, 40), (5, 80), (7, 320), (8, 600), (9, 600), (40, 600), (u32::MAX, 600)]
        {
            assert_eq!(secs(failures), wait, "{failures}");
        }
    }

    #[test]
    fn each_fate_has_its_folder_and_word() {
        // (fate, folder, word read back)
        for (fate, folder, back) in [
            (Fate::Accepted, Some("Processed"), Some(Fate::Accepted)),
            (Fate::Refused, Some("Refused"), Some(Fate::Refused)),
            (Fate::Later, None, None),
        ] {
            assert_eq!(fate.folder("Processed", "Refused"), folder, "{fate:?}");
            assert_eq!(Fate::from_word(fate.word()), back, "{fate:?}");
        }
        assert_eq!(Fate::from_word("moved"), None);
    }

    #[test]
    fn messages_move_the_best_way_the_server_offers() {
        // (capabilities, way)
        for (caps, way) in [
            (&["IMAP4rev1", "MOVE", "UIDPLUS"][..], MoveBy::Move),
            (&["IMAP4rev1", "MOVE"][..], MoveBy::Move),
            (&["IMAP4rev1", "UIDPLUS"][..], MoveBy::CopyExpunge),
            (&["IMAP4rev1"][..], MoveBy::CopyDeleteExpunge),
        ] {
            assert_eq!(move_by(|c| caps.contains(&c)), way, "{caps:?}");
        }
    }

    #[test]
    fn a_message_read_again_has_the_same_spool_id() {
        let id = spool_id("print@mail:993/INBOX", 7, 42, "<a@b>");
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(id, spool_id("print@mail:993/INBOX", 7, 42, "<a@b>"));
        // Another UID, UIDVALIDITY, mailbox or message is another entry.
        for other in [
            spool_id("print@mail:993/INBOX", 7, 43, "<a@b>"),
            spool_id("print@mail:993/INBOX", 8, 42, "<a@b>"),
            spool_id("other@mail:993/INBOX", 7, 42, "<a@b>"),
            spool_id("print@mail:993/INBOX", 7, 42, "<c@d>"),
        ] {
            assert_ne!(id, other);
        }
    }

    #[test]
    fn messages_over_the_smtp_size_limit_are_refused_unread() {
        // (size, limit, refused)
        for (size, limit, refused) in [(0, 100, false), (100, 100, false), (101, 100, true), (u64::MAX, 26_214_400, true)] {
            assert_eq!(too_large(size, limit).is_some(), refused, "{size} {limit}");
        }
        assert_eq!(too_large(101, 100).unwrap(), "Message too large (101 bytes; the limit is 100 bytes)");
    }

    #[test]
    fn refusals_are_told_only_to_senders_the_queue_trusts() {
        use ReplyPolicy::*;
        let trust = |grade, spf_fail_without_dkim, automatic| SenderTrust { grade, spf_fail_without_dkim, automatic };
        let patron = Some("ann@example.org");
        // (policy, trust, patron, told)
        for (policy, t, who, told) in [
            (NotFailing, trust("unauthenticated", false, false), patron, true),
            (NotFailing, trust("authenticated", false, false), patron, true),
            (NotFailing, trust("failing", false, false), patron, false),
            (NotFailing, trust("unauthenticated", true, false), patron, false),
            (NotFailing, trust("unauthenticated", false, true), patron, false),
            (Authenticated, trust("unauthenticated", false, false), patron, false),
            (Authenticated, trust("authenticated", false, false), patron, true),
            (Never, trust("authenticated", false, false), patron, false),
            (NotFailing, trust("authenticated", false, false), None, false),
            (NotFailing, trust("authenticated", false, false), Some(""), false),
        ] {
            assert_eq!(refusal_recipient(policy, t, who).is_some(), told, "{policy:?} {t:?} {who:?}");
        }
    }
}
