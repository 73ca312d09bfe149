-- Who made each global row (a team, a course, a facilitator, a membership):
-- the user of its first logged change, written once when the row is made
-- (an index over every global change would cost each change a write).
-- Rows logged before this table existed are filled in from the log.
CREATE TABLE row_creator (
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    PRIMARY KEY (table_name, row_id)
);
INSERT INTO row_creator (table_name, row_id, user_id)
SELECT DISTINCT ON (table_name, row_id) table_name, row_id, user_id
FROM changes WHERE scope_circle IS NULL ORDER BY table_name, row_id, seq;
