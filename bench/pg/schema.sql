-- A plain double-entry ledger on PostgreSQL, the baseline that
-- `piazza bench ledger` is compared with (see BENCHMARKS.md, "Money").
-- Money is in integer minor units; a balance may never go negative.
DROP TABLE IF EXISTS postings;
DROP TABLE IF EXISTS transfers;
DROP TABLE IF EXISTS accounts;

CREATE TABLE accounts (
    id      bigint PRIMARY KEY,
    balance bigint NOT NULL CHECK (balance >= 0)
);

CREATE TABLE transfers (
    id         bigserial PRIMARY KEY,
    from_id    bigint NOT NULL REFERENCES accounts (id),
    to_id      bigint NOT NULL REFERENCES accounts (id),
    amount     bigint NOT NULL CHECK (amount > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per leg; each transfer's legs sum to zero.
CREATE TABLE postings (
    id          bigserial PRIMARY KEY,
    transfer_id bigint NOT NULL REFERENCES transfers (id),
    account_id  bigint NOT NULL REFERENCES accounts (id),
    amount      bigint NOT NULL
);
-- A statement is read per account, newest first.
CREATE INDEX postings_by_account ON postings (account_id, id);
