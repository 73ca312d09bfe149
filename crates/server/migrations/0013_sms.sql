-- SMS through the one outbox (crates/server/src/sms/): a message's channel,
-- 'email' (every message before this) or 'sms' (to_address an E.164
-- mobile, subject empty, body_text the text). Each channel's worker claims
-- only its own. provider_id: what the provider called a sent message (an
-- SMS's Twilio "sid"), kept for tracing it there.
ALTER TABLE mail_outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms'));
ALTER TABLE mail_outbox ADD COLUMN provider_id TEXT;
DROP INDEX mail_outbox_due;
CREATE INDEX mail_outbox_due ON mail_outbox (channel, state, next_attempt_at);
