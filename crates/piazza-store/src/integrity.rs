//! Checks the stored data against the invariants the writer promises, for
//! the crash tests and `piazza admin check`: every conversation's `seq`s
//! run 1..=last_seq with no gap, every account's log runs 1..=log_head with
//! no gap, and every message.new entry points at a message.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::error::Result;

#[derive(Debug, Default, Clone)]
pub struct Report {
    pub accounts: u64,
    pub conversations: u64,
    pub messages: u64,
    pub log_entries: u64,
    /// Each broken invariant, in words. Empty means the store is sound.
    pub problems: Vec<String>,
}

impl Report {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Opens the store read-only in `data_dir` and checks it.
pub fn check_data_dir(data_dir: &Path) -> Result<Report> {
    let conn = Connection::open_with_flags(
        data_dir.join(crate::DATABASE_FILE),
        OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    check(&conn)
}

pub fn check(conn: &Connection) -> Result<Report> {
    let mut report = Report::default();
    let count = |sql: &str| -> Result<u64> {
        Ok(conn.query_row(sql, [], |row| row.get::<_, i64>(0))? as u64)
    };
    report.accounts = count("SELECT COUNT(*) FROM accounts")?;
    report.conversations = count("SELECT COUNT(*) FROM conversations")?;
    report.messages = count("SELECT COUNT(*) FROM messages")?;
    report.log_entries = count("SELECT COUNT(*) FROM account_log")?;

    let mut gaps = conn.prepare(
        "SELECT c.id, c.last_seq, COUNT(m.id), COALESCE(MIN(m.seq), 0), COALESCE(MAX(m.seq), 0)
         FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id
         GROUP BY c.id
         HAVING COUNT(m.id) <> c.last_seq OR (c.last_seq > 0 AND (MIN(m.seq) <> 1 OR MAX(m.seq) <> c.last_seq))",
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

    let mut logs = conn.prepare(
        "SELECT a.id, a.log_head, COUNT(l.log_seq), COALESCE(MIN(l.log_seq), 0), COALESCE(MAX(l.log_seq), 0)
         FROM accounts a LEFT JOIN account_log l ON l.account_id = a.id
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
        "SELECT COUNT(*) FROM account_log l LEFT JOIN messages m ON m.id = l.message_id
         WHERE l.message_id IS NOT NULL AND m.id IS NULL",
    )?;
    if dangling > 0 {
        report
            .problems
            .push(format!("{dangling} log entries point at missing messages"));
    }
    Ok(report)
}
