-- What learners receive (reminders, notices, messages to a circle),
-- crates/server/src/protocol/learner_mail.rs.
--
-- A message to learners carries what its delivery row needs (circle,
-- learner, meeting or message, kind, channel: JSON), so that once it is sent
-- or given up the server writes a synced `deliveries` row the laptops pull
-- (`delivery_logged` = 1 then). NULL for other mail.
ALTER TABLE mail_outbox ADD COLUMN delivery TEXT;
ALTER TABLE mail_outbox ADD COLUMN delivery_logged INTEGER NOT NULL DEFAULT 0;
CREATE INDEX mail_outbox_deliveries ON mail_outbox (delivery_logged, state) WHERE delivery IS NOT NULL;

-- Sends planned once each: a meeting's reminder for one start time
-- ("reminder:{meeting}:{start}"), a notice that a meeting moved or was
-- cancelled ("notice:{meeting}:{start or cancelled}"), a circle message
-- ("message:{id}"). A key here is done: its messages are in the outbox.
CREATE TABLE learner_sends (
    send_key TEXT PRIMARY KEY,
    done_at  TEXT NOT NULL
);
