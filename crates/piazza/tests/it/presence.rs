//! Presence: contacts learn live when an account comes online and goes
//! offline (with when it was last seen), and read it afterwards; an
//! account that shows it to nobody is shown to nobody; strangers learn
//! nothing.

use std::time::Duration;

use piazza_api::{PresenceList, Privacy};
use piazza_client::{Incoming, Socket};
use reqwest::Method;
use serde_json::{Map, Value};

use crate::helpers::*;

/// The next presence event on `socket` within `wait`, if any.
async fn next_presence(socket: &mut Socket, wait: Duration) -> Option<Map<String, Value>> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()?;
        match next {
            Some(Ok(Incoming::Ephemeral(fields))) if fields["type"] == "presence" => {
                return Some(fields);
            }
            Some(Ok(_)) => continue,
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

async fn presence_of(user: &User) -> PresenceList {
    let answer = user
        .client
        .raw(Method::GET, "/api/v1/contacts/presence", None, None)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    serde_json::from_slice(&answer.body).unwrap()
}

async fn set_privacy(user: &User, last_seen: &str) -> (u16, Value) {
    let body = serde_json::json!({ "last_seen": last_seen });
    let answer = user
        .client
        .raw(
            Method::PATCH,
            "/api/v1/me/privacy",
            Some(body.to_string().into_bytes()),
            Some("application/json"),
        )
        .await
        .unwrap();
    (answer.status, serde_json::from_slice(&answer.body).unwrap())
}

const QUIET: Duration = Duration::from_millis(400);

#[tokio::test]
async fn contacts_see_online_and_last_seen_and_strangers_nothing() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    befriend(&ann, &bob).await;
    let (mut bob_socket, _) = live_socket(&bob).await;
    let (mut cat_socket, _) = live_socket(&cat).await;

    let (ann_socket, _) = live_socket(&ann).await;
    let online = next_presence(&mut bob_socket, PATIENCE)
        .await
        .expect("told");
    assert_eq!(online["account_id"], ann.account_id.as_str());
    assert_eq!(online["online"], true);
    assert!(!online.contains_key("cursor"));
    assert!(
        next_presence(&mut cat_socket, QUIET).await.is_none(),
        "not a contact"
    );
    let seen = presence_of(&bob).await.presence;
    assert_eq!(seen.len(), 1);
    assert!(seen[0].online && seen[0].account_id == ann.account_id);

    // A second socket announces nothing; closing one of two neither.
    let laptop = app.login("ann", "laptop").await;
    let (laptop_socket, _) = live_socket(&laptop).await;
    assert!(next_presence(&mut bob_socket, QUIET).await.is_none());
    drop(laptop_socket);
    assert!(next_presence(&mut bob_socket, QUIET).await.is_none());
    drop(ann_socket);
    let offline = next_presence(&mut bob_socket, PATIENCE)
        .await
        .expect("told");
    assert_eq!(offline["online"], false);
    assert!(offline["last_seen"].as_str().is_some());
    let seen = presence_of(&bob).await.presence;
    assert!(!seen[0].online && seen[0].last_seen.is_some());
    assert!(presence_of(&cat).await.presence.is_empty());
}

#[tokio::test]
async fn presence_shown_to_nobody_is_shown_to_nobody() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    befriend(&ann, &bob).await;
    let (status, shown) = set_privacy(&ann, "nobody").await;
    assert_eq!((status, shown["last_seen"].as_str()), (200, Some("nobody")));
    let kept: Privacy = serde_json::from_slice(
        &ann.client
            .raw(Method::GET, "/api/v1/me/privacy", None, None)
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(kept.last_seen.as_deref(), Some("nobody"));
    let (mut bob_socket, _) = live_socket(&bob).await;
    let (ann_socket, _) = live_socket(&ann).await;
    assert!(next_presence(&mut bob_socket, QUIET).await.is_none());
    assert!(presence_of(&bob).await.presence.is_empty());
    drop(ann_socket);
    assert!(next_presence(&mut bob_socket, QUIET).await.is_none());

    let (status, refused) = set_privacy(&ann, "everyone").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("invalid_privacy"))
    );
    set_privacy(&ann, "contacts").await;
    assert_eq!(presence_of(&bob).await.presence.len(), 1);
}
