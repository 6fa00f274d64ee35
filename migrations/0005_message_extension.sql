-- A patron may extend a message's retention once (reply command EXTEND).
ALTER TABLE messages ADD COLUMN extended BIGINT NOT NULL DEFAULT 0;
