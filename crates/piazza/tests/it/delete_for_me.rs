//! Deleting a message for oneself: it leaves the caller's history on all
//! of the caller's devices and stays for everyone else; refusals change
//! nothing; the history still pages whole around what was deleted.

use piazza_client::IdempotencyKey;

use crate::helpers::*;
use crate::wallet::{PIN, set_pin, top_up};

/// The seqs of `conversation`'s whole history as `user` sees it, newest
/// first, read `page` at a time.
async fn seqs(user: &User, conversation: &str, page: u32) -> Vec<i64> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let got = user
            .client
            .history(conversation, before, Some(page))
            .await
            .expect("history");
        assert!(got.messages.len() <= page as usize);
        before = got.messages.last().map(|message| message.seq);
        all.extend(got.messages.iter().map(|message| message.seq));
        if !got.has_more {
            return all;
        }
    }
}

/// The `message.deleted` entries of `user`'s log, as their seqs.
async fn deletions_logged(user: &User) -> Vec<i64> {
    let (events, _) = sync_all(&user.client, None, 200).await;
    events
        .iter()
        .filter(|event| event.type_ == "message.deleted")
        .map(|event| event.fields["seq"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_message_deleted_for_me_leaves_only_my_devices() {
    let app = spawn_app_with(|config| config.sandbox_payments = true).await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let bob_phone = app.login("bob", "phone").await;
    let direct = befriend(&ann, &bob).await;
    let (mut phone_socket, _) = live_socket(&bob_phone).await;
    let mut sent = Vec::new();
    for n in 1..=5 {
        let (message, _) = ann
            .client
            .send_message(&direct, &format!("a-{n}"), &format!("message {n}"))
            .await
            .unwrap();
        sent.push(message);
    }
    for gone in [1, 3] {
        bob.client
            .delete_for_me(&direct, &sent[gone].message_id)
            .await
            .expect("deleted for bob");
    }
    // Bob's history, on either device, pages whole around the gaps.
    for device in [&bob, &bob_phone] {
        assert_eq!(seqs(device, &direct, 2).await, [5, 3, 1]);
        assert_eq!(seqs(device, &direct, 1).await, [5, 3, 1]);
    }
    assert_eq!(
        seqs(&ann, &direct, 2).await,
        [5, 4, 3, 2, 1],
        "ann keeps all"
    );
    assert_eq!(deletions_logged(&bob).await, [2, 4]);
    assert!(deletions_logged(&ann).await.is_empty());
    let live = next_of_type(&mut phone_socket, "message.deleted").await;
    assert_eq!(live.fields["seq"], 2);

    // Again: the same answer, nothing more logged.
    bob.client
        .delete_for_me(&direct, &sent[1].message_id)
        .await
        .unwrap();
    assert_eq!(deletions_logged(&bob).await, [2, 4]);
    // A money message may go from one's own view too.
    set_pin(&ann).await;
    assert_eq!(top_up(&ann, 1_000, "fund").await.0, 201);
    let key = IdempotencyKey::parse("to-bob").unwrap();
    ann.client
        .send_transfer(&key, &bob.account_id, 100, PIN, None)
        .await
        .unwrap();
    let newest = ann.client.history(&direct, None, Some(1)).await.unwrap();
    let transfer = &newest.messages[0];
    assert_eq!(transfer.kind, "transfer");
    ann.client
        .delete_for_me(&direct, &transfer.message_id)
        .await
        .unwrap();
    assert_eq!(seqs(&ann, &direct, 50).await, [5, 4, 3, 2, 1]);
    assert_eq!(seqs(&bob, &direct, 50).await, [transfer.seq, 5, 3, 1]);
    app.shut_down().await;
}

#[tokio::test]
async fn deleting_what_one_cannot_see_changes_nothing() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let eve = app.signup("eve").await;
    let direct = befriend(&ann, &bob).await;
    befriend(&ann, &eve).await;
    let group = ann
        .client
        .create_group("Before eve", std::slice::from_ref(&bob.account_id))
        .await
        .unwrap();
    let (early, _) = bob
        .client
        .send_message(&group, "b-1", "before eve")
        .await
        .unwrap();
    let (private, _) = ann
        .client
        .send_message(&direct, "a-1", "ann to bob")
        .await
        .unwrap();
    ann.client
        .add_member(&group, &eve.account_id)
        .await
        .unwrap();

    let error = eve.client.delete_for_me(&group, &early.message_id).await;
    assert_problem(&error.unwrap_err(), 404, "message_not_found");
    let error = eve.client.delete_for_me(&direct, &private.message_id).await;
    assert_problem(&error.unwrap_err(), 403, "not_a_member");
    let error = bob.client.delete_for_me(&group, &private.message_id).await;
    assert_problem(&error.unwrap_err(), 404, "message_not_found");
    for id in ["msg_999999", "nonsense", "msg_-1"] {
        let error = bob.client.delete_for_me(&group, id).await;
        assert_problem(&error.unwrap_err(), 404, "message_not_found");
    }
    for user in [&ann, &bob, &eve] {
        assert!(deletions_logged(user).await.is_empty());
    }
    assert_eq!(seqs(&bob, &group, 50).await, [early.seq]);
    assert_eq!(seqs(&bob, &direct, 50).await, [private.seq]);
    app.shut_down().await;
}
