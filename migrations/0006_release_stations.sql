-- Release stations report failed prints (the job stays for another attempt); the count and
-- the last reason are kept for the admin console and the trace.
ALTER TABLE jobs ADD COLUMN print_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN last_failure TEXT;

-- Security-relevant events that belong to no message: release-code lock-outs of a station or
-- an address. Never holds a code (not even a wrong one) or a token, only the token's id.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    station     TEXT,
    peer        TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
