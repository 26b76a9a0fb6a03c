//! `piazza admin backup` and `restore`, with the real binary, on a SQLite
//! server: backed up while messages and transfers are being written, the
//! archive restores into a store that passes `check` and `ledger-check`,
//! in which each account's history is its live history up to one moment
//! (holding everything acknowledged before the backup began) and the
//! media are byte for byte; backed up when quiet, each history is the
//! same whole. A damaged or cut-short archive restores nothing.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use piazza_api::EventView;
use piazza_client::{Client, IdempotencyKey};

use crate::helpers::*;
use crate::media::TINY_PNG;
use crate::wallet::{PIN, set_pin, top_up};

#[tokio::test]
async fn a_server_backed_up_under_writes_restores_whole() {
    let app = spawn_app_with(|config| {
        // Backup is of a SQLite data directory, whichever engine the
        // suite runs on (PostgreSQL is backed up with its own tools).
        config.database_url = None;
        busy(config);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("under-load.tar");
    let mut load = Load::start(&app).await;
    let acknowledged_before = load.acknowledged();
    let made = piazza(&[
        "admin",
        "backup",
        "--data-dir",
        arg(app.data_dir()),
        "--to",
        arg(&archive),
    ])
    .await;
    assert!(made.contains("backed up"), "{made}");
    load.stop(&acknowledged_before).await;

    let restored = dir.path().join("restored");
    let told = piazza(&[
        "admin",
        "restore",
        "--from",
        arg(&archive),
        "--data-dir",
        arg(&restored),
    ])
    .await;
    assert_eq!(
        told.matches("ok:").count(),
        2,
        "check and ledger-check pass: {told}"
    );
    for check in ["check", "ledger-check"] {
        admin_check_passes(check, &restored);
    }
    let server = start_server_process(&restored, &[]).await;
    load.holds_a_moment(&server.base, &acknowledged_before)
        .await;
    drop(server);

    // Quiet now: a second backup is the whole of what the server holds.
    let quiet = dir.path().join("quiet.tar");
    piazza(&[
        "admin",
        "backup",
        "--data-dir",
        arg(app.data_dir()),
        "--to",
        arg(&quiet),
    ])
    .await;
    let again = dir.path().join("again");
    // An empty directory that exists (a mount point, say) is restored into,
    std::fs::create_dir(&again).unwrap();
    // What a restore killed midway left is cleared, not taken for data.
    let stale = again.join(".restoring-0badf00d");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join(piazza_sqlite::DATABASE_FILE), b"half").unwrap();
    piazza(&[
        "admin",
        "restore",
        "--from",
        arg(&quiet),
        "--data-dir",
        arg(&again),
    ])
    .await;
    let server = start_server_process(&again, &[]).await;
    load.holds_everything(&server.base).await;
    refusals(dir.path(), &quiet, app.data_dir()).await;
}

/// DEPLOYMENT.md's procedure for PostgreSQL, as written there: `pg_dump`
/// while nodes write, the media folder copied after it, `pg_restore`
/// into an empty database, `admin check` and `ledger-check` on it.
#[tokio::test]
async fn a_postgres_server_dumped_under_writes_restores_whole() {
    let database = piazza_postgres::testing::TestDatabase::create();
    let app = spawn_app_with(|config| {
        config.database_url = Some(database.url.clone());
        busy(config);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("piazza.dump");
    let mut load = Load::start(&app).await;
    let acknowledged_before = load.acknowledged();
    shell(
        "pg_dump",
        &["--format=custom", "--file", arg(&dump), &database.url],
    )
    .await;
    let copy = dir.path().join("data");
    shell("cp", &["-a", arg(app.data_dir()), arg(&copy)]).await;
    load.stop(&acknowledged_before).await;

    let target = piazza_postgres::testing::TestDatabase::create_bare();
    let restore = [
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
        "--dbname",
    ];
    shell(
        "pg_restore",
        &[&restore[..], &[&target.url, arg(&dump)]].concat(),
    )
    .await;
    admin_checks_pass_on_database(&target.url);
    let server = start_server_process_on_database(&copy, &target.url, &[]).await;
    load.holds_a_moment(&server.base, &acknowledged_before)
        .await;
}

/// What both tests set: money, and no rate limit in the load's way.
fn busy(config: &mut piazza_server::config::Config) {
    config.sandbox_payments = true;
    config.limits.tail_keep = 4;
    config.limits.requests_per_account_per_s = 1_000_000;
    config.limits.requests_per_account_burst = 1_000_000;
}

/// Ann and Bob with a photo between them and money, and a load of
/// messages and transfers running until `stop`.
struct Load {
    ann: User,
    bob: User,
    photo: String,
    acked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Starts the load; answers once 30 messages are acknowledged.
    async fn start(app: &TestApp) -> Load {
        let ann = app.signup("ann").await;
        let bob = app.signup("bob").await;
        let chat = befriend(&ann, &bob).await;
        let (photo, _) = ann
            .client
            .upload_media(TINY_PNG.to_vec(), "image/png")
            .await
            .unwrap();
        let message = piazza_api::MessageContent {
            media_id: Some(photo.media_id.clone()),
            ..piazza_api::MessageContent::text("")
        };
        ann.client
            .send(&chat, "photo", message)
            .await
            .expect("photo sent");
        set_pin(&bob).await;
        assert_eq!(top_up(&bob, 1_000_000, "bob-tops-up").await.0, 201);
        let (acked, stop) = (Arc::default(), Arc::default());
        let task = tokio::spawn(write_load(
            ann.clone(),
            bob.clone(),
            chat,
            Arc::clone(&acked),
            Arc::clone(&stop),
        ));
        wait_for_messages(&acked, 30).await;
        Load {
            ann,
            bob,
            photo: photo.media_id,
            acked,
            stop,
            task: Some(task),
        }
    }

    /// The messages acknowledged so far.
    fn acknowledged(&self) -> Vec<String> {
        self.acked.lock().unwrap().clone()
    }

    /// Stops the load, which must have gone on past `before`.
    async fn stop(&mut self, before: &[String]) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.take().expect("running").await.unwrap();
        let sent = self.acked.lock().unwrap().len();
        assert!(
            sent > before.len(),
            "the load went on after the backup began"
        );
    }

    /// The server at `base` holds each account's history up to a moment
    /// of the load, with every message acknowledged before it began, and
    /// the photo's bytes.
    async fn holds_a_moment(&self, base: &str, acknowledged_before: &[String]) {
        for user in [&self.ann, &self.bob] {
            let live = sync_all(&user.client, None, 500).await.0;
            let back = sync_all(&on(base, user), None, 500).await.0;
            assert!(
                back.len() < live.len(),
                "the backup is a moment before the load ended"
            );
            assert_eq!(
                back,
                live[..back.len()],
                "{}'s history is a prefix",
                user.username
            );
            assert_holds(&back, acknowledged_before);
        }
        let picture = on(base, &self.bob)
            .media(&self.photo)
            .await
            .expect("the photo");
        assert_eq!(picture.bytes, TINY_PNG);
    }

    /// The server at `base` holds each account's whole history and wallet.
    async fn holds_everything(&self, base: &str) {
        for user in [&self.ann, &self.bob] {
            let live = sync_all(&user.client, None, 500).await.0;
            assert_eq!(sync_all(&on(base, user), None, 500).await.0, live);
            let wallet = on(base, user).wallet().await.unwrap();
            assert_eq!(wallet, user.client.wallet().await.unwrap());
        }
    }
}

/// A damaged archive, one cut short, a target that is not empty and a
/// name already taken are each refused, restoring (or writing) nothing.
async fn refusals(dir: &Path, archive: &Path, data_dir: &Path) {
    let whole = std::fs::read(archive).unwrap();
    let mut damaged = whole.clone();
    // A byte inside the store, past the first entry's 512-byte header.
    damaged[4096] ^= 0x40;
    let cut = &whole[..whole.len() / 2];
    for (name, bytes, expected) in [
        (
            "damaged.tar",
            &damaged[..],
            "not the one its manifest describes",
        ),
        ("cut.tar", cut, "not a whole Piazza backup"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let target = dir.join(format!("{name}.restored"));
        let refused = piazza_fails(&[
            "admin",
            "restore",
            "--from",
            arg(&path),
            "--data-dir",
            arg(&target),
        ])
        .await;
        assert!(refused.contains(expected), "{name}: {refused}");
        assert!(!target.exists(), "{name}: nothing restored");
    }
    let refused = piazza_fails(&[
        "admin",
        "restore",
        "--from",
        arg(archive),
        "--data-dir",
        arg(data_dir),
    ])
    .await;
    assert!(refused.contains("is not empty"), "{refused}");
    let refused = piazza_fails(&[
        "admin",
        "backup",
        "--data-dir",
        arg(data_dir),
        "--to",
        arg(archive),
    ])
    .await;
    assert!(refused.contains("exists already"), "{refused}");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("partial") || name.contains("restoring"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "nothing half-made is left: {leftovers:?}"
    );
}

/// Ann writes to Bob and Bob pays Ann, as fast as they are answered,
/// until `stop`; the ids of the messages acknowledged go to `acked`.
async fn write_load(
    ann: User,
    bob: User,
    chat: String,
    acked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) {
    for sent in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let text = format!("message {sent}");
        let (message, _) = ann
            .client
            .send_message(&chat, &format!("load-{sent}"), &text)
            .await
            .expect("sent");
        acked.lock().unwrap().push(message.message_id);
        let key = IdempotencyKey::parse(&format!("pay-{sent}")).unwrap();
        bob.client
            .send_transfer(&key, &ann.account_id, 1, PIN, None)
            .await
            .expect("paid");
    }
}

/// The ids of the messages acknowledged once there are `count`.
async fn wait_for_messages(acked: &Mutex<Vec<String>>, count: usize) -> Vec<String> {
    for _ in 0..1000 {
        let ids = acked.lock().unwrap().clone();
        if ids.len() >= count {
            return ids;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the load did not start");
}

fn assert_holds(events: &[EventView], message_ids: &[String]) {
    for id in message_ids {
        assert!(
            events
                .iter()
                .any(|event| event.fields.get("message_id").and_then(|v| v.as_str()) == Some(id)),
            "{id}, acknowledged before the backup, is in it"
        );
    }
}

/// `user`'s device, on the server at `base`: a restored store keeps its
/// sessions.
fn on(base: &str, user: &User) -> Client {
    Client::new(base).with_token(user.client.token().expect("logged in"))
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs the real binary; panics with its output unless it exits 0.
async fn piazza(args: &[&str]) -> String {
    let output = run(args).await;
    assert!(output.0, "`piazza {}` failed: {}", args.join(" "), output.1);
    output.1
}

/// Runs the real binary; panics unless it exits non-zero.
async fn piazza_fails(args: &[&str]) -> String {
    let output = run(args).await;
    assert!(
        !output.0,
        "`piazza {}` succeeded: {}",
        args.join(" "),
        output.1
    );
    output.1
}

/// Runs a tool of the machine's (PostgreSQL's client tools, `cp`).
async fn shell(program: &str, args: &[&str]) {
    let output = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|error| panic!("{program} runs: {error}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn run(args: &[&str]) -> (bool, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
        .args(args)
        .output()
        .await
        .expect("the piazza binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}
