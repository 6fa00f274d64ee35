//! Schema migrations, embedded in the binary. One SQL text works on both back ends (the types
//! used are those SQLite and PostgreSQL share); each version is applied once, in order, inside
//! a transaction, and recorded in `schema_version`.

use sqlx::AnyPool;
use sqlx::Row;

/// `(version, SQL)`; never edit a released entry, append a new one.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_traces.sql")),
    (3, include_str!("../../migrations/0003_job_options.sql")),
    (4, include_str!("../../migrations/0004_blob_key_index.sql")),
    (5, include_str!("../../migrations/0005_message_extension.sql")),
    (6, include_str!("../../migrations/0006_release_stations.sql")),
    (7, include_str!("../../migrations/0007_reply_reminders.sql")),
    (8, include_str!("../../migrations/0008_admin.sql")),
    (9, include_str!("../../migrations/0009_failure_throttle.sql")),
    (10, include_str!("../../migrations/0010_throttle_attempts.sql")),
    (11, include_str!("../../migrations/0011_token_scopes.sql")),
    (12, include_str!("../../migrations/0012_outbox_refused.sql")),
    (13, include_str!("../../migrations/0013_spent_codes.sql")),
    (14, include_str!("../../migrations/0014_console_roles.sql")),
    (15, include_str!("../../migrations/0015_sender_policy.sql")),
    (16, include_str!("../../migrations/0016_mailbox_uids.sql")),
];

/// Applies pending migrations.
///
/// # Errors
/// Database errors; a failed migration is rolled back whole.
pub async fn migrate(pool: &AnyPool, is_sqlite: bool) -> Result<(), sqlx::Error> {
    sqlx::raw_sql("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .execute(pool)
        .await?;
    let mut tx = pool.begin().await?;
    if !is_sqlite {
        // Nodes starting together must not migrate concurrently.
        sqlx::raw_sql("LOCK TABLE schema_version IN EXCLUSIVE MODE").execute(&mut *tx).await?;
    }
    // Every version not applied yet, not only those above the highest: a version added out of
    // order (a branch merged after a later one) still runs.
    let rows = sqlx::query("SELECT version FROM schema_version").fetch_all(&mut *tx).await?;
    let applied = rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<std::collections::HashSet<i64>, _>>()?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| !applied.contains(v)) {
        sqlx::raw_sql(*sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(super::now())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}
