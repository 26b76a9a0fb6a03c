-- Piazza on PostgreSQL, schema 8 (SQLite's 21): who blocked whom. Keyed
-- by the blocker for its list; "either way" for a pair is two probes.
CREATE TABLE blocks (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    blocked_id BIGINT NOT NULL REFERENCES accounts(id),
    blocked_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, blocked_id)
);
