-- Version 19: messages as people know them, and a list that counts
-- nothing at read time.
--
-- What a message carries besides its text and kind (the message it
-- answers, mentions, a forward's source, a place, a contact card): the
-- JSON of piazza_domain::event::stored::Extra, NULL for most messages.
ALTER TABLE messages ADD COLUMN extra TEXT;

-- Each member's own settings of a conversation (0 or 1).
ALTER TABLE members ADD COLUMN muted    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN pinned   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
CREATE INDEX members_pinned ON members(account_id) WHERE pinned = 1;

-- How many members a conversation has, kept as they join and leave.
ALTER TABLE conversations ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE conversations
SET member_count = (SELECT COUNT(*) FROM members WHERE conversation_id = conversations.id);

-- Who a message mentions: account 0 is every member. A member's mention
-- count is its rows (and the conversation's 0 rows) after its read
-- position: only unread mentions are ever counted.
CREATE TABLE mentions (
    conversation_id INTEGER NOT NULL,
    account_id      INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, account_id, seq)
) WITHOUT ROWID;
