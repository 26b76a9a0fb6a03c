//! The conversation list as a chat app shows it: unread and mention
//! counts, the last message, and each member's own mute, pin and archive,
//! pinned first; settings reach every device of the account.

use piazza_api::{ConversationSettingsChange, ConversationView, MessageContent};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

async fn listed(user: &User, conversation: &str) -> ConversationView {
    let list = user.client.conversations().await.expect("listed");
    list.conversations
        .into_iter()
        .find(|found| found.conversation_id == conversation)
        .expect("in the list")
}

fn pin(on: bool) -> ConversationSettingsChange {
    ConversationSettingsChange {
        pinned: Some(on),
        ..ConversationSettingsChange::default()
    }
}

#[tokio::test]
async fn unread_and_mention_counts_follow_reading() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Plans", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    bob.client.send_message(&group, "b-1", "hi").await.unwrap();
    let naming_cat = MessageContent {
        mentions: vec![cat.account_id.clone()],
        ..MessageContent::text("@cat look")
    };
    let (named, _) = bob.client.send(&group, "b-2", naming_cat).await.unwrap();
    let everyone = MessageContent {
        mention_all: true,
        ..MessageContent::text("@all meeting at 5")
    };
    let (all, _) = ann.client.send(&group, "a-1", everyone).await.unwrap();
    bob.client.send_message(&group, "b-3", "ok").await.unwrap();

    let seen = listed(cat, &group).await;
    assert_eq!(
        (seen.unread_count, seen.unread, seen.mention_count),
        (4, 4, 2)
    );
    let seen = listed(bob, &group).await;
    assert_eq!(
        (seen.unread_count, seen.mention_count),
        (0, 0),
        "bob sent last"
    );
    let seen = listed(ann, &group).await;
    assert_eq!(
        (seen.unread_count, seen.mention_count),
        (1, 0),
        "not by her own @all"
    );

    cat.client.mark_read(&group, named.seq).await.unwrap();
    let seen = listed(cat, &group).await;
    assert_eq!((seen.unread_count, seen.mention_count), (2, 1));
    // A recalled mention no longer counts.
    ann.client
        .recall_message(&group, &all.message_id)
        .await
        .unwrap();
    assert_eq!(listed(cat, &group).await.mention_count, 0);
    cat.client.mark_read(&group, seen.last_seq).await.unwrap();
    let seen = listed(cat, &group).await;
    assert_eq!((seen.unread_count, seen.mention_count), (0, 0));
    assert_eq!(seen.member_count, 3);
}

#[tokio::test]
async fn the_last_message_is_the_last_one_each_member_sees() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Plans", &["ann", "bob"]).await;
    let (ann, bob) = (&users[0], &users[1]);
    let long = "x".repeat(300);
    bob.client
        .send_message(&group, "b-1", "first")
        .await
        .unwrap();
    let (last, _) = bob.client.send_message(&group, "b-2", &long).await.unwrap();
    let preview = listed(ann, &group).await.last_message.expect("a preview");
    assert_eq!(
        (preview.message_id.as_str(), preview.seq),
        (last.message_id.as_str(), last.seq)
    );
    assert_eq!(preview.text.chars().count(), 100, "cut to 100 characters");
    assert_eq!(
        (preview.kind.as_str(), preview.sender.as_str()),
        ("text", bob.account_id.as_str())
    );
    // Deleted for ann: her list shows the one before; bob's is unchanged.
    ann.client
        .delete_for_me(&group, &last.message_id)
        .await
        .unwrap();
    let preview = listed(ann, &group).await.last_message.unwrap();
    assert_eq!(preview.text, "first");
    assert_eq!(
        listed(bob, &group).await.last_message.unwrap().seq,
        last.seq
    );
    // A newcomer sees nothing of what came before.
    let cat = app.signup("cat").await;
    befriend(ann, &cat).await;
    ann.client
        .add_member(&group, &cat.account_id)
        .await
        .unwrap();
    let seen = listed(&cat, &group).await;
    assert!(seen.last_message.is_none());
    assert_eq!((seen.unread_count, seen.member_count), (0, 3));
    // A recalled last message shows as recalled, with no text.
    let (oops, _) = bob
        .client
        .send_message(&group, "b-3", "oops")
        .await
        .unwrap();
    bob.client
        .recall_message(&group, &oops.message_id)
        .await
        .unwrap();
    let preview = listed(&cat, &group).await.last_message.unwrap();
    assert!(preview.recalled && preview.text.is_empty());
    assert_eq!(
        preview.recalled_by.as_deref(),
        Some(bob.account_id.as_str())
    );
}

#[tokio::test]
async fn settings_reach_every_device_and_order_the_list() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let mut directs = Vec::new();
    for name in ["bob", "cat", "dan"] {
        let friend = app.signup(name).await;
        let direct = befriend(&ann, &friend).await;
        friend
            .client
            .send_message(&direct, "hi", "hi")
            .await
            .unwrap();
        directs.push(direct);
    }
    let laptop = app.login("ann", "laptop").await;
    let (mut laptop_socket, _) = live_socket(&laptop).await;
    // The oldest pinned goes first; muting keeps its place.
    let oldest = &directs[0];
    let answer = ann
        .client
        .change_conversation_settings(oldest, &pin(true))
        .await
        .unwrap();
    assert!(answer.pinned && !answer.muted && !answer.archived);
    let event = next_of_type(&mut laptop_socket, "conversation.settings").await;
    assert_eq!(field(&event, "conversation_id"), oldest.as_str());
    assert_eq!(field(&event, "pinned"), true);
    let order: Vec<String> = laptop
        .client
        .conversations()
        .await
        .unwrap()
        .conversations
        .into_iter()
        .map(|found| found.conversation_id)
        .collect();
    assert_eq!(
        order,
        [&directs[0], &directs[2], &directs[1]].map(String::clone)
    );
    // Archiving unpins; the same change again logs nothing.
    let archive = ConversationSettingsChange {
        archived: Some(true),
        muted: Some(true),
        ..ConversationSettingsChange::default()
    };
    let answer = ann
        .client
        .change_conversation_settings(oldest, &archive)
        .await
        .unwrap();
    assert!(answer.archived && answer.muted && !answer.pinned);
    ann.client
        .change_conversation_settings(oldest, &archive)
        .await
        .unwrap();
    let (events, _) = sync_all(&ann.client, None, 200).await;
    let settings = events.iter().filter(|e| e.type_ == "conversation.settings");
    assert_eq!(settings.count(), 2, "pinned, then archived and muted");
    let seen = listed(&laptop, oldest).await;
    assert!(seen.archived && seen.muted && !seen.pinned);

    let both = ConversationSettingsChange {
        pinned: Some(true),
        archived: Some(true),
        ..ConversationSettingsChange::default()
    };
    let refused = ann.client.change_conversation_settings(oldest, &both).await;
    assert_problem(&refused.unwrap_err(), 400, "invalid_settings");
    let stranger = app.signup("eve").await;
    let refused = stranger
        .client
        .change_conversation_settings(oldest, &pin(true))
        .await;
    assert_problem(&refused.unwrap_err(), 403, "not_a_member");
    assert!(
        !listed(&ann, oldest).await.pinned,
        "refusals changed nothing"
    );
}

#[tokio::test]
async fn at_most_ten_are_pinned() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    befriend(&ann, &bob).await;
    let mut groups = Vec::new();
    for n in 0..11 {
        let members = [bob.account_id.clone()];
        groups.push(
            ann.client
                .create_group(&format!("g{n}"), &members)
                .await
                .unwrap(),
        );
    }
    for group in &groups[..10] {
        ann.client
            .change_conversation_settings(group, &pin(true))
            .await
            .unwrap();
    }
    let refused = ann
        .client
        .change_conversation_settings(&groups[10], &pin(true))
        .await;
    assert_problem(&refused.unwrap_err(), 409, "limit_reached");
    // Pinning a pinned one again is no new pin.
    ann.client
        .change_conversation_settings(&groups[0], &pin(true))
        .await
        .unwrap();
    ann.client
        .change_conversation_settings(&groups[0], &pin(false))
        .await
        .unwrap();
    ann.client
        .change_conversation_settings(&groups[10], &pin(true))
        .await
        .unwrap();
}

/// Pages keep the list's order across the pinned and the rest, each once.
#[tokio::test]
async fn pages_keep_pinned_first_and_each_once() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let mut directs = Vec::new();
    for name in ["bob", "cat", "dan", "eve", "fay"] {
        let friend = app.signup(name).await;
        let direct = befriend(&ann, &friend).await;
        friend
            .client
            .send_message(&direct, "hi", "hi")
            .await
            .unwrap();
        directs.push(direct);
    }
    for pinned in [&directs[1], &directs[3]] {
        ann.client
            .change_conversation_settings(pinned, &pin(true))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/conversations?limit=2&cursor={cursor}"),
            None => "/api/v1/conversations?limit=2".to_owned(),
        };
        let answer = ann
            .client
            .raw(Method::GET, &path, None, None)
            .await
            .unwrap();
        assert_eq!(answer.status, 200);
        let page: Value = serde_json::from_slice(&answer.body).unwrap();
        for found in page["conversations"].as_array().unwrap() {
            seen.push(found["conversation_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected = [4, 2, 0].map(|index| directs[index].clone());
    let expected: Vec<String> = [directs[3].clone(), directs[1].clone()]
        .into_iter()
        .chain(expected)
        .collect();
    assert_eq!(seen, expected);
    // A cursor from before pinning (`<ms>.<id>`) still reads, as unpinned.
    let old = format!(
        "/api/v1/conversations?cursor=p1.{}.{}",
        i64::MAX,
        directs[4]
    );
    let answer = ann.client.raw(Method::GET, &old, None, None).await.unwrap();
    assert_eq!(answer.status, 200);
}
