//! Every area across nodes: three accounts, each with its device on a
//! different node of three (one database, a NATS cluster), chat, pay,
//! claim a red packet, comment on a moment, follow a channel and buy from
//! a shop. Each device's socket, live all along on its own node, ends up
//! holding exactly the log a fresh sync through another node reads: every
//! event that became visible on another node reached it live, in order,
//! once.

use std::time::Duration;

use piazza_api::{CreateChannel, EventView, NewMoment, PublishArticle};
use piazza_client::{Incoming, Socket, SplitMode};

use crate::cluster::{NatsCluster, device};
use crate::helpers::{PASSWORD, User, live_socket, start_server_process_on_database, sync_all};
use crate::shops::{key, open_shop, order_of};
use crate::wallet::{PIN, set_pin, top_up};
use piazza_client::Client;
use piazza_postgres::testing::TestDatabase;

/// Reads `socket` until it has been quiet for `quiet`.
async fn drain(socket: &mut Socket, quiet: Duration) -> Vec<EventView> {
    let mut events = Vec::new();
    while let Ok(next) = tokio::time::timeout(quiet, socket.next()).await {
        match next {
            Some(Ok(Incoming::Event(event))) => events.push(event),
            Some(Ok(_)) => {}
            other => panic!("the socket ended: {other:?}"),
        }
    }
    events
}

#[tokio::test]
async fn every_area_crosses_nodes_and_every_device_converges() {
    let nats = NatsCluster::start(3).await;
    let database = TestDatabase::create();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut nodes = Vec::new();
    for (n, dir) in dirs.iter().enumerate() {
        let urls = nats.urls_from(n);
        let args = ["--nats-url", &urls, "--sandbox-payments"];
        nodes.push(start_server_process_on_database(dir.path(), &database.url, &args).await);
    }
    let names = ["ann", "bob", "cat"];
    let anonymous = Client::new(&nodes[0].base);
    let mut users: Vec<User> = Vec::new();
    for (n, name) in names.iter().enumerate() {
        let id = anonymous
            .create_account(name, PASSWORD, None)
            .await
            .unwrap()
            .account_id;
        users.push(device(&nodes[n], name, &id).await);
    }
    let [ann, bob, cat] = [&users[0], &users[1], &users[2]];
    for (from, to) in [(ann, bob), (ann, cat), (bob, cat)] {
        let request = from
            .client
            .request_contact(&to.username, None)
            .await
            .unwrap();
        to.client.accept_request(&request).await.unwrap();
    }
    let mut sockets = Vec::new();
    for user in &users {
        let (socket, replayed) = live_socket(user).await;
        sockets.push((socket, replayed));
        set_pin(user).await;
    }

    // Chat and money across nodes.
    let group = ann
        .client
        .create_group(
            "three nodes",
            &[bob.account_id.clone(), cat.account_id.clone()],
        )
        .await
        .unwrap();
    for user in &users {
        let id = format!("hello-from-{}", user.username);
        user.client.send_message(&group, &id, &id).await.unwrap();
    }
    // Search across nodes: 90 messages sent at once through three nodes'
    // writers (ids may commit out of order) are all found, from any node,
    // by the one indexer the cluster runs.
    let bursts = users.iter().map(|user| {
        let group = group.clone();
        async move {
            for n in 0..30 {
                let id = format!("burst-{}-{n}", user.username);
                user.client
                    .send_message(&group, &id, &format!("{id} búrst"))
                    .await
                    .unwrap();
            }
        }
    });
    futures_util::future::join_all(bursts).await;
    for user in &users {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let mut found = 0;
            let mut cursor: Option<String> = None;
            loop {
                let search = piazza_client::Search {
                    cursor: cursor.as_deref(),
                    limit: Some(50),
                    ..piazza_client::Search::messages("burst ")
                };
                let page = user.client.search(&search).await.unwrap();
                found += page.results.len();
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            if found == 90 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} found {found} of 90",
                user.username
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(top_up(ann, 10_000, "ann-top-up").await.0, 201);
    let sent = ann
        .client
        .send_transfer(&key("to-bob"), &bob.account_id, 1_000, PIN, None)
        .await
        .unwrap();
    bob.client.accept_transfer(&sent.transfer_id).await.unwrap();
    let packet = ann
        .client
        .send_red_packet(&key("packet"), &group, 300, 3, SplitMode::Equal, PIN, None)
        .await
        .unwrap();
    for user in [bob, cat] {
        user.client
            .claim_red_packet(&packet.red_packet_id)
            .await
            .unwrap();
    }

    // A moment on node 1, commented on from nodes 0 and 2.
    let moment = bob
        .client
        .post_moment(&NewMoment {
            text: "pasta night".to_owned(),
            ..NewMoment::default()
        })
        .await
        .unwrap();
    for user in [cat, ann] {
        user.client
            .comment_moment(&moment.moment_id, "count me in", None)
            .await
            .unwrap();
    }

    // A channel on node 2, followed from nodes 0 and 1.
    let channel = cat
        .client
        .create_channel(&CreateChannel {
            handle: "pasta_news".to_owned(),
            name: "Pasta news".to_owned(),
            description: "What is cooking".to_owned(),
            avatar_media_id: None,
        })
        .await
        .unwrap();
    for user in [ann, bob] {
        user.client
            .follow_channel(&channel.channel_id)
            .await
            .unwrap();
    }
    cat.client
        .publish_article(
            &channel.channel_id,
            &PublishArticle {
                title: "Tajarin".to_owned(),
                body_markdown: "Forty yolks a kilo.".to_owned(),
                cover_media_id: None,
            },
        )
        .await
        .unwrap();

    // A shop on node 2, an order placed and paid on node 0.
    let (shop, product) = open_shop(cat, "nonna", 10).await;
    let variant = product.variants[0].variant_id.clone();
    let order = ann
        .client
        .place_order(&order_of(&shop, &[(&variant, 2)]), &key("order"))
        .await
        .unwrap();
    ann.client
        .pay_order(&order.order_id, PIN, &key("pay"))
        .await
        .unwrap();

    // Each device's socket holds what a fresh sync through the next node
    // reads: the same events, in the same order, each once.
    for (n, (user, (socket, replayed))) in users.iter().zip(sockets.iter_mut()).enumerate() {
        let mut held = std::mem::take(replayed);
        held.extend(drain(socket, Duration::from_millis(1500)).await);
        let elsewhere = Client::new(&nodes[(n + 1) % 3].base)
            .with_token(user.client.token().unwrap().to_owned());
        let (synced, _) = sync_all(&elsewhere, None, 500).await;
        let sequence = |events: &[EventView]| -> Vec<(String, String)> {
            events
                .iter()
                .map(|e| (e.cursor.clone(), e.type_.clone()))
                .collect()
        };
        assert_eq!(
            sequence(&held),
            sequence(&synced),
            "{}'s device on node {n} holds its whole log",
            user.username
        );
        let types: std::collections::BTreeSet<&str> =
            synced.iter().map(|e| e.type_.as_str()).collect();
        eprintln!("{}: {} events, {types:?}", user.username, synced.len());
    }
    crate::helpers::admin_checks_pass_on_database(&database.url);
}
