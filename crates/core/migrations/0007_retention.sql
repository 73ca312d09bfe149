-- Schema version 7: a team's retention period.

-- Anonymize the learners of the team's circles this many days after a
-- circle ends (the end of its last meeting, by core's `schedule::circle_end`);
-- NULL = keep them until someone erases them by hand. 30 to 3650 (core's
-- `schema::field_kind`). Written by the team's organizers, synced; the
-- server applies it every day (docs/privacy.md "Retention").
ALTER TABLE teams ADD COLUMN anonymize_after_days INTEGER;
