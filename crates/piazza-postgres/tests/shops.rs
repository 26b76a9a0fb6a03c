//! Shops on PostgreSQL, at the level of the rules (`piazza_core::Core`):
//! reservations of one variant raced through several engines on one
//! database — several processes, each with its writers' connections —
//! where only the conditional update of the variant's row keeps stock from
//! being oversold; an order's whole stored state read back after every
//! move; the sweeper's choice of due orders, past a row another
//! transaction holds; and the catalog's and cart's changes.

use std::sync::mpsc;

use futures_util::future::join_all;
use piazza_core::Core;
use piazza_core::shops::{
    NewProduct, NewShop, NewVariant, OrderAction, OrderAnswer, PlaceOrder, ProductPatch,
    StockChange, VariantPatch,
};
use piazza_domain::money::{AmountMinor, Currency, Money};
use piazza_domain::order::{
    ConfirmedBy, OrderPolicy, OrderStatus, RefundReason, RefundStatus, Shipment,
};
use piazza_domain::shop::{
    Description, Handle, ProductTitle, ShippingAddress, ShopName, Sku, VariantName,
};
use piazza_domain::store::{IdempotencyKey, Idempotent, PinChange, PinCheck};
use piazza_domain::{
    AccountId, DisplayName, OrderId, ProductId, Rejection, ShopId, StoreError, Timestamp, Username,
    VariantId,
};
use piazza_postgres::integrity;
use piazza_postgres::testing::{TestDatabase, open_core as open};

const CNY: Currency = Currency::CNY;
const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// Engines on one new database (each one process), a shop owned by the
/// first account, and buyers, each with a payment PIN.
struct Market {
    database: TestDatabase,
    _dir: tempfile::TempDir,
    cores: Vec<Core>,
    owner: AccountId,
    buyers: Vec<AccountId>,
    shop: ShopId,
}

impl Market {
    async fn open(processes: usize, buyers: usize) -> Market {
        let database = TestDatabase::create();
        let dir = tempfile::tempdir().unwrap();
        let mut cores = Vec::new();
        for _ in 0..processes {
            cores.push(open(&database.url, dir.path()).await);
        }
        let core = &cores[0];
        let owner = account(core, "owner").await;
        let mut accounts = Vec::new();
        for n in 0..buyers {
            let buyer = account(core, &format!("buyer{n}")).await;
            let first = PinChange::WithPassword {
                pin_hash: "unused".into(),
                reset_effective_at: Timestamp::now(),
            };
            core.set_pin(buyer, first).await.unwrap();
            accounts.push(buyer);
        }
        let new = NewShop {
            handle: Handle::parse("corner_shop").unwrap(),
            name: ShopName::parse("Corner shop").unwrap(),
            description: Description::parse("Everything").unwrap(),
            logo: None,
        };
        let shop = core.create_shop(owner, new).await.unwrap();
        Market {
            database,
            _dir: dir,
            cores,
            owner,
            buyers: accounts,
            shop,
        }
    }

    /// The process that serves the `n`th call of a race.
    fn core(&self, n: usize) -> &Core {
        &self.cores[n % self.cores.len()]
    }

    /// A new product with one variant per `(sku, price, stock)`.
    async fn product(&self, title: &str, variants: &[(&str, i64, i64)]) -> Vec<VariantId> {
        let new = NewProduct {
            title: ProductTitle::parse(title).unwrap(),
            description: Description::parse("Fresh").unwrap(),
            media: Vec::new(),
            variants: variants
                .iter()
                .map(|&(sku, price, stock)| NewVariant {
                    sku: Sku::parse(sku).unwrap(),
                    name: VariantName::parse(sku).unwrap(),
                    price: AmountMinor::positive(price).unwrap(),
                    stock,
                })
                .collect(),
        };
        let (_, added) = self.cores[0]
            .add_product(self.owner, self.shop, new)
            .await
            .unwrap();
        added.iter().map(|variant| variant.variant_id).collect()
    }

    async fn place(
        &self,
        n: usize,
        buyer: AccountId,
        items: &[(VariantId, u32)],
    ) -> Result<OrderAnswer, StoreError> {
        let order = PlaceOrder {
            shop: self.shop,
            items: items.to_vec(),
            shipping: address(),
            currency: CNY,
        };
        let request = keyed(&format!("place-{n}"));
        self.core(n)
            .place_order(buyer, request, order, OrderPolicy::default())
            .await
    }

    /// `actor` moves `order`, and what the move answers (the state it
    /// wrote) is what reading the order back gives.
    async fn act(&self, actor: AccountId, order: OrderId, action: OrderAction) -> OrderAnswer {
        let answer = self.cores[0]
            .act_on_order(actor, None, order, action, OrderPolicy::default())
            .await
            .unwrap();
        let stored = self.core(1).order_view(actor, order).await.unwrap().stored;
        assert_eq!(answer.view.stored, stored, "{order} read back as written");
        answer
    }

    async fn status(&self, order: OrderId) -> OrderStatus {
        let view = self.cores[0].order_view(self.owner, order).await.unwrap();
        view.stored.order.status
    }

    /// The variant's `(available, reserved, sold)`, as its shop sees it.
    async fn stock(&self, variant: VariantId) -> (i64, i64, i64) {
        let products = self.cores[0]
            .products(self.owner, product_query(self.shop))
            .await
            .unwrap();
        let found = products
            .items
            .into_iter()
            .flat_map(|view| view.variants)
            .find(|found| found.variant_id == variant)
            .unwrap();
        (found.available, found.reserved, found.sold)
    }

    /// The product `variant` is of.
    async fn product_of(&self, variant: VariantId) -> ProductId {
        let products = self.cores[0]
            .products(self.owner, product_query(self.shop))
            .await
            .unwrap();
        let view = products
            .items
            .into_iter()
            .find(|view| view.variants.iter().any(|v| v.variant_id == variant))
            .unwrap();
        view.product.product_id
    }

    async fn top_up(&self, account: AccountId, minor: i64) {
        let money = Money::new(AmountMinor::positive(minor).unwrap(), CNY);
        let request = keyed(&format!("fund-{account}-{minor}"));
        let funded = self.cores[0].top_up(account, request, money, "test".into());
        funded.await.unwrap();
    }

    /// The ledger, re-verified from its postings alone, is sound.
    fn assert_ledger_sound(&self) {
        let url = self.database.url.clone();
        let report = std::thread::spawn(move || integrity::check_ledger(&url).unwrap())
            .join()
            .unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
    }
}

fn product_query(shop: ShopId) -> piazza_core::shops::ProductQuery {
    piazza_core::shops::ProductQuery {
        needle: String::new(),
        shop: Some(shop),
        listed_only: false,
        before: None,
        limit: 50,
    }
}

async fn account(core: &Core, name: &str) -> AccountId {
    let created = core.create_account(
        Username::parse(name).unwrap(),
        DisplayName::parse(name).unwrap(),
        "x".into(),
    );
    created.await.unwrap().account_id
}

fn keyed(key: &str) -> Idempotent {
    Idempotent {
        key: IdempotencyKey::parse(key).unwrap(),
        request_hash: [7; 32],
    }
}

fn address() -> ShippingAddress {
    ShippingAddress {
        name: "Ada".into(),
        line1: "Via Roma 1".into(),
        city: "Torino".into(),
        country: "IT".into(),
        ..ShippingAddress::default()
    }
}

fn refund(minor: i64, reason: &str) -> OrderAction {
    OrderAction::RequestRefund {
        amount: AmountMinor::positive(minor).unwrap(),
        reason: RefundReason::parse(reason).unwrap(),
    }
}

fn in_ms(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(Timestamp::now().unix_ms() + ms)
}

/// Orders for one variant placed at once through four processes (eight
/// writer connections), asking for several times its stock: the
/// reservations that succeed add up to what the variant reserved, never
/// more than it had, and every other order is refused out of stock.
#[tokio::test]
async fn reservations_racing_through_four_processes_never_oversell() {
    const STOCK: i64 = 20;
    let market = &Market::open(4, 8).await;
    let [variant] = market.product("Tomatoes", &[("TOM-1", 300, STOCK)]).await[..] else {
        unreachable!()
    };
    let asks = (0..48).map(|n| async move {
        let quantity = (n % 3) as u32 + 1;
        let buyer = market.buyers[n % market.buyers.len()];
        let placed = market.place(n, buyer, &[(variant, quantity)]).await;
        (quantity, placed)
    });
    let mut reserved_by_orders = 0;
    let mut refused = 0;
    for (quantity, placed) in join_all(asks).await {
        match placed {
            Ok(answer) => {
                let order = &answer.view.stored.order;
                assert_eq!(order.status, OrderStatus::PendingPayment);
                reserved_by_orders += i64::from(quantity);
            }
            Err(StoreError::Rejected(Rejection::OutOfStock { .. })) => refused += 1,
            Err(other) => panic!("an order failed otherwise than out of stock: {other}"),
        }
    }
    let (available, reserved, sold) = market.stock(variant).await;
    assert_eq!(reserved, reserved_by_orders, "reserved is what orders hold");
    assert_eq!(available + reserved + sold, STOCK, "no unit made or lost");
    assert!((0..3).contains(&available), "left {available}");
    assert!(refused > 0, "48 orders for 20 units must refuse some");
}

/// An order's state — items, payment, refund requests approved and
/// superseded, the cancellation — read back after every move is exactly
/// what the move wrote; so is a shipped, refunded and confirmed one.
#[tokio::test]
async fn orders_with_refund_requests_read_back_as_written() {
    let market = &Market::open(2, 1).await;
    let buyer = market.buyers[0];
    let owner = market.owner;
    let variants = market
        .product("Pasta", &[("PASTA-500", 250, 10), ("PASTA-1K", 450, 5)])
        .await;
    market.top_up(buyer, 10_000).await;
    let items = [(variants[1], 1), (variants[0], 2)];
    let placed = market.place(0, buyer, &items).await.unwrap();
    let order = placed.view.stored.order_id;
    let read = market.cores[1].order_view(buyer, order).await.unwrap();
    assert_eq!(placed.view.stored, read.stored);
    assert_eq!(read.stored.shipping, address());
    let stored_items: Vec<_> = read.stored.order.items.iter().map(|i| i.variant).collect();
    assert_eq!(
        stored_items,
        [variants[1], variants[0]],
        "items keep their order"
    );

    market
        .act(buyer, order, OrderAction::Pay(PinCheck::Verified))
        .await;
    market.act(buyer, order, refund(300, "one box torn")).await;
    market.act(buyer, order, refund(200, "late")).await;
    market
        .act(owner, order, OrderAction::ApproveRefund(0))
        .await;
    let cancelled = market.act(owner, order, OrderAction::Cancel).await;
    let stored = cancelled.view.stored.order;
    assert_eq!(stored.status, OrderStatus::Cancelled);
    let statuses: Vec<_> = stored.refund_requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [RefundStatus::Approved, RefundStatus::Superseded]);
    assert_eq!(stored.refunded_minor(), 950);
    assert_eq!(
        market.stock(variants[0]).await,
        (10, 0, 0),
        "stock released"
    );

    let placed = market.place(1, buyer, &[(variants[0], 3)]).await.unwrap();
    let order = placed.view.stored.order_id;
    market
        .act(buyer, order, OrderAction::Pay(PinCheck::Verified))
        .await;
    let shipment = Shipment::parse("Poste", "RR123").unwrap();
    market.act(owner, order, OrderAction::Ship(shipment)).await;
    market.act(buyer, order, refund(250, "one bag open")).await;
    market.act(owner, order, OrderAction::RejectRefund(0)).await;
    let confirmed = market.act(buyer, order, OrderAction::Confirm).await;
    let stored = confirmed.view.stored.order;
    assert_eq!(stored.status, OrderStatus::Completed);
    assert_eq!(stored.completed.map(|(by, _)| by), Some(ConfirmedBy::Buyer));
    assert_eq!(stored.released_minor, 750);
    market.act(buyer, order, refund(100, "stale")).await;
    let approved = market
        .act(owner, order, OrderAction::ApproveRefund(1))
        .await;
    assert_eq!(
        approved.view.stored.order.refunded_from_settlement_minor,
        100
    );
    assert_eq!(market.stock(variants[0]).await, (7, 0, 3), "stock sold");
    market.assert_ledger_sound();
}

/// A transaction of another process holding an order's row, as a buyer
/// paying it would: `release` lets it go.
struct HeldOrder {
    release: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl HeldOrder {
    fn lock(url: &str, order: OrderId) -> HeldOrder {
        let url = url.to_owned();
        let (locked, is_locked) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let mut tx = client.transaction().unwrap();
            tx.query_one(
                "SELECT 1 FROM orders WHERE id = $1 FOR UPDATE",
                &[&order.row()],
            )
            .unwrap();
            locked.send(()).unwrap();
            let _ = released.recv();
            tx.rollback().unwrap();
        });
        is_locked.recv().unwrap();
        HeldOrder { release, thread }
    }

    fn release(self) {
        self.release.send(()).unwrap();
        self.thread.join().unwrap();
    }
}

/// The sweep expires unpaid orders past their deadline, oldest first and
/// at most its limit, skipping one another transaction holds (taken by a
/// later sweep), and confirms orders shipped longer ago than the delay;
/// paid orders, and shipped ones still within it, stay as they are.
#[tokio::test]
async fn sweeps_take_due_orders_oldest_first_past_locked_ones() {
    let market = &Market::open(1, 2).await;
    let (buyer, other) = (market.buyers[0], market.buyers[1]);
    let [variant] = market.product("Olives", &[("OLV", 100, 50)]).await[..] else {
        unreachable!()
    };
    market.top_up(other, 1_000).await;
    let mut unpaid = Vec::new();
    for n in 0..3 {
        let placed = market.place(n, buyer, &[(variant, 1)]).await.unwrap();
        unpaid.push(placed.view.stored.order_id);
    }
    let paid = market.place(3, other, &[(variant, 2)]).await.unwrap();
    let paid = paid.view.stored.order_id;
    market
        .act(other, paid, OrderAction::Pay(PinCheck::Verified))
        .await;
    let shipped = market.place(4, other, &[(variant, 3)]).await.unwrap();
    let shipped = shipped.view.stored.order_id;
    market
        .act(other, shipped, OrderAction::Pay(PinCheck::Verified))
        .await;
    let shipment = Shipment::parse("Poste", "RR9").unwrap();
    market
        .act(market.owner, shipped, OrderAction::Ship(shipment))
        .await;
    let core = &market.cores[0];
    let policy = OrderPolicy::default();

    let sweep = |now: Timestamp, limit: u32| core.sweep_orders(now, policy, limit);
    assert_eq!(sweep(in_ms(MINUTE_MS), 10).await.unwrap(), 0, "nothing due");
    let past_deadline = in_ms(16 * MINUTE_MS);
    let held = HeldOrder::lock(&market.database.url, unpaid[1]);
    assert_eq!(sweep(past_deadline, 1).await.unwrap(), 1);
    assert_eq!(
        market.status(unpaid[0]).await,
        OrderStatus::Cancelled,
        "oldest first"
    );
    assert_eq!(market.status(unpaid[2]).await, OrderStatus::PendingPayment);
    assert_eq!(
        sweep(past_deadline, 10).await.unwrap(),
        1,
        "the held one skipped"
    );
    assert_eq!(market.status(unpaid[1]).await, OrderStatus::PendingPayment);
    assert_eq!(market.status(unpaid[2]).await, OrderStatus::Cancelled);
    held.release();
    assert_eq!(sweep(past_deadline, 10).await.unwrap(), 1);
    assert_eq!(market.status(unpaid[1]).await, OrderStatus::Cancelled);
    assert_eq!(
        market.status(shipped).await,
        OrderStatus::Shipped,
        "within the delay"
    );

    assert_eq!(sweep(in_ms(8 * DAY_MS), 10).await.unwrap(), 1);
    let view = core.order_view(other, shipped).await.unwrap().stored.order;
    assert_eq!(view.status, OrderStatus::Completed);
    assert_eq!(view.completed.map(|(by, _)| by), Some(ConfirmedBy::Auto));
    assert_eq!(market.status(paid).await, OrderStatus::Paid);
    assert_eq!(market.stock(variant).await, (45, 2, 3));
    market.assert_ledger_sound();
}

/// A product retitled, its pictures cleared and unlisted; a variant
/// renamed, repriced and restocked (never below zero); a cart filled,
/// changed and emptied, its lines' prices when added kept.
#[tokio::test]
async fn catalog_and_cart_changes_are_stored() {
    let market = &Market::open(1, 1).await;
    let (owner, buyer) = (market.owner, market.buyers[0]);
    let core = &market.cores[0];
    let [figs, dates] = market
        .product("Figs", &[("FIG", 500, 4), ("DATE", 700, 2)])
        .await[..]
    else {
        unreachable!()
    };
    let cart = core.put_cart_item(buyer, figs, 3).await.unwrap();
    assert_eq!(cart.lines.len(), 1);
    let cart = core.put_cart_item(buyer, dates, 1).await.unwrap();
    assert_eq!(cart.lines.len(), 2);

    let patch = VariantPatch {
        name: Some(VariantName::parse("Dried figs").unwrap()),
        price: Some(AmountMinor::positive(550).unwrap()),
        stock: Some(StockChange::Set(10)),
    };
    let changed = core.update_variant(owner, figs, patch).await.unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.price.get()),
        ("Dried figs", 550)
    );
    assert_eq!(changed.available, 10);
    let patch = VariantPatch {
        stock: Some(StockChange::Delta(-11)),
        ..VariantPatch::default()
    };
    let refused = core.update_variant(owner, figs, patch).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Rejected(Rejection::StockBelowZero { .. }))
        ),
        "{refused:?}"
    );
    assert_eq!(market.stock(figs).await, (10, 0, 0));

    let cart = core.put_cart_item(buyer, figs, 2).await.unwrap();
    let line = &cart.lines[0];
    assert_eq!((line.item.variant_id, line.item.quantity), (figs, 2));
    assert_eq!(line.item.price_when_added.get(), 500);
    assert!(line.price_changed);
    let cart = core.put_cart_item(buyer, figs, 0).await.unwrap();
    assert_eq!(cart.lines.len(), 1, "a quantity of 0 takes the line out");

    let product = market.product_of(dates).await;
    let patch = ProductPatch {
        title: Some(ProductTitle::parse("Dates").unwrap()),
        media: Some(Vec::new()),
        listed: Some(false),
        ..ProductPatch::default()
    };
    let view = core.update_product(owner, product, patch).await.unwrap();
    assert_eq!(view.product.title, "Dates");
    assert!(!view.product.listed && view.product.media.is_empty());
    let (_, public) = core
        .public_shop(Handle::parse("corner_shop").unwrap())
        .await
        .unwrap();
    assert!(public.is_empty(), "its only product unlisted");
    let cart = core.cart(buyer).await.unwrap();
    assert!(!cart.lines[0].available, "an unlisted product's line");
}
