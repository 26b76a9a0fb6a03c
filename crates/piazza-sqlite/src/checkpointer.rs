//! Checkpoints, off the writer's thread.
//!
//! Every commit appends the pages it changed to the WAL; a checkpoint
//! copies them back into the database file so the WAL can start over.
//! SQLite's automatic checkpoint runs inside the commit that crosses its
//! threshold, on the writer's thread, stalling every job queued behind it
//! while it copies the whole WAL. Here the writer only counts (SQLite's
//! WAL hook gives the WAL's length after each commit) and, past
//! `checkpoint_frames`, wakes this thread, which copies the WAL on a
//! connection of its own while the writer goes on committing.
//!
//! The WAL starts over only when the writer begins a transaction at a
//! moment where every frame has been copied. Commits follow each other
//! back to back, so the copy on this thread never finishes in such a
//! moment: by then the writer has committed another batch. Once this
//! thread has copied all but the last commit or two, the writer copies
//! that short tail itself, right after its commit, and its next
//! transaction starts the WAL over. The writer pays for a batch's pages
//! once per WAL, instead of for the whole WAL.
//!
//! If this thread ever falls far behind (a reader holding an old snapshot
//! stops any checkpoint from finishing) the writer checkpoints itself once
//! the WAL passes `4 × checkpoint_frames`, as SQLite would have.
//!
//! Both connections keep `synchronous = FULL`: a checkpoint syncs the WAL
//! before copying and the database file before the WAL may be reused.

use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use rusqlite::Connection;
use rusqlite::hooks::Wal;

use crate::error::Result;

thread_local! {
    /// The WAL's length in frames after the latest commit of the writer
    /// connection on this thread (each store's writer has its own thread).
    static WAL_FRAMES: Cell<u32> = const { Cell::new(0) };
}

fn count_frames(_: &Wal, frames: std::os::raw::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.with(|cell| cell.set(u32::try_from(frames).unwrap_or(0)));
    Ok(())
}

/// Replaces SQLite's automatic checkpoint on the writer connection by the
/// frame count that [`Checkpointer::after_commit`] reads.
pub(crate) fn count_wal_frames(writer: &Connection) {
    writer.wal_hook(Some(count_frames));
}

/// What [`Checkpointer::after_commit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterCommit {
    /// The WAL is still short.
    Nothing,
    /// The checkpoint thread was asked to copy the WAL.
    Woke,
    /// The checkpoint thread is still copying; the tail waits for it.
    Waited,
    /// The writer copied the last few commits; the WAL starts over.
    CopiedTheTail,
    /// The WAL grew past four times its length: the writer checkpointed.
    CaughtUpBehind,
}

/// What the writer and the checkpoint thread tell each other.
#[derive(Default)]
struct Shared {
    /// The WAL's length after the writer's latest commit.
    wal_frames: AtomicU32,
    /// Checkpoints the thread has finished.
    rounds: AtomicU64,
    /// True while the thread is checkpointing.
    busy: AtomicBool,
}

pub(crate) struct Checkpointer {
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    frames_max: u32,
    shared: Arc<Shared>,
    /// `shared.rounds` when the writer last copied a tail: a round after
    /// it has copied the WAL as it was when that round began.
    rounds_seen: Cell<u64>,
    /// Whether the writer said it is checkpointing a WAL grown too long;
    /// said once until the WAL is short again, not on every commit.
    warned: Cell<bool>,
}

impl Checkpointer {
    /// Opens the checkpointing connection on `path` and starts its thread.
    pub(crate) fn start(path: &Path, frames_max: u32) -> Result<Checkpointer> {
        let frames_max = frames_max.max(1);
        let conn = Connection::open(path)?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0;")?;
        // Reading the schema can meet a lock while the WAL is recovered.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // One pending wake-up is enough: a second would find nothing new.
        let (wake, woken) = mpsc::sync_channel(1);
        let shared = Arc::new(Shared::default());
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("piazza-checkpoint".into())
                .spawn(move || run(&conn, &woken, &shared, frames_max))?
        };
        Ok(Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
            frames_max,
            shared,
            rounds_seen: Cell::new(0),
            warned: Cell::new(false),
        })
    }

    /// Called by the writer after each commit, on its own thread.
    pub(crate) fn after_commit(&self, writer: &Connection) -> AfterCommit {
        let frames = WAL_FRAMES.with(Cell::get);
        self.shared.wal_frames.store(frames, Ordering::Release);
        metrics::gauge!("piazza_wal_frames").set(f64::from(frames));
        if frames < self.frames_max {
            self.warned.set(false);
            return AfterCommit::Nothing;
        }
        // Once a round has finished, what is left is what the writer
        // committed since that round began, a commit or two: the writer
        // copies it as soon as no round is running (none is started).
        let rounds = self.shared.rounds.load(Ordering::Acquire);
        let copied_once = rounds > self.rounds_seen.get();
        let finish = copied_once && !self.shared.busy.load(Ordering::Acquire);
        let behind = frames >= self.frames_max.saturating_mul(4);
        if finish || behind {
            if behind && !self.warned.replace(true) {
                tracing::warn!(
                    frames,
                    "the WAL outgrew its checkpoints; checkpointing on the writer"
                );
            }
            self.rounds_seen.set(rounds);
            // The WAL starts over with the next transaction: a wake-up
            // still queued must not start a round that would race it, and
            // a batch that writes nothing (the hook is not called) must
            // not read this length again.
            self.shared.wal_frames.store(0, Ordering::Release);
            WAL_FRAMES.with(|cell| cell.set(0));
            if let Err(error) = checkpoint(writer) {
                tracing::error!(%error, "checkpoint on the writer failed");
            }
            metrics::counter!("piazza_checkpoints_on_writer_total").increment(1);
            return if behind {
                AfterCommit::CaughtUpBehind
            } else {
                AfterCommit::CopiedTheTail
            };
        }
        if copied_once {
            return AfterCommit::Waited;
        }
        if let Some(wake) = &self.wake {
            match wake.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => {
                    tracing::error!("the checkpoint thread is gone");
                }
            }
        }
        AfterCommit::Woke
    }

    pub(crate) fn shut_down(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn run(conn: &Connection, woken: &Receiver<()>, shared: &Shared, frames_max: u32) {
    while woken.recv().is_ok() {
        shared.busy.store(true, Ordering::Release);
        loop {
            // A wake-up left over from before the WAL started over.
            if shared.wal_frames.load(Ordering::Acquire) < frames_max {
                break;
            }
            if let Err(error) = checkpoint(conn) {
                tracing::error!(%error, "checkpoint failed");
            }
            shared.rounds.fetch_add(1, Ordering::AcqRel);
            // Woken again meanwhile: go on without looking idle, so the
            // writer never copies the tail while a round is starting.
            if woken.try_recv().is_err() {
                break;
            }
        }
        shared.busy.store(false, Ordering::Release);
    }
    tracing::debug!("checkpoint thread stopped");
}

/// One passive checkpoint: copies what no reader still needs from the WAL.
fn checkpoint(conn: &Connection) -> Result<()> {
    let started = std::time::Instant::now();
    let (busy, frames, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    metrics::counter!("piazza_checkpoints_total").increment(1);
    metrics::histogram!("piazza_checkpoint_seconds").record(started.elapsed().as_secs_f64());
    if busy != 0 || copied < frames {
        tracing::debug!(frames, copied, "a checkpoint could not copy the whole WAL");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAMES_MAX: u32 = 64;

    /// A WAL database with the writer's settings and a 1,000-row table.
    fn writer(dir: &Path) -> Connection {
        let conn = Connection::open(dir.join("test.sqlite3")).unwrap();
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
             INSERT INTO t SELECT i, zeroblob(300) FROM n;",
        )
        .unwrap();
        count_wal_frames(&conn);
        conn
    }

    /// One commit that rewrites rows spread over ~20 pages.
    fn commit(conn: &Connection, round: u32) {
        conn.execute(
            "UPDATE t SET v = randomblob(300) WHERE id % 50 = ?1",
            [round % 50],
        )
        .unwrap();
    }

    fn frames() -> u32 {
        WAL_FRAMES.with(Cell::get)
    }

    #[test]
    fn the_wal_starts_over_without_the_writer_copying_it_all() {
        let dir = tempfile::tempdir().unwrap();
        let conn = writer(dir.path());
        let mut checkpointer = Checkpointer::start(&dir.path().join("test.sqlite3"), FRAMES_MAX)
            .expect("checkpointer");
        let (mut tails, mut behind) = (0, 0);
        for round in 0..1_000 {
            commit(&conn, round);
            match checkpointer.after_commit(&conn) {
                AfterCommit::CopiedTheTail => tails += 1,
                AfterCommit::CaughtUpBehind => behind += 1,
                AfterCommit::Nothing | AfterCommit::Woke | AfterCommit::Waited => {}
            }
            // Commits back to back, with the pause a real batch's work takes.
            std::thread::sleep(std::time::Duration::from_micros(500));
        }
        checkpointer.shut_down();
        assert!(tails >= 10, "the WAL started over only {tails} times");
        // The writer copied a short tail, not the whole WAL; on a machine
        // too busy to run the checkpoint thread in time it may have had to
        // step in now and then, never as the rule.
        assert!(
            behind * 10 <= tails,
            "the writer copied the whole WAL {behind} times, a tail {tails} times"
        );
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 1000);
    }

    #[test]
    fn a_reader_pinning_the_wal_delays_the_restart_but_not_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.sqlite3");
        let conn = writer(dir.path());
        let checkpointer = Checkpointer::start(&path, FRAMES_MAX).expect("checkpointer");
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            .unwrap();
        // The reader's snapshot keeps every later frame from being copied:
        // the WAL grows past the backstop, and commits go on.
        let (mut behind, mut last) = (0, 0);
        for round in 0..200 {
            commit(&conn, round);
            // The WAL's length after this commit, before any checkpoint.
            last = frames();
            if checkpointer.after_commit(&conn) == AfterCommit::CaughtUpBehind {
                behind += 1;
            }
        }
        assert!(last > FRAMES_MAX * 4, "the WAL could not have been copied");
        assert!(behind > 0, "the writer tried to catch up");
        // Once the reader lets go, the WAL starts over within a few commits.
        reader.execute_batch("COMMIT").unwrap();
        let restarted = (0..200).any(|round| {
            commit(&conn, round);
            let length = frames();
            checkpointer.after_commit(&conn);
            std::thread::sleep(std::time::Duration::from_millis(1));
            length < FRAMES_MAX
        });
        assert!(restarted, "the WAL never started over");
    }
}
