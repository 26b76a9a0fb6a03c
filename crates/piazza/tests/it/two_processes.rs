//! Two `piazza serve` processes on one PostgreSQL database, clients on
//! both, the same accounts and conversations: nothing lost, nothing
//! doubled, every log and conversation gapless, the ledger whole.

use std::collections::BTreeSet;

use piazza_client::{Client, IdempotencyKey};
use piazza_postgres::testing::TestDatabase;

use crate::helpers::{PASSWORD, ServerProcess, start_server_process_on_database, sync_all};

const PIN: &str = "135790";
/// Transfers each member sends to the next through each server.
const TRANSFERS: usize = 10;
/// Messages each member sends through each server.
const SENDS: usize = 40;

/// A user with one device on each server.
struct Twin {
    account_id: String,
    on: [Client; 2],
}

async fn twin(servers: &[ServerProcess; 2], name: &str) -> Twin {
    let anonymous = Client::new(&servers[0].base);
    let created = anonymous
        .create_account(name, PASSWORD, None)
        .await
        .unwrap();
    let mut on = Vec::new();
    for server in servers {
        let session = Client::new(&server.base)
            .login(name, PASSWORD, "device")
            .await
            .unwrap();
        on.push(Client::new(&server.base).with_token(session.token));
    }
    let [first, second]: [Client; 2] = on.try_into().ok().unwrap();
    Twin {
        account_id: created.account_id,
        on: [first, second],
    }
}

/// A conversation's whole history, oldest first, as (seq, client_msg_id).
async fn history(client: &Client, conversation: &str) -> Vec<(i64, String)> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let page = client
            .history(conversation, before, Some(200))
            .await
            .unwrap();
        before = page.messages.last().map(|message| message.seq);
        all.extend(page.messages.into_iter().map(|m| (m.seq, m.client_msg_id)));
        if !page.has_more {
            break;
        }
    }
    all.reverse();
    all
}

#[tokio::test]
async fn two_processes_on_one_database_lose_and_double_nothing() {
    let database = TestDatabase::create();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let servers = [
        start_server_process_on_database(dirs[0].path(), &database.url, &["--sandbox-payments"])
            .await,
        start_server_process_on_database(dirs[1].path(), &database.url, &["--sandbox-payments"])
            .await,
    ];
    let names = ["ann", "bob", "cat", "dan"];
    let mut users = Vec::new();
    for name in names {
        users.push(twin(&servers, name).await);
    }
    // Everyone befriends everyone, asked on one server, accepted on the other.
    for a in 0..users.len() {
        for b in a + 1..users.len() {
            let request = users[a].on[0]
                .request_contact(names[b], None)
                .await
                .unwrap();
            users[b].on[1].accept_request(&request).await.unwrap();
        }
    }
    let others: Vec<String> = users[1..].iter().map(|u| u.account_id.clone()).collect();
    let group = users[0].on[0]
        .create_group("both servers", &others)
        .await
        .unwrap();
    // Every member sends through both servers at once.
    let mut sends = Vec::new();
    for (u, user) in users.iter().enumerate() {
        for side in 0..2 {
            let client = user.on[side].clone();
            let group = group.clone();
            sends.push(tokio::spawn(async move {
                for n in 0..SENDS {
                    let id = format!("u{u}-s{side}-{n}");
                    client.send_message(&group, &id, &id).await.unwrap();
                }
            }));
        }
    }
    // And money moves through both at once, each to the next member.
    for (u, user) in users.iter().enumerate() {
        user.on[0].set_pin(PIN, PASSWORD).await.unwrap();
        let key = IdempotencyKey::parse(&format!("fund-{u}")).unwrap();
        user.on[1].top_up(&key, 1_000_000).await.unwrap();
    }
    for (u, user) in users.iter().enumerate() {
        let to = users[(u + 1) % users.len()].account_id.clone();
        for side in 0..2 {
            let client = user.on[side].clone();
            let to = to.clone();
            sends.push(tokio::spawn(async move {
                for n in 0..TRANSFERS {
                    let key = IdempotencyKey::parse(&format!("t-{u}-{side}-{n}")).unwrap();
                    client
                        .send_transfer(&key, &to, 100, PIN, None)
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for send in sends {
        send.await.unwrap();
    }
    // Every message once, in one gapless order, the same from both servers.
    let expected = users.len() * 2 * SENDS;
    let first = history(&users[0].on[0], &group).await;
    let second = history(&users[3].on[1], &group).await;
    assert_eq!(first, second, "both servers show one history");
    let seqs: Vec<i64> = first.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=expected as i64).collect::<Vec<_>>(), "gapless");
    let ids: BTreeSet<&String> = first.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), expected, "no message lost or doubled");
    // Each account's log syncs the same through either server, gapless.
    for user in &users {
        let (one, _) = sync_all(&user.on[0], None, 200).await;
        let (two, _) = sync_all(&user.on[1], None, 200).await;
        assert_eq!(one, two);
        let positions: Vec<i64> = one
            .iter()
            .map(|event| crate::helpers::position(&event.cursor))
            .collect();
        assert_eq!(positions, (1..=one.len() as i64).collect::<Vec<_>>());
    }
    // The money: every transfer sent, nothing made or lost anywhere.
    for user in &users {
        let one = user.on[0].wallet().await.unwrap();
        let two = user.on[1].wallet().await.unwrap();
        assert_eq!(
            one.balance_minor, two.balance_minor,
            "one balance through either"
        );
        // Each sent 2 × TRANSFERS of 100, held until accepted: each once.
        assert_eq!(one.balance_minor, 1_000_000 - 2 * TRANSFERS as i64 * 100);
    }
    for check in ["check", "ledger-check"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
            .args(["admin", check, "--database-url", &database.url])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

/// Each process remembers sessions for its writes (`session_cache`) and
/// checks them again in the write's transaction: a device signed out
/// through one process writes nothing through the other, at once.
#[tokio::test]
async fn a_device_signed_out_on_one_process_writes_nothing_on_the_other() {
    let database = TestDatabase::create();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let servers = [
        start_server_process_on_database(dirs[0].path(), &database.url, &["--sandbox-payments"])
            .await,
        start_server_process_on_database(dirs[1].path(), &database.url, &["--sandbox-payments"])
            .await,
    ];
    let ann = twin(&servers, "ann").await;
    let bob = twin(&servers, "bob").await;
    let request = ann.on[0].request_contact("bob", None).await.unwrap();
    bob.on[0].accept_request(&request).await.unwrap();
    let group = ann.on[0]
        .create_group("packets", std::slice::from_ref(&bob.account_id))
        .await
        .unwrap();
    ann.on[0].set_pin(PIN, PASSWORD).await.unwrap();
    let key = IdempotencyKey::parse("fund").unwrap();
    ann.on[0].top_up(&key, 10_000).await.unwrap();
    let packet = |n: usize| {
        let client = ann.on[0].clone();
        let group = group.clone();
        async move {
            let key = IdempotencyKey::parse(&format!("packet-{n}")).unwrap();
            let mode = piazza_client::SplitMode::Equal;
            let sent = client.send_red_packet(&key, &group, 200, 2, mode, PIN, None);
            sent.await.unwrap().red_packet_id
        }
    };
    // Bob's phone claims through the second server, which remembers it.
    let phone = Client::new(&servers[1].base)
        .login("bob", PASSWORD, "phone")
        .await
        .unwrap();
    let phone_client = Client::new(&servers[1].base).with_token(phone.token);
    phone_client
        .claim_red_packet(&packet(1).await)
        .await
        .unwrap();
    // Signed out through the first server; the second still remembers it.
    bob.on[0].revoke_device(&phone.device_id).await.unwrap();
    let next = packet(2).await;
    let refused = phone_client.claim_red_packet(&next).await.unwrap_err();
    assert_eq!(refused.status(), Some(401), "{refused}");
    // Its share is still there for bob's live device.
    let share = bob.on[1].claim_red_packet(&next).await.unwrap();
    assert_eq!(share.amount_minor, 100);
}
