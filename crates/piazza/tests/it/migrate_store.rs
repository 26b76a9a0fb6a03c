//! `piazza admin migrate-store`: a SQLite server's whole store — chat,
//! profiles with avatars, money — moved by the real binary into an empty
//! PostgreSQL database and verified there; each account's log and wallet
//! read back from the target as the account saw them on SQLite; a second
//! run into the database, no longer empty, refused.

use std::path::Path;
use std::process::Output;

use piazza_api::{AccountView, ContactView, EventView, UpdateProfile};
use piazza_domain::event::{Event, LogEntry, stored};
use piazza_domain::{AccountId, LogSeq, Timestamp};
use piazza_postgres::testing::TestDatabase;
use postgres::{Client, NoTls};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::media::TINY_PNG;
use crate::wallet::{PIN, balance, call, set_pin, top_up};

/// What an account saw on SQLite before the move.
struct Seen {
    user: User,
    events: Vec<EventView>,
    balance: i64,
    me: AccountView,
    contacts: Vec<ContactView>,
    /// The account's contact code's payload.
    contact_code: String,
}

#[tokio::test]
async fn a_sqlite_store_moves_to_postgres_whole_and_verified() {
    let mut app = spawn_app_with(|config| {
        // The source is SQLite, whichever engine the suite runs on.
        config.database_url = None;
        config.sandbox_payments = true;
        // Entries leave the tails almost at once, so the store holds rows
        // in its tails and in its main tables, and both must be copied.
        config.limits.tail_keep = 4;
    })
    .await;
    let (users, group) = chat(&app).await;
    money(&users, &group).await;
    channels(&users).await;
    let mut seen = Vec::new();
    for user in users {
        seen.push(Seen {
            events: sync_all(&user.client, None, 200).await.0,
            balance: balance(&user).await,
            me: user.client.me().await.expect("me"),
            contacts: user.client.all_contacts().await.expect("contacts"),
            contact_code: user.client.contact_code().await.expect("contact code"),
            user,
        });
    }
    stop_keeping_data(&mut app).await;
    let data_dir = app.data_dir().to_str().unwrap();
    for check in ["check", "ledger-check"] {
        let checked = admin(&[check, "--data-dir", data_dir]);
        assert!(checked.status.success(), "{}", described(&checked));
    }
    assert_rows_in_tails_and_main_tables(app.data_dir());

    let target = TestDatabase::create();
    // The `postgres` client runs a runtime of its own: not on this one's.
    let (data_dir, url) = (app.data_dir().to_path_buf(), target.url.clone());
    let seen = tokio::task::spawn_blocking(move || {
        move_and_compare(&data_dir, &url, &seen);
        seen
    })
    .await
    .expect("the move is checked");
    served_from(app.data_dir(), &target.url, &seen).await;
}

/// Moves the store in `data_dir` into the empty database at `url`,
/// compares it with what the accounts saw, and tries again.
fn move_and_compare(data_dir: &Path, url: &str, seen: &[Seen]) {
    let moved = migrate_store(data_dir, url);
    assert!(moved.status.success(), "{}", described(&moved));
    let report = String::from_utf8_lossy(&moved.stdout);
    assert!(
        report.contains("ok: the target holds the whole store"),
        "{report}"
    );
    let media = data_dir.join("media");
    assert!(
        report.contains(&format!("media files stay in {}", media.display())),
        "{report}"
    );

    // What the checks for a PostgreSQL database say of it, too.
    for check in ["check", "ledger-check"] {
        let checked = admin(&[check, "--database-url", url]);
        assert!(checked.status.success(), "{}", described(&checked));
    }
    let mut db = Client::connect(url, NoTls).expect("the target answers");
    for seen in seen {
        assert_same_log(&mut db, seen);
        assert_eq!(wallet_balance(&mut db, &seen.user), seen.balance);
    }
    assert_avatar_and_sequences(&mut db, &seen[0].user);
    let hidden: i64 = db
        .query_one("SELECT count(*) FROM hidden_messages", &[])
        .unwrap()
        .get(0);
    assert_eq!(hidden, 1, "bob's deletion moved");
    let reactions: i64 = db
        .query_one("SELECT count(*) FROM message_reactions", &[])
        .unwrap()
        .get(0);
    assert_eq!(reactions, 1, "ann's reaction moved");
    let mentions: i64 = db
        .query_one("SELECT count(*) FROM mentions", &[])
        .unwrap()
        .get(0);
    assert_eq!(mentions, 1, "ann's mention of cat moved");
    let pinned: i64 = db
        .query_one("SELECT count(*) FROM members WHERE pinned", &[])
        .unwrap()
        .get(0);
    assert_eq!(pinned, 1, "cat's pin moved");
    let blocks: i64 = db
        .query_one("SELECT count(*) FROM blocks", &[])
        .unwrap()
        .get(0);
    assert_eq!(blocks, 1, "bob's block of cat moved");
    let media: (i64, i64) = {
        let row = db
            .query_one(
                "SELECT (SELECT count(*) FROM media WHERE name = 'minutes.txt'),
                        (SELECT count(*) FROM media WHERE width = 1 AND height = 1)",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(media, (1, 1), "a file's name and a picture's size moved");
    let remarks: i64 = db
        .query_one("SELECT count(*) FROM contacts WHERE remark = 'Bobby'", &[])
        .unwrap()
        .get(0);
    assert_eq!(remarks, 1, "ann's remark for bob moved");
    let codes: i64 = db
        .query_one("SELECT count(*) FROM contact_codes", &[])
        .unwrap()
        .get(0);
    assert_eq!(codes, 3, "every account's contact code moved");
    let group_admin: (i64, i64, i64, String) = {
        let row = db
            .query_one(
                "SELECT (SELECT count(*) FROM members WHERE is_admin),
                        (SELECT count(*) FROM group_invites),
                        (SELECT count(*) FROM join_requests),
                        (SELECT announcement FROM conversations WHERE join_approval)",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1), row.get(2), row.get(3))
    };
    assert_eq!(
        group_admin,
        (1, 1, 1, "Tea at five".to_owned()),
        "the admin, the invitation, the request and the announcement moved"
    );

    let again = migrate_store(data_dir, url);
    assert!(!again.status.success(), "{}", described(&again));
    let refusal = String::from_utf8_lossy(&again.stderr);
    assert!(
        refusal.contains("the target is not empty (rows in accounts, blocks, devices,"),
        "{refusal}"
    );
}

/// A source whose copy cannot verify (here a wallet's stored balance
/// tampered with, one more than its postings) fails with the mismatch
/// named, and leaves nothing on the target.
#[tokio::test]
async fn a_copy_that_does_not_verify_is_not_kept() {
    let mut app = spawn_app_with(|config| {
        config.database_url = None;
        config.sandbox_payments = true;
    })
    .await;
    let ann = app.signup("ann").await;
    let (status, body) = top_up(&ann, 10_000, "fund").await;
    assert_eq!(status, 201, "{body}");
    stop_keeping_data(&mut app).await;
    let conn = rusqlite::Connection::open(app.data_dir().join(piazza_sqlite::DATABASE_FILE));
    conn.unwrap()
        .execute(
            "UPDATE ledger_accounts SET balance_minor = balance_minor + 1
             WHERE kind = 'user_wallet'",
            [],
        )
        .unwrap();

    let data_dir = app.data_dir().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let target = TestDatabase::create();
        let moved = migrate_store(&data_dir, &target.url);
        assert!(!moved.status.success(), "{}", described(&moved));
        let report = String::from_utf8_lossy(&moved.stdout);
        assert!(
            report.contains("(user_wallet:1:CNY): balance 10001 but its postings sum to 10000"),
            "{report}"
        );
        assert!(!report.contains("ok:"), "{report}");
        let error = String::from_utf8_lossy(&moved.stderr);
        assert!(
            error.contains("(1 mismatches, listed above): nothing was kept"),
            "{error}"
        );
        let mut db = Client::connect(&target.url, NoTls).expect("the target answers");
        let accounts: i64 = db
            .query_one("SELECT count(*) FROM accounts", &[])
            .unwrap()
            .get(0);
        assert_eq!(accounts, 0, "a copy that did not verify was kept");
    })
    .await
    .expect("the refusal is checked");
}

#[tokio::test]
async fn a_bad_target_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let refused = migrate_store(dir.path(), "mysql://somewhere/piazza");
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(
        error.contains("`--to` must be a postgres:// URL"),
        "{error}"
    );
}

/// Three people; ann's avatar (a media row, which points at her account,
/// which points back at it); a pending request; direct messages with an
/// image (deleted by bob for himself) and a recalled one; a group with
/// messages and a read marker (its id returned); a device added by QR
/// log-in.
async fn chat(app: &TestApp) -> (Vec<User>, String) {
    let [ann, bob, cat] = [
        app.signup("ann").await,
        app.signup("bob").await,
        app.signup("cat").await,
    ];
    let direct = befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    cat.client
        .request_contact("bob", Some("hi bob"))
        .await
        .expect("request sent");
    bob.client.block(&cat.account_id).await.expect("blocked");
    ann.client
        .set_remark(&bob.account_id, Some("Bobby"))
        .await
        .expect("remark set");
    let (picture, _) = ann
        .client
        .upload_media(TINY_PNG.to_vec(), "image/png")
        .await
        .expect("uploaded");
    let avatar = UpdateProfile {
        avatar_media_id: Some(Some(picture.media_id.clone())),
        bio: Some(Some("tea".to_owned())),
        ..UpdateProfile::default()
    };
    ann.client
        .update_profile(&avatar)
        .await
        .expect("avatar set");
    let (image, _) = ann
        .client
        .send_image(&direct, "pic-1", &picture.media_id, "look")
        .await
        .expect("image sent");
    // A file with its name, sent with its attachment.
    let (file, _) = ann
        .client
        .upload_file(b"minutes of the meeting".to_vec(), Some("minutes.txt"))
        .await
        .expect("uploaded");
    ann.client
        .send_media(&direct, "file-1", &file.media_id, None, None)
        .await
        .expect("file sent");
    bob.client
        .send_message(&direct, "b-1", "nice")
        .await
        .expect("sent");
    // A message recalled, and one deleted for oneself, move as they are.
    let (oops, _) = bob
        .client
        .send_message(&direct, "b-2", "oops")
        .await
        .expect("sent");
    bob.client
        .recall_message(&direct, &oops.message_id)
        .await
        .expect("recalled");
    ann.client
        .react(&direct, &image.message_id, "👍")
        .await
        .expect("reacted");
    bob.client
        .delete_for_me(&direct, &image.message_id)
        .await
        .expect("deleted for bob");
    let members = [bob.account_id.clone(), cat.account_id.clone()];
    let group = ann
        .client
        .create_group("Tea", &members)
        .await
        .expect("group");
    let mut hello = None;
    for (index, user) in [&ann, &bob, &cat].into_iter().enumerate() {
        let (sent, _) = user
            .client
            .send_message(&group, &format!("g-{index}"), "hello all")
            .await
            .expect("sent");
        hello.get_or_insert(sent);
    }
    let hello = hello.expect("three sent");
    cat.client.mark_read(&group, 3).await.expect("read");
    // A reply that mentions, a place, and a pinned conversation move too.
    let reply = piazza_api::MessageContent {
        reply_to: Some(hello.message_id.clone()),
        mentions: vec![cat.account_id.clone()],
        ..piazza_api::MessageContent::text("see you at five")
    };
    ann.client
        .send(&group, "g-reply", reply)
        .await
        .expect("replied");
    let place = piazza_api::MessageContent {
        location: Some(piazza_api::LocationView {
            lat: 45.434,
            lon: 12.3388,
            name: Some("San Marco".to_owned()),
        }),
        ..piazza_api::MessageContent::default()
    };
    bob.client
        .send(&group, "g-place", place)
        .await
        .expect("place sent");
    let pin = piazza_api::ConversationSettingsChange {
        pinned: Some(true),
        ..Default::default()
    };
    cat.client
        .change_conversation_settings(&group, &pin)
        .await
        .expect("pinned");
    group_admin(app, &ann, &bob, &group).await;
    let asking = app.anonymous().create_login_request(Some("laptop")).await;
    let asking = asking.expect("a QR log-in asked for");
    ann.client
        .approve_login(&asking.qr_payload)
        .await
        .expect("approved");
    (vec![ann, bob, cat], group)
}

/// Group administration moves too: bob an admin, an announcement,
/// approval mode, an invitation, and dan's join request waiting.
async fn group_admin(app: &TestApp, ann: &User, bob: &User, group: &str) {
    ann.client
        .make_admin(group, &bob.account_id)
        .await
        .expect("bob an admin");
    let change = piazza_api::UpdateGroup {
        announcement: Some("Tea at five".to_owned()),
        join_approval: Some(true),
        ..Default::default()
    };
    bob.client
        .update_group(group, &change)
        .await
        .expect("announced");
    let invite = bob
        .client
        .create_invite(group, None)
        .await
        .expect("invited");
    let dan = app.signup("dan").await;
    let asked = dan.client.accept_invite(&invite.payload).await;
    assert_eq!(asked.expect("asked").state, "pending");
}

/// A channel with an editor, a follower told of an article (by the
/// background fan-out, awaited), a read, a like and a featured comment.
async fn channels(users: &[User]) {
    let (ann, bob) = (&users[0], &users[1]);
    let channel = piazza_api::CreateChannel {
        handle: "ann.news".to_owned(),
        name: "Ann's News".to_owned(),
        description: String::new(),
        avatar_media_id: None,
    };
    let channel = ann
        .client
        .create_channel(&channel)
        .await
        .unwrap()
        .channel_id;
    ann.client
        .add_channel_editor(&channel, &bob.account_id)
        .await
        .unwrap();
    bob.client.follow_channel(&channel).await.unwrap();
    let article = piazza_api::PublishArticle {
        title: "Moved".to_owned(),
        body_markdown: "# Moved\n\nwhole".to_owned(),
        cover_media_id: None,
    };
    let article = ann
        .client
        .publish_article(&channel, &article)
        .await
        .unwrap()
        .article_id;
    bob.client.article(&article).await.unwrap();
    bob.client.like_article(&article, true).await.unwrap();
    let comment = bob
        .client
        .comment_article(&article, "moved too")
        .await
        .unwrap();
    ann.client
        .feature_comment(&article, &comment.comment_id, true)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    while !sync_all(&bob.client, None, 200)
        .await
        .0
        .iter()
        .any(|event| event.type_ == "article.published")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the fan-out reached bob"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A transfer accepted (logged compactly on SQLite), a red packet with a
/// claim in `group`, and a merchant payment.
async fn money(users: &[User], group: &str) {
    let [ann, bob, cat] = users else {
        panic!("three users")
    };
    set_pin(ann).await;
    for key in ["fund-1", "fund-2"] {
        let (status, body) = top_up(ann, 10_000, key).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, sent) = post(
        ann,
        "/api/v1/transfers",
        json!({ "to": bob.account_id, "amount_minor": 1_500, "pin": PIN, "note": "lunch" }),
        Some("transfer-1"),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let transfer = sent["transfer_id"].as_str().unwrap();
    let (status, body) = post(
        bob,
        &format!("/api/v1/transfers/{transfer}/accept"),
        json!(null),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let packet = json!({ "conversation_id": group, "total_minor": 900,
                         "count": 3, "mode": "equal", "pin": PIN, "greeting": "enjoy" });
    let (status, sent) = post(ann, "/api/v1/red-packets", packet, Some("packet-1")).await;
    assert_eq!(status, 201, "{sent}");
    let packet = sent["red_packet_id"].as_str().unwrap();
    let (status, body) = post(
        cat,
        &format!("/api/v1/red-packets/{packet}/claim"),
        json!(null),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    shop(ann, cat).await;
}

/// Cat's shop: ann pays by its code and gets part back, then cat collects
/// with ann's payment code (no PIN, counted in the day's collections).
async fn shop(ann: &User, cat: &User) {
    use crate::merchants::{collect, payload, payment_code, refund};

    let shop = json!({ "name": "Noodle Bar", "city": "Shanghai" });
    let (status, body) = post(cat, "/api/v1/merchants", shop, None).await;
    assert_eq!(status, 201, "{body}");
    let merchant = body["merchant_id"].as_str().unwrap();
    let payload = payload(cat, merchant, Some(2_000)).await;
    let pay = json!({ "qr_payload": payload, "pin": PIN });
    let (status, paid) = post(ann, "/api/v1/payments", pay, Some("pay-1")).await;
    assert_eq!(status, 201, "{paid}");
    let payment = paid["payment_id"].as_str().unwrap();
    let (status, body) = refund(cat, payment, 500, "refund-1").await;
    assert_eq!(status, 201, "{body}");
    let code = payment_code(ann).await;
    let (status, body) = collect(cat, merchant, &code, 300, "collect-1").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "completed");
}

async fn post(user: &User, path: &str, body: Value, key: Option<&str>) -> (u16, Value) {
    let body = (!body.is_null()).then_some(body);
    call(&user.client, Method::POST, path, body, key).await
}

/// The source holds log entries and idempotency keys both in its tails
/// and in its main tables: the copy is tested on both.
fn assert_rows_in_tails_and_main_tables(data_dir: &Path) {
    let conn = rusqlite::Connection::open(data_dir.join(piazza_sqlite::DATABASE_FILE)).unwrap();
    for table in [
        "account_log",
        "account_log_tail",
        "idempotency_keys",
        "idempotency_keys_tail",
    ] {
        let rows: i64 = conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap();
        assert!(rows > 0, "{table} is empty");
    }
}

/// A server started on the target, with the same data directory, serves
/// what PostgreSQL serves so far as SQLite did: each account logs in with
/// its password and finds itself, its avatar (whose bytes are still in
/// the data directory) and its contacts.
// When PostgreSQL serves chat and Pay, the whole sync and the balance
// compared in `move_and_compare` are to be read from this server too.
async fn served_from(data_dir: &Path, url: &str, seen: &[Seen]) {
    let server = start_server_process(data_dir, &["--database-url", url]).await;
    let anonymous = piazza_client::Client::new(&server.base);
    for seen in seen {
        let session = anonymous
            .login(&seen.user.username, PASSWORD, "after the move")
            .await
            .expect("logs in on PostgreSQL");
        let client = anonymous.with_token(session.token);
        assert_eq!(client.me().await.unwrap(), seen.me);
        assert_eq!(client.all_contacts().await.unwrap(), seen.contacts);
        assert_eq!(client.contact_code().await.unwrap(), seen.contact_code);
        if let Some(avatar) = &seen.me.avatar_media_id {
            let picture = client.media(avatar).await.expect("the avatar's bytes");
            assert_eq!(picture.bytes, TINY_PNG);
        }
    }
    assert!(seen[0].me.avatar_media_id.is_some(), "ann has an avatar");
}

/// `piazza admin migrate-store --from <data_dir> --to <url>`.
fn migrate_store(data_dir: &Path, url: &str) -> Output {
    admin(&[
        "migrate-store",
        "--from",
        data_dir.to_str().unwrap(),
        "--to",
        url,
    ])
}

/// `piazza admin <args>`, named explicitly: whichever engine the suite
/// runs on, the source here is SQLite and the target PostgreSQL.
fn admin(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
        .arg("admin")
        .args(args)
        .env_remove("PIAZZA_DATABASE_URL")
        .output()
        .expect("the piazza binary runs")
}

fn described(output: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn row_of(id: &str) -> i64 {
    id.split_once('_').unwrap().1.parse().unwrap()
}

/// The account's log on the target, entry by entry, is what its sync
/// showed on SQLite: the same event at the same position (a transfer
/// event with the status it had when logged, now kept whole), and each
/// `message.new` the same message.
fn assert_same_log(db: &mut Client, seen: &Seen) {
    let account = row_of(&seen.user.account_id);
    let rows = db
        .query(
            "SELECT l.log_seq, l.at, l.data, m.id, m.conversation_id, m.seq, m.text
             FROM account_log l LEFT JOIN messages m ON m.id = l.message_id
             WHERE l.account_id = $1 ORDER BY l.log_seq",
            &[&account],
        )
        .unwrap();
    assert_eq!(rows.len(), seen.events.len(), "{}", seen.user.username);
    let mut transfers = 0;
    for (row, view) in rows.iter().zip(&seen.events) {
        let log_seq: i64 = row.get(0);
        assert_eq!(position(&view.cursor), log_seq);
        let Some(data) = row.get::<_, Option<String>>(2) else {
            assert_eq!(view.type_, "message.new");
            assert_eq!(
                field(view, "message_id"),
                &json!(format!("msg_{}", row.get::<_, i64>(3)))
            );
            let conversation = format!("conv_{}", row.get::<_, i64>(4));
            assert_eq!(field(view, "conversation_id"), &json!(conversation));
            assert_eq!(field(view, "seq"), &json!(row.get::<_, i64>(5)));
            assert_eq!(field(view, "text"), &json!(row.get::<_, String>(6)));
            continue;
        };
        assert!(!data.starts_with("{\"transfer_row\""), "{data}");
        transfers += usize::from(view.type_.starts_with("transfer."));
        let entry = LogEntry {
            account: AccountId::from_row(account),
            seq: LogSeq::from_stored(log_seq),
            at: Timestamp::from_unix_ms(row.get(1)),
            event: Event::from(serde_json::from_str::<stored::Event>(&data).expect("whole")),
        };
        assert_eq!(&piazza_server::events::to_view(&entry), view);
    }
    if seen.user.username != "cat" {
        assert_eq!(
            transfers, 2,
            "{}: sent or received, then accepted",
            seen.user.username
        );
    }
}

fn wallet_balance(db: &mut Client, user: &User) -> i64 {
    db.query_opt(
        "SELECT balance_minor FROM ledger_accounts
         WHERE kind = 'user_wallet' AND holder = $1 AND currency = 'CNY'",
        &[&row_of(&user.account_id)],
    )
    .unwrap()
    .map_or(0, |row| row.get(0))
}

/// Ann's avatar came back once the media were in, and every identity
/// sequence stands at its table's largest id, so the next row takes a new
/// one.
fn assert_avatar_and_sequences(db: &mut Client, ann: &User) {
    let avatar: Option<i64> = db
        .query_one(
            "SELECT avatar_media_id FROM accounts WHERE id = $1",
            &[&row_of(&ann.account_id)],
        )
        .unwrap()
        .get(0);
    assert!(avatar.is_some(), "ann's avatar was lost");
    for table in [
        "accounts",
        "messages",
        "ledger_postings",
        "transfers",
        "media",
    ] {
        let (largest, last): (i64, i64) = {
            let row = db
                .query_one(
                    &format!(
                        "SELECT max(id), pg_sequence_last_value(
                                    pg_get_serial_sequence('{table}', 'id')::regclass)
                         FROM {table}"
                    ),
                    &[],
                )
                .unwrap();
            (row.get(0), row.get(1))
        };
        assert_eq!(last, largest, "{table}'s sequence");
    }
}
