-- Version 14: the bytes of media each account keeps, for its quota
-- (`limits.media_quota_bytes_per_account`): the sum of its `media` rows'
-- `bytes`, so each content counts once per account as its row does. The
-- writer job that inserts a row adds to it, so a check reads one row
-- instead of summing an account's uploads; `piazza admin check` verifies
-- the sum.
CREATE TABLE media_usage (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
    bytes      INTEGER NOT NULL CHECK (bytes >= 0)
);
INSERT INTO media_usage (account_id, bytes)
    SELECT uploader_id, SUM(bytes) FROM media GROUP BY uploader_id;
