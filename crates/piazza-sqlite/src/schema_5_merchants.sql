-- Version 5: merchants, the payments made to them and their refunds. The
-- money itself is in the ledger (each merchant's settlement account); these
-- rows say who owns what and how much of a payment went back.

CREATE TABLE merchants (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER NOT NULL REFERENCES accounts(id),
    name       TEXT    NOT NULL,
    city       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX merchants_by_owner ON merchants(owner_id);

CREATE TABLE payments (
    id             INTEGER PRIMARY KEY,
    merchant_id    INTEGER NOT NULL REFERENCES merchants(id),
    buyer_id       INTEGER NOT NULL REFERENCES accounts(id),
    amount_minor   INTEGER NOT NULL CHECK (amount_minor > 0),
    currency       TEXT    NOT NULL,
    refunded_minor INTEGER NOT NULL DEFAULT 0
        CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
    created_at     INTEGER NOT NULL
);
CREATE INDEX payments_by_merchant ON payments(merchant_id);

CREATE TABLE refunds (
    id           INTEGER PRIMARY KEY,
    payment_id   INTEGER NOT NULL REFERENCES payments(id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    created_at   INTEGER NOT NULL
);
CREATE INDEX refunds_by_payment ON refunds(payment_id);
