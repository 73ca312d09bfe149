-- circles-server: accounts a library can run, and access that can be taken away.

-- Who belongs to which team, and as what. The server is the one authority
-- of membership: this table is changed only by the server's functions
-- (protocol/teams.rs: admin commands, invitations, the organizers' API),
-- which write the synced `team_members` row (as the server's device) in the
-- same transaction. Laptops may no longer push `team_members` changes.
-- Organizers see their team's circles.
CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    role    TEXT NOT NULL CHECK (role IN ('organizer', 'member')),
    PRIMARY KEY (team_id, user_id)
) WITHOUT ROWID;
CREATE INDEX team_members_user ON team_members(user_id);

-- The organizers before this version become organizer members.
INSERT INTO team_members (team_id, user_id, role)
SELECT team_id, user_id, 'organizer' FROM team_organizers;
DROP TABLE team_organizers;

-- A disabled account cannot sign in, and its tokens are refused
-- (`account_disabled`); NULL: enabled.
ALTER TABLE users ADD COLUMN disabled_at TEXT;

-- Circles a user stopped seeing (removed as a co-facilitator, left the
-- team, lost the organizer role), at the log's seq when it happened: a pull
-- whose cursor is below it lists the circle in `revoked`, unless the user
-- sees the circle again (`circle_access`).
CREATE TABLE access_revocations (
    user_id   TEXT NOT NULL,
    circle_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (user_id, seq, circle_id)
) WITHOUT ROWID;
