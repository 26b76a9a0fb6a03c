//! Contacts, direct and group conversations, idempotent sending, isolation.

use crate::helpers::*;

#[tokio::test]
async fn two_accounts_become_contacts_and_chat() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let (mut bob_socket, _) = live_socket(&bob).await;

    let request = ann
        .client
        .request_contact("bob", Some("hi, it's Ann"))
        .await
        .unwrap();
    let incoming = bob.client.contact_requests().await.unwrap().requests;
    assert_eq!(incoming.len(), 1);
    assert_eq!(incoming[0].request_id, request);
    assert_eq!(incoming[0].from.username, "ann");
    assert_eq!(incoming[0].greeting, "hi, it's Ann");
    let event = next_of_type(&mut bob_socket, "contact.request").await;
    assert_eq!(field(&event, "greeting"), "hi, it's Ann");

    bob.client.accept_request(&request).await.unwrap();
    assert!(
        bob.client
            .contact_requests()
            .await
            .unwrap()
            .requests
            .is_empty()
    );
    let ann_contacts = ann.client.contacts().await.unwrap().contacts;
    assert_eq!(
        ann_contacts
            .iter()
            .map(|c| c.username.as_str())
            .collect::<Vec<_>>(),
        ["bob"]
    );
    let bob_contacts = bob.client.contacts().await.unwrap().contacts;
    assert_eq!(bob_contacts[0].account_id, ann.account_id);
    next_of_type(&mut bob_socket, "contact.added").await;

    let conversation = ann.client.open_direct(&bob.account_id).await.unwrap();
    assert_eq!(
        bob.client.open_direct(&ann.account_id).await.unwrap(),
        conversation,
        "one conversation per pair"
    );

    let (sent, replayed) = ann
        .client
        .send_message(&conversation, "c-1", "hello Bob")
        .await
        .unwrap();
    assert!(!replayed);
    assert_eq!(sent.seq, 1);
    let event = next_of_type(&mut bob_socket, "message.new").await;
    assert_eq!(field(&event, "conversation_id"), conversation.as_str());
    assert_eq!(field(&event, "message_id"), sent.message_id.as_str());
    assert_eq!(field(&event, "seq"), 1);
    assert_eq!(field(&event, "sender"), ann.account_id.as_str());
    assert_eq!(text_of(&event), "hello Bob");
    assert_eq!(field(&event, "sent_at"), sent.sent_at.as_str());
    assert_eq!(field(&event, "client_msg_id"), "c-1");

    bob.client
        .send_message(&conversation, "b-1", "hi Ann")
        .await
        .unwrap();
    ann.client
        .send_message(&conversation, "c-2", "how are you?")
        .await
        .unwrap();
    let page = bob.client.history(&conversation, None, None).await.unwrap();
    let texts: Vec<_> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        ["how are you?", "hi Ann", "hello Bob"],
        "newest first"
    );
    assert!(!page.has_more);
    let older = bob
        .client
        .history(&conversation, Some(3), Some(1))
        .await
        .unwrap();
    assert_eq!(older.messages.len(), 1);
    assert_eq!(older.messages[0].seq, 2);
    assert!(older.has_more);

    let listed = bob.client.conversations().await.unwrap().conversations;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].kind.as_str(),
            listed[0].last_seq,
            listed[0].unread
        ),
        ("direct", 3, 1)
    );
    bob.client.mark_read(&conversation, 3).await.unwrap();
    assert_eq!(
        bob.client.conversations().await.unwrap().conversations[0].unread,
        0
    );
    app.shut_down().await;
}

#[tokio::test]
async fn a_group_of_three() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let dan = app.signup("dan").await;
    let eve = app.signup("eve").await;
    befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    befriend(&ann, &dan).await;
    befriend(&bob, &eve).await;

    let error = ann
        .client
        .create_group("Trip", &[bob.account_id.clone(), eve.account_id.clone()])
        .await
        .unwrap_err();
    assert_problem(&error, 403, "not_a_contact");

    let (mut cat_socket, _) = live_socket(&cat).await;
    let group = ann
        .client
        .create_group("Trip", &[bob.account_id.clone(), cat.account_id.clone()])
        .await
        .unwrap();
    let created = next_of_type(&mut cat_socket, "conversation.created").await;
    assert_eq!(field(&created, "conversation_id"), group.as_str());
    assert_eq!(field(&created, "title"), "Trip");

    for (user, text) in [(&ann, "who's in?"), (&bob, "me"), (&cat, "me too")] {
        user.client
            .send_message(&group, &format!("{}-1", user.username), text)
            .await
            .unwrap();
    }
    let mut histories = Vec::new();
    for user in [&ann, &bob, &cat] {
        let page = user.client.history(&group, None, None).await.unwrap();
        histories.push(
            page.messages
                .iter()
                .map(|m| (m.seq, m.text.clone()))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        histories[0],
        [
            (3, "me too".to_owned()),
            (2, "me".to_owned()),
            (1, "who's in?".to_owned())
        ]
    );
    assert!(
        histories.iter().all(|h| *h == histories[0]),
        "every member sees one order"
    );

    // Only the owner adds; a newcomer sees what is said after joining.
    let error = bob
        .client
        .add_member(&group, &dan.account_id)
        .await
        .unwrap_err();
    assert_problem(&error, 403, "not_owner");
    ann.client
        .add_member(&group, &dan.account_id)
        .await
        .unwrap();
    assert!(message_count(&dan, &group).await == 0);
    dan.client
        .send_message(&group, "dan-1", "hi all")
        .await
        .unwrap();
    assert_eq!(message_count(&dan, &group).await, 1);
    let added = next_of_type(&mut cat_socket, "conversation.member_added").await;
    assert_eq!(field(&added, "account_id"), dan.account_id.as_str());

    // A member leaves and can no longer read or post.
    bob.client
        .remove_member(&group, &bob.account_id)
        .await
        .unwrap();
    let removed = next_of_type(&mut cat_socket, "conversation.member_removed").await;
    assert_eq!(field(&removed, "account_id"), bob.account_id.as_str());
    assert_problem(
        &bob.client
            .send_message(&group, "bob-2", "back?")
            .await
            .unwrap_err(),
        403,
        "not_a_member",
    );
    assert_problem(
        &bob.client.history(&group, None, None).await.unwrap_err(),
        403,
        "not_a_member",
    );
    // A member who is neither the owner nor an admin cannot remove others.
    assert_problem(
        &cat.client
            .remove_member(&group, &dan.account_id)
            .await
            .unwrap_err(),
        403,
        "not_admin",
    );

    let listed = ann.client.conversations().await.unwrap().conversations;
    let trip = listed.iter().find(|c| c.conversation_id == group).unwrap();
    assert_eq!(
        (
            trip.kind.as_str(),
            trip.title.as_str(),
            trip.member_count,
            trip.last_seq
        ),
        ("group", "Trip", 3, 4)
    );

    // A retry of what bob sent before leaving still replays its answer.
    let (_, replayed) = bob
        .client
        .send_message(&group, "bob-1", "me")
        .await
        .unwrap();
    assert!(replayed, "a retry after leaving is a replay, not a 403");

    // A newcomer's log starts with the whole picture of the group.
    let (dan_events, _) = sync_all(&dan.client, None, 100).await;
    let snapshot = dan_events
        .iter()
        .find(|e| {
            e.type_ == "conversation.created" && field(e, "conversation_id") == group.as_str()
        })
        .expect("dan learns the group as a creator would");
    assert_eq!(field(snapshot, "title"), "Trip");
    assert_eq!(field(snapshot, "owner"), ann.account_id.as_str());
    assert_eq!(
        field(snapshot, "members").as_array().unwrap().len(),
        4,
        "ann, bob, cat and dan"
    );

    // When the owner leaves, the longest-standing member inherits the
    // group, and every member's log says so.
    ann.client
        .remove_member(&group, &ann.account_id)
        .await
        .unwrap();
    let removed = next_of_type(&mut cat_socket, "conversation.member_removed").await;
    assert_eq!(field(&removed, "account_id"), ann.account_id.as_str());
    assert_eq!(field(&removed, "owner"), cat.account_id.as_str());
    assert_problem(
        &dan.client
            .remove_member(&group, &cat.account_id)
            .await
            .unwrap_err(),
        403,
        "not_admin",
    );
    cat.client
        .remove_member(&group, &dan.account_id)
        .await
        .unwrap();
    app.shut_down().await;
}

#[tokio::test]
async fn a_retried_send_is_stored_once() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;

    let (first, replayed) = ann
        .client
        .send_message(&conversation, "retry-me", "only once")
        .await
        .unwrap();
    assert!(!replayed);
    for _ in 0..3 {
        let (again, replayed) = ann
            .client
            .send_message(&conversation, "retry-me", "only once")
            .await
            .unwrap();
        assert!(replayed, "a retry answers 200");
        assert_eq!(again, first, "and the same body");
    }
    let error = ann
        .client
        .send_message(&conversation, "retry-me", "something else")
        .await
        .unwrap_err();
    assert_problem(&error, 422, "client_msg_id_reused");

    assert_eq!(message_count(&bob, &conversation).await, 1);
    let (events, _) = sync_all(&bob.client, None, 100).await;
    assert_eq!(
        events.iter().filter(|e| e.type_ == "message.new").count(),
        1,
        "one log entry too"
    );

    // The same over the socket: a retried frame is acked with the first answer.
    let (mut socket, _) = live_socket(&ann).await;
    for _ in 0..2 {
        socket
            .send(&piazza_api::ClientFrame::Send {
                conversation_id: conversation.clone(),
                client_msg_id: "retry-me".into(),
                message: piazza_api::MessageContent::text("only once"),
            })
            .await
            .unwrap();
    }
    for _ in 0..2 {
        loop {
            match tokio::time::timeout(PATIENCE, socket.next()).await.unwrap() {
                Some(Ok(piazza_client::Incoming::Frame(piazza_api::ServerFrame::Ack {
                    message_id,
                    seq,
                    ..
                }))) => {
                    assert_eq!(
                        (message_id.as_str(), seq),
                        (first.message_id.as_str(), first.seq)
                    );
                    break;
                }
                Some(Ok(_)) => {}
                other => panic!("expected an ack, got {other:?}"),
            }
        }
    }
    assert_eq!(message_count(&bob, &conversation).await, 1);
    app.shut_down().await;
}

#[tokio::test]
async fn a_non_member_can_neither_read_nor_post() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let eve = app.signup("eve").await;
    let conversation = befriend(&ann, &bob).await;
    ann.client
        .send_message(&conversation, "a-1", "private")
        .await
        .unwrap();

    // A real id that is not hers and ids that do not exist get one answer.
    for id in [conversation.as_str(), "conv_999999", "conv_x", "nonsense"] {
        assert_problem(
            &eve.client.history(id, None, None).await.unwrap_err(),
            403,
            "not_a_member",
        );
        assert_problem(
            &eve.client
                .send_message(id, "e-1", "let me in")
                .await
                .unwrap_err(),
            403,
            "not_a_member",
        );
        assert_problem(
            &eve.client.mark_read(id, 1).await.unwrap_err(),
            403,
            "not_a_member",
        );
        assert_problem(
            &eve.client
                .add_member(id, &eve.account_id)
                .await
                .unwrap_err(),
            403,
            "not_a_member",
        );
    }
    let (events, _) = sync_all(&eve.client, None, 100).await;
    assert!(events.is_empty(), "nothing reached eve's log");
    assert_eq!(
        message_count(&bob, &conversation).await,
        1,
        "nothing was added"
    );

    // Direct messages flow only between contacts.
    assert_problem(
        &eve.client.open_direct(&ann.account_id).await.unwrap_err(),
        403,
        "not_a_contact",
    );
    ann.client.remove_contact(&bob.account_id).await.unwrap();
    assert_problem(
        &ann.client
            .send_message(&conversation, "a-2", "still there?")
            .await
            .unwrap_err(),
        403,
        "not_a_contact",
    );
    assert!(
        bob.client.contacts().await.unwrap().contacts.is_empty(),
        "removal is mutual"
    );
    app.shut_down().await;
}

#[tokio::test]
async fn asking_back_accepts_and_requests_are_not_doubled() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let first = ann.client.request_contact("bob", Some("hi")).await.unwrap();
    let again = ann.client.request_contact("bob", Some("hi")).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(
        bob.client.contact_requests().await.unwrap().requests.len(),
        1
    );
    bob.client.request_contact("ann", None).await.unwrap();
    assert_eq!(
        ann.client.contacts().await.unwrap().contacts.len(),
        1,
        "asking back accepts"
    );
    assert_problem(
        &ann.client.request_contact("bob", None).await.unwrap_err(),
        409,
        "already_contacts",
    );
    assert_problem(
        &ann.client
            .request_contact("nobody", None)
            .await
            .unwrap_err(),
        404,
        "account_not_found",
    );
    assert_problem(
        &ann.client.request_contact("ann", None).await.unwrap_err(),
        400,
        "self_target",
    );
    // Only the recipient may accept, and a stranger learns nothing.
    let cat = app.signup("cat").await;
    let request = ann.client.request_contact("cat", None).await.unwrap();
    assert_problem(
        &bob.client.accept_request(&request).await.unwrap_err(),
        404,
        "request_not_found",
    );
    assert_problem(
        &bob.client.accept_request("req_424242").await.unwrap_err(),
        404,
        "request_not_found",
    );
    cat.client.accept_request(&request).await.unwrap();
    cat.client.accept_request(&request).await.unwrap();
    assert_eq!(cat.client.contacts().await.unwrap().contacts.len(), 1);
    app.shut_down().await;
}
