-- Schema version 5: a learner can be erased (their data rights).

-- 1 once the learner's personal fields were blanked on purpose: every
-- replica that sees it purges the old values from its own history (the
-- outbox, kept-aside pulls, conflicts), and the server from its log. Synced
-- like any field; the row stays so attendance counts stay right.
ALTER TABLE learners ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;
