-- circles-server: the audit log (protocol/audit_log.rs): who signed in or
-- failed to, tokens made, revoked and expired, roles changed, learners
-- erased, backups made. Append-only; `circles-server audit` reads it and
-- `circles-server audit --prune-before` trims it.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,           -- common::now_text
    event   TEXT NOT NULL,           -- AuditEvent::as_str
    actor   TEXT,                    -- the account that acted (user id); NULL: the server or an admin command
    subject TEXT NOT NULL DEFAULT '', -- what it was about: an email typed, a token, a learner, a team member
    address TEXT,                    -- the client's address (sign-ins)
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);
