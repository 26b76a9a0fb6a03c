//! Read receipts: in a direct conversation the peer learns how far it was
//! read (`read.receipt` in the peer's log, `peer_read_seq` in the list),
//! only when the position moves forward; groups and outsiders learn
//! nothing.

use piazza_api::EventView;
use piazza_client::Client;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

/// The `read.receipt` entries of an account's whole log, as `(reader, seq)`.
async fn receipts(client: &Client) -> Vec<(String, i64)> {
    let (events, _) = sync_all(client, None, 200).await;
    events
        .iter()
        .filter(|event| event.type_ == "read.receipt")
        .map(receipt)
        .collect()
}

fn receipt(event: &EventView) -> (String, i64) {
    assert_eq!(event.type_, "read.receipt");
    (
        field(event, "account_id").as_str().unwrap().to_owned(),
        field(event, "seq").as_i64().unwrap(),
    )
}

/// `peer_read_seq` of one conversation in `user`'s list, as the JSON has
/// it (`None` when absent, so a `null` would fail the caller's check).
async fn listed_peer_read_seq(user: &User, conversation: &str) -> Option<Value> {
    let answer = user
        .client
        .raw(Method::GET, "/api/v1/conversations", None, None)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let list: Value = serde_json::from_slice(&answer.body).unwrap();
    let found = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|view| view["conversation_id"] == conversation)
        .unwrap_or_else(|| panic!("{conversation} is in the list: {list}"))
        .clone();
    found.get("peer_read_seq").cloned()
}

async fn send(user: &User, conversation: &str, n: usize) {
    for i in 0..n {
        user.client
            .send_message(
                conversation,
                &format!("{}-{conversation}-{i}", user.username),
                "hi",
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_peer_learns_live_and_by_sync_only_when_the_position_advances() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    // Ann's tablet has caught up, then goes offline.
    let tablet = app.login("ann", "tablet").await;
    let (_, tablet_cursor) = sync_all(&tablet.client, None, 50).await;
    let (mut ann_socket, _) = live_socket(&ann).await;
    send(&ann, &conversation, 3).await;
    assert_eq!(
        listed_peer_read_seq(&ann, &conversation).await,
        Some(Value::from(0))
    );

    bob.client.mark_read(&conversation, 2).await.unwrap();
    let live = next_of_type(&mut ann_socket, "read.receipt").await;
    assert_eq!(receipt(&live), (bob.account_id.clone(), 2));
    assert_eq!(field(&live, "conversation_id"), conversation.as_str());

    // Marking again, or further back, moves nothing and tells nobody: the
    // next entry in Ann's log is the receipt of the real advance.
    bob.client.mark_read(&conversation, 2).await.unwrap();
    bob.client.mark_read(&conversation, 1).await.unwrap();
    bob.client.mark_read(&conversation, 3).await.unwrap();
    let next = next_event(&mut ann_socket).await;
    assert_eq!(receipt(&next), (bob.account_id.clone(), 3));
    assert_eq!(
        listed_peer_read_seq(&ann, &conversation).await,
        Some(Value::from(3))
    );

    // The offline tablet gets both by sync, and so does a new device.
    let (missed, _) = sync_all(&tablet.client, Some(&tablet_cursor), 2).await;
    let missed: Vec<_> = missed
        .iter()
        .filter(|event| event.type_ == "read.receipt")
        .map(receipt)
        .collect();
    let expected = vec![(bob.account_id.clone(), 2), (bob.account_id.clone(), 3)];
    assert_eq!(missed, expected);
    let new_phone = app.login("ann", "new phone").await;
    assert_eq!(receipts(&new_phone.client).await, expected);

    // The reader's own log has its markers, not receipts of its own reads.
    assert!(receipts(&bob.client).await.is_empty());
    app.shut_down().await;
}

#[tokio::test]
async fn sending_counts_as_reading_without_a_receipt() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    send(&ann, &conversation, 2).await;
    // Bob's reply moves his read position past Ann's messages; his message
    // itself tells her, so nothing else is logged.
    send(&bob, &conversation, 1).await;
    assert_eq!(
        listed_peer_read_seq(&ann, &conversation).await,
        Some(Value::from(3))
    );
    assert_eq!(
        listed_peer_read_seq(&bob, &conversation).await,
        Some(Value::from(2))
    );
    bob.client.mark_read(&conversation, 3).await.unwrap();
    assert!(receipts(&ann.client).await.is_empty());
    // Ann reading Bob's reply does tell him.
    ann.client.mark_read(&conversation, 3).await.unwrap();
    assert_eq!(
        receipts(&bob.client).await,
        vec![(ann.account_id.clone(), 3)]
    );
    app.shut_down().await;
}

#[tokio::test]
async fn groups_and_outsiders_learn_nothing() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let eve = app.signup("eve").await;
    let direct = befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    let group = ann
        .client
        .create_group("Trip", &[bob.account_id.clone(), cat.account_id.clone()])
        .await
        .unwrap();
    send(&ann, &group, 3).await;
    send(&ann, &direct, 3).await;

    // A group: reads move the reader's own position and nobody else's log.
    bob.client.mark_read(&group, 3).await.unwrap();
    cat.client.mark_read(&group, 2).await.unwrap();
    for user in [&ann, &bob, &cat] {
        assert_eq!(listed_peer_read_seq(user, &group).await, None);
    }
    let bobs = bob.client.conversations().await.unwrap().conversations;
    let bobs_group = bobs.iter().find(|view| view.conversation_id == group);
    assert_eq!(
        bobs_group.map(|view| (view.read_seq, view.peer_read_seq)),
        Some((3, None)),
        "the group's read position moved for the reader alone"
    );

    // A direct conversation's receipt reaches its peer and no one else.
    bob.client.mark_read(&direct, 3).await.unwrap();
    // An outsider can neither move it nor learn it.
    assert_problem(
        &eve.client.mark_read(&direct, 3).await.unwrap_err(),
        403,
        "not_a_member",
    );
    assert_eq!(
        receipts(&ann.client).await,
        vec![(bob.account_id.clone(), 3)]
    );
    assert!(receipts(&bob.client).await.is_empty());
    assert!(receipts(&cat.client).await.is_empty());
    let (eve_log, _) = sync_all(&eve.client, None, 200).await;
    assert!(eve_log.is_empty(), "nothing reached eve's log: {eve_log:?}");
    assert!(
        eve.client
            .conversations()
            .await
            .unwrap()
            .conversations
            .is_empty()
    );
    app.shut_down().await;
}
