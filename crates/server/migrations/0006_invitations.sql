-- Invitations to a team (and, with circle_id, to co-facilitate one of its
-- circles) and password resets. Both are links sent by mail or copied by an
-- organizer: only the sha256 of the link's token is stored, never the token.
-- A link works once (used_at), until expires_at, unless cancelled_at.
-- Times are RFC 3339 text in UTC with milliseconds, so they compare as text.
CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams(id),
    email        TEXT,                      -- lower case; NULL: a copyable join link for anyone
    circle_id    TEXT,                      -- an invitation to co-facilitate this circle too
    role         TEXT NOT NULL CHECK (role IN ('organizer', 'member')),
    invited_by   TEXT NOT NULL REFERENCES users(id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    used_by      TEXT REFERENCES users(id),
    cancelled_at TEXT
);
CREATE INDEX invitations_team ON invitations(team_id, created_at);

CREATE TABLE password_resets (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
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
