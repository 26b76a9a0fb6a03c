//! Orders through the batch (`batch.rs`): an order placed — its shop and
//! staff, its variants (locked) and their products, the stock it
//! reserves, the order and its items, the cart lines it empties — and an
//! order moved — the order locked and read, its new state, the stock it
//! releases or sells — written by one statement ([`flush`]). A hundred
//! orders on one variant cost a batch's round trips, not a savepoint and
//! a dozen statements each.
//!
//! Stock is still never oversold: a variant's row is locked when the
//! batch first reads it (`FOR NO KEY UPDATE`, as the `UPDATE` would lock
//! it), each reservation checks the units the batch's earlier jobs left,
//! and the flush's `UPDATE` names the counts it expects to find, so a row
//! another writer moved is a conflict and the batch runs again.
//!
//! Off the hot path (an order saved with refund requests, an order's
//! conversation set, a catalog edit), a statement of the job's own runs
//! it direct (`conn.rs`): the flush goes first, and after a write the
//! cache is forgotten.

use std::collections::HashSet;

use piazza_core::shops::{ItemNames, NewOrder, Product, Shop, StoredOrder, Variant};
use piazza_core::{Error, Result};
use piazza_domain::order::{Order, StockMove, StockMoveKind};
use piazza_domain::{AccountId, OrderId, ShopId, VariantId};

use super::IdTable;
use crate::conn::Conn;
use crate::shops::orders::{OrderColumns, order_from_row, order_select, sound};
use crate::shops::{
    PRODUCTS_BY_ID, product_from_row, shop_columns, shop_from_row, variant_columns,
    variant_from_row,
};

/// A shop's row and its staff (read, not locked).
#[derive(Debug, Clone)]
pub(crate) struct ShopRow {
    pub shop: Shop,
    pub staff: Vec<AccountId>,
}

/// A variant's stock counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stock {
    pub available: i64,
    pub reserved: i64,
    pub sold: i64,
}

/// A variant's row: its counts as the database holds them and as the
/// batch's jobs left them (in `variant`). Only a locked row is moved; a
/// row read to be shown (a cart, an order's lines) is not locked, so a
/// cart on the other writer never waits for an order batch holding it.
#[derive(Debug, Clone)]
pub(crate) struct VariantRow {
    pub variant: Variant,
    pub stored: Stock,
    pub locked: bool,
}

impl VariantRow {
    pub fn stock(&self) -> Stock {
        Stock {
            available: self.variant.available,
            reserved: self.variant.reserved,
            sold: self.variant.sold,
        }
    }
}

/// An order's row, locked, as the batch's jobs left it.
#[derive(Debug, Clone)]
pub(crate) struct OrderRow {
    pub order: StoredOrder,
    /// Placed by this batch and not written yet.
    pub new: bool,
    /// Moved by this batch and not written yet.
    pub dirty: bool,
}

/// Shops by id, each with its staff.
pub(crate) fn fetch_shops(conn: &mut Conn, ids: HashSet<i64>) -> Result<()> {
    let ids: Vec<i64> = ids.into_iter().collect();
    let rows = conn.raw_query(
        concat!(
            "SELECT ",
            shop_columns!(),
            ", ARRAY(SELECT t.account_id FROM shop_staff t WHERE t.shop_id = s.id
                     ORDER BY t.added_at, t.account_id)
             FROM shops s WHERE id = ANY($1)"
        ),
        &[&ids],
    )?;
    let found = rows.iter().map(|row| {
        let shop = shop_from_row(row);
        let staff: Vec<i64> = row.get(8);
        let staff = staff.into_iter().map(AccountId::from_row).collect();
        (shop.shop_id.row(), ShopRow { shop, staff })
    });
    let found: Vec<_> = found.collect();
    conn.batch_mut()
        .answer(|cache| &mut cache.shops, ids, found);
    Ok(())
}

/// Variants by id, locked in id order if `lock` (a locked row replaces
/// the same row read unlocked, which no job has moved), and the products
/// of those found (what a placing asks next).
pub(crate) fn fetch_variants(conn: &mut Conn, ids: HashSet<i64>, lock: bool) -> Result<()> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    let rows = if lock {
        conn.raw_query(
            concat!(
                "SELECT ",
                variant_columns!(),
                " FROM variants WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE"
            ),
            &[&ids],
        )?
    } else {
        conn.raw_query(
            concat!(
                "SELECT ",
                variant_columns!(),
                " FROM variants WHERE id = ANY($1)"
            ),
            &[&ids],
        )?
    };
    let mut found = Vec::with_capacity(rows.len());
    let mut products = HashSet::new();
    for row in &rows {
        let variant = variant_from_row(row)?;
        products.insert(variant.product_id.row());
        let row = VariantRow {
            stored: Stock {
                available: variant.available,
                reserved: variant.reserved,
                sold: variant.sold,
            },
            variant,
            locked: lock,
        };
        found.push((row.variant.variant_id.row(), row));
    }
    let batch = conn.batch_mut();
    if lock {
        for (id, row) in &found {
            let unlocked = matches!(batch.cache.variants.get(id), Some(Some(held)) if !held.locked);
            if unlocked {
                debug_assert!(
                    batch.cache.variants[id]
                        .as_ref()
                        .is_some_and(|held| held.stock() == held.stored)
                );
                batch.set(|cache| &mut cache.variants, *id, Some(row.clone()));
            }
        }
    }
    batch.answer(|cache| &mut cache.variants, ids, found);
    products.retain(|product| !batch.cache.products.contains_key(product));
    if !products.is_empty() {
        fetch_products(conn, products)?;
    }
    Ok(())
}

/// Products by id, with their pictures.
pub(crate) fn fetch_products(conn: &mut Conn, ids: HashSet<i64>) -> Result<()> {
    let ids: Vec<i64> = ids.into_iter().collect();
    let rows = conn.raw_query(PRODUCTS_BY_ID, &[&ids])?;
    let found: Vec<_> = rows
        .iter()
        .map(|row| {
            let product = product_from_row(row);
            (product.product_id.row(), product)
        })
        .collect();
    conn.batch_mut()
        .answer(|cache| &mut cache.products, ids, found);
    Ok(())
}

/// Orders by id: locked in id order by one statement, then read by
/// another, which starts once the locks are held and so sees every row
/// the transactions it waited for wrote (`shops/orders.rs`).
pub(crate) fn fetch_orders(conn: &mut Conn, ids: HashSet<i64>) -> Result<()> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    let locked = conn.raw_query(
        "SELECT id FROM orders WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &[&ids],
    )?;
    let mut found = Vec::with_capacity(locked.len());
    if !locked.is_empty() {
        let locked: Vec<i64> = locked.iter().map(|row| row.get(0)).collect();
        let rows = conn.raw_query(
            concat!(order_select!(), " WHERE o.id = ANY($1)"),
            &[&locked],
        )?;
        for row in &rows {
            let order = order_from_row(row)?;
            let row = OrderRow {
                order,
                new: false,
                dirty: false,
            };
            found.push((row.order.order_id.row(), row));
        }
    }
    conn.batch_mut()
        .answer(|cache| &mut cache.orders, ids, found);
    Ok(())
}

/// Shops' reads and orders' writes through the batch.
impl Conn {
    /// The shop's row and staff; `None`: no such shop.
    fn shop_row(&mut self, shop: i64) -> Result<Option<ShopRow>> {
        self.cached(
            |cache| cache.shops.get(&shop).cloned(),
            |misses| {
                misses.shops.insert(shop);
            },
            |conn| fetch_shops(conn, HashSet::from([shop])),
        )
    }

    pub(crate) fn shop_cached(&mut self, shop: ShopId) -> Result<Option<Shop>> {
        Ok(self.shop_row(shop.row())?.map(|row| row.shop))
    }

    /// The shop's staff (its owner is not one of them), in the order
    /// they were added; none for a shop that does not exist.
    pub(crate) fn staff_cached(&mut self, shop: ShopId) -> Result<Vec<AccountId>> {
        Ok(self
            .shop_row(shop.row())?
            .map(|row| row.staff)
            .unwrap_or_default())
    }

    /// The variants of `ids` that exist, as the batch's jobs left them,
    /// their rows locked if `lock`; the ones the cache lacks (or holds
    /// unlocked, when `lock`) are fetched (or missed) together.
    pub(crate) fn variants_cached(
        &mut self,
        ids: &[VariantId],
        lock: bool,
    ) -> Result<Vec<Variant>> {
        let held = |cache: &super::Cache, id: &i64| match cache.variants.get(id) {
            Some(Some(row)) => row.locked || !lock,
            Some(None) => true,
            None => false,
        };
        let missing: HashSet<i64> = ids
            .iter()
            .map(|id| id.row())
            .filter(|id| !held(&self.batch_mut().cache, id))
            .collect();
        if !missing.is_empty() {
            let noted = missing.clone();
            let note = |misses: &mut super::Misses| match lock {
                true => misses.variants.extend(noted),
                false => misses.variant_reads.extend(noted),
            };
            if self.batch_mut().missed(note)? {
                fetch_variants(self, missing, lock)?;
            }
        }
        let cache = &self.batch_mut().cache;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            match cache.variants.get(&id.row()) {
                Some(Some(row)) if row.locked || !lock => found.push(row.variant.clone()),
                Some(None) => {}
                _ => return Err(Error::Engine(format!("{id} just fetched is not cached"))),
            }
        }
        Ok(found)
    }

    /// The products of `ids` that exist; the ones the cache lacks are
    /// fetched (or missed) together.
    pub(crate) fn products_cached(&mut self, ids: &[i64]) -> Result<Vec<Product>> {
        let missing: HashSet<i64> = ids
            .iter()
            .copied()
            .filter(|id| !self.batch_mut().cache.products.contains_key(id))
            .collect();
        if !missing.is_empty() {
            let noted = missing.clone();
            if self
                .batch_mut()
                .missed(|misses| misses.products.extend(noted))?
            {
                fetch_products(self, missing)?;
            }
        }
        let cache = &self.batch_mut().cache;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            match cache.products.get(id) {
                Some(Some(product)) => found.push(product.clone()),
                Some(None) => {}
                None => return Err(Error::Engine(format!("product {id} is not cached"))),
            }
        }
        Ok(found)
    }

    /// Moves a variant's units as `stock` says, if it has them (the
    /// conditional `UPDATE` of `shops.rs`, against the locked row as the
    /// batch left it); `false` if it has not, or there is no such variant.
    pub(crate) fn move_stock_cached(&mut self, stock: &StockMove) -> Result<bool> {
        if self.variants_cached(&[stock.variant], true)?.is_empty() {
            return Ok(false);
        }
        let id = stock.variant.row();
        let batch = self.batch_mut();
        let Some(Some(mut row)) = batch.cache.variants.get(&id).cloned() else {
            return Err(Error::Engine(format!("{} left the batch", stock.variant)));
        };
        let quantity = i64::from(stock.quantity);
        let variant = &mut row.variant;
        let (from, to) = match stock.kind {
            StockMoveKind::Reserve => (&mut variant.available, &mut variant.reserved),
            StockMoveKind::Release => (&mut variant.reserved, &mut variant.available),
            StockMoveKind::Sell => (&mut variant.reserved, &mut variant.sold),
        };
        if *from < quantity {
            return Ok(false);
        }
        *from -= quantity;
        *to += quantity;
        batch.set(|cache| &mut cache.variants, id, Some(row));
        Ok(true)
    }

    /// Keeps a new order for the flush, with an id handed out now. An
    /// order is placed without refund requests.
    pub(crate) fn insert_order_cached(&mut self, new: &NewOrder<'_>) -> Result<OrderId> {
        if !new.order.refund_requests.is_empty() {
            return Err(Error::Engine("an order placed with refund requests".into()));
        }
        let id = self.next_id(IdTable::Orders)?;
        let order_id = OrderId::from_row(id);
        let names = (0..new.order.items.len())
            .map(|position| new.names.get(position).cloned())
            .collect::<Vec<Option<ItemNames>>>();
        let row = OrderRow {
            order: StoredOrder {
                order_id,
                shop_id: new.shop_id,
                buyer: new.buyer,
                conversation: None,
                currency: new.currency,
                shipping: new.shipping.clone(),
                order: new.order.clone(),
                names,
            },
            new: true,
            dirty: true,
        };
        self.batch_mut()
            .set(|cache| &mut cache.orders, id, Some(row));
        Ok(order_id)
    }

    /// The order, its row locked, as the batch's jobs left it; one the
    /// state machine could not have made is `Error::Corrupt`.
    pub(crate) fn order_locked(&mut self, order: OrderId) -> Result<Option<StoredOrder>> {
        let id = order.row();
        let row = self.cached(
            |cache| cache.orders.get(&id).cloned(),
            |misses| {
                misses.orders.insert(id);
            },
            |conn| fetch_orders(conn, HashSet::from([id])),
        )?;
        row.map(|row| sound(row.order)).transpose()
    }

    /// The order as the batch holds it, if it does (not fetched).
    pub(crate) fn order_if_cached(&mut self, order: OrderId) -> Option<StoredOrder> {
        let cache = &self.batch_mut().cache;
        Some(cache.orders.get(&order.row())?.as_ref()?.order.clone())
    }

    /// Keeps an order's new state for the flush (its refund requests
    /// unchanged: those are written by a statement of their own).
    pub(crate) fn save_order_cached(&mut self, order: OrderId, state: &Order) -> Result<()> {
        if self.order_locked(order)?.is_none() {
            return Err(Error::missing(order));
        }
        let id = order.row();
        let batch = self.batch_mut();
        let Some(Some(mut row)) = batch.cache.orders.get(&id).cloned() else {
            return Err(Error::Engine(format!("{order} left the batch")));
        };
        row.order.order = state.clone();
        row.dirty = true;
        batch.set(|cache| &mut cache.orders, id, Some(row));
        Ok(())
    }

    /// Keeps `account`'s cart lines of `variants` for the flush to delete.
    pub(crate) fn delete_cart_cached(&mut self, account: AccountId, variants: &[VariantId]) {
        let pending = &mut self.batch_mut().pending.carts;
        pending.extend(variants.iter().map(|v| (account.row(), v.row())));
    }
}

const FLUSH_ORDERS: &str = "
WITH new_orders AS (
    INSERT INTO orders (id, status, paid_at, shipped_at, carrier, tracking, completed_at,
                        confirmed_by, cancelled_at, cancelled_by, cancel_refund_minor,
                        released_minor, refunded_from_escrow_minor,
                        refunded_from_settlement_minor, shop_id, buyer_id, currency,
                        total_minor, placed_at, pay_by, shipping_address)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[],
                         $6::text[], $7::bigint[], $8::text[], $9::bigint[], $10::text[],
                         $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[],
                         $15::bigint[], $16::bigint[], $17::text[], $18::bigint[],
                         $19::bigint[], $20::bigint[], $21::text[])
    RETURNING 1
), new_items AS (
    INSERT INTO order_items (order_id, position, variant_id, quantity, unit_price_minor,
                             title, variant_name, sku)
    SELECT * FROM unnest($22::bigint[], $23::bigint[], $24::bigint[], $25::bigint[],
                         $26::bigint[], $27::text[], $28::text[], $29::text[])
    RETURNING 1
), saved AS (
    UPDATE orders o SET (status, paid_at, shipped_at, carrier, tracking, completed_at,
                         confirmed_by, cancelled_at, cancelled_by, cancel_refund_minor,
                         released_minor, refunded_from_escrow_minor,
                         refunded_from_settlement_minor)
      = (u.status, u.paid_at, u.shipped_at, u.carrier, u.tracking, u.completed_at,
         u.confirmed_by, u.cancelled_at, u.cancelled_by, u.cancel_refund_minor,
         u.released_minor, u.refunded_from_escrow_minor, u.refunded_from_settlement_minor)
    FROM unnest($30::bigint[], $31::text[], $32::bigint[], $33::bigint[], $34::text[],
                $35::text[], $36::bigint[], $37::text[], $38::bigint[], $39::text[],
                $40::bigint[], $41::bigint[], $42::bigint[], $43::bigint[])
        AS u(id, status, paid_at, shipped_at, carrier, tracking, completed_at, confirmed_by,
             cancelled_at, cancelled_by, cancel_refund_minor, released_minor,
             refunded_from_escrow_minor, refunded_from_settlement_minor)
    WHERE o.id = u.id
    RETURNING 1
), moved_stock AS (
    UPDATE variants v SET available = u.available, reserved = u.reserved, sold = u.sold
    FROM unnest($44::bigint[], $45::bigint[], $46::bigint[], $47::bigint[], $48::bigint[],
                $49::bigint[], $50::bigint[])
        AS u(id, was_available, was_reserved, was_sold, available, reserved, sold)
    WHERE v.id = u.id AND v.available = u.was_available AND v.reserved = u.was_reserved
      AND v.sold = u.was_sold
    RETURNING 1
), emptied AS (
    DELETE FROM cart_items c USING unnest($51::bigint[], $52::bigint[]) AS u(account, variant)
    WHERE c.account_id = u.account AND c.variant_id = u.variant
    RETURNING 1
)
SELECT (SELECT count(*) FROM new_orders), (SELECT count(*) FROM new_items),
       (SELECT count(*) FROM saved), (SELECT count(*) FROM moved_stock),
       (SELECT count(*) FROM emptied)";

/// The state columns of orders, as arrays (`OrderColumns`' order).
#[derive(Default)]
struct StateArrays {
    id: Vec<i64>,
    status: Vec<&'static str>,
    at: [Vec<Option<i64>>; 4],
    shipment: [Vec<Option<String>>; 2],
    by: [Vec<Option<&'static str>>; 2],
    minor: [Vec<Option<i64>>; 1],
    sums: [Vec<i64>; 3],
}

impl StateArrays {
    fn push(&mut self, id: i64, order: &Order) {
        let columns = OrderColumns::of(order);
        self.id.push(id);
        self.status.push(columns.status);
        self.at[0].push(columns.paid_at);
        self.at[1].push(columns.shipped_at);
        self.at[2].push(columns.completed_at);
        self.at[3].push(columns.cancelled_at);
        self.shipment[0].push(columns.carrier.map(str::to_owned));
        self.shipment[1].push(columns.tracking.map(str::to_owned));
        self.by[0].push(columns.confirmed_by);
        self.by[1].push(columns.cancelled_by);
        self.minor[0].push(columns.cancel_refund_minor);
        self.sums[0].push(order.released_minor);
        self.sums[1].push(order.refunded_from_escrow_minor);
        self.sums[2].push(order.refunded_from_settlement_minor);
    }

    /// Id and the 13 state columns, in the statement's order.
    fn params(&self) -> [&(dyn postgres::types::ToSql + Sync); 14] {
        [
            &self.id,
            &self.status,
            &self.at[0],
            &self.at[1],
            &self.shipment[0],
            &self.shipment[1],
            &self.at[2],
            &self.by[0],
            &self.at[3],
            &self.by[1],
            &self.minor[0],
            &self.sums[0],
            &self.sums[1],
            &self.sums[2],
        ]
    }
}

/// A new order's other columns, and its items.
#[derive(Default)]
struct Placed {
    shop: Vec<i64>,
    buyer: Vec<i64>,
    currency: Vec<String>,
    total: Vec<i64>,
    placed_at: Vec<i64>,
    pay_by: Vec<i64>,
    shipping: Vec<String>,
    /// order, position, variant, quantity, unit price.
    items: [Vec<i64>; 5],
    /// title, variant name, SKU.
    names: [Vec<Option<String>>; 3],
}

impl Placed {
    fn push(&mut self, stored: &StoredOrder) -> Result<()> {
        let order = &stored.order;
        self.shop.push(stored.shop_id.row());
        self.buyer.push(stored.buyer.row());
        self.currency.push(stored.currency.as_str().to_owned());
        self.total.push(order.total.get());
        self.placed_at.push(order.placed_at.unix_ms());
        self.pay_by.push(order.pay_by.unix_ms());
        let shipping = serde_json::to_string(&stored.shipping)
            .map_err(|error| Error::Engine(format!("a shipping address as JSON: {error}")))?;
        self.shipping.push(shipping);
        for (position, item) in order.items.iter().enumerate() {
            let values = [
                stored.order_id.row(),
                position as i64,
                item.variant.row(),
                i64::from(item.quantity),
                item.unit_price.get(),
            ];
            for (column, value) in self.items.iter_mut().zip(values) {
                column.push(value);
            }
            let names = stored.names.get(position).cloned().flatten();
            self.names[0].push(names.as_ref().map(|n| n.title.clone()));
            self.names[1].push(names.as_ref().map(|n| n.variant_name.clone()));
            self.names[2].push(names.map(|n| n.sku));
        }
        Ok(())
    }
}

/// What the flush writes: new orders, moved orders, moved stock.
struct Rows {
    new: StateArrays,
    placed: Placed,
    saved: StateArrays,
    /// id, then the counts as stored and as moved.
    stock: [Vec<i64>; 7],
    carts: [Vec<i64>; 2],
}

fn rows(conn: &mut Conn) -> Result<Option<Rows>> {
    let batch = conn.batch_mut();
    let carts = std::mem::take(&mut batch.pending.carts);
    let mut rows = Rows {
        new: StateArrays::default(),
        placed: Placed::default(),
        saved: StateArrays::default(),
        stock: Default::default(),
        carts: [
            carts.iter().map(|c| c.0).collect(),
            carts.iter().map(|c| c.1).collect(),
        ],
    };
    let mut orders: Vec<&OrderRow> = batch.cache.orders.values().flatten().collect();
    orders.sort_unstable_by_key(|row| row.order.order_id);
    for row in orders.into_iter().filter(|row| row.dirty) {
        let id = row.order.order_id.row();
        if row.new {
            rows.new.push(id, &row.order.order);
            rows.placed.push(&row.order)?;
        } else {
            rows.saved.push(id, &row.order.order);
        }
    }
    let mut variants: Vec<(&i64, &VariantRow)> = batch
        .cache
        .variants
        .iter()
        .filter_map(|(id, row)| Some((id, row.as_ref()?)))
        .filter(|(_, row)| row.stock() != row.stored)
        .collect();
    variants.sort_unstable_by_key(|(id, _)| **id);
    for (id, row) in variants {
        let (was, now) = (row.stored, row.stock());
        let values = [
            *id,
            was.available,
            was.reserved,
            was.sold,
            now.available,
            now.reserved,
            now.sold,
        ];
        for (column, value) in rows.stock.iter_mut().zip(values) {
            column.push(value);
        }
    }
    let nothing = rows.new.id.is_empty()
        && rows.saved.id.is_empty()
        && rows.stock[0].is_empty()
        && rows.carts[0].is_empty();
    Ok((!nothing).then_some(rows))
}

/// Writes the batch's new and moved orders, the stock they moved and the
/// cart lines they emptied, if any, in one statement; a variant's counts
/// not where they were read is a conflict.
pub(crate) fn flush(conn: &mut Conn) -> Result<()> {
    let Some(rows) = rows(conn)? else {
        return Ok(());
    };
    let (new, placed, saved) = (&rows.new, &rows.placed, &rows.saved);
    let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = new.params().to_vec();
    params.extend_from_slice(&[
        &placed.shop,
        &placed.buyer,
        &placed.currency,
        &placed.total,
        &placed.placed_at,
        &placed.pay_by,
        &placed.shipping,
    ]);
    for column in &placed.items {
        params.push(column);
    }
    for column in &placed.names {
        params.push(column);
    }
    params.extend_from_slice(&saved.params());
    for column in &rows.stock {
        params.push(column);
    }
    for column in &rows.carts {
        params.push(column);
    }
    let counts = conn
        .client_query(FLUSH_ORDERS, &params)
        .map_err(super::flush::conflict_on_raced_key)?;
    let expected = [
        new.id.len(),
        placed.items[0].len(),
        saved.id.len(),
        rows.stock[0].len(),
    ];
    super::flush::all_written(&counts, &expected)
}
