//! The payment PIN's own rules: setting it is no password oracle (wrong
//! passwords count with the log-in failures), a new PIN never lifts a
//! lock, changing it needs the old one, and a forgotten PIN is reset with
//! the password plus a wait during which money cannot leave the wallet.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::wallet::{
    PIN, assert_code, assert_ledger_sound, balance, call, set_pin, top_up, withdraw,
};

const NEW_PIN: &str = "975310";

async fn put_pin(user: &User, body: Value) -> (u16, Value) {
    call(
        &user.client,
        Method::PUT,
        "/api/v1/wallet/pin",
        Some(body),
        None,
    )
    .await
}

/// 120 wrong passwords in a row on `PUT /wallet/pin` were all answered
/// (the review's oracle). They count with the log-in failures now: the
/// guessing is cut off as log-in cuts it off, the right password then
/// gets no better answer, and log-in is locked too.
#[tokio::test]
async fn wrong_passwords_on_the_pin_are_limited_like_log_in() {
    let app = crate::wallet::sandbox().await;
    let ann = app.signup("ann").await;
    let mut answered = 0;
    let mut limited = 0;
    for attempt in 0..120 {
        let answer = put_pin(
            &ann,
            json!({ "pin": PIN, "password": format!("guess number {attempt}") }),
        )
        .await;
        match answer.0 {
            403 => {
                assert_code(&answer, 403, "wrong_password");
                answered += 1;
            }
            _ => {
                assert_code(&answer, 429, "too_many_login_attempts");
                limited += 1;
            }
        }
    }
    assert!(answered <= 50, "{answered} wrong passwords were checked");
    assert!(limited > 0);
    // Locked out: the right password is refused the same way, unchecked.
    assert_code(
        &put_pin(&ann, json!({ "pin": PIN, "password": PASSWORD })).await,
        429,
        "too_many_login_attempts",
    );
    let login = app.anonymous().login("ann", PASSWORD, "laptop").await;
    assert_problem(&login.unwrap_err(), 429, "too_many_login_attempts");
}

/// Failed log-ins lock the PIN's password check too.
#[tokio::test]
async fn a_log_in_lock_blocks_setting_the_pin() {
    let app = crate::wallet::sandbox().await;
    let ann = app.signup("ann").await;
    for _ in 0..60 {
        let _ = app.anonymous().login("ann", "not the password", "x").await;
    }
    assert_code(
        &put_pin(&ann, json!({ "pin": PIN, "password": PASSWORD })).await,
        429,
        "too_many_login_attempts",
    );
}

/// After five wrong PINs, a new PIN set with the password lifted the lock
/// and the whole balance could be sent away. A new PIN never lifts a lock.
#[tokio::test]
async fn a_new_pin_never_lifts_a_pin_lock() {
    let app = crate::wallet::sandbox().await;
    let ann = app.signup("ann").await;
    set_pin(&ann).await;
    assert_eq!(top_up(&ann, 10_000, "fund").await.0, 201);
    for attempt in 0..5 {
        let wrong = withdraw(&ann, 100, "000000", &format!("bad{attempt}")).await;
        assert_code(&wrong, 403, "wrong_pin");
    }
    assert_code(&withdraw(&ann, 100, PIN, "w1").await, 423, "pin_locked");
    let reset = put_pin(&ann, json!({ "pin": NEW_PIN, "password": PASSWORD })).await;
    assert!(reset.0 < 300, "{reset:?}");
    for (pin, key) in [(NEW_PIN, "w2"), (PIN, "w3")] {
        let refused = withdraw(&ann, 10_000, pin, key).await;
        assert_eq!(refused.0, 423, "{refused:?}");
    }
    assert_eq!(balance(&ann).await, 10_000);
    assert_ledger_sound(&app);
}

/// Changing a PIN takes the PIN in force, checked like any PIN: wrong
/// ones count towards the lock, and the lock stops the change.
#[tokio::test]
async fn changing_the_pin_needs_the_old_pin() {
    let app = crate::wallet::sandbox().await;
    let ann = app.signup("ann").await;
    let change = |old: &str, new: &str| json!({ "old_pin": old, "pin": new });
    assert_code(
        &put_pin(&ann, change(PIN, NEW_PIN)).await,
        403,
        "pin_not_set",
    );
    set_pin(&ann).await;
    assert_eq!(top_up(&ann, 10_000, "fund").await.0, 201);
    for body in [
        json!({ "pin": NEW_PIN }),
        json!({ "pin": NEW_PIN, "old_pin": PIN, "password": PASSWORD }),
    ] {
        assert_code(&put_pin(&ann, body).await, 400, "pin_proof_required");
    }
    assert_code(
        &put_pin(&ann, change("12345", NEW_PIN)).await,
        400,
        "invalid_pin",
    );
    assert_code(
        &put_pin(&ann, change("000000", NEW_PIN)).await,
        403,
        "wrong_pin",
    );
    assert_eq!(put_pin(&ann, change(PIN, NEW_PIN)).await.0, 204);
    assert_code(&withdraw(&ann, 100, PIN, "old").await, 403, "wrong_pin");
    assert_eq!(withdraw(&ann, 100, NEW_PIN, "new").await.0, 201);
    // Five wrong old PINs lock it like five wrong PINs anywhere.
    for _ in 0..5 {
        let wrong = put_pin(&ann, change("000000", PIN)).await;
        assert_code(&wrong, 403, "wrong_pin");
    }
    assert_code(
        &put_pin(&ann, change(NEW_PIN, PIN)).await,
        423,
        "pin_locked",
    );
    assert_code(
        &withdraw(&ann, 100, NEW_PIN, "locked").await,
        423,
        "pin_locked",
    );
    let log = ann.client.sync(None, None, None).await.unwrap();
    let changed = log
        .events
        .iter()
        .filter(|event| event.type_ == "wallet.pin_changed")
        .count();
    assert_eq!(changed, 2, "the first PIN and the change");
    assert_ledger_sound(&app);
}

async fn post(user: &User, path: &str, body: Value, key: &str) -> (u16, Value) {
    call(&user.client, Method::POST, path, Some(body), Some(key)).await
}

/// A forgotten PIN is reset with the password, but only after a wait
/// during which no money leaves the wallet, whatever the way out (the
/// new PIN and the old one alike); every device is told at once. Money
/// still comes in. When the wait is over, the new PIN is the PIN.
#[tokio::test]
async fn a_forgotten_pin_is_reset_after_a_wait_that_holds_the_money() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        // Long enough for the refusals below, under a loaded machine.
        config.limits.pin_reset_wait_s = 3;
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    let phone = app.login("ann", "phone").await;
    set_pin(&ann).await;
    set_pin(&bob).await;
    assert_eq!(top_up(&ann, 10_000, "fund").await.0, 201);
    assert_eq!(top_up(&bob, 10_000, "fund").await.0, 201);
    let (status, shop) = call(
        &bob.client,
        Method::POST,
        "/api/v1/merchants",
        Some(json!({ "name": "Bob's Bikes" })),
        None,
    )
    .await;
    assert_eq!(status, 201, "{shop}");
    let merchant = shop["merchant_id"].as_str().unwrap().to_owned();
    let payload = crate::merchants::payload(&bob, &merchant, Some(100)).await;
    let code = crate::merchants::payment_code(&ann).await;

    let reset = put_pin(&ann, json!({ "pin": NEW_PIN, "password": PASSWORD })).await;
    let over = tokio::time::Instant::now() + std::time::Duration::from_millis(3_100);
    assert_eq!(reset.0, 202, "{}", reset.1);
    let effective_at = reset.1["effective_at"].as_str().unwrap().to_owned();
    for device in [&ann, &phone] {
        let told = crate::transfers::wait_for(device, "wallet.pin_reset").await;
        assert_eq!(field(&told, "effective_at"), effective_at.as_str());
    }
    let (_, wallet) = call(&phone.client, Method::GET, "/api/v1/wallet", None, None).await;
    assert_eq!(wallet["pin_reset_effective_at"], effective_at.as_str());

    for pin in [PIN, NEW_PIN] {
        let refusals = [
            withdraw(&ann, 100, pin, &format!("w{pin}")).await,
            post(
                &ann,
                "/api/v1/transfers",
                json!({ "to": bob.account_id, "amount_minor": 100, "pin": pin }),
                &format!("t{pin}"),
            )
            .await,
            post(
                &ann,
                "/api/v1/red-packets",
                json!({ "conversation_id": conversation, "total_minor": 100, "count": 1,
                        "mode": "equal", "pin": pin }),
                &format!("r{pin}"),
            )
            .await,
            post(
                &ann,
                "/api/v1/payments",
                json!({ "qr_payload": payload, "pin": pin }),
                &format!("p{pin}"),
            )
            .await,
            call(
                &ann.client,
                Method::POST,
                "/api/v1/wallet/payment-code",
                Some(json!({ "pin": pin })),
                None,
            )
            .await,
        ];
        for refused in refusals {
            assert_code(&refused, 423, "pin_reset_pending");
        }
    }
    let collected = crate::merchants::collect(&bob, &merchant, &code, 100, "c1").await;
    assert_code(&collected, 423, "pin_reset_pending");
    // Money still comes in.
    assert_eq!(top_up(&ann, 500, "more").await.0, 201);
    let sent = post(
        &bob,
        "/api/v1/transfers",
        json!({ "to": ann.account_id, "amount_minor": 300, "pin": PIN }),
        "gift",
    )
    .await;
    assert_eq!(sent.0, 201, "{}", sent.1);
    let transfer = sent.1["transfer_id"].as_str().unwrap();
    let path = format!("/api/v1/transfers/{transfer}/accept");
    assert_eq!(
        call(&ann.client, Method::POST, &path, None, None).await.0,
        200
    );
    assert_eq!(balance(&ann).await, 10_800);

    // After the wait the new PIN is the PIN, and money leaves again.
    assert!(
        tokio::time::Instant::now() < over,
        "the checks outlasted the wait"
    );
    tokio::time::sleep_until(over).await;
    assert_code(
        &withdraw(&ann, 100, PIN, "after-old").await,
        403,
        "wrong_pin",
    );
    assert_eq!(withdraw(&ann, 100, NEW_PIN, "after-new").await.0, 201);
    assert_ledger_sound(&app);
}

/// The owner, who still knows the PIN, cancels a reset somebody else
/// started with the password: money moves again at once, and the PIN is
/// the one the owner chose.
#[tokio::test]
async fn the_current_pin_cancels_a_reset() {
    let app = crate::wallet::sandbox().await;
    let ann = app.signup("ann").await;
    set_pin(&ann).await;
    assert_eq!(top_up(&ann, 10_000, "fund").await.0, 201);
    let reset = put_pin(&ann, json!({ "pin": NEW_PIN, "password": PASSWORD })).await;
    assert_eq!(reset.0, 202, "{}", reset.1);
    assert_code(
        &withdraw(&ann, 100, PIN, "held").await,
        423,
        "pin_reset_pending",
    );
    let cancel = put_pin(&ann, json!({ "old_pin": PIN, "pin": PIN })).await;
    assert_eq!(cancel.0, 204, "{}", cancel.1);
    assert_eq!(withdraw(&ann, 100, PIN, "free").await.0, 201);
    let log = ann.client.sync(None, None, None).await.unwrap();
    let cancelled = log.events.iter().any(|event| {
        event.type_ == "wallet.pin_changed" && event.fields["reset_cancelled"] == true
    });
    assert!(cancelled, "{:?}", log.events);
    let (_, wallet) = call(&ann.client, Method::GET, "/api/v1/wallet", None, None).await;
    assert!(wallet.get("pin_reset_effective_at").is_none(), "{wallet}");
}
