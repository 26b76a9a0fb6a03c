-- Piazza on PostgreSQL, schema 9 (SQLite's 22): a recall takes its
-- message's mentions away by (conversation, seq), which the primary key
-- (conversation, account, seq) cannot find without a scan.
CREATE INDEX mentions_by_seq ON mentions(conversation_id, seq);
