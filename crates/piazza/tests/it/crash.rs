//! The durability promise: `kill -9` under send load loses nothing that was
//! acknowledged, stores nothing twice, and leaves every log gapless. On
//! PostgreSQL the kill takes the Piazza process alone: what it had not
//! committed is rolled back by the database, and what it acknowledged must
//! all be there when the next process starts on the same database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use piazza_client::Client;
use tokio::sync::Notify;

use crate::helpers::*;

const KILLS: usize = 3;
const ACKS_BEFORE_KILL: usize = 150;
const SENDERS: usize = 4;

#[derive(Debug, Clone)]
struct Acked {
    conversation: String,
    message_id: String,
    seq: i64,
}

#[tokio::test]
async fn kill_9_under_load_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut server = start_server_process(&data_dir, &[]).await;

    let anonymous = Client::new(&server.base);
    let mut tokens = HashMap::new();
    for name in ["ann", "bob", "cat"] {
        anonymous
            .create_account(name, PASSWORD, None)
            .await
            .unwrap();
        tokens.insert(
            name,
            anonymous.login(name, PASSWORD, "load").await.unwrap().token,
        );
    }
    let client = |base: &str, name: &str| Client::new(base).with_token(tokens[name].clone());
    let ann = client(&server.base, "ann");
    let bob = client(&server.base, "bob");
    let cat = client(&server.base, "cat");
    let bob_id = bob.me().await.unwrap().account_id;
    let cat_id = cat.me().await.unwrap().account_id;
    for (friend, name) in [(&bob, "bob"), (&cat, "cat")] {
        let request = ann.request_contact(name, None).await.unwrap();
        friend.accept_request(&request).await.unwrap();
    }
    let direct = ann.open_direct(&bob_id).await.unwrap();
    let group = ann
        .create_group("load", &[bob_id.clone(), cat_id])
        .await
        .unwrap();

    let acked: Arc<Mutex<HashMap<String, Acked>>> = Arc::default();
    // Sends that were in flight at the kill: maybe stored, maybe not.
    let mut uncertain: Vec<(String, String, String, String)> = Vec::new();
    for round in 0..KILLS {
        let enough = Arc::new(Notify::new());
        let mut senders = Vec::new();
        for sender in 0..SENDERS {
            let name = ["ann", "bob", "cat", "ann"][sender];
            let conversation = if sender % 2 == 0 {
                group.clone()
            } else {
                direct.clone()
            };
            let conversation = if name == "cat" {
                group.clone()
            } else {
                conversation
            };
            let client = client(&server.base, name);
            let acked = Arc::clone(&acked);
            let enough = Arc::clone(&enough);
            senders.push(tokio::spawn(async move {
                for n in 0..100_000 {
                    let id = format!("r{round}-s{sender}-{n}");
                    let text = format!("{name} says {n}");
                    match client.send_message(&conversation, &id, &text).await {
                        Ok((sent, _)) => {
                            let mut acked = acked.lock().unwrap();
                            acked.insert(
                                id,
                                Acked {
                                    conversation: conversation.clone(),
                                    message_id: sent.message_id,
                                    seq: sent.seq,
                                },
                            );
                            if acked.len() >= (round + 1) * ACKS_BEFORE_KILL {
                                enough.notify_one();
                            }
                        }
                        Err(_) => return Some((name.to_owned(), conversation, id, text)),
                    }
                }
                None
            }));
        }
        tokio::time::timeout(std::time::Duration::from_secs(120), enough.notified())
            .await
            .expect("the senders make progress");
        server.child.start_kill().unwrap(); // SIGKILL
        server.child.wait().await.unwrap();
        for sender in senders {
            if let Some(in_flight) = sender.await.unwrap() {
                uncertain.push(in_flight);
            }
        }
        server = start_server_process(&data_dir, &[]).await;
    }

    // Tokens are durable too: the same tokens work after the restarts.
    let ann = client(&server.base, "ann");
    let mut stored: HashMap<String, (String, String, i64)> = HashMap::new();
    for conversation in [&direct, &group] {
        let mut before = None;
        let mut seqs = Vec::new();
        loop {
            let page = ann.history(conversation, before, Some(200)).await.unwrap();
            for message in &page.messages {
                let previous = stored.insert(
                    message.client_msg_id.clone(),
                    (
                        conversation.clone(),
                        message.message_id.clone(),
                        message.seq,
                    ),
                );
                assert!(
                    previous.is_none(),
                    "{} is stored twice",
                    message.client_msg_id
                );
                seqs.push(message.seq);
            }
            match page.messages.last() {
                Some(last) if page.has_more => before = Some(last.seq),
                _ => break,
            }
        }
        seqs.reverse();
        assert_eq!(
            seqs,
            (1..=seqs.len() as i64).collect::<Vec<_>>(),
            "{conversation} has gapless seqs"
        );
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= KILLS * ACKS_BEFORE_KILL);
    for (id, ack) in &acked {
        let found = stored
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged {id} was lost"));
        assert_eq!(
            (&found.0, &found.1, found.2),
            (&ack.conversation, &ack.message_id, ack.seq),
            "{id}"
        );
    }
    // Retrying what was in flight stores it at most once.
    for (name, conversation, id, text) in &uncertain {
        let retried = client(&server.base, name)
            .send_message(conversation, id, text)
            .await
            .unwrap();
        let again = client(&server.base, name)
            .send_message(conversation, id, text)
            .await
            .unwrap();
        assert!(again.1, "the second retry of {id} is a replay");
        assert_eq!(retried.0, again.0);
    }

    // Every device log is gapless and agrees with the messages.
    for name in ["ann", "bob", "cat"] {
        let (events, _) = sync_all(&client(&server.base, name), None, 1000).await;
        let positions: Vec<_> = events.iter().map(|e| position(&e.cursor)).collect();
        assert_eq!(
            positions,
            (1..=positions.len() as i64).collect::<Vec<_>>(),
            "{name}'s log is gapless"
        );
    }
    // A graceful stop, then the offline checker agrees (over the data
    // directory's SQLite file, or the test's PostgreSQL database).
    let pid = server.child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(
        server.child.wait().await.unwrap().success(),
        "SIGTERM stops it cleanly"
    );
    let report = integrity_report(&data_dir);
    assert!(report.is_sound(), "{:?}", report.problems);
    assert!(report.messages as usize >= acked.len());
    admin_check_passes("check", &data_dir);
}
