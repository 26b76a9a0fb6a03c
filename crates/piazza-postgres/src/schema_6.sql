-- Piazza on PostgreSQL, schema 6 (SQLite's 19): messages as people know
-- them, and a conversation list that counts nothing at read time.
--
-- What a message carries besides its text and kind (the message it
-- answers, mentions, a forward's source, a place, a contact card): the
-- JSON of piazza_domain::event::stored::Extra, as SQLite keeps it; NULL
-- for most messages.
ALTER TABLE messages ADD COLUMN extra TEXT;

-- Each member's own settings of a conversation.
ALTER TABLE members ADD COLUMN muted    BOOLEAN NOT NULL DEFAULT FALSE,
                    ADD COLUMN pinned   BOOLEAN NOT NULL DEFAULT FALSE,
                    ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX members_pinned ON members(account_id) WHERE pinned;

-- How many members a conversation has, kept as they join and leave.
ALTER TABLE conversations ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE conversations c
SET member_count = (SELECT count(*) FROM members m WHERE m.conversation_id = c.id);

-- Who a message mentions: account 0 is every member. A member's mention
-- count is its rows (and the conversation's 0 rows) after its read
-- position: only unread mentions are ever counted. No foreign keys, as
-- for the other hot tables (schema 3): written with its message.
CREATE TABLE mentions (
    conversation_id BIGINT NOT NULL,
    account_id      BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, account_id, seq)
);
