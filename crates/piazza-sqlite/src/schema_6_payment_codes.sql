-- Version 6: a buyer's one-use payment codes, and payments a merchant
-- collected that wait for the buyer to confirm them.

-- Only a hash of the code is kept; it belongs to the device that asked.
CREATE TABLE payment_codes (
    code_hash  BLOB    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    device_id  INTEGER NOT NULL REFERENCES devices(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

-- 1 completed (the money moved), 0 waiting for the buyer's confirmation
-- (nothing moved yet).
ALTER TABLE payments ADD COLUMN status INTEGER NOT NULL DEFAULT 1;
