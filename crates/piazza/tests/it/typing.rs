//! "Typing…" goes to the other members' sockets, never into a log, at
//! most once a conversation every two seconds from one socket, and only
//! from a member: one removed stops reaching the group at once.

use std::time::Duration;

use piazza_api::{ClientFrame, ServerFrame};
use piazza_client::{Incoming, Socket};
use serde_json::{Map, Value};

use crate::helpers::*;

async fn typing(socket: &mut Socket, conversation: &str) {
    let frame = ClientFrame::Typing {
        conversation_id: conversation.to_owned(),
    };
    socket.send(&frame).await.expect("typing sent");
}

/// What comes next on `socket` within `wait`: a typing event, an error
/// frame's code, or nothing (log events, presence and other frames
/// skipped).
async fn next_ephemeral(
    socket: &mut Socket,
    wait: Duration,
) -> Option<Result<Map<String, Value>, String>> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()?;
        match next {
            Some(Ok(Incoming::Ephemeral(fields))) if fields["type"] == "typing" => {
                return Some(Ok(fields));
            }
            Some(Ok(Incoming::Frame(ServerFrame::Error { code, .. }))) => return Some(Err(code)),
            Some(Ok(Incoming::Event(_) | Incoming::Frame(_) | Incoming::Ephemeral(_))) => continue,
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

#[tokio::test]
async fn typing_reaches_the_other_members_and_is_never_logged() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Plans", &["ann", "bob", "cat"]).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let (mut ann_socket, _) = live_socket(ann).await;
    let (mut cat_socket, _) = live_socket(cat).await;
    let (mut bob_socket, _) = live_socket(bob).await;
    let bob_laptop = app.login("bob", "laptop").await;
    let (mut bob_laptop_socket, _) = live_socket(&bob_laptop).await;

    typing(&mut bob_socket, &group).await;
    for socket in [&mut ann_socket, &mut cat_socket] {
        let seen = next_ephemeral(socket, PATIENCE)
            .await
            .expect("in time")
            .unwrap();
        assert_eq!(seen["type"], "typing");
        assert_eq!(seen["conversation_id"], group.as_str());
        assert_eq!(seen["account_id"], bob.account_id.as_str());
        assert!(!seen.contains_key("cursor"), "not a log entry");
    }
    let own = next_ephemeral(&mut bob_laptop_socket, Duration::from_millis(300)).await;
    assert!(own.is_none(), "not to the typer's own devices: {own:?}");

    // A second typing within two seconds is dropped; after, it passes.
    typing(&mut bob_socket, &group).await;
    let again = next_ephemeral(&mut ann_socket, Duration::from_millis(500)).await;
    assert!(again.is_none(), "paced: {again:?}");
    tokio::time::sleep(piazza_server::typing::TYPING_INTERVAL).await;
    typing(&mut bob_socket, &group).await;
    assert!(next_ephemeral(&mut ann_socket, PATIENCE).await.is_some());

    for user in [ann, bob, cat] {
        let (events, _) = sync_all(&user.client, None, 200).await;
        assert!(events.iter().all(|event| event.type_ != "typing"));
    }
}

#[tokio::test]
async fn only_a_member_types_and_a_removed_one_stops_at_once() {
    let app = spawn_app().await;
    let (users, group) = group_of(&app, "Plans", &["ann", "bob", "cat"]).await;
    let (ann, bob) = (&users[0], &users[1]);
    let eve = app.signup("eve").await;
    let (mut ann_socket, _) = live_socket(ann).await;
    let (mut bob_socket, _) = live_socket(bob).await;
    let (mut eve_socket, _) = live_socket(&eve).await;

    typing(&mut eve_socket, &group).await;
    let refused = next_ephemeral(&mut eve_socket, PATIENCE)
        .await
        .expect("answered");
    assert_eq!(refused, Err("not_a_member".to_owned()));
    typing(&mut eve_socket, "conv_999999").await;
    let refused = next_ephemeral(&mut eve_socket, PATIENCE)
        .await
        .expect("answered");
    assert_eq!(refused, Err("not_a_member".to_owned()));
    assert!(
        next_ephemeral(&mut ann_socket, Duration::from_millis(300))
            .await
            .is_none()
    );

    // bob types (his group's members are now remembered), is removed,
    // and his next typing, past the pace, reaches nobody.
    typing(&mut bob_socket, &group).await;
    assert!(next_ephemeral(&mut ann_socket, PATIENCE).await.is_some());
    ann.client
        .remove_member(&group, &bob.account_id)
        .await
        .unwrap();
    tokio::time::sleep(piazza_server::typing::TYPING_INTERVAL).await;
    typing(&mut bob_socket, &group).await;
    let refused = next_ephemeral(&mut bob_socket, PATIENCE)
        .await
        .expect("answered");
    assert_eq!(refused, Err("not_a_member".to_owned()));
    assert!(
        next_ephemeral(&mut ann_socket, Duration::from_millis(300))
            .await
            .is_none()
    );
}
