//! What printgate decided about each message read from an IMAP mailbox, until the server has
//! moved it out of the folder read (`mailbox_uids`, migration 0016). Keyed by the mailbox's
//! label, UIDVALIDITY and UID, so a crash between the decision and the move repeats only the
//! move, on any node sharing the store.

use sqlx::Row;

use super::{Store, StoreError};

/// Where in a mailbox a message sits: UIDs are only unique within one UIDVALIDITY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MailboxUid<'a> {
    pub mailbox: &'a str,
    pub uidvalidity: u32,
    pub uid: u32,
}

/// The decision taken about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxDecision {
    pub message_id: String,
    pub spool_id: String,
    /// `accepted` (spooled) or `refused`.
    pub outcome: String,
    /// Why it was refused (empty when accepted).
    pub reason: String,
}

impl Store {
    /// The decision recorded for `at`, if any.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn mailbox_decision(&self, at: MailboxUid<'_>) -> Result<Option<MailboxDecision>, StoreError> {
        let row = sqlx::query(
            "SELECT message_id, spool_id, outcome, reason FROM mailbox_uids WHERE mailbox = $1 AND uidvalidity = $2 AND uid = $3",
        )
        .bind(at.mailbox)
        .bind(i64::from(at.uidvalidity))
        .bind(i64::from(at.uid))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(MailboxDecision { message_id: r.try_get(0)?, spool_id: r.try_get(1)?, outcome: r.try_get(2)?, reason: r.try_get(3)? })
        })
        .transpose()
    }

    /// Records the decision about `at` (a second record of the same message keeps the first).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn record_mailbox_decision(&self, at: MailboxUid<'_>, decision: &MailboxDecision) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mailbox_uids (mailbox, uidvalidity, uid, message_id, spool_id, outcome, reason, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING",
        )
        .bind(at.mailbox)
        .bind(i64::from(at.uidvalidity))
        .bind(i64::from(at.uid))
        .bind(&decision.message_id)
        .bind(&decision.spool_id)
        .bind(&decision.outcome)
        .bind(&decision.reason)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets `at` once the server has moved the message away.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn forget_mailbox_uid(&self, at: MailboxUid<'_>) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mailbox_uids WHERE mailbox = $1 AND uidvalidity = $2 AND uid = $3")
            .bind(at.mailbox)
            .bind(i64::from(at.uidvalidity))
            .bind(i64::from(at.uid))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
