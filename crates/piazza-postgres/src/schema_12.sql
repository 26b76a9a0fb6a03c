-- Piazza on PostgreSQL, schema 12 (SQLite's 25): a remark, an account's
-- own name for a contact, on its side of the pair; and each account's
-- contact code, the random token its QR code carries, one per account,
-- replaced on reset.
ALTER TABLE contacts ADD COLUMN remark TEXT
    CHECK (remark IS NULL OR char_length(remark) BETWEEN 1 AND 64);

CREATE TABLE contact_codes (
    account_id BIGINT NOT NULL PRIMARY KEY REFERENCES accounts(id),
    token      TEXT   NOT NULL UNIQUE CHECK (char_length(token) = 22),
    created_at BIGINT NOT NULL
);
