//! PostgreSQL restarted under a node that is sending: while the database
//! is away the node answers 503 with `Retry-After` and acknowledges
//! nothing; once it is back the node carries on by itself (its writer and
//! readers connect again), and every message sent again with its
//! `client_msg_id` is stored exactly once. The database here is a private
//! PostgreSQL server started by the test, so stopping it troubles no other
//! test.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use piazza_client::Client;
use piazza_postgres::testing::PrivateServer;
use reqwest::Method;

use crate::helpers::{PASSWORD, start_server_process_on_database};

/// What one attempt to send a message came to.
enum Attempt {
    Stored(i64),
    /// 503 with the `Retry-After` it gave (seconds).
    Unavailable(u64),
}

async fn send_raw(client: &Client, path: &str, id: &str) -> Attempt {
    let body = serde_json::to_string(&piazza_api::SendMessage {
        client_msg_id: id.to_owned(),
        message: piazza_api::MessageContent::text(id),
    })
    .unwrap();
    let answer = client
        .raw(
            Method::POST,
            path,
            Some(body.into_bytes()),
            Some("application/json"),
        )
        .await
        .expect("the node itself stays up");
    match answer.status {
        200 | 201 => {
            let sent: piazza_api::MessageSent = serde_json::from_slice(&answer.body).unwrap();
            Attempt::Stored(sent.seq)
        }
        503 => {
            let retry_after = answer
                .headers
                .get("retry-after")
                .and_then(|value| value.to_str().ok()?.parse().ok())
                .expect("a 503 says when to retry");
            assert_eq!(
                answer.content_type.as_deref(),
                Some("application/problem+json")
            );
            Attempt::Unavailable(retry_after)
        }
        status => panic!(
            "sending {id} answered {status}: {}",
            String::from_utf8_lossy(&answer.body)
        ),
    }
}

#[tokio::test]
async fn a_postgres_restart_is_503_with_retry_after_and_nothing_acknowledged_is_lost() {
    let postgres = PrivateServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let node = start_server_process_on_database(dir.path(), &postgres.url(), &[]).await;
    let anonymous = Client::new(&node.base);
    anonymous
        .create_account("ann", PASSWORD, None)
        .await
        .unwrap();
    let bob_id = anonymous
        .create_account("bob", PASSWORD, None)
        .await
        .unwrap()
        .account_id;
    let ann = anonymous.with_token(anonymous.login("ann", PASSWORD, "d").await.unwrap().token);
    let bob = anonymous.with_token(anonymous.login("bob", PASSWORD, "d").await.unwrap().token);
    let request = ann.request_contact("bob", None).await.unwrap();
    bob.accept_request(&request).await.unwrap();
    let direct = ann.open_direct(&bob_id).await.unwrap();
    let path = format!("/api/v1/conversations/{direct}/messages");

    // Sends one after another; the database goes away for two seconds
    // in the middle and comes back.
    let mut stored: BTreeMap<String, i64> = BTreeMap::new();
    let mut refused: Vec<String> = Vec::new();
    let mut n = 0;
    let mut stopped_at = None;
    let mut restarted_at = None;
    let mut back_after = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while back_after.is_none() || stored.len() < n / 2 + 20 {
        assert!(Instant::now() < deadline, "the node never came back");
        n += 1;
        if n == 20 {
            postgres.stop("fast").unwrap();
            stopped_at = Some(Instant::now());
        }
        if stopped_at.is_some_and(|at| at.elapsed() > Duration::from_secs(2))
            && restarted_at.is_none()
        {
            postgres.start_again().unwrap();
            restarted_at = Some(Instant::now());
        }
        let id = format!("m{n}");
        match send_raw(&ann, &path, &id).await {
            Attempt::Stored(seq) => {
                if let Some(at) = restarted_at {
                    back_after.get_or_insert(at.elapsed());
                }
                stored.insert(id, seq);
            }
            Attempt::Unavailable(retry_after) => {
                assert!((1..=10).contains(&retry_after), "{retry_after}");
                refused.push(id);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    assert!(
        !refused.is_empty(),
        "with the database away, sends were refused"
    );
    eprintln!(
        "{} stored, {} refused; sending again {:?} after the restart",
        stored.len(),
        refused.len(),
        back_after.unwrap()
    );

    // Everything refused, sent again with its id: stored once. What was
    // acknowledged is there with the seq it was given.
    for id in &refused {
        match send_raw(&ann, &path, id).await {
            Attempt::Stored(seq) => {
                stored.insert(id.clone(), seq);
            }
            Attempt::Unavailable(_) => panic!("{id} still refused after the restart"),
        }
    }
    let mut history = Vec::new();
    let mut before = None;
    loop {
        let page = bob.history(&direct, before, Some(200)).await.unwrap();
        let Some(last) = page.messages.last() else {
            break;
        };
        before = Some(last.seq);
        history.extend(page.messages);
    }
    history.sort_by_key(|m| m.seq);
    let seqs: Vec<i64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=n as i64).collect::<Vec<_>>(),
        "every message once, gapless"
    );
    for message in &history {
        let id = &message.client_msg_id;
        assert_eq!(stored.get(id), Some(&message.seq), "{id} as acknowledged");
    }
    crate::helpers::admin_checks_pass_on_database(&postgres.url());
}
