-- Version 11: the B-trees ordered by account or conversation — each
-- account's log, each ledger account's postings in statement order, each
-- account's idempotency keys, each conversation's history — get a small
-- "tail" beside them (see tails.rs). New entries go into the
-- tail, whose few pages every commit rewrites anyway; the writer moves
-- them into the big B-tree a key range at a time, so a page of the big
-- tree is written once for many of its account's entries instead of once
-- per commit. An entry is in exactly one of the two at any commit; readers
-- read both in one statement.

CREATE TABLE account_log_tail (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    log_seq    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    message_id INTEGER REFERENCES messages(id),
    data       TEXT,
    PRIMARY KEY (account_id, log_seq),
    CHECK ((message_id IS NULL) <> (data IS NULL))
) WITHOUT ROWID;

CREATE VIEW account_log_all AS
    SELECT account_id, log_seq, at, message_id, data FROM account_log
    UNION ALL
    SELECT account_id, log_seq, at, message_id, data FROM account_log_tail;

-- The statement's index, kept by hand instead of by CREATE INDEX so that
-- it can have a tail: (ledger account, posting) pairs, for user wallets
-- only (nothing else has a statement to read).
DROP INDEX ledger_postings_by_account;

CREATE TABLE postings_by_account (
    ledger_account_id INTEGER NOT NULL,
    posting_id        INTEGER NOT NULL,
    PRIMARY KEY (ledger_account_id, posting_id)
) WITHOUT ROWID;

INSERT INTO postings_by_account (ledger_account_id, posting_id)
SELECT p.ledger_account_id, p.id
FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.ledger_account_id
WHERE a.kind = 'user_wallet'
ORDER BY p.ledger_account_id, p.id;

CREATE TABLE postings_by_account_tail (
    ledger_account_id INTEGER NOT NULL,
    posting_id        INTEGER NOT NULL,
    PRIMARY KEY (ledger_account_id, posting_id)
) WITHOUT ROWID;

CREATE TABLE idempotency_keys_tail (
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    key           TEXT    NOT NULL,
    request_hash  BLOB    NOT NULL,
    status        INTEGER NOT NULL,
    response_body TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
) WITHOUT ROWID;

-- The history's index, (conversation, seq) -> message, kept by hand for
-- the same reason. SQLite cannot drop the UNIQUE constraint that was that
-- index, so `messages` is rebuilt once more (as in schema 10).
CREATE TABLE messages_v11 (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    seq             INTEGER NOT NULL,
    sender_id       INTEGER NOT NULL REFERENCES accounts(id),
    client_msg_id   TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    sent_at         INTEGER NOT NULL,
    kind            TEXT,
    ref             TEXT
);
INSERT INTO messages_v11
       (id, conversation_id, seq, sender_id, client_msg_id, text, sent_at, kind, ref)
SELECT id, conversation_id, seq, sender_id, client_msg_id, text, sent_at, kind, ref
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v11 RENAME TO messages;
CREATE INDEX messages_by_image ON messages(ref) WHERE kind = 'image';
-- As in schema 10; reads::message_by_client_id repeats its terms.
CREATE UNIQUE INDEX messages_by_client_id ON messages(sender_id, client_msg_id)
    WHERE kind IS NOT 'transfer' AND kind IS NOT 'red_packet';

CREATE TABLE messages_by_conversation (
    conversation_id INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;

INSERT INTO messages_by_conversation (conversation_id, seq, message_id)
SELECT conversation_id, seq, id FROM messages ORDER BY conversation_id, seq;

CREATE TABLE messages_by_conversation_tail (
    conversation_id INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
