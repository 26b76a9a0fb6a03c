//! Shops end to end: a catalog, a cart, orders paid into escrow and
//! released or refunded, stock that is never oversold (a race of 100
//! buyers for 10 units, on either engine and across two processes on one
//! PostgreSQL), expiry and auto-confirmation by the sweeper, and the
//! negative space — who may not do what, and bad input that changes
//! nothing. The ledger and `admin check` are verified after each.

use piazza_api::{
    CreateProduct, CreateShop, NewVariant, OrderItemRequest, OrderView, PatchVariant, PlaceOrder,
    ProductCreated, ShippingAddress,
};
use piazza_client::{Client, IdempotencyKey, OrderFilter};
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use crate::wallet::{PIN, assert_code, assert_ledger_sound, balance, call, set_pin, top_up};

/// A fresh idempotency key.
pub(crate) fn key(name: &str) -> IdempotencyKey {
    IdempotencyKey::parse(&format!("{name}-{}", uuid_like())).unwrap()
}

fn uuid_like() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    u128::from(NEXT.fetch_add(1, Ordering::Relaxed))
        ^ (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            << 20)
}

fn address() -> ShippingAddress {
    ShippingAddress {
        name: "Bea Rossi".into(),
        line1: "Via Roma 1".into(),
        city: "Torino".into(),
        country: "IT".into(),
        ..ShippingAddress::default()
    }
}

/// A shop of `owner` (handle `handle`) with one product of two variants:
/// `PASTA-500` at 12.50 with `stock` units, `PASTA-1K` at 22.00 with 5.
pub(crate) async fn open_shop(owner: &User, handle: &str, stock: i64) -> (String, ProductCreated) {
    let shop = owner
        .client
        .create_shop(&CreateShop {
            handle: handle.into(),
            name: "Nonna's Pasta".into(),
            description: "Fresh pasta from Torino".into(),
            logo_media_id: None,
        })
        .await
        .expect("shop opened");
    let product = owner
        .client
        .add_product(
            &shop.shop_id,
            &CreateProduct {
                title: "Tajarin".into(),
                description: "Egg pasta, cut by hand".into(),
                media_ids: vec![],
                variants: vec![
                    NewVariant {
                        sku: "PASTA-500".into(),
                        name: "500 g".into(),
                        price_minor: 1_250,
                        stock,
                    },
                    NewVariant {
                        sku: "PASTA-1K".into(),
                        name: "1 kg".into(),
                        price_minor: 2_200,
                        stock: 5,
                    },
                ],
            },
        )
        .await
        .expect("product added");
    (shop.shop_id, product)
}

pub(crate) fn order_of(shop: &str, items: &[(&str, u32)]) -> PlaceOrder {
    PlaceOrder {
        shop_id: shop.to_owned(),
        items: items
            .iter()
            .map(|(variant, quantity)| OrderItemRequest {
                variant_id: (*variant).to_owned(),
                quantity: *quantity,
            })
            .collect(),
        shipping_address: address(),
    }
}

/// A buyer with a PIN and `amount` in the wallet.
pub(crate) async fn funded_buyer(app: &TestApp, name: &str, amount: i64) -> User {
    let buyer = app.signup(name).await;
    set_pin(&buyer).await;
    let (status, body) = top_up(&buyer, amount, &format!("fund-{name}")).await;
    assert_eq!(status, 201, "{body}");
    buyer
}

async fn variant_counts(owner: &Client, product: &str, variant: &str) -> (i64, i64, i64) {
    let view = owner.product(product).await.unwrap();
    let found = view
        .variants
        .iter()
        .find(|v| v.variant_id == variant)
        .expect("the variant");
    (
        found.available,
        found.reserved.expect("staff see reserved"),
        found.sold.expect("staff see sold"),
    )
}

fn checks_pass(app: &TestApp) {
    assert_ledger_sound(app);
    admin_check_passes("check", app.data_dir());
}

#[tokio::test]
async fn an_order_goes_from_cart_to_escrow_to_the_shop() {
    let app = crate::wallet::sandbox().await;
    let owner = app.signup("nonna").await;
    let buyer = funded_buyer(&app, "bea", 10_000).await;
    let (shop, product) = open_shop(&owner, "nonna.pasta", 10).await;
    let small = product.variants[0].variant_id.clone();

    let found = buyer
        .client
        .products(Some("TAJARIN"), None, None)
        .await
        .unwrap();
    assert_eq!(found.products.len(), 1);
    assert_eq!(
        found.products[0].variants[0].reserved, None,
        "buyers see no stock counts"
    );
    let cart = buyer.client.put_cart_item(&small, 3).await.unwrap();
    assert_eq!((cart.lines.len(), cart.total_minor), (1, 3_750));

    let placed = buyer
        .client
        .place_order(&order_of(&shop, &[(&small, 3)]), &key("place"))
        .await
        .unwrap();
    assert_eq!(
        (placed.status.as_str(), placed.total_minor),
        ("pending_payment", 3_750)
    );
    assert!(
        buyer.client.cart().await.unwrap().lines.is_empty(),
        "ordered lines leave the cart"
    );
    assert_eq!(
        variant_counts(&owner.client, &product.product_id, &small).await,
        (7, 3, 0)
    );

    let paid = buyer
        .client
        .pay_order(&placed.order_id, PIN, &key("pay"))
        .await
        .unwrap();
    assert_eq!((paid.status.as_str(), paid.escrow_minor), ("paid", 3_750));
    assert_eq!(balance(&buyer).await, 10_000 - 3_750);

    let shipped = owner
        .client
        .ship_order(&placed.order_id, "Poste", "RR123IT", &key("ship"))
        .await
        .unwrap();
    assert_eq!(shipped.status, "shipped");
    assert!(shipped.auto_confirm_at.is_some());
    assert_eq!(
        variant_counts(&owner.client, &product.product_id, &small).await,
        (7, 0, 3)
    );

    let done = buyer
        .client
        .confirm_order(&placed.order_id, &key("confirm"))
        .await
        .unwrap();
    assert_eq!((done.status.as_str(), done.escrow_minor), ("completed", 0));
    assert_eq!(done.confirmed_by.as_deref(), Some("buyer"));
    let merchant = owner.client.shop(&shop).await.unwrap().merchant_id.unwrap();
    assert_eq!(
        owner
            .client
            .merchant(&merchant)
            .await
            .unwrap()
            .balance_minor,
        3_750
    );

    for user in [&buyer, &owner] {
        let (events, _) = sync_all(&user.client, None, 200).await;
        let actions: Vec<&str> = events
            .iter()
            .filter(|event| event.type_ == "order.updated")
            .map(|event| field(event, "action").as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["placed", "paid", "shipped", "confirmed"],
            "{}",
            user.username
        );
    }
    // Renamed later, the product stays as it was bought on the order (as
    // its price does), in the order and in both sides' lists.
    owner
        .client
        .patch_product(
            &product.product_id,
            &piazza_api::PatchProduct {
                title: Some("Tajarin al tartufo".into()),
                ..piazza_api::PatchProduct::default()
            },
        )
        .await
        .unwrap();
    let seen = buyer.client.order(&placed.order_id).await.unwrap();
    assert_eq!(
        (seen.items[0].title.as_str(), seen.items[0].sku.as_str()),
        ("Tajarin", "PASTA-500")
    );
    let listed = owner
        .client
        .orders(&OrderFilter {
            as_shop: true,
            ..OrderFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.orders.len(), 1);
    assert_eq!(listed.orders[0].your_role, "shop");
    assert_eq!(listed.orders[0].items[0].title, "Tajarin");
    checks_pass(&app);
}

#[tokio::test]
async fn only_the_right_side_moves_an_order_and_strangers_see_nothing() {
    let app = crate::wallet::sandbox().await;
    let owner = app.signup("shopkeeper").await;
    let buyer = funded_buyer(&app, "customer", 10_000).await;
    let stranger = funded_buyer(&app, "stranger", 10_000).await;
    let (shop, product) = open_shop(&owner, "corner.shop", 10).await;
    let variant = product.variants[0].variant_id.clone();
    let order = buyer
        .client
        .place_order(&order_of(&shop, &[(&variant, 1)]), &key("o"))
        .await
        .unwrap()
        .order_id;

    let error = owner
        .client
        .pay_order(&order, PIN, &key("p"))
        .await
        .unwrap_err();
    assert_problem(&error, 403, "not_order_buyer");
    let error = buyer
        .client
        .ship_order(&order, "x", "y", &key("s"))
        .await
        .unwrap_err();
    assert_problem(&error, 403, "not_shop_staff");
    let error = buyer
        .client
        .confirm_order(&order, &key("c"))
        .await
        .unwrap_err();
    assert_problem(&error, 409, "invalid_order_state");
    for error in [
        stranger.client.order(&order).await.unwrap_err(),
        stranger
            .client
            .pay_order(&order, PIN, &key("p"))
            .await
            .unwrap_err(),
        stranger
            .client
            .cancel_order(&order, &key("c"))
            .await
            .unwrap_err(),
        stranger.client.order("ord_999999").await.unwrap_err(),
        stranger.client.order("not-an-id").await.unwrap_err(),
    ] {
        assert_problem(&error, 404, "order_not_found");
    }
    let theirs = stranger
        .client
        .orders(&OrderFilter::default())
        .await
        .unwrap();
    assert!(theirs.orders.is_empty());
    let error = stranger
        .client
        .orders(&OrderFilter {
            as_shop: true,
            shop_id: Some(shop.clone()),
            ..OrderFilter::default()
        })
        .await
        .unwrap_err();
    assert_problem(&error, 404, "shop_not_found");
    let error = owner
        .client
        .place_order(&order_of(&shop, &[(&variant, 1)]), &key("own"))
        .await
        .unwrap_err();
    assert_problem(&error, 400, "self_target");
    let error = stranger
        .client
        .patch_variant(
            &variant,
            &PatchVariant {
                stock: Some(0),
                ..PatchVariant::default()
            },
        )
        .await
        .unwrap_err();
    assert_problem(&error, 404, "variant_not_found");

    // The same key replays the first payment; a new key is a second try.
    let pay_key = key("pay");
    let first = buyer.client.pay_order(&order, PIN, &pay_key).await.unwrap();
    let again = buyer.client.pay_order(&order, PIN, &pay_key).await.unwrap();
    assert_eq!(first, again);
    let error = buyer
        .client
        .pay_order(&order, PIN, &key("pay2"))
        .await
        .unwrap_err();
    assert_problem(&error, 409, "invalid_order_state");
    assert_eq!(balance(&buyer).await, 10_000 - 1_250);
    assert_eq!(balance(&stranger).await, 10_000);
    checks_pass(&app);
}

#[tokio::test]
async fn cancelling_before_shipping_refunds_in_full_and_returns_the_stock() {
    let app = crate::wallet::sandbox().await;
    let owner = app.signup("cancel_shop").await;
    let buyer = funded_buyer(&app, "cancel_buyer", 10_000).await;
    let (shop, product) = open_shop(&owner, "cancel.shop", 4).await;
    let [small, large] = [
        &product.variants[0].variant_id,
        &product.variants[1].variant_id,
    ];
    let place = |items: Vec<(&str, u32)>| order_of(&shop, &items);

    let unpaid = buyer
        .client
        .place_order(&place(vec![(small, 2)]), &key("a"))
        .await
        .unwrap();
    let cancelled = buyer
        .client
        .cancel_order(&unpaid.order_id, &key("ca"))
        .await
        .unwrap();
    assert_eq!(cancelled.cancelled_by.as_deref(), Some("buyer"));

    let paid = buyer
        .client
        .place_order(&place(vec![(small, 4), (large, 1)]), &key("b"))
        .await
        .unwrap();
    buyer
        .client
        .pay_order(&paid.order_id, PIN, &key("pb"))
        .await
        .unwrap();
    assert_eq!(balance(&buyer).await, 10_000 - 7_200);
    let refund = buyer
        .client
        .request_refund(&paid.order_id, 1_000, "one pack was torn", &key("r"))
        .await
        .unwrap();
    assert_eq!(refund.refund_requests[0].status, "requested");
    let by_shop = owner
        .client
        .cancel_order(&paid.order_id, &key("cb"))
        .await
        .unwrap();
    assert_eq!(
        (
            by_shop.status.as_str(),
            by_shop.cancelled_by.as_deref(),
            by_shop.refunded_minor
        ),
        ("cancelled", Some("shop"), 7_200)
    );
    assert_eq!(by_shop.refund_requests[0].status, "superseded");
    assert_eq!(balance(&buyer).await, 10_000);
    assert_eq!(
        variant_counts(&owner.client, &product.product_id, small).await,
        (4, 0, 0)
    );
    assert_eq!(
        variant_counts(&owner.client, &product.product_id, large).await,
        (5, 0, 0)
    );
    let error = owner
        .client
        .ship_order(&paid.order_id, "x", "y", &key("s"))
        .await
        .unwrap_err();
    assert_problem(&error, 409, "invalid_order_state");
    checks_pass(&app);
}

#[tokio::test]
async fn refunds_are_partial_never_past_what_was_paid_before_and_after_release() {
    let app = crate::wallet::sandbox().await;
    let owner = app.signup("refund_shop").await;
    let buyer = funded_buyer(&app, "refund_buyer", 10_000).await;
    let (shop, product) = open_shop(&owner, "refund.shop", 10).await;
    let variant = &product.variants[1].variant_id;
    let order = buyer
        .client
        .place_order(&order_of(&shop, &[(variant, 2)]), &key("o"))
        .await
        .unwrap();
    let id = order.order_id;
    buyer.client.pay_order(&id, PIN, &key("p")).await.unwrap();
    owner
        .client
        .ship_order(&id, "SF", "SF100", &key("s"))
        .await
        .unwrap();

    buyer
        .client
        .request_refund(&id, 1_000, "late", &key("r0"))
        .await
        .unwrap();
    let approved = owner
        .client
        .decide_refund(&id, 0, true, &key("a0"))
        .await
        .unwrap();
    assert_eq!(
        (approved.refunded_minor, approved.escrow_minor),
        (1_000, 3_400)
    );
    let error = buyer
        .client
        .request_refund(&id, 3_401, "more", &key("r1"))
        .await
        .unwrap_err();
    assert_problem(&error, 409, "refund_too_large");
    buyer
        .client
        .request_refund(&id, 400, "a dent", &key("r1"))
        .await
        .unwrap();
    let rejected = owner
        .client
        .decide_refund(&id, 1, false, &key("a1"))
        .await
        .unwrap();
    assert_eq!(rejected.refund_requests[1].status, "rejected");
    let error = owner
        .client
        .decide_refund(&id, 1, true, &key("a1b"))
        .await
        .unwrap_err();
    assert_problem(&error, 409, "invalid_order_state");
    let error = owner
        .client
        .decide_refund(&id, 7, true, &key("a7"))
        .await
        .unwrap_err();
    assert_problem(&error, 404, "refund_request_not_found");

    let done = buyer.client.confirm_order(&id, &key("c")).await.unwrap();
    assert_eq!(done.escrow_minor, 0);
    let merchant = owner.client.shop(&shop).await.unwrap().merchant_id.unwrap();
    assert_eq!(
        owner
            .client
            .merchant(&merchant)
            .await
            .unwrap()
            .balance_minor,
        3_400
    );
    // After the release, a refund comes out of the shop's settlement.
    buyer
        .client
        .request_refund(&id, 3_400, "never arrived whole", &key("r2"))
        .await
        .unwrap();
    let last = owner
        .client
        .decide_refund(&id, 2, true, &key("a2"))
        .await
        .unwrap();
    assert_eq!(last.refunded_minor, 4_400);
    assert_eq!(
        owner
            .client
            .merchant(&merchant)
            .await
            .unwrap()
            .balance_minor,
        0
    );
    assert_eq!(balance(&buyer).await, 10_000);
    let error = buyer
        .client
        .request_refund(&id, 1, "more", &key("r3"))
        .await
        .unwrap_err();
    assert_problem(&error, 409, "refund_too_large");
    checks_pass(&app);
}

#[tokio::test]
async fn an_unpaid_order_expires_releasing_its_stock_and_a_late_payment_moves_nothing() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.order_pay_within_s = 1;
    })
    .await;
    let owner = app.signup("expiry_shop").await;
    let buyer = funded_buyer(&app, "late_payer", 10_000).await;
    let (shop, product) = open_shop(&owner, "expiry.shop", 3).await;
    let variant = &product.variants[0].variant_id;
    let order = buyer
        .client
        .place_order(&order_of(&shop, &[(variant, 3)]), &key("o"))
        .await
        .unwrap();
    assert_eq!(
        variant_counts(&owner.client, &product.product_id, variant).await,
        (0, 3, 0)
    );

    let expired = wait_for_status(&buyer.client, &order.order_id, "cancelled").await;
    assert_eq!(expired.cancelled_by.as_deref(), Some("expiry"));
    assert_eq!(
        variant_counts(&owner.client, &product.product_id, variant).await,
        (3, 0, 0)
    );
    let error = buyer
        .client
        .pay_order(&order.order_id, PIN, &key("late"))
        .await
        .unwrap_err();
    assert_problem(&error, 409, "invalid_order_state");
    assert_eq!(balance(&buyer).await, 10_000);
    checks_pass(&app);
}

#[tokio::test]
async fn a_shipped_order_is_confirmed_by_itself_after_the_delay() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.order_auto_confirm_s = 1;
    })
    .await;
    let owner = app.signup("auto_shop").await;
    let buyer = funded_buyer(&app, "forgetful", 10_000).await;
    let (shop, product) = open_shop(&owner, "auto.shop", 3).await;
    let variant = &product.variants[0].variant_id;
    let order = buyer
        .client
        .place_order(&order_of(&shop, &[(variant, 1)]), &key("o"))
        .await
        .unwrap();
    buyer
        .client
        .pay_order(&order.order_id, PIN, &key("p"))
        .await
        .unwrap();
    owner
        .client
        .ship_order(&order.order_id, "DHL", "123", &key("s"))
        .await
        .unwrap();
    let done = wait_for_status(&buyer.client, &order.order_id, "completed").await;
    assert_eq!(done.confirmed_by.as_deref(), Some("auto"));
    let merchant = owner.client.shop(&shop).await.unwrap().merchant_id.unwrap();
    assert_eq!(
        owner
            .client
            .merchant(&merchant)
            .await
            .unwrap()
            .balance_minor,
        1_250
    );
    checks_pass(&app);
}

async fn wait_for_status(client: &Client, order: &str, status: &str) -> OrderView {
    for _ in 0..100 {
        let view = client.order(order).await.unwrap();
        if view.status == status {
            return view;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("order {order} never became {status}");
}

/// Places one order of `quantity` of `variant` per buyer, all at once;
/// answers how many were placed, every refusal asserted `out_of_stock`.
async fn race(buyers: &[Client], shop: &str, variant: &str) -> usize {
    let attempts = buyers.iter().enumerate().map(|(index, client)| {
        let order = order_of(shop, &[(variant, 1)]);
        let client = client.clone();
        async move {
            client
                .place_order(&order, &key(&format!("race{index}")))
                .await
        }
    });
    let mut placed = 0;
    for answer in futures_util::future::join_all(attempts).await {
        match answer {
            Ok(order) => {
                assert_eq!(order.status, "pending_payment");
                placed += 1;
            }
            Err(error) => assert_problem(&error, 409, "out_of_stock"),
        }
    }
    placed
}

#[tokio::test]
async fn a_hundred_buyers_for_ten_units_make_exactly_ten_orders() {
    let app = spawn_app().await;
    let owner = app.signup("hot_shop").await;
    let (shop, product) = open_shop(&owner, "hot.shop", 10).await;
    let variant = product.variants[0].variant_id.clone();
    let mut buyers = Vec::new();
    for index in 0..100 {
        buyers.push(app.signup(&format!("racer{index}")).await.client);
    }
    assert_eq!(race(&buyers, &shop, &variant).await, 10);
    assert_eq!(
        variant_counts(&owner.client, &product.product_id, &variant).await,
        (0, 10, 0)
    );
    let orders = owner
        .client
        .orders(&OrderFilter {
            as_shop: true,
            limit: Some(50),
            ..OrderFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(orders.orders.len(), 10);
    admin_check_passes("check", app.data_dir());
}

#[tokio::test]
async fn buyers_on_two_processes_of_one_postgresql_never_oversell() {
    let database = piazza_postgres::testing::TestDatabase::create();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut servers = Vec::new();
    for dir in &dirs {
        servers.push(start_server_process_on_database(dir.path(), &database.url, &[]).await);
    }
    let first = Client::new(&servers[0].base);
    first
        .create_account("two_shop", PASSWORD, None)
        .await
        .unwrap();
    let session = first.login("two_shop", PASSWORD, "d").await.unwrap();
    let owner = User {
        account_id: session.account_id,
        username: "two_shop".into(),
        device_id: session.device_id,
        client: first.clone().with_token(session.token),
    };
    let (shop, product) = open_shop(&owner, "two.shop", 10).await;
    let variant = product.variants[0].variant_id.clone();
    let mut buyers = Vec::new();
    for index in 0..60 {
        let server = &servers[index % 2];
        let name = format!("split{index}");
        let anonymous = Client::new(&server.base);
        anonymous
            .create_account(&name, PASSWORD, None)
            .await
            .unwrap();
        let session = anonymous.login(&name, PASSWORD, "d").await.unwrap();
        buyers.push(anonymous.with_token(session.token));
    }
    assert_eq!(race(&buyers, &shop, &variant).await, 10);
    assert_eq!(
        variant_counts(&owner.client, &product.product_id, &variant).await,
        (0, 10, 0)
    );
}

#[tokio::test]
async fn bad_shop_input_is_a_4xx_problem_and_changes_nothing() {
    let app = crate::wallet::sandbox().await;
    let owner = app.signup("strict_shop").await;
    let buyer = funded_buyer(&app, "tester", 10_000).await;
    let (shop, product) = open_shop(&owner, "strict.shop", 5).await;
    let variant = product.variants[0].variant_id.clone();
    let post = |user: &User, path: &str, body: serde_json::Value| {
        let client = user.client.clone();
        let path = path.to_owned();
        async move { call(&client, Method::POST, &path, Some(body), Some("k1")).await }
    };
    let shops = "/api/v1/shops";
    for (body, code) in [
        (json!({ "handle": "A!", "name": "x" }), "invalid_handle"),
        (
            json!({ "handle": "strict.shop", "name": "again" }),
            "handle_taken",
        ),
        (json!({ "handle": "ok.handle", "name": "" }), "invalid_name"),
    ] {
        let answer = post(&owner, shops, body).await;
        assert_eq!(answer.1["code"], code, "{}", answer.1);
        assert!(answer.0 >= 400 && answer.0 < 500);
    }
    let products = format!("/api/v1/shops/{shop}/products");
    for (body, code) in [
        (json!({ "title": "t", "variants": [] }), "invalid_variants"),
        (
            json!({ "title": "t", "variants": [{ "sku": "has space", "name": "n", "price_minor": 1, "stock": 1 }] }),
            "invalid_sku",
        ),
        (
            json!({ "title": "t", "variants": [{ "sku": "S", "name": "n", "price_minor": 0, "stock": 1 }] }),
            "invalid_price",
        ),
        (
            json!({ "title": "t", "variants": [{ "sku": "S", "name": "n", "price_minor": 1, "stock": -1 }] }),
            "invalid_stock",
        ),
        (
            json!({ "title": "t", "variants": [{ "sku": "PASTA-500", "name": "n", "price_minor": 1, "stock": 1 }] }),
            "sku_taken",
        ),
    ] {
        let answer = post(&owner, &products, body).await;
        assert_eq!(answer.1["code"], code, "{}", answer.1);
    }
    let answer = post(&buyer, &products, json!({ "title": "t", "variants": [{ "sku": "B", "name": "n", "price_minor": 1, "stock": 1 }] })).await;
    assert_code(&answer, 403, "not_shop_staff");
    let order = |items: serde_json::Value, address: serde_json::Value| json!({ "shop_id": shop, "items": items, "shipping_address": address });
    let good_address = json!({ "name": "B", "line1": "L", "city": "C", "country": "IT" });
    for (body, status, code) in [
        (
            order(json!([]), good_address.clone()),
            422,
            "invalid_order_items",
        ),
        (
            order(
                json!([{ "variant_id": variant, "quantity": 0 }]),
                good_address.clone(),
            ),
            422,
            "invalid_order_items",
        ),
        (
            order(
                json!([{ "variant_id": variant, "quantity": 6 }]),
                good_address.clone(),
            ),
            409,
            "out_of_stock",
        ),
        (
            order(
                json!([{ "variant_id": variant, "quantity": 1 }, { "variant_id": variant, "quantity": 1 }]),
                good_address.clone(),
            ),
            422,
            "invalid_order_items",
        ),
        (
            order(
                json!([{ "variant_id": "var_999999", "quantity": 1 }]),
                good_address.clone(),
            ),
            404,
            "variant_not_found",
        ),
        (
            order(
                json!([{ "variant_id": variant, "quantity": 1 }]),
                json!({ "name": "B", "line1": "", "city": "C", "country": "IT" }),
            ),
            400,
            "invalid_shipping_address",
        ),
    ] {
        let answer = call(
            &buyer.client,
            Method::POST,
            "/api/v1/orders",
            Some(body),
            Some(&format!("k-{code}-{status}")),
        )
        .await;
        assert_code(&answer, status, code);
    }
    let answer = call(
        &buyer.client,
        Method::POST,
        "/api/v1/orders",
        Some(order(
            json!([{ "variant_id": variant, "quantity": 1 }]),
            good_address,
        )),
        None,
    )
    .await;
    assert_code(&answer, 400, "idempotency_key_required");
    assert!(
        buyer
            .client
            .orders(&OrderFilter::default())
            .await
            .unwrap()
            .orders
            .is_empty()
    );
    assert_eq!(
        variant_counts(&owner.client, &product.product_id, &variant).await,
        (5, 0, 0)
    );
    let error = owner
        .client
        .patch_variant(
            &variant,
            &PatchVariant {
                stock_delta: Some(-6),
                ..PatchVariant::default()
            },
        )
        .await
        .unwrap_err();
    assert_problem(&error, 409, "stock_below_zero");
    let moved = owner
        .client
        .patch_variant(
            &variant,
            &PatchVariant {
                stock_delta: Some(-2),
                price_minor: Some(1_300),
                ..PatchVariant::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((moved.available, moved.price_minor), (3, 1_300));
    checks_pass(&app);
}

#[tokio::test]
async fn my_shops_are_the_ones_i_own_or_staff_wherever_i_log_in() {
    let app = crate::wallet::sandbox().await;
    let owner = app.signup("nonna").await;
    let sal = app.signup("sal").await;
    let bea = app.signup("bea").await;
    let (shop, _) = open_shop(&owner, "nonna.pasta", 10).await;
    befriend(&owner, &sal).await;
    let staff = |on| owner.client.set_shop_staff(&shop, &sal.account_id, on);
    staff(true).await.unwrap();
    let roles = |views: Vec<piazza_api::ShopView>| -> Vec<(String, String)> {
        views
            .into_iter()
            .map(|view| (view.shop.shop_id, view.your_role))
            .collect()
    };
    let mine = owner.client.my_shops().await.unwrap();
    assert_eq!(mine[0].staff, std::slice::from_ref(&sal.account_id));
    assert_eq!(roles(mine), [(shop.clone(), "owner".to_owned())]);
    let theirs = sal.client.my_shops().await.unwrap();
    assert_eq!(roles(theirs), [(shop.clone(), "staff".to_owned())]);
    assert!(
        bea.client.my_shops().await.unwrap().is_empty(),
        "a customer's"
    );
    staff(false).await.unwrap();
    assert!(
        sal.client.my_shops().await.unwrap().is_empty(),
        "no longer staff"
    );
    app.shut_down().await;
}
