-- circles-server: the facilitator directory is scoped. A row about a person
-- (their `facilitators` row, their `team_members` rows) is seen only by the
-- person's contacts: themselves, the members of their teams, the people who
-- see one of their circles, and whoever made the row (protocol/directory.rs).

-- Whom a logged change is about (NULL: everyone's, or a circle's).
ALTER TABLE changes ADD COLUMN scope_person TEXT;
UPDATE changes SET scope_person = row_id WHERE table_name = 'facilitators';
UPDATE changes SET scope_person = (
    SELECT json_extract(f.value, '$') FROM field_state f
    WHERE f.table_name = 'team_members' AND f.row_id = changes.row_id AND f.field = 'facilitator_id')
WHERE table_name = 'team_members';
-- A pull reads everyone's changes, and each contact's, in seq order.
CREATE INDEX changes_person ON changes(scope_person, seq) WHERE scope_person IS NOT NULL;
CREATE INDEX changes_everyone ON changes(seq) WHERE scope_circle IS NULL AND scope_person IS NULL;

-- Each token's contacts (a token is one device's stream) as of its last
-- pull, and the cursor of the pull that found them: a pull at or below it
-- also brings the contact's rows as they stand (the changes this stream
-- passed before knowing them).
CREATE TABLE directory_contacts (
    token_id  TEXT NOT NULL,
    person_id TEXT NOT NULL,
    since_seq INTEGER NOT NULL,
    PRIMARY KEY (token_id, person_id)
) WITHOUT ROWID;
