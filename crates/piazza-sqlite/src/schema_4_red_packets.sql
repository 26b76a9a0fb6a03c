-- Version 4: red packets. The pot (what is left, how many shares are
-- left) lives on the packet row; each claim is a row of its own, one per
-- member, so a second claim finds the first.

CREATE TABLE red_packets (
    id               INTEGER PRIMARY KEY,
    sender_id        INTEGER NOT NULL REFERENCES accounts(id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    total_minor      INTEGER NOT NULL CHECK (total_minor > 0),
    currency         TEXT    NOT NULL,
    share_count      INTEGER NOT NULL,
    -- SplitMode::as_str: lucky or equal.
    mode             TEXT    NOT NULL,
    greeting         TEXT,
    remaining_minor  INTEGER NOT NULL CHECK (remaining_minor >= 0),
    remaining_shares INTEGER NOT NULL CHECK (remaining_shares >= 0),
    -- 0 open, 1 closed (expired; any rest refunded).
    status           INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
);
-- The sweeper: open packets by when they expire.
CREATE INDEX red_packets_open_by_expiry ON red_packets(expires_at) WHERE status = 0;

CREATE TABLE red_packet_claims (
    red_packet_id INTEGER NOT NULL REFERENCES red_packets(id),
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    amount_minor  INTEGER NOT NULL CHECK (amount_minor > 0),
    claimed_at    INTEGER NOT NULL,
    PRIMARY KEY (red_packet_id, account_id)
) WITHOUT ROWID;
