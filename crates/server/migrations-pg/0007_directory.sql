-- circles-server on PostgreSQL: the facilitator directory is scoped (the
-- same as the SQLite schema's migrations/0008; protocol/directory.rs).

ALTER TABLE changes ADD COLUMN scope_person TEXT;
UPDATE changes SET scope_person = row_id WHERE table_name = 'facilitators';
UPDATE changes SET scope_person = (
    SELECT f.value::json #>> '{}' FROM field_state f
    WHERE f.table_name = 'team_members' AND f.row_id = changes.row_id AND f.field = 'facilitator_id')
WHERE table_name = 'team_members';
CREATE INDEX changes_person ON changes(scope_person, seq) WHERE scope_person IS NOT NULL;
CREATE INDEX changes_everyone ON changes(seq) WHERE scope_circle IS NULL AND scope_person IS NULL;

CREATE TABLE directory_contacts (
    token_id  TEXT NOT NULL,
    person_id TEXT NOT NULL,
    since_seq BIGINT NOT NULL,
    PRIMARY KEY (token_id, person_id)
);
-- Replaced by changes_everyone: person rows are not everyone's.
DROP INDEX changes_global;
