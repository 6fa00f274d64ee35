-- Daily page budgets ([4/8] sender policy). One row per budget and local day: `scope` is
-- 'sender:QUEUE:ADDRESS' (a patron's pages on a queue) or 'queue:QUEUE' (the whole queue), `day`
-- the date in the queue's time zone ('2026-12-05'). Counted on rendered pages × copies when a
-- message is stored; checked and counted in one transaction (src/store/budget.rs), so nodes
-- sharing the store share one budget. Rows of past days are dropped by the janitor.
CREATE TABLE page_usage (
    scope        TEXT NOT NULL,
    day          TEXT NOT NULL,
    pages        BIGINT NOT NULL,
    color_pages  BIGINT NOT NULL,
    PRIMARY KEY (scope, day)
);

-- What the budget decided for each stored message's documents (JSON), written in the same
-- transaction as the counts: a message processed again after a crash gets the same decision
-- and is not counted twice.
CREATE TABLE page_charges (
    message_id  TEXT PRIMARY KEY,
    decision    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX page_charges_created ON page_charges (created_at);

-- Senders who answered a verification (verify_new_senders), per queue; lower-case address.
CREATE TABLE verified_senders (
    queue        TEXT NOT NULL,
    address      TEXT NOT NULL,
    verified_at  BIGINT NOT NULL,
    PRIMARY KEY (queue, address)
);

-- A message held until its sender answers the verification: its jobs are not released (the
-- release API treats its code as unknown), and its code was never sent. 0 = released.
ALTER TABLE messages ADD COLUMN held BIGINT NOT NULL DEFAULT 0;

-- The sender policy's console settings of a queue (src/config/overrides.rs SenderOverride), as
-- JSON; NULL: none.
ALTER TABLE queue_settings ADD COLUMN sender_policy TEXT;
