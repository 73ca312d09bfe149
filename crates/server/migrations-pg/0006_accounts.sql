-- circles-server on PostgreSQL: accounts a library can run, and access that
-- can be taken away (the same as the SQLite schema's migrations/0007).

-- Who belongs to which team, and as what: the server is the one authority
-- of membership (protocol/teams.rs writes it and the synced `team_members`
-- row in one transaction).
CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    role    TEXT NOT NULL CHECK (role IN ('organizer', 'member')),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

INSERT INTO team_members (team_id, user_id, role)
SELECT team_id, user_id, 'organizer' FROM team_organizers;
DROP TABLE team_organizers;

-- A disabled account cannot sign in, and its tokens are refused; NULL: enabled.
ALTER TABLE users ADD COLUMN disabled_at TEXT;

-- Circles a user stopped seeing, at the log's seq when it happened.
CREATE TABLE access_revocations (
    user_id   TEXT NOT NULL,
    circle_id TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    PRIMARY KEY (user_id, seq, circle_id)
);
