//! Recalling a message: its sender within `limits.recall_window_s`, a
//! group's owner within `limits.group_recall_window_s`; every member's
//! history, sync and socket show it recalled, its content is gone (a
//! picture is no longer served), and every refusal changes nothing.

use piazza_api::MessageView;
use piazza_client::IdempotencyKey;

use crate::helpers::*;
use crate::media::TINY_PNG;
use crate::wallet::{PIN, set_pin, top_up};

/// The message with `seq` as `user` sees it in the history.
async fn seen(user: &User, conversation: &str, seq: i64) -> Option<MessageView> {
    let page = user
        .client
        .history(conversation, Some(seq + 1), Some(1))
        .await
        .expect("history");
    page.messages.into_iter().find(|message| message.seq == seq)
}

/// The `message.recalled` entries of `user`'s log.
async fn recalls_logged(user: &User) -> Vec<serde_json::Value> {
    let (events, _) = sync_all(&user.client, None, 200).await;
    events
        .into_iter()
        .filter(|event| event.type_ == "message.recalled")
        .map(|event| serde_json::to_value(&event.fields).unwrap())
        .collect()
}

#[tokio::test]
async fn a_recalled_message_is_gone_for_every_member_everywhere() {
    let app = spawn_app().await;
    let (users, conversation) = group_of(&app, "Recalls", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let (mut cat_socket, _) = live_socket(cat).await;
    let (sent, _) = bob
        .client
        .send_message(&conversation, "b-1", "oops, wrong group")
        .await
        .unwrap();
    let (uploaded, _) = cat
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .unwrap();
    let (picture, _) = cat
        .client
        .send_image(&conversation, "c-1", &uploaded.media_id, "my desk")
        .await
        .unwrap();
    bob.client
        .media(&uploaded.media_id)
        .await
        .expect("shown to members");

    let recalled = bob
        .client
        .recall_message(&conversation, &sent.message_id)
        .await
        .expect("recalled within the window");
    assert!(recalled.recalled && recalled.recalled_at.is_some());
    assert_eq!(
        recalled.recalled_by.as_deref(),
        Some(bob.account_id.as_str())
    );
    assert_eq!((recalled.text.as_str(), recalled.seq), ("", sent.seq));
    for user in [ann, bob, cat] {
        let shown = seen(user, &conversation, sent.seq).await.unwrap();
        assert!(shown.recalled, "{} sees it recalled", user.username);
        assert_eq!(shown.recalled_by, recalled.recalled_by);
        assert_eq!(shown.text, "", "nothing of it is left");
        // Sync, from scratch on a new device: the message arrives recalled,
        // then the recall itself.
        let (events, _) = sync_all(&user.client, None, 200).await;
        let new = events
            .iter()
            .find(|e| e.type_ == "message.new" && e.fields["seq"] == sent.seq)
            .unwrap();
        assert_eq!(new.fields["recalled"], true);
        assert_eq!(new.fields["text"], "");
        let logged = recalls_logged(user).await;
        assert_eq!(logged.len(), 1, "{}: one recall logged", user.username);
        assert_eq!(logged[0]["message_id"], sent.message_id.as_str());
        assert_eq!(logged[0]["recalled_by"], bob.account_id.as_str());
    }
    let live = next_of_type(&mut cat_socket, "message.recalled").await;
    assert_eq!(live.fields["seq"], sent.seq);

    // Again: the same answer, nothing more logged.
    let again = bob
        .client
        .recall_message(&conversation, &sent.message_id)
        .await
        .unwrap();
    assert_eq!(again, recalled);
    assert_eq!(recalls_logged(ann).await.len(), 1);
    // Others still may not: a recalled message answers them as any other.
    let error = cat
        .client
        .recall_message(&conversation, &sent.message_id)
        .await;
    assert_problem(&error.unwrap_err(), 403, "recall_not_allowed");
    // A retry of the recalled send replays it; it does not post it again;
    // its id in another conversation is another message's, refused.
    let direct = ann.client.open_direct(&bob.account_id).await.unwrap();
    let error = bob.client.send_message(&direct, "b-1", "oops").await;
    assert_problem(&error.unwrap_err(), 422, "client_msg_id_reused");
    let (retried, replayed) = bob
        .client
        .send_message(&conversation, "b-1", "oops, wrong group")
        .await
        .unwrap();
    assert!(replayed);
    assert_eq!(retried.message_id, sent.message_id);

    // A recalled picture is no longer served to members, only to its uploader.
    cat.client
        .recall_message(&conversation, &picture.message_id)
        .await
        .unwrap();
    let error = bob.client.media(&uploaded.media_id).await.unwrap_err();
    assert_problem(&error, 404, "media_not_found");
    cat.client
        .media(&uploaded.media_id)
        .await
        .expect("its uploader's own");
    let shown = seen(ann, &conversation, picture.seq).await.unwrap();
    assert!(shown.recalled && shown.ref_.is_none());
    assert_eq!(shown.kind, "image");
    app.shut_down().await;
}

#[tokio::test]
async fn late_foreign_and_money_recalls_change_nothing() {
    let app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.limits.recall_window_s = 1;
    })
    .await;
    let (users, conversation) = group_of(&app, "Recalls", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let (early, _) = bob
        .client
        .send_message(&conversation, "b-1", "before dan")
        .await
        .unwrap();
    let refused = |error: piazza_client::ClientError, status, code| {
        assert_problem(&error, status, code);
    };

    // Not the sender, not the owner.
    let error = cat
        .client
        .recall_message(&conversation, &early.message_id)
        .await;
    refused(error.unwrap_err(), 403, "recall_not_allowed");
    // A newcomer cannot even see what was sent before they joined.
    let dan = app.signup("dan").await;
    befriend(ann, &dan).await;
    ann.client
        .add_member(&conversation, &dan.account_id)
        .await
        .unwrap();
    let error = dan
        .client
        .recall_message(&conversation, &early.message_id)
        .await;
    refused(error.unwrap_err(), 404, "message_not_found");
    // Outsiders, unknown and foreign ids.
    let eve = app.signup("eve").await;
    let error = eve
        .client
        .recall_message(&conversation, &early.message_id)
        .await;
    refused(error.unwrap_err(), 403, "not_a_member");
    for id in ["msg_999999", "not-an-id", "msg_"] {
        let error = bob.client.recall_message(&conversation, id).await;
        refused(error.unwrap_err(), 404, "message_not_found");
    }
    let direct = befriend(bob, &eve).await;
    let (elsewhere, _) = bob
        .client
        .send_message(&direct, "b-2", "hi eve")
        .await
        .unwrap();
    let error = bob
        .client
        .recall_message(&conversation, &elsewhere.message_id)
        .await;
    refused(error.unwrap_err(), 404, "message_not_found");
    // In a direct conversation the peer is nobody's owner.
    let error = eve
        .client
        .recall_message(&direct, &elsewhere.message_id)
        .await;
    refused(error.unwrap_err(), 403, "recall_not_allowed");

    // Past the sender's window (1 s here) the sender may not; the owner may.
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let error = bob
        .client
        .recall_message(&conversation, &early.message_id)
        .await;
    refused(error.unwrap_err(), 403, "recall_too_late");
    let shown = seen(bob, &conversation, early.seq).await.unwrap();
    assert!(
        !shown.recalled && shown.text == "before dan",
        "nothing changed"
    );
    assert!(recalls_logged(bob).await.is_empty());
    let by_owner = ann
        .client
        .recall_message(&conversation, &early.message_id)
        .await
        .expect("the owner within a day");
    assert!(by_owner.recalled);
    assert!(
        recalls_logged(&dan).await.is_empty(),
        "a newer member never learns of a message from before they joined"
    );
    let shown = seen(bob, &conversation, early.seq).await.unwrap();
    assert_eq!(shown.recalled_by.as_deref(), Some(ann.account_id.as_str()));
    assert_eq!(
        recalls_logged(cat).await[0]["recalled_by"],
        ann.account_id.as_str()
    );

    // Money is never recalled, not even by its sender at once.
    set_pin(bob).await;
    assert_eq!(top_up(bob, 1_000, "fund").await.0, 201);
    let key = IdempotencyKey::parse("to-eve").unwrap();
    bob.client
        .send_transfer(&key, &eve.account_id, 100, PIN, None)
        .await
        .unwrap();
    let page = bob.client.history(&direct, None, Some(1)).await.unwrap();
    let transfer = &page.messages[0];
    assert_eq!(transfer.kind, "transfer");
    let error = bob
        .client
        .recall_message(&direct, &transfer.message_id)
        .await;
    refused(error.unwrap_err(), 403, "recall_not_allowed");
    let shown = seen(bob, &direct, transfer.seq).await.unwrap();
    assert!(!shown.recalled && shown.ref_.is_some());
    app.shut_down().await;
}

/// Whatever a member composed is theirs to take back, as the docs say
/// and as WeChat does: a file, a place, a contact card, an article card,
/// not only text and pictures. Each comes back recalled to the other
/// member, with nothing of it left (no attachment, place or card), and a
/// recalled file is no longer served to them.
#[tokio::test]
async fn files_places_and_cards_are_recalled_whole() {
    let app = spawn_app().await;
    let (users, conversation) = group_of(&app, "Kinds", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let (file, _) = ann
        .client
        .upload_file(b"a plan".to_vec(), Some("plan.txt"))
        .await
        .unwrap();
    let channel = ann
        .client
        .create_channel(&piazza_api::CreateChannel {
            handle: "ann.news".to_owned(),
            name: "Ann's News".to_owned(),
            description: String::new(),
            avatar_media_id: None,
        })
        .await
        .unwrap()
        .channel_id;
    let article = ann
        .client
        .publish_article(
            &channel,
            &piazza_api::PublishArticle {
                title: "News".to_owned(),
                body_markdown: "Words.".to_owned(),
                cover_media_id: None,
            },
        )
        .await
        .unwrap()
        .article_id;
    let contents = [
        piazza_api::MessageContent {
            media_id: Some(file.media_id.clone()),
            kind: Some("file".to_owned()),
            ..Default::default()
        },
        piazza_api::MessageContent {
            location: Some(piazza_api::LocationView {
                lat: 45.46,
                lon: 9.19,
                name: Some("Duomo".to_owned()),
            }),
            ..Default::default()
        },
        piazza_api::MessageContent {
            card: Some(piazza_api::CardRequest {
                account_id: cat.account_id.clone(),
            }),
            ..Default::default()
        },
        piazza_api::MessageContent {
            article_id: Some(article),
            ..Default::default()
        },
    ];
    bob.client
        .media(&file.media_id)
        .await
        .expect_err("not shown before it is sent");
    for (index, content) in contents.into_iter().enumerate() {
        let (sent, _) = ann
            .client
            .send(&conversation, &format!("k-{index}"), content)
            .await
            .unwrap();
        let before = seen(bob, &conversation, sent.seq).await.unwrap();
        let kind = before.kind.clone();
        let shown = before.attachment.is_some()
            || before.location.is_some()
            || before.card.is_some()
            || before.article.is_some();
        assert!(shown, "{kind} arrives with its content");
        if kind == "file" {
            bob.client
                .media(&file.media_id)
                .await
                .expect("shown while sent");
        }
        let recalled = ann
            .client
            .recall_message(&conversation, &sent.message_id)
            .await
            .unwrap_or_else(|error| panic!("{kind} is recalled: {error}"));
        assert!(recalled.recalled);
        let after = seen(bob, &conversation, sent.seq).await.unwrap();
        assert!(after.recalled && after.kind == kind, "{kind}: {after:?}");
        let left = after.attachment.is_some()
            || after.location.is_some()
            || after.card.is_some()
            || after.article.is_some();
        assert!(!left, "nothing of the {kind} is left: {after:?}");
    }
    let gone = bob.client.media(&file.media_id).await;
    assert_problem(&gone.unwrap_err(), 404, "media_not_found");
}
