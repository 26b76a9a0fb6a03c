//! Shops: the SQL behind `piazza_core::shops`. SQLite's one writer makes
//! every read of a write job stand until it commits, so the
//! `…_for_update` reads lock nothing. A stock move is still one
//! conditional UPDATE (enough available to reserve, enough reserved to
//! release or sell): its condition, not a read before it, is what
//! refuses to oversell.
//!
//! An order is its `orders` row (the state machine's fields laid flat),
//! its `order_items` by position and its `order_refund_requests` by
//! index; it is rebuilt only if it is one the machine can reach, and is
//! `Error::Corrupt` otherwise, so that no move is made from damage.

use piazza_core::Result;
use piazza_core::shops::{
    CartItem, Due, ItemNames, NewOrder, NewProduct, NewShop, NewVariant, OrderSide, Product,
    ProductPatch, ProductQuery, Reads, Shop, StoredOrder, Variant, VariantPatch, Writes,
};
use piazza_domain::money::{AMOUNT_MINOR_MAX, AmountMinor, Currency};
use piazza_domain::order::{
    Cancellation, CancelledBy, ConfirmedBy, ORDER_ITEMS_MAX, Order, OrderItem, OrderStatus,
    REFUND_REQUESTS_PER_ORDER_MAX, RefundReason, RefundRequest, RefundRequestIndex, RefundStatus,
    Shipment, StockMove, StockMoveKind,
};
use piazza_domain::shop::{self, Handle, Sku};
use piazza_domain::{
    AccountId, ConversationId, MediaId, MerchantId, OrderId, ProductId, ShopId, Timestamp,
    VariantId,
};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params, params_from_iter};

use crate::channels::{changed, count, exists, like_pattern};
use crate::engine::{Db, Sql};
use crate::error::Error;
use crate::writer::WriteCtx;

const SHOP_COLUMNS: &str =
    "id, owner_id, handle, name, description, logo_media_id, merchant_id, created_at";
const PRODUCT_COLUMNS: &str = "id, shop_id, title, description, listed, created_at, updated_at";
const VARIANT_COLUMNS: &str =
    "id, product_id, shop_id, sku, name, price_minor, available, reserved, sold";
const ORDER_COLUMNS: &str = "id, shop_id, buyer_id, currency, status, total_minor, placed_at, \
     pay_by, paid_at, shipped_at, carrier, tracking, completed_at, confirmed_by, cancelled_at, \
     cancelled_by, cancel_refund_minor, released_minor, refunded_from_escrow_minor, \
     refunded_from_settlement_minor, shipping_address, conversation_id";
const REFUND_COLUMNS: &str = "idx, amount_minor, reason, status, requested_at, decided_at, \
     from_escrow_minor, from_settlement_minor";

/// A row mapping that may find the row is not what this version writes.
type Rebuilt<T> = crate::error::Result<T>;

/// `ids` each once, in their first order.
fn distinct<T: Copy + Eq + std::hash::Hash>(ids: &[T]) -> impl Iterator<Item = T> + '_ {
    let mut seen = std::collections::HashSet::new();
    ids.iter().copied().filter(move |id| seen.insert(*id))
}

/// The first row `sql` answers, mapped by `of`.
fn one<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    of: impl Fn(&Row<'_>) -> Rebuilt<T>,
) -> Result<Option<T>> {
    let mut statement = conn.prepare_cached(sql).sql()?;
    let mut rows = statement.query(params).sql()?;
    match rows.next().sql()? {
        Some(row) => Ok(Some(of(row)?)),
        None => Ok(None),
    }
}

/// Every row `sql` answers, each mapped by `of`.
fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    of: impl Fn(&Row<'_>) -> Rebuilt<T>,
) -> Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).sql()?;
    let mut rows = statement.query(params).sql()?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().sql()? {
        found.push(of(row)?);
    }
    Ok(found)
}

fn shop_of(row: &Row<'_>) -> Rebuilt<Shop> {
    Ok(Shop {
        shop_id: ShopId::from_row(row.get(0)?),
        owner: AccountId::from_row(row.get(1)?),
        handle: Handle::from_store(row.get(2)?),
        name: row.get(3)?,
        description: row.get(4)?,
        logo: row.get::<_, Option<i64>>(5)?.map(MediaId::from_row),
        merchant: MerchantId::from_row(row.get(6)?),
        created_at: Timestamp::from_unix_ms(row.get(7)?),
    })
}

/// A product without its pictures ([`with_media`] adds them).
fn product_of(row: &Row<'_>) -> Rebuilt<Product> {
    Ok(Product {
        product_id: ProductId::from_row(row.get(0)?),
        shop_id: ShopId::from_row(row.get(1)?),
        title: row.get(2)?,
        description: row.get(3)?,
        media: Vec::new(),
        listed: row.get(4)?,
        created_at: Timestamp::from_unix_ms(row.get(5)?),
        updated_at: Timestamp::from_unix_ms(row.get(6)?),
    })
}

fn variant_of(row: &Row<'_>) -> Rebuilt<Variant> {
    let variant_id = VariantId::from_row(row.get(0)?);
    let price: i64 = row.get(5)?;
    Ok(Variant {
        variant_id,
        product_id: ProductId::from_row(row.get(1)?),
        shop_id: ShopId::from_row(row.get(2)?),
        sku: Sku::from_store(row.get(3)?),
        name: row.get(4)?,
        price: AmountMinor::positive(price)
            .map_err(|_| Error::Corrupt(format!("{variant_id}: price {price}")))?,
        available: row.get(6)?,
        reserved: row.get(7)?,
        sold: row.get(8)?,
    })
}

fn cart_item_of(row: &Row<'_>) -> Rebuilt<CartItem> {
    let variant_id = VariantId::from_row(row.get(0)?);
    let corrupt = |what: &str| Error::Corrupt(format!("a cart line of {variant_id}: {what}"));
    Ok(CartItem {
        variant_id,
        quantity: u32::try_from(row.get::<_, i64>(1)?).map_err(|_| corrupt("quantity"))?,
        price_when_added: AmountMinor::positive(row.get(2)?).map_err(|_| corrupt("price"))?,
        added_at: Timestamp::from_unix_ms(row.get(3)?),
    })
}

fn load_shop(conn: &Connection, sql: &str, key: &dyn rusqlite::ToSql) -> Result<Option<Shop>> {
    one(conn, sql, [key], shop_of)
}

/// A product's pictures, in the order shown.
fn product_media(conn: &Connection, product: ProductId) -> Result<Vec<MediaId>> {
    all(
        conn,
        "SELECT media_id FROM product_media WHERE product_id = ?1 ORDER BY position",
        [product.row()],
        |row| Ok(MediaId::from_row(row.get(0)?)),
    )
}

/// `products` with their pictures.
fn with_media(conn: &Connection, mut products: Vec<Product>) -> Result<Vec<Product>> {
    for product in &mut products {
        product.media = product_media(conn, product.product_id)?;
    }
    Ok(products)
}

/// A product with its pictures, in one statement (a placing reads one
/// per line).
fn load_product(conn: &Connection, product: ProductId) -> Result<Option<Product>> {
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS},
                (SELECT group_concat(media_id, ',' ORDER BY position) FROM product_media
                 WHERE product_id = products.id)
         FROM products WHERE id = ?1"
    );
    one(conn, &sql, [product.row()], |row| {
        let mut found = product_of(row)?;
        let media: Option<String> = row.get(7)?;
        found.media = media_list(product, media.as_deref())?;
        Ok(found)
    })
}

/// The pictures `group_concat` listed, in order.
fn media_list(product: ProductId, listed: Option<&str>) -> Rebuilt<Vec<MediaId>> {
    let Some(listed) = listed else {
        return Ok(Vec::new());
    };
    listed
        .split(',')
        .map(|id| {
            let row = id
                .parse()
                .map_err(|_| Error::Corrupt(format!("{product}: a picture named {id:?}")))?;
            Ok(MediaId::from_row(row))
        })
        .collect()
}

fn load_variant(conn: &Connection, variant: VariantId) -> Result<Option<Variant>> {
    let sql = format!("SELECT {VARIANT_COLUMNS} FROM variants WHERE id = ?1");
    one(conn, &sql, [variant.row()], variant_of)
}

/// The variants of `variants` that exist, each read once.
fn load_variants(conn: &Connection, variants: &[VariantId]) -> Result<Vec<Variant>> {
    let mut found = Vec::with_capacity(variants.len());
    for variant in distinct(variants) {
        found.extend(load_variant(conn, variant)?);
    }
    Ok(found)
}

impl Reads for Db<'_> {
    fn shop(&mut self, shop: ShopId) -> Result<Option<Shop>> {
        let sql = format!("SELECT {SHOP_COLUMNS} FROM shops WHERE id = ?1");
        load_shop(self.0, &sql, &shop.row())
    }

    fn shop_by_handle(&mut self, handle: &Handle) -> Result<Option<Shop>> {
        let sql = format!("SELECT {SHOP_COLUMNS} FROM shops WHERE handle = ?1");
        load_shop(self.0, &sql, &handle.as_str())
    }

    fn managed_shops(&mut self, account: AccountId, limit: usize) -> Result<Vec<Shop>> {
        let sql = format!(
            "SELECT {SHOP_COLUMNS} FROM shops
             WHERE id IN (SELECT id FROM shops WHERE owner_id = ?1
                          UNION SELECT shop_id FROM shop_staff WHERE account_id = ?1)
             ORDER BY id LIMIT ?2"
        );
        all(self.0, &sql, params![account.row(), limit as i64], shop_of)
    }

    fn is_shop_staff(&mut self, shop: ShopId, account: AccountId) -> Result<bool> {
        exists(
            self.0,
            "SELECT 1 FROM shop_staff WHERE shop_id = ?1 AND account_id = ?2",
            shop.row(),
            account.row(),
        )
    }

    fn shop_staff(&mut self, shop: ShopId) -> Result<Vec<AccountId>> {
        all(
            self.0,
            "SELECT account_id FROM shop_staff WHERE shop_id = ?1 ORDER BY added_at, account_id",
            [shop.row()],
            |row| Ok(AccountId::from_row(row.get(0)?)),
        )
    }

    fn product(&mut self, product: ProductId) -> Result<Option<Product>> {
        load_product(self.0, product)
    }

    /// A query per product: in-process, a statement is cheaper than
    /// building one for the whole page.
    fn variants_of(&mut self, products: &[ProductId]) -> Result<Vec<Variant>> {
        let sql =
            format!("SELECT {VARIANT_COLUMNS} FROM variants WHERE product_id = ?1 ORDER BY id");
        let mut found = Vec::new();
        for product in distinct(products) {
            found.extend(all(self.0, &sql, [product.row()], variant_of)?);
        }
        Ok(found)
    }

    fn variant(&mut self, variant: VariantId) -> Result<Option<Variant>> {
        load_variant(self.0, variant)
    }

    fn variants(&mut self, variants: &[VariantId]) -> Result<Vec<Variant>> {
        load_variants(self.0, variants)
    }

    fn products(&mut self, products: &[ProductId]) -> Result<Vec<Product>> {
        let mut found = Vec::with_capacity(products.len());
        for product in distinct(products) {
            found.extend(load_product(self.0, product)?);
        }
        Ok(found)
    }

    fn find_products(&mut self, query: &ProductQuery) -> Result<Vec<Product>> {
        // Two statements rather than `?1 IS NULL OR shop_id = ?1`, so that
        // a shop's products come from its own index.
        let shop_filter = match query.shop {
            Some(_) => "shop_id = ?1",
            None => "?1 IS NULL",
        };
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM products
             WHERE {shop_filter} AND id < ?2 AND (NOT ?3 OR listed = 1)
               AND (lower(title) LIKE ?4 ESCAPE '\\' OR lower(description) LIKE ?4 ESCAPE '\\')
             ORDER BY id DESC LIMIT ?5"
        );
        let found = all(
            self.0,
            &sql,
            params![
                query.shop.map(ShopId::row),
                query.before.map_or(i64::MAX, ProductId::row),
                query.listed_only,
                like_pattern(&query.needle),
                query.limit as i64
            ],
            product_of,
        )?;
        with_media(self.0, found)
    }

    fn cart_items(&mut self, account: AccountId) -> Result<Vec<CartItem>> {
        all(
            self.0,
            "SELECT variant_id, quantity, price_minor_when_added, added_at FROM cart_items
             WHERE account_id = ?1 ORDER BY added_at, variant_id",
            [account.row()],
            cart_item_of,
        )
    }

    fn order(&mut self, order: OrderId) -> Result<Option<StoredOrder>> {
        load_order(self.0, order)
    }

    fn order_shop(&mut self, order: OrderId) -> Result<Option<ShopId>> {
        one(
            self.0,
            "SELECT shop_id FROM orders WHERE id = ?1",
            [order.row()],
            |row| Ok(ShopId::from_row(row.get(0)?)),
        )
    }

    fn orders(
        &mut self,
        side: OrderSide,
        status: Option<OrderStatus>,
        before: Option<OrderId>,
        limit: usize,
    ) -> Result<Vec<StoredOrder>> {
        let before = before.map_or(i64::MAX, OrderId::row);
        let status = status.map(OrderStatus::as_str);
        let ids = match side {
            OrderSide::Buyer(buyer) => all(
                self.0,
                "SELECT id FROM orders
                 WHERE buyer_id = ?1 AND id < ?2 AND (?3 IS NULL OR status = ?3)
                 ORDER BY id DESC LIMIT ?4",
                params![buyer.row(), before, status, limit as i64],
                |row| Ok(OrderId::from_row(row.get(0)?)),
            )?,
            OrderSide::Shop { account, shop } => {
                managed_order_ids(self.0, account, shop, status, before, limit)?
            }
        };
        load_orders(self.0, &ids)
    }

    fn is_shop_media(&mut self, media: MediaId) -> Result<bool> {
        exists(
            self.0,
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM shops WHERE logo_media_id = ?1)
                OR EXISTS (SELECT 1 FROM product_media m JOIN products p ON p.id = m.product_id
                           WHERE m.media_id = ?2 AND p.listed = 1)",
            media.row(),
            media.row(),
        )
    }
}

/// The ids of a page of the orders of the shops `account` owns or is
/// staff of (`shop` only, when given), newest first. Each shop gives at
/// most `limit` from its own index, so a page never walks the orders of
/// every shop.
fn managed_order_ids(
    conn: &Connection,
    account: AccountId,
    shop: Option<ShopId>,
    status: Option<&str>,
    before: i64,
    limit: usize,
) -> Result<Vec<OrderId>> {
    all(
        conn,
        "SELECT o.id FROM (
             SELECT id AS shop_id FROM shops WHERE owner_id = ?1
             UNION SELECT shop_id FROM shop_staff WHERE account_id = ?1
         ) managed
         JOIN orders o ON o.id IN (
             SELECT id FROM orders
             WHERE shop_id = managed.shop_id AND id < ?3 AND (?4 IS NULL OR status = ?4)
             ORDER BY id DESC LIMIT ?5)
         WHERE ?2 IS NULL OR managed.shop_id = ?2
         ORDER BY o.id DESC LIMIT ?5",
        params![
            account.row(),
            shop.map(ShopId::row),
            before,
            status,
            limit as i64
        ],
        |row| Ok(OrderId::from_row(row.get(0)?)),
    )
}

/// The orders `ids` names, in that order; one gone meanwhile is left out.
fn load_orders(conn: &Connection, ids: &[OrderId]) -> Result<Vec<StoredOrder>> {
    let mut orders = Vec::with_capacity(ids.len());
    for &id in ids {
        orders.extend(load_order(conn, id)?);
    }
    Ok(orders)
}

/// An order with its items and refund requests, if it is one the state
/// machine can reach.
fn load_order(conn: &Connection, order: OrderId) -> Result<Option<StoredOrder>> {
    let Some(stored) = rebuild_order(conn, order)? else {
        return Ok(None);
    };
    let violations = stored.order.check_invariants();
    if !violations.is_empty() {
        let found: Vec<String> = violations.iter().map(ToString::to_string).collect();
        return Err(Error::Corrupt(format!("{order}: {}", found.join("; "))).into());
    }
    Ok(Some(stored))
}

/// An order rebuilt from its rows, `Error::Corrupt` if they do not make
/// one, but not yet held to the state machine's invariants: the checker
/// (`integrity.rs`) reports each one it breaks.
pub(crate) fn rebuild_order(conn: &Connection, order: OrderId) -> Result<Option<StoredOrder>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1");
    let Some(mut stored) = one(conn, &sql, [order.row()], stored_order_of)? else {
        return Ok(None);
    };
    (stored.order.items, stored.names) = order_items(conn, order)?.into_iter().unzip();
    stored.order.refund_requests = refund_requests(conn, order)?;
    Ok(Some(stored))
}

/// An amount an order moved or refunded: 0 to `AMOUNT_MINOR_MAX`, as the
/// ledger bounds it (so that checking the order's sums cannot overflow).
fn moved_minor(value: i64) -> Option<i64> {
    (0..=AMOUNT_MINOR_MAX).contains(&value).then_some(value)
}

/// An order's row, its items and refund requests not yet read.
fn stored_order_of(row: &Row<'_>) -> Rebuilt<StoredOrder> {
    let order_id = OrderId::from_row(row.get(0)?);
    let corrupt = |what: &str| Error::Corrupt(format!("{order_id}: {what}"));
    let currency: String = row.get(3)?;
    let address: String = row.get(20)?;
    Ok(StoredOrder {
        order_id,
        shop_id: ShopId::from_row(row.get(1)?),
        buyer: AccountId::from_row(row.get(2)?),
        conversation: row.get::<_, Option<i64>>(21)?.map(ConversationId::from_row),
        currency: Currency::parse(&currency).map_err(|_| corrupt("currency"))?,
        shipping: serde_json::from_str(&address).map_err(|_| corrupt("shipping address"))?,
        order: order_of(row, &corrupt)?,
        names: Vec::new(),
    })
}

/// The state machine's fields of an order's row.
fn order_of(row: &Row<'_>, corrupt: &dyn Fn(&str) -> Error) -> Rebuilt<Order> {
    let status: String = row.get(4)?;
    let minor = |column: usize, name: &str| -> Rebuilt<i64> {
        moved_minor(row.get(column)?).ok_or_else(|| corrupt(name))
    };
    Ok(Order {
        status: OrderStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        items: Vec::new(),
        total: AmountMinor::positive(row.get(5)?).map_err(|_| corrupt("total"))?,
        placed_at: Timestamp::from_unix_ms(row.get(6)?),
        pay_by: Timestamp::from_unix_ms(row.get(7)?),
        paid_at: row.get::<_, Option<i64>>(8)?.map(Timestamp::from_unix_ms),
        shipment: shipment_of(row, corrupt)?,
        completed: completion_of(row, corrupt)?,
        cancelled: cancellation_of(row, corrupt)?,
        released_minor: minor(17, "released")?,
        refunded_from_escrow_minor: minor(18, "refunded from escrow")?,
        refunded_from_settlement_minor: minor(19, "refunded from settlement")?,
        refund_requests: Vec::new(),
    })
}

fn shipment_of(
    row: &Row<'_>,
    corrupt: &dyn Fn(&str) -> Error,
) -> Rebuilt<Option<(Shipment, Timestamp)>> {
    let at: Option<i64> = row.get(9)?;
    let carrier: Option<String> = row.get(10)?;
    let tracking: Option<String> = row.get(11)?;
    match (at, carrier, tracking) {
        (None, None, None) => Ok(None),
        (Some(at), Some(carrier), Some(tracking)) => Ok(Some((
            Shipment::from_store(carrier, tracking),
            Timestamp::from_unix_ms(at),
        ))),
        _ => Err(corrupt("shipped_at, carrier and tracking not set together")),
    }
}

fn completion_of(
    row: &Row<'_>,
    corrupt: &dyn Fn(&str) -> Error,
) -> Rebuilt<Option<(ConfirmedBy, Timestamp)>> {
    let at: Option<i64> = row.get(12)?;
    let by: Option<String> = row.get(13)?;
    match (at, by) {
        (None, None) => Ok(None),
        (Some(at), Some(by)) => {
            let by = ConfirmedBy::parse(&by).ok_or_else(|| corrupt("confirmed_by"))?;
            Ok(Some((by, Timestamp::from_unix_ms(at))))
        }
        _ => Err(corrupt("completed_at and confirmed_by not set together")),
    }
}

fn cancellation_of(
    row: &Row<'_>,
    corrupt: &dyn Fn(&str) -> Error,
) -> Rebuilt<Option<Cancellation>> {
    let at: Option<i64> = row.get(14)?;
    let by: Option<String> = row.get(15)?;
    let refund: Option<i64> = row.get(16)?;
    match (at, by, refund) {
        (None, None, None) => Ok(None),
        (Some(at), Some(by), Some(refund)) => Ok(Some(Cancellation {
            at: Timestamp::from_unix_ms(at),
            by: CancelledBy::parse(&by).ok_or_else(|| corrupt("cancelled_by"))?,
            refund_minor: moved_minor(refund).ok_or_else(|| corrupt("cancel_refund_minor"))?,
        })),
        _ => Err(corrupt(
            "cancelled_at, cancelled_by and cancel_refund_minor not set together",
        )),
    }
}

/// Rows numbered from 0 by their first value, in order; a gap or a
/// repeat is damage (a refund request is named by its index).
fn numbered<T>(rows: Vec<(i64, T)>, corrupt: impl Fn() -> Error) -> Rebuilt<Vec<T>> {
    rows.into_iter()
        .enumerate()
        .map(|(index, (number, value))| match usize::try_from(number) {
            Ok(number) if number == index => Ok(value),
            _ => Err(corrupt()),
        })
        .collect()
}

/// An order's items by position; one more than an order may hold is
/// read, so that `check_invariants` reports it without summing them all.
fn order_items(conn: &Connection, order: OrderId) -> Result<Vec<(OrderItem, Option<ItemNames>)>> {
    let corrupt = |what: &str| Error::Corrupt(format!("an item of {order}: {what}"));
    let rows = all(
        conn,
        "SELECT position, variant_id, quantity, unit_price_minor, title, variant_name, sku
         FROM order_items WHERE order_id = ?1 ORDER BY position LIMIT ?2",
        params![order.row(), ORDER_ITEMS_MAX as i64 + 1],
        |row| {
            let item = OrderItem {
                variant: VariantId::from_row(row.get(1)?),
                quantity: u32::try_from(row.get::<_, i64>(2)?).map_err(|_| corrupt("quantity"))?,
                unit_price: AmountMinor::positive(row.get(3)?).map_err(|_| corrupt("price"))?,
            };
            let names = match (row.get(4)?, row.get(5)?, row.get(6)?) {
                (Some(title), Some(variant_name), Some(sku)) => Some(ItemNames {
                    title,
                    variant_name,
                    sku,
                }),
                _ => None,
            };
            Ok((row.get(0)?, (item, names)))
        },
    )?;
    Ok(numbered(rows, || corrupt("positions not 0, 1, 2…"))?)
}

/// An order's refund requests by index, at most one more than an order
/// may receive (as for its items).
fn refund_requests(conn: &Connection, order: OrderId) -> Result<Vec<RefundRequest>> {
    let sql = format!(
        "SELECT {REFUND_COLUMNS} FROM order_refund_requests
         WHERE order_id = ?1 ORDER BY idx LIMIT ?2"
    );
    let limit = REFUND_REQUESTS_PER_ORDER_MAX as i64 + 1;
    let rows = all(conn, &sql, params![order.row(), limit], |row| {
        Ok((row.get(0)?, refund_request_of(row, order)?))
    })?;
    let corrupt = || Error::Corrupt(format!("{order}: refund indexes not 0, 1, 2…"));
    Ok(numbered(rows, corrupt)?)
}

fn refund_request_of(row: &Row<'_>, order: OrderId) -> Rebuilt<RefundRequest> {
    let corrupt = |what: &str| Error::Corrupt(format!("a refund request of {order}: {what}"));
    let status: String = row.get(3)?;
    let minor = |column: usize| -> Rebuilt<i64> {
        moved_minor(row.get(column)?).ok_or_else(|| corrupt("amount refunded"))
    };
    Ok(RefundRequest {
        amount: AmountMinor::positive(row.get(1)?).map_err(|_| corrupt("amount"))?,
        reason: RefundReason::from_store(row.get(2)?),
        status: RefundStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        requested_at: Timestamp::from_unix_ms(row.get(4)?),
        decided_at: row.get::<_, Option<i64>>(5)?.map(Timestamp::from_unix_ms),
        from_escrow_minor: minor(6)?,
        from_settlement_minor: minor(7)?,
    })
}

/// The columns of `orders` an order's moves change, from `status` to
/// `refunded_from_settlement_minor` in the order of [`ORDER_COLUMNS`].
fn state_values(order: &Order) -> [Value; 13] {
    let shipment = order.shipment.as_ref();
    let cancelled = order.cancelled.as_ref();
    [
        Value::from(order.status.as_str().to_owned()),
        Value::from(order.paid_at.map(Timestamp::unix_ms)),
        Value::from(shipment.map(|(_, at)| at.unix_ms())),
        Value::from(shipment.map(|(shipment, _)| shipment.carrier().to_owned())),
        Value::from(shipment.map(|(shipment, _)| shipment.tracking().to_owned())),
        Value::from(order.completed.map(|(_, at)| at.unix_ms())),
        Value::from(order.completed.map(|(by, _)| by.as_str().to_owned())),
        Value::from(cancelled.map(|c| c.at.unix_ms())),
        Value::from(cancelled.map(|c| c.by.as_str().to_owned())),
        Value::from(cancelled.map(|c| c.refund_minor)),
        Value::from(order.released_minor),
        Value::from(order.refunded_from_escrow_minor),
        Value::from(order.refunded_from_settlement_minor),
    ]
}

/// Writes `order.refund_requests[index]` as request `index` of `order_id`,
/// new or changed.
fn put_refund_request(
    conn: &Connection,
    order_id: OrderId,
    order: &Order,
    index: RefundRequestIndex,
) -> Result<()> {
    let request = order.refund_requests.get(index).ok_or_else(|| {
        Error::Corrupt(format!("{order_id} has no refund request {index} to write"))
    })?;
    changed(
        conn,
        "INSERT INTO order_refund_requests (order_id, idx, amount_minor, reason, status,
             requested_at, decided_at, from_escrow_minor, from_settlement_minor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (order_id, idx) DO UPDATE SET
             amount_minor = excluded.amount_minor, reason = excluded.reason,
             status = excluded.status, requested_at = excluded.requested_at,
             decided_at = excluded.decided_at, from_escrow_minor = excluded.from_escrow_minor,
             from_settlement_minor = excluded.from_settlement_minor",
        params![
            order_id.row(),
            index as i64,
            request.amount.get(),
            request.reason.as_str(),
            request.status.as_str(),
            request.requested_at.unix_ms(),
            request.decided_at.map(Timestamp::unix_ms),
            request.from_escrow_minor,
            request.from_settlement_minor
        ],
    )?;
    Ok(())
}

fn insert_items(
    conn: &Connection,
    order_id: OrderId,
    items: &[OrderItem],
    names: &[ItemNames],
) -> Result<()> {
    for (position, item) in items.iter().enumerate() {
        let named = names.get(position);
        changed(
            conn,
            "INSERT INTO order_items (order_id, position, variant_id, quantity, unit_price_minor,
                                      title, variant_name, sku)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                order_id.row(),
                position as i64,
                item.variant.row(),
                item.quantity,
                item.unit_price.get(),
                named.map(|names| names.title.as_str()),
                named.map(|names| names.variant_name.as_str()),
                named.map(|names| names.sku.as_str())
            ],
        )?;
    }
    Ok(())
}

fn set_product_media(conn: &Connection, product: ProductId, media: &[MediaId]) -> Result<()> {
    changed(
        conn,
        "DELETE FROM product_media WHERE product_id = ?1",
        [product.row()],
    )?;
    for (position, picture) in media.iter().enumerate() {
        changed(
            conn,
            "INSERT INTO product_media (product_id, position, media_id) VALUES (?1, ?2, ?3)",
            params![product.row(), position as i64, picture.row()],
        )?;
    }
    Ok(())
}

/// The orders `due` names, oldest first.
fn due_order_ids(conn: &Connection, due: Due, limit: u32) -> Result<Vec<OrderId>> {
    // Each statement names its partial index's condition literally, so
    // that it walks only the orders waiting.
    let (sql, at) = match due {
        Due::Unpaid(at) => (
            "SELECT id FROM orders WHERE status = 'pending_payment' AND pay_by <= ?1
             ORDER BY pay_by, id LIMIT ?2",
            at,
        ),
        Due::ShippedBy(at) => (
            "SELECT id FROM orders WHERE status = 'shipped' AND shipped_at <= ?1
             ORDER BY shipped_at, id LIMIT ?2",
            at,
        ),
    };
    all(conn, sql, params![at.unix_ms(), limit], |row| {
        Ok(OrderId::from_row(row.get(0)?))
    })
}

impl Writes for WriteCtx<'_> {
    fn owned_shops_for_update(&mut self, owner: AccountId) -> Result<usize> {
        count(
            self.conn,
            "SELECT COUNT(*) FROM shops WHERE owner_id = ?1",
            owner.row(),
        )
    }

    fn insert_shop(
        &mut self,
        owner: AccountId,
        shop: &NewShop,
        merchant: MerchantId,
        at: Timestamp,
    ) -> Result<Option<ShopId>> {
        let inserted = changed(
            self.conn,
            "INSERT INTO shops (owner_id, handle, name, description, logo_media_id, merchant_id,
                                created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (handle) DO NOTHING",
            params![
                owner.row(),
                shop.handle.as_str(),
                shop.name.as_str(),
                shop.description.as_str(),
                shop.logo.map(MediaId::row),
                merchant.row(),
                at.unix_ms()
            ],
        )?;
        Ok(inserted.then(|| ShopId::from_row(self.conn.last_insert_rowid())))
    }

    fn insert_shop_staff(
        &mut self,
        shop: ShopId,
        account: AccountId,
        at: Timestamp,
    ) -> Result<bool> {
        changed(
            self.conn,
            "INSERT INTO shop_staff (shop_id, account_id, added_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![shop.row(), account.row(), at.unix_ms()],
        )
    }

    fn delete_shop_staff(&mut self, shop: ShopId, account: AccountId) -> Result<bool> {
        changed(
            self.conn,
            "DELETE FROM shop_staff WHERE shop_id = ?1 AND account_id = ?2",
            params![shop.row(), account.row()],
        )
    }

    fn staff_for_update(&mut self, shop: ShopId) -> Result<usize> {
        count(
            self.conn,
            "SELECT COUNT(*) FROM shop_staff WHERE shop_id = ?1",
            shop.row(),
        )
    }

    fn products_for_update(&mut self, shop: ShopId) -> Result<usize> {
        count(
            self.conn,
            "SELECT COUNT(*) FROM products WHERE shop_id = ?1",
            shop.row(),
        )
    }

    fn insert_product(
        &mut self,
        shop: ShopId,
        product: &NewProduct,
        at: Timestamp,
    ) -> Result<ProductId> {
        changed(
            self.conn,
            "INSERT INTO products (shop_id, title, description, listed, created_at, updated_at)
             VALUES (?1, ?2, ?3, 1, ?4, ?4)",
            params![
                shop.row(),
                product.title.as_str(),
                product.description.as_str(),
                at.unix_ms()
            ],
        )?;
        let id = ProductId::from_row(self.conn.last_insert_rowid());
        set_product_media(self.conn, id, &product.media)?;
        Ok(id)
    }

    fn insert_variant(
        &mut self,
        shop: ShopId,
        product: ProductId,
        variant: &NewVariant,
    ) -> Result<Option<VariantId>> {
        let inserted = changed(
            self.conn,
            "INSERT INTO variants (product_id, shop_id, sku, name, price_minor, available,
                                   reserved, sold)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0) ON CONFLICT (shop_id, sku) DO NOTHING",
            params![
                product.row(),
                shop.row(),
                variant.sku.as_str(),
                variant.name.as_str(),
                variant.price.get(),
                variant.stock
            ],
        )?;
        Ok(inserted.then(|| VariantId::from_row(self.conn.last_insert_rowid())))
    }

    fn update_product(
        &mut self,
        product: ProductId,
        patch: &ProductPatch,
        at: Timestamp,
    ) -> Result<()> {
        changed(
            self.conn,
            "UPDATE products SET title = COALESCE(?2, title),
                 description = COALESCE(?3, description), listed = COALESCE(?4, listed),
                 updated_at = ?5
             WHERE id = ?1",
            params![
                product.row(),
                patch.title.as_ref().map(|title| title.as_str()),
                patch.description.as_ref().map(|text| text.as_str()),
                patch.listed,
                at.unix_ms()
            ],
        )?;
        if let Some(media) = &patch.media {
            set_product_media(self.conn, product, media)?;
        }
        Ok(())
    }

    fn variant_for_update(&mut self, variant: VariantId) -> Result<Option<Variant>> {
        load_variant(self.conn, variant)
    }

    /// The writer is alone: a read is as good as a lock.
    fn variants_for_update(&mut self, variants: &[VariantId]) -> Result<Vec<Variant>> {
        load_variants(self.conn, variants)
    }

    fn update_variant(&mut self, variant: VariantId, patch: &VariantPatch) -> Result<()> {
        changed(
            self.conn,
            "UPDATE variants SET name = COALESCE(?2, name), price_minor = COALESCE(?3, price_minor)
             WHERE id = ?1",
            params![
                variant.row(),
                patch.name.as_ref().map(|name| name.as_str()),
                patch.price.map(AmountMinor::get)
            ],
        )?;
        Ok(())
    }

    fn add_available(&mut self, variant: VariantId, delta: i64) -> Result<Option<i64>> {
        // SQLite turns an integer overflow into a REAL, which is outside
        // the bounds: a delta too large changes nothing.
        one(
            self.conn,
            "UPDATE variants SET available = available + ?2
             WHERE id = ?1 AND available + ?2 BETWEEN 0 AND ?3 RETURNING available",
            params![variant.row(), delta, shop::STOCK_MAX],
            |row| Ok(row.get(0)?),
        )
    }

    fn move_stock(&mut self, stock: &StockMove) -> Result<bool> {
        let sql = match stock.kind {
            StockMoveKind::Reserve => {
                "UPDATE variants SET available = available - ?2, reserved = reserved + ?2
                 WHERE id = ?1 AND available >= ?2"
            }
            StockMoveKind::Release => {
                "UPDATE variants SET reserved = reserved - ?2, available = available + ?2
                 WHERE id = ?1 AND reserved >= ?2"
            }
            StockMoveKind::Sell => {
                "UPDATE variants SET reserved = reserved - ?2, sold = sold + ?2
                 WHERE id = ?1 AND reserved >= ?2"
            }
        };
        changed(
            self.conn,
            sql,
            params![stock.variant.row(), i64::from(stock.quantity)],
        )
    }

    fn put_cart_item(
        &mut self,
        account: AccountId,
        variant: VariantId,
        quantity: u32,
        price: AmountMinor,
        at: Timestamp,
    ) -> Result<()> {
        changed(
            self.conn,
            "INSERT INTO cart_items (account_id, variant_id, quantity, price_minor_when_added,
                                     added_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (account_id, variant_id) DO UPDATE SET quantity = excluded.quantity",
            params![
                account.row(),
                variant.row(),
                quantity,
                price.get(),
                at.unix_ms()
            ],
        )?;
        Ok(())
    }

    fn delete_cart_items(&mut self, account: AccountId, variants: &[VariantId]) -> Result<()> {
        for variant in variants {
            changed(
                self.conn,
                "DELETE FROM cart_items WHERE account_id = ?1 AND variant_id = ?2",
                params![account.row(), variant.row()],
            )?;
        }
        Ok(())
    }

    fn cart_lines_for_update(&mut self, account: AccountId) -> Result<usize> {
        count(
            self.conn,
            "SELECT COUNT(*) FROM cart_items WHERE account_id = ?1",
            account.row(),
        )
    }

    fn insert_order(&mut self, new: &NewOrder<'_>) -> Result<OrderId> {
        let order = new.order;
        let shipping = serde_json::to_string(new.shipping)
            .map_err(|error| Error::Corrupt(format!("cannot encode an address: {error}")))?;
        let placed = [
            Value::from(new.shop_id.row()),
            Value::from(new.buyer.row()),
            Value::from(new.currency.as_str().to_owned()),
            Value::from(order.total.get()),
            Value::from(order.placed_at.unix_ms()),
            Value::from(order.pay_by.unix_ms()),
            Value::from(shipping),
        ];
        changed(
            self.conn,
            "INSERT INTO orders (status, paid_at, shipped_at, carrier, tracking, completed_at,
                 confirmed_by, cancelled_at, cancelled_by, cancel_refund_minor, released_minor,
                 refunded_from_escrow_minor, refunded_from_settlement_minor,
                 shop_id, buyer_id, currency, total_minor, placed_at, pay_by, shipping_address)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
                     ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            params_from_iter(state_values(order).into_iter().chain(placed)),
        )?;
        let order_id = OrderId::from_row(self.conn.last_insert_rowid());
        insert_items(self.conn, order_id, &order.items, new.names)?;
        for index in 0..order.refund_requests.len() {
            put_refund_request(self.conn, order_id, order, index)?;
        }
        Ok(order_id)
    }

    fn order_for_update(&mut self, order: OrderId) -> Result<Option<StoredOrder>> {
        load_order(self.conn, order)
    }

    fn save_order(
        &mut self,
        order: OrderId,
        state: &Order,
        refunds: &[RefundRequestIndex],
    ) -> Result<()> {
        let updated = changed(
            self.conn,
            "UPDATE orders SET status = ?2, paid_at = ?3, shipped_at = ?4, carrier = ?5,
                 tracking = ?6, completed_at = ?7, confirmed_by = ?8, cancelled_at = ?9,
                 cancelled_by = ?10, cancel_refund_minor = ?11, released_minor = ?12,
                 refunded_from_escrow_minor = ?13, refunded_from_settlement_minor = ?14
             WHERE id = ?1",
            params_from_iter(std::iter::once(Value::from(order.row())).chain(state_values(state))),
        )?;
        if !updated {
            return Err(Error::Corrupt(format!("{order} to save is not stored")).into());
        }
        for &index in refunds {
            put_refund_request(self.conn, order, state, index)?;
        }
        Ok(())
    }

    fn due_orders_for_update(&mut self, due: Due, limit: u32) -> Result<Vec<StoredOrder>> {
        let ids = due_order_ids(self.conn, due, limit)?;
        load_orders(self.conn, &ids)
    }

    fn set_order_conversation(
        &mut self,
        order: OrderId,
        conversation: ConversationId,
    ) -> Result<()> {
        let updated = changed(
            self.conn,
            "UPDATE orders SET conversation_id = ?2 WHERE id = ?1",
            params![order.row(), conversation.row()],
        )?;
        if !updated {
            return Err(
                Error::Corrupt(format!("{order} to give a conversation is not stored")).into(),
            );
        }
        Ok(())
    }

    fn order_conversations_to_join(
        &mut self,
        shop: ShopId,
        account: AccountId,
        limit: usize,
    ) -> Result<Vec<ConversationId>> {
        all(
            self.conn,
            "SELECT o.conversation_id FROM orders o
             WHERE o.shop_id = ?1 AND o.status IN ('pending_payment', 'paid', 'shipped')
               AND o.conversation_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM members m
                               WHERE m.conversation_id = o.conversation_id AND m.account_id = ?2)
             ORDER BY o.id DESC LIMIT ?3",
            params![shop.row(), account.row(), limit as i64],
            |row| Ok(ConversationId::from_row(row.get(0)?)),
        )
    }

    fn order_conversations_to_leave(
        &mut self,
        shop: ShopId,
        account: AccountId,
        limit: usize,
    ) -> Result<Vec<ConversationId>> {
        all(
            self.conn,
            "SELECT o.conversation_id FROM orders o
             JOIN members m ON m.conversation_id = o.conversation_id AND m.account_id = ?2
             WHERE o.shop_id = ?1 AND o.buyer_id <> ?2
             ORDER BY o.id DESC LIMIT ?3",
            params![shop.row(), account.row(), limit as i64],
            |row| Ok(ConversationId::from_row(row.get(0)?)),
        )
    }
}

#[cfg(test)]
mod tests;
