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
