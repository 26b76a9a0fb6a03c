//! The small lists (contacts, requests, conversations, devices) are
//! cursor-paginated and capped like every list: walking the pages yields
//! each item once, in order.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

/// Walks a list endpoint page by page and returns `field` of each item.
async fn walk(user: &User, path: &str, items: &str, field: &str, limit: u32) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let query = match &cursor {
            Some(cursor) => format!("{path}?limit={limit}&cursor={cursor}"),
            None => format!("{path}?limit={limit}"),
        };
        let response = user
            .client
            .raw(Method::GET, &query, None, None)
            .await
            .unwrap();
        assert_eq!(
            response.status,
            200,
            "{query}: {}",
            String::from_utf8_lossy(&response.body)
        );
        let page: Value = serde_json::from_slice(&response.body).unwrap();
        let list = page[items].as_array().unwrap();
        assert!(list.len() <= limit as usize);
        seen.extend(
            list.iter()
                .map(|item| item[field].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(page["has_more"], true);
                cursor = Some(next.to_owned());
            }
            None => {
                assert_eq!(page["has_more"], false);
                return seen;
            }
        }
    }
    panic!("{path} did not end");
}

#[tokio::test]
async fn every_list_pages_with_a_cursor() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let mut friends = Vec::new();
    for name in ["eve", "bob", "dan", "cat", "fay"] {
        let friend = app.signup(name).await;
        befriend(&ann, &friend).await;
        friends.push(friend);
    }
    for name in ["gus", "hal", "ivy"] {
        app.signup(name)
            .await
            .client
            .request_contact("ann", None)
            .await
            .unwrap();
    }
    app.login("ann", "second").await;
    app.login("ann", "third").await;

    let contacts = walk(&ann, "/api/v1/contacts", "contacts", "username", 2).await;
    assert_eq!(
        contacts,
        ["bob", "cat", "dan", "eve", "fay"],
        "by username, each once"
    );
    let all: Vec<_> = ann
        .client
        .all_contacts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.username)
        .collect();
    assert_eq!(all, contacts, "the client's walk agrees");
    let requests = walk(
        &ann,
        "/api/v1/contacts/requests",
        "requests",
        "request_id",
        2,
    )
    .await;
    assert_eq!(requests.len(), 3);
    assert!(requests.windows(2).all(|pair| pair[0] != pair[1]));
    let devices = walk(&ann, "/api/v1/devices", "devices", "device_id", 1).await;
    assert_eq!(devices.len(), 3);
    // The most recently active conversation comes first.
    let fay = friends.iter().find(|f| f.username == "fay").unwrap();
    let with_fay = ann.client.open_direct(&fay.account_id).await.unwrap();
    ann.client
        .send_message(&with_fay, "latest", "hi fay")
        .await
        .unwrap();
    let conversations = walk(
        &ann,
        "/api/v1/conversations",
        "conversations",
        "conversation_id",
        2,
    )
    .await;
    assert_eq!(conversations.len(), 5);
    assert_eq!(conversations[0], with_fay);

    // Caps and bad cursors.
    let all = ann
        .client
        .raw(Method::GET, "/api/v1/contacts?limit=5000", None, None)
        .await
        .unwrap();
    let all: Value = serde_json::from_slice(&all.body).unwrap();
    assert_eq!(
        all["contacts"].as_array().unwrap().len(),
        5,
        "a limit past 200 is capped, not refused"
    );
    for bad in [
        "/api/v1/contacts?cursor=bob",
        "/api/v1/conversations?cursor=p1.x",
        "/api/v1/devices?limit=0",
    ] {
        let response = ann.client.raw(Method::GET, bad, None, None).await.unwrap();
        assert_eq!(response.status, 400, "{bad}");
    }
    app.shut_down().await;
}
