-- circles-server: the audit log (protocol/audit_log.rs): who signed in or
-- failed to, tokens made, revoked and expired, roles changed, learners
-- erased, backups made. Append-only; `circles-server audit` reads it and
-- `circles-server audit --prune-before` trims it.
CREATE TABLE audit_log (
    id      BIGSERIAL PRIMARY KEY,
    at      TEXT NOT NULL,
    event   TEXT NOT NULL,
    actor   TEXT,
    subject TEXT NOT NULL DEFAULT '',
    address TEXT,
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);
