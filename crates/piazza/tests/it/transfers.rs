//! Chat transfers: money sent to a contact waits in flight until the
//! recipient accepts or declines it, or it expires back to the sender —
//! over HTTP, then `ledger-check` over the stored data.

use piazza_api::EventView;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::wallet::{
    PIN, assert_code, assert_ledger_sound, balance, call, sandbox, set_pin, top_up,
};

/// Two contacts, the first with a PIN and 100.00 in the wallet.
pub(crate) async fn pair(app: &TestApp) -> (User, User, String) {
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    set_pin(&ann).await;
    let (status, body) = top_up(&ann, 10_000, "fund").await;
    assert_eq!(status, 201, "{body}");
    (ann, bob, conversation)
}

async fn send(from: &User, to: &User, amount: i64, pin: &str, key: &str) -> (u16, Value) {
    call(
        &from.client,
        Method::POST,
        "/api/v1/transfers",
        Some(json!({ "to": to.account_id, "amount_minor": amount, "pin": pin, "note": "lunch" })),
        Some(key),
    )
    .await
}

async fn sent(from: &User, to: &User, amount: i64, key: &str) -> String {
    let answer = send(from, to, amount, PIN, key).await;
    assert_eq!(answer.0, 201, "{}", answer.1);
    assert_eq!(answer.1["status"], "pending");
    answer.1["transfer_id"].as_str().unwrap().to_owned()
}

async fn decide(user: &User, transfer: &str, decision: &str) -> (u16, Value) {
    call(
        &user.client,
        Method::POST,
        &format!("/api/v1/transfers/{transfer}/{decision}"),
        None,
        None,
    )
    .await
}

async fn view(user: &User, transfer: &str) -> (u16, Value) {
    call(
        &user.client,
        Method::GET,
        &format!("/api/v1/transfers/{transfer}"),
        None,
        None,
    )
    .await
}

/// Long-polls `user`'s log until an event of `type_` arrives.
pub(crate) async fn wait_for(user: &User, type_: &str) -> EventView {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut since: Option<String> = None;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {type_} event arrived"
        );
        let page = user
            .client
            .sync(since.as_deref(), None, Some(2_000))
            .await
            .expect("sync");
        if let Some(event) = page.events.into_iter().find(|event| event.type_ == type_) {
            return event;
        }
        since = Some(page.cursor);
    }
}

async fn log_types(user: &User) -> Vec<String> {
    let (events, _) = sync_all(&user.client, None, 500).await;
    events.into_iter().map(|event| event.type_).collect()
}

#[tokio::test]
async fn send_holds_the_money_and_accept_delivers_it() {
    let app = sandbox().await;
    let (ann, bob, _) = pair(&app).await;
    let transfer = sent(&ann, &bob, 1_234, "x1").await;
    assert!(transfer.starts_with("trf_"));
    assert_eq!(balance(&ann).await, 8_766, "the money leaves at once");
    assert_eq!(balance(&bob).await, 0, "and waits in flight");

    let (status, seen) = view(&bob, &transfer).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["status"], "pending");
    assert_eq!(seen["amount_minor"], 1_234);
    assert_eq!(seen["from"], ann.account_id.as_str());
    assert_eq!(seen["to"], bob.account_id.as_str());
    assert_eq!(seen["note"], "lunch");

    let accepted = decide(&bob, &transfer, "accept").await;
    assert_eq!(accepted.0, 200, "{}", accepted.1);
    assert_eq!(accepted.1["status"], "accepted");
    assert_eq!(balance(&bob).await, 1_234);
    assert_eq!(balance(&ann).await, 8_766);

    // Accepting again answers the same and moves nothing.
    let again = decide(&bob, &transfer, "accept").await;
    assert_eq!(again, (200, json!({ "status": "accepted" })));
    assert_eq!(balance(&bob).await, 1_234);
    assert_eq!(view(&ann, &transfer).await.1["status"], "accepted");

    let bobs = log_types(&bob).await;
    assert!(bobs.contains(&"transfer.received".to_owned()), "{bobs:?}");
    assert!(bobs.contains(&"transfer.accepted".to_owned()), "{bobs:?}");
    let anns = log_types(&ann).await;
    assert!(anns.contains(&"transfer.sent".to_owned()), "{anns:?}");
    assert!(anns.contains(&"transfer.accepted".to_owned()), "{anns:?}");
    assert_ledger_sound(&app);
    app.shut_down().await;
}

#[tokio::test]
async fn decline_returns_the_money_and_then_accept_is_refused() {
    let app = sandbox().await;
    let (ann, bob, _) = pair(&app).await;
    let transfer = sent(&ann, &bob, 3_000, "x1").await;
    assert_eq!(balance(&ann).await, 7_000);
    let declined = decide(&bob, &transfer, "decline").await;
    assert_eq!(declined, (200, json!({ "status": "declined" })));
    assert_eq!(balance(&ann).await, 10_000);
    assert_eq!(balance(&bob).await, 0);
    assert_code(
        &decide(&bob, &transfer, "accept").await,
        409,
        "transfer_not_pending",
    );
    assert_eq!(
        decide(&bob, &transfer, "decline").await,
        (200, json!({ "status": "declined" }))
    );
    assert_eq!(balance(&ann).await, 10_000);
    assert!(
        log_types(&ann)
            .await
            .contains(&"transfer.declined".to_owned())
    );
    assert!(
        log_types(&bob)
            .await
            .contains(&"transfer.declined".to_owned())
    );
    assert_ledger_sound(&app);
    app.shut_down().await;
}

#[tokio::test]
async fn only_the_recipient_decides_and_only_the_two_see_it() {
    let app = sandbox().await;
    let (ann, bob, _) = pair(&app).await;
    let eve = app.signup("eve").await;
    befriend(&eve, &ann).await;
    let transfer = sent(&ann, &bob, 500, "x1").await;
    for user in [&ann, &eve] {
        for decision in ["accept", "decline"] {
            assert_code(
                &decide(user, &transfer, decision).await,
                404,
                "transfer_not_found",
            );
        }
    }
    assert_code(&view(&eve, &transfer).await, 404, "transfer_not_found");
    for bogus in ["trf_999999", "nonsense"] {
        assert_code(
            &decide(&bob, bogus, "accept").await,
            404,
            "transfer_not_found",
        );
        assert_code(&view(&bob, bogus).await, 404, "transfer_not_found");
    }
    assert_eq!(view(&ann, &transfer).await.1["status"], "pending");
    assert_eq!(balance(&ann).await, 9_500);
    assert_ledger_sound(&app);
    app.shut_down().await;
}

#[tokio::test]
async fn a_replayed_send_moves_the_money_once() {
    let app = sandbox().await;
    let (ann, bob, conversation) = pair(&app).await;
    let first = send(&ann, &bob, 700, PIN, "same").await;
    assert_eq!(first.0, 201, "{}", first.1);
    let replay = send(&ann, &bob, 700, PIN, "same").await;
    assert_eq!(replay, first);
    assert_eq!(balance(&ann).await, 9_300);
    assert_code(
        &send(&ann, &bob, 800, PIN, "same").await,
        422,
        "idempotency_key_reused",
    );
    let missing = call(
        &ann.client,
        Method::POST,
        "/api/v1/transfers",
        Some(json!({ "to": bob.account_id, "amount_minor": 1, "pin": PIN })),
        None,
    )
    .await;
    assert_code(&missing, 400, "idempotency_key_required");
    assert_eq!(message_count(&bob, &conversation).await, 1);
    assert_eq!(balance(&ann).await, 9_300);
    // Replayed after the recipient accepted: still the first answer.
    let transfer = first.1["transfer_id"].as_str().unwrap();
    assert_eq!(decide(&bob, transfer, "accept").await.0, 200);
    assert_eq!(send(&ann, &bob, 700, PIN, "same").await, first);
    assert_eq!(balance(&ann).await, 9_300);
    assert_eq!(balance(&bob).await, 700);
    assert_ledger_sound(&app);
    app.shut_down().await;
}

#[tokio::test]
async fn refused_sends_move_nothing() {
    let app = sandbox().await;
    let (ann, bob, conversation) = pair(&app).await;
    let stranger = app.signup("stranger").await;
    assert_code(
        &send(&ann, &stranger, 100, PIN, "k1").await,
        403,
        "not_a_contact",
    );
    let unknown = call(
        &ann.client,
        Method::POST,
        "/api/v1/transfers",
        Some(json!({ "to": "acc_999999", "amount_minor": 100, "pin": PIN })),
        Some("k2"),
    )
    .await;
    assert_code(&unknown, 403, "not_a_contact");
    assert_code(
        &send(&ann, &ann, 100, PIN, "k3").await,
        403,
        "not_a_contact",
    );
    assert_code(
        &send(&ann, &bob, 10_001, PIN, "k4").await,
        409,
        "insufficient_funds",
    );
    assert_code(
        &send(&ann, &bob, 100, "000000", "k5").await,
        403,
        "wrong_pin",
    );
    assert_code(&send(&ann, &bob, 0, PIN, "k6").await, 400, "invalid_amount");
    assert_code(&send(&bob, &ann, 100, PIN, "k7").await, 403, "pin_not_set");
    assert_eq!(balance(&ann).await, 10_000);
    assert_eq!(balance(&bob).await, 0);
    assert_eq!(message_count(&ann, &conversation).await, 0);
    // A refused key is not spent: the same key, now affordable, goes through.
    sent(&ann, &bob, 100, "k4b").await;
    assert_eq!(balance(&ann).await, 9_900);
    assert_ledger_sound(&app);
    app.shut_down().await;
}

#[tokio::test]
async fn the_transfer_is_a_message_in_the_direct_conversation() {
    let app = sandbox().await;
    let (ann, bob, conversation) = pair(&app).await;
    ann.client
        .send_message(&conversation, "trf_1", "hi") // the id the transfer gets
        .await
        .expect("sent");
    let transfer = sent(&ann, &bob, 1_234, "x1").await;
    let page = bob
        .client
        .history(&conversation, None, None)
        .await
        .expect("history");
    let newest = &page.messages[0];
    assert_eq!(newest.kind, "transfer");
    assert_eq!(newest.ref_.as_deref(), Some(transfer.as_str()));
    assert_eq!(newest.text, "Transfer of 12.34 CNY");
    assert_eq!(newest.sender, ann.account_id);
    assert_eq!(page.messages[1].kind, "text");
    assert_eq!(page.messages[1].ref_, None);

    let (events, _) = sync_all(&bob.client, None, 500).await;
    let messages: Vec<&EventView> = events
        .iter()
        .filter(|event| event.type_ == "message.new")
        .collect();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].fields["kind"], "text");
    assert!(!messages[0].fields.contains_key("ref"));
    assert_eq!(messages[1].fields["kind"], "transfer");
    assert_eq!(messages[1].fields["ref"], transfer.as_str());
    assert_ledger_sound(&app);
    app.shut_down().await;
}

#[tokio::test]
async fn an_unaccepted_transfer_returns_to_the_sender() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.transfer_expiry_s = 1;
    })
    .await;
    let (ann, bob, _) = pair(&app).await;
    let transfer = sent(&ann, &bob, 2_000, "x1").await;
    assert_eq!(balance(&ann).await, 8_000);
    let returned = wait_for(&ann, "transfer.returned").await;
    assert_eq!(returned.fields["transfer_id"], transfer.as_str());
    assert_eq!(returned.fields["status"], "returned");
    wait_for(&bob, "transfer.returned").await;
    assert_eq!(balance(&ann).await, 10_000);
    assert_eq!(balance(&bob).await, 0);
    assert_eq!(view(&bob, &transfer).await.1["status"], "returned");
    assert_code(
        &decide(&bob, &transfer, "accept").await,
        409,
        "transfer_not_pending",
    );
    assert_ledger_sound(&app);
    app.shut_down().await;
}

#[tokio::test]
async fn an_expired_transfer_cannot_be_accepted_even_before_it_is_swept() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.transfer_expiry_s = 0;
    })
    .await;
    let (ann, bob, _) = pair(&app).await;
    let transfer = sent(&ann, &bob, 2_000, "x0").await;
    // Expired the moment it was sent: whether or not the sweeper has run,
    // the recipient cannot take it.
    assert_code(
        &decide(&bob, &transfer, "accept").await,
        409,
        "transfer_not_pending",
    );
    wait_for(&ann, "transfer.returned").await;
    assert_eq!(balance(&ann).await, 10_000);
    assert_eq!(balance(&bob).await, 0);
    assert_ledger_sound(&app);
    app.shut_down().await;
}
