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
