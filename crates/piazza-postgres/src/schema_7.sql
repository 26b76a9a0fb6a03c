-- Piazza on PostgreSQL, schema 7 (SQLite's 20): who sees an account's
-- presence (online, last seen): 0 its contacts, 1 nobody.
ALTER TABLE accounts ADD COLUMN last_seen_shown BIGINT NOT NULL DEFAULT 0;
