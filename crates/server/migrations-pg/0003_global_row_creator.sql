-- Who made a global row (a team, a course, a facilitator, a membership):
-- the user of its first logged change. Only global rows are indexed, so
-- circle-scoped pushes pay nothing for it.
CREATE INDEX changes_global_row ON changes(table_name, row_id, seq) WHERE scope_circle IS NULL;
