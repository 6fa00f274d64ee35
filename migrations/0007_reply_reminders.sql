-- Expiry reminders (a queue's reminder_before). reply_rcpt: the address the message's reply
-- went to (only set when a reply was queued and there are jobs), so the janitor can remind
-- that patron; reminded_at: when a node claimed the reminder (NULL: not yet), so it is sent once.
ALTER TABLE messages ADD COLUMN reply_rcpt TEXT;
ALTER TABLE messages ADD COLUMN reminded_at BIGINT;
