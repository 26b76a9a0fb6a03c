//! Orders' rows: an order read back into the state machine's
//! [`Order`] with its items and refund requests, and written from it.
//!
//! An order is read in one statement, its items and refund requests each
//! aggregated into a JSON array of tuples, and rebuilt with no panic: a
//! row that does not make an `Order` is `Error::Corrupt`, and so is one
//! breaking the state machine's invariants when it is about to be moved
//! (`Order::check_invariants`). One to be moved is locked by a statement
//! of its own first, then read: under READ COMMITTED a statement that
//! waited for a row sees that row's newest version but the other tables
//! as of its own start, which could miss a refund request the
//! transaction it waited for added.

use piazza_core::shops::{Due, ItemNames, NewOrder, OrderSide, StoredOrder};
use piazza_core::{Error, Result};
use piazza_domain::money::{AMOUNT_MINOR_MAX, Currency};
use piazza_domain::order::{
    Cancellation, CancelledBy, ConfirmedBy, ORDER_ITEMS_MAX, Order, OrderItem, OrderStatus,
    REFUND_REQUESTS_PER_ORDER_MAX, RefundReason, RefundRequest, RefundRequestIndex, RefundStatus,
    Shipment,
};
use piazza_domain::{AccountId, ConversationId, OrderId, ShopId, Timestamp, VariantId};
use postgres::Row;

use super::{Broken, positive, time};
use crate::conn::{Conn, corrupt};

/// An order's row, of `orders o`, with its items and refund requests as
/// JSON arrays of tuples (NULL when there are none): what
/// [`order_from_row`] reads, by column name.
macro_rules! order_select {
    () => {
        "SELECT o.id, o.shop_id, o.buyer_id, o.currency, o.status, o.total_minor, o.placed_at,
                o.pay_by, o.paid_at, o.shipped_at, o.carrier, o.tracking, o.completed_at,
                o.confirmed_by, o.cancelled_at, o.cancelled_by, o.cancel_refund_minor,
                o.released_minor, o.refunded_from_escrow_minor, o.refunded_from_settlement_minor,
                o.shipping_address, o.conversation_id,
                (SELECT json_agg(json_build_array(i.position, i.variant_id, i.quantity,
                                                  i.unit_price_minor, i.title, i.variant_name,
                                                  i.sku) ORDER BY i.position)::TEXT
                 FROM order_items i WHERE i.order_id = o.id) AS items,
                (SELECT json_agg(json_build_array(r.idx, r.amount_minor, r.reason, r.status,
                                                  r.requested_at, r.decided_at,
                                                  r.from_escrow_minor, r.from_settlement_minor)
                                 ORDER BY r.idx)::TEXT
                 FROM order_refund_requests r WHERE r.order_id = o.id) AS refunds
         FROM orders o"
    };
}

pub(crate) use order_select;

/// The columns of `orders` that an order's moves change, in the order
/// [`OrderColumns::params`] gives them.
macro_rules! order_state_columns {
    () => {
        "status, paid_at, shipped_at, carrier, tracking, completed_at, confirmed_by, \
         cancelled_at, cancelled_by, cancel_refund_minor, released_minor, \
         refunded_from_escrow_minor, refunded_from_settlement_minor"
    };
}

pub(super) fn order(conn: &mut Conn, order: OrderId) -> Result<Option<StoredOrder>> {
    let row = conn.query_opt(
        concat!(order_select!(), " WHERE o.id = $1"),
        &[&order.row()],
    )?;
    row.as_ref().map(order_from_row).transpose()
}

/// Orders of `side`, newest first: a buyer's from its (buyer_id, id)
/// index, a shop side's from the shops' (shop_id, id) index.
pub(super) fn orders(
    conn: &mut Conn,
    side: OrderSide,
    status: Option<OrderStatus>,
    before: Option<OrderId>,
    limit: usize,
) -> Result<Vec<StoredOrder>> {
    let before = before.map_or(i64::MAX, OrderId::row);
    let status = status.map(OrderStatus::as_str);
    let limit = limit as i64;
    let rows = match side {
        OrderSide::Buyer(buyer) => conn.query(
            concat!(
                order_select!(),
                " WHERE o.buyer_id = $1 AND o.id < $2 AND ($3::TEXT IS NULL OR o.status = $3)
                 ORDER BY o.id DESC LIMIT $4"
            ),
            &[&buyer.row(), &before, &status, &limit],
        )?,
        OrderSide::Shop { account, shop } => conn.query(
            concat!(
                order_select!(),
                " WHERE o.shop_id IN (SELECT id FROM shops WHERE owner_id = $1
                                      UNION SELECT shop_id FROM shop_staff WHERE account_id = $1)
                   AND ($5::BIGINT IS NULL OR o.shop_id = $5)
                   AND o.id < $2 AND ($3::TEXT IS NULL OR o.status = $3)
                 ORDER BY o.id DESC LIMIT $4"
            ),
            &[
                &account.row(),
                &before,
                &status,
                &limit,
                &shop.map(ShopId::row),
            ],
        )?,
    };
    rows.iter().map(order_from_row).collect()
}

/// The order's row and its items in one statement; its refund requests,
/// which placing never makes, only if it has some.
pub(super) fn insert(conn: &mut Conn, new: &NewOrder<'_>) -> Result<OrderId> {
    let state = OrderColumns::of(new.order);
    let shipping = serde_json::to_string(new.shipping)
        .map_err(|error| Error::Engine(format!("a shipping address as JSON: {error}")))?;
    let items = &new.order.items;
    let variants: Vec<i64> = items.iter().map(|item| item.variant.row()).collect();
    let quantities: Vec<i64> = items.iter().map(|item| i64::from(item.quantity)).collect();
    let prices: Vec<i64> = items.iter().map(|item| item.unit_price.get()).collect();
    let name = |of: fn(&ItemNames) -> &str| -> Vec<Option<&str>> {
        (0..items.len())
            .map(|position| new.names.get(position).map(of))
            .collect()
    };
    let titles = name(|names| names.title.as_str());
    let variant_names = name(|names| names.variant_name.as_str());
    let skus = name(|names| names.sku.as_str());
    let (shop, buyer, total) = (new.shop_id.row(), new.buyer.row(), new.order.total.get());
    let (placed_at, pay_by) = (new.order.placed_at.unix_ms(), new.order.pay_by.unix_ms());
    let currency = new.currency.as_str();
    let mut params = state.params().to_vec();
    params.extend_from_slice(&[
        &shop,
        &buyer,
        &currency,
        &total,
        &placed_at,
        &pay_by,
        &shipping,
        &variants,
        &quantities,
        &prices,
        &titles,
        &variant_names,
        &skus,
    ]);
    let row = conn.query_one(
        concat!(
            "WITH placed AS (
                 INSERT INTO orders (",
            order_state_columns!(),
            ", shop_id, buyer_id, currency, total_minor, placed_at, pay_by, shipping_address)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                         $14, $15, $16, $17, $18, $19, $20)
                 RETURNING id),
             items AS (
                 INSERT INTO order_items (order_id, position, variant_id, quantity,
                                          unit_price_minor, title, variant_name, sku)
                 SELECT placed.id, i.position - 1, i.variant_id, i.quantity, i.unit_price,
                        i.title, i.variant_name, i.sku
                 FROM placed, unnest($21::BIGINT[], $22::BIGINT[], $23::BIGINT[],
                                     $24::TEXT[], $25::TEXT[], $26::TEXT[])
                              WITH ORDINALITY AS i(variant_id, quantity, unit_price, title,
                                                   variant_name, sku, position))
             SELECT id FROM placed"
        ),
        &params,
    )?;
    let order = OrderId::from_row(row.get(0));
    let every: Vec<RefundRequestIndex> = (0..new.order.refund_requests.len()).collect();
    upsert_refunds(conn, order, new.order, &every)?;
    Ok(order)
}

/// Two statements: the lock, then the order read as it stands once
/// locked (see the module's comment).
pub(super) fn for_update(conn: &mut Conn, id: OrderId) -> Result<Option<StoredOrder>> {
    let locked = conn.query_opt(
        "SELECT 1 FROM orders WHERE id = $1 FOR UPDATE",
        &[&id.row()],
    )?;
    if locked.is_none() {
        return Ok(None);
    }
    order(conn, id)?.map(sound).transpose()
}

/// Every state column of the order's row, and its refund requests at
/// `refunds`.
pub(super) fn save(
    conn: &mut Conn,
    order: OrderId,
    state: &Order,
    refunds: &[RefundRequestIndex],
) -> Result<()> {
    let columns = OrderColumns::of(state);
    let mut params = columns.params().to_vec();
    let id = order.row();
    params.push(&id);
    let updated = conn.execute(
        concat!(
            "UPDATE orders SET (",
            order_state_columns!(),
            ") = ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) WHERE id = $14"
        ),
        &params,
    )?;
    if updated != 1 {
        return Err(Error::missing(order));
    }
    upsert_refunds(conn, order, state, refunds)
}

/// The due rows locked (skipping those another transaction holds), then
/// read as they stand once locked, in the same order.
pub(super) fn due_for_update(conn: &mut Conn, due: Due, limit: u32) -> Result<Vec<StoredOrder>> {
    let limit = i64::from(limit);
    let rows = match due {
        Due::Unpaid(at) => conn.query(
            "SELECT id FROM orders WHERE status = 'pending_payment' AND pay_by <= $1
             ORDER BY pay_by, id LIMIT $2 FOR UPDATE SKIP LOCKED",
            &[&at.unix_ms(), &limit],
        )?,
        Due::ShippedBy(at) => conn.query(
            "SELECT id FROM orders WHERE status = 'shipped' AND shipped_at <= $1
             ORDER BY shipped_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
            &[&at.unix_ms(), &limit],
        )?,
    };
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
    let found = conn.query(
        concat!(
            order_select!(),
            " WHERE o.id = ANY($1) ORDER BY array_position($1, o.id)"
        ),
        &[&ids],
    )?;
    found
        .iter()
        .map(|row| sound(order_from_row(row)?))
        .collect()
}

/// An item as [`order_select!`] aggregates it: position, variant,
/// quantity, unit price, and its names at placing (NULL for an order
/// placed before they were kept).
type ItemTuple = (
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A refund request as [`order_select!`] aggregates it, in the table's
/// column order.
type RefundTuple = (i64, i64, String, String, i64, Option<i64>, i64, i64);

/// A row of [`order_select!`] as the order it stores.
pub(crate) fn order_from_row(row: &Row) -> Result<StoredOrder> {
    let order_id = OrderId::from_row(row.get("id"));
    let broken = |what: Broken| corrupt(format!("{order_id}: {what}"));
    let currency: String = row.get("currency");
    let shipping: String = row.get("shipping_address");
    let (items, names) = items_of(row.get("items"))
        .map_err(broken)?
        .into_iter()
        .unzip();
    Ok(StoredOrder {
        order_id,
        shop_id: ShopId::from_row(row.get("shop_id")),
        buyer: AccountId::from_row(row.get("buyer_id")),
        conversation: row
            .get::<_, Option<i64>>("conversation_id")
            .map(ConversationId::from_row),
        currency: Currency::parse(&currency)
            .map_err(|_| broken(format!("currency {currency:?}")))?,
        shipping: serde_json::from_str(&shipping)
            .map_err(|error| broken(format!("shipping address: {error}")))?,
        order: order_state(row, items).map_err(broken)?,
        names,
    })
}

/// The state machine's [`Order`] of a row of [`order_select!`].
fn order_state(row: &Row, items: Vec<OrderItem>) -> std::result::Result<Order, Broken> {
    let status: String = row.get("status");
    Ok(Order {
        status: OrderStatus::parse(&status).ok_or_else(|| format!("status {status:?}"))?,
        items,
        total: positive(row.get("total_minor"), "total")?,
        placed_at: time(row.get("placed_at")),
        pay_by: time(row.get("pay_by")),
        paid_at: row.get::<_, Option<i64>>("paid_at").map(time),
        shipment: shipment_of(row)?,
        completed: completion_of(row)?,
        cancelled: cancellation_of(row)?,
        released_minor: moved(row.get("released_minor"), "released")?,
        refunded_from_escrow_minor: moved(
            row.get("refunded_from_escrow_minor"),
            "refunded from escrow",
        )?,
        refunded_from_settlement_minor: moved(
            row.get("refunded_from_settlement_minor"),
            "refunded from settlement",
        )?,
        refund_requests: refunds_of(row.get("refunds"))?,
    })
}

fn shipment_of(row: &Row) -> std::result::Result<Option<(Shipment, Timestamp)>, Broken> {
    match (
        row.get::<_, Option<i64>>("shipped_at"),
        row.get::<_, Option<String>>("carrier"),
        row.get::<_, Option<String>>("tracking"),
    ) {
        (Some(at), Some(carrier), Some(tracking)) => {
            Ok(Some((Shipment::from_store(carrier, tracking), time(at))))
        }
        (None, None, None) => Ok(None),
        _ => Err("shipped_at, carrier and tracking set in part".into()),
    }
}

fn completion_of(row: &Row) -> std::result::Result<Option<(ConfirmedBy, Timestamp)>, Broken> {
    match (
        row.get::<_, Option<i64>>("completed_at"),
        row.get::<_, Option<String>>("confirmed_by"),
    ) {
        (Some(at), Some(by)) => {
            let by = ConfirmedBy::parse(&by).ok_or_else(|| format!("confirmed_by {by:?}"))?;
            Ok(Some((by, time(at))))
        }
        (None, None) => Ok(None),
        _ => Err("completed_at and confirmed_by set in part".into()),
    }
}

fn cancellation_of(row: &Row) -> std::result::Result<Option<Cancellation>, Broken> {
    match (
        row.get::<_, Option<i64>>("cancelled_at"),
        row.get::<_, Option<String>>("cancelled_by"),
        row.get::<_, Option<i64>>("cancel_refund_minor"),
    ) {
        (Some(at), Some(by), Some(refund_minor)) => Ok(Some(Cancellation {
            at: time(at),
            by: CancelledBy::parse(&by).ok_or_else(|| format!("cancelled_by {by:?}"))?,
            refund_minor: moved(refund_minor, "cancel_refund_minor")?,
        })),
        (None, None, None) => Ok(None),
        _ => Err("cancelled_at, cancelled_by and cancel_refund_minor set in part".into()),
    }
}

/// Items in position order, which must run 0, 1, 2, … with no gap, each
/// with its names at placing.
type Items = Vec<(OrderItem, Option<ItemNames>)>;

fn items_of(json: Option<String>) -> std::result::Result<Items, Broken> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let mut tuples: Vec<ItemTuple> =
        serde_json::from_str(&json).map_err(|error| format!("items: {error}"))?;
    // One more than an order may hold is enough for `check_invariants` to
    // report it, without summing them all (as SQLite reads them).
    tuples.truncate(ORDER_ITEMS_MAX + 1);
    let item = |(index, tuple): (usize, ItemTuple)| {
        let (position, variant, quantity, unit_price, title, variant_name, sku) = tuple;
        if usize::try_from(position) != Ok(index) {
            return Err(format!("item at position {position} where {index} belongs"));
        }
        let item = OrderItem {
            variant: VariantId::from_row(variant),
            quantity: u32::try_from(quantity).map_err(|_| format!("quantity {quantity}"))?,
            unit_price: positive(unit_price, "unit price")?,
        };
        let names = match (title, variant_name, sku) {
            (Some(title), Some(variant_name), Some(sku)) => Some(ItemNames {
                title,
                variant_name,
                sku,
            }),
            _ => None,
        };
        Ok((item, names))
    };
    tuples.into_iter().enumerate().map(item).collect()
}

/// Refund requests in index order, which must run 0, 1, 2, … with no gap:
/// an index is how the order names a request.
fn refunds_of(json: Option<String>) -> std::result::Result<Vec<RefundRequest>, Broken> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let mut tuples: Vec<RefundTuple> =
        serde_json::from_str(&json).map_err(|error| format!("refund requests: {error}"))?;
    tuples.truncate(REFUND_REQUESTS_PER_ORDER_MAX + 1);
    let request = |(index, tuple): (usize, RefundTuple)| {
        let (idx, amount, reason, status, requested_at, decided_at, from_escrow, from_settlement) =
            tuple;
        if usize::try_from(idx) != Ok(index) {
            return Err(format!("refund request {idx} where {index} belongs"));
        }
        Ok(RefundRequest {
            amount: positive(amount, "refund amount")?,
            reason: RefundReason::from_store(reason),
            status: RefundStatus::parse(&status)
                .ok_or_else(|| format!("refund status {status:?}"))?,
            requested_at: time(requested_at),
            decided_at: decided_at.map(time),
            from_escrow_minor: moved(from_escrow, "refunded from escrow")?,
            from_settlement_minor: moved(from_settlement, "refunded from settlement")?,
        })
    };
    tuples.into_iter().enumerate().map(request).collect()
}

/// An amount an order moved or refunded: 0 to `AMOUNT_MINOR_MAX`, as the
/// ledger bounds it, so that summing an order's amounts to check it
/// cannot overflow (as SQLite reads it).
fn moved(minor: i64, what: &str) -> std::result::Result<i64, Broken> {
    if (0..=AMOUNT_MINOR_MAX).contains(&minor) {
        Ok(minor)
    } else {
        Err(format!("{what} {minor}"))
    }
}

/// Orders after `after` in id order, at most `limit`, each rebuilt as
/// [`order`] reads it (`Error::Corrupt` if its rows make no order) but
/// not yet held to the state machine's invariants: the checker
/// (`integrity.rs`) reports each one it breaks.
pub(crate) fn rebuilt_after(
    client: &mut impl postgres::GenericClient,
    after: i64,
    limit: i64,
) -> std::result::Result<Vec<(OrderId, Result<StoredOrder>)>, postgres::Error> {
    let rows = client.query(
        concat!(order_select!(), " WHERE o.id > $1 ORDER BY o.id LIMIT $2"),
        &[&after, &limit],
    )?;
    Ok(rows
        .iter()
        .map(|row| (OrderId::from_row(row.get("id")), order_from_row(row)))
        .collect())
}

/// `stored`, if the state machine could have made it: an order about to
/// be moved must be one (`Order::check_invariants`).
pub(crate) fn sound(stored: StoredOrder) -> Result<StoredOrder> {
    let violations = stored.order.check_invariants();
    if violations.is_empty() {
        return Ok(stored);
    }
    let violations: Vec<String> = violations.iter().map(ToString::to_string).collect();
    Err(corrupt(format!(
        "{} breaks the order's invariants: {}",
        stored.order_id,
        violations.join("; ")
    )))
}

/// The state columns of `orders` for `order`, as written.
pub(crate) struct OrderColumns<'a> {
    pub(crate) order: &'a Order,
    pub(crate) status: &'static str,
    pub(crate) paid_at: Option<i64>,
    pub(crate) shipped_at: Option<i64>,
    pub(crate) carrier: Option<&'a str>,
    pub(crate) tracking: Option<&'a str>,
    pub(crate) completed_at: Option<i64>,
    pub(crate) confirmed_by: Option<&'static str>,
    pub(crate) cancelled_at: Option<i64>,
    pub(crate) cancelled_by: Option<&'static str>,
    pub(crate) cancel_refund_minor: Option<i64>,
}

impl<'a> OrderColumns<'a> {
    pub(crate) fn of(order: &'a Order) -> OrderColumns<'a> {
        let shipment = order.shipment.as_ref();
        OrderColumns {
            order,
            status: order.status.as_str(),
            paid_at: order.paid_at.map(Timestamp::unix_ms),
            shipped_at: shipment.map(|(_, at)| at.unix_ms()),
            carrier: shipment.map(|(shipment, _)| shipment.carrier()),
            tracking: shipment.map(|(shipment, _)| shipment.tracking()),
            completed_at: order.completed.map(|(_, at)| at.unix_ms()),
            confirmed_by: order.completed.map(|(by, _)| by.as_str()),
            cancelled_at: order.cancelled.map(|cancelled| cancelled.at.unix_ms()),
            cancelled_by: order.cancelled.map(|cancelled| cancelled.by.as_str()),
            cancel_refund_minor: order.cancelled.map(|cancelled| cancelled.refund_minor),
        }
    }

    /// `$1` … `$13`, as [`order_state_columns!`] names them.
    fn params(&self) -> [&(dyn postgres::types::ToSql + Sync); 13] {
        [
            &self.status,
            &self.paid_at,
            &self.shipped_at,
            &self.carrier,
            &self.tracking,
            &self.completed_at,
            &self.confirmed_by,
            &self.cancelled_at,
            &self.cancelled_by,
            &self.cancel_refund_minor,
            &self.order.released_minor,
            &self.order.refunded_from_escrow_minor,
            &self.order.refunded_from_settlement_minor,
        ]
    }
}

/// Writes the refund requests of `state` at `indexes`, new or changed,
/// in one statement.
fn upsert_refunds(
    conn: &mut Conn,
    order: OrderId,
    state: &Order,
    indexes: &[RefundRequestIndex],
) -> Result<()> {
    if indexes.is_empty() {
        return Ok(());
    }
    let mut rows = RefundRows::default();
    for &index in indexes {
        let request = state.refund_requests.get(index).ok_or_else(|| {
            Error::Engine(format!(
                "{order} was saved with refund request {index}, which it lacks"
            ))
        })?;
        rows.push(index, request);
    }
    conn.execute(
        "INSERT INTO order_refund_requests (order_id, idx, amount_minor, reason, status,
                                            requested_at, decided_at, from_escrow_minor,
                                            from_settlement_minor)
         SELECT $1, r.* FROM unnest($2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[],
                                    $6::BIGINT[], $7::BIGINT[], $8::BIGINT[], $9::BIGINT[]) AS r
         ON CONFLICT (order_id, idx) DO UPDATE SET
             (amount_minor, reason, status, requested_at, decided_at, from_escrow_minor,
              from_settlement_minor)
           = (EXCLUDED.amount_minor, EXCLUDED.reason, EXCLUDED.status, EXCLUDED.requested_at,
              EXCLUDED.decided_at, EXCLUDED.from_escrow_minor, EXCLUDED.from_settlement_minor)",
        &[
            &order.row(),
            &rows.idx,
            &rows.amount,
            &rows.reason,
            &rows.status,
            &rows.requested_at,
            &rows.decided_at,
            &rows.from_escrow,
            &rows.from_settlement,
        ],
    )?;
    Ok(())
}

/// Refund requests as columns, for `unnest`.
#[derive(Default)]
struct RefundRows<'a> {
    idx: Vec<i64>,
    amount: Vec<i64>,
    reason: Vec<&'a str>,
    status: Vec<&'static str>,
    requested_at: Vec<i64>,
    decided_at: Vec<Option<i64>>,
    from_escrow: Vec<i64>,
    from_settlement: Vec<i64>,
}

impl<'a> RefundRows<'a> {
    fn push(&mut self, index: RefundRequestIndex, request: &'a RefundRequest) {
        self.idx.push(index as i64);
        self.amount.push(request.amount.get());
        self.reason.push(request.reason.as_str());
        self.status.push(request.status.as_str());
        self.requested_at.push(request.requested_at.unix_ms());
        self.decided_at
            .push(request.decided_at.map(Timestamp::unix_ms));
        self.from_escrow.push(request.from_escrow_minor);
        self.from_settlement.push(request.from_settlement_minor);
    }
}

/// `conversation` as the order's own.
pub(super) fn set_conversation(
    conn: &mut Conn,
    order: OrderId,
    conversation: ConversationId,
) -> Result<()> {
    let updated = conn.execute(
        "UPDATE orders SET conversation_id = $2 WHERE id = $1",
        &[&order.row(), &conversation.row()],
    )?;
    if updated != 1 {
        return Err(corrupt(format!(
            "{order} to give a conversation is not stored"
        )));
    }
    Ok(())
}

/// The conversations of `shop`'s open orders that `account` is not a
/// member of, newest order first.
pub(super) fn conversations_to_join(
    conn: &mut Conn,
    shop: ShopId,
    account: AccountId,
    limit: usize,
) -> Result<Vec<ConversationId>> {
    let rows = conn.query(
        "SELECT o.conversation_id FROM orders o
         WHERE o.shop_id = $1 AND o.status IN ('pending_payment', 'paid', 'shipped')
           AND o.conversation_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM members m
                           WHERE m.conversation_id = o.conversation_id AND m.account_id = $2)
         ORDER BY o.id DESC LIMIT $3",
        &[&shop.row(), &account.row(), &(limit as i64)],
    )?;
    Ok(rows
        .iter()
        .map(|row| ConversationId::from_row(row.get(0)))
        .collect())
}

/// The conversations of `shop`'s orders that `account` is a member of
/// though it is not their buyer.
pub(super) fn conversations_to_leave(
    conn: &mut Conn,
    shop: ShopId,
    account: AccountId,
    limit: usize,
) -> Result<Vec<ConversationId>> {
    let rows = conn.query(
        "SELECT o.conversation_id FROM orders o
         JOIN members m ON m.conversation_id = o.conversation_id AND m.account_id = $2
         WHERE o.shop_id = $1 AND o.buyer_id <> $2
         ORDER BY o.id DESC LIMIT $3",
        &[&shop.row(), &account.row(), &(limit as i64)],
    )?;
    Ok(rows
        .iter()
        .map(|row| ConversationId::from_row(row.get(0)))
        .collect())
}
