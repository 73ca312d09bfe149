-- The mail outbox (the same table as the SQLite schema's
-- migrations/0005_mail_outbox.sql; see there). Claimed by workers on any
-- server process with FOR UPDATE SKIP LOCKED. Times compare as text in
-- byte order (COLLATE "C"), as in SQLite.
CREATE TABLE mail_outbox (
    id              TEXT PRIMARY KEY,
    created_at      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    dedupe_key      TEXT UNIQUE,
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT,
    attachments     TEXT NOT NULL DEFAULT '[]',
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT COLLATE "C" NOT NULL,
    lease_owner     TEXT,
    lease_until     TEXT COLLATE "C",
    last_error      TEXT,
    sent_at         TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
