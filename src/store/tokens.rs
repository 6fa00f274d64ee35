//! Release-station tokens: 256-bit random, shown once, stored as SHA-256, revocable, each with
//! a scope (what the station may do) and the time of its last use.

use sqlx::Row;
use sqlx::any::AnyPoolOptions;

use super::{Store, StoreError, now};
use crate::config::StoreConfig;
use crate::crypto;

/// The schema version that added scopes (migrations/0011_token_scopes.sql).
const SCOPES_MIGRATION: i64 = 11;

/// How often a token's `last_used_at` is written: at most once a minute, so an authenticated
/// request costs no write (a station polling every few seconds would otherwise write each time).
const LAST_USED_RESOLUTION_SECS: i64 = 60;

/// What a station token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// Redeem codes, then fetch and acknowledge the jobs a code names.
    Release,
    /// Everything `Release` may, and list every pending job of its site (poll mode).
    Poll,
}

impl TokenScope {
    /// The name stored in the database and shown by `station-token list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Poll => "poll",
        }
    }

    /// The scope named `name` (`release` or `poll`).
    ///
    /// # Errors
    /// A message naming the unknown scope.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "release" => Ok(Self::Release),
            "poll" => Ok(Self::Poll),
            other => Err(format!("unknown token scope {other:?}: expected \"release\" or \"poll\"")),
        }
    }
}

impl std::fmt::Display for TokenScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An active token, as the API authenticates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationToken {
    pub id: String,
    pub site: String,
    pub scope: TokenScope,
}

/// A token as `station-token list` shows it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenListing {
    pub id: String,
    pub site: String,
    pub scope: TokenScope,
    pub created_at: i64,
    /// Unix seconds, to the minute; `None` if never used since scopes exist.
    pub last_used_at: Option<i64>,
    pub revoked: bool,
}

fn scope_of(row: &sqlx::any::AnyRow, index: usize) -> Result<TokenScope, StoreError> {
    TokenScope::parse(&row.try_get::<String, _>(index)?).map_err(StoreError::Corrupt)
}

impl Store {
    /// Creates a station token for `site` with `scope`; returns the token (shown once, stored
    /// hashed).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn create_station_token(&self, site: &str, scope: TokenScope) -> Result<String, StoreError> {
        let secret = crypto::random::<32>().map_err(|e| StoreError::Secret(e.to_string()))?;
        let token = format!("pgst_{}", hex::encode(secret));
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        sqlx::query("INSERT INTO station_tokens (id, site, token_hash, created_at, scope) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(site)
            .bind(crypto::sha256_hex(token.as_bytes()))
            .bind(now())
            .bind(scope.as_str())
            .execute(&self.pool)
            .await?;
        Ok(token)
    }

    /// The (non-revoked) station token `token`, recording its use (at most once a minute).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown or revoked token.
    pub async fn station_token(&self, token: &str) -> Result<StationToken, StoreError> {
        let row = sqlx::query("SELECT id, site, scope, last_used_at FROM station_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(crypto::sha256_hex(token.as_bytes()))
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let found = StationToken { id: row.try_get(0)?, site: row.try_get(1)?, scope: scope_of(&row, 2)? };
        let last_used: Option<i64> = row.try_get(3)?;
        let now = self.now();
        // Read first, write only when stale: most requests then do no write at all. The
        // condition is repeated in SQL so that nodes racing on one token write once.
        // A write that fails (a busy SQLite) costs the note, not the station's request.
        if last_used.is_none_or(|t| t <= now - LAST_USED_RESOLUTION_SECS)
            && let Err(e) =
                sqlx::query("UPDATE station_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)")
                    .bind(now)
                    .bind(&found.id)
                    .bind(now - LAST_USED_RESOLUTION_SECS)
                    .execute(&self.pool)
                    .await
        {
            tracing::warn!(token = %found.id, error = %e, "cannot note a station token's last use");
        }
        Ok(found)
    }

    /// Every token, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Db`]; [`StoreError::Corrupt`] for an unknown scope.
    pub async fn list_station_tokens(&self) -> Result<Vec<TokenListing>, StoreError> {
        let rows = sqlx::query("SELECT id, site, scope, created_at, last_used_at, revoked_at FROM station_tokens ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TokenListing {
                    id: r.try_get(0)?,
                    site: r.try_get(1)?,
                    scope: scope_of(r, 2)?,
                    created_at: r.try_get(3)?,
                    last_used_at: r.try_get(4)?,
                    revoked: r.try_get::<Option<i64>, _>(5)?.is_some(),
                })
            })
            .collect()
    }

    /// How many active tokens have the `poll` scope (they can list every pending job of their
    /// site: `check-config` and `serve` warn about them).
    ///
    /// # Errors
    /// [`StoreError::Db`].
    pub async fn count_poll_tokens(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM station_tokens WHERE scope = $1 AND revoked_at IS NULL")
            .bind(TokenScope::Poll.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
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

/// Active `poll` tokens in the store `config` names, read without migrating or creating
/// anything (for `check-config`). In a database from before token scopes, every active token
/// counts: the upgrade makes it `poll`. `None` when the database does not exist yet.
///
/// # Errors
/// [`StoreError::Db`] when the database cannot be reached or read.
pub async fn inspect_poll_tokens(config: &StoreConfig) -> Result<Option<i64>, StoreError> {
    sqlx::any::install_default_drivers();
    let url = match config.database_url.strip_prefix("sqlite://") {
        Some(path) => {
            let file = path.split('?').next().unwrap_or(path);
            if !std::path::Path::new(file).exists() {
                return Ok(None);
            }
            format!("sqlite://{file}?mode=ro")
        }
        None => config.database_url.clone(),
    };
    let pool = AnyPoolOptions::new().max_connections(1).acquire_timeout(std::time::Duration::from_secs(5)).connect(&url).await?;
    // A database without schema_version was never opened by printgate.
    let Ok(rows) = sqlx::query("SELECT version FROM schema_version").fetch_all(&pool).await else { return Ok(None) };
    let versions = rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<Vec<_>, _>>()?;
    let sql = if versions.contains(&SCOPES_MIGRATION) {
        "SELECT COUNT(*) FROM station_tokens WHERE scope = 'poll' AND revoked_at IS NULL"
    } else if versions.contains(&1) {
        "SELECT COUNT(*) FROM station_tokens WHERE revoked_at IS NULL"
    } else {
        return Ok(None);
    };
    let count = sqlx::query(sql).fetch_one(&pool).await?.try_get(0)?;
    pool.close().await;
    Ok(Some(count))
}

/// The warning `check-config` and `serve` give while poll-scoped tokens exist.
pub fn poll_tokens_warning(count: i64) -> Option<String> {
    (count > 0).then(|| {
        let (n, have) = if count == 1 { ("1 station token".to_owned(), "has") } else { (format!("{count} station tokens"), "have") };
        format!(
            "{n} {have} scope poll: they can list every pending job of their site; recreate them with --scope release unless the station polls"
        )
    })
}
