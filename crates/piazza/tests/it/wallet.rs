//! Piazza Pay's first slice: the wallet, top-ups through the sandbox
//! gateway, withdrawals behind the payment PIN, the statement, and
//! idempotency keys — checked over HTTP and then by `ledger-check` over
//! the stored data.

use piazza_client::{Client, RawResponse};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

pub(crate) const PIN: &str = "246810";

pub(crate) async fn sandbox() -> TestApp {
    spawn_app_with(|config| config.sandbox_payments = true).await
}

pub(crate) async fn call(
    client: &Client,
    method: Method,
    path: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = key
        .map(|key| ("Idempotency-Key", key))
        .into_iter()
        .collect();
    let body = body.map(|body| body.to_string().into_bytes());
    let content_type = body.as_ref().map(|_| "application/json");
    let RawResponse { status, body, .. } = client
        .raw_with_headers(method, path, body, content_type, &headers)
        .await
        .expect("the server answers");
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).expect("a JSON answer")
    };
    (status, body)
}

pub(crate) async fn balance(user: &User) -> i64 {
    let (status, body) = call(&user.client, Method::GET, "/api/v1/wallet", None, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["currency"], "CNY");
    body["balance_minor"].as_i64().expect("an integer balance")
}

pub(crate) async fn top_up(user: &User, amount: i64, key: &str) -> (u16, Value) {
    call(
        &user.client,
        Method::POST,
        "/api/v1/wallet/topups",
        Some(json!({ "amount_minor": amount })),
        Some(key),
    )
    .await
}

pub(crate) async fn withdraw(user: &User, amount: i64, pin: &str, key: &str) -> (u16, Value) {
    call(
        &user.client,
        Method::POST,
        "/api/v1/wallet/withdrawals",
        Some(json!({ "amount_minor": amount, "pin": pin })),
        Some(key),
    )
    .await
}

pub(crate) async fn set_pin(user: &User) {
    let (status, body) = call(
        &user.client,
        Method::PUT,
        "/api/v1/wallet/pin",
        Some(json!({ "pin": PIN, "password": PASSWORD })),
        None,
    )
    .await;
    assert_eq!(status, 204, "{body}");
}

pub(crate) fn assert_code(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
}

/// The ledger re-verified from its postings, on the engine the server ran.
pub(crate) fn assert_ledger_sound(app: &TestApp) {
    let report = match crate::helpers::process_database(app.data_dir()) {
        // The blocking client, on a thread of its own: this runs inside
        // the test's runtime.
        Some(url) => std::thread::spawn(move || piazza_postgres::integrity::check_ledger(&url))
            .join()
            .expect("the check ran")
            .expect("ledger readable"),
        None => piazza_sqlite::integrity::check_ledger_data_dir(app.data_dir())
            .expect("ledger readable"),
    };
    assert!(report.is_sound(), "{:?}", report.problems);
    assert!(report.postings > 0);
}

#[tokio::test]
async fn top_up_credits_the_wallet_and_shows_in_statement_and_log() {
    let app = sandbox().await;
    let ann = app.signup("ann").await;
    assert_eq!(balance(&ann).await, 0);

    let first = top_up(&ann, 10_000, "t1").await;
    assert_eq!(first.0, 201, "{}", first.1);
    assert_eq!(first.1["balance_minor"], 10_000);
    assert!(first.1["topup_id"].as_str().unwrap().starts_with("txn_"));
    let second = top_up(&ann, 2_500, "t2").await;
    assert_eq!(second.1["balance_minor"], 12_500);
    assert_eq!(balance(&ann).await, 12_500);

    let (status, statement) = call(
        &ann.client,
        Method::GET,
        "/api/v1/wallet/statement",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let entries = statement["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["amount_minor"], 2_500, "newest first");
    assert_eq!(entries[0]["balance_after_minor"], 12_500);
    assert_eq!(entries[0]["kind"], "topup");
    assert_eq!(entries[0]["ref"], second.1["topup_id"]);
    assert_eq!(entries[1]["amount_minor"], 10_000);
    assert_eq!(entries[1]["balance_after_minor"], 10_000);
    assert!(entries[0]["at"].is_string() && entries[0]["entry_id"].is_string());
    // A top-up's reference is the gateway's, not shown as what it is about.
    assert!(entries[0].get("about").is_none(), "{}", entries[0]);
    assert!(statement["cursor"].is_null());

    // Paged one at a time, the same lines in the same order.
    let (_, page) = call(
        &ann.client,
        Method::GET,
        "/api/v1/wallet/statement?limit=1",
        None,
        None,
    )
    .await;
    assert_eq!(page["entries"][0], entries[0]);
    let cursor = page["cursor"].as_str().expect("a next page").to_owned();
    let (_, page) = call(
        &ann.client,
        Method::GET,
        &format!("/api/v1/wallet/statement?limit=1&cursor={cursor}"),
        None,
        None,
    )
    .await;
    assert_eq!(page["entries"][0], entries[1]);
    assert!(page["cursor"].is_null());

    let log = ann.client.sync(None, None, None).await.unwrap();
    let credited: Vec<_> = log
        .events
        .iter()
        .filter(|event| event.type_ == "wallet.credited")
        .collect();
    assert_eq!(credited.len(), 2);
    assert_eq!(credited[1].fields["balance_minor"], 12_500);
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn withdrawal_needs_the_pin_and_five_wrong_ones_lock_it() {
    let app = sandbox().await;
    let ann = app.signup("ann").await;
    top_up(&ann, 5_000, "t1").await;

    assert_code(&withdraw(&ann, 100, PIN, "w0").await, 403, "pin_not_set");
    // The password proves ownership; a wrong one sets nothing.
    let wrong_password = call(
        &ann.client,
        Method::PUT,
        "/api/v1/wallet/pin",
        Some(json!({ "pin": PIN, "password": "not the password" })),
        None,
    )
    .await;
    assert_code(&wrong_password, 403, "wrong_password");
    for bad in ["12345", "1234567", "12a456", ""] {
        let answer = call(
            &ann.client,
            Method::PUT,
            "/api/v1/wallet/pin",
            Some(json!({ "pin": bad, "password": PASSWORD })),
            None,
        )
        .await;
        assert_code(&answer, 400, "invalid_pin");
    }
    set_pin(&ann).await;

    let done = withdraw(&ann, 1_000, PIN, "w1").await;
    assert_eq!(done.0, 201, "{}", done.1);
    assert_eq!(done.1["balance_minor"], 4_000);
    assert!(
        done.1["withdrawal_id"]
            .as_str()
            .unwrap()
            .starts_with("txn_")
    );

    for attempt in 0..5 {
        assert_code(
            &withdraw(&ann, 100, "000000", &format!("bad{attempt}")).await,
            403,
            "wrong_pin",
        );
    }
    // Locked now, even with the right PIN.
    assert_code(&withdraw(&ann, 100, PIN, "w2").await, 423, "pin_locked");
    assert_eq!(balance(&ann).await, 4_000, "nothing moved while refused");

    let log = ann.client.sync(None, None, None).await.unwrap();
    assert!(
        log.events
            .iter()
            .any(|event| event.type_ == "wallet.debited" && event.fields["amount_minor"] == 1_000)
    );
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn idempotency_keys_replay_and_refuse_reuse() {
    let app = sandbox().await;
    let ann = app.signup("ann").await;

    let missing = call(
        &ann.client,
        Method::POST,
        "/api/v1/wallet/topups",
        Some(json!({ "amount_minor": 100 })),
        None,
    )
    .await;
    assert_code(&missing, 400, "idempotency_key_required");
    let too_long = top_up(&ann, 100, &"k".repeat(256)).await;
    assert_code(&too_long, 400, "invalid_idempotency_key");
    assert_eq!(top_up(&ann, 100, &"k".repeat(255)).await.0, 201);

    let first = top_up(&ann, 700, "same").await;
    let again = top_up(&ann, 700, "same").await;
    assert_eq!(first, again, "the same status and body");
    assert_eq!(balance(&ann).await, 800, "the money moved once");
    assert_code(
        &top_up(&ann, 701, "same").await,
        422,
        "idempotency_key_reused",
    );

    // Keys are per account: Bob's "same" is his own.
    let bob = app.signup("bob").await;
    assert_eq!(top_up(&bob, 5, "same").await.0, 201);
    assert_eq!(balance(&bob).await, 5);

    // Withdrawals too.
    set_pin(&ann).await;
    let out = withdraw(&ann, 300, PIN, "out").await;
    assert_eq!(out.0, 201);
    assert_eq!(withdraw(&ann, 300, PIN, "out").await, out);
    assert_code(
        &withdraw(&ann, 200, PIN, "out").await,
        422,
        "idempotency_key_reused",
    );
    assert_eq!(balance(&ann).await, 500);
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn bad_amounts_are_refused_and_move_nothing() {
    let app = sandbox().await;
    let ann = app.signup("ann").await;
    top_up(&ann, 1_000, "t").await;
    set_pin(&ann).await;
    let bad: [Value; 7] = [
        json!(0),
        json!(-1),
        json!(1.5),
        json!("10"),
        json!(null),
        json!(1_000_000_000_000_001_i64),
        json!(1e30),
    ];
    for (index, amount) in bad.into_iter().enumerate() {
        let topup = call(
            &ann.client,
            Method::POST,
            "/api/v1/wallet/topups",
            Some(json!({ "amount_minor": amount })),
            Some(&format!("bt{index}")),
        )
        .await;
        assert_code(&topup, 400, "invalid_amount");
        let withdrawal = call(
            &ann.client,
            Method::POST,
            "/api/v1/wallet/withdrawals",
            Some(json!({ "amount_minor": amount, "pin": PIN })),
            Some(&format!("bw{index}")),
        )
        .await;
        assert_code(&withdrawal, 400, "invalid_amount");
    }
    let huge = call(
        &ann.client,
        Method::POST,
        "/api/v1/wallet/topups",
        Some(json!({ "amount_minor": u64::MAX })),
        Some("huge"),
    )
    .await;
    assert_code(&huge, 400, "invalid_amount");
    assert_eq!(balance(&ann).await, 1_000);

    assert_code(
        &withdraw(&ann, 1_001, PIN, "over").await,
        409,
        "insufficient_funds",
    );
    assert_eq!(balance(&ann).await, 1_000);
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn without_a_gateway_money_cannot_move() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    assert_code(&top_up(&ann, 100, "t").await, 503, "no_payment_gateway");
    set_pin(&ann).await;
    assert_code(
        &withdraw(&ann, 100, PIN, "w").await,
        503,
        "no_payment_gateway",
    );
    assert_eq!(balance(&ann).await, 0);
}

#[tokio::test]
async fn racing_withdrawals_for_the_last_balance_pay_out_once() {
    let app = sandbox().await;
    let ann = app.signup("ann").await;
    top_up(&ann, 1_000, "t").await;
    set_pin(&ann).await;
    for round in 0..5 {
        let (key_a, key_b) = (format!("a{round}"), format!("b{round}"));
        let (a, b) = tokio::join!(
            withdraw(&ann, 1_000, PIN, &key_a),
            withdraw(&ann, 1_000, PIN, &key_b),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{a:?} {b:?}");
        assert_eq!(balance(&ann).await, 0);
        top_up(&ann, 1_000, &format!("t{round}")).await;
    }
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn a_wallet_is_its_owners_alone() {
    let app = sandbox().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    top_up(&ann, 4_200, "t").await;
    assert_eq!(balance(&bob).await, 0);
    let (_, statement) = call(
        &bob.client,
        Method::GET,
        "/api/v1/wallet/statement",
        None,
        None,
    )
    .await;
    assert_eq!(statement["entries"], json!([]));
    let log = bob.client.sync(None, None, None).await.unwrap();
    assert!(
        !log.events
            .iter()
            .any(|event| event.type_.starts_with("wallet."))
    );
    // Without a session there is no wallet at all.
    let (status, _) = call(&app.anonymous(), Method::GET, "/api/v1/wallet", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(balance(&ann).await, 4_200);
}

/// Enough top-ups of the largest amount overflowed the gateway's ledger
/// account, and from then on every top-up of every account answered 503.
/// Now a top-up that would take a wallet past what it may hold is refused
/// with a 4xx before anything is charged, and other wallets keep working.
#[tokio::test]
async fn top_ups_past_what_a_wallet_may_hold_are_refused_not_503() {
    // The old overflow took ~9,200 top-ups: no rate limit in the way.
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.requests_per_account_per_s = 1_000_000;
        config.limits.requests_per_account_burst = 1_000_000;
    })
    .await;
    let ann = app.signup("ann").await;
    let max = piazza_domain::money::AMOUNT_MINOR_MAX;
    let mut refused = None;
    for attempt in 0..10_000 {
        let answer = top_up(&ann, max, &format!("big{attempt}")).await;
        if answer.0 != 201 {
            refused = Some(answer);
            break;
        }
    }
    let refused = refused.expect("some top-up is refused");
    assert_code(&refused, 409, "wallet_balance_limit");
    // Refused, and still refused on a retry: a 4xx, not a stuck 503.
    let again = top_up(&ann, max, "one-more").await;
    assert_code(&again, 409, "wallet_balance_limit");
    let bob = app.signup("bob").await;
    assert_eq!(top_up(&bob, 100, "small").await.0, 201);
    assert_eq!(balance(&bob).await, 100);
    assert_ledger_sound(&app);
}

/// The cap counts what the wallet holds: up to it top-ups go through, past
/// it they are refused before the gateway charges, and a retry of one that
/// went through still replays its answer (the check is for new keys only).
#[tokio::test]
async fn the_wallet_cap_counts_the_balance_and_spares_replays() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.wallet_balance_max_minor = 10_000;
    })
    .await;
    let ann = app.signup("ann").await;
    let first = top_up(&ann, 6_000, "first").await;
    assert_eq!(first.0, 201, "{}", first.1);
    assert_code(
        &top_up(&ann, 4_001, "over").await,
        409,
        "wallet_balance_limit",
    );
    assert_eq!(top_up(&ann, 4_000, "to-the-cap").await.0, 201);
    assert_eq!(top_up(&ann, 6_000, "first").await, first, "replayed");
    assert_eq!(balance(&ann).await, 10_000);
    // Spending makes room again.
    set_pin(&ann).await;
    assert_eq!(withdraw(&ann, 500, PIN, "out").await.0, 201);
    assert_eq!(top_up(&ann, 500, "refill").await.0, 201);
    assert_eq!(balance(&ann).await, 10_000);
    assert_ledger_sound(&app);
}
