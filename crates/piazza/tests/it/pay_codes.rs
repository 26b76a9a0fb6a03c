//! Payment codes and collections as a thief holding only a device token
//! would try them: a code needs the PIN (or a PIN entered on the same
//! device moments ago), a locked PIN blocks codes and collections, and
//! collections without the PIN are capped per day, past which the buyer
//! must confirm. Every collection reaches the buyer's log at once.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::merchants::collect;
use crate::wallet::{PIN, assert_code, assert_ledger_sound, balance, call, set_pin, top_up};

/// A shop's owner and a buyer with a PIN and `funds` in the wallet.
async fn shop_with(app: &TestApp, funds: i64) -> (User, User, String) {
    let owner = app.signup("owner").await;
    let buyer = app.signup("buyer").await;
    set_pin(&buyer).await;
    let (status, body) = top_up(&buyer, funds, "fund").await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(
        &owner.client,
        Method::POST,
        "/api/v1/merchants",
        Some(json!({ "name": "Night Market" })),
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let merchant = body["merchant_id"].as_str().unwrap().to_owned();
    (owner, buyer, merchant)
}

/// `POST /api/v1/wallet/payment-code` with `body` (None: no body at all).
async fn ask_code(buyer: &User, body: Option<Value>) -> (u16, Value) {
    call(
        &buyer.client,
        Method::POST,
        "/api/v1/wallet/payment-code",
        body,
        None,
    )
    .await
}

/// The review's scenario: a 3,000.00 wallet, and a merchant's owner who
/// collects 500.00 six times with codes made on the buyer's device without
/// the PIN. It emptied the wallet; now the codes need the PIN.
#[tokio::test]
async fn a_device_token_alone_cannot_drain_the_wallet() {
    let app = crate::wallet::sandbox().await;
    let (owner, buyer, merchant) = shop_with(&app, 300_000).await;
    let mut collected = 0;
    for round in 0..6 {
        let code = ask_code(&buyer, None).await;
        if code.0 != 201 {
            assert_code(&code, 403, "pin_required");
            continue;
        }
        let code = code.1["code"].as_str().unwrap().to_owned();
        let done = collect(&owner, &merchant, &code, 50_000, &format!("c{round}")).await;
        if done.0 == 201 && done.1["status"] == "completed" {
            collected += 50_000;
        }
    }
    assert_eq!(collected, 0, "codes made without the PIN collected money");
    assert_eq!(balance(&buyer).await, 300_000);
    assert_ledger_sound(&app);
}

/// The code's PIN: asked unless this device entered it within the window;
/// a wrong one counts (and forgets the window); another device of the same
/// account has a window of its own.
#[tokio::test]
async fn a_code_needs_the_pin_or_one_entered_lately_on_that_device() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.payment_code_pin_window_s = 2;
    })
    .await;
    let (_, buyer, _) = shop_with(&app, 10_000).await;
    assert_code(&ask_code(&buyer, None).await, 403, "pin_required");
    assert_code(
        &ask_code(&buyer, Some(json!({}))).await,
        403,
        "pin_required",
    );
    assert_code(
        &ask_code(&buyer, Some(json!({ "pin": "12345" }))).await,
        400,
        "invalid_pin",
    );
    let wrong = ask_code(&buyer, Some(json!({ "pin": "000000" }))).await;
    assert_code(&wrong, 403, "wrong_pin");
    assert_eq!(ask_code(&buyer, Some(json!({ "pin": PIN }))).await.0, 201);
    // Within the window: no PIN, on this device only.
    assert_eq!(ask_code(&buyer, None).await.0, 201);
    let phone = app.login(&buyer.username, "phone").await;
    assert_code(&ask_code(&phone, None).await, 403, "pin_required");
    // A wrong PIN forgets the window.
    assert_code(
        &ask_code(&buyer, Some(json!({ "pin": "000000" }))).await,
        403,
        "wrong_pin",
    );
    assert_code(&ask_code(&buyer, None).await, 403, "pin_required");
    // The window runs out, and omitting the PIN never stretched it.
    assert_eq!(ask_code(&phone, Some(json!({ "pin": PIN }))).await.0, 201);
    assert_eq!(ask_code(&phone, None).await.0, 201);
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_code(&ask_code(&phone, None).await, 403, "pin_required");
    // Wrong PINs here count towards the lock like anywhere else: five in a
    // row lock it.
    for _ in 0..5 {
        let wrong = ask_code(&phone, Some(json!({ "pin": "000000" }))).await;
        assert_code(&wrong, 403, "wrong_pin");
    }
    let locked = ask_code(&phone, Some(json!({ "pin": PIN }))).await;
    assert_code(&locked, 423, "pin_locked");
}

/// A locked PIN stopped withdrawals but not collections: the review
/// collected while the PIN was locked. It blocks codes and collections
/// now, whatever the amount and whether or not the device's window is
/// open.
#[tokio::test]
async fn a_locked_pin_blocks_codes_and_collections() {
    let app = crate::wallet::sandbox().await;
    let (owner, buyer, merchant) = shop_with(&app, 10_000).await;
    let early = ask_code(&buyer, Some(json!({ "pin": PIN }))).await;
    assert_eq!(early.0, 201, "{}", early.1);
    let early = early.1["code"].as_str().unwrap().to_owned();
    for attempt in 0..5 {
        let wrong = crate::wallet::withdraw(&buyer, 100, "000000", &format!("w{attempt}")).await;
        assert_code(&wrong, 403, "wrong_pin");
    }
    assert_code(
        &collect(&owner, &merchant, &early, 100, "c1").await,
        423,
        "pin_locked",
    );
    assert_code(&ask_code(&buyer, None).await, 423, "pin_locked");
    assert_code(
        &ask_code(&buyer, Some(json!({ "pin": PIN }))).await,
        423,
        "pin_locked",
    );
    assert_eq!(balance(&buyer).await, 10_000);
    assert_ledger_sound(&app);
}

/// A new code, shown with the PIN (which opens the device's window).
async fn code(buyer: &User) -> String {
    let answer = ask_code(buyer, Some(json!({ "pin": PIN }))).await;
    assert_eq!(answer.0, 201, "{}", answer.1);
    answer.1["code"].as_str().unwrap().to_owned()
}

/// Collections under the no-PIN limit complete at once only while the
/// buyer's day stays within its cap, in number and in amount; past either,
/// the collection waits for the buyer's PIN.
#[tokio::test]
async fn collections_without_confirmation_are_capped_per_day() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.collect_without_pin_per_day_max = 3;
        config.limits.collect_without_pin_per_day_max_minor = 1_000;
    })
    .await;
    let (owner, buyer, merchant) = shop_with(&app, 10_000).await;
    let mut statuses = Vec::new();
    for (n, amount) in [600, 500, 400, 1, 1].into_iter().enumerate() {
        let done = collect(
            &owner,
            &merchant,
            &code(&buyer).await,
            amount,
            &format!("c{n}"),
        )
        .await;
        assert_eq!(done.0, 201, "{}", done.1);
        statuses.push(done.1["status"].as_str().unwrap().to_owned());
    }
    // 600 fits; 500 would pass 1,000.00 a day; 400 reaches it exactly; 1
    // more would pass it; and the count is spent too by then (3 a day).
    assert_eq!(
        statuses,
        [
            "completed",
            "needs_confirmation",
            "completed",
            "needs_confirmation",
            "needs_confirmation"
        ]
    );
    assert_eq!(balance(&buyer).await, 10_000 - 1_000);
    assert_ledger_sound(&app);
}

/// Collections racing each other cannot both slip under the cap: it is
/// counted in the writer job that lets one through.
#[tokio::test]
async fn racing_collections_cannot_both_slip_under_the_cap() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.collect_without_pin_per_day_max = 1;
    })
    .await;
    let (owner, buyer, merchant) = shop_with(&app, 10_000).await;
    let codes = [code(&buyer).await, code(&buyer).await, code(&buyer).await];
    let (a, b, c) = tokio::join!(
        collect(&owner, &merchant, &codes[0], 100, "a"),
        collect(&owner, &merchant, &codes[1], 100, "b"),
        collect(&owner, &merchant, &codes[2], 100, "c"),
    );
    let mut statuses: Vec<_> = [a, b, c]
        .iter()
        .map(|done| done.1["status"].as_str().unwrap().to_owned())
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        ["completed", "needs_confirmation", "needs_confirmation"]
    );
    assert_eq!(balance(&buyer).await, 9_900);
}

/// Every collection is pushed to the buyer's devices as it happens, with
/// the merchant's name and the amount: done (`payment.sent`) or waiting
/// for them (`payment.confirmation_requested`).
#[tokio::test]
async fn every_collection_reaches_the_buyers_devices_at_once() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.collect_without_pin_max_minor = 1_000;
    })
    .await;
    let (owner, buyer, merchant) = shop_with(&app, 10_000).await;
    let phone = app.login(&buyer.username, "phone").await;
    let (mut socket, _) = live_socket(&phone).await;
    let small = collect(&owner, &merchant, &code(&buyer).await, 250, "small").await;
    let sent = next_of_type(&mut socket, "payment.sent").await;
    assert_eq!(field(&sent, "payment_id"), &small.1["payment_id"]);
    assert_eq!(field(&sent, "amount_minor"), 250);
    assert_eq!(field(&sent, "merchant_name"), "Night Market");
    // A collection says so, for clients to word it ("… collected from you").
    assert_eq!(field(&sent, "collected"), true);
    let large = collect(&owner, &merchant, &code(&buyer).await, 5_000, "large").await;
    assert_eq!(large.1["status"], "needs_confirmation");
    let asked = next_of_type(&mut socket, "payment.confirmation_requested").await;
    assert_eq!(field(&asked, "payment_id"), &large.1["payment_id"]);
    assert_eq!(field(&asked, "amount_minor"), 5_000);
    assert_eq!(field(&asked, "merchant_name"), "Night Market");
    assert_eq!(field(&asked, "collected"), true);
}

/// A PIN changed (or reset, or locked) must be typed again on every
/// device: a window opened with the old PIN does not outlive it.
#[tokio::test]
async fn a_pin_change_closes_every_devices_window() {
    let app = crate::wallet::sandbox().await;
    let (_, buyer, _) = shop_with(&app, 10_000).await;
    code(&buyer).await;
    assert_eq!(ask_code(&buyer, None).await.0, 201, "the window is open");
    let (status, body) = call(
        &buyer.client,
        Method::PUT,
        "/api/v1/wallet/pin",
        Some(json!({ "old_pin": PIN, "pin": "975310" })),
        None,
    )
    .await;
    assert!(status < 300, "{status} {body}");
    assert_code(&ask_code(&buyer, None).await, 403, "pin_required");
}

/// A refund is money leaving the owner's merchant account: a locked PIN
/// stops it as it stops every other way out.
#[tokio::test]
async fn a_locked_pin_blocks_the_owners_refunds() {
    let app = crate::wallet::sandbox().await;
    let (owner, buyer, merchant) = shop_with(&app, 10_000).await;
    let paid = collect(&owner, &merchant, &code(&buyer).await, 1_000, "c1").await;
    assert_eq!(paid.0, 201, "{}", paid.1);
    let payment = paid.1["payment_id"].as_str().unwrap().to_owned();
    set_pin(&owner).await;
    for attempt in 0..5 {
        let wrong = crate::wallet::withdraw(&owner, 100, "000000", &format!("w{attempt}")).await;
        assert_code(&wrong, 403, "wrong_pin");
    }
    assert_code(
        &crate::merchants::refund(&owner, &payment, 500, "r1").await,
        423,
        "pin_locked",
    );
    assert_eq!(balance(&buyer).await, 9_000);
    assert_ledger_sound(&app);
}
