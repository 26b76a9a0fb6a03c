-- Version 2: the double-entry ledger of Piazza Pay. Postings are written
-- once and never updated; a balance is the sum of its account's postings,
-- kept in `balance_minor` so checking funds is one row read (and
-- `piazza admin ledger-check` re-adds the postings to prove it).

CREATE TABLE ledger_accounts (
    id            INTEGER PRIMARY KEY,
    -- LedgerAccountKind::as_str: user_wallet, gateway, …
    kind          TEXT    NOT NULL,
    -- The account, transfer, red packet or merchant row; 0 for the
    -- system-wide gateway and fees accounts.
    holder        INTEGER NOT NULL,
    currency      TEXT    NOT NULL,
    balance_minor INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, holder, currency)
);

CREATE TABLE ledger_transactions (
    id         INTEGER PRIMARY KEY,
    -- OperationKind::as_str: topup, withdrawal, …
    kind       TEXT    NOT NULL,
    -- The account that started the operation.
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    -- The business record or gateway reference the operation belongs to.
    ref        TEXT    NOT NULL,
    at         INTEGER NOT NULL
);

CREATE TABLE ledger_postings (
    id                  INTEGER PRIMARY KEY,
    transaction_id      INTEGER NOT NULL REFERENCES ledger_transactions(id),
    ledger_account_id   INTEGER NOT NULL REFERENCES ledger_accounts(id),
    amount_minor        INTEGER NOT NULL CHECK (amount_minor <> 0),
    balance_after_minor INTEGER NOT NULL
);
-- The statement: one account's postings, newest first.
CREATE INDEX ledger_postings_by_account ON ledger_postings(ledger_account_id, id);
CREATE INDEX ledger_postings_by_transaction ON ledger_postings(transaction_id);

-- Stripe-style idempotency: the key is stored in the same transaction as
-- the effect, so a crash can never keep one without the other.
CREATE TABLE idempotency_keys (
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    key           TEXT    NOT NULL,
    -- SHA-256 of what was asked; the same key with another hash is refused.
    request_hash  BLOB    NOT NULL,
    -- 1: done, the response below is final.
    status        INTEGER NOT NULL,
    response_body TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
) WITHOUT ROWID;

CREATE TABLE payment_pins (
    account_id      INTEGER PRIMARY KEY REFERENCES accounts(id),
    -- Argon2id PHC string.
    pin_hash        TEXT    NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER
);
