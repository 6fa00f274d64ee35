-- printgate schema v1. Portable between SQLite and PostgreSQL: TEXT, BIGINT, BYTEA/BLOB via
-- the shared subset only. Times are Unix seconds.

-- One accepted mail. The release code is stored only as HMAC-SHA256 under the store secret.
CREATE TABLE messages (
    id          TEXT PRIMARY KEY,          -- spool id (UUIDv7); storing twice is a no-op
    queue       TEXT NOT NULL,
    site        TEXT NOT NULL,
    code_hash   TEXT NOT NULL UNIQUE,      -- unique among live codes
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX messages_expires ON messages (expires_at);

-- One sealed print job; its bytes live in the blob store under blob_key.
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL REFERENCES messages (id),
    seq         BIGINT NOT NULL,
    site        TEXT NOT NULL,
    filename    TEXT NOT NULL,
    pages       BIGINT NOT NULL,
    color       BIGINT NOT NULL,
    copies      BIGINT NOT NULL,
    bytes       BIGINT NOT NULL,           -- sealed size
    sha256      TEXT NOT NULL,             -- of the sealed bytes
    blob_key    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    UNIQUE (message_id, seq)
);
CREATE INDEX jobs_site ON jobs (site, expires_at);
CREATE INDEX jobs_expires ON jobs (expires_at);

-- Replies to patrons, encrypted under a key derived from the store secret (they carry codes).
CREATE TABLE outbox (
    id               TEXT PRIMARY KEY,
    message_id       TEXT NOT NULL,
    mail_from        TEXT NOT NULL,
    rcpt             TEXT NOT NULL,
    body             BYTEA NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);

-- Release-station tokens, stored as SHA-256 (they are 256-bit random, so no slow hash needed).
CREATE TABLE station_tokens (
    id          TEXT PRIMARY KEY,
    site        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
