//! Reactions: one emoji each, several per member up to the cap, counted
//! per emoji in the history and told to every member; refusals change
//! nothing; a recall takes a message's reactions with it.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::wallet::{assert_code, call};

/// The reactions of message `seq` as `user`'s history shows them, as
/// (emoji, count, accounts).
async fn shown(user: &User, conversation: &str, seq: i64) -> Vec<(String, usize, Vec<String>)> {
    let page = user
        .client
        .history(conversation, Some(seq + 1), Some(1))
        .await
        .unwrap();
    let message = page.messages.into_iter().find(|m| m.seq == seq).unwrap();
    message
        .reactions
        .into_iter()
        .map(|r| (r.emoji, r.count, r.accounts))
        .collect()
}

/// `user`'s `message.reaction` entries as (emoji, added).
async fn logged(user: &User) -> Vec<(String, bool)> {
    let (events, _) = sync_all(&user.client, None, 200).await;
    events
        .iter()
        .filter(|event| event.type_ == "message.reaction")
        .map(|event| {
            let emoji = event.fields["emoji"].as_str().unwrap().to_owned();
            (emoji, event.fields["added"] == Value::Bool(true))
        })
        .collect()
}

#[tokio::test]
async fn reactions_are_counted_per_emoji_and_reach_every_member() {
    let app = spawn_app().await;
    let (users, conversation) = group_of(&app, "Reactions", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let (mut ann_socket, _) = live_socket(ann).await;
    let (sent, _) = ann
        .client
        .send_message(&conversation, "a-1", "lunch at one?")
        .await
        .unwrap();
    let id = &sent.message_id;
    bob.client.react(&conversation, id, "👍").await.unwrap();
    cat.client.react(&conversation, id, "👍").await.unwrap();
    // Minimally qualified, it is the same heart as the fully qualified one.
    cat.client.react(&conversation, id, "❤").await.unwrap();
    cat.client.react(&conversation, id, "❤️").await.unwrap();
    bob.client.react(&conversation, id, "👍").await.unwrap();
    let expected = vec![
        (
            "👍".to_owned(),
            2,
            vec![bob.account_id.clone(), cat.account_id.clone()],
        ),
        ("❤️".to_owned(), 1, vec![cat.account_id.clone()]),
    ];
    for user in [ann, bob, cat] {
        assert_eq!(shown(user, &conversation, sent.seq).await, expected);
        let added = vec![
            ("👍".to_owned(), true),
            ("👍".to_owned(), true),
            ("❤️".to_owned(), true),
        ];
        assert_eq!(
            logged(user).await,
            added,
            "{}: each reaction once",
            user.username
        );
    }
    // Each viewer is told which are theirs.
    let mine = |user: &User| {
        let (conversation, user) = (conversation.clone(), user.clone());
        async move {
            let page = user
                .client
                .history(&conversation, None, Some(1))
                .await
                .unwrap();
            let reactions = &page.messages[0].reactions;
            reactions.iter().map(|r| r.mine).collect::<Vec<bool>>()
        }
    };
    assert_eq!(mine(ann).await, [false, false]);
    assert_eq!(mine(bob).await, [true, false]);
    assert_eq!(mine(cat).await, [true, true]);
    let live = next_of_type(&mut ann_socket, "message.reaction").await;
    assert_eq!(
        (
            &live.fields["emoji"],
            &live.fields["account_id"],
            &live.fields["seq"]
        ),
        (&json!("👍"), &json!(bob.account_id), &json!(sent.seq))
    );

    // Taken back: gone from the counts, told to everyone; twice is once.
    cat.client.unreact(&conversation, id, "❤️").await.unwrap();
    cat.client.unreact(&conversation, id, "❤").await.unwrap();
    assert_eq!(shown(bob, &conversation, sent.seq).await, expected[..1]);
    assert_eq!(logged(ann).await.last(), Some(&("❤️".to_owned(), false)));
    assert_eq!(logged(ann).await.len(), 4);
    app.shut_down().await;
}

#[tokio::test]
async fn refused_reactions_change_nothing_and_a_recall_takes_them_away() {
    let app = spawn_app().await;
    let (users, conversation) = group_of(&app, "Reactions", &["ann", "bob"]).await;
    let (ann, bob) = (&users[0], &users[1]);
    let (sent, _) = ann
        .client
        .send_message(&conversation, "a-1", "before dan")
        .await
        .unwrap();
    let path = format!(
        "/api/v1/conversations/{conversation}/messages/{}/reactions",
        sent.message_id
    );
    for emoji in ["ok", "👍👍", "", " 👍", "<b>"] {
        let answer = call(
            &bob.client,
            reqwest::Method::POST,
            &path,
            Some(json!({"emoji": emoji})),
            None,
        )
        .await;
        assert_code(&answer, 400, "invalid_emoji");
    }
    let dan = app.signup("dan").await;
    befriend(ann, &dan).await;
    ann.client
        .add_member(&conversation, &dan.account_id)
        .await
        .unwrap();
    let error = dan
        .client
        .react(&conversation, &sent.message_id, "👍")
        .await;
    assert_problem(&error.unwrap_err(), 404, "message_not_found");
    let eve = app.signup("eve").await;
    let error = eve
        .client
        .react(&conversation, &sent.message_id, "👍")
        .await;
    assert_problem(&error.unwrap_err(), 403, "not_a_member");
    let error = bob.client.react(&conversation, "msg_999999", "👍").await;
    assert_problem(&error.unwrap_err(), 404, "message_not_found");
    let error = dan
        .client
        .unreact(&conversation, &sent.message_id, "👍")
        .await;
    assert_problem(&error.unwrap_err(), 404, "message_not_found");
    let error = eve
        .client
        .unreact(&conversation, &sent.message_id, "👍")
        .await;
    assert_problem(&error.unwrap_err(), 403, "not_a_member");
    let error = bob
        .client
        .unreact(&conversation, &sent.message_id, "ok")
        .await;
    assert_problem(&error.unwrap_err(), 400, "invalid_emoji");
    let direct = befriend(&eve, bob).await;
    let (elsewhere, _) = eve.client.send_message(&direct, "e-1", "hi").await.unwrap();
    let error = bob
        .client
        .react(&conversation, &elsewhere.message_id, "👍")
        .await;
    assert_problem(&error.unwrap_err(), 404, "message_not_found");

    // Ten different emojis from one member, not eleven.
    let ten = ["😀", "😂", "😍", "😎", "🤔", "😢", "😡", "👏", "🎉", "🔥"];
    for emoji in ten {
        bob.client
            .react(&conversation, &sent.message_id, emoji)
            .await
            .unwrap();
    }
    let error = bob
        .client
        .react(&conversation, &sent.message_id, "🙏")
        .await;
    assert_problem(&error.unwrap_err(), 409, "limit_reached");
    // One already there is no new one, at the cap too.
    bob.client
        .react(&conversation, &sent.message_id, "😀")
        .await
        .expect("no change");
    assert_eq!(shown(ann, &conversation, sent.seq).await.len(), 10);
    // Dan joined after the message: he never learns of it, nor of its
    // reactions; eve is no member at all.
    for user in [&dan, &eve] {
        assert!(logged(user).await.is_empty(), "{}", user.username);
    }

    // A recall takes the reactions with it, and takes no more.
    ann.client
        .recall_message(&conversation, &sent.message_id)
        .await
        .unwrap();
    assert!(shown(bob, &conversation, sent.seq).await.is_empty());
    let error = bob
        .client
        .react(&conversation, &sent.message_id, "👍")
        .await;
    assert_problem(&error.unwrap_err(), 409, "message_recalled");
    app.shut_down().await;
}

/// A history page names the first 20 who reacted with an emoji and counts
/// them all; the 21st still learns the reaction is theirs.
#[tokio::test]
async fn a_page_names_the_first_twenty_and_counts_everyone() {
    let app = spawn_app().await;
    let names: Vec<String> = (0..22).map(|n| format!("user{n:02}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (users, conversation) = group_of(&app, "Reactions", &names).await;
    let (sent, _) = users[0]
        .client
        .send_message(&conversation, "u-1", "react, all of you")
        .await
        .unwrap();
    for user in &users[1..] {
        user.client
            .react(&conversation, &sent.message_id, "🎉")
            .await
            .unwrap();
    }
    let last = &users[21];
    let page = last
        .client
        .history(&conversation, None, Some(1))
        .await
        .unwrap();
    let party = &page.messages[0].reactions[0];
    assert_eq!((party.emoji.as_str(), party.count), ("🎉", 21));
    let first: Vec<&String> = users[1..21].iter().map(|u| &u.account_id).collect();
    assert_eq!(
        party.accounts.iter().collect::<Vec<_>>(),
        first,
        "in the order they reacted"
    );
    assert!(party.mine, "the 21st is not named, but it is theirs");
    let page = users[0]
        .client
        .history(&conversation, None, Some(1))
        .await
        .unwrap();
    assert!(!page.messages[0].reactions[0].mine);
    app.shut_down().await;
}
