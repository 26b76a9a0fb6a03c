//! Checks the database's integrity at start and keeps checking it while
//! the server runs, so that damage is never served as healthy: the same
//! promise, and the same settings, as SQLite's `verifier.rs`.
//!
//! - At start, after the schema is migrated and before the writers take a
//!   job: the ledger's sums (`integrity::check_ledger_in`), within a time
//!   budget ([`VerifyOptions::start_budget`]; PostgreSQL cancels the check
//!   at the deadline). Damage refuses the start ([`OpenError::Damaged`]);
//!   a database too large to check within the budget starts, and the
//!   verifier's first pass begins at once instead.
//! - While running ([`Verifier`]): a thread with a connection of its own
//!   runs the logs' and conversations' gaplessness (`integrity::check_in`)
//!   and the ledger's sums in one REPEATABLE READ snapshot, one pass every
//!   `interval`. On damage it records it in [`Health`]: `/healthz` fails,
//!   every money move is refused (`money_halted`), the log says what was
//!   found and what to do, and the `piazza_postgres_damaged` gauge is 1.
//!   Damage is final for the process: an operator restores the database.
//!
//! SQLite also checks its file's pages; PostgreSQL's pages are its own
//! server's business (data checksums, `amcheck`), so there is nothing
//! between tables to rest for. Each process sharing a database runs its
//! own verifier and halts its own money.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{CancelToken, Client, NoTls};

use crate::OpenError;
use crate::integrity;

pub use piazza_core::integrity::Health;

/// Records damage in `health` and says what to do about it.
fn record_damage(health: &Health, problems: &[String]) {
    let found = piazza_core::integrity::summary(problems);
    tracing::error!(
        damage = %found,
        "the database is damaged: money is halted and /healthz fails; stop every Piazza process using it and restore the database from a backup (`piazza admin check --database-url …` and `ledger-check` give the full report)"
    );
    metrics::gauge!("piazza_postgres_damaged").set(1.0);
    health.record(found);
}

/// How the database is verified; see the module doc. The server fills it
/// from the same settings as SQLite's (`integrity_start_check_s`,
/// `integrity_verify_interval_s`).
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Time the start-up check may take; past it the start goes on and the
    /// background verifier begins at once. Zero skips the start-up check.
    pub start_budget: Duration,
    /// From the end of one background pass to the start of the next.
    pub interval: Duration,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            start_budget: Duration::from_secs(30),
            interval: Duration::from_secs(10 * 60),
        }
    }
}

/// How far the start-up check got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartCheck {
    /// The ledger's sums were checked whole and are sound.
    Complete,
    /// The budget ran out first: the rest is left to the verifier.
    Cut,
    /// The budget is zero.
    Skipped,
}

/// The start-up check: the ledger's sums, in one snapshot, cancelled by
/// PostgreSQL when `budget` runs out.
pub(crate) fn check_at_start(
    client: &mut Client,
    budget: Duration,
) -> Result<StartCheck, OpenError> {
    if budget.is_zero() {
        return Ok(StartCheck::Skipped);
    }
    let outcome = before(client, budget, |client| {
        let mut tx = integrity::snapshot(client)?;
        let report = integrity::check_ledger_in(&mut tx)?;
        tx.commit()?;
        Ok(report.problems)
    });
    match outcome {
        Ok(problems) if problems.is_empty() => Ok(StartCheck::Complete),
        Ok(problems) => Err(OpenError::Damaged(piazza_core::integrity::summary(
            &problems,
        ))),
        Err(error) if error.code() == Some(&SqlState::QUERY_CANCELED) => Ok(StartCheck::Cut),
        Err(error) if damaged(&error) => Err(OpenError::Damaged(error.to_string())),
        Err(error) => Err(OpenError::Check(error)),
    }
}

/// Runs `check` on `client`, which PostgreSQL cancels if it is still
/// running after `budget`. The timer is joined before returning, so a
/// late cancel can only reach an idle connection, where it does nothing.
fn before<T>(
    client: &mut Client,
    budget: Duration,
    check: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
) -> Result<T, postgres::Error> {
    let token = client.cancel_token();
    let (done, finished) = mpsc::channel::<()>();
    let timer = std::thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(budget) {
            let _ = token.cancel_query(NoTls);
        }
    });
    let outcome = check(client);
    drop(done);
    let _ = timer.join();
    outcome
}

/// PostgreSQL's own word that what it read is damaged.
fn damaged(error: &postgres::Error) -> bool {
    matches!(
        error.code(),
        Some(code) if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED
    )
}

/// The background verifier's thread; stops when dropped or told to.
pub(crate) struct Verifier {
    running: Mutex<Option<Running>>,
}

struct Running {
    stop: mpsc::Sender<()>,
    /// Cancels the pass in progress, so that stopping never waits for a
    /// pass over a large database. Replaced when the thread reconnects.
    cancel: Arc<Mutex<CancelToken>>,
    thread: JoinHandle<()>,
}

impl Verifier {
    /// Starts verifying on `client` (reconnecting to `url` should it
    /// break): the first pass after `options.interval`, or at once when
    /// `first_pass_now`.
    pub fn start(
        client: Client,
        url: String,
        health: Arc<Health>,
        options: VerifyOptions,
        first_pass_now: bool,
    ) -> std::io::Result<Verifier> {
        let cancel = Arc::new(Mutex::new(client.cancel_token()));
        let (stop, stopped) = mpsc::channel();
        let pass = Pass {
            client,
            url,
            health,
            cancel: Arc::clone(&cancel),
        };
        let wait = if first_pass_now {
            Duration::ZERO
        } else {
            options.interval
        };
        let thread = std::thread::Builder::new()
            .name("piazza-pg-verify".into())
            .spawn(move || pass.repeat(&stopped, wait, options.interval))?;
        Ok(Verifier {
            running: Mutex::new(Some(Running {
                stop,
                cancel,
                thread,
            })),
        })
    }

    /// Stops the thread, cancelling a pass in progress; waits for it.
    pub fn stop(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(running) = running else { return };
        drop(running.stop);
        // Cancelling runs a small runtime of the driver's, which may not
        // start inside async code (where the engine may be dropped).
        let cancel = running.cancel;
        let cancelled = std::thread::spawn(move || {
            let token = cancel.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = token.cancel_query(NoTls);
        });
        let _ = cancelled.join();
        let _ = running.thread.join();
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The verifier thread's state.
struct Pass {
    client: Client,
    url: String,
    health: Arc<Health>,
    cancel: Arc<Mutex<CancelToken>>,
}

impl Pass {
    /// Rests `first`, then passes every `interval` until told to stop or
    /// damage is found (final for this process).
    fn repeat(mut self, stopped: &mpsc::Receiver<()>, first: Duration, interval: Duration) {
        let mut wait = first;
        while rest(stopped, wait) {
            wait = interval;
            let started = Instant::now();
            match self.once() {
                Ok(problems) if problems.is_empty() => {
                    metrics::histogram!("piazza_postgres_verify_seconds")
                        .record(started.elapsed().as_secs_f64());
                    tracing::debug!(elapsed = ?started.elapsed(), "database verified");
                }
                Ok(problems) => return record_damage(&self.health, &problems),
                Err(error) if damaged(&error) => {
                    return record_damage(&self.health, &[error.to_string()]);
                }
                // Cancelled by `Verifier::stop`.
                Err(_) if matches!(stopped.try_recv(), Err(mpsc::TryRecvError::Disconnected)) => {
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "a database check could not run; trying again next pass");
                }
            }
        }
    }

    /// One whole pass in one snapshot: every problem found.
    fn once(&mut self) -> Result<Vec<String>, postgres::Error> {
        if self.client.is_closed() {
            self.client = Client::connect(&self.url, NoTls)?;
            *self.cancel.lock().unwrap_or_else(PoisonError::into_inner) =
                self.client.cancel_token();
        }
        let mut tx = integrity::snapshot(&mut self.client)?;
        let data = integrity::check_in(&mut tx)?;
        let ledger = integrity::check_ledger_in(&mut tx)?;
        tx.commit()?;
        Ok([data.problems, ledger.problems].concat())
    }
}

/// Waits `time`; false once the verifier is told to stop.
fn rest(stopped: &mpsc::Receiver<()>, time: Duration) -> bool {
    matches!(stopped.recv_timeout(time), Err(RecvTimeoutError::Timeout))
}
