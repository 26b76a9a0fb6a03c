//! Piazza's persistence on SQLite: the engine ([`SqliteEngine`]) that runs
//! `piazza-core`'s use cases on an embedded SQLite database:
//! one writer thread with group commit ([`writer`]), a pool of read-only
//! connections ([`readers`]), and every SQL statement in this crate.
//!
//! Durability: the database runs in WAL mode with `synchronous=FULL`, so a
//! commit returns only after the WAL is fsynced, and nothing is answered
//! before its batch has committed. What was acknowledged survives `kill -9`
//! and power loss (as far as the disk honours fsync).

mod account_deletion;
mod accounts;
pub mod backup;
pub mod bench_seed;
mod blocks;
mod channels;
mod chat;
mod checkpointer;
mod contact_codes;
mod contacts;
pub mod engine;
mod error;
pub mod export;
mod exports;
mod groups;
pub mod integrity;
mod leases;
mod log_data;
mod login_requests;
mod media;
mod merchants;
mod moments;
mod presence;
mod profiles;
mod readers;
mod reads;
mod red_packets;
mod search;
mod shops;
mod tails;
mod transfers;
pub mod verifier;
mod wallet;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use piazza_domain::store::{NoticeSink, PinPolicy, StoreResult};
use rusqlite::{Connection, OptionalExtension};

pub use engine::SqliteEngine;
pub use error::Error;
pub use tails::TailLimits;
use verifier::Verifier;
pub use verifier::VerifyOptions;
use verifier::{Health, StartBudget, StartCheck};
pub use writer::WriterLimits;

use checkpointer::Checkpointer;
use readers::Readers;
use writer::Writer;

/// The file the store lives in, inside the data directory.
pub const DATABASE_FILE: &str = "piazza.sqlite3";

/// The schema version this Piazza writes (`PRAGMA user_version`).
pub fn current_schema() -> i64 {
    MIGRATIONS.len() as i64
}

const MIGRATIONS: &[&str] = &[
    include_str!("schema.sql"),
    include_str!("schema_2_ledger.sql"),
    include_str!("schema_3_transfers.sql"),
    include_str!("schema_4_red_packets.sql"),
    include_str!("schema_5_merchants.sql"),
    include_str!("schema_6_payment_codes.sql"),
    include_str!("schema_7_money_housekeeping.sql"),
    include_str!("schema_8_login_requests.sql"),
    include_str!("schema_9_media.sql"),
    include_str!("schema_10_message_client_ids.sql"),
    include_str!("schema_11_tails.sql"),
    include_str!("schema_12_money_safety.sql"),
    include_str!("schema_13_login_request_facts.sql"),
    include_str!("schema_14_media_usage.sql"),
    include_str!("schema_15_profiles.sql"),
    include_str!("schema_16_device_details.sql"),
    include_str!("schema_17_recall.sql"),
    include_str!("schema_18_message_actions.sql"),
    include_str!("schema_19_message_extras.sql"),
    include_str!("schema_20_presence.sql"),
    include_str!("schema_21_blocks.sql"),
    include_str!("schema_22_mentions_by_seq.sql"),
    include_str!("schema_23_media_kinds.sql"),
    include_str!("schema_24_group_admin.sql"),
    include_str!("schema_25_contact_codes.sql"),
    include_str!("schema_26_moments.sql"),
    include_str!("schema_27_channels.sql"),
    include_str!("schema_28_fanout_turns.sql"),
    include_str!("schema_29_shops.sql"),
    include_str!("schema_30_order_conversations.sql"),
    include_str!("schema_31_order_item_names.sql"),
    include_str!("schema_32_leases.sql"),
    include_str!("schema_33_search.sql"),
    include_str!("schema_34_search_documents.sql"),
    include_str!("schema_35_account_deletion.sql"),
    include_str!("schema_36_exports.sql"),
    include_str!("schema_37_erasure.sql"),
];

#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    pub reader_count: usize,
    pub writer: WriterLimits,
    /// When wrong payment PINs lock money-out.
    pub pin_policy: PinPolicy,
    /// The writer connection's page cache, in KiB (filled as pages are
    /// touched; SQLite's own default is 2 MiB).
    pub writer_cache_kib: u32,
    /// The start-up check and the background verifier (`verifier.rs`).
    pub verify: VerifyOptions,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            reader_count: 8,
            writer: WriterLimits::default(),
            pin_policy: PinPolicy::default(),
            writer_cache_kib: 64 * 1024,
            verify: VerifyOptions::default(),
        }
    }
}

pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Arc<Readers>,
    health: Arc<Health>,
    /// Kept for its thread, which stops when the store is dropped.
    _verifier: Verifier,
}

impl SqliteStore {
    /// Opens (creating and migrating on first run) the store in `data_dir`.
    pub fn open(
        data_dir: &Path,
        options: StoreOptions,
        sink: Arc<dyn NoticeSink>,
    ) -> Result<SqliteStore, Error> {
        configure_sqlite_once();
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DATABASE_FILE);
        let conn = open_writer_connection(&path, options.writer_cache_kib)?;
        let started = Instant::now();
        let budget = StartBudget::new(options.verify.start_budget);
        // Pages first, so that nothing is written to a damaged file.
        let mut checked = verifier::check_pages_at_start(&conn, budget)?;
        migrate(&conn)?;
        if checked == StartCheck::Complete {
            checked = verifier::check_ledger_at_start(&conn, budget)?;
        }
        // A complete check is the normal case and says nothing an operator
        // needs at every start; a partial one (the budget ran out) does.
        if checked == StartCheck::Complete {
            tracing::debug!(?checked, elapsed = ?started.elapsed(), "store checked at start");
        } else {
            tracing::info!(?checked, elapsed = ?started.elapsed(), "store checked at start");
        }
        let health = Arc::new(Health::default());
        metrics::gauge!("piazza_sqlite_damaged").set(0.0);
        let verifier = Verifier::start(
            &path,
            Arc::clone(&health),
            options.verify,
            checked == StartCheck::Cut,
        )?;
        let readers = Readers::open(&path, options.reader_count)?;
        let checkpointer = Checkpointer::start(&path, options.writer.checkpoint_frames)?;
        let rules = writer::Rules {
            pin_policy: options.pin_policy,
            health: Arc::clone(&health),
        };
        let writer = Writer::start(conn, checkpointer, sink, options.writer, rules);
        Ok(SqliteStore {
            path,
            writer,
            readers,
            health,
            _verifier: verifier,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Finishes the writes already queued, then stops the writer.
    pub fn shut_down(&self) {
        self.writer.shut_down();
    }

    /// True once the store found damage in itself: no money may move.
    pub fn money_halted(&self) -> bool {
        self.health.money_halted()
    }

    /// Ok when the store can both read and write: no damage found, its
    /// writer running, a reader answering.
    pub async fn check_health(&self) -> StoreResult<()> {
        if let Some(damage) = self.health.damage() {
            return Err(piazza_domain::StoreError::Unavailable(format!(
                "the store is damaged ({damage}); money is halted"
            )));
        }
        if !self.writer.is_running() {
            return Err(piazza_domain::StoreError::Unavailable(
                "the writer has stopped".into(),
            ));
        }
        Ok(self
            .readers
            .read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await?)
    }
}

/// Process-wide SQLite settings, which SQLite accepts only before its
/// first connection. Memory statistics take a global mutex on every
/// allocation inside SQLite; nothing here reads them, and they cost the
/// writer ~15% of its time.
fn configure_sqlite_once() {
    static CONFIGURE: std::sync::Once = std::sync::Once::new();
    CONFIGURE.call_once(|| {
        // SAFETY: `sqlite3_config` takes an int for MEMSTATUS; called after
        // SQLite has initialised (another connection opened first) it
        // returns SQLITE_MISUSE and changes nothing, which is harmless.
        let outcome = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            )
        };
        if outcome != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(
                outcome,
                "SQLite was already initialised; memory statistics stay on"
            );
        }
    });
}

fn open_writer_connection(path: &Path, cache_kib: u32) -> Result<Connection, Error> {
    let conn = Connection::open(path)?;
    // Explicit on purpose: durability must not depend on library defaults.
    // temp_store=MEMORY keeps the writer's per-job savepoint journal in
    // memory; on disk it spilled to a temp file that was never truncated
    // and cost a third of the writer's time in pwrite. A 64 MiB page cache
    // by default (SQLite's is 2 MiB) keeps a batch of hundreds of money jobs
    // from spilling dirty pages mid-transaction and reading them back.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Corrupt(format!(
            "cannot switch to WAL mode (got {mode})"
        )));
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;",
    )?;
    // Checkpoints run on their own thread (`checkpointer.rs`); the writer
    // only counts the WAL's frames.
    checkpointer::count_wal_frames(&conn);
    // Negative: KiB rather than pages.
    conn.execute_batch(&format!("PRAGMA cache_size = -{cache_kib};"))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Every job's statements and the tails' moves (~12) stay prepared.
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

fn migrate(conn: &Connection) -> Result<(), Error> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(Error::Corrupt(format!(
            "the data directory was written by a newer Piazza (schema {version}, this one knows {known})"
        )));
    }
    if version == known {
        return Ok(());
    }
    // A migration that rebuilds a table drops the old one while rows of
    // other tables still point at it: foreign keys are off while the
    // migrations run (SQLite ignores the pragma inside a transaction), and
    // each migration checks them itself before it commits.
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    // One line for the operator (a new store, or an upgrade); each step
    // is logged at debug level.
    if version == 0 {
        tracing::info!(schema = known, "creating a new store");
    } else {
        tracing::info!(from = version, to = known, "migrating the store");
    }
    for (index, script) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let target = index as i64 + 1;
        tracing::debug!(schema = target, "migrating the store");
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let applied = conn
            .execute_batch(script)
            .map_err(Error::from)
            .and_then(|()| foreign_keys_hold(conn, target))
            .and_then(|()| Ok(conn.execute_batch(&format!("PRAGMA user_version = {target}"))?));
        if let Err(error) = applied {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(error);
        }
        conn.execute_batch("COMMIT")?;
        tracing::debug!(schema = target, "migrated the store");
    }
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    Ok(())
}

fn foreign_keys_hold(conn: &Connection, schema: i64) -> Result<(), Error> {
    let broken: Option<String> = conn
        .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
        .optional()?;
    match broken {
        None => Ok(()),
        Some(table) => Err(Error::Corrupt(format!(
            "migrating to schema {schema} left rows of {table} pointing at nothing"
        ))),
    }
}

/// What the store's unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::Path;
    use std::sync::Arc;

    use piazza_core::{Core, accounts, chat, contacts};
    use piazza_domain::store::{
        Account, DeviceSeen, HistoryPage, LogPage, NoticeSink, Sent, StoreResult, TokenHash,
    };
    use piazza_domain::{
        AccountId, ClientMsgId, ConversationId, DeviceId, DeviceName, DisplayName, Greeting,
        GroupTitle, LogSeq, MessageText, Seq, Username,
    };

    use crate::engine::Db;
    use crate::{SqliteEngine, SqliteStore};

    /// The rules over `store`, as the server runs them, with media files
    /// under `data_dir`.
    pub(crate) fn core(store: &Arc<SqliteStore>, data_dir: &Path) -> Core {
        Core::new(Arc::new(SqliteEngine(Arc::clone(store))), data_dir)
    }

    /// A live side that drops every notice.
    pub(crate) struct Nobody;

    impl NoticeSink for Nobody {
        fn notify(&self, _: Vec<piazza_domain::Notice>) {}
    }

    /// Gives `account` its first payment PIN (the store never reads the hash).
    pub(crate) async fn set_first_pin(store: &Core, account: AccountId) {
        let first = piazza_domain::store::PinChange::WithPassword {
            pin_hash: "unused".into(),
            reset_effective_at: piazza_domain::Timestamp::now(),
        };
        let set = store.set_pin(account, first).await.unwrap();
        assert_eq!(set, piazza_domain::store::PinSet::Now);
    }

    /// A new account named `name` (its display name too), made by the
    /// rules' own use case inside the writer.
    pub(crate) async fn account(store: &SqliteStore, name: &str) -> AccountId {
        create_account(store, name).await.unwrap().account_id
    }

    pub(crate) async fn create_account(store: &SqliteStore, name: &str) -> StoreResult<Account> {
        let username = Username::parse(name).unwrap();
        let display_name = DisplayName::parse(name).unwrap();
        Ok(store
            .writer
            .run(move |ctx| {
                Ok(accounts::create_account(
                    ctx,
                    &username,
                    &display_name,
                    "x",
                )?)
            })
            .await?)
    }

    /// Makes `from` and `to` contacts: `from` asks and `to` accepts, by
    /// the rules' own use cases inside the writer.
    pub(crate) async fn make_contacts(store: &SqliteStore, from: AccountId, to: AccountId) {
        store
            .writer
            .run(move |ctx| {
                let name = crate::reads::account(ctx.conn, to)?.username;
                let greeting = Greeting::parse("hi").unwrap();
                let request = contacts::request_contact(ctx, from, &name, &greeting)?;
                Ok(contacts::accept_request(ctx, to, request)?)
            })
            .await
            .unwrap();
    }

    /// A group of `owner`'s with its contacts `members`, made by the
    /// rules' own use case inside the writer (as are the helpers below).
    pub(crate) async fn create_group(
        store: &SqliteStore,
        owner: AccountId,
        title: GroupTitle,
        members: Vec<AccountId>,
    ) -> StoreResult<ConversationId> {
        Ok(store
            .writer
            .run(move |ctx| Ok(chat::create_group(ctx, owner, &title, &members)?))
            .await?)
    }

    pub(crate) async fn send_message(
        store: &SqliteStore,
        sender: AccountId,
        conversation: ConversationId,
        client_msg_id: ClientMsgId,
        text: MessageText,
    ) -> StoreResult<Sent> {
        Ok(store
            .writer
            .run(move |ctx| {
                Ok(chat::send_message(
                    ctx,
                    sender,
                    conversation,
                    &client_msg_id,
                    &text,
                )?)
            })
            .await?)
    }

    pub(crate) async fn history(
        store: &SqliteStore,
        viewer: AccountId,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: u32,
    ) -> StoreResult<HistoryPage> {
        Ok(store
            .readers
            .read(move |conn| {
                Ok(chat::history(
                    &mut Db(conn),
                    viewer,
                    conversation,
                    before,
                    limit,
                )?)
            })
            .await?)
    }

    pub(crate) async fn log_after(
        store: &SqliteStore,
        account: AccountId,
        after: LogSeq,
        limit: u32,
    ) -> StoreResult<LogPage> {
        Ok(store
            .readers
            .read(move |conn| Ok(chat::log_page(&mut Db(conn), account, after, limit)?))
            .await?)
    }

    /// A new device of `account` whose token hashes to `token`.
    pub(crate) async fn device(
        store: &SqliteStore,
        account: AccountId,
        token: TokenHash,
    ) -> DeviceId {
        let name = DeviceName::parse("phone").unwrap();
        let seen = DeviceSeen::default();
        store
            .writer
            .run(move |ctx| {
                Ok(accounts::create_session(
                    ctx, account, &name, &token, &seen, None,
                )?)
            })
            .await
            .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Nobody;
    use piazza_domain::{AccountId, ClientMsgId, ConversationId, MessageText, Timestamp};

    #[tokio::test]
    async fn health_fails_once_the_writer_has_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap();
        assert!(store.check_health().await.is_ok());
        store.shut_down();
        assert!(store.check_health().await.is_err());
        let refused = test_support::create_account(&store, "ann").await;
        assert!(
            matches!(refused, Err(piazza_domain::StoreError::Unavailable(_))),
            "writes are refused, not lost"
        );
    }

    #[tokio::test]
    async fn idempotency_keys_are_kept_for_their_retention_then_purged() {
        use piazza_domain::money::{AmountMinor, Currency, Money};
        use piazza_domain::store::{IdempotencyKey, Idempotent};

        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap(),
        );
        let ann = test_support::account(&store, "ann").await;
        let store = test_support::core(&store, dir.path());
        let money = Money::new(AmountMinor::positive(100).unwrap(), Currency::CNY);
        let request = || Idempotent {
            key: IdempotencyKey::parse("k1").unwrap(),
            request_hash: [7; 32],
        };
        let top_up = || store.top_up(ann, request(), money, "test".into());
        assert!(!top_up().await.unwrap().replayed);
        let now = Timestamp::now().unix_ms();
        let day_ago = Timestamp::from_unix_ms(now - 24 * 60 * 60 * 1000);
        // Younger than the retention: kept, so the retry replays.
        assert_eq!(
            store
                .purge_money_housekeeping(day_ago, day_ago, 100)
                .await
                .unwrap(),
            0
        );
        assert!(top_up().await.unwrap().replayed);
        // Past it: gone (here by asking to purge everything before a
        // moment in the future), so the same key is new again.
        let later = Timestamp::from_unix_ms(now + 1_000);
        assert_eq!(
            store
                .purge_money_housekeeping(later, day_ago, 100)
                .await
                .unwrap(),
            1
        );
        assert!(!top_up().await.unwrap().replayed);
        assert_eq!(store.wallet_balance(ann, Currency::CNY).await.unwrap(), 200);
    }

    #[tokio::test]
    async fn reopening_keeps_everything_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap();
        let ann = test_support::create_account(&store, "ann").await.unwrap();
        store.shut_down();
        drop(store);
        let store =
            SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap();
        let found = store
            .readers
            .read(move |conn| reads::account(conn, ann.account_id));
        assert_eq!(found.await.unwrap(), ann);
        let taken = test_support::create_account(&store, "ann").await;
        assert!(matches!(
            taken,
            Err(piazza_domain::StoreError::Rejected(
                piazza_domain::Rejection::UsernameTaken
            ))
        ));
    }

    /// A store at schema 9 with one text message and one transfer
    /// message, written with that schema's SQL as an older Piazza would.
    fn store_at_schema_9(dir: &Path) {
        let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        for (index, script) in MIGRATIONS[..9].iter().enumerate() {
            conn.execute_batch(&format!(
                "BEGIN; {script}; PRAGMA user_version = {}; COMMIT;",
                index + 1
            ))
            .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO accounts (id, username, display_name, password_hash, created_at, log_head)
             VALUES (1, 'ann', 'Ann', 'x', 0, 2), (2, 'bob', 'Bob', 'x', 0, 0);
             INSERT INTO conversations (id, kind, direct_key, last_seq, created_at, last_activity_at)
             VALUES (1, 0, '1:2', 2, 0, 0);
             INSERT INTO members (conversation_id, account_id, joined_at, from_seq, read_seq)
             VALUES (1, 1, 0, 0, 2), (1, 2, 0, 0, 0);
             INSERT INTO messages (id, conversation_id, seq, sender_id, client_msg_id, text, sent_at, kind, ref)
             VALUES (1, 1, 1, 1, 'c1', 'hello', 0, NULL, NULL),
                    (2, 1, 2, 1, 'transfer tr_1', 'Transfer of 0.01 CNY', 0, 'transfer', 'tr_1');
             INSERT INTO account_log (account_id, log_seq, at, message_id)
             VALUES (1, 1, 0, 1), (1, 2, 0, 2);",
        )
        .unwrap();
    }

    #[test]
    fn an_old_store_is_not_checked_but_told_to_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        store_at_schema_9(dir.path());
        for result in [
            integrity::check_data_dir(dir.path()).map(drop),
            integrity::check_ledger_data_dir(dir.path()).map(drop),
        ] {
            let error = result.unwrap_err().to_string();
            assert!(
                error.contains("at schema 9") && error.contains("piazza serve"),
                "{error}"
            );
        }
    }

    #[tokio::test]
    async fn schema_10_keeps_every_message_and_client_ids_unique() {
        let dir = tempfile::tempdir().unwrap();
        store_at_schema_9(dir.path());
        let store =
            SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap();
        let ann = AccountId::from_row(1);
        let conversation = ConversationId::from_row(1);
        // A retry of the text message answers the stored one.
        let again = test_support::send_message(
            &store,
            ann,
            conversation,
            ClientMsgId::parse("c1").unwrap(),
            MessageText::parse("hello").unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(
            again.message.message_id,
            piazza_domain::MessageId::from_row(1)
        );
        let history = test_support::history(&store, ann, conversation, None, 10)
            .await
            .unwrap()
            .messages;
        let kept: Vec<_> = history
            .iter()
            .map(|message| (message.seq.get(), message.client_msg_id.as_str().to_owned()))
            .collect();
        assert_eq!(
            kept,
            [(2, "transfer tr_1".to_owned()), (1, "c1".to_owned())],
            "both messages kept, nothing added by the retry"
        );
        store.shut_down();
        drop(store);

        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        foreign_keys_hold(&conn, version).unwrap();
        // Schema 11 indexed the history, log and statement anew (tails.rs):
        // every message and log entry is found there exactly once.
        let report = integrity::check(&conn).unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
        assert_eq!((report.messages, report.log_entries), (2, 2));
        // The retry lookup uses the new index, not a scan.
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM messages
                 WHERE sender_id = 1 AND client_msg_id = 'c1'
                   AND kind IS NOT 'transfer' AND kind IS NOT 'red_packet'",
                [],
                |row| row.get(3),
            )
            .unwrap();
        assert!(plan.contains("messages_by_client_id"), "{plan}");
        // A second text message with the same client id is still refused
        // by the store itself; a second server-posted one is not indexed.
        let duplicate = conn.execute(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, text, sent_at)
             VALUES (1, 3, 1, 'c1', 'again', 0)",
            [],
        );
        assert!(duplicate.is_err(), "client ids stay unique per sender");
        conn.execute(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, text, sent_at, kind, ref)
             VALUES (1, 3, 1, 'c1', 'Red packet', 0, 'red_packet', 'rp_1')",
            [],
        )
        .unwrap();
    }
}
