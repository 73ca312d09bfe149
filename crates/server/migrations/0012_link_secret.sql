-- circles-server: the server's own secrets. `learner_links`: the key that
-- signs the links in learners' messages (protocol/links.rs), 32 random
-- bytes as hex, made the first time a link is made and never changed (a
-- new one would break every link already sent).
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
