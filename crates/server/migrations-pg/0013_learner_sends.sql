-- What learners receive: the same as the SQLite schema's
-- migrations/0014_learner_sends.sql (see there).
ALTER TABLE mail_outbox ADD COLUMN delivery TEXT;
ALTER TABLE mail_outbox ADD COLUMN delivery_logged INTEGER NOT NULL DEFAULT 0;
CREATE INDEX mail_outbox_deliveries ON mail_outbox (delivery_logged, state) WHERE delivery IS NOT NULL;

CREATE TABLE learner_sends (
    send_key TEXT PRIMARY KEY,
    done_at  TEXT COLLATE "C" NOT NULL
);
