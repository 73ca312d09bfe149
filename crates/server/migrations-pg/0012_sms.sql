-- SMS through the one outbox (the same change as the SQLite schema's
-- migrations/0013_sms.sql; see there).
ALTER TABLE mail_outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms'));
ALTER TABLE mail_outbox ADD COLUMN provider_id TEXT;
DROP INDEX mail_outbox_due;
CREATE INDEX mail_outbox_due ON mail_outbox (channel, state, next_attempt_at);
