//! Checks the store's integrity at start and keeps checking it while the
//! server runs, so a damaged database is never served as healthy.
//!
//! - At start, before the writer takes a job: SQLite's `quick_check` over
//!   the whole file (every page and index entry) before the store is
//!   migrated ([`check_pages_at_start`]), then the ledger's sums
//!   (`integrity::check_ledger`, [`check_ledger_at_start`]), within one
//!   time budget ([`StartBudget`]).
//!   Damage found refuses the start ([`Error::Damaged`]) with what is wrong
//!   and how to restore. A store too large to check within the budget
//!   starts, and the verifier's first pass begins at once instead.
//! - While running ([`Verifier`]): a thread of its own, at the lowest CPU
//!   priority, with its own read-only connection, checks table by table
//!   (`quick_check` of each table and its indexes, a pause between them),
//!   then the log's gaplessness (`integrity::check`) and the balances
//!   against their postings (`integrity::check_ledger`), one pass every
//!   `interval`. On damage it records it in [`Health`]: `/healthz` fails,
//!   the writer refuses every money move (`WriteCtx::money_halted`), the
//!   log says what was found and the `piazza_sqlite_damaged` gauge is 1.
//!   Damage is final for the process: an operator restores the store.
//!
//! Each check is one read transaction; in WAL mode the checkpointer cannot
//! reset the WAL past a reader's snapshot, so the WAL grows for as long as
//! the longest table takes (RELIABILITY.md has the figures).

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::integrity;

pub use piazza_core::integrity::Health;

/// Records damage in `health` and says what to do about it.
fn record_damage(health: &Health, problems: &[String]) {
    let found = piazza_core::integrity::summary(problems);
    tracing::error!(
        damage = %found,
        "the store is damaged: money is halted and /healthz fails; stop the server and restore the data directory from a backup (`piazza admin check` gives the full report)"
    );
    metrics::gauge!("piazza_sqlite_damaged").set(1.0);
    health.record(found);
}

/// How the store is verified; see the module doc.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Time the start-up check may take; past it the start goes on and the
    /// background verifier begins at once. Zero skips the start-up check.
    pub start_budget: Duration,
    /// From the end of one background pass to the start of the next.
    pub interval: Duration,
    /// Rest between two tables of a pass, so the checks stay in the
    /// background of a busy server.
    pub pause: Duration,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            start_budget: Duration::from_secs(30),
            interval: Duration::from_secs(10 * 60),
            pause: Duration::from_millis(50),
        }
    }
}

/// How far the start-up check got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartCheck {
    /// Every page and the ledger's sums were checked and are sound.
    Complete,
    /// The budget ran out first: the rest is left to the verifier.
    Cut,
    /// The budget is zero.
    Skipped,
}

/// The start-up check's two halves share one budget: the pages are checked
/// before the store is migrated (nothing is written to a damaged file),
/// the ledger's sums after (they read the current schema).
#[derive(Debug, Clone, Copy)]
pub struct StartBudget {
    deadline: Option<Instant>,
}

impl StartBudget {
    /// Zero skips the start-up check.
    pub fn new(budget: Duration) -> StartBudget {
        StartBudget {
            deadline: (!budget.is_zero()).then(|| Instant::now() + budget),
        }
    }
}

/// The first half of the start-up check: `quick_check` of every page.
pub fn check_pages_at_start(conn: &Connection, budget: StartBudget) -> Result<StartCheck> {
    within(conn, budget, || pages(conn, None))
}

/// The second half, once the pages were checked whole: the ledger's sums.
pub fn check_ledger_at_start(conn: &Connection, budget: StartBudget) -> Result<StartCheck> {
    within(conn, budget, || Ok(integrity::check_ledger(conn)?.problems))
}

/// Runs `check` until the budget's deadline (SQLite's progress handler
/// interrupts it there).
fn within(
    conn: &Connection,
    budget: StartBudget,
    check: impl FnOnce() -> Result<Vec<String>>,
) -> Result<StartCheck> {
    let Some(deadline) = budget.deadline else {
        return Ok(StartCheck::Skipped);
    };
    conn.progress_handler(10_000, Some(move || Instant::now() >= deadline));
    let outcome = check();
    conn.progress_handler(0, None::<fn() -> bool>);
    match outcome {
        Ok(problems) if problems.is_empty() => Ok(StartCheck::Complete),
        Ok(problems) => Err(Error::Damaged(piazza_core::integrity::summary(&problems))),
        Err(error) if interrupted(&error) => Ok(StartCheck::Cut),
        Err(error) => Err(damage_or(error)),
    }
}

/// `quick_check` of the whole file (`table` None) or of one table and its
/// indexes; each line it returns other than "ok" is a problem.
fn pages(conn: &Connection, table: Option<&str>) -> Result<Vec<String>> {
    let sql = match table {
        Some(table) => format!("PRAGMA quick_check(\"{}\")", table.replace('"', "\"\"")),
        None => "PRAGMA quick_check".to_owned(),
    };
    let mut statement = conn.prepare(&sql)?;
    let lines = statement.query_map([], |row| row.get::<_, String>(0))?;
    let mut problems = Vec::new();
    for line in lines {
        let line = line?;
        if line != "ok" {
            problems.push(format!("page check: {line}"));
        }
    }
    Ok(problems)
}

fn interrupted(error: &Error) -> bool {
    matches!(error, Error::Sqlite(rusqlite::Error::SqliteFailure(failure, _))
        if failure.code == rusqlite::ErrorCode::OperationInterrupted)
}

/// SQLite's own word that the file is damaged becomes [`Error::Damaged`];
/// anything else stays what it was.
fn damage_or(error: Error) -> Error {
    match &error {
        Error::Sqlite(rusqlite::Error::SqliteFailure(failure, _))
            if matches!(
                failure.code,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
            ) =>
        {
            Error::Damaged(error.to_string())
        }
        _ => error,
    }
}

/// The background verifier's thread; stops when dropped.
pub(crate) struct Verifier {
    /// Stops a check in the middle, so that shutting down never waits for
    /// a pass over a large store.
    interrupt: rusqlite::InterruptHandle,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Verifier {
    /// Starts verifying the store at `path`: the first pass after
    /// `options.interval`, or at once when `first_pass_now`.
    pub fn start(
        path: &Path,
        health: Arc<Health>,
        options: VerifyOptions,
        first_pass_now: bool,
    ) -> Result<Verifier> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let interrupt = conn.get_interrupt_handle();
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("piazza-verify".into())
            .spawn(move || {
                lower_priority();
                let mut wait = if first_pass_now {
                    Duration::ZERO
                } else {
                    options.interval
                };
                while rest(&stopped, wait) {
                    if !verify(&conn, &health, options.pause, &stopped) {
                        return;
                    }
                    wait = options.interval;
                }
            })?;
        Ok(Verifier {
            interrupt,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        drop(self.stop.take());
        self.interrupt.interrupt();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Waits `time`; false once the verifier is told to stop.
fn rest(stopped: &mpsc::Receiver<()>, time: Duration) -> bool {
    matches!(stopped.recv_timeout(time), Err(RecvTimeoutError::Timeout))
}

/// The lowest CPU priority for this thread (on Linux `setpriority` with
/// who = 0 names the calling thread, not the whole process), so checks
/// yield to serving. Failure only costs politeness.
fn lower_priority() {
    // SAFETY: setpriority takes plain integers and touches no memory.
    let outcome = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
    if outcome != 0 {
        tracing::debug!("could not lower the verifier's priority");
    }
}

/// One whole pass. Returns false when it should stop: told to, or damage
/// found (final for this process).
fn verify(
    conn: &Connection,
    health: &Health,
    pause: Duration,
    stopped: &mpsc::Receiver<()>,
) -> bool {
    let started = Instant::now();
    let mut problems = Vec::new();
    let tables = match table_names(conn) {
        Ok(tables) => tables,
        Err(error) => return keep_going_after(error, health),
    };
    for table in &tables {
        match pages(conn, Some(table)) {
            Ok(found) => problems.extend(found),
            Err(error) => return keep_going_after(error, health),
        }
        if !rest(stopped, pause) {
            return false;
        }
    }
    let checks = in_one_snapshot(conn, || {
        let report = integrity::check(conn)?;
        let ledger = integrity::check_ledger(conn)?;
        Ok([report.problems, ledger.problems].concat())
    });
    match checks {
        Ok(found) => problems.extend(found),
        Err(error) => return keep_going_after(error, health),
    }
    if !problems.is_empty() {
        record_damage(health, &problems);
        return false;
    }
    metrics::histogram!("piazza_sqlite_verify_seconds").record(started.elapsed().as_secs_f64());
    tracing::debug!(tables = tables.len(), elapsed = ?started.elapsed(), "store verified");
    true
}

/// A check that could not run: damage if SQLite says the file is damaged,
/// otherwise logged and tried again next pass.
fn keep_going_after(error: Error, health: &Health) -> bool {
    if interrupted(&error) {
        // Told to stop (`Verifier`'s drop).
        return false;
    }
    match damage_or(error) {
        Error::Damaged(found) => {
            record_damage(health, &[found]);
            false
        }
        other => {
            tracing::warn!(error = %other, "a store check could not run; trying again next pass");
            true
        }
    }
}

/// Runs `checks` in one read transaction, so that every statement sees the
/// same commit (the writer keeps writing meanwhile).
fn in_one_snapshot<T>(conn: &Connection, checks: impl FnOnce() -> Result<T>) -> Result<T> {
    conn.execute_batch("BEGIN")?;
    let outcome = checks();
    conn.execute_batch("COMMIT")?;
    outcome
}

fn table_names(conn: &Connection) -> Result<Vec<String>> {
    let mut statement =
        conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")?;
    let names = statement.query_map([], |row| row.get::<_, String>(0))?;
    Ok(names.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_file() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("check.sqlite3")).unwrap();
        crate::migrate(&conn).unwrap();
        conn.execute_batch(
            "CREATE TABLE filler (n INTEGER PRIMARY KEY, text TEXT);
             WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 20000)
             INSERT INTO filler SELECT n, hex(randomblob(64)) FROM k;",
        )
        .unwrap();
        (dir, conn)
    }

    #[test]
    fn a_sound_store_passes_the_start_check() {
        let (_dir, conn) = store_file();
        let budget = StartBudget::new(Duration::from_secs(60));
        assert_eq!(
            check_pages_at_start(&conn, budget).unwrap(),
            StartCheck::Complete
        );
        assert_eq!(
            check_ledger_at_start(&conn, budget).unwrap(),
            StartCheck::Complete
        );
        let none = StartBudget::new(Duration::ZERO);
        assert_eq!(
            check_pages_at_start(&conn, none).unwrap(),
            StartCheck::Skipped
        );
    }

    #[test]
    fn a_start_check_past_its_budget_is_cut_not_failed() {
        let (_dir, conn) = store_file();
        let budget = StartBudget::new(Duration::from_nanos(1));
        assert_eq!(
            check_pages_at_start(&conn, budget).unwrap(),
            StartCheck::Cut
        );
        // The handler is gone afterwards: the connection works as before.
        conn.query_row("SELECT COUNT(*) FROM filler", [], |_| Ok(()))
            .unwrap();
    }

    #[test]
    fn a_pass_records_damage_and_halts_money() {
        let (dir, conn) = store_file();
        conn.execute_batch(
            "INSERT INTO ledger_accounts (kind, holder, currency, balance_minor)
             VALUES ('user_wallet', 1, 'CNY', 500)",
        )
        .unwrap();
        let health = Health::default();
        let (_stop, stopped) = mpsc::channel();
        let path = dir.path().join("check.sqlite3");
        let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        assert!(!verify(&reader, &health, Duration::ZERO, &stopped));
        assert!(health.money_halted());
        assert!(
            health.damage().unwrap().contains("balance 500"),
            "{:?}",
            health.damage()
        );
    }
}
