-- circles-server, schema version 2.

-- The circles whose whole history a token's pull stream already includes.
-- A pull whose cursor is past changes of an accessible circle missing here
-- (access gained after the device pulled past them) is answered `reset`;
-- a pull from 0 records every accessible circle. Keyed by token, not by
-- user, so each device (and each sign-in) resyncs once, and a resync that
-- takes many pages is never reset again half-way.
CREATE TABLE token_circles (
    token_id  TEXT NOT NULL,
    circle_id TEXT NOT NULL,
    PRIMARY KEY (token_id, circle_id)
) WITHOUT ROWID;
