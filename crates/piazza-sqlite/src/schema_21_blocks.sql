-- Version 21: who blocked whom. Keyed by the blocker for its list; the
-- index answers "either way" for a pair with two probes.
CREATE TABLE blocks (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    blocked_id INTEGER NOT NULL REFERENCES accounts(id),
    blocked_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, blocked_id)
) WITHOUT ROWID;
