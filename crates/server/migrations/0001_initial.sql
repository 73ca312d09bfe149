-- circles-server, schema version 1.

-- Accounts and access: set by the server's admin commands, never synced.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,          -- also the user's facilitator id in synced data
    email         TEXT NOT NULL UNIQUE,      -- lower case
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,             -- argon2 PHC string
    created_at    TEXT NOT NULL
);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    device_id    TEXT NOT NULL,
    device_name  TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,       -- sha256 of the bearer token; the token itself is never stored
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE teams (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE team_organizers (
    team_id TEXT NOT NULL REFERENCES teams(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
) WITHOUT ROWID;

-- The change log. seq is assigned inside the one writing transaction, so
-- commit order is seq order and a reader never sees N+1 before N.
CREATE TABLE changes (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id    TEXT NOT NULL UNIQUE,
    table_name   TEXT NOT NULL,
    row_id       TEXT NOT NULL,
    field        TEXT NOT NULL,
    value        TEXT NOT NULL,              -- JSON
    hlc          TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    base_seq     INTEGER,
    user_id      TEXT NOT NULL,
    scope_circle TEXT,                       -- NULL: visible to everyone (catalogue, teams)
    received_at  TEXT NOT NULL
);
CREATE INDEX changes_scope ON changes(scope_circle, seq);

-- Every change id ever received (applied or not), for idempotent retries.
CREATE TABLE seen_changes (
    change_id TEXT PRIMARY KEY
) WITHOUT ROWID;

-- The winning value of every field.
CREATE TABLE field_state (
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    field      TEXT NOT NULL,
    value      TEXT NOT NULL,
    hlc        TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (table_name, row_id, field)
) WITHOUT ROWID;

-- Which circle a circle-scoped row belongs to.
CREATE TABLE row_scope (
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    circle_id  TEXT NOT NULL,
    PRIMARY KEY (table_name, row_id)
) WITHOUT ROWID;

-- Who may read and write a circle, and from which seq (0: from its start).
CREATE TABLE circle_access (
    circle_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    granted_seq INTEGER NOT NULL,
    PRIMARY KEY (circle_id, user_id)
) WITHOUT ROWID;
CREATE INDEX circle_access_user ON circle_access(user_id, granted_seq);

CREATE TABLE push_batches (
    device_id     TEXT NOT NULL,
    batch_seq     INTEGER NOT NULL,
    batch_id      TEXT NOT NULL,
    response_json TEXT NOT NULL,
    PRIMARY KEY (device_id, batch_seq)
) WITHOUT ROWID;

CREATE TABLE conflicts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name  TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    field       TEXT NOT NULL,
    lost_value  TEXT NOT NULL,
    lost_hlc    TEXT NOT NULL,
    lost_device TEXT NOT NULL,
    won_value   TEXT NOT NULL,
    won_hlc     TEXT NOT NULL,
    won_device  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX conflicts_device ON conflicts(lost_device, id);
