//! Tails: the per-account B-trees written a key range at a time.
//!
//! An account's log, a wallet's statement, an account's idempotency keys
//! and a conversation's history are B-trees ordered by account (or
//! conversation) first. A commit that adds one entry for each of 500
//! accounts dirties 500 of their pages, and SQLite writes each dirtied page
//! whole, to the WAL and later to the database file: ~8 KB of disk for an
//! entry of ~40 bytes. Measured in BENCHMARKS.md ("Tails"), that was most
//! of what a chat transfer wrote.
//!
//! So each such B-tree (the *main*) has a *tail*: a table of the same
//! shape that takes the new entries. The tail stays small (`keep`
//! entries), so a commit dirties at most its few pages however many
//! accounts it touches. After each batch the writer moves the entries
//! beyond `keep` from the tail into the main, a key range at a time (one
//! `INSERT … SELECT` and one `DELETE` over the same range, in the batch's
//! transaction), walking the key space round and round: by the time the
//! walk comes back to an account, it has gathered several entries, which
//! land on its page of the main together. It is the pending list of
//! PostgreSQL's GIN indexes, or the first level of an LSM tree, inside
//! SQLite's transactions.
//!
//! The rules that keep this invisible to readers: an entry is in exactly
//! one of the two tables at every commit (it moves in one transaction),
//! and every read takes both in one statement (one snapshot), in key
//! order. `integrity::check` verifies the first.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};

/// One B-tree with a tail. Both tables are `WITHOUT ROWID`, keyed by two
/// columns, the first being the account or conversation (an integer).
pub(crate) struct Tail {
    pub(crate) main: &'static str,
    pub(crate) tail: &'static str,
    columns: &'static str,
    key: [&'static str; 2],
}

/// Each account's log (`WriteCtx::append_log`).
pub(crate) const ACCOUNT_LOG: usize = 0;
/// Each wallet's postings, for its statement (`wallet::post`).
pub(crate) const POSTINGS_BY_ACCOUNT: usize = 1;
/// Each account's idempotency keys and their answers
/// (`wallet::store_response`).
pub(crate) const IDEMPOTENCY_KEYS: usize = 2;
/// Each conversation's messages by seq, for its history
/// (`WriteCtx::insert_message`, `chat.rs`).
pub(crate) const MESSAGES_BY_CONVERSATION: usize = 3;

pub(crate) const TAILS: [Tail; 4] = [
    Tail {
        main: "account_log",
        tail: "account_log_tail",
        columns: "account_id, log_seq, at, message_id, data",
        key: ["account_id", "log_seq"],
    },
    Tail {
        main: "postings_by_account",
        tail: "postings_by_account_tail",
        columns: "ledger_account_id, posting_id",
        key: ["ledger_account_id", "posting_id"],
    },
    Tail {
        main: "idempotency_keys",
        tail: "idempotency_keys_tail",
        columns: "account_id, key, request_hash, status, response_body, created_at",
        key: ["account_id", "key"],
    },
    Tail {
        main: "messages_by_conversation",
        tail: "messages_by_conversation_tail",
        columns: "conversation_id, seq, message_id",
        key: ["conversation_id", "seq"],
    },
];

/// What the jobs of a batch did to each tail so far.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Appended {
    /// Entries added.
    pub(crate) added: [u64; TAILS.len()],
    /// Entries removed other than by moving (the purge of old keys): the
    /// tail is counted again.
    pub(crate) recount: [bool; TAILS.len()],
}

/// How big the tails grow and how much one batch moves.
#[derive(Debug, Clone, Copy)]
pub struct TailLimits {
    /// Entries a tail keeps before the writer moves the rest.
    pub keep: u64,
    /// Entries moved from one tail after one batch, at most: bounds the
    /// time a batch spends moving (a tail that fell behind catches up over
    /// several batches).
    pub move_max: u64,
}

impl Default for TailLimits {
    fn default() -> TailLimits {
        // Measured in BENCHMARKS.md ("Tails").
        TailLimits {
            keep: 4_096,
            move_max: 8_192,
        }
    }
}

struct State {
    /// Entries in the tail after the last commit; `None` after a failed
    /// batch, until counted again.
    len: Option<u64>,
    /// The key the walk has moved up to (exclusive lower bound of the
    /// next range).
    cursor: Key,
}

/// A key of a tail: the account, then an integer or a text.
type Key = (i64, Value);

/// What a batch's moves will make the state, once it commits.
pub(crate) struct Moved {
    states: Vec<State>,
}

/// The writer's side: after each batch's jobs, moves what is beyond
/// `keep`. Lives on the writer thread.
pub(crate) struct Mover {
    limits: TailLimits,
    states: Vec<State>,
}

/// Before every key: no account is `i64::MIN`, and a row value compares
/// by its first column when that differs, whatever the second's type.
fn start() -> Key {
    (i64::MIN, Value::Integer(i64::MIN))
}

/// After every key, for the same reason.
fn end() -> Key {
    (i64::MAX, Value::Integer(i64::MAX))
}

impl Mover {
    pub(crate) fn new(limits: TailLimits) -> Mover {
        assert!(limits.move_max > 0, "a tail must be able to move");
        Mover {
            limits,
            states: TAILS
                .iter()
                .map(|_| State {
                    len: None,
                    cursor: start(),
                })
                .collect(),
        }
    }

    /// Inside the batch's transaction, after its jobs: moves entries from
    /// each tail past `keep` into its main, each tail in a savepoint of
    /// its own. A tail that cannot move is left as it was (and logged);
    /// the others move, and the batch commits. Nothing changes in `self`
    /// until [`Mover::committed`].
    pub(crate) fn move_beyond_keep(&self, conn: &Connection, appended: &Appended) -> Moved {
        let mut next = Vec::with_capacity(TAILS.len());
        for (index, (tail, state)) in TAILS.iter().zip(&self.states).enumerate() {
            let moved = savepoint(conn, || {
                self.move_one(
                    conn,
                    tail,
                    state,
                    appended.added[index],
                    appended.recount[index],
                )
            });
            next.push(moved.unwrap_or_else(|error| {
                tracing::error!(%error, tail = tail.tail, "moving a tail failed; it is left as it was");
                metrics::counter!("piazza_tail_move_failures_total").increment(1);
                State {
                    len: None,
                    cursor: state.cursor.clone(),
                }
            }));
        }
        Moved { states: next }
    }

    fn move_one(
        &self,
        conn: &Connection,
        tail: &Tail,
        state: &State,
        added: u64,
        recount: bool,
    ) -> Result<State> {
        let len = match state.len {
            Some(len) if !recount => len + added,
            _ => count(conn, tail)?,
        };
        let mut cursor = state.cursor.clone();
        let mut left = len;
        let mut want = len
            .saturating_sub(self.limits.keep)
            .min(self.limits.move_max);
        // At most two ranges: up to the end of the key space, then from
        // its start.
        for _ in 0..2 {
            if want == 0 {
                break;
            }
            let (moved, reached) = move_range(conn, tail, &cursor, want)?;
            left = left.saturating_sub(moved);
            want = want.saturating_sub(moved);
            cursor = reached;
        }
        Ok(State {
            len: Some(left),
            cursor,
        })
    }

    pub(crate) fn committed(&mut self, moved: Moved) {
        self.states = moved.states;
    }

    /// The batch did not commit: count the tails again before the next.
    pub(crate) fn forget(&mut self) {
        for state in &mut self.states {
            state.len = None;
        }
    }
}

/// Runs `work` in a savepoint: if it fails, what it did is rolled back.
fn savepoint<T>(conn: &Connection, work: impl FnOnce() -> Result<T>) -> Result<T> {
    conn.prepare_cached("SAVEPOINT tail")?.execute([])?;
    match work() {
        Ok(done) => {
            conn.prepare_cached("RELEASE tail")?.execute([])?;
            Ok(done)
        }
        Err(error) => {
            let _ = conn
                .prepare_cached("ROLLBACK TO tail")
                .and_then(|mut statement| statement.execute([]))
                .and_then(|_| conn.prepare_cached("RELEASE tail")?.execute([]));
            Err(error)
        }
    }
}

fn count(conn: &Connection, tail: &Tail) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM {}", tail.tail))?
        .query_row([], |row| row.get(0))?;
    Ok(n as u64)
}

/// Moves up to `want` entries after `cursor`, in key order, from the tail
/// into the main. Returns how many moved and where the walk stands (back
/// at the start if it reached the end of the key space).
fn move_range(conn: &Connection, tail: &Tail, cursor: &Key, want: u64) -> Result<(u64, Key)> {
    let [first, second] = tail.key;
    let tail_table = tail.tail;
    let want = i64::try_from(want).unwrap_or(i64::MAX);
    // The last key of the range: the `want`-th after the cursor, or the
    // end of the key space if there are fewer.
    let last: Option<Key> = conn
        .prepare_cached(&format!(
            "SELECT {first}, {second} FROM {tail_table}
             WHERE ({first}, {second}) > (?1, ?2)
             ORDER BY {first}, {second} LIMIT 1 OFFSET ?3"
        ))?
        .query_row(params![cursor.0, &cursor.1, want - 1], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let (last, reached) = match last {
        Some(last) => (last.clone(), last),
        None => (end(), start()),
    };
    let range = format!("({first}, {second}) > (?1, ?2) AND ({first}, {second}) <= (?3, ?4)");
    let bounds = params![cursor.0, &cursor.1, last.0, &last.1];
    let inserted = conn
        .prepare_cached(&format!(
            "INSERT INTO {main} ({columns}) SELECT {columns} FROM {tail_table}
             WHERE {range} ORDER BY {first}, {second}",
            main = tail.main,
            columns = tail.columns,
        ))?
        .execute(bounds)?;
    let deleted = conn
        .prepare_cached(&format!("DELETE FROM {tail_table} WHERE {range}"))?
        .execute(bounds)?;
    if inserted != deleted {
        return Err(Error::Corrupt(format!(
            "moving {tail_table} after {cursor:?}: {inserted} entries copied but {deleted} removed"
        )));
    }
    Ok((inserted as u64, reached))
}

#[cfg(test)]
mod tests {
    use crate::test_support::{Nobody, account, core, create_group, history, send_message};
    use std::sync::Arc;

    use piazza_core::Core;
    use piazza_domain::money::{AmountMinor, Currency, Money};
    use piazza_domain::store::{IdempotencyKey, Idempotent};
    use piazza_domain::{AccountId, ClientMsgId, GroupTitle, LogSeq, MessageText};
    use rusqlite::Connection;

    use super::TailLimits;
    use crate::{DATABASE_FILE, SqliteStore, StoreOptions, WriterLimits, integrity};

    const KEEP: u64 = 5;

    /// Tails of five entries, of which a batch moves at most three: every
    /// batch moves, walks wrap around, and most entries have moved by the
    /// end while some are still in the tails.
    fn tiny_tails() -> StoreOptions {
        StoreOptions {
            writer: WriterLimits {
                tails: TailLimits {
                    keep: KEEP,
                    move_max: 3,
                },
                ..WriterLimits::default()
            },
            ..StoreOptions::default()
        }
    }

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .unwrap()
    }

    #[tokio::test]
    async fn entries_moving_between_tail_and_main_read_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(SqliteStore::open(dir.path(), tiny_tails(), Arc::new(Nobody)).unwrap());
        let mut accounts = Vec::new();
        for name in ["ann", "bob", "cyd"] {
            accounts.push(account(&store, name).await);
        }
        let store = core(&store, dir.path());
        let money = |minor| Money::new(AmountMinor::positive(minor).unwrap(), Currency::CNY);
        let top_up = |account: AccountId, n: usize| {
            let store = store.clone();
            async move {
                let request = Idempotent {
                    key: IdempotencyKey::parse(&format!("k{n}")).unwrap(),
                    request_hash: [1; 32],
                };
                store
                    .top_up(account, request, money(n as i64 + 1), "test".into())
                    .await
                    .unwrap();
            }
        };
        // One job per batch, then batches of many jobs.
        for n in 0..10 {
            for &account in &accounts {
                top_up(account, n).await;
            }
        }
        for round in 1..4 {
            let calls = (0..10).flat_map(|i| accounts.iter().map(move |&a| (a, round * 10 + i)));
            let calls: Vec<_> = calls
                .map(|(account, n)| tokio::spawn(top_up(account, n)))
                .collect();
            for call in calls {
                call.await.unwrap();
            }
        }

        for &account in &accounts {
            // The log, four entries a page: 1, 2, … 40, nothing missing
            // or repeated, whichever table each entry is in.
            let mut seen = Vec::new();
            let mut after = LogSeq::START;
            loop {
                let page = store.log_after(account, after, 4).await.unwrap();
                seen.extend(page.entries.iter().map(|entry| entry.seq.get()));
                after = page.end;
                if !page.has_more {
                    break;
                }
            }
            assert_eq!(seen, (1..=40).collect::<Vec<_>>(), "{account}");
            // The statement, three lines a page, newest first: 40 lines,
            // each balance the next one's plus its amount.
            let mut lines = Vec::new();
            let mut before = None;
            loop {
                let page = store
                    .statement(account, Currency::CNY, before, 3)
                    .await
                    .unwrap();
                before = page.items.last().map(|line| line.entry_id);
                lines.extend(page.items);
                if !page.has_more {
                    break;
                }
            }
            assert_eq!(lines.len(), 40, "{account}");
            for pair in lines.windows(2) {
                assert!(pair[0].entry_id > pair[1].entry_id);
                assert_eq!(
                    pair[0].balance_after_minor - pair[0].amount_minor,
                    pair[1].balance_after_minor
                );
            }
        }

        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        // Both tables hold entries: many moved (a batch of thirty jobs
        // moves only three, the rest over the batches after), the newest
        // wait in the tails.
        for (main, tail) in [
            ("account_log", "account_log_tail"),
            ("postings_by_account", "postings_by_account_tail"),
        ] {
            let (main, tail) = (count(&conn, main), count(&conn, tail));
            assert!(
                main >= 25 && tail >= KEEP as i64,
                "{main} moved, {tail} left"
            );
        }
        let report = integrity::check(&conn).unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
        assert_eq!(report.log_entries, 120);
        let ledger = integrity::check_ledger(&conn).unwrap();
        assert!(ledger.is_sound(), "{:?}", ledger.problems);
        let keys = count(&conn, "idempotency_keys");
        assert!(keys >= 25, "{keys} keys moved");
        assert_eq!(keys + count(&conn, "idempotency_keys_tail"), 120);

        // A retry is answered from whichever table holds its key, and a
        // key reused for another request is refused from either.
        for n in [0, 39] {
            let retry = Idempotent {
                key: IdempotencyKey::parse(&format!("k{n}")).unwrap(),
                request_hash: [1; 32],
            };
            let again = store
                .top_up(
                    accounts[0],
                    retry.clone(),
                    money(n as i64 + 1),
                    "test".into(),
                )
                .await
                .unwrap();
            assert!(again.replayed, "k{n}");
            let reused = Idempotent {
                request_hash: [2; 32],
                ..retry
            };
            let refused = store
                .top_up(accounts[0], reused, money(n as i64 + 1), "test".into())
                .await;
            assert!(refused.is_err(), "k{n}");
        }
        let kept = |key: &str| -> (i64, i64) {
            let count_in = |table: &str| -> i64 {
                conn.query_row(
                    &format!("SELECT COUNT(*) FROM {table} WHERE account_id = ?1 AND key = ?2"),
                    rusqlite::params![accounts[0].row(), key],
                    |row| row.get(0),
                )
                .unwrap()
            };
            (
                count_in("idempotency_keys"),
                count_in("idempotency_keys_tail"),
            )
        };
        assert_eq!(kept("k0"), (1, 0), "the oldest key has moved");
    }

    #[tokio::test]
    async fn a_history_moving_between_tail_and_main_pages_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(SqliteStore::open(dir.path(), tiny_tails(), Arc::new(Nobody)).unwrap());
        let mut people = Vec::new();
        for name in ["ann", "bob", "cyd"] {
            people.push(account(&store, name).await);
        }
        for to in [people[1], people[2]] {
            crate::test_support::make_contacts(&store, people[0], to).await;
        }
        let group = create_group(
            &store,
            people[0],
            GroupTitle::parse("g").unwrap(),
            people[1..].to_vec(),
        )
        .await
        .unwrap();
        // Ten one at a time, then thirty at once.
        let send = |n: usize| {
            let store = Arc::clone(&store);
            let sender = people[n % 3];
            async move {
                send_message(
                    &store,
                    sender,
                    group,
                    ClientMsgId::parse(&format!("m{n}")).unwrap(),
                    MessageText::parse(&format!("message {n}")).unwrap(),
                )
                .await
                .unwrap();
            }
        };
        for n in 0..10 {
            send(n).await;
        }
        let sends: Vec<_> = (10..40).map(|n| tokio::spawn(send(n))).collect();
        for sent in sends {
            sent.await.unwrap();
        }
        for &viewer in &people {
            let mut seqs = Vec::new();
            let mut before = None;
            loop {
                let page = history(&store, viewer, group, before, 3).await.unwrap();
                seqs.extend(page.messages.iter().map(|message| message.seq.get()));
                before = page.messages.last().map(|message| message.seq);
                if !page.has_more {
                    break;
                }
            }
            assert_eq!(seqs, (1..=40).rev().collect::<Vec<_>>(), "{viewer}");
        }

        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        let (main, tail) = (
            count(&conn, "messages_by_conversation"),
            count(&conn, "messages_by_conversation_tail"),
        );
        assert!(
            main >= 5 && tail >= KEEP as i64,
            "{main} moved, {tail} left"
        );
        let report = integrity::check(&conn).unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
        // A message missing from the history's index is found.
        conn.execute("DELETE FROM messages_by_conversation WHERE seq = 1", [])
            .unwrap();
        let report = integrity::check(&conn).unwrap();
        assert_eq!(
            report.problems,
            ["1 messages are not in their conversation's history exactly once"]
        );
    }

    /// A store with tiny tails, its rules, and ann with a top-up under
    /// each of `keys`.
    async fn ann_with_keys(
        dir: &std::path::Path,
        keys: std::ops::Range<usize>,
    ) -> (Core, AccountId) {
        let store = Arc::new(SqliteStore::open(dir, tiny_tails(), Arc::new(Nobody)).unwrap());
        let ann = account(&store, "ann").await;
        let store = core(&store, dir);
        top_ups(&store, ann, keys).await;
        (store, ann)
    }

    async fn top_ups(store: &Core, account: AccountId, keys: std::ops::Range<usize>) {
        let money = Money::new(AmountMinor::positive(1).unwrap(), Currency::CNY);
        for n in keys {
            let request = Idempotent {
                key: IdempotencyKey::parse(&format!("k{n}")).unwrap(),
                request_hash: [1; 32],
            };
            store
                .top_up(account, request, money, "test".into())
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn a_purge_of_old_keys_makes_the_writer_count_the_tail_again() {
        let dir = tempfile::tempdir().unwrap();
        let (store, ann) = ann_with_keys(dir.path(), 0..10).await;
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        assert_eq!(count(&conn, "idempotency_keys_tail"), KEEP as i64);
        // Every key purged, from both tables; then three new ones.
        let later = piazza_domain::Timestamp::from_unix_ms(i64::MAX / 2);
        let purged = store
            .purge_money_housekeeping(later, later, 100)
            .await
            .unwrap();
        assert_eq!(purged, 10);
        top_ups(&store, ann, 10..13).await;
        // Counted again, the tail holds three, under `KEEP`: none moved. A
        // count still at five would have moved them all.
        assert_eq!(count(&conn, "idempotency_keys_tail"), 3);
        assert_eq!(count(&conn, "idempotency_keys"), 0);
        store.shut_down();
    }

    #[tokio::test]
    async fn a_tail_that_cannot_move_stays_put_and_the_others_move_on() {
        let dir = tempfile::tempdir().unwrap();
        let (store, ann) = ann_with_keys(dir.path(), 0..10).await;
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        // Damage: a log entry still in the tail is also in the main table,
        // so moving it breaks the main table's key.
        conn.execute(
            "INSERT INTO account_log (account_id, log_seq, at, data)
             SELECT account_id, log_seq, at, '{}' FROM account_log_tail
             ORDER BY account_id, log_seq LIMIT 1",
            [],
        )
        .unwrap();
        let keys_moved = count(&conn, "idempotency_keys");
        top_ups(&store, ann, 10..20).await;
        // Every top-up committed; the keys went on moving; the log's tail
        // kept what it could not move.
        assert_eq!(store.wallet_balance(ann, Currency::CNY).await.unwrap(), 20);
        assert_eq!(count(&conn, "idempotency_keys"), keys_moved + 10);
        assert!(count(&conn, "account_log_tail") > KEEP as i64);
        let report = integrity::check(&conn).unwrap();
        assert!(
            report
                .problems
                .contains(&"1 log entries are stored twice".to_owned()),
            "{:?}",
            report.problems
        );
        store.shut_down();
    }

    #[tokio::test]
    async fn a_reopened_store_counts_its_tails_and_moves_on() {
        let dir = tempfile::tempdir().unwrap();
        let (store, ann) = ann_with_keys(dir.path(), 0..15).await;
        store.shut_down();
        drop(store);
        let store = core(
            &Arc::new(SqliteStore::open(dir.path(), tiny_tails(), Arc::new(Nobody)).unwrap()),
            dir.path(),
        );
        top_ups(&store, ann, 15..30).await;
        store.shut_down();
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        // One top-up adds one entry to the log, so each batch moves one
        // and the tail holds `KEEP`.
        assert_eq!(count(&conn, "account_log_tail"), KEEP as i64);
        assert_eq!(count(&conn, "account_log"), 30 - KEEP as i64);
        let report = integrity::check(&conn).unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
    }
}
