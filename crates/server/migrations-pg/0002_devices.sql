-- circles-server on PostgreSQL, schema version 2: which account each device
-- id belongs to, as in the SQLite schema's migrations/0003_devices.sql.

CREATE TABLE devices (
    device_id  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);

-- Devices signed in before this version belong to the account that signed
-- in with them first.
INSERT INTO devices (device_id, user_id, created_at)
SELECT DISTINCT ON (device_id) device_id, user_id, created_at FROM tokens ORDER BY device_id, created_at, id;
