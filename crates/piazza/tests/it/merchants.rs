//! Merchants: codes built by the server and scanned by buyers, payments
//! into the merchant's settlement account, and refunds — over HTTP, then
//! `ledger-check` over the stored data.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::transfers::wait_for;
use crate::wallet::{
    PIN, assert_code, assert_ledger_sound, balance, call, sandbox, set_pin, top_up,
};

/// A merchant owner and a buyer with a PIN and 100.00 in the wallet.
pub(crate) async fn shop(app: &TestApp) -> (User, User, String) {
    let owner = app.signup("owner").await;
    let buyer = app.signup("buyer").await;
    set_pin(&buyer).await;
    let (status, body) = top_up(&buyer, 10_000, "fund").await;
    assert_eq!(status, 201, "{body}");
    let merchant = create(&owner, json!({ "name": "Noodle Bar", "city": "Shanghai" })).await;
    assert_eq!(merchant.0, 201, "{}", merchant.1);
    let id = merchant.1["merchant_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("mer_"));
    (owner, buyer, id)
}

async fn create(owner: &User, body: Value) -> (u16, Value) {
    call(
        &owner.client,
        Method::POST,
        "/api/v1/merchants",
        Some(body),
        None,
    )
    .await
}

async fn qr(owner: &User, merchant: &str, amount: Option<i64>) -> (u16, Value) {
    let query = match amount {
        Some(amount) => format!("?amount_minor={amount}&format=payload"),
        None => "?format=payload".to_owned(),
    };
    call(
        &owner.client,
        Method::GET,
        &format!("/api/v1/merchants/{merchant}/qr{query}"),
        None,
        None,
    )
    .await
}

pub(crate) async fn payload(owner: &User, merchant: &str, amount: Option<i64>) -> String {
    let answer = qr(owner, merchant, amount).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    answer.1["payload"].as_str().unwrap().to_owned()
}

async fn pay(buyer: &User, payload: &str, amount: Option<i64>, key: &str) -> (u16, Value) {
    let mut body = json!({ "qr_payload": payload, "pin": PIN });
    if let Some(amount) = amount {
        body["amount_minor"] = json!(amount);
    }
    call(
        &buyer.client,
        Method::POST,
        "/api/v1/payments",
        Some(body),
        Some(key),
    )
    .await
}

async fn paid(buyer: &User, payload: &str, amount: Option<i64>, key: &str) -> String {
    let answer = pay(buyer, payload, amount, key).await;
    assert_eq!(answer.0, 201, "{}", answer.1);
    assert_eq!(answer.1["status"], "completed");
    answer.1["payment_id"].as_str().unwrap().to_owned()
}

pub(crate) async fn merchant_balance(owner: &User, merchant: &str) -> i64 {
    let (status, body) = call(
        &owner.client,
        Method::GET,
        &format!("/api/v1/merchants/{merchant}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["balance_minor"].as_i64().unwrap()
}

pub(crate) async fn refund(owner: &User, payment: &str, amount: i64, key: &str) -> (u16, Value) {
    call(
        &owner.client,
        Method::POST,
        &format!("/api/v1/payments/{payment}/refunds"),
        Some(json!({ "amount_minor": amount })),
        Some(key),
    )
    .await
}

#[tokio::test]
async fn the_code_round_trips_and_only_the_owner_sees_the_merchant() {
    let app = sandbox().await;
    let (owner, buyer, merchant) = shop(&app).await;
    let fixed = payload(&owner, &merchant, Some(1_234)).await;
    let parsed = piazza_domain::emvco::parse(&fixed).expect("the server's code parses");
    assert_eq!(parsed.merchant_id, merchant);
    assert_eq!(parsed.name, "Noodle Bar");
    assert_eq!(parsed.city, "Shanghai");
    assert_eq!(parsed.amount_minor, Some(1_234));
    assert!(fixed.starts_with("000201010212"), "{fixed}");
    let open = payload(&owner, &merchant, None).await;
    assert!(open.starts_with("000201010211"), "{open}");
    assert_eq!(
        piazza_domain::emvco::parse(&open).unwrap().amount_minor,
        None
    );

    let (status, seen) = call(
        &owner.client,
        Method::GET,
        &format!("/api/v1/merchants/{merchant}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(
        seen,
        json!({ "merchant_id": merchant, "name": "Noodle Bar", "city": "Shanghai", "balance_minor": 0 })
    );
    // Anyone else: not found, like an id that names nothing.
    let stranger = call(
        &buyer.client,
        Method::GET,
        &format!("/api/v1/merchants/{merchant}"),
        None,
        None,
    )
    .await;
    assert_code(&stranger, 404, "merchant_not_found");
    assert_code(
        &qr(&buyer, &merchant, None).await,
        404,
        "merchant_not_found",
    );
    assert_code(
        &qr(&owner, "mer_999", None).await,
        404,
        "merchant_not_found",
    );

    // Names and cities EMVCo would not carry.
    assert_code(
        &create(&owner, json!({ "name": "x".repeat(26) })).await,
        400,
        "invalid_merchant_name",
    );
    assert_code(
        &create(&owner, json!({ "name": "  " })).await,
        400,
        "invalid_merchant_name",
    );
    assert_code(
        &create(&owner, json!({ "name": "ok", "city": "c".repeat(16) })).await,
        400,
        "invalid_merchant_city",
    );
    assert_code(&qr(&owner, &merchant, Some(0)).await, 400, "invalid_amount");
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn static_and_dynamic_payments_reach_the_settlement_account() {
    let app = sandbox().await;
    let (owner, buyer, merchant) = shop(&app).await;
    let open = payload(&owner, &merchant, None).await;
    let fixed = payload(&owner, &merchant, Some(1_234)).await;

    // A static code needs an amount.
    assert_code(
        &pay(&buyer, &open, None, "s0").await,
        400,
        "amount_required",
    );
    let first = paid(&buyer, &open, Some(500), "s1").await;
    assert!(first.starts_with("pay_"));
    // A dynamic one takes its own, and refuses another.
    assert_code(
        &pay(&buyer, &fixed, Some(1_000), "d0").await,
        400,
        "amount_mismatch",
    );
    paid(&buyer, &fixed, None, "d1").await;
    paid(&buyer, &fixed, Some(1_234), "d2").await;

    assert_eq!(balance(&buyer).await, 10_000 - 500 - 1_234 - 1_234);
    assert_eq!(
        merchant_balance(&owner, &merchant).await,
        500 + 1_234 + 1_234
    );
    // The owner's own wallet is untouched: settlement is its own account.
    assert_eq!(balance(&owner).await, 0);

    let sent = wait_for(&buyer, "payment.sent").await;
    assert_eq!(field(&sent, "payment_id"), first.as_str());
    assert_eq!(field(&sent, "amount_minor"), 500);
    // Paid by scanning the merchant's code: not a collection.
    assert!(sent.fields.get("collected").is_none(), "{sent:?}");
    // The buyer sees whom they paid, though only the owner reads the merchant.
    let shown = buyer
        .client
        .payment(&first)
        .await
        .expect("the buyer's payment");
    assert_eq!(shown.merchant_name, "Noodle Bar");
    let received = wait_for(&owner, "payment.received").await;
    assert_eq!(field(&received, "merchant_id"), merchant.as_str());
    assert_eq!(field(&received, "buyer"), buyer.account_id.as_str());
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn a_tampered_code_is_refused_and_moves_nothing() {
    let app = sandbox().await;
    let (owner, buyer, merchant) = shop(&app).await;
    let fixed = payload(&owner, &merchant, Some(1_234)).await;
    let cheaper = fixed.replace("12.34", "00.01");
    assert_ne!(cheaper, fixed);
    assert_code(&pay(&buyer, &cheaper, None, "t1").await, 400, "invalid_qr");
    let mut bad_crc = fixed.clone();
    let last = bad_crc.pop().unwrap();
    bad_crc.push(if last == '0' { '1' } else { '0' });
    assert_code(&pay(&buyer, &bad_crc, None, "t2").await, 400, "invalid_qr");
    assert_code(
        &pay(&buyer, "hello", Some(1), "t3").await,
        400,
        "invalid_qr",
    );
    // A well-formed code for a merchant that does not exist.
    let ghost = piazza_domain::emvco::build(&piazza_domain::emvco::MerchantQr {
        merchant_id: "mer_999".into(),
        name: "Ghost".into(),
        city: String::new(),
        currency: piazza_domain::money::Currency::CNY,
        amount_minor: Some(100),
    })
    .unwrap();
    assert_code(&pay(&buyer, &ghost, None, "t4").await, 400, "invalid_qr");
    assert_eq!(balance(&buyer).await, 10_000);
    assert_eq!(merchant_balance(&owner, &merchant).await, 0);
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn payments_replay_and_refuse_what_the_wallet_lacks() {
    let app = sandbox().await;
    let (owner, buyer, merchant) = shop(&app).await;
    let open = payload(&owner, &merchant, None).await;
    let first = pay(&buyer, &open, Some(700), "k1").await;
    assert_eq!(first.0, 201, "{}", first.1);
    let replay = pay(&buyer, &open, Some(700), "k1").await;
    assert_eq!(replay, first, "the same key and body replay the answer");
    assert_code(
        &pay(&buyer, &open, Some(701), "k1").await,
        422,
        "idempotency_key_reused",
    );
    assert_eq!(balance(&buyer).await, 9_300);

    assert_code(
        &pay(&buyer, &open, Some(9_301), "k2").await,
        409,
        "insufficient_funds",
    );
    let wrong = call(
        &buyer.client,
        Method::POST,
        "/api/v1/payments",
        Some(json!({ "qr_payload": open, "amount_minor": 1, "pin": "000000" })),
        Some("k3"),
    )
    .await;
    assert_code(&wrong, 403, "wrong_pin");
    let keyless = call(
        &buyer.client,
        Method::POST,
        "/api/v1/payments",
        Some(json!({ "qr_payload": open, "amount_minor": 1, "pin": PIN })),
        None,
    )
    .await;
    assert_code(&keyless, 400, "idempotency_key_required");
    for bad in [json!(0), json!(-5), json!(1.5), json!("10")] {
        let answer = call(
            &buyer.client,
            Method::POST,
            "/api/v1/payments",
            Some(json!({ "qr_payload": open, "amount_minor": bad, "pin": PIN })),
            Some("k4"),
        )
        .await;
        assert_code(&answer, 400, "invalid_amount");
    }
    assert_eq!(balance(&buyer).await, 9_300);
    assert_eq!(merchant_balance(&owner, &merchant).await, 700);
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn refunds_are_partial_or_whole_and_never_exceed_the_payment() {
    let app = sandbox().await;
    let (owner, buyer, merchant) = shop(&app).await;
    let fixed = payload(&owner, &merchant, Some(1_000)).await;
    let payment = paid(&buyer, &fixed, None, "p1").await;
    assert_eq!(balance(&buyer).await, 9_000);

    let part = refund(&owner, &payment, 300, "r1").await;
    assert_eq!(part.0, 201, "{}", part.1);
    assert!(part.1["refund_id"].as_str().unwrap().starts_with("rfd_"));
    assert_eq!(part.1["refunded_minor"], 300);
    assert_eq!(refund(&owner, &payment, 300, "r1").await, part, "replayed");
    assert_eq!(balance(&buyer).await, 9_300);
    assert_eq!(merchant_balance(&owner, &merchant).await, 700);

    assert_code(
        &refund(&owner, &payment, 701, "r2").await,
        409,
        "refund_exceeds_payment",
    );
    let rest = refund(&owner, &payment, 700, "r3").await;
    assert_eq!(rest.0, 201, "{}", rest.1);
    assert_eq!(rest.1["refunded_minor"], 1_000);
    assert_code(
        &refund(&owner, &payment, 1, "r4").await,
        409,
        "refund_exceeds_payment",
    );
    assert_eq!(balance(&buyer).await, 10_000);
    assert_eq!(merchant_balance(&owner, &merchant).await, 0);

    let refunded = wait_for(&buyer, "payment.refunded").await;
    assert_eq!(field(&refunded, "payment_id"), payment.as_str());
    wait_for(&owner, "payment.refunded").await;
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn only_the_merchant_owner_refunds() {
    let app = sandbox().await;
    let (owner, buyer, merchant) = shop(&app).await;
    let open = payload(&owner, &merchant, None).await;
    let payment = paid(&buyer, &open, Some(800), "p1").await;
    // The buyer, or anyone else, cannot refund themselves.
    assert_code(
        &refund(&buyer, &payment, 800, "r1").await,
        404,
        "payment_not_found",
    );
    let eve = app.signup("eve").await;
    assert_code(
        &refund(&eve, &payment, 1, "r1").await,
        404,
        "payment_not_found",
    );
    assert_code(
        &refund(&owner, "pay_999", 1, "r2").await,
        404,
        "payment_not_found",
    );
    assert_code(
        &refund(&owner, "nonsense", 1, "r3").await,
        404,
        "payment_not_found",
    );
    assert_eq!(balance(&buyer).await, 9_200);
    assert_eq!(merchant_balance(&owner, &merchant).await, 800);
    assert_ledger_sound(&app);
}

/// A new payment code of the buyer's, shown with the PIN.
pub(crate) async fn payment_code(buyer: &User) -> String {
    let (status, body) = call(
        &buyer.client,
        Method::POST,
        "/api/v1/wallet/payment-code",
        Some(json!({ "pin": PIN })),
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["expires_at"].is_string(), "{body}");
    let code = body["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 18, "{code}");
    assert!(code.bytes().all(|byte| byte.is_ascii_digit()), "{code}");
    code
}

pub(crate) async fn collect(
    owner: &User,
    merchant: &str,
    code: &str,
    amount: i64,
    key: &str,
) -> (u16, Value) {
    call(
        &owner.client,
        Method::POST,
        &format!("/api/v1/merchants/{merchant}/collect"),
        Some(json!({ "payment_code": code, "amount_minor": amount })),
        Some(key),
    )
    .await
}

#[tokio::test]
async fn a_payment_code_is_collected_once_under_the_limit() {
    let app = sandbox().await;
    let (owner, buyer, merchant) = shop(&app).await;
    let code = payment_code(&buyer).await;
    assert_ne!(code, payment_code(&buyer).await, "every code is fresh");

    // A stranger's merchant id: not found, and the code stays usable.
    let eve = app.signup("eve").await;
    assert_code(
        &collect(&eve, &merchant, &code, 100, "c0").await,
        404,
        "merchant_not_found",
    );

    let done = collect(&owner, &merchant, &code, 1_500, "c1").await;
    assert_eq!(done.0, 201, "{}", done.1);
    assert_eq!(done.1["status"], "completed");
    assert!(done.1["payment_id"].as_str().unwrap().starts_with("pay_"));
    assert_eq!(
        collect(&owner, &merchant, &code, 1_500, "c1").await,
        done,
        "replayed"
    );
    assert_code(
        &collect(&owner, &merchant, &code, 1_500, "c2").await,
        409,
        "payment_code_used",
    );
    assert_code(
        &collect(&owner, &merchant, "123456789012345678", 1, "c3").await,
        404,
        "payment_code_not_found",
    );
    assert_code(
        &collect(&owner, &merchant, "12345", 1, "c4").await,
        400,
        "invalid_payment_code",
    );
    assert_eq!(balance(&buyer).await, 8_500);
    assert_eq!(merchant_balance(&owner, &merchant).await, 1_500);
    wait_for(&buyer, "payment.sent").await;
    wait_for(&owner, "payment.received").await;

    // The collected payment can be refunded like a scanned one.
    let payment = done.1["payment_id"].as_str().unwrap();
    assert_eq!(refund(&owner, payment, 1_500, "r1").await.0, 201);
    assert_eq!(balance(&buyer).await, 10_000);
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn a_collection_above_the_limit_waits_and_moves_nothing() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.collect_without_pin_max_minor = 1_000;
    })
    .await;
    let (owner, buyer, merchant) = shop(&app).await;
    let code = payment_code(&buyer).await;
    let waiting = collect(&owner, &merchant, &code, 1_001, "c1").await;
    assert_eq!(waiting.0, 201, "{}", waiting.1);
    assert_eq!(waiting.1["status"], "needs_confirmation");
    assert_eq!(balance(&buyer).await, 10_000);
    assert_eq!(merchant_balance(&owner, &merchant).await, 0);
    // Nothing was paid, so nothing can be refunded.
    let payment = waiting.1["payment_id"].as_str().unwrap();
    assert_code(
        &refund(&owner, payment, 1, "r1").await,
        409,
        "refund_exceeds_payment",
    );
    // The code is used up either way.
    assert_code(
        &collect(&owner, &merchant, &code, 10, "c2").await,
        409,
        "payment_code_used",
    );
    assert_ledger_sound(&app);
}

#[tokio::test]
async fn the_code_is_drawn_as_png_and_svg() {
    let app = sandbox().await;
    let (owner, buyer, merchant) = shop(&app).await;
    let get = |user: &User, format: &str| {
        let path = format!("/api/v1/merchants/{merchant}/qr?amount_minor=100&format={format}");
        let client = user.client.clone();
        async move {
            client
                .raw_with_headers(Method::GET, &path, None, None, &[])
                .await
                .expect("the server answers")
        }
    };
    let png = get(&owner, "png").await;
    assert_eq!(png.status, 200);
    assert!(png.body.starts_with(b"\x89PNG\r\n\x1a\n"));
    let svg = get(&owner, "svg").await;
    assert_eq!(svg.status, 200);
    assert!(String::from_utf8_lossy(&svg.body).contains("<svg"));
    assert_eq!(get(&buyer, "png").await.status, 404);
    assert_eq!(get(&owner, "gif").await.status, 400);
    assert_ledger_sound(&app);
}
