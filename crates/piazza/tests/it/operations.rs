//! What operators and client authors rely on: health, metrics, and an
//! OpenAPI document that covers the whole api-v1 contract.

use reqwest::Method;

use crate::helpers::*;

#[tokio::test]
async fn health_metrics_and_openapi() {
    let app = spawn_app_with(|config| {
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    ann.client
        .send_message(&conversation, "op-1", "counted")
        .await
        .unwrap();
    assert_eq!(app.anonymous().health().await.unwrap().status, "ok");

    // The public listener does not show its metrics to the world...
    let public = app
        .anonymous()
        .raw(Method::GET, "/metrics", None, None)
        .await
        .unwrap();
    assert_eq!(public.status, 404, "/metrics on the public listener");
    assert_eq!(
        public.content_type.as_deref(),
        Some("application/problem+json")
    );
    // ...its own listener (loopback, for the operator's scraper) does.
    let metrics_addr = app
        .running
        .as_ref()
        .and_then(|running| running.metrics_addr())
        .expect("a metrics listener");
    let metrics = piazza_client::Client::new(&format!("http://{metrics_addr}"))
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
        "piazza_connections_open",
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
    assert!(
        !paths.contains_key("/metrics"),
        "the public API does not offer /metrics"
    );
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

/// A store that cannot be opened is named, with what to do about it; the
/// message once guessed that the port was taken.
#[tokio::test]
async fn a_damaged_store_is_reported_as_such_at_start() {
    let mut app = spawn_app().await;
    app.signup("ann").await;
    stop_keeping_data(&mut app).await;
    let file = app.data_dir().join(piazza_sqlite::DATABASE_FILE);
    let mut bytes = std::fs::read(&file).unwrap();
    // The header ("SQLite format 3", the page size, …) overwritten, and
    // no WAL left to hold a good copy of that page.
    bytes[..100].fill(0x5a);
    std::fs::write(&file, bytes).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(
            file.with_file_name(format!("{}{suffix}", piazza_sqlite::DATABASE_FILE)),
        );
    }
    let started = tokio::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(app.data_dir())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PATIENCE, started)
        .await
        .expect("the server gives up in time")
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let data_dir = app.data_dir().display().to_string();
    for expected in [data_dir.as_str(), "piazza admin check", "backup"] {
        assert!(stderr.contains(expected), "{expected:?} in {stderr}");
    }
    assert!(!stderr.contains("port"), "{stderr}");
}

/// The money benches still run against the server as it is configured
/// now (a new limit once made `bench ledger` fund more than a wallet may
/// hold): one short run of each, with their own checks (money conserved,
/// `ledger-check`, one winner per share).
#[test]
fn the_money_benches_run_end_to_end() {
    for args in [
        &[
            "bench",
            "ledger",
            "--duration-s",
            "1",
            "--warmup-s",
            "0",
            "--connections",
            "4",
            "--engine-tasks",
            "8",
        ][..],
        &[
            "bench",
            "red-packet",
            "--members",
            "20",
            "--packets",
            "1",
            "--shares",
            "10",
        ][..],
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
            .args(args)
            .output()
            .expect("the piazza binary runs");
        assert!(
            output.status.success(),
            "`piazza {}` failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// `bench channel` seeds followers straight into a stopped server's store
/// and starts it again, on whichever engine the suite runs: a short run
/// proves the seeded rows are ones the server reads (every online
/// follower told of every article, exactly once, behind the seeded ones).
#[test]
fn the_channel_bench_runs_end_to_end() {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_piazza"));
    command.args([
        "bench",
        "channel",
        "--small",
        "30",
        "--big",
        "2500",
        "--online",
        "5",
        "--rounds",
        "1",
        "--channels",
        "3",
        "--articles",
        "2",
        "--requests",
        "5",
        "--json",
    ]);
    if crate::helpers::on_postgres() {
        command.args(["--database-url", &piazza_postgres::testing::server_url()]);
    }
    let output = command.output().expect("the piazza binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "`piazza bench channel` failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON report");
    let figures = report.to_string();
    for key in ["told_big_ms", "publish_ratio", "feed_p99_ms"] {
        assert!(figures.contains(key), "{key} in {figures}");
    }
}
