//! Release-station tokens: 256-bit random, shown once, stored as SHA-256, revocable.

use sqlx::Row;

use super::{Store, StoreError, now};
use crate::crypto;

impl Store {
    /// Creates a station token for `site`; returns the token (shown once, stored hashed).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn create_station_token(&self, site: &str) -> Result<String, StoreError> {
        let secret = crypto::random::<32>().map_err(|e| StoreError::Secret(e.to_string()))?;
        let token = format!("pgst_{}", hex::encode(secret));
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        sqlx::query("INSERT INTO station_tokens (id, site, token_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(site)
            .bind(crypto::sha256_hex(token.as_bytes()))
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(token)
    }

    /// `(token id, site)` of a (non-revoked) station token.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown or revoked token.
    pub async fn station_site(&self, token: &str) -> Result<(String, String), StoreError> {
        let row = sqlx::query("SELECT id, site FROM station_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(crypto::sha256_hex(token.as_bytes()))
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// `(id, site, created_at, revoked)` of every token.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn list_station_tokens(&self) -> Result<Vec<(String, String, i64, bool)>, StoreError> {
        let rows =
            sqlx::query("SELECT id, site, created_at, revoked_at FROM station_tokens ORDER BY created_at").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get::<Option<i64>, _>(3)?.is_some()))).collect()
    }

    /// Revokes a token by its id; returns whether one was revoked.
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn revoke_station_token(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE station_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
