-- Codes that were right once, so a release station can tell a patron why a code no longer
-- releases anything: 'expired' (the message's retention ended; also when some of its jobs had
-- been printed) or 'printed' (every job was acknowledged as printed). A row is written in the
-- transaction that deletes the message, and replaced (upsert) when a later message that drew
-- the same code is deleted in its turn. Only the code's HMAC (as messages.code_hash), never a
-- code. The janitor drops rows after 30 days (SPENT_CODE_KEEP_SECS, src/store/spent.rs); a
-- spent code is then unknown like any other.
CREATE TABLE spent_codes (
    code_hash  TEXT PRIMARY KEY,
    site       TEXT NOT NULL,
    reason     TEXT NOT NULL CHECK (reason IN ('expired', 'printed')),
    spent_at   BIGINT NOT NULL
);
CREATE INDEX spent_codes_spent_at ON spent_codes (spent_at);

-- Pages of a job that print in colour: 0 for a job printed in black and white (a mono queue,
-- or the patron asked for it). Jobs stored before this knew only whether some page had colour;
-- every page of such a job counts (an upper bound, never less than what prints in colour).
ALTER TABLE jobs ADD COLUMN color_pages BIGINT NOT NULL DEFAULT 0;
UPDATE jobs SET color_pages = pages WHERE color <> 0;
