-- Version 10: a client's message ids are unique per sender in an index
-- that holds only messages people send. The messages the server posts for
-- a transfer or a red packet are made once by their operation (its
-- idempotency key and row), never looked up by client id, and kept out of
-- the index: one B-tree page less written per money movement.
--
-- SQLite cannot drop a table's UNIQUE constraint, so the table is rebuilt
-- (its "12-step" ALTER; foreign keys are off during migrations and checked
-- before each one commits).
CREATE TABLE messages_v10 (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    seq             INTEGER NOT NULL,
    sender_id       INTEGER NOT NULL REFERENCES accounts(id),
    client_msg_id   TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    sent_at         INTEGER NOT NULL,
    kind            TEXT,
    ref             TEXT,
    UNIQUE (conversation_id, seq)
);
INSERT INTO messages_v10
       (id, conversation_id, seq, sender_id, client_msg_id, text, sent_at, kind, ref)
SELECT id, conversation_id, seq, sender_id, client_msg_id, text, sent_at, kind, ref
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v10 RENAME TO messages;
CREATE INDEX messages_by_image ON messages(ref) WHERE kind = 'image';
-- The same terms, word for word, are in reads::message_by_client_id: SQLite
-- uses a partial index only for a query whose WHERE repeats its terms.
CREATE UNIQUE INDEX messages_by_client_id ON messages(sender_id, client_msg_id)
    WHERE kind IS NOT 'transfer' AND kind IS NOT 'red_packet';
