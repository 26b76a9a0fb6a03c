//! Several devices of one account: live push, an offline device catching
//! up, a new device rebuilding everything, revocation, long-poll.

use std::time::{Duration, Instant};

use piazza_client::Incoming;

use crate::helpers::*;

#[tokio::test]
async fn three_devices_one_offline_all_converge() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    let phone = app.login("ann", "phone").await;
    let laptop = app.login("ann", "laptop").await;
    let tablet = app.login("ann", "tablet").await;
    let (mut phone_socket, _) = live_socket(&phone).await;
    let (mut laptop_socket, _) = live_socket(&laptop).await;
    // The tablet has caught up once, then goes offline.
    let (_, tablet_cursor) = sync_all(&tablet.client, None, 50).await;

    for n in 0..20 {
        bob.client
            .send_message(&conversation, &format!("b-{n}"), &format!("message {n}"))
            .await
            .unwrap();
    }
    for socket in [&mut phone_socket, &mut laptop_socket] {
        let mut seqs = Vec::new();
        let mut last_position = 0;
        while seqs.len() < 20 {
            let event = next_event(socket).await;
            assert!(
                position(&event.cursor) > last_position,
                "pushed in log order"
            );
            last_position = position(&event.cursor);
            if event.type_ == "message.new" {
                seqs.push(field(&event, "seq").as_i64().unwrap());
            }
        }
        assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    }
    // The tablet comes back: exactly the twenty, in order, nothing else.
    let (missed, _) = sync_all(&tablet.client, Some(&tablet_cursor), 7).await;
    let texts: Vec<_> = missed.iter().map(text_of).collect();
    assert_eq!(
        texts,
        (0..20).map(|n| format!("message {n}")).collect::<Vec<_>>()
    );

    // A read marker set on the phone reaches the laptop through sync.
    phone.client.mark_read(&conversation, 20).await.unwrap();
    let marker = next_of_type(&mut laptop_socket, "read.marker").await;
    assert_eq!(field(&marker, "seq"), 20);
    assert_eq!(field(&marker, "conversation_id"), conversation.as_str());
    assert_eq!(
        tablet.client.conversations().await.unwrap().conversations[0].unread,
        0
    );
    app.shut_down().await;
}

#[tokio::test]
async fn a_brand_new_device_rebuilds_the_whole_account() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    let direct = befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    let group = ann
        .client
        .create_group("Friends", &[bob.account_id.clone(), cat.account_id.clone()])
        .await
        .unwrap();
    for n in 0..30 {
        let (user, conversation) = match n % 3 {
            0 => (&ann, &direct),
            1 => (&bob, &direct),
            _ => (&cat, &group),
        };
        user.client
            .send_message(
                conversation,
                &format!("{}-{n}", user.username),
                &format!("m{n}"),
            )
            .await
            .unwrap();
    }

    // The lost-phone case: a new device with nothing but the password.
    let new_phone = app.login("ann", "new phone").await;
    let (events, _) = sync_all(&new_phone.client, None, 8).await;
    let positions: Vec<_> = events.iter().map(|e| position(&e.cursor)).collect();
    assert_eq!(
        positions,
        (1..=positions.len() as i64).collect::<Vec<_>>(),
        "the log is gapless from 1"
    );
    for conversation in [&direct, &group] {
        let mut rebuilt: Vec<_> = events
            .iter()
            .filter(|e| {
                e.type_ == "message.new" && field(e, "conversation_id") == conversation.as_str()
            })
            .map(|e| (field(e, "seq").as_i64().unwrap(), text_of(e).to_owned()))
            .collect();
        rebuilt.reverse();
        let history: Vec<_> = new_phone
            .client
            .history(conversation, None, Some(200))
            .await
            .unwrap()
            .messages
            .into_iter()
            .map(|m| (m.seq, m.text))
            .collect();
        assert_eq!(rebuilt, history, "the log rebuilds {conversation} exactly");
    }
    let types: Vec<_> = events.iter().map(|e| e.type_.as_str()).collect();
    for expected in [
        "contact.request",
        "contact.added",
        "conversation.created",
        "message.new",
    ] {
        assert!(types.contains(&expected), "{expected} is in the log");
    }
    app.shut_down().await;
}

#[tokio::test]
async fn a_revoked_device_is_refused_and_disconnected() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let stolen = app.login("ann", "stolen phone").await;
    let bob = app.signup("bob").await;
    let (mut stolen_socket, _) = live_socket(&stolen).await;
    let (_, stolen_cursor) = sync_all(&stolen.client, None, 100).await;
    let stolen_waiting = {
        let client = stolen.client.clone();
        tokio::spawn(async move { client.sync(Some(&stolen_cursor), None, Some(20_000)).await })
    };

    let devices = ann.client.devices().await.unwrap().devices;
    assert_eq!(devices.len(), 2);
    assert!(
        devices
            .iter()
            .any(|d| d.device_id == ann.device_id && d.current)
    );
    assert!(
        devices.iter().any(|d| d.device_id == stolen.device_id
            && !d.current
            && d.device_name == "stolen phone")
    );

    // Another account cannot revoke it, whatever it guesses.
    assert_problem(
        &bob.client
            .revoke_device(&stolen.device_id)
            .await
            .unwrap_err(),
        404,
        "device_not_found",
    );
    assert_problem(
        &bob.client.revoke_device("dev_999").await.unwrap_err(),
        404,
        "device_not_found",
    );
    assert_problem(
        &bob.client.revoke_device("garbage").await.unwrap_err(),
        404,
        "device_not_found",
    );

    let revoked_at = Instant::now();
    ann.client.revoke_device(&stolen.device_id).await.unwrap();
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(1), stolen_socket.next())
            .await
            .expect("closed within a second")
        {
            Some(Ok(Incoming::Closed { code, reason })) => break (code, reason),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(closed.0, 4001, "closed as revoked: {closed:?}");
    assert!(revoked_at.elapsed() < Duration::from_secs(1));
    assert_problem(&stolen.client.me().await.unwrap_err(), 401, "unauthorized");
    // A long-poll it had open is answered 401 too, without waiting it out.
    let waited = stolen_waiting.await.unwrap().unwrap_err();
    assert_problem(&waited, 401, "unauthorized");
    assert!(revoked_at.elapsed() < Duration::from_secs(5));
    assert_problem(
        &stolen.client.connect_socket().await.err().unwrap(),
        401,
        "unauthorized",
    );
    assert_problem(
        &ann.client
            .revoke_device(&stolen.device_id)
            .await
            .unwrap_err(),
        404,
        "device_not_found",
    );
    assert_eq!(ann.client.devices().await.unwrap().devices.len(), 1);
    assert_eq!(
        ann.client.me().await.unwrap().username,
        "ann",
        "the other device still works"
    );
    app.shut_down().await;
}

#[tokio::test]
async fn long_poll_answers_when_an_event_arrives() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    let (_, cursor) = sync_all(&bob.client, None, 100).await;

    let started = Instant::now();
    let waiting = {
        let client = bob.client.clone();
        let cursor = cursor.clone();
        tokio::spawn(async move { client.sync(Some(&cursor), None, Some(20_000)).await })
    };
    ann.client
        .send_message(&conversation, "lp-1", "wake up")
        .await
        .unwrap();
    let page = waiting.await.unwrap().unwrap();
    assert_eq!(page.events.len(), 1);
    assert_eq!(text_of(&page.events[0]), "wake up");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered on the event, not the timeout"
    );

    // With nothing new it waits about as long as asked, then answers empty.
    let started = Instant::now();
    let empty = bob
        .client
        .sync(Some(&page.cursor), None, Some(300))
        .await
        .unwrap();
    assert!(empty.events.is_empty());
    assert_eq!(empty.cursor, page.cursor);
    assert!(started.elapsed() >= Duration::from_millis(250));

    // A cursor from beyond the log (another account's, or an old backup)
    // is brought back to the head, so nothing to come is skipped.
    let ahead = bob
        .client
        .sync(Some("v1.ffffff"), None, None)
        .await
        .unwrap();
    assert!(ahead.events.is_empty());
    assert_eq!(ahead.cursor, page.cursor);
    app.shut_down().await;
}

#[tokio::test]
async fn a_socket_sends_with_acks_and_resumes_from_its_cursor() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    let (mut socket, replayed) = live_socket(&ann).await;
    let cursor = replayed.last().unwrap().cursor.clone();
    for n in 0..50 {
        socket
            .send(&piazza_api::ClientFrame::Send {
                conversation_id: conversation.clone(),
                client_msg_id: format!("ws-{n}"),
                message: piazza_api::MessageContent::text(format!("pipelined {n}")),
            })
            .await
            .unwrap();
    }
    let mut acked = Vec::new();
    while acked.len() < 50 {
        match tokio::time::timeout(PATIENCE, socket.next()).await.unwrap() {
            Some(Ok(Incoming::Frame(piazza_api::ServerFrame::Ack {
                client_msg_id, seq, ..
            }))) => acked.push((client_msg_id, seq)),
            Some(Ok(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let expected: Vec<_> = (0..50).map(|n| (format!("ws-{n}"), n as i64 + 1)).collect();
    assert_eq!(
        acked, expected,
        "acks come in send order with consecutive seqs"
    );
    drop(socket);

    // A new connection replays from the cursor: exactly the fifty.
    let mut socket = ann.client.connect_socket().await.unwrap();
    socket
        .send(&piazza_api::ClientFrame::Sync {
            since: Some(cursor),
        })
        .await
        .unwrap();
    let mut seqs = Vec::new();
    loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await.unwrap() {
            Some(Ok(Incoming::Event(event))) => seqs.push(field(&event, "seq").as_i64().unwrap()),
            Some(Ok(Incoming::Frame(piazza_api::ServerFrame::Synced { .. }))) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());

    // Bad frames are answered with an error frame, and the socket lives on.
    socket.send_text("{not json").await.unwrap();
    socket
        .send_text(
            r#"{"op":"send","conversation_id":"conv_99999","client_msg_id":"x","text":"hi"}"#,
        )
        .await
        .unwrap();
    socket
        .send_text(r#"{"op":"sync","since":"garbage"}"#)
        .await
        .unwrap();
    let mut codes = Vec::new();
    while codes.len() < 3 {
        match tokio::time::timeout(PATIENCE, socket.next()).await.unwrap() {
            Some(Ok(Incoming::Frame(piazza_api::ServerFrame::Error { code, .. }))) => {
                codes.push(code)
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // A send is answered after the writer has seen it, so its error may
    // come after later frames' immediate ones.
    codes.sort();
    assert_eq!(codes, ["invalid_cursor", "malformed_frame", "not_a_member"]);
    socket.send(&piazza_api::ClientFrame::Ping).await.unwrap();
    match tokio::time::timeout(PATIENCE, socket.next()).await.unwrap() {
        Some(Ok(Incoming::Frame(piazza_api::ServerFrame::Pong))) => {}
        other => panic!("expected pong, got {other:?}"),
    }
    app.shut_down().await;
}

#[tokio::test]
async fn shutting_down_closes_sockets_with_going_away() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let (mut socket, _) = live_socket(&ann).await;
    let shutting = tokio::spawn(app.shut_down());
    let closed = loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await.unwrap() {
            Some(Ok(Incoming::Closed { code, .. })) => break code,
            Some(Ok(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(closed, 1001);
    shutting.await.unwrap();
}

#[tokio::test]
async fn a_socket_that_falls_behind_is_closed_and_catches_up_by_sync() {
    let app = spawn_app_with(|config| {
        config.limits.socket_queue_len_max = 8;
        // Bob reads nothing until all the sends are in, which takes longer
        // than the default write timeout on a loaded machine; a write that
        // times out drops the connection without the close frame under test.
        config.limits.socket_write_timeout_s = 300;
        // 1,200 sends as fast as HTTP goes: not what the rate limit is for.
        config.limits.requests_per_account_per_s = 100_000;
        config.limits.requests_per_account_burst = 100_000;
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    let (mut bob_socket, replayed) = live_socket(&bob).await;
    let before = replayed.last().unwrap().cursor.clone();

    // Bob stops reading. More than the kernel's socket buffers can hold
    // (~20 MB) backs up into his queue of 8, which overflows.
    let big = "x".repeat(16 * 1024 - 64);
    let sent = 1200;
    for n in 0..sent {
        ann.client
            .send_message(&conversation, &format!("big-{n}"), &format!("{n} {big}"))
            .await
            .unwrap();
    }
    let mut live = Vec::new();
    let close = loop {
        match tokio::time::timeout(PATIENCE, bob_socket.next())
            .await
            .expect("the socket answers")
        {
            Some(Ok(Incoming::Event(event))) => live.push(event),
            Some(Ok(Incoming::Closed { code, reason })) => break (code, reason),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(close.0, 4008, "closed for overflow: {close:?}");
    assert!(
        close.1.contains("sync"),
        "the reason says what to do: {close:?}"
    );
    assert!(live.len() < sent, "the queue did overflow");

    // The log has everything: live events, then sync from the last one seen.
    let last_seen = live
        .last()
        .map_or(before.clone(), |event| event.cursor.clone());
    let (rest, _) = sync_all(&bob.client, Some(&last_seen), 200).await;
    let mut all = live;
    all.extend(rest);
    let positions: Vec<_> = all.iter().map(|e| position(&e.cursor)).collect();
    let first = position(&before) + 1;
    assert_eq!(
        positions,
        (first..first + sent as i64).collect::<Vec<_>>(),
        "nothing lost, nothing doubled"
    );
    app.shut_down().await;
}

#[tokio::test]
async fn a_browser_can_pass_its_token_in_the_query() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let token = ann.client.token().unwrap().to_owned();
    let ws = app.base.replacen("http://", "ws://", 1);
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{ws}/api/v1/ws?token={token}"))
        .await
        .expect("upgraded");
    socket
        .send(Message::Text(r#"{"op":"sync"}"#.into()))
        .await
        .unwrap();
    let mut synced = false;
    while let Some(message) = tokio::time::timeout(PATIENCE, socket.next()).await.unwrap() {
        if let Message::Text(text) = message.unwrap()
            && text.contains(r#""op":"synced""#)
        {
            synced = true;
            break;
        }
    }
    assert!(synced, "the socket replays and goes live");
    let refused = tokio_tungstenite::connect_async(format!("{ws}/api/v1/ws?token=pz_forged")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("a forged token must be refused with 401, got {other:?}"),
    }
    app.shut_down().await;
}

/// A burst of requests from many devices: each gets its own device's
/// answer, a wrong token is refused among right ones, and a token revoked
/// in the middle of a burst is refused once its revocation is answered.
#[tokio::test]
async fn a_burst_of_requests_each_gets_its_own_device() {
    let app = spawn_app().await;
    let mut users = Vec::new();
    for n in 0..20 {
        users.push(app.signup(&format!("burst{n}")).await);
    }
    let wrong = app.anonymous().with_token("not-a-token".to_owned());
    let calls = (0..400).map(|n| {
        let user = &users[n % users.len()];
        let (client, expected) = if n % 7 == 0 {
            (wrong.clone(), None)
        } else {
            (user.client.clone(), Some(user.account_id.clone()))
        };
        async move { (client.me().await, expected) }
    });
    for (answer, expected) in futures_util::future::join_all(calls).await {
        match (answer, expected) {
            (Ok(me), Some(account)) => assert_eq!(me.account_id, account),
            (Err(error), None) => assert_problem(&error, 401, "unauthorized"),
            (answer, expected) => panic!("{expected:?} was answered {answer:?}"),
        }
    }

    let stolen = app.login("burst0", "stolen phone").await;
    let owner = users[0].client.clone();
    let burst = (0..200).map(|_| stolen.client.me());
    let revoked = owner.revoke_device(&stolen.device_id);
    let (answers, revoked) = tokio::join!(futures_util::future::join_all(burst), revoked);
    revoked.unwrap();
    for answer in answers.iter().filter_map(|answer| answer.as_ref().err()) {
        assert_problem(answer, 401, "unauthorized");
    }
    assert_problem(&stolen.client.me().await.unwrap_err(), 401, "unauthorized");
}
