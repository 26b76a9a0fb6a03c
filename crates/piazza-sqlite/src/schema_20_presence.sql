-- Version 20: who sees an account's presence (online, last seen): 0 its
-- contacts, 1 nobody.
ALTER TABLE accounts ADD COLUMN last_seen_shown INTEGER NOT NULL DEFAULT 0;
