-- Piazza on PostgreSQL, schema 5 (SQLite's 18): what members do to
-- messages besides sending them. Written rarely, so both keep their
-- foreign keys.
--
-- Messages an account deleted for itself: its history leaves them out;
-- everyone else's keeps them.
CREATE TABLE hidden_messages (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    message_id BIGINT NOT NULL REFERENCES messages(id),
    hidden_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, message_id)
);

-- Reactions: each account's emojis on a message, read a history page's
-- messages at a time.
CREATE TABLE message_reactions (
    message_id BIGINT NOT NULL REFERENCES messages(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    emoji      TEXT   NOT NULL,
    reacted_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, account_id, emoji)
);
