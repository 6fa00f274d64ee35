//! Storing an accepted message: its sealed jobs (blobs first, then rows), its reply and its
//! trace in one transaction, under a fresh release code.
//!
//! Owns that transaction and the code draw; must not render the reply (the caller's closure
//! does, before the transaction) nor touch the spool (the pipeline removes the entry after the
//! commit).

use super::trace::TraceWrite;
use super::{NewJob, NewMessage, NewReply, Recorded, ReleaseCode, Store, StoreError, blob_key, is_unique_violation};
use crate::crypto;
use sqlx::Row;

impl Store {
    /// True when the message with this spool id is already stored.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn message_exists(&self, id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM messages WHERE id = $1").bind(id).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// Stores a message's sealed jobs and its reply in one transaction, under a fresh release
    /// code. Blobs are written first (under keys derived from the job ids, so a replay rewrites
    /// the same keys); the SQL rows make them visible.
    ///
    /// # Errors
    /// [`StoreError`] on database or blob failure; nothing is visible then.
    pub async fn record(
        &self,
        message: &NewMessage,
        jobs: Vec<NewJob>,
        reply: Option<(&str, &str)>,
        render_reply: impl Fn(&ReleaseCode) -> Option<Vec<u8>>,
    ) -> Result<Recorded, StoreError> {
        self.record_with_trace(message, jobs, reply, render_reply, TraceWrite::default()).await
    }

    /// [`Store::record`], writing `trace` in the same transaction (nothing of it when the
    /// message was stored before).
    ///
    /// # Errors
    /// As [`Store::record`].
    pub async fn record_with_trace(
        &self,
        message: &NewMessage,
        jobs: Vec<NewJob>,
        reply: Option<(&str, &str)>,
        render_reply: impl Fn(&ReleaseCode) -> Option<Vec<u8>>,
        trace: TraceWrite<'_>,
    ) -> Result<Recorded, StoreError> {
        if self.message_exists(&message.id).await? {
            return Ok(Recorded::AlreadyStored);
        }
        let mut infos = Vec::with_capacity(jobs.len());
        for job in jobs {
            let key = blob_key(&job.id);
            let (bytes, sha256) = (job.sealed.len() as i64, crypto::sha256_hex(&job.sealed));
            self.blobs.put(&key, job.sealed).await?;
            let options = (job.copies, job.duplex, job.page_range, job.color_pages);
            infos.push((job.id, job.seq, job.filename, job.pages, job.color, options, bytes, sha256, key));
        }
        for _ in 0..20 {
            let code = ReleaseCode::generate(self.code_digits).map_err(|e| StoreError::Secret(e.to_string()))?;
            let hash = self.code_hash(&code);
            // Rendered before the transaction: on SQLite the write lock is held from the first
            // INSERT to the commit, and every other writer (the SMTP side's traces) waits.
            let rendered = reply.and_then(|r| Some((r, render_reply(&code)?)));
            // Where an expiry reminder would go (reminders.rs): a reply that names jobs.
            let reminder_rcpt = rendered.as_ref().filter(|_| !infos.is_empty()).map(|((_, rcpt), _)| *rcpt);
            let mut tx = self.pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO messages (id, queue, site, code_hash, created_at, expires_at, held, reply_rcpt) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&message.id)
            .bind(&message.queue)
            .bind(&message.site)
            .bind(&hash)
            .bind(message.created_at)
            .bind(message.expires_at)
            .bind(i64::from(message.held))
            .bind(reminder_rcpt)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    tx.rollback().await?;
                    if self.message_exists(&message.id).await? {
                        return Ok(Recorded::AlreadyStored);
                    }
                    continue; // code collision with a live code: draw again
                }
                Err(e) => return Err(e.into()),
            }
            // The code means this message now, not an earlier one that drew it and is gone.
            Self::unspend(&mut *tx, &hash).await?;
            for (id, seq, filename, pages, color, (copies, duplex, page_range, color_pages), bytes, sha256, key) in &infos {
                sqlx::query(
                    "INSERT INTO jobs (id, message_id, seq, site, filename, pages, color, copies, bytes, sha256, blob_key, created_at, expires_at, duplex, page_range, color_pages) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                )
                .bind(id)
                .bind(&message.id)
                .bind(*seq)
                .bind(&message.site)
                .bind(filename)
                .bind(*pages)
                .bind(i64::from(*color))
                .bind(*copies)
                .bind(*bytes)
                .bind(sha256)
                .bind(key)
                .bind(message.created_at)
                .bind(message.expires_at)
                .bind(i64::from(*duplex))
                .bind(page_range)
                .bind(*color_pages)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(((from, rcpt), rendered)) = rendered {
                let outbox_id = format!("{}-reply", message.id);
                let reply = NewReply { id: &outbox_id, message_id: &message.id, mail_from: from, rcpt, body: &rendered };
                self.insert_reply(&mut *tx, &reply, message.created_at).await?;
            }
            trace.write(&mut tx, &message.id).await?;
            tx.commit().await?;
            return Ok(Recorded::New(code));
        }
        Err(StoreError::CodeSpaceExhausted)
    }
}
