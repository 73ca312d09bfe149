-- circles-server: the circle index holds circle-scoped changes only. A pull
-- reads everyone's changes through changes_everyone and a person's through
-- changes_person, and every lookup by circle names one (scope_circle = ...),
-- so the rows without a circle (courses, facilitators, teams: the whole of a
-- catalogue import) no longer cost each logged change a write to this index.
DROP INDEX changes_scope;
CREATE INDEX changes_scope ON changes(scope_circle, seq) WHERE scope_circle IS NOT NULL;
