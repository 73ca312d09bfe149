-- Schema version 6: where a learner came from, and the waitlist.

-- '' = typed in by a facilitator; 'online' = the circle's public signup form
-- (written by the server).
ALTER TABLE learners ADD COLUMN signup_source TEXT NOT NULL DEFAULT '';
-- '' = enrolled (holds a place); otherwise the moment the server put them on
-- the waitlist, which orders it (longest waiting first). Admitting someone
-- (by hand or by the server when a place frees) sets it back to ''. Two
-- fields, each last-writer-wins, so a laptop's admit and the server's
-- promotion of the same learner agree.
ALTER TABLE learners ADD COLUMN waitlisted_at TEXT NOT NULL DEFAULT '';
