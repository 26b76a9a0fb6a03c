//! The PostgreSQL database checked against the invariants the writers
//! promise (`piazza admin check --database-url`, `ledger-check`): the same
//! report and the same ledger rules as SQLite's checker
//! (`piazza_core::integrity`), over PostgreSQL's tables, read in one
//! REPEATABLE READ snapshot while servers may be writing.

use piazza_core::integrity::{LedgerAccountRow, LedgerReport, Report, ledger_account_findings};
use piazza_domain::ledger::OperationKind;
use postgres::{Client, NoTls, Transaction};

/// Connects to `url` and checks sequences and references.
pub fn check(url: &str) -> Result<Report, postgres::Error> {
    let mut client = Client::connect(url, NoTls)?;
    let mut tx = snapshot(&mut client)?;
    let report = check_in(&mut tx)?;
    tx.commit()?;
    Ok(report)
}

/// [`check`] inside `tx`, which sees its own writes: `piazza admin
/// migrate-store` checks its copy before it commits it.
pub fn check_in(tx: &mut Transaction<'_>) -> Result<Report, postgres::Error> {
    let mut report = Report {
        accounts: count(tx, "SELECT COUNT(*) FROM accounts")?,
        conversations: count(tx, "SELECT COUNT(*) FROM conversations")?,
        messages: count(tx, "SELECT COUNT(*) FROM messages")?,
        log_entries: count(tx, "SELECT COUNT(*) FROM account_log")?,
        problems: Vec::new(),
    };
    for row in tx.query(
        "SELECT c.id, c.last_seq, COALESCE(s.n, 0), COALESCE(s.low, 0), COALESCE(s.high, 0)
         FROM conversations c
         LEFT JOIN (SELECT conversation_id, COUNT(*) AS n, MIN(seq) AS low, MAX(seq) AS high
                    FROM messages GROUP BY conversation_id) s ON s.conversation_id = c.id
         WHERE COALESCE(s.n, 0) <> c.last_seq
            OR (c.last_seq > 0 AND (s.low <> 1 OR s.high <> c.last_seq))",
        &[],
    )? {
        let (id, last, n, low, high): (i64, i64, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        report.problems.push(format!(
            "conversation conv_{id}: last_seq {last} but {n} messages spanning {low}..={high}"
        ));
    }
    for row in tx.query(
        "SELECT a.id, a.log_head, COUNT(l.log_seq), COALESCE(MIN(l.log_seq), 0),
                COALESCE(MAX(l.log_seq), 0)
         FROM accounts a LEFT JOIN account_log l ON l.account_id = a.id
         -- An erased account's log was deleted with it.
         WHERE NOT (a.deleted_at IS NOT NULL
                    AND a.id NOT IN (SELECT account_id FROM account_deletions))
         GROUP BY a.id
         HAVING COUNT(l.log_seq) <> a.log_head
             OR (a.log_head > 0 AND (MIN(l.log_seq) <> 1 OR MAX(l.log_seq) <> a.log_head))",
        &[],
    )? {
        let (id, head, n, low, high): (i64, i64, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        report.problems.push(format!(
            "account acct_{id}: log_head {head} but {n} entries spanning {low}..={high}"
        ));
    }
    for row in tx.query(piazza_core::integrity::MEMBER_COUNT_DRIFT, &[])? {
        let (id, kept, counted) = (row.get(0), row.get(1), row.get(2));
        let problem = piazza_core::integrity::member_count_drift(id, kept, counted);
        report.problems.push(problem);
    }
    references(tx, &mut report.problems)?;
    moments_and_channels(tx, &mut report.problems)?;
    shops(tx, &mut report.problems)?;
    Ok(report)
}

/// Orders rebuilt at a time by [`shops`]: a page, not the whole table,
/// in memory.
const ORDERS_PER_PAGE: i64 = 500;

/// The rules of Shops (`piazza_core::integrity::shop_rules`, the same SQL
/// as SQLite's), then every order as the engine reads it back
/// (`shops::rebuilt_after`), held to the state machine's invariants: a
/// row the read refuses is a finding, not the end of the check.
fn shops(tx: &mut Transaction<'_>, problems: &mut Vec<String>) -> Result<(), postgres::Error> {
    use piazza_core::integrity::{order_findings, shop_rules, unreadable_order};
    for rule in shop_rules() {
        for row in tx.query(&rule.sql, &[])? {
            problems.push(rule.describe(row.get(0), row.get(1), row.get(2)));
        }
    }
    let mut after = 0;
    loop {
        let page = crate::shops::rebuilt_after(tx, after, ORDERS_PER_PAGE)?;
        for (order, rebuilt) in &page {
            match rebuilt {
                Ok(stored) => problems.extend(order_findings(*order, &stored.order)),
                Err(piazza_core::Error::Corrupt(what)) => problems.push(unreadable_order(what)),
                Err(other) => problems.push(unreadable_order(&other.to_string())),
            }
        }
        match page.last() {
            Some((last, _)) if page.len() as i64 == ORDERS_PER_PAGE => after = last.row(),
            _ => return Ok(()),
        }
    }
}

/// The kept counters and the rules of Moments and Channels
/// (`piazza_core::integrity`, the same SQL as SQLite's).
fn moments_and_channels(
    tx: &mut Transaction<'_>,
    problems: &mut Vec<String>,
) -> Result<(), postgres::Error> {
    for drift in &piazza_core::integrity::COUNTER_DRIFTS {
        for row in tx.query(drift.sql, &[])? {
            problems.push(drift.describe(row.get(0), row.get(1), row.get(2)));
        }
    }
    for (what, sql) in piazza_core::integrity::area_rules() {
        let broken = count(tx, &sql)?;
        if broken > 0 {
            problems.push(format!("{broken} {what}"));
        }
    }
    Ok(())
}

/// References the schema does not guard with a foreign key (schema 3
/// dropped them from the hot tables, schema 19 from orders and their
/// items): (table, column, the table whose `id` it names).
pub const UNGUARDED: [(&str, &str, &str); 23] = [
    ("messages", "conversation_id", "conversations"),
    ("messages", "sender_id", "accounts"),
    ("messages", "recalled_by", "accounts"),
    ("account_log", "account_id", "accounts"),
    ("account_log", "message_id", "messages"),
    ("ledger_transactions", "account_id", "accounts"),
    ("ledger_postings", "transaction_id", "ledger_transactions"),
    ("ledger_postings", "ledger_account_id", "ledger_accounts"),
    ("transfers", "from_id", "accounts"),
    ("transfers", "to_id", "accounts"),
    ("idempotency_keys", "account_id", "accounts"),
    ("red_packet_claims", "red_packet_id", "red_packets"),
    ("red_packet_claims", "account_id", "accounts"),
    ("channel_follows", "channel_id", "channels"),
    ("channel_follows", "account_id", "accounts"),
    ("article_reads", "article_id", "articles"),
    ("article_reads", "account_id", "accounts"),
    ("article_likes", "article_id", "articles"),
    ("article_likes", "account_id", "accounts"),
    ("orders", "shop_id", "shops"),
    ("orders", "buyer_id", "accounts"),
    ("order_items", "order_id", "orders"),
    ("order_items", "variant_id", "variants"),
];

/// Every reference in [`UNGUARDED`], and every account's media usage.
fn references(tx: &mut Transaction<'_>, problems: &mut Vec<String>) -> Result<(), postgres::Error> {
    for (table, column, target) in UNGUARDED {
        let dangling = count(
            tx,
            &format!(
                "SELECT COUNT(*) FROM {table} t WHERE t.{column} IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM {target} r WHERE r.id = t.{column})"
            ),
        )?;
        if dangling > 0 {
            problems.push(format!(
                "{dangling} rows of {table} name a missing {target} row ({column})"
            ));
        }
    }
    let usage = count(
        tx,
        "SELECT COUNT(*) FROM accounts a
         WHERE COALESCE((SELECT bytes FROM media_usage u WHERE u.account_id = a.id), 0)
            <> COALESCE((SELECT SUM(bytes) FROM media m WHERE m.uploader_id = a.id), 0)",
    )?;
    if usage > 0 {
        problems.push(format!(
            "{usage} accounts' media usage is not their uploads' sum"
        ));
    }
    Ok(())
}

/// Connects to `url` and re-verifies the ledger from its postings alone.
pub fn check_ledger(url: &str) -> Result<LedgerReport, postgres::Error> {
    let mut client = Client::connect(url, NoTls)?;
    let mut tx = snapshot(&mut client)?;
    let report = check_ledger_in(&mut tx)?;
    tx.commit()?;
    Ok(report)
}

/// [`check_ledger`] inside `tx`, which sees its own writes (as
/// [`check_in`]).
pub fn check_ledger_in(tx: &mut Transaction<'_>) -> Result<LedgerReport, postgres::Error> {
    let mut report = LedgerReport {
        accounts: count(tx, "SELECT COUNT(*) FROM ledger_accounts")?,
        transactions: count(tx, "SELECT COUNT(*) FROM ledger_transactions")?,
        postings: count(tx, "SELECT COUNT(*) FROM ledger_postings")?,
        problems: Vec::new(),
    };
    for row in tx.query(
        "SELECT t.id, COUNT(p.id), COALESCE(SUM(p.amount_minor), 0)::BIGINT
         FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id
         GROUP BY t.id HAVING COUNT(p.id) < 2 OR SUM(p.amount_minor) <> 0",
        &[],
    )? {
        let (id, n, sum): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        report.problems.push(format!(
            "transaction txn_{id}: {n} postings summing to {sum}"
        ));
    }
    for row in tx.query("SELECT id, kind FROM ledger_transactions", &[])? {
        let (id, kind): (i64, String) = (row.get(0), row.get(1));
        if OperationKind::parse(&kind).is_none() {
            report
                .problems
                .push(format!("transaction txn_{id}: unknown operation {kind:?}"));
        }
    }
    let rows = tx.query(
        "SELECT a.id, a.kind, a.holder, a.currency, a.balance_minor,
                COALESCE(s.total, 0)::BIGINT
         FROM ledger_accounts a
         LEFT JOIN (SELECT ledger_account_id, SUM(amount_minor) AS total
                    FROM ledger_postings GROUP BY ledger_account_id) s
                ON s.ledger_account_id = a.id",
        &[],
    )?;
    report
        .problems
        .extend(ledger_account_findings(rows.iter().map(|row| {
            LedgerAccountRow {
                id: row.get(0),
                kind: row.get(1),
                holder: row.get(2),
                currency: row.get(3),
                stored_balance: row.get(4),
                postings_sum: row.get(5),
            }
        })));
    Ok(report)
}

/// One consistent view of the whole database, whatever writes meanwhile.
pub(crate) fn snapshot(client: &mut Client) -> Result<Transaction<'_>, postgres::Error> {
    client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
}

fn count(tx: &mut Transaction<'_>, sql: &str) -> Result<u64, postgres::Error> {
    let count: i64 = tx.query_one(sql, &[])?.get(0);
    Ok(count as u64)
}

/// The database as `piazza admin cluster-status` shows it.
#[derive(Debug, Clone)]
pub struct DatabaseHealth {
    /// PostgreSQL's `version()`.
    pub server: String,
    /// The schema version migrated to, and the one this build expects.
    pub schema: i64,
    pub schema_expected: i64,
    /// Connections open to this database, all clients counted.
    pub connections: i64,
    /// How long a trivial query took, connection excluded.
    pub round_trip: std::time::Duration,
    /// Each lease (`piazza_core::leases`): its name, holder and deadline
    /// (Unix ms).
    pub leases: Vec<(String, String, i64)>,
}

/// Connects to `url` and reads what [`DatabaseHealth`] holds.
/// Search's progress in the database at `url` (see
/// `piazza_core::search::PROGRESS_SQL`): watermark, newest message id,
/// messages waiting.
pub fn search_progress(url: &str) -> Result<(i64, i64, i64), postgres::Error> {
    let mut client = Client::connect(url, NoTls)?;
    let row = client.query_one(piazza_core::search::PROGRESS_SQL, &[])?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

pub fn health(url: &str) -> Result<DatabaseHealth, postgres::Error> {
    let mut client = Client::connect(url, NoTls)?;
    let start = std::time::Instant::now();
    client.simple_query("SELECT 1")?;
    let round_trip = start.elapsed();
    let server: String = client.query_one("SELECT version()", &[])?.get(0);
    let migrated: bool = client
        .query_one("SELECT to_regclass('piazza_schema') IS NOT NULL", &[])?
        .get(0);
    let schema: i64 = match migrated {
        true => client
            .query_one("SELECT COALESCE(MAX(version), 0) FROM piazza_schema", &[])?
            .get(0),
        false => 0,
    };
    let connections: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()",
            &[],
        )?
        .get(0);
    let leases = match schema >= 20 {
        true => client
            .query(
                "SELECT name, holder, until_ms FROM leases ORDER BY name",
                &[],
            )?
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect(),
        false => Vec::new(),
    };
    Ok(DatabaseHealth {
        leases,
        server,
        schema,
        schema_expected: crate::migrations::MIGRATIONS.len() as i64,
        connections,
        round_trip,
    })
}
