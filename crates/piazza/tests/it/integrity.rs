//! A damaged store is never served as healthy: damage refuses the start
//! with what is wrong and how to restore, and damage that appears while
//! the server runs fails `/healthz` and halts every money move. On either
//! engine (`engines.rs` lists those that run on PostgreSQL too), but for
//! the flipped bytes, which are of SQLite's file.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use piazza_server::config::Gateway;
use piazza_server::gateway::{GatewayError, GatewayRequest, PaymentGateway};

use crate::helpers::*;
use crate::wallet::{PIN, assert_code, call, top_up};

/// A posting's amount changed behind the ledger's back: its transaction no
/// longer sums to zero and its account's balance no longer matches. In
/// the SQLite file, or in the PostgreSQL database of the data dir's
/// servers when the suite runs there.
fn edit_a_posting(data_dir: &Path) {
    const EDIT: &str = "UPDATE ledger_postings SET amount_minor = amount_minor + 100
                        WHERE id = (SELECT MAX(id) FROM ledger_postings)";
    let edited = match process_database(data_dir) {
        // The blocking client, on a thread of its own: this runs inside
        // the test's runtime.
        Some(url) => std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            client.execute(EDIT, &[]).unwrap()
        })
        .join()
        .unwrap(),
        None => {
            let path = data_dir.join(piazza_sqlite::DATABASE_FILE);
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute(EDIT, []).unwrap() as u64
        }
    };
    assert_eq!(edited, 1);
}

/// Flips the bytes of the `messages` table's root page header and cell
/// pointers, as a failing disk would.
fn flip_bytes_in_the_messages_table(data_dir: &Path) {
    let path = data_dir.join(piazza_sqlite::DATABASE_FILE);
    let (page_size, root): (u64, u64) = {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let page_size = conn
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .unwrap();
        let root = conn
            .query_row(
                "SELECT rootpage FROM sqlite_schema WHERE name = 'messages'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        (page_size, root)
    };
    let mut bytes = std::fs::read(&path).unwrap();
    let start = ((root - 1) * page_size) as usize;
    for byte in &mut bytes[start + 1..start + 24] {
        *byte ^= 0xA5;
    }
    std::fs::write(&path, bytes).unwrap();
}

/// A server on the store the servers of `data_dir` used before.
async fn start_on(data_dir: &Path) -> Result<piazza_server::Running, String> {
    let mut config =
        piazza_server::config::Config::new("127.0.0.1:0".parse().unwrap(), data_dir.to_path_buf());
    config.password_hashing = cheap_hashing();
    config.database_url = process_database(data_dir);
    piazza::engines::spawn(config)
        .await
        .map_err(|error| format!("{error:#}"))
}

/// A server with a funded account and a few messages, then stopped.
async fn a_stopped_store_with_money_and_messages() -> TestApp {
    let mut app = spawn_app_with(|config| config.sandbox_payments = true).await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    for n in 0..20 {
        ann.client
            .send_message(&conversation, &format!("c{n}"), &format!("hello {n}"))
            .await
            .expect("sent");
    }
    let (status, body) = top_up(&ann, 10_000, "fund").await;
    assert_eq!(status, 201, "{body}");
    stop_keeping_data(&mut app).await;
    app
}

#[tokio::test]
async fn an_edited_posting_refuses_the_start_and_says_how_to_restore() {
    let app = a_stopped_store_with_money_and_messages().await;
    edit_a_posting(app.data_dir());
    let error = start_on(app.data_dir()).await.err().expect("refused");
    assert!(error.contains("damaged"), "{error}");
    assert!(error.contains("sum"), "names what is wrong: {error}");
    assert!(error.contains("backup"), "says how to restore: {error}");
    assert!(!error.contains("port"), "{error}");
}

#[tokio::test]
async fn flipped_bytes_in_a_messages_page_refuse_the_start() {
    let app = a_stopped_store_with_money_and_messages().await;
    flip_bytes_in_the_messages_table(app.data_dir());
    let error = start_on(app.data_dir()).await.err().expect("refused");
    assert!(error.contains("damaged"), "{error}");
    assert!(error.contains("backup"), "{error}");
}

#[tokio::test]
async fn a_sound_store_starts_after_its_check() {
    let app = a_stopped_store_with_money_and_messages().await;
    let running = start_on(app.data_dir())
        .await
        .expect("a sound store starts");
    running.shut_down().await;
}

/// A gateway that counts the charges Piazza asks of it.
#[derive(Default)]
struct Counting {
    charges: AtomicU32,
}

#[async_trait]
impl PaymentGateway for Counting {
    async fn charge(&self, request: &GatewayRequest) -> Result<String, GatewayError> {
        self.charges.fetch_add(1, Ordering::SeqCst);
        Ok(format!("ch_{}", &request.key[..8]))
    }

    async fn pay_out(&self, request: &GatewayRequest) -> Result<String, GatewayError> {
        Ok(format!("po_{}", &request.key[..8]))
    }
}

/// A running server whose store was damaged under it, once its verifier
/// has noticed: ann (with a PIN and money) and bob, contacts.
struct Damaged {
    app: TestApp,
    gateway: Arc<Counting>,
    ann: User,
    bob: User,
    conversation: String,
}

/// A server whose verifier passes every second, with a gateway that
/// counts charges; then a posting is edited under it, and this waits
/// until `/healthz` says so.
async fn damaged_while_running() -> Damaged {
    let gateway = Arc::new(Counting::default());
    let handle = Arc::clone(&gateway) as Arc<dyn PaymentGateway>;
    let app = spawn_app_with(move |config| {
        config.gateway = Some(Gateway(handle));
        config.limits.integrity_verify_interval_s = 1;
        config.limits.integrity_verify_pause_ms = 0;
    })
    .await;
    let (ann, bob, conversation) = crate::transfers::pair(&app).await;
    let health = |client: &piazza_client::Client| {
        let client = client.clone();
        async move {
            client
                .raw_with_headers(Method::GET, "/healthz", None, None, &[])
                .await
                .expect("the server answers")
                .status
        }
    };
    assert_eq!(health(&ann.client).await, 200);

    edit_a_posting(app.data_dir());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while health(&ann.client).await != 503 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz still says ok over a damaged store"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Damaged {
        app,
        gateway,
        ann,
        bob,
        conversation,
    }
}

#[tokio::test]
async fn damage_found_while_running_fails_healthz_and_halts_top_ups() {
    let Damaged {
        app,
        gateway,
        ann,
        conversation,
        ..
    } = damaged_while_running().await;
    let charged = gateway.charges.load(Ordering::SeqCst);
    assert_code(
        &top_up(&ann, 100, "after-damage-2").await,
        503,
        "money_halted",
    );
    assert_eq!(
        gateway.charges.load(Ordering::SeqCst),
        charged,
        "a top-up the store will refuse must not charge the customer"
    );
    // Chat goes on: only money stops.
    ann.client
        .send_message(&conversation, "c-after", "still here")
        .await
        .expect("messages still go");
    app.shut_down().await;
}

/// Money that moves without a gateway is refused where it would post,
/// inside the engine's transaction (`Tx::money_halted`).
#[tokio::test]
async fn damage_found_while_running_halts_transfers() {
    let Damaged { app, ann, bob, .. } = damaged_while_running().await;
    let transfer = call(
        &ann.client,
        Method::POST,
        "/api/v1/transfers",
        Some(json!({ "to": bob.account_id, "amount_minor": 100, "pin": PIN })),
        Some("after-damage-1"),
    )
    .await;
    assert_code(&transfer, 503, "money_halted");
    app.shut_down().await;
}
