//! A property of orders through the whole server, on either engine:
//! whatever sequence of calls — orders placed, paid with the right PIN
//! or a wrong one, shipped, confirmed, cancelled by either side, refunds
//! asked for, approved and rejected, each call possibly by the wrong
//! side — every answer is a success or a 4xx problem (never a 5xx), every
//! order is in a legal state, and nothing is made or lost: per variant,
//! available + reserved + sold is its first stock, with reserved and sold
//! the sums over the orders that hold them; the buyer's wallet, the
//! orders' escrows and the shop's settlement add up to the top-up; and
//! `ledger-check` and `admin check` pass. (The clock's moves, expiry and
//! auto-confirmation, have tests of their own in `shops.rs`.)

use std::collections::HashMap;

use piazza_api::OrderView;
use piazza_client::{ClientError, OrderFilter};
use proptest::prelude::*;

use crate::helpers::*;
use crate::shops::{funded_buyer, key, open_shop, order_of};
use crate::wallet::{PIN, assert_ledger_sound, balance};

/// The buyer's top-up: enough for some orders, not for all.
const FUND_MINOR: i64 = 20_000;
/// The first stock of the two variants (`open_shop`: 12.50 and 22.00).
const STOCK: [i64; 2] = [6, 5];

#[derive(Debug, Clone)]
enum Call {
    /// An order of `small` units of the first variant and `large` of the
    /// second (none of either is refused as an empty order).
    Place {
        small: u32,
        large: u32,
    },
    Pay {
        order: usize,
        right_pin: bool,
    },
    /// The shop ships, or the buyer tries to.
    Ship {
        order: usize,
        by_shop: bool,
    },
    /// The buyer confirms, or the shop tries to.
    Confirm {
        order: usize,
        by_shop: bool,
    },
    Cancel {
        order: usize,
        by_shop: bool,
    },
    /// The buyer asks for `percent` of the total back.
    Refund {
        order: usize,
        percent: i64,
    },
    /// The shop decides the order's latest refund request.
    Decide {
        order: usize,
        approve: bool,
    },
}

fn call() -> impl Strategy<Value = Call> {
    let order = 0..6usize;
    prop_oneof![
        3 => (0..3u32, 0..3u32).prop_map(|(small, large)| Call::Place { small, large }),
        3 => (order.clone(), prop::bool::weighted(0.8))
            .prop_map(|(order, right_pin)| Call::Pay { order, right_pin }),
        2 => (order.clone(), prop::bool::weighted(0.8))
            .prop_map(|(order, by_shop)| Call::Ship { order, by_shop }),
        2 => (order.clone(), prop::bool::weighted(0.2))
            .prop_map(|(order, by_shop)| Call::Confirm { order, by_shop }),
        1 => (order.clone(), any::<bool>()).prop_map(|(order, by_shop)| Call::Cancel { order, by_shop }),
        2 => (order.clone(), 1..=120i64).prop_map(|(order, percent)| Call::Refund { order, percent }),
        2 => (order, any::<bool>()).prop_map(|(order, approve)| Call::Decide { order, approve }),
    ]
}

/// What a call answered: an order, or a problem that must be a 4xx.
fn answered(call: &Call, answer: Result<OrderView, ClientError>) -> Option<OrderView> {
    match answer {
        Ok(view) => Some(view),
        Err(error) => {
            let status = error.status().unwrap_or(0);
            assert!((400..500).contains(&status), "{call:?} answered {error}");
            None
        }
    }
}

async fn run(calls: Vec<Call>) {
    let app = crate::wallet::sandbox().await;
    let owner = app.signup("nonna").await;
    let buyer = funded_buyer(&app, "bea", FUND_MINOR).await;
    let (shop, product) = open_shop(&owner, "nonna.pasta", STOCK[0]).await;
    let variants = [
        product.variants[0].variant_id.clone(),
        product.variants[1].variant_id.clone(),
    ];
    let (seller, client) = (&owner.client, &buyer.client);
    let mut orders: Vec<String> = Vec::new();
    for call in &calls {
        let pick = |index: usize| orders.get(index % orders.len().max(1)).cloned();
        let answer = match call.clone() {
            Call::Place { small, large } => {
                let items: Vec<(&str, u32)> = [(&variants[0], small), (&variants[1], large)]
                    .into_iter()
                    .filter(|(_, quantity)| *quantity > 0)
                    .map(|(variant, quantity)| (variant.as_str(), quantity))
                    .collect();
                let (order, key) = (order_of(&shop, &items), key("place"));
                let placed = answered(call, client.place_order(&order, &key).await);
                orders.extend(placed.map(|view| view.order_id));
                continue;
            }
            _ if orders.is_empty() => continue,
            Call::Pay { order, right_pin } => {
                let pin = if right_pin { PIN } else { "999999" };
                client
                    .pay_order(&pick(order).unwrap(), pin, &key("pay"))
                    .await
            }
            Call::Ship { order, by_shop } => {
                let mover = if by_shop { seller } else { client };
                let order = pick(order).unwrap();
                mover.ship_order(&order, "Poste", "RR1", &key("ship")).await
            }
            Call::Confirm { order, by_shop } => {
                let mover = if by_shop { seller } else { client };
                mover
                    .confirm_order(&pick(order).unwrap(), &key("confirm"))
                    .await
            }
            Call::Cancel { order, by_shop } => {
                let mover = if by_shop { seller } else { client };
                mover
                    .cancel_order(&pick(order).unwrap(), &key("cancel"))
                    .await
            }
            Call::Refund { order, percent } => {
                let order = pick(order).unwrap();
                let total = client.order(&order).await.unwrap().total_minor;
                let amount = (total * percent / 100).max(1);
                client
                    .request_refund(&order, amount, "not as shown", &key("refund"))
                    .await
            }
            Call::Decide { order, approve } => {
                let order = pick(order).unwrap();
                let view = seller.order(&order).await.unwrap();
                let index = view.refund_requests.len().saturating_sub(1) as u32;
                seller
                    .decide_refund(&order, index, approve, &key("decide"))
                    .await
            }
        };
        answered(call, answer);
    }
    conserved(&owner, &buyer, &shop, &product.product_id, &variants).await;
    assert_ledger_sound(&app);
    admin_check_passes("check", app.data_dir());
    app.shut_down().await;
}

/// Stock and money add up over every order the shop lists, and each
/// order's own numbers are legal.
async fn conserved(owner: &User, buyer: &User, shop: &str, product: &str, variants: &[String; 2]) {
    let listed = owner
        .client
        .orders(&OrderFilter {
            as_shop: true,
            limit: Some(100),
            ..OrderFilter::default()
        })
        .await
        .unwrap();
    assert!(listed.next_cursor.is_none(), "every order on one page");
    let listed = listed.orders;
    let mut held: HashMap<(&str, bool), i64> = HashMap::new();
    let mut escrow = 0;
    for order in &listed {
        let paid = if order.paid_at.is_some() {
            order.total_minor
        } else {
            0
        };
        assert!(order.escrow_minor >= 0, "{order:?}");
        assert!(
            order.refunded_minor <= paid,
            "refunded past paid: {order:?}"
        );
        let sold = match order.status.as_str() {
            "pending_payment" | "paid" => false,
            "shipped" | "completed" => true,
            "cancelled" | "expired" => continue,
            other => panic!("{} in no legal state: {other}", order.order_id),
        };
        escrow += order.escrow_minor;
        for item in &order.items {
            *held
                .entry((variant_key(variants, &item.variant_id), sold))
                .or_default() += i64::from(item.quantity);
        }
    }
    let view = owner.client.product(product).await.unwrap();
    for (variant, stock) in variants.iter().zip(STOCK) {
        let found = view
            .variants
            .iter()
            .find(|v| &v.variant_id == variant)
            .unwrap();
        let (reserved, sold) = (found.reserved.unwrap(), found.sold.unwrap());
        let name = variant_key(variants, variant);
        assert_eq!(
            found.available + reserved + sold,
            stock,
            "{name}: {found:?}"
        );
        assert_eq!(
            reserved,
            held.get(&(name, false)).copied().unwrap_or(0),
            "{name} reserved"
        );
        assert_eq!(
            sold,
            held.get(&(name, true)).copied().unwrap_or(0),
            "{name} sold"
        );
    }
    let merchant = owner.client.shop(shop).await.unwrap().merchant_id.unwrap();
    let settled = owner
        .client
        .merchant(&merchant)
        .await
        .unwrap()
        .balance_minor;
    let wallet = balance(buyer).await;
    assert_eq!(
        wallet + escrow + settled,
        FUND_MINOR,
        "wallet {wallet}, escrow {escrow}, settled {settled}"
    );
}

fn variant_key<'a>(variants: &[String; 2], variant: &str) -> &'a str {
    if variants[0] == variant {
        "small"
    } else {
        "large"
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, max_shrink_iters: 40, ..ProptestConfig::default() })]

    #[test]
    fn no_sequence_of_calls_breaks_an_order_or_moves_stock_or_money_wrongly(
        calls in prop::collection::vec(call(), 1..40),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(run(calls));
    }
}
