-- Version 3: chat transfers, and messages that stand for money.

-- NULL for a plain text message; `transfer`, `red_packet`, … otherwise,
-- with `ref` the id of what the message stands for.
ALTER TABLE messages ADD COLUMN kind TEXT;
ALTER TABLE messages ADD COLUMN ref TEXT;

CREATE TABLE transfers (
    id           INTEGER PRIMARY KEY,
    from_id      INTEGER NOT NULL REFERENCES accounts(id),
    to_id        INTEGER NOT NULL REFERENCES accounts(id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency     TEXT    NOT NULL,
    note         TEXT,
    -- TransferStatus::code: 0 pending, 1 accepted, 2 declined, 3 returned.
    status       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    resolved_at  INTEGER
);
-- The sweeper: pending transfers by when they expire.
CREATE INDEX transfers_pending_by_expiry ON transfers(expires_at) WHERE status = 0;
