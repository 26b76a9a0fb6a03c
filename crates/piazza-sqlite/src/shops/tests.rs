//! The shops' SQL against a real store: stock moves, an order's rows
//! through its life, the sweeper's picks and the lists.

use std::sync::Arc;

use piazza_core::pay::merchants::Writes as _;
use piazza_core::shops::{
    Due, NewOrder, NewProduct, NewShop, NewVariant, OrderSide, ProductQuery, Reads as _,
    StoredOrder, Writes as _,
};
use piazza_domain::money::{AmountMinor, Currency};
use piazza_domain::order::{
    self, CancelledBy, Order, OrderCommand, OrderItem, OrderPolicy, OrderStatus, Party,
    RefundReason, RefundStatus, Shipment, StockMove, StockMoveKind,
};
use piazza_domain::shop::{
    Description, Handle, ProductTitle, STOCK_MAX, ShippingAddress, ShopName, Sku, VariantName,
};
use piazza_domain::{AccountId, OrderId, ShopId, Timestamp, VariantId};
use tempfile::TempDir;

use crate::engine::Db;
use crate::test_support::{Nobody, account};
use crate::{SqliteStore, StoreOptions};

/// A store with one shop of Olga's selling one product in two variants,
/// each with `stock` available, and Bruno, who buys.
struct World {
    dir: TempDir,
    store: Arc<SqliteStore>,
    owner: AccountId,
    buyer: AccountId,
    shop: ShopId,
    variants: [VariantId; 2],
}

const T0: i64 = 1_700_000_000_000;

fn at(offset_ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(T0 + offset_ms)
}

fn minor(value: i64) -> AmountMinor {
    AmountMinor::positive(value).unwrap()
}

fn new_shop(handle: &str) -> NewShop {
    NewShop {
        handle: Handle::parse(handle).unwrap(),
        name: ShopName::parse("Olga's").unwrap(),
        description: Description::parse("").unwrap(),
        logo: None,
    }
}

fn new_product(title: &str) -> NewProduct {
    NewProduct {
        title: ProductTitle::parse(title).unwrap(),
        description: Description::parse("Fresh durum wheat").unwrap(),
        media: Vec::new(),
        variants: Vec::new(),
    }
}

fn new_variant(sku: &str, stock: i64) -> NewVariant {
    NewVariant {
        sku: Sku::parse(sku).unwrap(),
        name: VariantName::parse(sku).unwrap(),
        price: minor(250),
        stock,
    }
}

async fn world(stock: i64) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap());
    let owner = account(&store, "olga").await;
    let buyer = account(&store, "bruno").await;
    let (shop, variants) = store
        .writer
        .run(move |ctx| {
            let now = ctx.now;
            let merchant = ctx.insert_merchant(owner, "Olga's", "", now)?;
            let shop = ctx.insert_shop(owner, &new_shop("olgas"), merchant, now)?;
            let shop = shop.expect("a new handle");
            let product = ctx.insert_product(shop, &new_product("Pasta"), now)?;
            let mut variants = Vec::new();
            for sku in ["P-500", "P-1000"] {
                let variant = ctx.insert_variant(shop, product, &new_variant(sku, stock))?;
                variants.push(variant.expect("a new SKU"));
            }
            Ok((shop, [variants[0], variants[1]]))
        })
        .await
        .unwrap();
    World {
        dir,
        store,
        owner,
        buyer,
        shop,
        variants,
    }
}

impl World {
    /// `variant`'s (available, reserved, sold), as a reader sees them.
    async fn stock(&self, variant: VariantId) -> (i64, i64, i64) {
        let found = self
            .store
            .readers
            .read(move |conn| Ok(Db(conn).variant(variant)?))
            .await
            .unwrap()
            .unwrap();
        (found.available, found.reserved, found.sold)
    }

    async fn insert(&self, order: Order) -> OrderId {
        let (shop, buyer) = (self.shop, self.buyer);
        self.store
            .writer
            .run(move |ctx| {
                Ok(ctx.insert_order(&NewOrder {
                    shop_id: shop,
                    buyer,
                    currency: Currency::CNY,
                    shipping: &address(),
                    order: &order,
                    names: &[],
                })?)
            })
            .await
            .unwrap()
    }

    /// `order` as the writer reads it to change it.
    async fn for_update(&self, order: OrderId) -> StoredOrder {
        self.store
            .writer
            .run(move |ctx| Ok(ctx.order_for_update(order)?))
            .await
            .unwrap()
            .unwrap()
    }

    /// Applies `command` at `when` to the stored order and saves the
    /// result as the rules do: the order, and the refund requests that
    /// differ. Answers the order as it was read back.
    async fn apply(&self, order: OrderId, command: OrderCommand, when: Timestamp) -> Order {
        let before = self.for_update(order).await.order;
        let after = before
            .apply(&command, when, &OrderPolicy::default())
            .unwrap()
            .order;
        let changed: Vec<usize> = (0..after.refund_requests.len())
            .filter(|&index| before.refund_requests.get(index) != after.refund_requests.get(index))
            .collect();
        let state = after.clone();
        self.store
            .writer
            .run(move |ctx| Ok(ctx.save_order(order, &state, &changed)?))
            .await
            .unwrap();
        let stored = self.for_update(order).await;
        assert_eq!(stored.order, after, "after {}", command.action());
        after
    }

    async fn due(&self, due: Due, limit: u32) -> Vec<OrderId> {
        let found = self
            .store
            .writer
            .run(move |ctx| Ok(ctx.due_orders_for_update(due, limit)?))
            .await
            .unwrap();
        found.iter().map(|stored| stored.order_id).collect()
    }

    async fn orders(
        &self,
        side: OrderSide,
        status: Option<OrderStatus>,
        before: Option<OrderId>,
    ) -> Vec<OrderId> {
        let found = self
            .store
            .readers
            .read(move |conn| Ok(Db(conn).orders(side, status, before, 10)?))
            .await
            .unwrap();
        found.iter().map(|stored| stored.order_id).collect()
    }
}

fn address() -> ShippingAddress {
    ShippingAddress {
        name: "Bruno".into(),
        line1: "Via Roma 1".into(),
        city: "Torino".into(),
        country: "IT".into(),
        ..ShippingAddress::default()
    }
}

/// An order for `quantity` of `variant`, placed at `placed`.
fn placed(variant: VariantId, quantity: u32, placed: Timestamp) -> Order {
    let item = OrderItem {
        variant,
        quantity,
        unit_price: minor(250),
    };
    order::place(vec![item], placed, &OrderPolicy::default())
        .unwrap()
        .order
}

/// `order` moved by each of `commands` in turn, a second apart.
fn moved(mut order: Order, commands: &[OrderCommand]) -> Order {
    let placed_at = order.placed_at.unix_ms();
    for (step, command) in (1..).zip(commands) {
        let now = Timestamp::from_unix_ms(placed_at + 1_000 * step);
        order = order
            .apply(command, now, &OrderPolicy::default())
            .unwrap()
            .order;
    }
    order
}

fn ship() -> OrderCommand {
    OrderCommand::Ship(Shipment::parse("Poste", "RR123").unwrap())
}

fn refund(amount: i64) -> OrderCommand {
    OrderCommand::RequestRefund {
        amount: minor(amount),
        reason: RefundReason::parse("one pack was torn").unwrap(),
    }
}

#[tokio::test]
async fn stock_moves_refuse_overselling_and_conserve_the_stock() {
    use StockMoveKind::{Release, Reserve, Sell};
    let world = world(5).await;
    let variant = world.variants[0];
    let steps = [
        (Reserve, 3, true),
        (Reserve, 3, false), // 2 available
        (Sell, 4, false),    // 3 reserved
        (Sell, 2, true),
        (Release, 2, false), // 1 reserved
        (Release, 1, true),
        (Reserve, 3, true),
        (Reserve, 1, false), // none available
        (Sell, 3, true),
    ];
    let mut expected = (5, 0, 0);
    for (kind, quantity, moves) in steps {
        let stock = StockMove {
            variant,
            quantity,
            kind,
        };
        let moved = world
            .store
            .writer
            .run(move |ctx| Ok(ctx.move_stock(&stock)?))
            .await
            .unwrap();
        assert_eq!(moved, moves, "{kind:?} of {quantity} from {expected:?}");
        if moves {
            let q = i64::from(quantity);
            let (available, reserved, sold) = &mut expected;
            match kind {
                Reserve => (*available, *reserved) = (*available - q, *reserved + q),
                Release => (*available, *reserved) = (*available + q, *reserved - q),
                Sell => (*reserved, *sold) = (*reserved - q, *sold + q),
            }
        }
        let found = world.stock(variant).await;
        assert_eq!(found, expected, "after {kind:?} of {quantity}");
        assert_eq!(found.0 + found.1 + found.2, 5, "the stock is conserved");
    }
    assert_eq!(world.stock(world.variants[1]).await, (5, 0, 0), "untouched");
}

#[tokio::test]
async fn available_stock_moves_only_within_its_bounds() {
    let world = world(5).await;
    let variant = world.variants[0];
    for (delta, answer) in [
        (-6, None),
        (STOCK_MAX, None),
        (i64::MAX, None), // overflows: refused, not wrapped
        (i64::MIN, None),
        (-5, Some(0)),
        (STOCK_MAX, Some(STOCK_MAX)),
        (1, None),
    ] {
        let found = world
            .store
            .writer
            .run(move |ctx| Ok(ctx.add_available(variant, delta)?))
            .await
            .unwrap();
        assert_eq!(found, answer, "a delta of {delta}");
    }
    assert_eq!(world.stock(variant).await, (STOCK_MAX, 0, 0));
}

#[tokio::test]
async fn an_order_round_trips_through_its_whole_life() {
    let world = world(10).await;
    let [a, b] = world.variants;
    let items = vec![
        OrderItem {
            variant: b,
            quantity: 2,
            unit_price: minor(250),
        },
        OrderItem {
            variant: a,
            quantity: 1,
            unit_price: minor(999),
        },
    ];
    let first = order::place(items, at(0), &OrderPolicy::default())
        .unwrap()
        .order;
    let id = world.insert(first.clone()).await;
    let stored = world.for_update(id).await;
    assert_eq!(stored.order, first, "items kept in their order");
    assert_eq!(
        (stored.shop_id, stored.buyer, stored.currency),
        (world.shop, world.buyer, Currency::CNY)
    );
    assert_eq!(stored.shipping, address());
    world.apply(id, OrderCommand::Pay, at(1_000)).await;
    world.apply(id, refund(100), at(2_000)).await;
    world.apply(id, refund(50), at(2_500)).await;
    world
        .apply(id, OrderCommand::ApproveRefund(0), at(3_000))
        .await;
    world
        .apply(id, OrderCommand::RejectRefund(1), at(3_500))
        .await;
    world.apply(id, ship(), at(4_000)).await;
    world.apply(id, OrderCommand::Confirm, at(5_000)).await;
    world.apply(id, refund(200), at(6_000)).await;
    let last = world
        .apply(id, OrderCommand::ApproveRefund(2), at(7_000))
        .await;
    assert_eq!(last.status, OrderStatus::Completed);
    assert_eq!(
        (
            last.refunded_from_escrow_minor,
            last.refunded_from_settlement_minor
        ),
        (100, 200)
    );
    let statuses: Vec<RefundStatus> = last.refund_requests.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            RefundStatus::Approved,
            RefundStatus::Rejected,
            RefundStatus::Approved
        ]
    );
    // A reader rebuilds the same order.
    let read = world
        .store
        .readers
        .read(move |conn| Ok(Db(conn).order(id)?))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.order, last);
}

#[tokio::test]
async fn a_cancelled_order_keeps_its_cancellation_and_superseded_requests() {
    let world = world(10).await;
    let id = world.insert(placed(world.variants[0], 3, at(0))).await;
    world.apply(id, OrderCommand::Pay, at(1_000)).await;
    world.apply(id, refund(100), at(2_000)).await;
    let cancelled = world
        .apply(id, OrderCommand::Cancel(Party::Shop), at(3_000))
        .await;
    let cancellation = cancelled.cancelled.expect("cancelled");
    assert_eq!(cancellation.refund_minor, 750);
    assert_eq!(
        cancelled.refund_requests[0].status,
        RefundStatus::Superseded
    );
    let unpaid = world.insert(placed(world.variants[1], 1, at(0))).await;
    let pay_by = at(OrderPolicy::default().pay_within_ms);
    let expired = world.apply(unpaid, OrderCommand::Expire, pay_by).await;
    let cancellation = expired.cancelled.expect("expired");
    assert_eq!(
        (cancellation.by, cancellation.refund_minor),
        (CancelledBy::Expiry, 0)
    );
}

#[tokio::test]
async fn a_damaged_order_row_is_corrupt_not_a_panic() {
    let world = world(10).await;
    let id = world.insert(placed(world.variants[0], 1, at(0))).await;
    for damage in [
        "UPDATE orders SET status = 'lost' WHERE id = ?1",
        "UPDATE orders SET carrier = 'Poste' WHERE id = ?1",
        "UPDATE orders SET status = 'paid' WHERE id = ?1",
        "UPDATE orders SET total_minor = 1 WHERE id = ?1",
        "UPDATE orders SET released_minor = -1 WHERE id = ?1",
        "UPDATE orders SET currency = 'XXXX' WHERE id = ?1",
        "UPDATE orders SET shipping_address = '{' WHERE id = ?1",
        "UPDATE order_items SET position = 1 WHERE order_id = ?1",
    ] {
        let found = world
            .store
            .writer
            .run(move |ctx| {
                ctx.conn.execute_batch("SAVEPOINT damage")?;
                ctx.conn.execute(damage, [id.row()])?;
                let found = ctx.order_for_update(id).map(drop);
                ctx.conn
                    .execute_batch("ROLLBACK TO damage; RELEASE damage")?;
                Ok(found)
            })
            .await
            .unwrap();
        assert!(
            matches!(found, Err(piazza_core::Error::Corrupt(_))),
            "{damage}: {found:?}"
        );
    }
    assert_eq!(
        world.for_update(id).await.order.status,
        OrderStatus::PendingPayment
    );
}

#[tokio::test]
async fn the_sweeper_gets_the_due_orders_oldest_first() {
    let world = world(100).await;
    let [a, b] = world.variants;
    let policy = OrderPolicy::default();
    let pay_within = policy.pay_within_ms;
    // Unpaid, placed 0, 10 and 20 s in: due at pay_within after that.
    let late = world.insert(placed(a, 1, at(20_000))).await;
    let early = world.insert(placed(a, 1, at(0))).await;
    let middle = world.insert(placed(b, 1, at(10_000))).await;
    // Paid, shipped (at 2 s and 1 s after placing), completed, cancelled:
    // never unpaid-due.
    let paid = world
        .insert(moved(placed(a, 1, at(0)), &[OrderCommand::Pay]))
        .await;
    let shipped_later = world
        .insert(moved(placed(a, 1, at(0)), &[OrderCommand::Pay, ship()]))
        .await;
    let shipped_first = world
        .insert(moved(
            placed(b, 1, at(-1_000)),
            &[OrderCommand::Pay, ship()],
        ))
        .await;
    let completed = world
        .insert(moved(
            placed(b, 1, at(-5_000)),
            &[OrderCommand::Pay, ship(), OrderCommand::Confirm],
        ))
        .await;
    let cancelled = world
        .insert(moved(
            placed(b, 1, at(0)),
            &[OrderCommand::Cancel(Party::Buyer)],
        ))
        .await;
    let _ = (paid, completed, cancelled);

    assert_eq!(world.due(Due::Unpaid(at(pay_within - 1)), 10).await, []);
    assert_eq!(world.due(Due::Unpaid(at(pay_within)), 10).await, [early]);
    assert_eq!(
        world.due(Due::Unpaid(at(pay_within + 20_000)), 10).await,
        [early, middle, late]
    );
    assert_eq!(
        world.due(Due::Unpaid(at(pay_within + 20_000)), 2).await,
        [early, middle]
    );
    let mut shipped_at = Vec::new();
    for id in [shipped_first, shipped_later] {
        let shipment = world.for_update(id).await.order.shipment;
        shipped_at.push(shipment.expect("shipped").1);
    }
    let (first_at, later_at) = (shipped_at[0], shipped_at[1]);
    assert!(first_at < later_at);
    let before_first = Timestamp::from_unix_ms(first_at.unix_ms() - 1);
    assert_eq!(world.due(Due::ShippedBy(before_first), 10).await, []);
    assert_eq!(
        world.due(Due::ShippedBy(first_at), 10).await,
        [shipped_first]
    );
    assert_eq!(
        world.due(Due::ShippedBy(at(1_000_000)), 10).await,
        [shipped_first, shipped_later]
    );
    assert_eq!(
        world.due(Due::ShippedBy(at(1_000_000)), 1).await,
        [shipped_first]
    );
}

#[tokio::test]
async fn order_lists_are_the_buyers_and_the_shops_staffs() {
    let world = world(100).await;
    let [a, _] = world.variants;
    let staff = account(&world.store, "stella").await;
    let stranger = account(&world.store, "sam").await;
    let (shop, owner) = (world.shop, world.owner);
    let other_shop = world
        .store
        .writer
        .run(move |ctx| {
            let now = ctx.now;
            ctx.insert_shop_staff(shop, staff, now)?;
            let merchant = ctx.insert_merchant(owner, "Second", "", now)?;
            Ok(ctx.insert_shop(owner, &new_shop("second"), merchant, now)?)
        })
        .await
        .unwrap()
        .expect("a new handle");
    let first = world.insert(placed(a, 1, at(0))).await;
    let paid = world
        .insert(moved(placed(a, 1, at(0)), &[OrderCommand::Pay]))
        .await;
    let third = world.insert(placed(a, 1, at(0))).await;

    let buyer = OrderSide::Buyer(world.buyer);
    assert_eq!(world.orders(buyer, None, None).await, [third, paid, first]);
    assert_eq!(world.orders(buyer, None, Some(third)).await, [paid, first]);
    let only_paid = Some(OrderStatus::Paid);
    assert_eq!(world.orders(buyer, only_paid, None).await, [paid]);
    let side = |account, shop| OrderSide::Shop { account, shop };
    for manager in [owner, staff] {
        assert_eq!(
            world.orders(side(manager, None), None, None).await,
            [third, paid, first]
        );
        assert_eq!(
            world
                .orders(side(manager, Some(shop)), None, Some(paid))
                .await,
            [first]
        );
    }
    assert_eq!(
        world
            .orders(side(owner, Some(other_shop)), None, None)
            .await,
        []
    );
    assert_eq!(
        world
            .orders(side(staff, Some(other_shop)), None, None)
            .await,
        []
    );
    assert_eq!(world.orders(side(stranger, None), None, None).await, []);
    assert_eq!(world.orders(OrderSide::Buyer(owner), None, None).await, []);
}

#[tokio::test]
async fn products_are_found_by_text_listing_and_shop() {
    let world = world(1).await;
    let shop = world.shop;
    let ids = world
        .store
        .writer
        .run(move |ctx| {
            let now = ctx.now;
            let mut ids = Vec::new();
            for title in ["Penne 100%", "Penne Rigate", "Fusilli"] {
                ids.push(ctx.insert_product(shop, &new_product(title), now)?);
            }
            let unlist = piazza_core::shops::ProductPatch {
                listed: Some(false),
                ..Default::default()
            };
            ctx.update_product(ids[1], &unlist, now)?;
            Ok(ids)
        })
        .await
        .unwrap();
    let find = |needle: &str, listed_only: bool| {
        let query = ProductQuery {
            needle: needle.to_owned(),
            shop: Some(shop),
            listed_only,
            before: None,
            limit: 10,
        };
        let store = Arc::clone(&world.store);
        async move {
            let found = store
                .readers
                .read(move |conn| Ok(Db(conn).find_products(&query)?))
                .await
                .unwrap();
            found.iter().map(|p| p.product_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        find("penne", false).await,
        [ids[1], ids[0]],
        "ASCII case folded"
    );
    assert_eq!(find("penne", true).await, [ids[0]], "listed only");
    assert_eq!(find("0%", false).await, [ids[0]], "% is a character");
    // The first product, Pasta, is found too; every description holds
    // "durum".
    assert_eq!(find("", false).await.len(), 4);
    assert_eq!(find("durum", true).await.len(), 3);
    assert_eq!(find("_", false).await, [], "_ is a character");
}

/// The rules over this engine: buyers racing for the last units get
/// exactly what is there; a paid order's money sits in its escrow; the
/// sweeper expires the unpaid one and gives its units back.
#[tokio::test]
async fn racing_buyers_through_the_rules_never_oversell() {
    use piazza_core::shops::{OrderAction, PlaceOrder};
    use piazza_domain::money::Money;
    use piazza_domain::store::{IdempotencyKey, Idempotent, PinCheck};
    use piazza_domain::{Rejection, StoreError};

    use crate::test_support::{core, set_first_pin};

    let world = world(5).await;
    let core = core(&world.store, world.dir.path());
    let variant = world.variants[0];
    let policy = OrderPolicy::default();
    let request = |key: &str| Idempotent {
        key: IdempotencyKey::parse(key).unwrap(),
        request_hash: [3; 32],
    };
    let mut racing = tokio::task::JoinSet::new();
    for n in 0..6 {
        let buyer = account(&world.store, &format!("buyer{n}")).await;
        let (core, shop) = (core.clone(), world.shop);
        racing.spawn(async move {
            let place = PlaceOrder {
                shop,
                items: vec![(variant, 2)],
                shipping: address(),
                currency: Currency::CNY,
            };
            let placed = core
                .place_order(buyer, request("place"), place, policy)
                .await;
            (buyer, placed)
        });
    }
    let (mut placed, mut refused) = (Vec::new(), 0);
    while let Some(done) = racing.join_next().await {
        match done.unwrap() {
            (buyer, Ok(answer)) => placed.push((buyer, answer.view.stored.order_id)),
            (_, Err(StoreError::Rejected(Rejection::OutOfStock { .. }))) => refused += 1,
            (_, Err(other)) => panic!("{other:?}"),
        }
    }
    assert_eq!(
        (placed.len(), refused),
        (2, 4),
        "5 units hold two orders of 2"
    );
    assert_eq!(world.stock(variant).await, (1, 4, 0));

    let (payer, paid) = placed[0];
    let money = Money::new(minor(500), Currency::CNY);
    core.top_up(payer, request("top-up"), money, "test".into())
        .await
        .unwrap();
    set_first_pin(&core, payer).await;
    let pay = OrderAction::Pay(PinCheck::Verified);
    let answer = core
        .act_on_order(payer, Some(request("pay")), paid, pay, policy)
        .await
        .unwrap();
    assert_eq!(answer.view.stored.order.status, OrderStatus::Paid);
    assert_eq!(core.wallet_balance(payer, Currency::CNY).await.unwrap(), 0);

    let later = Timestamp::from_unix_ms(Timestamp::now().unix_ms() + policy.pay_within_ms);
    assert_eq!(core.sweep_orders(later, policy, 10).await.unwrap(), 1);
    assert_eq!(
        world.stock(variant).await,
        (3, 2, 0),
        "the expired order's units back"
    );
    let report = crate::integrity::check_ledger_data_dir(world.dir.path()).unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}
