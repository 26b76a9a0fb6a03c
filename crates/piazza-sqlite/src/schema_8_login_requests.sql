-- Version 8: QR log-in requests. A page asks for one and shows its code
-- as a QR code; a logged-in device approves it, which creates the new
-- device; the page then picks the device's token up, once. Only hashes of
-- the page's secret and of the code are kept, and the token is made at
-- pick-up, so nothing here lets anyone log in.
CREATE TABLE login_requests (
    id           TEXT    PRIMARY KEY,
    code_hash    BLOB    NOT NULL,
    secret_hash  BLOB    NOT NULL,
    device_name  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    -- Set together on approval.
    account_id   INTEGER REFERENCES accounts(id),
    device_id    INTEGER REFERENCES devices(id),
    approved_at  INTEGER,
    -- Set when the page picked the token up.
    delivered_at INTEGER
);
-- For counting live requests and purging old ones.
CREATE INDEX login_requests_by_expiry ON login_requests(expires_at);
