//! Reading the audit trail page by page for the admin console's audit page (newest first).
//! Events are written and purged in `stations.rs` ([`Store::audit`], [`Store::purge_audit_events`]);
//! this module only reads them.

use sqlx::Row;

use super::{AuditEvent, Store, StoreError};

impl Store {
    /// At most `limit` audit events, newest first, after skipping the `offset` newest.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn audit_page(&self, offset: i64, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query("SELECT at, kind, station, peer, detail FROM audit_events ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2")
            .bind(limit.max(1))
            .bind(offset.max(0))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEvent {
                    at: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    station: r.try_get(2)?,
                    peer: r.try_get(3)?,
                    detail: r.try_get(4)?,
                })
            })
            .collect()
    }
}
