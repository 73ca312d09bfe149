-- Invitations and password resets (the same tables as the SQLite schema's
-- migrations/0006_invitations.sql; see there). Times compare as text in
-- byte order (COLLATE "C"), as in SQLite.
CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams(id),
    email        TEXT,
    circle_id    TEXT,
    role         TEXT NOT NULL CHECK (role IN ('organizer', 'member')),
    invited_by   TEXT NOT NULL REFERENCES users(id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT COLLATE "C" NOT NULL,
    expires_at   TEXT COLLATE "C" NOT NULL,
    used_at      TEXT,
    used_by      TEXT REFERENCES users(id),
    cancelled_at TEXT
);
CREATE INDEX invitations_team ON invitations(team_id, created_at);

CREATE TABLE password_resets (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    used_at    TEXT
);
CREATE INDEX password_resets_user ON password_resets(user_id, created_at);

-- A team's email domain (chipublic.org): anyone with an address there may ask,
-- on the page of the team's join link, for an invitation mailed to that
-- address (which verifies it). token_hash: that link's token, hashed.
CREATE TABLE team_join_domains (
    team_id    TEXT PRIMARY KEY REFERENCES teams(id),
    domain     TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    set_by     TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
