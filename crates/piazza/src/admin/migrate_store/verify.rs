//! The copy verified on the target, inside the transaction that wrote it:
//! every table holds as many rows as the source did, and the target
//! passes the checks `piazza admin check` and `ledger-check` run on a
//! PostgreSQL database (`piazza_postgres::integrity`): every account's log
//! and every conversation gapless from 1 to its head, every log entry's
//! message there, media usage its uploads' sum, every transaction
//! balanced, each ledger balance its postings' sum, each currency summing
//! to zero, no wallet below zero.

use piazza_core::integrity::{LedgerReport, Report as StoreReport};
use piazza_postgres::integrity;
use postgres::Transaction;

/// One table as copied: the rows the source's snapshot counted and those
/// the copy sent.
pub struct Copied {
    pub table: &'static str,
    pub source: u64,
    pub copied: u64,
}

/// What the verification found.
pub struct Report {
    /// Per table: rows in the source, sent, and found on the target.
    pub tables: Vec<(Copied, u64)>,
    pub store: StoreReport,
    pub ledger: LedgerReport,
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
            "  logs: {} accounts, each log_seq running 1..=log_head without a gap, \
             each message.new entry's message there",
            self.store.accounts
        );
        println!(
            "  conversations: {}, each seq running 1..=last_seq without a gap",
            self.store.conversations
        );
        println!(
            "  ledger: {} accounts, {} transactions, {} postings; each transaction and each \
             currency summing to zero, each balance its postings' sum, no wallet below zero",
            self.ledger.accounts, self.ledger.transactions, self.ledger.postings
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
    let mut problems = Vec::new();
    let mut tables = Vec::with_capacity(copied.len());
    for table in copied {
        let target: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {}", table.table), &[])?
            .get(0);
        let target = target as u64;
        if table.source != table.copied || table.copied != target {
            problems.push(format!(
                "{}: {} rows in the source, {} copied, {target} on the target",
                table.table, table.source, table.copied
            ));
        }
        tables.push((table, target));
    }
    let store = integrity::check_in(tx)?;
    let ledger = integrity::check_ledger_in(tx)?;
    problems.extend(store.problems.iter().cloned());
    problems.extend(ledger.problems.iter().cloned());
    Ok(Report {
        tables,
        store,
        ledger,
        problems,
    })
}
