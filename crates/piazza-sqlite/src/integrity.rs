//! Checks the stored data against the invariants the writer promises, for
//! the crash tests and `piazza admin check`: every conversation's `seq`s
//! run 1..=last_seq with no gap, every account's log (but an erased one's,
//! deleted with it) runs 1..=log_head with
//! no gap, and every message.new entry points at a message.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

pub use piazza_core::integrity::{LedgerReport, Report};

/// Opens the store read-only in `data_dir` and checks it.
pub fn check_data_dir(data_dir: &Path) -> Result<Report> {
    check(&open_current(data_dir)?)
}

/// Opens the store in `data_dir` read-only, if it is at the schema this
/// version writes: the checks read its tables, and a check changes
/// nothing, so an older store is not migrated here.
pub(crate) fn open_current(data_dir: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        data_dir.join(crate::DATABASE_FILE),
        OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let current = crate::MIGRATIONS.len() as i64;
    if version != current {
        return Err(Error::Corrupt(format!(
            "{} is at schema {version} and this Piazza reads schema {current}: run `piazza serve` on it once (it migrates the store as it starts), then run this again",
            data_dir.display()
        )));
    }
    Ok(conn)
}

pub fn check(conn: &Connection) -> Result<Report> {
    let mut report = Report::default();
    let count = |sql: &str| -> Result<u64> {
        Ok(conn.query_row(sql, [], |row| row.get::<_, i64>(0))? as u64)
    };
    report.accounts = count("SELECT COUNT(*) FROM accounts")?;
    report.conversations = count("SELECT COUNT(*) FROM conversations")?;
    report.messages = count("SELECT COUNT(*) FROM messages")?;
    report.log_entries = count("SELECT COUNT(*) FROM account_log_all")?;

    let mut gaps = conn.prepare(
        "SELECT c.id, c.last_seq, COALESCE(s.n, 0), COALESCE(s.low, 0), COALESCE(s.high, 0)
         FROM conversations c
         LEFT JOIN (SELECT conversation_id, COUNT(*) AS n, MIN(seq) AS low, MAX(seq) AS high
                    FROM messages GROUP BY conversation_id) s
                ON s.conversation_id = c.id
         WHERE COALESCE(s.n, 0) <> c.last_seq
            OR (c.last_seq > 0 AND (s.low <> 1 OR s.high <> c.last_seq))",
    )?;
    let mut rows = gaps.query([])?;
    while let Some(row) = rows.next()? {
        let (id, last, n, low, high): (i64, i64, i64, i64, i64) = (
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        );
        report.problems.push(format!(
            "conversation conv_{id}: last_seq {last} but {n} messages spanning {low}..={high}"
        ));
    }

    let mut drift = conn.prepare(piazza_core::integrity::MEMBER_COUNT_DRIFT)?;
    let mut rows = drift.query([])?;
    while let Some(row) = rows.next()? {
        let (id, kept, counted) = (row.get(0)?, row.get(1)?, row.get(2)?);
        let problem = piazza_core::integrity::member_count_drift(id, kept, counted);
        report.problems.push(problem);
    }

    let mut logs = conn.prepare(
        "SELECT a.id, a.log_head, COUNT(l.log_seq), COALESCE(MIN(l.log_seq), 0), COALESCE(MAX(l.log_seq), 0)
         FROM accounts a LEFT JOIN account_log_all l ON l.account_id = a.id
         WHERE NOT (a.deleted_at IS NOT NULL AND a.id NOT IN (SELECT account_id FROM account_deletions))
         GROUP BY a.id
         HAVING COUNT(l.log_seq) <> a.log_head OR (a.log_head > 0 AND (MIN(l.log_seq) <> 1 OR MAX(l.log_seq) <> a.log_head))",
    )?;
    let mut rows = logs.query([])?;
    while let Some(row) = rows.next()? {
        let (id, head, n, low, high): (i64, i64, i64, i64, i64) = (
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        );
        report.problems.push(format!(
            "account acct_{id}: log_head {head} but {n} entries spanning {low}..={high}"
        ));
    }

    let dangling = count(
        "SELECT COUNT(*) FROM account_log_all l LEFT JOIN messages m ON m.id = l.message_id
         WHERE l.message_id IS NOT NULL AND m.id IS NULL",
    )?;
    if dangling > 0 {
        report
            .problems
            .push(format!("{dangling} log entries point at missing messages"));
    }
    // The history's index (`tails.rs`): each message in exactly one of its
    // two tables, under its own conversation and seq.
    let unindexed = count(
        "SELECT COUNT(*) FROM messages m
         WHERE (SELECT COUNT(*) FROM messages_by_conversation i
                WHERE i.conversation_id = m.conversation_id AND i.seq = m.seq AND i.message_id = m.id)
             + (SELECT COUNT(*) FROM messages_by_conversation_tail i
                WHERE i.conversation_id = m.conversation_id AND i.seq = m.seq AND i.message_id = m.id) <> 1",
    )?;
    if unindexed > 0 {
        report.problems.push(format!(
            "{unindexed} messages are not in their conversation's history exactly once"
        ));
    }
    let stray = count(
        "SELECT COUNT(*) FROM (SELECT conversation_id, seq, message_id FROM messages_by_conversation
                               UNION ALL
                               SELECT conversation_id, seq, message_id FROM messages_by_conversation_tail) i
         LEFT JOIN messages m
                ON m.id = i.message_id AND m.conversation_id = i.conversation_id AND m.seq = i.seq
         WHERE m.id IS NULL",
    )?;
    if stray > 0 {
        report.problems.push(format!(
            "{stray} history entries name no message of their conversation"
        ));
    }
    // A log entry moves from its tail in one transaction (`tails.rs`); in
    // both tables, a sync would hand it out twice.
    let twice = count(
        "SELECT COUNT(*) FROM account_log_tail t
         JOIN account_log l ON l.account_id = t.account_id AND l.log_seq = t.log_seq",
    )?;
    if twice > 0 {
        report
            .problems
            .push(format!("{twice} log entries are stored twice"));
    }
    // An idempotency key moves from its tail in one transaction
    // (`tails.rs`); in both tables, a retry could read either answer.
    let twice = count(
        "SELECT COUNT(*) FROM idempotency_keys_tail t
         JOIN idempotency_keys k ON k.account_id = t.account_id AND k.key = t.key",
    )?;
    if twice > 0 {
        report
            .problems
            .push(format!("{twice} idempotency keys are stored twice"));
    }
    // Transfer events are kept as their transfer's row (`log_data.rs`).
    let dangling = count(
        "SELECT COUNT(*) FROM account_log_all l
         WHERE l.data LIKE '{\"transfer_row\":%'
           AND NOT EXISTS (SELECT 1 FROM transfers t
                           WHERE t.id = json_extract(l.data, '$.transfer_row'))",
    )?;
    if dangling > 0 {
        report
            .problems
            .push(format!("{dangling} log entries point at missing transfers"));
    }
    // What an account's media quota is checked against (`media.rs`) is
    // the sum of its media rows.
    let miscounted = count(
        "SELECT (SELECT COUNT(*) FROM (SELECT uploader_id, SUM(bytes) AS total
                                        FROM media GROUP BY uploader_id) m
                 LEFT JOIN media_usage u ON u.account_id = m.uploader_id
                 WHERE u.bytes IS NOT m.total)
              + (SELECT COUNT(*) FROM media_usage u
                 WHERE u.bytes <> (SELECT COALESCE(SUM(bytes), 0) FROM media
                                   WHERE uploader_id = u.account_id))",
    )?;
    if miscounted > 0 {
        report.problems.push(format!(
            "{miscounted} accounts' media usage is not the sum of their media"
        ));
    }
    moments_and_channels(conn, &mut report.problems)?;
    shops(conn, &mut report.problems)?;
    Ok(report)
}

/// The rules of Shops (`piazza_core::integrity::shop_rules`, the same SQL
/// as PostgreSQL's), then every order as the engine reads it back
/// (`shops::rebuild_order`), held to the state machine's invariants: a
/// row the read refuses is a finding, not the end of the check.
fn shops(conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
    use piazza_core::integrity::{order_findings, shop_rules, unreadable_order};
    for rule in shop_rules() {
        let mut statement = conn.prepare(&rule.sql)?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            problems.push(rule.describe(row.get(0)?, row.get(1)?, row.get(2)?));
        }
    }
    let mut ids = conn.prepare("SELECT id FROM orders ORDER BY id")?;
    let mut rows = ids.query([])?;
    while let Some(row) = rows.next()? {
        let order = piazza_domain::OrderId::from_row(row.get(0)?);
        match crate::shops::rebuild_order(conn, order) {
            Ok(Some(stored)) => problems.extend(order_findings(order, &stored.order)),
            // Gone since the list was read: only outside one snapshot.
            Ok(None) => {}
            Err(piazza_core::Error::Corrupt(what)) => problems.push(unreadable_order(&what)),
            Err(other) => return Err(other.into()),
        }
    }
    Ok(())
}

/// The kept counters and the rules of Moments and Channels
/// (`piazza_core::integrity`, the same SQL as PostgreSQL's).
fn moments_and_channels(conn: &Connection, problems: &mut Vec<String>) -> Result<()> {
    for drift in &piazza_core::integrity::COUNTER_DRIFTS {
        let mut statement = conn.prepare(drift.sql)?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            problems.push(drift.describe(row.get(0)?, row.get(1)?, row.get(2)?));
        }
    }
    for (what, sql) in piazza_core::integrity::area_rules() {
        let broken: i64 = conn.query_row(&sql, [], |row| row.get(0))?;
        if broken > 0 {
            problems.push(format!("{broken} {what}"));
        }
    }
    Ok(())
}

/// What `piazza admin ledger-check` found.
/// Opens the store read-only in `data_dir` and re-verifies the ledger.
/// Search's progress in the store in `data_dir` (see
/// `piazza_core::search::PROGRESS_SQL`): watermark, newest message id,
/// messages waiting.
pub fn search_progress(data_dir: &Path) -> Result<(i64, i64, i64)> {
    let conn = open_current(data_dir)?;
    let sql = piazza_core::search::PROGRESS_SQL;
    Ok(conn.query_row(sql, [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?)
}

pub fn check_ledger_data_dir(data_dir: &Path) -> Result<LedgerReport> {
    check_ledger(&open_current(data_dir)?)
}

/// Re-verifies the ledger from its postings alone, trusting no stored
/// balance: every transaction's postings sum to zero, every stored balance
/// is the sum of its account's postings, no account that must not go
/// negative has (`ledger::invariant_violations`, which also checks that
/// each currency sums to zero), and every posting belongs to a transaction
/// of a known operation.
pub fn check_ledger(conn: &Connection) -> Result<LedgerReport> {
    use piazza_core::integrity::{LedgerAccountRow, ledger_account_findings};
    use piazza_domain::ledger::OperationKind;

    let mut report = LedgerReport::default();
    let count = |sql: &str| -> Result<u64> {
        Ok(conn.query_row(sql, [], |row| row.get::<_, i64>(0))? as u64)
    };
    report.accounts = count("SELECT COUNT(*) FROM ledger_accounts")?;
    report.transactions = count("SELECT COUNT(*) FROM ledger_transactions")?;
    report.postings = count("SELECT COUNT(*) FROM ledger_postings")?;

    // Summed as TOTAL (a float in SQLite) would lose cents; SUM of
    // integers is exact and raises on overflow, which is itself a finding.
    let mut unbalanced = conn.prepare(
        "SELECT t.id, COUNT(p.id), COALESCE(SUM(p.amount_minor), 0)
         FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id
         GROUP BY t.id
         HAVING COUNT(p.id) < 2 OR SUM(p.amount_minor) <> 0",
    )?;
    let mut rows = unbalanced.query([])?;
    while let Some(row) = rows.next()? {
        let (id, n, sum): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
        report.problems.push(format!(
            "transaction txn_{id}: {n} postings summing to {sum}"
        ));
    }

    let mut kinds = conn.prepare("SELECT id, kind FROM ledger_transactions")?;
    let mut rows = kinds.query([])?;
    while let Some(row) = rows.next()? {
        let (id, kind): (i64, String) = (row.get(0)?, row.get(1)?);
        if OperationKind::parse(&kind).is_none() {
            report
                .problems
                .push(format!("transaction txn_{id}: unknown operation {kind:?}"));
        }
    }

    let orphans = count(
        "SELECT COUNT(*) FROM ledger_postings p
         LEFT JOIN ledger_transactions t ON t.id = p.transaction_id
         LEFT JOIN ledger_accounts a ON a.id = p.ledger_account_id
         WHERE t.id IS NULL OR a.id IS NULL",
    )?;
    if orphans > 0 {
        report.problems.push(format!(
            "{orphans} postings belong to no transaction or no account"
        ));
    }

    // The statement's index (`tails.rs`): each posting of a wallet in
    // exactly one of its two tables, under its own ledger account.
    let unindexed = count(
        "SELECT COUNT(*) FROM ledger_postings p
         JOIN ledger_accounts a ON a.id = p.ledger_account_id AND a.kind = 'user_wallet'
         WHERE (SELECT COUNT(*) FROM postings_by_account i
                WHERE i.ledger_account_id = p.ledger_account_id AND i.posting_id = p.id)
             + (SELECT COUNT(*) FROM postings_by_account_tail i
                WHERE i.ledger_account_id = p.ledger_account_id AND i.posting_id = p.id) <> 1",
    )?;
    if unindexed > 0 {
        report.problems.push(format!(
            "{unindexed} postings are not in their wallet's statement exactly once"
        ));
    }
    let stray = count(
        "SELECT COUNT(*) FROM (SELECT ledger_account_id, posting_id FROM postings_by_account
                               UNION ALL
                               SELECT ledger_account_id, posting_id FROM postings_by_account_tail) i
         LEFT JOIN ledger_postings p ON p.id = i.posting_id AND p.ledger_account_id = i.ledger_account_id
         LEFT JOIN ledger_accounts a ON a.id = p.ledger_account_id
         WHERE p.id IS NULL OR a.kind IS NOT 'user_wallet'",
    )?;
    if stray > 0 {
        report.problems.push(format!(
            "{stray} statement entries name no posting of their wallet"
        ));
    }

    let mut accounts = conn.prepare(
        "SELECT a.id, a.kind, a.holder, a.currency, a.balance_minor, COALESCE(s.total, 0)
         FROM ledger_accounts a
         LEFT JOIN (SELECT ledger_account_id, SUM(amount_minor) AS total
                    FROM ledger_postings GROUP BY ledger_account_id) s
                ON s.ledger_account_id = a.id",
    )?;
    let rows = accounts
        .query_map([], |row| {
            Ok(LedgerAccountRow {
                id: row.get(0)?,
                kind: row.get(1)?,
                holder: row.get(2)?,
                currency: row.get(3)?,
                stored_balance: row.get(4)?,
                postings_sum: row.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    report.problems.extend(ledger_account_findings(rows));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh schema with one account, ready for hand-written ledger rows.
    fn ledger_db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        crate::migrate(&conn).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, username, display_name, password_hash, created_at)
             VALUES (1, 'ann', 'Ann', 'x', 0);
             INSERT INTO ledger_accounts (id, kind, holder, currency, balance_minor)
             VALUES (1, 'gateway', 0, 'CNY', -500), (2, 'user_wallet', 1, 'CNY', 500);
             INSERT INTO ledger_transactions (id, kind, account_id, ref, at)
             VALUES (1, 'topup', 1, 'sandbox', 0);
             INSERT INTO ledger_postings (id, transaction_id, ledger_account_id, amount_minor, balance_after_minor)
             VALUES (1, 1, 1, -500, -500), (2, 1, 2, 500, 500);
             INSERT INTO postings_by_account_tail (ledger_account_id, posting_id) VALUES (2, 2);",
        )
        .unwrap();
        conn
    }

    #[test]
    fn a_sound_ledger_passes() {
        let report = check_ledger(&ledger_db()).unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
        assert_eq!((report.transactions, report.postings), (1, 2));
    }

    #[test]
    fn an_idempotency_key_in_both_tables_is_reported() {
        let conn = ledger_db();
        for table in ["idempotency_keys", "idempotency_keys_tail"] {
            conn.execute(
                &format!(
                    "INSERT INTO {table} (account_id, key, request_hash, status, response_body, created_at)
                     VALUES (1, 'k', x'00', 1, '{{}}', 0)"
                ),
                [],
            )
            .unwrap();
        }
        let report = check(&conn).unwrap();
        assert_eq!(report.problems, ["1 idempotency keys are stored twice"]);
    }

    #[test]
    fn a_log_entry_naming_a_missing_transfer_is_reported() {
        let conn = ledger_db();
        conn.execute_batch(
            "UPDATE accounts SET log_head = 1 WHERE id = 1;
             INSERT INTO account_log (account_id, log_seq, at, data)
             VALUES (1, 1, 0, '{\"transfer_row\":42,\"type\":\"transfer.sent\"}');",
        )
        .unwrap();
        let report = check(&conn).unwrap();
        assert_eq!(
            report.problems,
            ["1 log entries point at missing transfers"],
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn every_kind_of_damage_is_reported() {
        let damages = [
            // A balance that is not its postings' sum.
            "UPDATE ledger_accounts SET balance_minor = 501 WHERE id = 2",
            // An unbalanced transaction (and balances that no longer add up).
            "UPDATE ledger_postings SET amount_minor = 600 WHERE ledger_account_id = 2;
             UPDATE ledger_accounts SET balance_minor = 600 WHERE id = 2",
            // A negative wallet.
            "UPDATE ledger_postings SET amount_minor = -amount_minor;
             UPDATE ledger_accounts SET balance_minor = -balance_minor",
            // A posting tied to no transaction.
            "PRAGMA foreign_keys = OFF;
             INSERT INTO ledger_postings (transaction_id, ledger_account_id, amount_minor, balance_after_minor)
             VALUES (99, 2, 1, 501); UPDATE ledger_accounts SET balance_minor = 501 WHERE id = 2;
             UPDATE ledger_accounts SET balance_minor = -501 WHERE id = 1;
             INSERT INTO ledger_postings (transaction_id, ledger_account_id, amount_minor, balance_after_minor)
             VALUES (99, 1, -1, -501)",
            // A posting missing from its account's statement.
            "DELETE FROM postings_by_account_tail",
            // A posting in both of the statement's tables.
            "INSERT INTO postings_by_account (ledger_account_id, posting_id) VALUES (2, 2)",
            // A statement entry under another account than its posting's.
            "UPDATE postings_by_account_tail SET ledger_account_id = 1",
            // A statement entry naming no posting.
            "INSERT INTO postings_by_account_tail (ledger_account_id, posting_id) VALUES (2, 99)",
            // A statement for something that is not a wallet.
            "INSERT INTO postings_by_account (ledger_account_id, posting_id) VALUES (1, 1)",
        ];
        for damage in damages {
            let conn = ledger_db();
            conn.execute_batch(damage).unwrap();
            let report = check_ledger(&conn).unwrap();
            assert!(!report.is_sound(), "not caught: {damage}");
        }
    }
}
