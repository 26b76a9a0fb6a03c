//! Blocking: between two accounts, either way, no contact request and no
//! direct message (403 `blocked`, nothing stored), no presence and no
//! typing; group messages still flow; unblocking restores it all.

use std::time::Duration;

use piazza_api::ClientFrame;
use piazza_client::Incoming;
use reqwest::Method;

use crate::helpers::*;

#[tokio::test]
async fn a_block_stops_direct_messages_either_way_but_not_groups() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Plans", &["ann", "bob", "cat"]).await;
    let (ann, bob) = (&users[0], &users[1]);
    let direct = ann.client.open_direct(&bob.account_id).await.unwrap();
    ann.client.send_message(&direct, "a-1", "hi").await.unwrap();

    bob.client.block(&ann.account_id).await.expect("blocked");
    bob.client
        .block(&ann.account_id)
        .await
        .expect("again: no change");
    let listed = bob.client.blocks().await.unwrap().blocks;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].account_id.as_str(), listed[0].username.as_str()),
        (ann.account_id.as_str(), "ann")
    );
    for (from, id) in [(ann, "a-2"), (bob, "b-1")] {
        let refused = from.client.send_message(&direct, id, "still there?").await;
        assert_problem(&refused.unwrap_err(), 403, "blocked");
    }
    assert_eq!(message_count(bob, &direct).await, 1, "nothing stored");
    ann.client
        .send_message(&group, "a-3", "group still works")
        .await
        .expect("groups flow");
    bob.client
        .send_message(&group, "b-2", "yes")
        .await
        .expect("groups flow");

    bob.client.unblock(&ann.account_id).await.unwrap();
    bob.client
        .unblock(&ann.account_id)
        .await
        .expect("again: no change");
    assert!(bob.client.blocks().await.unwrap().blocks.is_empty());
    ann.client
        .send_message(&direct, "a-4", "back")
        .await
        .expect("unblocked");
}

#[tokio::test]
async fn a_block_stops_requests_presence_and_typing() {
    let app = spawn_app().await;
    let eve = app.signup("eve").await;
    let dan = app.signup("dan").await;
    dan.client.request_contact("eve", Some("hi")).await.unwrap();
    eve.client
        .block(&dan.account_id)
        .await
        .expect("a requester is known");
    let again = dan.client.request_contact("eve", Some("hello?")).await;
    assert_problem(&again.unwrap_err(), 403, "blocked");
    let back = eve.client.request_contact("dan", None).await;
    assert_problem(&back.unwrap_err(), 403, "blocked");

    // Only known accounts, never oneself.
    let stranger = app.signup("fay").await;
    let unknown = eve.client.block(&stranger.account_id).await;
    assert_problem(&unknown.unwrap_err(), 404, "account_not_found");
    for id in ["acct_999999", "nonsense"] {
        assert_problem(
            &eve.client.block(id).await.unwrap_err(),
            404,
            "account_not_found",
        );
    }
    assert_problem(
        &eve.client.block(&eve.account_id).await.unwrap_err(),
        400,
        "self_target",
    );

    // Contacts who block each other see no presence and no typing.
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let direct = befriend(&ann, &bob).await;
    bob.client.block(&ann.account_id).await.unwrap();
    for user in [&ann, &bob] {
        let answer = user
            .client
            .raw(Method::GET, "/api/v1/contacts/presence", None, None);
        let answer = answer.await.unwrap();
        let list: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(list["presence"], serde_json::json!([]), "{}", user.username);
    }
    let (mut bob_socket, _) = live_socket(&bob).await;
    let (mut ann_socket, _) = live_socket(&ann).await;
    let typing = ClientFrame::Typing {
        conversation_id: direct.clone(),
    };
    ann_socket.send(&typing).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(Some(Ok(incoming))) = tokio::time::timeout_at(deadline, bob_socket.next()).await {
        assert!(
            !matches!(incoming, Incoming::Ephemeral(_)),
            "nothing of ann reaches bob: {incoming:?}"
        );
    }
}

/// Money, reactions, a new direct conversation and an old request are all
/// ways to reach someone: a block closes each, and stores nothing.
#[tokio::test]
async fn a_block_closes_money_reactions_and_old_requests_too() {
    let app = spawn_app_with(|config| config.sandbox_payments = true).await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let direct = befriend(&ann, &bob).await;
    let (old, _) = bob.client.send_message(&direct, "b-1", "hi").await.unwrap();
    crate::wallet::set_pin(&ann).await;
    assert_eq!(crate::wallet::top_up(&ann, 1_000, "fund").await.0, 201);
    bob.client.block(&ann.account_id).await.unwrap();

    let key = piazza_client::IdempotencyKey::parse("to-bob").unwrap();
    let transfer = ann
        .client
        .send_transfer(&key, &bob.account_id, 100, crate::wallet::PIN, None)
        .await;
    assert_problem(&transfer.unwrap_err(), 403, "blocked");
    let key = piazza_client::IdempotencyKey::parse("packet").unwrap();
    let packet = ann
        .client
        .send_red_packet(
            &key,
            &direct,
            100,
            1,
            piazza_client::SplitMode::Equal,
            crate::wallet::PIN,
            None,
        )
        .await;
    assert_problem(&packet.unwrap_err(), 403, "blocked");
    let reacted = ann.client.react(&direct, &old.message_id, "👍").await;
    assert_problem(&reacted.unwrap_err(), 403, "blocked");
    assert_eq!(message_count(&bob, &direct).await, 1, "nothing stored");
    let (events, _) = sync_all(&bob.client, None, 200).await;
    assert!(
        events
            .iter()
            .all(|e| e.type_ != "message.reaction" && e.type_ != "transfer.received")
    );

    // An old request from someone who was later blocked cannot be accepted.
    let cat = app.signup("cat").await;
    let request = cat.client.request_contact("ann", None).await.unwrap();
    ann.client.block(&cat.account_id).await.unwrap();
    let accepted = ann.client.accept_request(&request).await;
    assert_problem(&accepted.unwrap_err(), 403, "blocked");
}

/// Typing in a direct conversation stops at a block, both ways, and comes
/// back at the unblock; neither side is told it is not a member.
#[tokio::test]
async fn typing_stops_at_a_block_both_ways_and_returns_at_the_unblock() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let direct = befriend(&ann, &bob).await;
    let (mut ann_socket, _) = live_socket(&ann).await;
    let (mut bob_socket, _) = live_socket(&bob).await;
    let typing = ClientFrame::Typing {
        conversation_id: direct.clone(),
    };
    // Both type first, so the conversation's members are remembered.
    ann_socket.send(&typing).await.unwrap();
    assert!(ephemeral_within(&mut bob_socket, PATIENCE).await);
    bob.client.block(&ann.account_id).await.unwrap();
    tokio::time::sleep(piazza_server::typing::TYPING_INTERVAL).await;
    ann_socket.send(&typing).await.unwrap();
    assert!(!ephemeral_within(&mut bob_socket, Duration::from_millis(400)).await);
    bob_socket.send(&typing).await.unwrap();
    assert!(!ephemeral_within(&mut ann_socket, Duration::from_millis(400)).await);
    bob.client.unblock(&ann.account_id).await.unwrap();
    tokio::time::sleep(piazza_server::typing::TYPING_INTERVAL).await;
    bob_socket.send(&typing).await.unwrap();
    assert!(ephemeral_within(&mut ann_socket, PATIENCE).await);
}

/// Whether a typing event (or an error frame, which fails the test) comes
/// on `socket` within `wait`; presence and log events are skipped.
async fn ephemeral_within(socket: &mut piazza_client::Socket, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return false,
            Ok(Some(Ok(Incoming::Ephemeral(fields)))) if fields["type"] == "typing" => return true,
            Ok(Some(Ok(Incoming::Frame(piazza_api::ServerFrame::Error { code, .. })))) => {
                panic!("refused: {code}")
            }
            Ok(Some(Ok(_))) => continue,
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

/// A block and an unblock reach the blocker's other devices, once each;
/// the blocked account's log never hears of them.
#[tokio::test]
async fn a_block_reaches_the_blockers_other_devices_and_never_the_blocked() {
    let app = spawn_app().await;
    let (ann, bob) = (app.signup("ann").await, app.signup("bob").await);
    befriend(&ann, &bob).await;
    let phone = app.login("ann", "phone").await;
    let (_, ann_from) = sync_all(&phone.client, None, 100).await;
    let (_, bob_from) = sync_all(&bob.client, None, 100).await;
    ann.client.block(&bob.account_id).await.unwrap();
    ann.client.block(&bob.account_id).await.unwrap();
    ann.client.unblock(&bob.account_id).await.unwrap();
    ann.client.unblock(&bob.account_id).await.unwrap();
    let (events, _) = sync_all(&phone.client, Some(&ann_from), 100).await;
    let told: Vec<(String, bool)> = events
        .iter()
        .filter(|event| event.type_ == "contact.blocked")
        .map(|event| {
            let account = field(event, "account_id").as_str().unwrap().to_owned();
            (account, field(event, "blocked").as_bool().unwrap())
        })
        .collect();
    assert_eq!(
        told,
        [
            (bob.account_id.clone(), true),
            (bob.account_id.clone(), false)
        ],
        "once each way; a repeat changes nothing"
    );
    let (events, _) = sync_all(&bob.client, Some(&bob_from), 100).await;
    assert!(
        events.iter().all(|event| event.type_ != "contact.blocked"),
        "the blocked account is never told"
    );
    app.shut_down().await;
}
