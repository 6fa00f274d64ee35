//! Reply commands: the patron answers the reply with CANCEL, EXTEND or RESEND.
//!
//! Owns the reply address token and the store side of each command. The reply's `Reply-To`
//! is the queue address with a `+c…` option: `c`, the message id (32 hex digits) and a MAC
//! (HMAC-SHA256 under a key derived from the store secret, over the message id and the
//! patron's address, 16 hex digits). Only a mail to that address *from that patron's
//! address* can act on the message; a guessed or forwarded token from anyone else does nothing.

use sqlx::Row;

use super::{NewReply, ReleaseCode, Store, StoreError, is_unique_violation};
use crate::crypto;

/// What RESEND did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resent {
    /// The message has this new code (the old one no longer releases) and its reply is queued.
    New(ReleaseCode),
    /// The message has no live jobs (printed, cancelled, expired): nothing changed.
    NotLive,
    /// The reply for this command was queued before (a replay): nothing changed.
    AlreadyDone,
    /// The new reply could not be rendered: nothing changed.
    NotRendered,
}

/// What a RESEND reply shows of a message: its expiry and its live jobs
/// (file name, pages, colour), in order.
#[derive(Debug, Clone)]
pub struct ResendView {
    pub expires_at: i64,
    pub jobs: Vec<(String, i64, bool)>,
}

/// What a patron can ask for by replying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Destroy the jobs now.
    Cancel,
    /// Keep the jobs longer, once.
    Extend,
    /// Send the release code again (a fresh one: the old code is not stored in clear).
    Resend,
    /// The owner of the address confirms a held first mail (`verify_new_senders`): `YES`, or
    /// `JA` for German-speaking patrons.
    Yes,
}

impl Command {
    /// The first word of the first line of the reply that is not quoted and not empty.
    pub fn parse(body: &str) -> Option<Self> {
        let line = body.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('>'))?;
        let word: String = line.split(|c: char| !c.is_ascii_alphabetic()).find(|w| !w.is_empty())?.to_ascii_uppercase();
        match word.as_str() {
            "CANCEL" => Some(Self::Cancel),
            "EXTEND" => Some(Self::Extend),
            "RESEND" => Some(Self::Resend),
            "YES" | "JA" => Some(Self::Yes),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cancel => "CANCEL",
            Self::Extend => "EXTEND",
            Self::Resend => "RESEND",
            Self::Yes => "YES",
        }
    }
}

/// Whether a plus-address option is a reply-command token (by shape only).
pub fn is_token(option: &str) -> bool {
    option.len() == 49 && option.starts_with('c') && option[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl Store {
    fn command_mac(&self, message_id: &str, patron: &str) -> String {
        let input = format!("{message_id}\0{}", patron.trim().to_ascii_lowercase());
        hex::encode(&crypto::hmac_sha256(self.command_key.expose(), input.as_bytes())[..8])
    }

    /// The plus-address option for replies about `message_id` (a spool id: 32 hex digits)
    /// from `patron`.
    pub fn command_token(&self, message_id: &str, patron: &str) -> String {
        let id = message_id.to_ascii_lowercase();
        format!("c{id}{}", self.command_mac(&id, patron))
    }

    /// The message a token names, if the token was made for `patron`.
    pub fn verify_command_token(&self, token: &str, patron: &str) -> Option<String> {
        if !is_token(token) {
            return None;
        }
        // Spool ids (and so message ids) are UUIDs in their simple form: 32 lower-case hex.
        let (id, mac) = (token[1..33].to_ascii_lowercase(), &token[33..]);
        crypto::constant_time_eq(self.command_mac(&id, patron).as_bytes(), mac.as_bytes()).then_some(id)
    }

    /// CANCEL: destroys every job of the message (blobs, then rows) and the message itself.
    /// Returns how many jobs were destroyed.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn cancel_message(&self, message_id: &str) -> Result<usize, StoreError> {
        let rows = sqlx::query("DELETE FROM jobs WHERE message_id = $1 RETURNING blob_key").bind(message_id).fetch_all(&self.pool).await?;
        for row in &rows {
            let key: String = row.try_get(0)?;
            if let Err(e) = self.blobs.delete(&key).await {
                tracing::warn!(error = %e, "cannot delete a cancelled job's blob; the orphan collector will retry");
            }
        }
        sqlx::query("DELETE FROM messages WHERE id = $1").bind(message_id).execute(&self.pool).await?;
        Ok(rows.len())
    }

    /// EXTEND: moves the expiry of a live message and its jobs by `seconds`, once per message.
    /// Returns the new expiry, or `None` when the message is gone or was extended before.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn extend_message(&self, message_id: &str, seconds: i64) -> Result<Option<i64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE messages SET expires_at = expires_at + $1, extended = 1 WHERE id = $2 AND extended = 0 AND expires_at > $3 \
             RETURNING expires_at",
        )
        .bind(seconds)
        .bind(message_id)
        .bind(self.now())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires: i64 = row.try_get(0)?;
        sqlx::query("UPDATE jobs SET expires_at = $1 WHERE message_id = $2").bind(expires).bind(message_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(expires))
    }
}

impl Store {
    /// RESEND: gives a message with live jobs a fresh release code (codes are stored only as
    /// an HMAC, so the old one cannot be sent again) and queues `reply` rendered with it, in
    /// one transaction: either the patron gets the new code, or the old one keeps working.
    ///
    /// `reply.body` is ignored; `render` makes the body from the new code and the message.
    ///
    /// # Errors
    /// [`StoreError`]; [`StoreError::CodeSpaceExhausted`] when no free code was found.
    pub async fn resend_code(
        &self,
        message_id: &str,
        reply: &NewReply<'_>,
        render: impl Fn(&ReleaseCode, &ResendView) -> Option<Vec<u8>>,
    ) -> Result<Resent, StoreError> {
        let now = self.now();
        for _ in 0..20 {
            let code = ReleaseCode::generate(self.code_digits).map_err(|e| StoreError::Secret(e.to_string()))?;
            let hash = self.code_hash(&code);
            // The write comes first, so SQLite takes the write lock at once (a read first could
            // not be upgraded while another node writes).
            let mut tx = self.pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE messages SET code_hash = $1 WHERE id = $2 AND expires_at > $3 \
                 AND EXISTS (SELECT 1 FROM jobs WHERE message_id = $2 AND expires_at > $3) RETURNING expires_at",
            )
            .bind(&hash)
            .bind(message_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await;
            let expires_at: i64 = match updated {
                Ok(Some(row)) => row.try_get(0)?,
                Ok(None) => return Ok(Resent::NotLive),
                Err(e) if is_unique_violation(&e) => {
                    tx.rollback().await?;
                    continue; // collides with another live code: draw again
                }
                Err(e) => return Err(e.into()),
            };
            sqlx::query("UPDATE traces SET code_hash = $1 WHERE id = $2").bind(&hash).bind(message_id).execute(&mut *tx).await?;
            // The new code means this message now, not an earlier one that drew it and is gone.
            Self::unspend(&mut *tx, &hash).await?;
            let rows = sqlx::query("SELECT filename, pages, color FROM jobs WHERE message_id = $1 AND expires_at > $2 ORDER BY seq")
                .bind(message_id)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
            let jobs = rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get::<i64, _>(2)? != 0)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            let Some(body) = render(&code, &ResendView { expires_at, jobs }) else { return Ok(Resent::NotRendered) };
            if !self.insert_reply(&mut *tx, &NewReply { body: &body, ..reply.clone() }, now).await? {
                tx.rollback().await?;
                return Ok(Resent::AlreadyDone);
            }
            tx.commit().await?;
            return Ok(Resent::New(code));
        }
        Err(StoreError::CodeSpaceExhausted)
    }
}

#[cfg(test)]
mod tests {
    use super::{Command, is_token};

    #[test]
    fn the_first_unquoted_word_is_the_command() {
        assert_eq!(Command::parse("cancel\n\n> Your documents are ready"), Some(Command::Cancel));
        assert_eq!(Command::parse("\n  Extend, please!\n"), Some(Command::Extend));
        assert_eq!(Command::parse("> RESEND\nthanks"), None, "quoted lines are not commands");
        assert_eq!(Command::parse("RESEND"), Some(Command::Resend));
        assert_eq!(Command::parse("Please cancel"), None, "only the first word counts");
        assert_eq!(Command::parse(""), None);
        assert_eq!(Command::parse("yes\n\n> Please confirm"), Some(Command::Yes));
        assert_eq!(Command::parse("Ja, das war ich."), Some(Command::Yes));
        assert_eq!(Command::parse("yesterday"), None);
    }

    #[test]
    fn tokens_have_one_shape() {
        assert!(is_token(&format!("c{}", "a".repeat(48))));
        assert!(!is_token("duplex"));
        assert!(!is_token(&format!("c{}", "g".repeat(48))));
        assert!(!is_token(&format!("c{}", "a".repeat(47))));
    }
}
