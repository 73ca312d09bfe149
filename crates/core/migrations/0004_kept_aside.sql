-- Schema version 4: pulled changes this replica could not apply yet.

-- A change from the server that could not be applied (a reference to a row
-- this replica does not have yet, a value it cannot hold, a clock far in the
-- future) is kept here instead of stopping the sync, and tried again on
-- every later pull through the same merge rules. Not synced.
CREATE TABLE kept_aside (
    change_id     TEXT PRIMARY KEY,
    seq           INTEGER NOT NULL,      -- server log position (retry order)
    table_name    TEXT NOT NULL,
    row_id        TEXT NOT NULL,
    field         TEXT NOT NULL,
    change        TEXT NOT NULL,         -- the change as pulled (JSON)
    kind          TEXT NOT NULL CHECK (kind IN ('missing_reference', 'waits_for_reference', 'invalid', 'future_clock')),
    reason        TEXT NOT NULL,
    first_attempt TEXT NOT NULL,
    last_attempt  TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE INDEX kept_aside_seq ON kept_aside(seq);
CREATE INDEX kept_aside_row ON kept_aside(table_name, row_id);
