-- Schema version 2: what the sync client needs.

-- The server sequence of the field version a local edit replaced (NULL if
-- this replica had never seen a server version of the field): lets the
-- server tell a concurrent edit from one made on top of the latest value.
ALTER TABLE changes ADD COLUMN base_seq INTEGER;

-- Concurrent edits this replica lost, kept with both values until a person
-- chooses one. The winning value is already applied; choosing the lost one
-- is a new edit that syncs like any other.
CREATE TABLE conflicts (
    id           TEXT PRIMARY KEY,          -- server conflict id
    table_name   TEXT NOT NULL,
    row_id       TEXT NOT NULL,
    field        TEXT NOT NULL,
    lost_value   TEXT NOT NULL,             -- JSON
    lost_hlc     TEXT NOT NULL,
    won_value    TEXT NOT NULL,             -- JSON
    won_hlc      TEXT NOT NULL,
    won_device   TEXT NOT NULL,
    detected_at  TEXT NOT NULL,
    resolved_at  TEXT,
    resolution   TEXT CHECK (resolution IN ('kept_won', 'restored_lost'))
);
CREATE INDEX conflicts_open ON conflicts(resolved_at);
