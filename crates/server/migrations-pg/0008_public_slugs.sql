-- circles-server: the public pages' addresses. A team's listing and a
-- circle's signup page are reached by a random slug made the first time it
-- is needed, so a public address never shows (or lets anyone guess) a
-- circle's or team's id. kind: 'team' or 'circle'; target_id: its row id.
CREATE TABLE public_slugs (
    slug       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('team', 'circle')),
    target_id  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (kind, target_id)
);
