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

/// Runs `sql` on the store the servers of `data_dir` used, as damage
/// would: the SQLite file, or the PostgreSQL database when the suite runs
/// there.
fn tamper(data_dir: &Path, sql: String) {
    match process_database(data_dir) {
        Some(url) => std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            client.batch_execute(&sql).unwrap();
        })
        .join()
        .unwrap(),
        None => {
            let path = data_dir.join(piazza_sqlite::DATABASE_FILE);
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch(&sql).unwrap();
        }
    }
}

/// The row behind an outside id: `ord_12` → `12`.
fn row_of(id: &str) -> &str {
    id.split_once('_').expect("a prefixed id").1
}

/// An order of `quantity` of `variant`, paid when `pay`.
async fn an_order(buyer: &User, shop: &str, variant: &str, quantity: u32, pay: bool) -> String {
    use crate::shops::{key, order_of};
    let order = buyer
        .client
        .place_order(&order_of(shop, &[(variant, quantity)]), &key("check"))
        .await
        .expect("placed")
        .order_id;
    if pay {
        buyer
            .client
            .pay_order(&order, PIN, &key("check-pay"))
            .await
            .expect("paid");
    }
    order
}

/// Real orders in every state, then their rows tampered with one way
/// each: `admin check` names every one, and `ledger-check` stays green
/// where the ledger itself still adds up — money moved into an escrow
/// behind its order's back balances as a ledger and is still found.
#[tokio::test]
async fn admin_check_reports_shops_stock_money_and_orders_broken() {
    use crate::shops::{funded_buyer, key, open_shop};
    let mut app = crate::wallet::sandbox().await;
    let owner = app.signup("check_shop").await;
    let buyer = funded_buyer(&app, "check_buyer", 100_000).await;
    let (shop, product) = open_shop(&owner, "check.shop", 10).await;
    let [small, large] = [
        &product.variants[0].variant_id,
        &product.variants[1].variant_id,
    ];
    let escrowed = an_order(&buyer, &shop, small, 2, true).await;
    let released = an_order(&buyer, &shop, small, 1, true).await;
    let unreadable = an_order(&buyer, &shop, small, 1, false).await;
    let refunded = an_order(&buyer, &shop, large, 1, true).await;
    owner
        .client
        .ship_order(&refunded, "Poste", "RR1", &key("ship"))
        .await
        .unwrap();
    buyer
        .client
        .confirm_order(&refunded, &key("confirm"))
        .await
        .unwrap();
    buyer
        .client
        .request_refund(&refunded, 200, "a dent", &key("refund"))
        .await
        .unwrap();
    owner
        .client
        .decide_refund(&refunded, 0, true, &key("approve"))
        .await
        .unwrap();
    let report = integrity_report(app.data_dir());
    assert!(report.is_sound(), "{:?}", report.problems);
    crate::wallet::assert_ledger_sound(&app);
    stop_keeping_data(&mut app).await;

    let (escrowed, released, unreadable, refunded) = (
        row_of(&escrowed),
        row_of(&released),
        row_of(&unreadable),
        row_of(&refunded),
    );
    let buyer_row = row_of(&buyer.account_id);
    let escrow_of = |order: &str| {
        format!("(SELECT id FROM ledger_accounts WHERE kind = 'order_escrow' AND holder = {order})")
    };
    tamper(
        app.data_dir(),
        format!(
            "UPDATE variants SET reserved = reserved + 1 WHERE id = {small_row};
             UPDATE orders SET released_minor = 100 WHERE id = {released};
             UPDATE orders SET carrier = 'Poste' WHERE id = {unreadable};
             UPDATE order_refund_requests SET amount_minor = 300 WHERE order_id = {refunded};
             UPDATE merchants SET owner_id = {buyer_row}
              WHERE id = (SELECT merchant_id FROM shops WHERE id = {shop_row});
             INSERT INTO ledger_accounts (id, kind, holder, currency, balance_minor)
             VALUES (999999, 'order_escrow', 999999, 'CNY', 0);
             UPDATE ledger_postings SET amount_minor = amount_minor - 100
              WHERE transaction_id = (SELECT transaction_id FROM ledger_postings
                                      WHERE ledger_account_id = {escrow})
                AND ledger_account_id = (SELECT id FROM ledger_accounts
                                         WHERE kind = 'user_wallet' AND holder = {buyer_row});
             UPDATE ledger_postings SET amount_minor = amount_minor + 100
              WHERE ledger_account_id = {escrow};
             UPDATE ledger_accounts SET balance_minor = balance_minor + 100 WHERE id = {escrow};
             UPDATE ledger_accounts SET balance_minor = balance_minor - 100
              WHERE kind = 'user_wallet' AND holder = {buyer_row};",
            small_row = row_of(small),
            shop_row = row_of(&shop),
            escrow = escrow_of(escrowed),
        ),
    );
    crate::wallet::assert_ledger_sound(&app);
    let mut problems = integrity_report(app.data_dir()).problems;
    problems.sort();
    // The engines word a row they cannot read each their own way.
    let cannot_read =
        format!("an order cannot be read back: ord_{unreadable}: shipped_at, carrier and tracking");
    let (unread, mut problems): (Vec<String>, Vec<String>) = problems
        .into_iter()
        .partition(|problem| problem.starts_with(&cannot_read));
    assert_eq!(unread.len(), 1, "{unread:?} {problems:?}");
    problems.sort();
    let mut expected = vec![
        format!(
            "ledger account 999999: the escrow of ord_999999, which is no order in its currency"
        ),
        format!(
            "order ord_{escrowed}: its escrow account holds 2600 but the order's escrow is 2500 (paid − refunded from escrow − released)"
        ),
        format!(
            "order ord_{refunded} breaks the order's rule: each refund request's record fits its status"
        ),
        format!(
            "order ord_{refunded}: refunded 200 but its approved refund requests and its cancellation gave back 300"
        ),
        format!(
            "order ord_{released} breaks the order's rule: only a completed order has released money"
        ),
        format!(
            "order ord_{released}: its escrow account holds 1250 but the order's escrow is 1150 (paid − refunded from escrow − released)"
        ),
        format!(
            "shop {shop}: owned by {} but settling into a merchant of {}",
            owner.account_id, buyer.account_id
        ),
        format!("variant {small}: reserved 5 but its orders placed or paid hold 4"),
    ];
    expected.sort();
    assert_eq!(problems, expected);
}
