//! What `printgate backup` and `restore` need of the store: a consistent copy of a SQLite
//! database while the server runs (`VACUUM INTO`: one read transaction, so the copy is the
//! database at one moment), and whether a store holds anything yet.

use std::path::Path;

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// Writes a consistent copy of the SQLite database to `to` (which must not exist).
    ///
    /// # Errors
    /// [`StoreError::Db`]; on PostgreSQL, [`StoreError::Corrupt`] (use `pg_dump`).
    pub async fn snapshot_sqlite(&self, to: &Path) -> Result<(), StoreError> {
        if !self.is_sqlite {
            return Err(StoreError::Corrupt("a SQLite snapshot of a PostgreSQL store".into()));
        }
        sqlx::query("VACUUM INTO $1").bind(to.to_string_lossy().into_owned()).execute(&self.pool).await?;
        Ok(())
    }

    /// Whether the store holds no message, job, trace or reply yet.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM messages) + (SELECT COUNT(*) FROM jobs) + (SELECT COUNT(*) FROM traces) + (SELECT COUNT(*) FROM outbox)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>(0)? == 0)
    }

    /// Whether this store is a SQLite database.
    pub fn is_sqlite(&self) -> bool {
        self.is_sqlite
    }
}
