-- circles-server, schema version 3.

-- Which account each device id belongs to. A device id is bound to the
-- first account that signs in with it and never to another one: sign-in
-- under a device id bound to another account is refused (`device_taken`),
-- and a token is live only while its device is bound to its own account.
-- A device that must change identity (a copied or restored data folder)
-- is given a fresh id by the server (`POST /v1/device/renew`).
CREATE TABLE devices (
    device_id  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
) WITHOUT ROWID;

-- Devices signed in before this version belong to the account that signed
-- in with them first; later tokens of another account under the same id
-- stop working.
INSERT INTO devices (device_id, user_id, created_at)
SELECT t.device_id, t.user_id, t.created_at FROM tokens t
WHERE NOT EXISTS (
    SELECT 1 FROM tokens e
    WHERE e.device_id = t.device_id AND (e.created_at < t.created_at OR (e.created_at = t.created_at AND e.id < t.id))
);
