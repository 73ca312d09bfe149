-- circles-server on PostgreSQL, schema version 1: the same tables and
-- meaning as the SQLite schema (migrations/0001 and 0002), so `migrate-db`
-- copies them column for column. Values keep SQLite's text encoding (JSON
-- values, RFC 3339 times, HLC text) so both backends answer byte-identical
-- responses.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    device_id    TEXT NOT NULL,
    device_name  TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
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
);

-- The change log. seq is assigned as max(seq) + 1 by a transaction that
-- holds the server-wide write lock (an advisory transaction lock) until it
-- commits, so commit order is seq order across every server process.
CREATE TABLE changes (
    seq          BIGINT PRIMARY KEY,
    change_id    TEXT NOT NULL UNIQUE,
    table_name   TEXT NOT NULL,
    row_id       TEXT NOT NULL,
    field        TEXT NOT NULL,
    value        TEXT NOT NULL,
    hlc          TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    base_seq     BIGINT,
    user_id      TEXT NOT NULL,
    scope_circle TEXT,
    received_at  TEXT NOT NULL
);
CREATE INDEX changes_scope ON changes(scope_circle, seq);
-- Pulls read the global changes (catalogue, accounts, teams) after a cursor
-- by this index, never by scanning everyone's changes after it.
CREATE INDEX changes_global ON changes(seq) WHERE scope_circle IS NULL;

CREATE TABLE seen_changes (
    change_id TEXT PRIMARY KEY
);

CREATE TABLE field_state (
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    field      TEXT NOT NULL,
    value      TEXT NOT NULL,
    hlc        TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (table_name, row_id, field)
);
CREATE INDEX field_state_circle_team ON field_state(value) WHERE table_name = 'circles' AND field = 'team_id';

CREATE TABLE row_scope (
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    circle_id  TEXT NOT NULL,
    PRIMARY KEY (table_name, row_id)
);

CREATE TABLE circle_access (
    circle_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    granted_seq BIGINT NOT NULL,
    PRIMARY KEY (circle_id, user_id)
);
CREATE INDEX circle_access_user ON circle_access(user_id, granted_seq);

CREATE TABLE push_batches (
    device_id     TEXT NOT NULL,
    batch_seq     BIGINT NOT NULL,
    batch_id      TEXT NOT NULL,
    response_json TEXT NOT NULL,
    PRIMARY KEY (device_id, batch_seq)
);

CREATE TABLE conflicts (
    id          BIGSERIAL PRIMARY KEY,
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

CREATE TABLE token_circles (
    token_id  TEXT NOT NULL,
    circle_id TEXT NOT NULL,
    PRIMARY KEY (token_id, circle_id)
);
