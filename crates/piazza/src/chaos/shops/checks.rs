//! The shop area after a restart: what the kill cut off, sent again with
//! its key (or, for a restock, which has none, read back), then the whole
//! store checked through the API against the book.

use std::collections::{HashMap, HashSet};

use anyhow::{Context, bail, ensure};
use piazza_api::{OrderView, RefundRequestView};
use piazza_client::{Client, OrderFilter};

use super::{
    BUYERS, Book, FUND_MINOR, MoveOp, ORDER_PAGES_MAX, ORDERS_PER_PAGE, PlaceOp, RESTOCK, Shops,
    Status, out_of_stock,
};
use crate::chaos::{Recovered, check_log_gapless, settled};

/// What of an order a move changes, whoever reads it.
type OrderState = (String, i64, i64, Vec<RefundRequestView>);

fn state_of(view: &OrderView) -> OrderState {
    (
        view.status.clone(),
        view.escrow_minor,
        view.refunded_minor,
        view.refund_requests.clone(),
    )
}

impl Shops {
    /// Settles the restock the kill cut off, then retries every order
    /// placed and moved that it cut off.
    pub(super) async fn recover_all(&self, server: &Client) -> anyhow::Result<Recovered> {
        let (places, moves, restock) = {
            let mut book = self.book();
            (
                std::mem::take(&mut book.places_in_flight),
                std::mem::take(&mut book.moves_in_flight),
                book.restock_in_flight.take(),
            )
        };
        if let Some(variant) = restock {
            self.settle_restock(server, variant).await?;
        }
        let mut recovered = Recovered::default();
        for op in &places {
            recovered.retried += 1;
            if self.retry_place(server, op).await? {
                recovered.already_stored += 1;
            }
        }
        for op in &moves {
            recovered.retried += 1;
            if self.retry_move(server, op).await? {
                recovered.already_stored += 1;
            }
        }
        Ok(recovered)
    }

    /// A restock has no key: the variant's total says whether it was
    /// stored (by `RESTOCK` units) or not (and it is asked for again);
    /// anything else is stock made or lost.
    async fn settle_restock(&self, server: &Client, variant: usize) -> anyhow::Result<()> {
        let total = self.stock_of(server).await?[variant].total();
        let mut book = self.book();
        let before = book.stock[variant];
        if total == before + RESTOCK {
            book.stock[variant] = total;
            book.acknowledged += 1;
        } else if total == before {
            book.restock(variant);
        } else {
            bail!(
                "variant {} holds {total} units in all after a restock of {RESTOCK} cut off at {before}",
                self.variants[variant]
            );
        }
        Ok(())
    }

    /// Places `op` again with its key: the order it was stored as (then
    /// the buyer listed it already), one placed now, or a refusal for want
    /// of stock, which must have stored nothing. A second retry must
    /// answer as the first. True if it had been stored.
    async fn retry_place(&self, server: &Client, op: &PlaceOp) -> anyhow::Result<bool> {
        let what = format!("retrying the order of {}", op.key);
        let before = self.buyer_order_ids(server, op.buyer).await?;
        let place = || async {
            match self.submit_place(server, op).await {
                Err(error) if out_of_stock(&error) => Ok(None),
                other => other.map(Some),
            }
        };
        let first = settled(&what, place).await?;
        let again = settled(&what, place).await?;
        let ids = |view: &Option<OrderView>| view.as_ref().map(|view| view.order_id.clone());
        ensure!(
            ids(&first) == ids(&again),
            "{what}: a second retry answered {:?}, not {:?}",
            ids(&again),
            ids(&first)
        );
        let Some(view) = first else {
            let after = self.buyer_order_ids(server, op.buyer).await?;
            ensure!(
                after == before,
                "{what}: refused, yet the buyer's orders changed"
            );
            let mut book = self.book();
            for &(variant, _) in &op.items {
                book.restock(variant);
            }
            return Ok(false);
        };
        self.book().placed(op, &view, self).context(what)?;
        Ok(before.contains(&view.order_id))
    }

    /// Makes `op` again with its key; a second retry must answer the same.
    /// True if it had been stored: the order was as the move leaves it
    /// before the retry.
    async fn retry_move(&self, server: &Client, op: &MoveOp) -> anyhow::Result<bool> {
        let id = self.book().orders[op.order].id.clone();
        let what = format!("retrying {:?} of {id}", op.movement);
        let owner = self.owner.on(server);
        let before = settled("an order", || owner.order(&id)).await?;
        let first = settled(&what, || self.submit_move(server, op)).await?;
        let again = settled(&what, || self.submit_move(server, op)).await?;
        ensure!(
            first == again,
            "{what}: a second retry answered {again:?}, not {first:?}"
        );
        self.book().moved(op, &first, self).context(what)?;
        Ok(state_of(&before) == state_of(&first))
    }

    /// Every check of the area; answers how many operations it verified.
    pub(super) async fn verify_all(&self, server: &Client) -> anyhow::Result<u64> {
        let listed = self.listed_by_shop(server).await?;
        self.verify_orders(server, &listed).await?;
        self.verify_stock(server, &listed).await?;
        self.verify_money(server, &listed).await?;
        for member in self.buyers.iter().chain([&self.owner]) {
            check_log_gapless(server, member).await?;
        }
        let book = self.book();
        Ok(book.orders.len() as u64 + book.acknowledged)
    }

    /// Every order the shop lists is one the book has, once, as the book
    /// has it, and every one the book has is listed; each buyer lists
    /// exactly its own.
    async fn verify_orders(
        &self,
        server: &Client,
        listed: &HashMap<String, OrderView>,
    ) -> anyhow::Result<()> {
        let mut mine: Vec<HashSet<String>> = vec![HashSet::new(); BUYERS];
        {
            let book = self.book();
            for record in &book.orders {
                let view = listed.get(&record.id).with_context(|| {
                    format!(
                        "{} was acknowledged but the shop does not list it",
                        record.id
                    )
                })?;
                let buyer = &self.buyers[record.buyer].account_id;
                record.check(view, buyer, &self.variants)?;
                mine[record.buyer].insert(record.id.clone());
            }
            if let Some(stray) = listed.keys().find(|id| !book.by_id.contains_key(*id)) {
                bail!("{stray} is listed by the shop but was never acknowledged nor retried");
            }
        }
        for (buyer, expected) in mine.iter().enumerate() {
            let found = self.buyer_order_ids(server, buyer).await?;
            ensure!(
                &found == expected,
                "{} lists {} orders, the book {}",
                self.buyers[buyer].name,
                found.len(),
                expected.len()
            );
        }
        Ok(())
    }

    /// No variant oversold: its three counts are what the workload set in
    /// all, none below zero, and reserved and sold are the units of the
    /// orders as listed that hold them.
    async fn verify_stock(
        &self,
        server: &Client,
        listed: &HashMap<String, OrderView>,
    ) -> anyhow::Result<()> {
        let mut held = vec![(0, 0); self.variants.len()];
        for view in listed.values() {
            let (reserved, sold) = parse_status(&view.status)?.held();
            for item in &view.items {
                let variant = self
                    .variants
                    .iter()
                    .position(|id| *id == item.variant_id)
                    .with_context(|| format!("{} holds another variant", view.order_id))?;
                let quantity = i64::from(item.quantity);
                held[variant].0 += reserved * quantity;
                held[variant].1 += sold * quantity;
            }
        }
        let stock = self.stock_of(server).await?;
        let set = self.book().stock.clone();
        for (index, counts) in stock.iter().enumerate() {
            let variant = &self.variants[index];
            ensure!(
                counts.available >= 0 && counts.reserved >= 0 && counts.sold >= 0,
                "{variant} has a count below zero: {counts}"
            );
            ensure!(
                counts.total() == set[index],
                "{variant} holds {} units in all ({counts}) but the workload set {}",
                counts.total(),
                set[index]
            );
            ensure!(
                (counts.reserved, counts.sold) == held[index],
                "{variant} has {counts} but its orders hold {} reserved and {} sold",
                held[index].0,
                held[index].1
            );
        }
        Ok(())
    }

    /// Each buyer's wallet, each order's escrow and the shop's settlement
    /// are what the book says; together they are what was topped up.
    async fn verify_money(
        &self,
        server: &Client,
        listed: &HashMap<String, OrderView>,
    ) -> anyhow::Result<()> {
        let (wallets, settlement) = expected_money(&self.book());
        let mut total = 0;
        for (buyer, expected) in self.buyers.iter().zip(wallets) {
            let client = buyer.on(server);
            let wallet = settled("a wallet", || client.wallet()).await?.balance_minor;
            ensure!(
                wallet == expected,
                "{}'s wallet holds {wallet} but its orders leave {expected}",
                buyer.name
            );
            total += wallet;
        }
        let owner = self.owner.on(server);
        let merchant = settled("the merchant", || owner.merchant(&self.merchant)).await?;
        ensure!(
            merchant.balance_minor == settlement,
            "the shop's settlement holds {} but its orders released {settlement}, less refunds",
            merchant.balance_minor
        );
        let escrows: i64 = listed.values().map(|view| view.escrow_minor).sum();
        total += escrows + merchant.balance_minor;
        let funded = FUND_MINOR * BUYERS as i64;
        ensure!(
            total == funded,
            "wallets, escrows ({escrows}) and the settlement hold {total}, but {funded} was topped up"
        );
        Ok(())
    }

    /// Every order of the shop, as its owner lists them, by id; an order
    /// listed twice is an error.
    async fn listed_by_shop(&self, server: &Client) -> anyhow::Result<HashMap<String, OrderView>> {
        let owner = self.owner.on(server);
        let filter = OrderFilter {
            as_shop: true,
            shop_id: Some(self.shop.clone()),
            ..OrderFilter::default()
        };
        let mut by_id = HashMap::new();
        for view in all_orders(&owner, filter).await? {
            if let Some(first) = by_id.insert(view.order_id.clone(), view) {
                bail!("the shop lists {} twice", first.order_id);
            }
        }
        Ok(by_id)
    }

    /// The ids of the orders `buyer` lists; an order listed twice is an
    /// error.
    async fn buyer_order_ids(
        &self,
        server: &Client,
        buyer: usize,
    ) -> anyhow::Result<HashSet<String>> {
        let client = self.buyers[buyer].on(server);
        let mut ids = HashSet::new();
        for view in all_orders(&client, OrderFilter::default()).await? {
            ensure!(
                ids.insert(view.order_id.clone()),
                "{} lists {} twice",
                self.buyers[buyer].name,
                view.order_id
            );
        }
        Ok(ids)
    }

    /// Each variant's counts, in the book's order, as the owner sees them.
    async fn stock_of(&self, server: &Client) -> anyhow::Result<Vec<Counts>> {
        let owner = self.owner.on(server);
        let product = settled("the product", || owner.product(&self.product)).await?;
        self.variants
            .iter()
            .map(|id| {
                let variant = product
                    .variants
                    .iter()
                    .find(|variant| variant.variant_id == *id)
                    .with_context(|| format!("the product lost {id}"))?;
                Ok(Counts {
                    available: variant.available,
                    reserved: variant.reserved.context("the owner is shown reserved")?,
                    sold: variant.sold.context("the owner is shown sold")?,
                })
            })
            .collect()
    }
}

/// A variant's stock, as its shop's staff see it.
#[derive(Debug, Clone, Copy)]
struct Counts {
    available: i64,
    reserved: i64,
    sold: i64,
}

impl Counts {
    fn total(self) -> i64 {
        self.available + self.reserved + self.sold
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} available, {} reserved, {} sold",
            self.available, self.reserved, self.sold
        )
    }
}

/// What each buyer's wallet and the shop's settlement must hold: a
/// wallet its top-up, less what its orders paid, plus what they
/// refunded; the settlement what was released, less what it refunded.
fn expected_money(book: &Book) -> (Vec<i64>, i64) {
    let mut wallets = vec![FUND_MINOR; BUYERS];
    let mut settlement = 0;
    for record in &book.orders {
        let paid = if record.paid { record.total } else { 0 };
        wallets[record.buyer] += record.refunded() - paid;
        settlement += record.released - record.refunded_from_settlement;
    }
    (wallets, settlement)
}

fn parse_status(status: &str) -> anyhow::Result<Status> {
    [
        Status::PendingPayment,
        Status::Paid,
        Status::Shipped,
        Status::Completed,
        Status::Cancelled,
    ]
    .into_iter()
    .find(|known| known.as_str() == status)
    .with_context(|| format!("an order in no known status: {status:?}"))
}

/// Every order `client` lists with `filter`, page after page.
async fn all_orders(client: &Client, mut filter: OrderFilter) -> anyhow::Result<Vec<OrderView>> {
    filter.limit = Some(ORDERS_PER_PAGE);
    let mut orders = Vec::new();
    for _ in 0..ORDER_PAGES_MAX {
        let page = settled("an order page", || client.orders(&filter)).await?;
        orders.extend(page.orders);
        match page.next_cursor {
            Some(next) => filter.cursor = Some(next),
            None => return Ok(orders),
        }
    }
    bail!("the order list did not end within {ORDER_PAGES_MAX} pages")
}
