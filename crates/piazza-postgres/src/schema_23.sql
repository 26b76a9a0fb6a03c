-- Version 23: accounts deleted by their owners (`piazza_core::
-- account_deletion`). `deleted_at` is set when an account is deactivated,
-- cleared if it logs in again within its grace period, and kept once it
-- is erased: nothing reaches a deleted account.
ALTER TABLE accounts ADD COLUMN deleted_at BIGINT;

-- A deactivated account's own face, kept through its grace period so that
-- logging in gives it back; its username stays reserved here meanwhile
-- (the account's row shows `#<id>`).
CREATE TABLE account_deletions (
    account_id      BIGINT  PRIMARY KEY REFERENCES accounts(id),
    username        TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL,
    avatar_media_id BIGINT  REFERENCES media(id),
    bio             TEXT,
    requested_at    BIGINT  NOT NULL,
    erase_at        BIGINT  NOT NULL
);
CREATE INDEX account_deletions_by_erase_at ON account_deletions (erase_at, account_id);
