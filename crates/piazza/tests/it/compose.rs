//! What a message may carry besides its text: a reply, mentions, a
//! forward, a place, a contact card. Each arrives whole in the history,
//! in one message's read and in `message.new`; each refusal stores nothing.

use piazza_api::{CardRequest, LocationView, MessageContent, MessageRefView};

use crate::helpers::*;
use crate::media::TINY_PNG;
use crate::wallet::{PIN, set_pin, top_up};

fn reply(to: &str, text: &str) -> MessageContent {
    MessageContent {
        reply_to: Some(to.to_owned()),
        ..MessageContent::text(text)
    }
}

fn mentioning(accounts: &[&str], text: &str) -> MessageContent {
    MessageContent {
        mentions: accounts
            .iter()
            .map(|account| (*account).to_owned())
            .collect(),
        ..MessageContent::text(text)
    }
}

fn place(lat: f64, lon: f64, name: Option<&str>) -> MessageContent {
    MessageContent {
        location: Some(LocationView {
            lat,
            lon,
            name: name.map(str::to_owned),
        }),
        ..MessageContent::default()
    }
}

fn forward(conversation: &str, message: &str) -> MessageContent {
    MessageContent {
        forward_of: Some(MessageRefView {
            conversation_id: conversation.to_owned(),
            message_id: message.to_owned(),
        }),
        ..MessageContent::default()
    }
}

#[tokio::test]
async fn a_reply_with_mentions_arrives_whole_everywhere() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Plans", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let (mut cat_socket, _) = live_socket(cat).await;
    let (question, _) = ann
        .client
        .send_message(&group, "a-1", "dinner at eight?")
        .await
        .unwrap();
    let _ = next_of_type(&mut cat_socket, "message.new").await;
    let answer = MessageContent {
        mentions: vec![ann.account_id.clone(), cat.account_id.clone()],
        ..reply(&question.message_id, "yes, @ann @cat")
    };
    let (sent, replayed) = bob
        .client
        .send(&group, "b-1", answer.clone())
        .await
        .unwrap();
    assert!(!replayed);

    let pushed = next_of_type(&mut cat_socket, "message.new").await;
    assert_eq!(field(&pushed, "reply_to"), &question.message_id);
    let mut mentioned = vec![ann.account_id.clone(), cat.account_id.clone()];
    mentioned.sort();
    assert_eq!(field(&pushed, "mentions"), &serde_json::json!(mentioned));
    for user in [ann, bob, cat] {
        let shown = user.client.message(&group, &sent.message_id).await.unwrap();
        assert_eq!(
            shown.reply_to.as_deref(),
            Some(question.message_id.as_str())
        );
        assert_eq!(shown.mentions, mentioned);
        assert_eq!(
            (shown.kind.as_str(), shown.text.as_str()),
            ("text", "yes, @ann @cat")
        );
        let page = user.client.history(&group, None, Some(1)).await.unwrap();
        assert_eq!(page.messages[0], shown, "history and one message agree");
    }
    // A retry is the same message; another body under the id is not.
    let (again, replayed) = bob.client.send(&group, "b-1", answer).await.unwrap();
    assert!(replayed && again.message_id == sent.message_id);
    let other = reply(&question.message_id, "no");
    let refused = bob.client.send(&group, "b-1", other).await.unwrap_err();
    assert_problem(&refused, 422, "client_msg_id_reused");
}

#[tokio::test]
async fn replies_and_mentions_outside_what_the_sender_sees_are_refused() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Plans", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let dan = app.signup("dan").await;
    let elsewhere = befriend(ann, &dan).await;
    let (private, _) = ann
        .client
        .send_message(&elsewhere, "a-1", "just us")
        .await
        .unwrap();
    // A reply to a message of another conversation, even one the sender
    // is in, is a message this conversation does not have.
    let across = ann
        .client
        .send(&group, "a-2", reply(&private.message_id, "x"));
    assert_problem(&across.await.unwrap_err(), 404, "message_not_found");
    let unknown = bob.client.send(&group, "b-1", reply("msg_999999", "x"));
    assert_problem(&unknown.await.unwrap_err(), 404, "message_not_found");
    let garbage = bob.client.send(&group, "b-2", reply("not-an-id", "x"));
    assert_problem(&garbage.await.unwrap_err(), 404, "message_not_found");
    // Mentions name members only.
    let outsider = mentioning(&[&dan.account_id], "hi @dan");
    let refused = bob.client.send(&group, "b-3", outsider).await.unwrap_err();
    assert_problem(&refused, 422, "mention_not_a_member");
    let garbage = bob.client.send(&group, "b-4", mentioning(&["me"], "x"));
    assert_problem(&garbage.await.unwrap_err(), 422, "mention_not_a_member");
    // Only the owner mentions everyone, and only in a group.
    let all = MessageContent {
        mention_all: true,
        ..MessageContent::text("everyone!")
    };
    let refused = bob
        .client
        .send(&group, "b-5", all.clone())
        .await
        .unwrap_err();
    assert_problem(&refused, 403, "mention_all_not_allowed");
    let refused = ann.client.send(&elsewhere, "a-3", all.clone()).await;
    assert_problem(&refused.unwrap_err(), 403, "mention_all_not_allowed");
    ann.client
        .send(&group, "a-4", all)
        .await
        .expect("the owner may");
    // A reply to a recalled message is refused.
    let (oops, _) = cat
        .client
        .send_message(&group, "c-1", "oops")
        .await
        .unwrap();
    cat.client
        .recall_message(&group, &oops.message_id)
        .await
        .unwrap();
    let late = bob
        .client
        .send(&group, "b-6", reply(&oops.message_id, "what?"));
    assert_problem(&late.await.unwrap_err(), 409, "message_recalled");
    // None of the refusals stored anything.
    assert_eq!(
        message_count(bob, &group).await,
        2,
        "the @all and the recalled"
    );
    assert_eq!(message_count(&dan, &elsewhere).await, 1);
}

#[tokio::test]
async fn a_member_sees_no_reply_to_what_came_before_they_joined() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Plans", &["ann", "bob"]).await;
    let (ann, bob) = (&users[0], &users[1]);
    let (early, _) = ann
        .client
        .send_message(&group, "a-1", "before cat")
        .await
        .unwrap();
    let cat = app.signup("cat").await;
    befriend(ann, &cat).await;
    ann.client
        .add_member(&group, &cat.account_id)
        .await
        .unwrap();
    let refused = cat
        .client
        .send(&group, "c-1", reply(&early.message_id, "hm"));
    assert_problem(&refused.await.unwrap_err(), 404, "message_not_found");
    let unseen = cat
        .client
        .message(&group, &early.message_id)
        .await
        .unwrap_err();
    assert_problem(&unseen, 404, "message_not_found");
    bob.client
        .send(&group, "b-1", reply(&early.message_id, "ok"))
        .await
        .expect("bob saw it");
}

#[tokio::test]
async fn a_place_and_a_card_carry_what_they_show() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let direct = befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    let (sent, _) = ann
        .client
        .send(
            &direct,
            "a-1",
            place(45.4340471, 12.3388, Some("Piazza San Marco")),
        )
        .await
        .unwrap();
    let shown = bob.client.message(&direct, &sent.message_id).await.unwrap();
    assert_eq!((shown.kind.as_str(), shown.text.as_str()), ("location", ""));
    let location = shown.location.expect("a place");
    assert_eq!((location.lat, location.lon), (45.4340471, 12.3388));
    assert_eq!(location.name.as_deref(), Some("Piazza San Marco"));

    let card = MessageContent {
        card: Some(CardRequest {
            account_id: cat.account_id.clone(),
        }),
        ..MessageContent::default()
    };
    let (sent, _) = ann.client.send(&direct, "a-2", card).await.unwrap();
    let shown = bob.client.message(&direct, &sent.message_id).await.unwrap();
    assert_eq!(shown.kind, "contact_card");
    let card = shown.card.expect("a card");
    assert_eq!(
        (card.account_id, card.username),
        (cat.account_id.clone(), "cat".to_owned())
    );

    // A card of someone not the sender's contact, a place off the globe,
    // and two contents at once are refused, storing nothing.
    let stranger = MessageContent {
        card: Some(CardRequest {
            account_id: bob.account_id.clone(),
        }),
        ..MessageContent::default()
    };
    let cat_dan = befriend(&cat, &app.signup("dan").await).await;
    let refused = cat.client.send(&cat_dan, "c-1", stranger);
    assert_problem(&refused.await.unwrap_err(), 403, "not_a_contact");
    for (lat, lon) in [(90.5, 0.0), (0.0, -180.01), (f64::MAX, 0.0)] {
        let refused = ann.client.send(&direct, "a-3", place(lat, lon, None));
        assert_problem(&refused.await.unwrap_err(), 400, "invalid_location");
    }
    let both = MessageContent {
        media_id: Some("med_1".to_owned()),
        ..place(1.0, 1.0, None)
    };
    let refused = ann.client.send(&direct, "a-4", both).await.unwrap_err();
    assert_problem(&refused, 400, "invalid_message");
    let worded = MessageContent {
        text: "here".to_owned(),
        ..place(1.0, 1.0, None)
    };
    let refused = ann.client.send(&direct, "a-5", worded).await.unwrap_err();
    assert_problem(&refused, 400, "invalid_message");
    let mislabelled = MessageContent {
        kind: Some("image".to_owned()),
        ..place(1.0, 1.0, None)
    };
    let refused = ann
        .client
        .send(&direct, "a-6", mislabelled)
        .await
        .unwrap_err();
    assert_problem(&refused, 400, "invalid_kind");
    assert_eq!(message_count(&bob, &direct).await, 2);
}

#[tokio::test]
async fn a_forward_carries_content_the_sender_can_see_and_shares_its_picture() {
    let app = spawn_app_with(|config| config.sandbox_payments = true).await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let ann_bob = befriend(&ann, &bob).await;
    let bob_cat = befriend(&bob, &cat).await;
    let (uploaded, _) = ann
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    let (picture, _) = ann
        .client
        .send_image(&ann_bob, "a-1", &uploaded.media_id, "sunset")
        .await
        .unwrap();
    let refused = cat.client.media(&uploaded.media_id).await.unwrap_err();
    assert_problem(&refused, 404, "media_not_found");

    let (sent, _) = bob
        .client
        .send(&bob_cat, "b-1", forward(&ann_bob, &picture.message_id))
        .await
        .unwrap();
    let shown = cat
        .client
        .message(&bob_cat, &sent.message_id)
        .await
        .unwrap();
    assert_eq!(
        (shown.kind.as_str(), shown.text.as_str()),
        ("image", "sunset")
    );
    assert_eq!(shown.ref_.as_deref(), Some(uploaded.media_id.as_str()));
    let source = shown.forward_of.expect("forwarded");
    assert_eq!(
        (source.conversation_id, source.message_id),
        (ann_bob.clone(), picture.message_id.clone())
    );
    cat.client
        .media(&uploaded.media_id)
        .await
        .expect("the forwarded picture is cat's to see now");

    // cat cannot forward what cat cannot see, nor money, nor a recall.
    let refused = cat
        .client
        .send(&bob_cat, "c-1", forward(&ann_bob, &picture.message_id));
    assert_problem(&refused.await.unwrap_err(), 404, "message_not_found");
    set_pin(&ann).await;
    assert_eq!(top_up(&ann, 1_000, "fund").await.0, 201);
    let key = piazza_client::IdempotencyKey::parse("to-bob").unwrap();
    let transfer = ann
        .client
        .send_transfer(&key, &bob.account_id, 100, PIN, None)
        .await;
    transfer.expect("sent");
    let page = bob.client.history(&ann_bob, None, Some(1)).await.unwrap();
    let money = &page.messages[0];
    assert_eq!(money.kind, "transfer");
    let refused = bob
        .client
        .send(&bob_cat, "b-2", forward(&ann_bob, &money.message_id));
    assert_problem(&refused.await.unwrap_err(), 403, "forward_not_allowed");
    let (oops, _) = ann
        .client
        .send_message(&ann_bob, "a-2", "oops")
        .await
        .unwrap();
    ann.client
        .recall_message(&ann_bob, &oops.message_id)
        .await
        .unwrap();
    let refused = bob
        .client
        .send(&bob_cat, "b-3", forward(&ann_bob, &oops.message_id));
    assert_problem(&refused.await.unwrap_err(), 409, "message_recalled");
    assert_eq!(message_count(&cat, &bob_cat).await, 1);
}

/// A retry is the same request whatever it carries: mentions named twice
/// or naming the sender, a place, a card, a forward; each is stored once.
#[tokio::test]
async fn every_kind_of_message_replays_as_itself() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Plans", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let (first, _) = ann
        .client
        .send_message(&group, "a-0", "hello")
        .await
        .unwrap();
    let requests = [
        mentioning(
            &[&cat.account_id, &bob.account_id, &cat.account_id],
            "@cat @me @cat",
        ),
        place(45.0, 9.0, Some("Milano")),
        MessageContent {
            card: Some(CardRequest {
                account_id: ann.account_id.clone(),
            }),
            ..MessageContent::default()
        },
        forward(&group, &first.message_id),
    ];
    for (index, request) in requests.into_iter().enumerate() {
        let id = format!("b-{index}");
        let (sent, replayed) = bob.client.send(&group, &id, request.clone()).await.unwrap();
        assert!(!replayed);
        let (again, replayed) = bob.client.send(&group, &id, request).await.unwrap();
        assert!(replayed, "request {index} replays");
        assert_eq!(again.message_id, sent.message_id);
    }
    let shown = cat
        .client
        .history(&group, None, Some(4))
        .await
        .unwrap()
        .messages;
    assert_eq!(
        shown[3].mentions,
        std::slice::from_ref(&cat.account_id),
        "once, and not bob himself"
    );
    assert_eq!(message_count(cat, &group).await, 5);
}

/// The member count follows every way in and out of a group.
#[tokio::test]
async fn the_member_count_follows_joins_leaves_and_removals() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Plans", &["ann", "bob", "cat", "dan"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let count = |user: &User| {
        let client = user.client.clone();
        let group = group.clone();
        async move {
            let list = client.conversations().await.unwrap();
            let found = list
                .conversations
                .into_iter()
                .find(|c| c.conversation_id == group);
            found.unwrap().member_count
        }
    };
    assert_eq!(count(ann).await, 4);
    bob.client
        .remove_member(&group, &bob.account_id)
        .await
        .unwrap();
    assert_eq!(count(ann).await, 3, "bob left");
    ann.client
        .remove_member(&group, &cat.account_id)
        .await
        .unwrap();
    assert_eq!(count(ann).await, 2, "cat removed");
    ann.client
        .add_member(&group, &cat.account_id)
        .await
        .unwrap();
    assert_eq!(count(cat).await, 3, "cat back");
    ann.client
        .remove_member(&group, &ann.account_id)
        .await
        .unwrap();
    assert_eq!(count(cat).await, 2, "the owner left; the group goes on");
}
