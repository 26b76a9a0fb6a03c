//! What operators and client authors rely on: health, metrics, and an
//! OpenAPI document that covers the whole api-v1 contract.

use reqwest::Method;

use crate::helpers::*;

#[tokio::test]
async fn health_metrics_and_openapi() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    ann.client
        .send_message(&conversation, "op-1", "counted")
        .await
        .unwrap();
    assert_eq!(app.anonymous().health().await.unwrap().status, "ok");

    let metrics = app
        .anonymous()
        .raw(Method::GET, "/metrics", None, None)
        .await
        .unwrap();
    assert_eq!(metrics.status, 200);
    let metrics = String::from_utf8(metrics.body).unwrap();
    for name in [
        "piazza_http_requests_total",
        "piazza_http_request_seconds_bucket",
        "piazza_commits_total",
        "piazza_commit_batch_size_bucket",
        "piazza_sockets_open",
    ] {
        assert!(metrics.contains(name), "/metrics has {name}");
    }
    assert!(
        metrics.contains(r#"route="/api/v1/conversations/{id}/messages""#),
        "requests are labelled by route template, never by raw path"
    );

    let document = app
        .anonymous()
        .raw(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .unwrap();
    assert_eq!(document.status, 200);
    let document: serde_json::Value = serde_json::from_slice(&document.body).unwrap();
    let paths = document["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/v1/accounts", "post"),
        ("/api/v1/sessions", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/devices", "get"),
        ("/api/v1/devices/{device_id}", "delete"),
        ("/api/v1/contacts/requests", "post"),
        ("/api/v1/contacts/requests", "get"),
        ("/api/v1/contacts/requests/{request_id}/accept", "post"),
        ("/api/v1/contacts", "get"),
        ("/api/v1/contacts/{account_id}", "delete"),
        ("/api/v1/conversations/direct", "post"),
        ("/api/v1/conversations", "post"),
        ("/api/v1/conversations", "get"),
        ("/api/v1/conversations/{id}/members", "post"),
        ("/api/v1/conversations/{id}/members/{account_id}", "delete"),
        ("/api/v1/conversations/{id}/messages", "post"),
        ("/api/v1/conversations/{id}/messages", "get"),
        ("/api/v1/conversations/{id}/read", "post"),
        ("/api/v1/sync", "get"),
        ("/api/v1/ws", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "OpenAPI documents {method} {path}"
        );
    }
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    for schema in [
        "Problem",
        "MessageView",
        "EventView",
        "SyncPage",
        "ClientFrame",
        "ServerFrame",
    ] {
        assert!(
            schemas.contains_key(schema),
            "OpenAPI has the {schema} schema"
        );
    }
    app.shut_down().await;
}
