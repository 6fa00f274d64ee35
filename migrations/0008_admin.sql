-- The admin console: accounts (argon2id hashes), sessions (stored as SHA-256 of the cookie,
-- with their CSRF token), and per-queue settings changed in the console, which every node
-- applies on top of its config file.
CREATE TABLE admin_users (
    name           TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    failed_logins  BIGINT NOT NULL DEFAULT 0,
    locked_until   BIGINT
);

CREATE TABLE admin_sessions (
    id_hash     TEXT PRIMARY KEY,
    user_name   TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

CREATE TABLE queue_settings (
    queue              TEXT PRIMARY KEY,
    address            TEXT,
    site               TEXT,
    spam_tag_score     DOUBLE PRECISION,
    spam_reject_score  DOUBLE PRECISION,
    max_pages          BIGINT,
    retention_secs     BIGINT,
    color              BIGINT,
    allowed_types      TEXT,
    updated_at         BIGINT NOT NULL,
    updated_by         TEXT NOT NULL
);
