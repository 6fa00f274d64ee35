-- Message traces: what happened to every message, for the admin console. No body content:
-- envelope, a few headers, scanner scores and rules, auth results, each document's outcome.
CREATE TABLE traces (
    id           TEXT PRIMARY KEY,          -- the spool id drawn at DATA (also for refusals)
    received_at  BIGINT NOT NULL,
    queue        TEXT NOT NULL,
    client_ip    TEXT NOT NULL,
    helo         TEXT NOT NULL,
    mail_from    TEXT NOT NULL,             -- '' for the null sender
    header_from  TEXT NOT NULL,
    message_id   TEXT NOT NULL,             -- the Message-ID header
    size         BIGINT NOT NULL,
    tls          BIGINT NOT NULL,
    outcome      TEXT NOT NULL,             -- accepted | refused | tempfail
    reply        TEXT NOT NULL,             -- the SMTP reply sent
    spam_score   DOUBLE PRECISION,
    spam_rules   TEXT NOT NULL,
    virus        TEXT NOT NULL,
    auth         TEXT NOT NULL,
    grade        TEXT NOT NULL,
    documents    TEXT NOT NULL,             -- JSON array of {name, type, bytes, outcome, pages}
    code_hash    TEXT,                      -- set once jobs are stored
    updated_at   BIGINT NOT NULL
);
CREATE INDEX traces_received ON traces (received_at);
CREATE INDEX traces_header_from ON traces (header_from);
CREATE INDEX traces_mail_from ON traces (mail_from);
