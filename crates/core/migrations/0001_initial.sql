-- Circles local store, schema version 1.
--
-- Every synced table has a text UUID `id`, a `deleted` tombstone flag and
-- defaults on every column: a sync may create a row from a single field
-- change before the rest arrives. References to other rows are nullable for
-- the same reason; local writes validate that they are set.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    deleted    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT ''
);

CREATE TABLE facilitators (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    deleted    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT ''
);

CREATE TABLE team_members (
    id             TEXT PRIMARY KEY,
    team_id        TEXT REFERENCES teams(id),
    facilitator_id TEXT REFERENCES facilitators(id),
    role           TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('organizer', 'member')),
    deleted        INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE courses (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL DEFAULT '',
    provider   TEXT NOT NULL DEFAULT '',
    link       TEXT NOT NULL DEFAULT '',
    caption    TEXT NOT NULL DEFAULT '',
    language   TEXT NOT NULL DEFAULT 'en',
    topics     TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
    license    TEXT NOT NULL DEFAULT '',
    format     TEXT NOT NULL DEFAULT '',
    archived   INTEGER NOT NULL DEFAULT 0,
    deleted    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT ''
);

CREATE TABLE team_courses (
    id         TEXT PRIMARY KEY,
    team_id    TEXT REFERENCES teams(id),
    course_id  TEXT REFERENCES courses(id),
    deleted    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT ''
);

CREATE TABLE circles (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    course_id        TEXT REFERENCES courses(id),
    description      TEXT NOT NULL DEFAULT '',
    venue_name       TEXT NOT NULL DEFAULT '',
    venue_address    TEXT NOT NULL DEFAULT '',
    venue_details    TEXT NOT NULL DEFAULT '',
    venue_website    TEXT NOT NULL DEFAULT '',
    city             TEXT NOT NULL DEFAULT '',
    region           TEXT NOT NULL DEFAULT '',
    country          TEXT NOT NULL DEFAULT '',
    latitude         REAL,
    longitude        REAL,
    online           INTEGER NOT NULL DEFAULT 0,
    meeting_link     TEXT NOT NULL DEFAULT '',
    language         TEXT NOT NULL DEFAULT 'en',
    time_zone        TEXT NOT NULL DEFAULT 'UTC',
    start_time       TEXT NOT NULL DEFAULT '18:00',  -- local HH:MM in time_zone
    duration_minutes INTEGER NOT NULL DEFAULT 90,
    signup_limit     INTEGER,                       -- NULL: no limit
    signup_open      INTEGER NOT NULL DEFAULT 1,
    signup_question  TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    did_not_happen   INTEGER NOT NULL DEFAULT 0,
    team_id          TEXT REFERENCES teams(id),
    deleted          INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL DEFAULT ''
);

CREATE TABLE circle_facilitators (
    id             TEXT PRIMARY KEY,
    circle_id      TEXT REFERENCES circles(id),
    facilitator_id TEXT REFERENCES facilitators(id),
    deleted        INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE meetings (
    id         TEXT PRIMARY KEY,
    circle_id  TEXT REFERENCES circles(id),
    local_date TEXT NOT NULL DEFAULT '',   -- YYYY-MM-DD in the circle's zone
    local_time TEXT NOT NULL DEFAULT '',   -- HH:MM in the circle's zone
    status     TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'held', 'cancelled')),
    notes      TEXT NOT NULL DEFAULT '',
    head_count INTEGER,                    -- for circles that only count
    deleted    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT ''
);

CREATE TABLE learners (
    id              TEXT PRIMARY KEY,
    circle_id       TEXT REFERENCES circles(id),
    name            TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    mobile          TEXT NOT NULL DEFAULT '',
    goals           TEXT NOT NULL DEFAULT '',
    support_needs   TEXT NOT NULL DEFAULT '',
    question_answer TEXT NOT NULL DEFAULT '',
    consent         INTEGER NOT NULL DEFAULT 0,
    email_opt_out   INTEGER NOT NULL DEFAULT 0,
    sms_opt_out     INTEGER NOT NULL DEFAULT 0,
    walk_in         INTEGER NOT NULL DEFAULT 0,
    withdrawn       INTEGER NOT NULL DEFAULT 0,
    deleted         INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL DEFAULT ''
);

-- One row per (meeting, learner): its id is derived from both (UUID v5), so
-- two laptops marking the same learner write the same row.
CREATE TABLE attendance (
    id         TEXT PRIMARY KEY,
    meeting_id TEXT REFERENCES meetings(id),
    learner_id TEXT REFERENCES learners(id),
    mark       TEXT NOT NULL DEFAULT 'present' CHECK (mark IN ('present', 'late', 'excused', 'absent')),
    deleted    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT ''
);

-- One guide per meeting (id derived from the meeting id).
CREATE TABLE meeting_guides (
    id         TEXT PRIMARY KEY,
    meeting_id TEXT REFERENCES meetings(id),
    sections   TEXT NOT NULL DEFAULT '[]',   -- JSON array of {title, minutes, notes}
    customized INTEGER NOT NULL DEFAULT 0,   -- edited by a person: never re-derived
    deleted    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT ''
);

-- One feedback per meeting (id derived from the meeting id).
CREATE TABLE meeting_feedback (
    id                TEXT PRIMARY KEY,
    meeting_id        TEXT REFERENCES meetings(id),
    rating            INTEGER,                -- 1..5, NULL until given
    reflection        TEXT NOT NULL DEFAULT '',
    reflection_prompt TEXT NOT NULL DEFAULT '',
    next_week_note    TEXT NOT NULL DEFAULT '',
    deleted           INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL DEFAULT ''
);

CREATE INDEX circles_course ON circles(course_id);
CREATE INDEX meetings_circle ON meetings(circle_id, local_date);
CREATE INDEX learners_circle ON learners(circle_id);
CREATE INDEX attendance_meeting ON attendance(meeting_id);
CREATE INDEX attendance_learner ON attendance(learner_id);
CREATE INDEX circle_facilitators_circle ON circle_facilitators(circle_id);
CREATE INDEX team_members_team ON team_members(team_id);

-- The outbox: every field a local write changed, in the same transaction as
-- the write. `pushed` flips once the server has acknowledged the change.
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id  TEXT NOT NULL UNIQUE,
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    field      TEXT NOT NULL,
    value      TEXT NOT NULL,   -- JSON
    hlc        TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    pushed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX changes_unpushed ON changes(pushed, seq);
CREATE INDEX changes_field ON changes(table_name, row_id, field, seq);

-- The version of every field's current value: the clock and device of the
-- write that set it (local or remote). Merge compares against it.
CREATE TABLE field_versions (
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    field      TEXT NOT NULL,
    hlc        TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    server_seq INTEGER,
    PRIMARY KEY (table_name, row_id, field)
) WITHOUT ROWID;
