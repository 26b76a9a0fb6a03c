-- Piazza on PostgreSQL, schema 4 (SQLite's 17): a message recalled by its
-- sender (or a group's owner) keeps its row, seq and client id, with its
-- text emptied and its reference (a picture's media) dropped;
-- `recalled_at` says when. NULL: not recalled.
ALTER TABLE messages ADD COLUMN recalled_at BIGINT;
