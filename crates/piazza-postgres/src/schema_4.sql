-- Piazza on PostgreSQL, schema 4 (SQLite's 17): a message recalled by its
-- sender (or a group's owner) keeps its row, seq and client id, with its
-- text emptied and its reference (a picture's media) dropped;
-- `recalled_at` and `recalled_by` say when and by whom (both NULL: not
-- recalled). No foreign key, as for the table's other account column
-- (schema 3): the recaller is a member, read in the same transaction.
ALTER TABLE messages ADD COLUMN recalled_at BIGINT,
                     ADD COLUMN recalled_by BIGINT;
