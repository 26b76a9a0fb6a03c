//! Red packets: posted into a conversation, claimed once per member, the
//! shares always adding up to the total, the rest refunded at expiry —
//! over HTTP, then `ledger-check` over the stored data.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::transfers::wait_for;
use crate::wallet::{
    PIN, assert_code, assert_ledger_sound, balance, call, sandbox, set_pin, top_up,
};

/// `owner` with a PIN and 1000.00, in a group with `others` more members.
async fn group(app: &TestApp, others: usize) -> (User, Vec<User>, String) {
    let owner = app.signup("owner").await;
    let mut members = Vec::new();
    for index in 0..others {
        let member = app.signup(&format!("member{index}")).await;
        befriend(&owner, &member).await;
        members.push(member);
    }
    let ids: Vec<String> = members.iter().map(|m| m.account_id.clone()).collect();
    let conversation = owner
        .client
        .create_group("Party", &ids)
        .await
        .expect("group created");
    set_pin(&owner).await;
    let (status, body) = top_up(&owner, 100_000, "fund").await;
    assert_eq!(status, 201, "{body}");
    (owner, members, conversation)
}

async fn send(
    user: &User,
    conversation: &str,
    total: i64,
    count: u32,
    mode: &str,
    key: &str,
) -> (u16, Value) {
    call(
        &user.client,
        Method::POST,
        "/api/v1/red-packets",
        Some(json!({
            "conversation_id": conversation,
            "total_minor": total,
            "count": count,
            "mode": mode,
            "pin": PIN,
            "greeting": "Happy new year",
        })),
        Some(key),
    )
    .await
}

async fn sent(user: &User, conversation: &str, total: i64, count: u32, mode: &str) -> String {
    let answer = send(
        user,
        conversation,
        total,
        count,
        mode,
        &format!("rp-{total}-{count}"),
    )
    .await;
    assert_eq!(answer.0, 201, "{}", answer.1);
    answer.1["red_packet_id"].as_str().unwrap().to_owned()
}

async fn claim(user: &User, packet: &str) -> (u16, Value) {
    call(
        &user.client,
        Method::POST,
        &format!("/api/v1/red-packets/{packet}/claim"),
        None,
        None,
    )
    .await
}

async fn view(user: &User, packet: &str) -> (u16, Value) {
    call(
        &user.client,
        Method::GET,
        &format!("/api/v1/red-packets/{packet}"),
        None,
        None,
    )
    .await
}

#[tokio::test]
async fn twenty_members_claiming_at_once_share_the_total_exactly() {
    let app = sandbox().await;
    let (owner, members, conversation) = group(&app, 19).await;
    let packet = sent(&owner, &conversation, 10_000, 20, "lucky").await;
    assert_eq!(balance(&owner).await, 90_000);

    let mut claimers = tokio::task::JoinSet::new();
    for user in members.iter().cloned().chain([owner.clone()]) {
        let packet = packet.clone();
        claimers.spawn(async move {
            let answer = claim(&user, &packet).await;
            assert_eq!(answer.0, 200, "{}", answer.1);
            (user, answer.1["amount_minor"].as_i64().unwrap())
        });
    }
    let mut total = 0;
    let mut shares = Vec::new();
    while let Some(done) = claimers.join_next().await {
        let (user, share) = done.expect("claimer");
        assert!(share >= 1, "no one gets zero");
        total += share;
        shares.push((user, share));
    }
    assert_eq!(total, 10_000, "the shares add up to the total");
    for (user, share) in &shares {
        // A second claim answers the same share and pays nothing more.
        assert_eq!(
            claim(user, &packet).await,
            (200, json!({ "amount_minor": share }))
        );
        if user.account_id != owner.account_id {
            assert_eq!(balance(user).await, *share);
        }
    }
    let (status, seen) = view(&members[0], &packet).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["claims"].as_array().unwrap().len(), 20);
    assert_eq!(seen["status"], "empty");
    assert_eq!(seen["remaining_shares"], 0);
    assert_ledger_sound(&app);
    app.shut_down().await;
}

#[tokio::test]
async fn an_equal_packet_runs_out_and_strangers_see_nothing() {
    let app = sandbox().await;
    let (owner, members, conversation) = group(&app, 2).await;
    let stranger = app.signup("stranger").await;
    let packet = sent(&owner, &conversation, 600, 2, "equal").await;

    let page = members[0]
        .client
        .history(&conversation, None, None)
        .await
        .expect("history");
    assert_eq!(page.messages[0].kind, "red_packet");
    assert_eq!(page.messages[0].ref_.as_deref(), Some(packet.as_str()));
    assert_eq!(page.messages[0].text, "Red packet: Happy new year");

    assert_code(
        &claim(&stranger, &packet).await,
        404,
        "red_packet_not_found",
    );
    assert_code(&view(&stranger, &packet).await, 404, "red_packet_not_found");
    assert_code(
        &claim(&stranger, "rpk_99999").await,
        404,
        "red_packet_not_found",
    );
    assert_eq!(
        claim(&members[0], &packet).await,
        (200, json!({ "amount_minor": 300 }))
    );
    assert_eq!(
        claim(&members[1], &packet).await,
        (200, json!({ "amount_minor": 300 }))
    );
    assert_code(&claim(&owner, &packet).await, 409, "red_packet_empty");
    assert_eq!(balance(&owner).await, 99_400);

    // Bad splits and outsiders move nothing.
    assert_code(
        &send(&owner, &conversation, 601, 2, "equal", "b1").await,
        400,
        "red_packet_total_not_multiple",
    );
    assert_code(
        &send(&owner, &conversation, 5, 10, "lucky", "b2").await,
        400,
        "red_packet_total_below_count",
    );
    assert_code(
        &send(&owner, &conversation, 100, 101, "lucky", "b3").await,
        400,
        "invalid_red_packet_count",
    );
    assert_code(
        &send(&owner, &conversation, 100, 2, "greedy", "b4").await,
        400,
        "invalid_red_packet_mode",
    );
    set_pin(&stranger).await;
    assert_code(
        &send(&stranger, &conversation, 100, 2, "lucky", "b5").await,
        403,
        "not_a_member",
    );
    assert_code(
        &send(&owner, &conversation, 20_001, 2, "lucky", "b6").await,
        400,
        "red_packet_total_too_large",
    );
    // A replay sends nothing twice.
    let first = send(&owner, &conversation, 200, 2, "lucky", "again").await;
    assert_eq!(first.0, 201, "{}", first.1);
    assert_eq!(
        send(&owner, &conversation, 200, 2, "lucky", "again").await,
        first
    );
    assert_eq!(balance(&owner).await, 99_200);
    assert_ledger_sound(&app);
    app.shut_down().await;
}

#[tokio::test]
async fn the_unclaimed_rest_goes_back_at_expiry() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.red_packet_expiry_s = 1;
    })
    .await;
    let (owner, members, conversation) = group(&app, 2).await;
    let packet = sent(&owner, &conversation, 900, 3, "equal").await;
    assert_eq!(
        claim(&members[0], &packet).await,
        (200, json!({ "amount_minor": 300 }))
    );
    let refunded = wait_for(&owner, "red_packet.refunded").await;
    assert_eq!(refunded.fields["red_packet_id"], packet.as_str());
    assert_eq!(refunded.fields["amount_minor"], 600);
    assert_eq!(balance(&owner).await, 99_700);
    assert_code(
        &claim(&members[1], &packet).await,
        410,
        "red_packet_expired",
    );
    // The one who claimed in time keeps the share, and sees it again.
    assert_eq!(
        claim(&members[0], &packet).await,
        (200, json!({ "amount_minor": 300 }))
    );
    assert_eq!(view(&owner, &packet).await.1["status"], "expired");
    assert_ledger_sound(&app);
    app.shut_down().await;
}

/// A claim may run on a session the server remembered from an earlier
/// request (`session_cache`, on PostgreSQL): it is checked again inside
/// the claim's transaction, so a device signed out claims nothing, at
/// once, and its token is then refused everywhere.
#[tokio::test]
async fn a_signed_out_device_claims_nothing_though_its_session_was_remembered() {
    let app = sandbox().await;
    let (owner, members, conversation) = group(&app, 1).await;
    let member = &members[0];
    let phone = app.login(&member.username, "phone").await;
    let first = sent(&owner, &conversation, 600, 2, "equal").await;
    assert_eq!(claim(&phone, &first).await.0, 200, "remembered from here");
    let second = sent(&owner, &conversation, 800, 2, "equal").await;
    member
        .client
        .revoke_device(&phone.device_id)
        .await
        .expect("the phone signed out");
    assert_code(&claim(&phone, &second).await, 401, "unauthorized");
    assert_code(&claim(&phone, &second).await, 401, "unauthorized");
    assert_code(&view(&phone, &second).await, 401, "unauthorized");
    // Nothing was drawn for it: the member's other device gets a share.
    assert_eq!(
        claim(member, &second).await,
        (200, json!({ "amount_minor": 400 }))
    );
    assert_eq!(balance(member).await, 300 + 400);
    assert_ledger_sound(&app);
    app.shut_down().await;
}
