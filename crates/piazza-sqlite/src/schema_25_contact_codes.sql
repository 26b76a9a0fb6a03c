-- Version 25 (issue 14): a remark, an account's own name for a contact,
-- on its side of the pair (the other side's row is the contact's, so
-- neither ever reads the other's); and each account's contact code, the
-- random token its QR code carries, one per account, replaced on reset.
ALTER TABLE contacts ADD COLUMN remark TEXT
    CHECK (remark IS NULL OR length(remark) BETWEEN 1 AND 64);

CREATE TABLE contact_codes (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
    token      TEXT    NOT NULL UNIQUE CHECK (length(token) = 22),
    created_at INTEGER NOT NULL
);
