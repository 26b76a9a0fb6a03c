-- Version 17: a message recalled by its sender (or a group's owner) keeps
-- its row, seq and client id, with its text emptied and its reference
-- (a picture's media) dropped; `recalled_at` and `recalled_by` say when
-- and by whom (both NULL: not recalled).
ALTER TABLE messages ADD COLUMN recalled_at INTEGER;
ALTER TABLE messages ADD COLUMN recalled_by INTEGER REFERENCES accounts(id);
