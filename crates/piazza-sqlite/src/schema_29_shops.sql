-- Version 29: shops. A shop with its unique handle, settling into a
-- merchant of its owner's; the staff its owner names; its products, each
-- with up to nine pictures in order and its variants (a price and the
-- stock's three counts, which an order's stock moves shift between one
-- another with one conditional UPDATE each); each account's cart; and
-- orders with their items and refund requests, whose columns are
-- `piazza_domain::order::Order` laid flat. The same tables and columns as
-- PostgreSQL's (`admin migrate-store` copies them by name). Booleans are
-- 0/1, times unix milliseconds, as everywhere else.
CREATE TABLE shops (
    id            INTEGER PRIMARY KEY,
    owner_id      INTEGER NOT NULL REFERENCES accounts(id),
    handle        TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    logo_media_id INTEGER REFERENCES media(id),
    merchant_id   INTEGER NOT NULL REFERENCES merchants(id),
    created_at    INTEGER NOT NULL
);
CREATE INDEX shops_by_owner ON shops(owner_id);
-- Whether a picture is a shop's logo (anyone may see it) is asked of
-- every picture served; the few shops with a logo are indexed.
CREATE INDEX shops_by_logo ON shops(logo_media_id) WHERE logo_media_id IS NOT NULL;

CREATE TABLE shop_staff (
    shop_id    INTEGER NOT NULL REFERENCES shops(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (shop_id, account_id)
) WITHOUT ROWID;
CREATE INDEX shop_staff_by_account ON shop_staff(account_id);

CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    shop_id     INTEGER NOT NULL REFERENCES shops(id),
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL,
    listed      INTEGER NOT NULL DEFAULT 1 CHECK (listed IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX products_by_shop ON products(shop_id, id);

CREATE TABLE product_media (
    product_id INTEGER NOT NULL REFERENCES products(id),
    position   INTEGER NOT NULL CHECK (position BETWEEN 0 AND 8),
    media_id   INTEGER NOT NULL REFERENCES media(id),
    PRIMARY KEY (product_id, position)
) WITHOUT ROWID;
CREATE INDEX product_media_by_media ON product_media(media_id);

CREATE TABLE variants (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL REFERENCES products(id),
    shop_id     INTEGER NOT NULL REFERENCES shops(id),
    sku         TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    price_minor INTEGER NOT NULL CHECK (price_minor > 0),
    available   INTEGER NOT NULL CHECK (available >= 0),
    reserved    INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    sold        INTEGER NOT NULL DEFAULT 0 CHECK (sold >= 0),
    UNIQUE (shop_id, sku)
);
CREATE INDEX variants_by_product ON variants(product_id, id);

CREATE TABLE cart_items (
    account_id             INTEGER NOT NULL REFERENCES accounts(id),
    variant_id             INTEGER NOT NULL REFERENCES variants(id),
    quantity               INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    price_minor_when_added INTEGER NOT NULL,
    added_at               INTEGER NOT NULL,
    PRIMARY KEY (account_id, variant_id)
) WITHOUT ROWID;

-- `status`, `confirmed_by` and `cancelled_by` are the domain's stored
-- names (`as_str`); a moment and what goes with it are set together
-- (shipped_at with carrier and tracking, completed_at with confirmed_by,
-- cancelled_at with cancelled_by and cancel_refund_minor) or not at all.
-- `shipping_address` is `piazza_domain::shop::ShippingAddress` as JSON.
CREATE TABLE orders (
    id                             INTEGER PRIMARY KEY,
    shop_id                        INTEGER NOT NULL REFERENCES shops(id),
    buyer_id                       INTEGER NOT NULL REFERENCES accounts(id),
    currency                       TEXT    NOT NULL,
    status                         TEXT    NOT NULL,
    total_minor                    INTEGER NOT NULL CHECK (total_minor > 0),
    placed_at                      INTEGER NOT NULL,
    pay_by                         INTEGER NOT NULL,
    paid_at                        INTEGER,
    shipped_at                     INTEGER,
    carrier                        TEXT,
    tracking                       TEXT,
    completed_at                   INTEGER,
    confirmed_by                   TEXT,
    cancelled_at                   INTEGER,
    cancelled_by                   TEXT,
    cancel_refund_minor            INTEGER,
    released_minor                 INTEGER NOT NULL DEFAULT 0,
    refunded_from_escrow_minor     INTEGER NOT NULL DEFAULT 0,
    refunded_from_settlement_minor INTEGER NOT NULL DEFAULT 0,
    shipping_address               TEXT    NOT NULL
);
CREATE INDEX orders_by_buyer ON orders(buyer_id, id);
CREATE INDEX orders_by_shop ON orders(shop_id, id);
-- What the sweeper looks for: unpaid orders by deadline, shipped ones by
-- when they shipped; each index holds only the orders waiting.
CREATE INDEX orders_unpaid_by_pay_by ON orders(pay_by) WHERE status = 'pending_payment';
CREATE INDEX orders_shipped_by_shipped_at ON orders(shipped_at) WHERE status = 'shipped';

CREATE TABLE order_items (
    order_id         INTEGER NOT NULL REFERENCES orders(id),
    position         INTEGER NOT NULL,
    variant_id       INTEGER NOT NULL REFERENCES variants(id),
    quantity         INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor > 0),
    PRIMARY KEY (order_id, position)
) WITHOUT ROWID;
CREATE INDEX order_items_by_variant ON order_items(variant_id);

CREATE TABLE order_refund_requests (
    order_id              INTEGER NOT NULL REFERENCES orders(id),
    idx                   INTEGER NOT NULL,
    amount_minor          INTEGER NOT NULL CHECK (amount_minor > 0),
    reason                TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    requested_at          INTEGER NOT NULL,
    decided_at            INTEGER,
    from_escrow_minor     INTEGER NOT NULL DEFAULT 0,
    from_settlement_minor INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, idx)
) WITHOUT ROWID;
