-- Version 36: exports of everything an account holds (`piazza_core::
-- exports`). A row is an export asked for; its zip is made as it is
-- downloaded. The rows count an account's exports a day.
CREATE TABLE exports (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX exports_by_account ON exports (account_id, created_at);
