-- The mail outbox: every message the server sends is written here first, in
-- the transaction that decided to send it, and a worker sends it later
-- (crates/server/src/mail/). A message is claimed with a lease (state
-- 'sending', lease_owner, lease_until), marked 'sent' as soon as the SMTP
-- server accepts it, retried with backoff ('pending', next_attempt_at) and
-- given up after too many attempts or a permanent refusal ('failed').
-- Times are RFC 3339 text in UTC with milliseconds, so they compare as text.
-- attachments: a JSON array of {"name", "content_type", "base64"}.
-- dedupe_key: the same key enqueued twice is one message.
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
    next_attempt_at TEXT NOT NULL,
    lease_owner     TEXT,
    lease_until     TEXT,
    last_error      TEXT,
    sent_at         TEXT
);
-- What a worker looks for: pending and due, or sending with a lease run out.
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
