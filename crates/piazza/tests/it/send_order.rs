//! One sender's messages keep the order their socket sent them in, even
//! when the writer is saturated and every send waits for room in its
//! queue. An outside load generator once saw two pipelined sends of one
//! socket stored (and delivered) the other way round.

use std::collections::HashMap;

use piazza_api::{ClientFrame, ServerFrame};
use piazza_client::Incoming;

use crate::helpers::{PATIENCE, User, befriend, spawn_app_with};

/// Sockets flooding at once, and sends each pipelines.
const SENDERS: usize = 40;
const SENDS_EACH: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sockets_sends_are_stored_in_the_order_sent_under_a_saturated_writer() {
    let app = spawn_app_with(|config| {
        // A tiny writer queue: nearly every send waits for room, which is
        // where pipelined sends could overtake each other.
        config.limits.writer_queue_len_max = 16;
        config.limits.socket_messages_per_s = 1_000_000;
        config.limits.socket_messages_burst = 1_000_000;
    })
    .await;
    let mut pairs = Vec::new();
    for n in 0..SENDERS {
        let sender = app.signup(&format!("sender{n}")).await;
        let peer = app.signup(&format!("peer{n}")).await;
        let conversation = befriend(&sender, &peer).await;
        pairs.push((sender, conversation));
    }
    let floods = pairs
        .iter()
        .cloned()
        .map(|(sender, conversation)| tokio::spawn(flood(sender, conversation)));
    let acks: Vec<HashMap<String, i64>> = futures_util::future::join_all(floods)
        .await
        .into_iter()
        .map(|flooded| flooded.expect("a flood finishes"))
        .collect();
    for ((sender, conversation), acked) in pairs.iter().zip(acks) {
        let stored = stored_order(sender, conversation).await;
        assert_eq!(stored.len(), SENDS_EACH, "every send stored once");
        let out_of_order = stored
            .windows(2)
            .filter(|pair| pair[0].0 > pair[1].0)
            .count();
        assert_eq!(
            out_of_order,
            0,
            "{}'s sends stored out of the order sent: {:?}",
            sender.username,
            stored
                .windows(2)
                .find(|pair| pair[0].0 > pair[1].0)
                .unwrap()
        );
        for (number, seq) in &stored {
            assert_eq!(acked[&format!("m{number}")], *seq, "ack and store agree");
        }
    }
    app.shut_down().await;
}

/// Sends `SENDS_EACH` messages over one socket as fast as it takes them
/// and returns each ack's seq by client message id.
async fn flood(sender: User, conversation: String) -> HashMap<String, i64> {
    let socket = sender.client.connect_socket().await.expect("socket");
    let (mut out, mut incoming) = socket.split();
    let writing = tokio::spawn(async move {
        for number in 0..SENDS_EACH {
            let frame = ClientFrame::Send {
                conversation_id: conversation.clone(),
                client_msg_id: format!("m{number}"),
                message: piazza_api::MessageContent::text(format!("message {number}")),
            };
            out.send(&frame).await.expect("frame sent");
        }
        out
    });
    let mut acks = HashMap::new();
    while acks.len() < SENDS_EACH {
        let next = tokio::time::timeout(PATIENCE * 6, incoming.next())
            .await
            .expect("acks keep coming");
        match next {
            Some(Ok(Incoming::Frame(ServerFrame::Ack {
                client_msg_id, seq, ..
            }))) => {
                acks.insert(client_msg_id, seq);
            }
            Some(Ok(Incoming::Frame(ServerFrame::Error { code, detail, .. }))) => {
                panic!("a send was refused: {code}: {detail}")
            }
            Some(Ok(_)) => {}
            other => panic!("the socket ended early: {other:?}"),
        }
    }
    drop(writing.await);
    acks
}

/// The sender's messages as stored, oldest first: (number sent, seq).
async fn stored_order(sender: &User, conversation: &str) -> Vec<(usize, i64)> {
    let mut stored = Vec::new();
    let mut before = None;
    loop {
        let page = sender
            .client
            .history(conversation, before, Some(200))
            .await
            .expect("history");
        for message in &page.messages {
            let number = message
                .client_msg_id
                .strip_prefix('m')
                .and_then(|number| number.parse().ok());
            if let Some(number) = number {
                stored.push((number, message.seq));
            }
        }
        match page.messages.iter().map(|message| message.seq).min() {
            Some(oldest) if page.has_more => before = Some(oldest),
            _ => break,
        }
    }
    stored.sort_by_key(|(_, seq)| *seq);
    stored
}
