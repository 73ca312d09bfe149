-- Schema version 6: where a learner came from, the waitlist, and a team's
-- privacy notice.

-- '' = typed in by a facilitator; 'online' = the circle's public signup form
-- (written by the server).
ALTER TABLE learners ADD COLUMN signup_source TEXT NOT NULL DEFAULT '';
-- '' = enrolled (holds a place); otherwise the moment the server put them on
-- the waitlist, which orders it (longest waiting first). Admitting someone
-- (by hand or by the server when a place frees) sets it back to ''. Two
-- fields, each last-writer-wins, so a laptop's admit and the server's
-- promotion of the same learner agree.
ALTER TABLE learners ADD COLUMN waitlisted_at TEXT NOT NULL DEFAULT '';

-- What a team tells people about their data, beside the consent box of its
-- circles' public signup forms: a link (http(s)) or a short text; '' = the
-- server's default sentence. Written by the team's organizers, synced.
ALTER TABLE teams ADD COLUMN privacy_notice TEXT NOT NULL DEFAULT '';
