-- Schema version 3: meeting guides from templates, facilitator templates,
-- the end-of-circle wrap-up, and what reports need.

-- What a guide's sections were made from: "builtin/en/first@1" (a built-in
-- template), "template/<id>/middle" (a facilitator's template), or "" (typed
-- by a person, or written before version 3).
ALTER TABLE meeting_guides ADD COLUMN template TEXT NOT NULL DEFAULT '';

-- A facilitator's own template, saved from a circle's guides ("save this
-- circle's guide as my template"). It belongs to the circle it was saved
-- from (circle_id), so it syncs to that circle's facilitators and organizers.
CREATE TABLE guide_templates (
    id               TEXT PRIMARY KEY,
    circle_id        TEXT REFERENCES circles(id),
    name             TEXT NOT NULL DEFAULT '',
    language         TEXT NOT NULL DEFAULT 'en',
    duration_minutes INTEGER NOT NULL DEFAULT 90,   -- what the sections were planned for
    first_sections   TEXT NOT NULL DEFAULT '[]',    -- JSON array of {title, minutes, notes}
    middle_sections  TEXT NOT NULL DEFAULT '[]',
    last_sections    TEXT NOT NULL DEFAULT '[]',
    deleted          INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX guide_templates_circle ON guide_templates(circle_id);

-- The facilitator template a circle's guides are made from (NULL: the
-- built-in templates in the circle's language). No foreign key: the template
-- may belong to another circle, which a co-facilitator of this one may not
-- see, and a replica must still be able to apply this field.
ALTER TABLE circles ADD COLUMN guide_template_id TEXT;

-- The wrap-up, when the last meeting has ended (P2PU's facilitator survey).
ALTER TABLE circles ADD COLUMN completed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE circles ADD COLUMN facilitator_goal TEXT NOT NULL DEFAULT '';
ALTER TABLE circles ADD COLUMN goal_rating INTEGER;              -- 1..5, NULL until given
ALTER TABLE circles ADD COLUMN course_rating INTEGER;            -- 1..5, NULL until given
ALTER TABLE circles ADD COLUMN course_rating_reason TEXT NOT NULL DEFAULT '';

-- Team reports read a team's circles, and feedback by meeting.
CREATE INDEX circles_team ON circles(team_id);
CREATE INDEX meeting_feedback_meeting ON meeting_feedback(meeting_id);
CREATE INDEX meeting_guides_meeting ON meeting_guides(meeting_id);
