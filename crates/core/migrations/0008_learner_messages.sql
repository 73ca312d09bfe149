-- Schema version 8: what learners receive (issue 15): reminders, messages,
-- their answers, and what the server sent.
--
-- Everything a learner receives is written here, on the laptop, offline;
-- the server sends it once the laptop has synced (docs/privacy.md
-- "Messages to learners").

-- Hours before each meeting the server sends its reminder; 0 = no
-- reminders. Default two days, as P2PU does.
ALTER TABLE circles ADD COLUMN reminder_hours INTEGER NOT NULL DEFAULT 48;
-- The facilitator's words for one meeting, put in its reminder.
ALTER TABLE meetings ADD COLUMN reminder_message TEXT NOT NULL DEFAULT '';

-- A message to all of a circle's learners, written offline; the server
-- sends it when it first sees it (once: a later edit is not sent again).
CREATE TABLE circle_messages (
    id         TEXT PRIMARY KEY,
    circle_id  TEXT REFERENCES circles(id),
    subject    TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL DEFAULT '',
    deleted    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX circle_messages_circle ON circle_messages (circle_id);

-- A learner's answer to a meeting's reminder ("yes, I'm coming"), from the
-- signed link in it. Written by the server only; one row per (meeting,
-- learner), its id derived from both (UUID v5), so a second click is the
-- same row.
CREATE TABLE meeting_rsvps (
    id          TEXT PRIMARY KEY,
    meeting_id  TEXT REFERENCES meetings(id),
    learner_id  TEXT REFERENCES learners(id),
    answer      TEXT NOT NULL DEFAULT '',
    answered_at TEXT NOT NULL DEFAULT '',
    deleted     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX meeting_rsvps_meeting ON meeting_rsvps (meeting_id);

-- What the server sent a learner, or failed to: one row per message and
-- channel, written by the server only, so the laptop shows "sent Sunday
-- 18:30" or "bad address" per learner. No address or text is kept here.
CREATE TABLE deliveries (
    id         TEXT PRIMARY KEY,
    circle_id  TEXT REFERENCES circles(id),
    learner_id TEXT REFERENCES learners(id),
    meeting_id TEXT REFERENCES meetings(id),
    message_id TEXT REFERENCES circle_messages(id),
    kind       TEXT NOT NULL DEFAULT '',
    channel    TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT '',
    problem    TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL DEFAULT '',
    deleted    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_circle ON deliveries (circle_id);
