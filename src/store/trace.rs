//! Message traces: one record per message that reached DATA, updated as it moves on.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Store, StoreError, now};

/// What became (or will become) of one document of a message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TraceDocument {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub bytes: usize,
    /// `printable` (screening), `stored` (pipeline), `skipped: <why>`, or `refused: <reason>`.
    pub outcome: String,
    #[serde(default)]
    pub pages: u32,
}

/// The trace record of one message (no body content).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Trace {
    pub id: String,
    pub received_at: i64,
    pub queue: String,
    pub client_ip: String,
    pub helo: String,
    pub mail_from: String,
    pub header_from: String,
    pub message_id: String,
    pub size: i64,
    pub tls: bool,
    pub outcome: String,
    pub reply: String,
    pub spam_score: Option<f64>,
    pub spam_rules: String,
    pub virus: String,
    pub auth: String,
    pub grade: String,
    pub documents: Vec<TraceDocument>,
}

/// What the pipeline writes to a message's trace in the transaction that stores the message
/// ([`Store::record_with_trace`]): one commit instead of three.
#[derive(Debug, Default, Clone, Copy)]
pub struct TraceWrite<'a> {
    /// The screening trace, when the SMTP side left it to the pipeline in the spool entry.
    pub screening: Option<&'a Trace>,
    /// Each document's final outcome.
    pub documents: Option<&'a [TraceDocument]>,
}

impl TraceWrite<'_> {
    /// Writes both parts with `tx` (the screening trace first, so the update finds it).
    pub(super) async fn write(&self, tx: &mut sqlx::Transaction<'static, sqlx::Any>, id: &str) -> Result<(), StoreError> {
        if let Some(trace) = self.screening {
            insert_trace(&mut **tx, trace).await?;
        }
        if let Some(documents) = self.documents {
            update_documents(&mut **tx, id, documents).await?;
        }
        Ok(())
    }
}

/// Inserts a trace unless one with its id exists.
async fn insert_trace<'e, E>(db: E, t: &Trace) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let documents = serde_json::to_string(&t.documents).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO traces (id, received_at, queue, client_ip, helo, mail_from, header_from, message_id, size, tls, \
         outcome, reply, spam_score, spam_rules, virus, auth, grade, documents, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $2) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&t.id)
    .bind(t.received_at)
    .bind(&t.queue)
    .bind(&t.client_ip)
    .bind(&t.helo)
    .bind(&t.mail_from)
    .bind(&t.header_from)
    .bind(&t.message_id)
    .bind(t.size)
    .bind(i64::from(t.tls))
    .bind(&t.outcome)
    .bind(&t.reply)
    .bind(t.spam_score)
    .bind(&t.spam_rules)
    .bind(&t.virus)
    .bind(&t.auth)
    .bind(&t.grade)
    .bind(documents)
    .execute(db)
    .await?;
    Ok(())
}

/// Sets the documents' final outcomes and the code hash of the stored message.
async fn update_documents<'e, E>(db: E, id: &str, documents: &[TraceDocument]) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let json = serde_json::to_string(documents).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "UPDATE traces SET documents = $1, code_hash = (SELECT code_hash FROM messages WHERE id = $2), updated_at = $3 WHERE id = $2",
    )
    .bind(json)
    .bind(id)
    .bind(now())
    .execute(db)
    .await?;
    Ok(())
}

impl Store {
    /// Records a message's screening. Idempotent: a trace already recorded under this id (a
    /// retry after a time-out that did commit, a replay of a spooled one) is kept as it is.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn record_trace(&self, t: &Trace) -> Result<(), StoreError> {
        insert_trace(&self.pool, t).await
    }

    /// Corrects a trace's outcome (the spool write failed after the trace was recorded).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn trace_outcome(&self, id: &str, outcome: &str, reply: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE traces SET outcome = $1, reply = $2, updated_at = $3 WHERE id = $4")
            .bind(outcome)
            .bind(reply)
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes traces received before `before` (unix seconds). Returns how many.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn purge_traces(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM traces WHERE received_at < $1").bind(before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    /// One trace by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Db`].
    pub async fn trace(&self, id: &str) -> Result<Trace, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TRACE_COLUMNS} FROM traces WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        trace_row(&row)
    }

    /// Ids of the most recent traces, newest first (for tests and the admin console).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn recent_traces(&self, limit: i64) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT id FROM traces ORDER BY received_at DESC, id DESC LIMIT $1").bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }
}

/// Maps the 18 columns selected by [`TRACE_COLUMNS`] to a trace.
pub(super) fn trace_row(row: &sqlx::any::AnyRow) -> Result<Trace, StoreError> {
    let documents: String = row.try_get(17)?;
    Ok(Trace {
        id: row.try_get(0)?,
        received_at: row.try_get(1)?,
        queue: row.try_get(2)?,
        client_ip: row.try_get(3)?,
        helo: row.try_get(4)?,
        mail_from: row.try_get(5)?,
        header_from: row.try_get(6)?,
        message_id: row.try_get(7)?,
        size: row.try_get(8)?,
        tls: row.try_get::<i64, _>(9)? != 0,
        outcome: row.try_get(10)?,
        reply: row.try_get(11)?,
        spam_score: row.try_get(12)?,
        spam_rules: row.try_get(13)?,
        virus: row.try_get(14)?,
        auth: row.try_get(15)?,
        grade: row.try_get(16)?,
        documents: serde_json::from_str(&documents).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

/// The columns [`trace_row`] reads, in order.
pub(super) const TRACE_COLUMNS: &str = "id, received_at, queue, client_ip, helo, mail_from, header_from, message_id, size, tls, outcome, reply, \
     spam_score, spam_rules, virus, auth, grade, documents";
