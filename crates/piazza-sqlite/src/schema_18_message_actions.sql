-- Version 18: what members do to messages besides sending them.
--
-- Messages an account deleted for itself: its history leaves them out;
-- everyone else's keeps them. Keyed by account first, so the history's
-- anti-join is one probe per message.
CREATE TABLE hidden_messages (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    message_id INTEGER NOT NULL REFERENCES messages(id),
    hidden_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, message_id)
) WITHOUT ROWID;

-- Reactions: each account's emojis on a message, read a history page's
-- messages at a time.
CREATE TABLE message_reactions (
    message_id INTEGER NOT NULL REFERENCES messages(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    emoji      TEXT    NOT NULL,
    reacted_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, account_id, emoji)
) WITHOUT ROWID;
