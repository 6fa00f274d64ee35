-- [[mailbox]] intake ([6/8]): what printgate decided about each message it read from an IMAP
-- mailbox and has not yet moved out of the folder it reads. One row per mailbox (its label,
-- `user@host:port/FOLDER`), UIDVALIDITY and UID. Written once the message is spooled (or refused,
-- with the reply queued) and deleted once the server moved it: a crash between the two finds the
-- row and only moves the message. A crash before the row is written fetches the message again; its
-- spool id is derived from the same mailbox, UIDVALIDITY, UID and Message-ID, so the spool entry
-- and the stored message are found again and no second job or reply is made.
CREATE TABLE mailbox_uids (
    mailbox      TEXT NOT NULL,
    uidvalidity  BIGINT NOT NULL,
    uid          BIGINT NOT NULL,
    message_id   TEXT NOT NULL,
    spool_id     TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    decided_at   BIGINT NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);
