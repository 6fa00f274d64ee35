-- Failed attempts (wrong release codes, failed admin logins) and the lock-outs they cause,
-- shared by every node of a cluster: an attacker spreading guesses over several nodes meets
-- one limit, not one per node. Keys name the scope and what is counted
-- ("release:station:<token id>", "release:address:<ip>", "admin:address:<ip>"); never a code.
CREATE TABLE throttle_failures (
    key  TEXT NOT NULL,
    at   BIGINT NOT NULL
);
CREATE INDEX throttle_failures_key_at ON throttle_failures (key, at);
CREATE INDEX throttle_failures_at ON throttle_failures (at);

CREATE TABLE throttle_lockouts (
    key           TEXT PRIMARY KEY,
    locked_until  BIGINT NOT NULL
);
