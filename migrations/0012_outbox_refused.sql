-- A reply the relay refused for good (a 5xx, or a relay without the SMTPUTF8 a non-ASCII
-- address needs) is not retried: it keeps its row, with the relay's answer in last_error, for
-- the message trace, and is deleted with the undelivered ones after a week.
ALTER TABLE outbox ADD COLUMN refused_at BIGINT;
