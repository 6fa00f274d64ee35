-- Brute-force limits counted and checked in one atomic step (issue [1/8], item 3). Before this,
-- a request looked at the lock-out table, then checked the code or password, then counted the
-- failure: N requests sent at once all passed the look before any was counted (30 wrong codes
-- at once got 23 checked against a limit of 10). Now a request first takes one of the key's
-- `max` slots of the window in one conditional upsert (or is refused), and only then is the
-- code or password looked at; a right one gives its slot back, a wrong one keeps it as a
-- failure. With N parallel attempts at most `max` are ever checked, on every node.
--
-- attempts: slots taken in this window (failures + attempts still being checked);
-- failures:  wrong codes/passwords in this window; at `max` the key is locked out;
-- resets_at: end of the window, or of the lock-out once failures reached the limit.
CREATE TABLE throttle_attempts (
    key        TEXT PRIMARY KEY,
    attempts   BIGINT NOT NULL,
    failures   BIGINT NOT NULL,
    resets_at  BIGINT NOT NULL
);
CREATE INDEX throttle_attempts_resets_at ON throttle_attempts (resets_at);

-- Lock-outs in force carry over (a counter that is full until the lock-out ends); counted
-- failures below a limit do not (they were at most one window's worth). Console account
-- lock-outs (admin_users.locked_until) do not carry over: their new key holds a hash of the name,
-- made in code. An account locked at the moment of the upgrade is free again; the limit of
-- its address still holds. admin_users.failed_logins and locked_until are no longer used.
INSERT INTO throttle_attempts (key, attempts, failures, resets_at)
    SELECT key, 1000000000, 1000000000, locked_until FROM throttle_lockouts;
DROP TABLE throttle_failures;
DROP TABLE throttle_lockouts;
