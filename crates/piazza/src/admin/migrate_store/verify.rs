//! The copy verified on the target, inside the transaction that wrote it:
//! every table holds as many rows as the source did, every account's log
//! and every conversation runs gapless from 1 to its head, and the ledger
//! holds (each balance its postings' sum, each transaction and currency
//! summing to zero, no wallet below zero — the same
//! `ledger::invariant_violations` that `ledger-check` applies).

use piazza_domain::ledger::{Balances, LedgerAccountKind, LedgerAccountRef, invariant_violations};
use piazza_domain::money::Currency;
use postgres::Transaction;

/// One table as copied: the rows the source's snapshot counted and those
/// the copy sent.
pub struct Copied {
    pub table: &'static str,
    pub source: u64,
    pub copied: u64,
}

/// What the verification found.
#[derive(Default)]
pub struct Report {
    /// Per table: rows in the source, sent, and found on the target.
    pub tables: Vec<(Copied, u64)>,
    pub accounts: u64,
    pub conversations: u64,
    pub ledger_accounts: u64,
    pub ledger_transactions: u64,
    /// Each mismatch, in words. Empty means the target is a sound copy.
    pub problems: Vec<String>,
}

impl Report {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report on stdout: the counts table, then what was checked.
    pub fn print(&self, from: &str, to: &str) {
        println!("migrate-store: {from} (SQLite) -> {to} (PostgreSQL)");
        println!(
            "{:<34} {:>10} {:>10} {:>10}",
            "table", "source", "copied", "target"
        );
        for (copied, target) in &self.tables {
            println!(
                "{:<34} {:>10} {:>10} {:>10}",
                copied.table, copied.source, copied.copied, target
            );
        }
        let rows: u64 = self.tables.iter().map(|(copied, _)| copied.source).sum();
        println!("verified on the target:");
        println!(
            "  rows: {rows} in {} tables, as many in each as in the source",
            self.tables.len()
        );
        println!(
            "  logs: {} accounts, each log_seq running 1..=log_head without a gap",
            self.accounts
        );
        println!(
            "  conversations: {}, each seq running 1..=last_seq without a gap",
            self.conversations
        );
        println!(
            "  ledger: {} accounts and {} transactions; each balance its postings' sum, each \
             transaction and each currency summing to zero, no wallet below zero",
            self.ledger_accounts, self.ledger_transactions
        );
        for problem in &self.problems {
            println!("mismatch: {problem}");
        }
        if self.is_sound() {
            println!("ok: the target holds the whole store");
        }
    }
}

/// Checks the copy; an error only when a check could not run.
pub fn verify(tx: &mut Transaction<'_>, copied: Vec<Copied>) -> anyhow::Result<Report> {
    let mut report = Report::default();
    for table in copied {
        let target: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {}", table.table), &[])?
            .get(0);
        let target = target as u64;
        if table.source != table.copied || table.copied != target {
            report.problems.push(format!(
                "{}: {} rows in the source, {} copied, {target} on the target",
                table.table, table.source, table.copied
            ));
        }
        report.tables.push((table, target));
    }
    report.accounts = count(tx, "accounts")?;
    report.conversations = count(tx, "conversations")?;
    report.ledger_accounts = count(tx, "ledger_accounts")?;
    report.ledger_transactions = count(tx, "ledger_transactions")?;
    check_sequences(tx, &mut report)?;
    check_transactions(tx, &mut report)?;
    check_balances(tx, &mut report)?;
    Ok(report)
}

fn count(tx: &mut Transaction<'_>, table: &str) -> anyhow::Result<u64> {
    let rows: i64 = tx
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
        .get(0);
    Ok(rows as u64)
}

/// Each account's log and each conversation: as many entries as its head
/// and spanning 1..=head. With (owner, number) unique, that is gapless.
fn check_sequences(tx: &mut Transaction<'_>, report: &mut Report) -> anyhow::Result<()> {
    let logs = tx.query(
        "SELECT a.id, a.log_head, count(l.log_seq),
                coalesce(min(l.log_seq), 0), coalesce(max(l.log_seq), 0)
         FROM accounts a LEFT JOIN account_log l ON l.account_id = a.id
         GROUP BY a.id, a.log_head
         HAVING count(l.log_seq) <> a.log_head
             OR (a.log_head > 0 AND (min(l.log_seq) <> 1 OR max(l.log_seq) <> a.log_head))",
        &[],
    )?;
    for row in logs {
        let (id, head, n, low, high): (i64, i64, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        report.problems.push(format!(
            "account acct_{id}: log_head {head} but {n} entries spanning {low}..={high}"
        ));
    }
    let conversations = tx.query(
        "SELECT c.id, c.last_seq, count(m.seq),
                coalesce(min(m.seq), 0), coalesce(max(m.seq), 0)
         FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id
         GROUP BY c.id, c.last_seq
         HAVING count(m.seq) <> c.last_seq
             OR (c.last_seq > 0 AND (min(m.seq) <> 1 OR max(m.seq) <> c.last_seq))",
        &[],
    )?;
    for row in conversations {
        let (id, last, n, low, high): (i64, i64, i64, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        report.problems.push(format!(
            "conversation conv_{id}: last_seq {last} but {n} messages spanning {low}..={high}"
        ));
    }
    Ok(())
}

/// Every transaction has two postings or more, summing to zero.
fn check_transactions(tx: &mut Transaction<'_>, report: &mut Report) -> anyhow::Result<()> {
    // PostgreSQL sums bigints as numeric, exactly; the postings of one
    // transaction stay far inside a bigint, so the cast back cannot fail.
    let unbalanced = tx.query(
        "SELECT t.id, count(p.id), coalesce(sum(p.amount_minor), 0)::bigint
         FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id
         GROUP BY t.id
         HAVING count(p.id) < 2 OR coalesce(sum(p.amount_minor), 0) <> 0",
        &[],
    )?;
    for row in unbalanced {
        let (id, n, sum): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        report.problems.push(format!(
            "transaction txn_{id}: {n} postings summing to {sum}"
        ));
    }
    Ok(())
}

/// Each ledger account's stored balance is its postings' sum, and the
/// sums break no invariant of the ledger.
fn check_balances(tx: &mut Transaction<'_>, report: &mut Report) -> anyhow::Result<()> {
    let accounts = tx.query(
        "SELECT a.id, a.kind, a.holder, a.currency, a.balance_minor,
                coalesce(s.total, 0)::bigint
         FROM ledger_accounts a
         LEFT JOIN (SELECT ledger_account_id, sum(amount_minor) AS total
                    FROM ledger_postings GROUP BY ledger_account_id) s
                ON s.ledger_account_id = a.id",
        &[],
    )?;
    let mut balances = Balances::new();
    for row in accounts {
        let (id, kind, holder, currency, stored, summed): (i64, String, i64, String, i64, i64) = (
            row.get(0),
            row.get(1),
            row.get(2),
            row.get(3),
            row.get(4),
            row.get(5),
        );
        if stored != summed {
            report.problems.push(format!(
                "ledger account {id} ({kind}:{holder}:{currency}): balance {stored} but its \
                 postings sum to {summed}"
            ));
        }
        let (Some(kind), Ok(currency)) =
            (LedgerAccountKind::parse(&kind), Currency::parse(&currency))
        else {
            report.problems.push(format!(
                "ledger account {id}: unknown kind {kind:?} or currency {currency:?}"
            ));
            continue;
        };
        balances.insert(LedgerAccountRef::from_store(kind, holder, currency), summed);
    }
    report.problems.extend(
        invariant_violations(&balances)
            .into_iter()
            .map(|violation| violation.to_string()),
    );
    Ok(())
}
