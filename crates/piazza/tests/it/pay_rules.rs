//! The configurable rules of Piazza Pay, end to end: a collection above the
//! no-PIN limit waits for the buyer (confirm, decline, or lapse), payment
//! codes expire, PIN lock-outs follow the config, and the payment gateway
//! is a trait whose failures move nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use piazza_server::config::Gateway;
use piazza_server::gateway::{GatewayError, GatewayRequest, PaymentGateway};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::merchants::{collect, merchant_balance, payment_code, refund, shop};
use crate::transfers::wait_for;
use crate::wallet::{
    PIN, assert_code, assert_ledger_sound, balance, call, set_pin, top_up, withdraw,
};

async fn decide(user: &User, payment: &str, decision: &str, pin: Option<&str>) -> (u16, Value) {
    let body = pin.map(|pin| json!({ "pin": pin }));
    call(
        &user.client,
        Method::POST,
        &format!("/api/v1/payments/{payment}/{decision}"),
        body,
        None,
    )
    .await
}

async fn view(user: &User, payment: &str) -> (u16, Value) {
    call(
        &user.client,
        Method::GET,
        &format!("/api/v1/payments/{payment}"),
        None,
        None,
    )
    .await
}

/// A shop whose no-PIN limit is 10.00, and a collection of 10.01 waiting.
async fn waiting_collection(app: &TestApp) -> (User, User, String, String) {
    let (owner, buyer, merchant) = shop(app).await;
    let code = payment_code(&buyer).await;
    let waiting = collect(&owner, &merchant, &code, 1_001, "c1").await;
    assert_eq!(waiting.0, 201, "{}", waiting.1);
    assert_eq!(waiting.1["status"], "needs_confirmation");
    let payment = waiting.1["payment_id"].as_str().unwrap().to_owned();
    (owner, buyer, merchant, payment)
}

async fn limited_shop() -> TestApp {
    spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.collect_without_pin_max_minor = 1_000;
    })
    .await
}

#[tokio::test]
async fn the_buyer_confirms_a_collection_above_the_limit_with_their_pin() {
    let app = limited_shop().await;
    let (owner, buyer, merchant, payment) = waiting_collection(&app).await;
    let asked = wait_for(&buyer, "payment.confirmation_requested").await;
    assert_eq!(asked.fields["payment_id"], payment.as_str());
    assert_eq!(asked.fields["amount_minor"], 1_001);

    // Both sides see it waiting; nobody else sees it at all.
    for user in [&buyer, &owner] {
        let (status, body) = view(user, &payment).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "needs_confirmation");
        assert!(body["confirm_by"].is_string());
    }
    let stranger = app.signup("stranger").await;
    set_pin(&stranger).await;
    assert_code(&view(&stranger, &payment).await, 404, "payment_not_found");
    assert_code(
        &decide(&stranger, &payment, "confirm", Some(PIN)).await,
        404,
        "payment_not_found",
    );
    // Only the buyer confirms: not the merchant's owner either.
    set_pin(&owner).await;
    assert_code(
        &decide(&owner, &payment, "confirm", Some(PIN)).await,
        404,
        "payment_not_found",
    );
    assert_code(
        &decide(&buyer, &payment, "confirm", Some("000000")).await,
        403,
        "wrong_pin",
    );
    assert_code(
        &decide(&buyer, &payment, "confirm", Some("12")).await,
        400,
        "invalid_pin",
    );
    assert_eq!(balance(&buyer).await, 10_000, "nothing moved yet");

    let done = decide(&buyer, &payment, "confirm", Some(PIN)).await;
    assert_eq!(done.0, 200, "{}", done.1);
    assert_eq!(done.1["status"], "completed");
    assert_eq!(balance(&buyer).await, 8_999);
    assert_eq!(merchant_balance(&owner, &merchant).await, 1_001);
    wait_for(&buyer, "payment.sent").await;
    wait_for(&owner, "payment.received").await;

    // Confirming again answers the same and moves nothing; declining is
    // too late.
    assert_eq!(decide(&buyer, &payment, "confirm", Some(PIN)).await, done);
    assert_code(
        &decide(&buyer, &payment, "decline", None).await,
        409,
        "payment_not_pending",
    );
    assert_eq!(balance(&buyer).await, 8_999);
    // Now it was paid, it can be refunded.
    assert_eq!(refund(&owner, &payment, 1_001, "r1").await.0, 201);
    assert_eq!(balance(&buyer).await, 10_000);
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn a_declined_collection_moves_nothing_and_tells_both_sides() {
    let app = limited_shop().await;
    let (owner, buyer, merchant, payment) = waiting_collection(&app).await;
    let declined = decide(&buyer, &payment, "decline", None).await;
    assert_eq!(declined.0, 200, "{}", declined.1);
    assert_eq!(declined.1["status"], "declined");
    assert_eq!(decide(&buyer, &payment, "decline", None).await, declined);
    assert_code(
        &decide(&buyer, &payment, "confirm", Some(PIN)).await,
        409,
        "payment_not_pending",
    );
    wait_for(&buyer, "payment.declined").await;
    wait_for(&owner, "payment.declined").await;
    assert_eq!(view(&owner, &payment).await.1["status"], "declined");
    assert_eq!(balance(&buyer).await, 10_000);
    assert_eq!(merchant_balance(&owner, &merchant).await, 0);
    assert_code(
        &refund(&owner, &payment, 1, "r1").await,
        409,
        "refund_exceeds_payment",
    );
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn an_unconfirmed_collection_lapses() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.collect_without_pin_max_minor = 1_000;
        config.limits.collect_confirm_s = 1;
    })
    .await;
    let (owner, buyer, _merchant, payment) = waiting_collection(&app).await;
    // The sweeper runs every second; past the deadline the buyer can no
    // longer confirm, even before it has run.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_code(
        &decide(&buyer, &payment, "confirm", Some(PIN)).await,
        409,
        "payment_not_pending",
    );
    wait_for(&buyer, "payment.expired").await;
    wait_for(&owner, "payment.expired").await;
    let (status, body) = view(&buyer, &payment).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "expired");
    assert!(body.get("confirm_by").is_none());
    assert_eq!(balance(&buyer).await, 10_000);
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn an_expired_payment_code_is_refused_and_moves_nothing() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.payment_code_valid_s = 1;
    })
    .await;
    let (owner, buyer, merchant) = shop(&app).await;
    let code = payment_code(&buyer).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_code(
        &collect(&owner, &merchant, &code, 100, "c1").await,
        410,
        "payment_code_expired",
    );
    assert_eq!(balance(&buyer).await, 10_000);
    assert_eq!(merchant_balance(&owner, &merchant).await, 0);
    // A fresh code still works.
    let fresh = payment_code(&buyer).await;
    assert_eq!(collect(&owner, &merchant, &fresh, 100, "c2").await.0, 201);
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn the_pin_lock_out_follows_the_config() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.pin_attempts_max = 2;
        config.limits.pin_lock_s = 1;
    })
    .await;
    let ann = app.signup("ann").await;
    set_pin(&ann).await;
    top_up(&ann, 1_000, "t1").await;
    for attempt in 0..2 {
        assert_code(
            &withdraw(&ann, 100, "000000", &format!("bad{attempt}")).await,
            403,
            "wrong_pin",
        );
    }
    assert_code(&withdraw(&ann, 100, PIN, "w1").await, 423, "pin_locked");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let done = withdraw(&ann, 100, PIN, "w2").await;
    assert_eq!(done.0, 201, "{}", done.1);
    assert_eq!(balance(&ann).await, 900);
    assert_ledger_sound(&app);
}

/// A gateway that fails its first `failures` calls of each kind, counting
/// every call, so a test sees what Piazza asked of it.
#[derive(Default)]
struct Flaky {
    failures: u32,
    charges: AtomicU32,
    payouts: AtomicU32,
    keys: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl PaymentGateway for Flaky {
    async fn charge(&self, request: &GatewayRequest) -> Result<String, GatewayError> {
        self.keys.lock().unwrap().push(request.key.clone());
        if self.charges.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(GatewayError("card declined".into()));
        }
        Ok(format!("ch_{}", &request.key[..8]))
    }

    async fn pay_out(&self, request: &GatewayRequest) -> Result<String, GatewayError> {
        self.keys.lock().unwrap().push(request.key.clone());
        if self.payouts.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(GatewayError("bank unreachable".into()));
        }
        Ok(format!("po_{}", &request.key[..8]))
    }
}

#[tokio::test]
async fn a_failing_gateway_moves_nothing_and_a_retry_with_the_same_key_heals() {
    let gateway = Arc::new(Flaky {
        failures: 1,
        ..Flaky::default()
    });
    let handle = Arc::clone(&gateway) as Arc<dyn PaymentGateway>;
    let app = spawn_app_with(move |config| config.gateway = Some(Gateway(handle))).await;
    let ann = app.signup("ann").await;
    set_pin(&ann).await;

    // The charge fails: nothing is credited.
    assert_code(
        &top_up(&ann, 1_000, "t1").await,
        502,
        "payment_gateway_failed",
    );
    assert_eq!(balance(&ann).await, 0);
    // The retry, same key: charged under the same gateway key, credited once.
    let (status, body) = top_up(&ann, 1_000, "t1").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(top_up(&ann, 1_000, "t1").await.0, 201, "a replay");
    assert_eq!(balance(&ann).await, 1_000);

    // The payout fails after the debit; the retry replays the debit and
    // asks the gateway again under the same key: paid out once.
    assert_code(
        &withdraw(&ann, 400, PIN, "w1").await,
        502,
        "payment_gateway_failed",
    );
    let (status, body) = withdraw(&ann, 400, PIN, "w1").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(balance(&ann).await, 600);

    let keys = gateway.keys.lock().unwrap().clone();
    assert_eq!(keys[0], keys[1], "a retried charge reuses its gateway key");
    let payout_keys: Vec<_> = keys[3..].to_vec();
    assert!(
        payout_keys.windows(2).all(|pair| pair[0] == pair[1]),
        "a retried payout reuses its gateway key: {payout_keys:?}"
    );
    assert_ne!(
        keys[0], payout_keys[0],
        "charges and payouts never share a key"
    );
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn a_red_packet_above_the_configured_cap_is_refused() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.red_packet_total_max_minor = 500;
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    set_pin(&ann).await;
    top_up(&ann, 10_000, "t1").await;
    let send = |total: i64, key: &'static str| {
        let client = ann.client.clone();
        let conversation = conversation.clone();
        async move {
            call(
                &client,
                Method::POST,
                "/api/v1/red-packets",
                Some(json!({
                    "conversation_id": conversation,
                    "total_minor": total,
                    "count": 2,
                    "mode": "lucky",
                    "pin": PIN,
                })),
                Some(key),
            )
            .await
        }
    };
    assert_code(&send(501, "p1").await, 400, "red_packet_total_too_large");
    assert_eq!(balance(&ann).await, 10_000);
    assert_eq!(send(500, "p2").await.0, 201);
    assert_eq!(balance(&ann).await, 9_500);
    assert_ledger_sound(&app);
}
