//! Shops under fire: a storm of orders from several buyers for a few
//! variants with little stock (so orders are refused `out_of_stock` and
//! the shop restocks), and each order moved through its life — paid,
//! cancelled by either side, shipped, confirmed, refunds asked for,
//! approved and rejected — every call with an idempotency key.
//!
//! Each order is moved by one worker at a time, so every answer is
//! foretold by the book's model of the order (`OrderRecord::apply`): its
//! status, its escrow and what it refunded. After each restart every call
//! the kill cut off is sent again with its key, and a second retry must
//! answer as the first; then, through the API: every acknowledged order is
//! listed once, by its buyer and by the shop, as the book has it, and
//! nothing else is; no variant is oversold — available + reserved + sold
//! is what the workload set, reserved and sold are the sums over the
//! orders as listed; and the money is exact — each buyer's wallet, each
//! order's escrow and the shop's settlement are what the book says, and
//! together they are what was topped up. (The 15-minute pay window and the
//! 7-day auto-confirmation never pass within a run: an order waits seconds
//! for its next move, so the sweeper moves none of them.)

mod checks;

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, ensure};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use piazza_api::{
    CreateProduct, CreateShop, NewVariant, OrderItemRequest, OrderView, PatchVariant, PlaceOrder,
    ShippingAddress,
};
use piazza_client::{Client, ClientError, IdempotencyKey};
use rand::Rng;
use rand::rngs::StdRng;

use super::{Answer, Member, Outcome, PASSWORD, Recovered, Workload, answer};

/// The accounts that buy; the shop's owner is another.
const BUYERS: usize = 4;
/// What each buyer is topped up with: far more than a long run spends.
const FUND_MINOR: i64 = 100_000_000;
const PIN: &str = "730461";
/// Each variant's SKU, price and first stock: a few units, so that they
/// run out.
const VARIANTS: [(&str, i64, i64); 3] = [
    ("CHAOS-S", 700, 3),
    ("CHAOS-M", 1_300, 2),
    ("CHAOS-L", 2_900, 4),
];
/// Units one restock adds.
const RESTOCK: i64 = 3;
/// Workers that place and move orders; one more restocks.
const TRADERS: usize = 4;
const RESTOCKER: usize = TRADERS;
/// Orders waiting for a move at most: past it, traders move orders
/// rather than place new ones.
const OPEN_ORDERS_MAX: usize = 40;
/// Refund requests one order is given at most (the server takes 20).
const REFUNDS_PER_ORDER_MAX: usize = 3;
/// Order pages followed at most per listing.
const ORDER_PAGES_MAX: usize = 10_000;
const ORDERS_PER_PAGE: u32 = piazza_domain::shop::ORDERS_PAGE_MAX as u32;

pub struct Shops {
    owner: Member,
    buyers: Vec<Member>,
    shop: String,
    product: String,
    merchant: String,
    variants: Vec<String>,
    /// Numbers each new idempotency key, across rounds.
    next_key: AtomicU64,
    book: Mutex<Book>,
}

/// Where an order is, as its acknowledged moves left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    PendingPayment,
    Paid,
    Shipped,
    Completed,
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::PendingPayment => "pending_payment",
            Status::Paid => "paid",
            Status::Shipped => "shipped",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
        }
    }

    /// Reserved until shipped, sold from then on, nowhere once cancelled
    /// (`OrderStatus::stock_held`): `(reserved, sold)` per unit.
    fn held(self) -> (i64, i64) {
        match self {
            Status::PendingPayment | Status::Paid => (1, 0),
            Status::Shipped | Status::Completed => (0, 1),
            Status::Cancelled => (0, 0),
        }
    }
}

/// One refund request as acknowledged: its amount and its status's name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refund {
    amount: i64,
    status: &'static str,
}

/// An order as the book knows it: what placing it was answered, and the
/// model of every acknowledged move since.
#[derive(Debug, Clone)]
struct OrderRecord {
    id: String,
    buyer: usize,
    /// (variant, quantity), as placed.
    items: Vec<(usize, u32)>,
    total: i64,
    status: Status,
    paid: bool,
    released: i64,
    refunded_from_escrow: i64,
    refunded_from_settlement: i64,
    refunds: Vec<Refund>,
}

impl OrderRecord {
    fn escrow(&self) -> i64 {
        let paid = if self.paid { self.total } else { 0 };
        paid - self.refunded_from_escrow - self.released
    }

    fn refunded(&self) -> i64 {
        self.refunded_from_escrow + self.refunded_from_settlement
    }

    fn open_refund(&self) -> Option<u32> {
        let open = self.refunds.iter().position(|r| r.status == "requested")?;
        u32::try_from(open).ok()
    }

    /// What a new refund request may ask for: paid, less refunded, less
    /// what open requests ask.
    fn refundable(&self) -> i64 {
        let open: i64 = self
            .refunds
            .iter()
            .filter(|r| r.status == "requested")
            .map(|r| r.amount)
            .sum();
        (if self.paid { self.total } else { 0 }) - self.refunded() - open
    }

    /// The order after `movement`, as the server must answer it.
    fn apply(&mut self, movement: &Move) {
        match *movement {
            Move::Pay => {
                self.status = Status::Paid;
                self.paid = true;
            }
            Move::Ship => self.status = Status::Shipped,
            Move::Confirm => {
                self.released = self.escrow();
                self.status = Status::Completed;
            }
            Move::Cancel { .. } => {
                self.refunded_from_escrow += self.escrow();
                self.status = Status::Cancelled;
                for refund in &mut self.refunds {
                    if refund.status == "requested" {
                        refund.status = "superseded";
                    }
                }
            }
            Move::RequestRefund(amount) => self.refunds.push(Refund {
                amount,
                status: "requested",
            }),
            Move::Decide { index, approve } => self.decide(index as usize, approve),
        }
    }

    /// Before the release a refund comes from escrow, after it from the
    /// shop's settlement.
    fn decide(&mut self, index: usize, approve: bool) {
        let Some(refund) = self.refunds.get_mut(index) else {
            return;
        };
        if !approve {
            refund.status = "rejected";
            return;
        }
        refund.status = "approved";
        if self.status == Status::Completed {
            self.refunded_from_settlement += refund.amount;
        } else {
            self.refunded_from_escrow += refund.amount;
        }
    }

    /// The next move, drawn; `None` once the order has nothing left to do
    /// here (cancelled, or completed with no refund open).
    fn next_move(&self, rng: &mut StdRng) -> Option<Move> {
        let may_ask = self.refunds.len() < REFUNDS_PER_ORDER_MAX && self.refundable() > 0;
        let ask = |rng: &mut StdRng| Move::RequestRefund(rng.random_range(1..=self.refundable()));
        let decide = |index, rng: &mut StdRng| Move::Decide {
            index,
            approve: rng.random_bool(0.6),
        };
        let cancel = |rng: &mut StdRng| Move::Cancel {
            by_shop: rng.random_bool(0.5),
        };
        let roll: f64 = rng.random();
        match (self.status, self.open_refund()) {
            (Status::PendingPayment, _) if roll < 0.75 => Some(Move::Pay),
            (Status::PendingPayment, _) => Some(cancel(rng)),
            (Status::Paid, Some(open)) if roll < 0.6 => Some(decide(open, rng)),
            (Status::Paid, _) if roll < 0.2 => Some(cancel(rng)),
            (Status::Paid, None) if roll < 0.45 && may_ask => Some(ask(rng)),
            (Status::Paid, _) => Some(Move::Ship),
            (Status::Shipped, Some(open)) if roll < 0.6 => Some(decide(open, rng)),
            (Status::Shipped, None) if roll < 0.4 && may_ask => Some(ask(rng)),
            (Status::Shipped, _) => Some(Move::Confirm),
            (Status::Completed, Some(open)) => Some(decide(open, rng)),
            (Status::Completed, None) if roll < 0.3 && may_ask => Some(ask(rng)),
            (Status::Completed | Status::Cancelled, _) => None,
        }
    }

    /// Whether the server's view of the order is this one.
    fn check(&self, view: &OrderView, buyer: &str, variants: &[String]) -> anyhow::Result<()> {
        let items: Vec<(usize, u32)> = view
            .items
            .iter()
            .map(|item| {
                let variant = variants.iter().position(|v| *v == item.variant_id);
                Ok((
                    variant.context("an item of another variant")?,
                    item.quantity,
                ))
            })
            .collect::<anyhow::Result<_>>()?;
        let refunds: Vec<Refund> = view
            .refund_requests
            .iter()
            .map(|r| Refund {
                amount: r.amount_minor,
                status: status_name(&r.status),
            })
            .collect();
        ensure!(
            view.order_id == self.id
                && view.buyer == buyer
                && items == self.items
                && view.total_minor == self.total
                && view.status == self.status.as_str()
                && view.escrow_minor == self.escrow()
                && view.refunded_minor == self.refunded()
                && refunds == self.refunds,
            "{} is not what its acknowledged moves made it: the book has {self:?}, the server {view:?}",
            self.id
        );
        Ok(())
    }
}

/// A refund request's status as the book names it (an unknown one stays
/// unknown, and fails the comparison).
fn status_name(status: &str) -> &'static str {
    ["requested", "approved", "rejected", "superseded"]
        .into_iter()
        .find(|known| *known == status)
        .unwrap_or("unknown")
}

/// A move of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    Pay,
    Ship,
    Confirm,
    Cancel { by_shop: bool },
    RequestRefund(i64),
    Decide { index: u32, approve: bool },
}

impl Move {
    fn by_shop(self) -> bool {
        match self {
            Move::Ship | Move::Decide { .. } => true,
            Move::Cancel { by_shop } => by_shop,
            Move::Pay | Move::Confirm | Move::RequestRefund(_) => false,
        }
    }
}

/// A move with all it takes to send it again: the order (its index in
/// the book) and the key.
#[derive(Debug, Clone)]
struct MoveOp {
    order: usize,
    movement: Move,
    key: IdempotencyKey,
}

/// An order to place, with all it takes to send it again.
#[derive(Debug, Clone)]
struct PlaceOp {
    buyer: usize,
    items: Vec<(usize, u32)>,
    key: IdempotencyKey,
}

/// Everything the load was told, across all rounds.
#[derive(Default)]
struct Book {
    orders: Vec<OrderRecord>,
    by_id: HashMap<String, usize>,
    /// Orders waiting for their next move; one being moved, or whose move
    /// the kill cut off, is in none.
    ready: VecDeque<usize>,
    places_in_flight: Vec<PlaceOp>,
    moves_in_flight: Vec<MoveOp>,
    /// A restock the kill cut off: its variant. It has no key: the
    /// variant's total after the restart says whether it was stored.
    restock_in_flight: Option<usize>,
    /// Variants an order found short, to restock.
    short: VecDeque<usize>,
    /// available + reserved + sold of each variant: its first stock and
    /// every restock stored.
    stock: Vec<i64>,
    /// Moves and restocks acknowledged (orders placed are `orders`).
    acknowledged: u64,
}

impl Book {
    /// Writes down an order the server placed, and checks its answer.
    fn placed(&mut self, op: &PlaceOp, view: &OrderView, shops: &Shops) -> anyhow::Result<()> {
        ensure!(
            !self.by_id.contains_key(&view.order_id),
            "{} was placed a second time",
            view.order_id
        );
        let total = op
            .items
            .iter()
            .map(|&(variant, quantity)| VARIANTS[variant].1 * i64::from(quantity))
            .sum();
        let record = OrderRecord {
            id: view.order_id.clone(),
            buyer: op.buyer,
            items: op.items.clone(),
            total,
            status: Status::PendingPayment,
            paid: false,
            released: 0,
            refunded_from_escrow: 0,
            refunded_from_settlement: 0,
            refunds: Vec::new(),
        };
        record.check(view, &shops.buyers[op.buyer].account_id, &shops.variants)?;
        self.by_id.insert(record.id.clone(), self.orders.len());
        self.ready.push_back(self.orders.len());
        self.orders.push(record);
        Ok(())
    }

    /// Applies an acknowledged move to its order's model and checks the
    /// server's answer against it; the order waits for its next move.
    fn moved(&mut self, op: &MoveOp, view: &OrderView, shops: &Shops) -> anyhow::Result<()> {
        let record = &mut self.orders[op.order];
        record.apply(&op.movement);
        let buyer = &shops.buyers[record.buyer].account_id;
        record
            .check(view, buyer, &shops.variants)
            .with_context(|| format!("after {:?}", op.movement))?;
        self.acknowledged += 1;
        self.ready.push_back(op.order);
        Ok(())
    }

    fn restock(&mut self, variant: usize) {
        if !self.short.contains(&variant) && self.restock_in_flight != Some(variant) {
            self.short.push_back(variant);
        }
    }
}

impl Shops {
    /// The shop's owner with one product of three variants, and four
    /// buyers with a PIN and money.
    pub async fn setup(server: &Client) -> anyhow::Result<Shops> {
        let owner = Member::create(server, "chaos_store_owner").await?;
        let shop = owner
            .on(server)
            .create_shop(&CreateShop {
                handle: "chaos.store".to_owned(),
                name: "Chaos Store".to_owned(),
                description: "Sold under SIGKILL".to_owned(),
                logo_media_id: None,
            })
            .await
            .context("cannot open the chaos shop")?
            .shop_id;
        let product = owner
            .on(server)
            .add_product(&shop, &new_product())
            .await
            .context("cannot add the chaos product")?;
        let merchant = owner
            .on(server)
            .shop(&shop)
            .await?
            .merchant_id
            .context("the owner is shown the shop's merchant")?;
        let mut buyers = Vec::new();
        for index in 0..BUYERS {
            buyers.push(funded_buyer(server, index).await?);
        }
        let book = Book {
            stock: VARIANTS.iter().map(|(_, _, stock)| *stock).collect(),
            ..Book::default()
        };
        Ok(Shops {
            owner,
            buyers,
            shop,
            variants: product.variants.into_iter().map(|v| v.variant_id).collect(),
            product: product.product_id,
            merchant,
            next_key: AtomicU64::new(0),
            book: Mutex::new(book),
        })
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().expect("the shops book")
    }

    fn new_key(&self) -> anyhow::Result<IdempotencyKey> {
        let number = self.next_key.fetch_add(1, Ordering::SeqCst);
        IdempotencyKey::parse(&format!("chaos-shop-{number}")).context("a valid key")
    }

    async fn submit_place(&self, server: &Client, op: &PlaceOp) -> Result<OrderView, ClientError> {
        let order = PlaceOrder {
            shop_id: self.shop.clone(),
            items: op
                .items
                .iter()
                .map(|&(variant, quantity)| OrderItemRequest {
                    variant_id: self.variants[variant].clone(),
                    quantity,
                })
                .collect(),
            shipping_address: address(),
        };
        let buyer = self.buyers[op.buyer].on(server);
        buyer.place_order(&order, &op.key).await
    }

    /// Sends `op` as the side that may make it.
    async fn submit_move(&self, server: &Client, op: &MoveOp) -> Result<OrderView, ClientError> {
        let (order, buyer) = {
            let book = self.book();
            let record = &book.orders[op.order];
            (record.id.clone(), record.buyer)
        };
        let client = if op.movement.by_shop() {
            self.owner.on(server)
        } else {
            self.buyers[buyer].on(server)
        };
        let key = &op.key;
        match op.movement {
            Move::Pay => client.pay_order(&order, PIN, key).await,
            Move::Ship => client.ship_order(&order, "Chaos Post", "CP1", key).await,
            Move::Confirm => client.confirm_order(&order, key).await,
            Move::Cancel { .. } => client.cancel_order(&order, key).await,
            Move::RequestRefund(amount) => {
                client.request_refund(&order, amount, "chaos", key).await
            }
            Move::Decide { index, approve } => {
                client.decide_refund(&order, index, approve, key).await
            }
        }
    }

    /// A trader's step: a new order, or the next move of a waiting one.
    async fn trade(&self, server: &Client, rng: &mut StdRng) -> anyhow::Result<Outcome> {
        let waiting = self.book().ready.len();
        if waiting >= OPEN_ORDERS_MAX || (waiting > 0 && rng.random_bool(0.6)) {
            self.advance(server, rng).await
        } else {
            self.place(server, rng).await
        }
    }

    async fn place(&self, server: &Client, rng: &mut StdRng) -> anyhow::Result<Outcome> {
        let first = rng.random_range(0..VARIANTS.len());
        let mut items = vec![(first, rng.random_range(1..=2))];
        if rng.random_bool(0.3) {
            let second = (first + rng.random_range(1..VARIANTS.len())) % VARIANTS.len();
            items.push((second, 1));
        }
        let op = PlaceOp {
            buyer: rng.random_range(0..BUYERS),
            items,
            key: self.new_key()?,
        };
        let result = self.submit_place(server, &op).await;
        if result.as_ref().is_err_and(out_of_stock) {
            let mut book = self.book();
            for &(variant, _) in &op.items {
                book.restock(variant);
            }
            return Ok(Outcome::Idle);
        }
        match answer(result, &format!("placing {}", op.key))? {
            Answer::Ok(view) => {
                self.book().placed(&op, &view, self)?;
                Ok(Outcome::Acknowledged)
            }
            Answer::Lost => {
                self.book().places_in_flight.push(op);
                Ok(Outcome::InFlight)
            }
            Answer::Throttled => Ok(Outcome::Idle),
            Answer::Refused => Ok(Outcome::Refused),
        }
    }

    /// The next move of the order that has waited longest; one with
    /// nothing left to do leaves the queue.
    async fn advance(&self, server: &Client, rng: &mut StdRng) -> anyhow::Result<Outcome> {
        let (order, movement) = {
            let mut book = self.book();
            let Some(order) = book.ready.pop_front() else {
                return Ok(Outcome::Idle);
            };
            let Some(movement) = book.orders[order].next_move(rng) else {
                return Ok(Outcome::Idle);
            };
            (order, movement)
        };
        let op = MoveOp {
            order,
            movement,
            key: self.new_key()?,
        };
        let result = self.submit_move(server, &op).await;
        let what = format!("{movement:?} of {}", self.book().orders[order].id);
        let outcome = answer(result, &what)?;
        let mut book = self.book();
        match outcome {
            Answer::Ok(view) => {
                book.moved(&op, &view, self).context(what)?;
                Ok(Outcome::Acknowledged)
            }
            Answer::Lost => {
                book.moves_in_flight.push(op);
                Ok(Outcome::InFlight)
            }
            Answer::Throttled => {
                book.ready.push_front(order);
                Ok(Outcome::Idle)
            }
            Answer::Refused => {
                book.ready.push_front(order);
                Ok(Outcome::Refused)
            }
        }
    }

    /// The restocker's step: adds stock to a variant an order found short.
    async fn restock(&self, server: &Client) -> anyhow::Result<Outcome> {
        let Some(variant) = self.book().short.pop_front() else {
            return Ok(Outcome::Idle);
        };
        let patch = PatchVariant {
            stock_delta: Some(RESTOCK),
            ..PatchVariant::default()
        };
        let result = self
            .owner
            .on(server)
            .patch_variant(&self.variants[variant], &patch)
            .await;
        let mut book = self.book();
        match answer(result, "a restock")? {
            Answer::Ok(_) => {
                book.stock[variant] += RESTOCK;
                book.acknowledged += 1;
                Ok(Outcome::Acknowledged)
            }
            Answer::Lost => {
                book.restock_in_flight = Some(variant);
                Ok(Outcome::InFlight)
            }
            Answer::Throttled => {
                book.short.push_front(variant);
                Ok(Outcome::Idle)
            }
            Answer::Refused => {
                book.short.push_front(variant);
                Ok(Outcome::Refused)
            }
        }
    }
}

fn new_product() -> CreateProduct {
    CreateProduct {
        title: "Chaos tea".to_owned(),
        description: "Three sizes, never oversold".to_owned(),
        media_ids: Vec::new(),
        variants: VARIANTS
            .iter()
            .map(|&(sku, price_minor, stock)| NewVariant {
                sku: sku.to_owned(),
                name: sku.to_lowercase(),
                price_minor,
                stock,
            })
            .collect(),
    }
}

async fn funded_buyer(server: &Client, index: usize) -> anyhow::Result<Member> {
    let buyer = Member::create(server, &format!("chaos_buyer_{index}")).await?;
    let client = buyer.on(server);
    let reset = client
        .set_pin(PIN, PASSWORD)
        .await
        .context("cannot set a PIN")?;
    ensure!(reset.is_none(), "the buyer had a PIN already");
    let key = IdempotencyKey::parse("chaos-shop-fund").context("a valid key")?;
    client
        .top_up(&key, FUND_MINOR)
        .await
        .context("cannot top up (is the sandbox gateway on?)")?;
    Ok(buyer)
}

fn address() -> ShippingAddress {
    ShippingAddress {
        name: "Chaos Buyer".to_owned(),
        line1: "1 Kill Street".to_owned(),
        city: "Torino".to_owned(),
        country: "IT".to_owned(),
        ..ShippingAddress::default()
    }
}

/// A refusal that stock ran out: an answer like any other under this load.
fn out_of_stock(error: &ClientError) -> bool {
    error.code() == Some("out_of_stock")
}

impl Workload for Shops {
    fn name(&self) -> &'static str {
        "shops"
    }

    /// Traders that place and move orders, and a restocker.
    fn workers(&self) -> usize {
        TRADERS + 1
    }

    fn step<'a>(
        &'a self,
        server: &'a Client,
        worker: usize,
        rng: &'a mut StdRng,
    ) -> BoxFuture<'a, anyhow::Result<Outcome>> {
        match worker {
            RESTOCKER => self.restock(server).boxed(),
            _ => self.trade(server, rng).boxed(),
        }
    }

    fn recover<'a>(&'a self, server: &'a Client) -> BoxFuture<'a, anyhow::Result<Recovered>> {
        self.recover_all(server).boxed()
    }

    fn verify<'a>(&'a self, server: &'a Client) -> BoxFuture<'a, anyhow::Result<u64>> {
        self.verify_all(server).boxed()
    }
}
