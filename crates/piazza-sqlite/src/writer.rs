//! The one writer. It owns the only read-write connection; every change to
//! the store is a job sent to it over a bounded queue. It takes whatever
//! jobs are waiting (up to `batch_len_max`), runs each inside its own
//! savepoint of one transaction, commits once — one fsync for the whole
//! batch — and only then answers each job's caller and hands the batch's
//! notices to the live hub. A job that breaks a rule rolls back to its
//! savepoint and fails alone; its batch-mates still commit.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use piazza_domain::event::{Event, LogEntry, Notice};
use piazza_domain::store::{NoticeSink, PinPolicy};
use piazza_domain::{AccountId, LogSeq, Timestamp};
use rusqlite::{Connection, params};
use tokio::sync::{mpsc, oneshot};

use crate::checkpointer::Checkpointer;
use crate::error::{Error, Result};
use crate::log_data;
use crate::tails::{self, Appended, Mover, TailLimits};
use crate::verifier::Health;

/// What a job sees: the open transaction, the batch's clock, and the place
/// to put log entries so they reach live devices after the commit.
pub struct WriteCtx<'c> {
    pub conn: &'c Connection,
    /// `conn` as the rules' reads see it (`engine.rs`).
    pub(crate) db: crate::engine::Db<'c>,
    pub now: Timestamp,
    /// When wrong payment PINs lock money-out.
    pub pin_policy: PinPolicy,
    /// Damage was found in the store (`verifier.rs`): no money may move.
    pub money_halted: bool,
    notices: Vec<Notice>,
    /// Entries this batch's jobs added to each tail (`tails.rs`).
    appended: Appended,
    /// The log heads this batch has moved: `accounts.log_head` is written
    /// once per account at the end of the batch (`write_log_heads`), not
    /// once per entry. Nothing but `append_log` reads it in the writer.
    log_heads: HashMap<AccountId, LogHead>,
    /// Each change to `log_heads` and the value it replaced, so that a
    /// rolled-back job's can be undone.
    log_heads_undo: Vec<(AccountId, Option<LogHead>)>,
}

#[derive(Clone, Copy)]
struct LogHead {
    /// `accounts.log_head` as stored.
    stored: i64,
    /// The last log_seq this batch handed out.
    now: i64,
}

/// Where a job (or a refusable part of one) began, to undo its notices,
/// tail counts and log heads with its savepoint.
#[derive(Clone, Copy)]
struct Mark {
    notices: usize,
    appended: Appended,
    log_heads_undo: usize,
}

impl WriteCtx<'_> {
    /// Appends `event` to `account`'s log with the next log_seq. The seq is
    /// taken inside this transaction, so logs are gapless and in commit order.
    pub fn append_log(&mut self, account: AccountId, event: Event) -> Result<LogSeq> {
        let before = self.log_heads.get(&account).copied();
        let head = match before {
            Some(head) => head,
            None => {
                let stored: i64 = self
                    .conn
                    .prepare_cached("SELECT log_head FROM accounts WHERE id = ?1")?
                    .query_row([account.row()], |row| row.get(0))?;
                LogHead {
                    stored,
                    now: stored,
                }
            }
        };
        let seq = head.now + 1;
        match &event {
            Event::MessageNew(message) => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO account_log_tail (account_id, log_seq, at, message_id) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![account.row(), seq, self.now.unix_ms(), message.message_id.row()])?;
            }
            other => {
                let data = log_data::encode(other)?;
                self.conn
                    .prepare_cached(
                        "INSERT INTO account_log_tail (account_id, log_seq, at, data) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![account.row(), seq, self.now.unix_ms(), data])?;
            }
        }
        self.appended.added[tails::ACCOUNT_LOG] += 1;
        self.log_heads.insert(account, LogHead { now: seq, ..head });
        self.log_heads_undo.push((account, before));
        let seq = LogSeq::from_stored(seq);
        self.notices.push(Notice::Logged(Arc::new(LogEntry {
            account,
            seq,
            at: self.now,
            event,
        })));
        Ok(seq)
    }

    /// Runs `effect` in a savepoint of its own. A rejection undoes what it
    /// wrote (and drops the notices it queued) and comes back as a refusal
    /// that still lets the rest of the job commit — a counted wrong PIN,
    /// say. Any other error fails the whole job as usual.
    pub fn refusable<T>(
        &mut self,
        effect: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<std::result::Result<T, piazza_domain::Rejection>> {
        let mark = self.mark();
        run_cached(self.conn, "SAVEPOINT refusable")?;
        match effect(self) {
            Ok(done) => {
                run_cached(self.conn, "RELEASE refusable")?;
                Ok(Ok(done))
            }
            Err(Error::Rejected(rejection)) => {
                run_cached(self.conn, "ROLLBACK TO refusable")?;
                run_cached(self.conn, "RELEASE refusable")?;
                self.rewind(mark);
                Ok(Err(rejection))
            }
            Err(other) => Err(other),
        }
    }

    /// Counts an entry added to tail `tail` (one of `tails::TAILS`).
    pub(crate) fn appended_to(&mut self, tail: usize) {
        self.appended.added[tail] += 1;
    }

    /// Tells the writer that entries of tail `tail` were deleted other than
    /// by moving them (the purge): it counts that tail again.
    pub(crate) fn removed_from(&mut self, tail: usize) {
        self.appended.recount[tail] = true;
    }

    fn mark(&self) -> Mark {
        Mark {
            notices: self.notices.len(),
            appended: self.appended,
            log_heads_undo: self.log_heads_undo.len(),
        }
    }

    fn rewind(&mut self, mark: Mark) {
        self.notices.truncate(mark.notices);
        self.appended = mark.appended;
        while self.log_heads_undo.len() > mark.log_heads_undo {
            let Some((account, before)) = self.log_heads_undo.pop() else {
                break;
            };
            match before {
                Some(head) => self.log_heads.insert(account, head),
                None => self.log_heads.remove(&account),
            };
        }
    }

    /// Stores the log heads this batch moved, each guarded by the value it
    /// was read as: one `UPDATE` per account per batch.
    fn write_log_heads(&mut self) -> Result<()> {
        for (account, head) in self.log_heads.drain() {
            if head.now == head.stored {
                continue;
            }
            let moved = self
                .conn
                .prepare_cached(
                    "UPDATE accounts SET log_head = ?1 WHERE id = ?2 AND log_head = ?3",
                )?
                .execute(params![head.now, account.row(), head.stored])?;
            if moved != 1 {
                return Err(Error::Corrupt(format!(
                    "{account}'s log head moved under the writer"
                )));
            }
        }
        self.log_heads_undo.clear();
        Ok(())
    }

    /// Tells the live side something that is not a log entry.
    pub fn notice(&mut self, notice: Notice) {
        self.notices.push(notice);
    }
}

type Reply = Box<dyn FnOnce(Result<()>) + Send>;
type Work = Box<dyn FnOnce(&mut WriteCtx<'_>) -> (bool, Reply) + Send>;

/// A job and how a failure of it is undone.
struct Job {
    work: Work,
    /// Runs in a savepoint of its own, so an `Err` rolls back only its
    /// changes. Without one, the job must refuse before it changes
    /// anything (`Writer::run_refusing_first`); SQLite copies each page
    /// a savepoint changes into its journal first, ~10% of a transfer's
    /// time in the writer (BENCHMARKS.md, "Tails").
    savepoint: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct WriterLimits {
    /// Jobs waiting for the writer before callers wait to enqueue.
    pub queue_len_max: usize,
    /// Jobs committed together at most.
    pub batch_len_max: usize,
    /// WAL length, in pages, that wakes the checkpoint thread.
    pub checkpoint_frames: u32,
    /// How big the tails grow, how much a batch moves out of them.
    pub tails: TailLimits,
}

impl WriterLimits {
    /// The WAL length, in pages of the store's 4 KiB, that is `mib` MiB.
    pub fn checkpoint_frames_for_mib(mib: u32) -> u32 {
        mib.saturating_mul(256).max(1)
    }
}

impl Default for WriterLimits {
    fn default() -> WriterLimits {
        WriterLimits {
            queue_len_max: 16_384,
            batch_len_max: 2_048,
            // 64 MiB: measured in BENCHMARKS.md ("Checkpoints").
            checkpoint_frames: WriterLimits::checkpoint_frames_for_mib(64),
            tails: TailLimits::default(),
        }
    }
}

/// A job in the writer's queue; see [`Writer::queue`].
pub struct Queued<T>(oneshot::Receiver<Result<T>>);

impl<T> Queued<T> {
    /// The job's answer, once its batch has committed (or failed).
    pub async fn answer(self) -> Result<T> {
        self.0.await.map_err(|_| Error::WriterGone)?
    }
}

/// What the writer's jobs are run under besides their data.
pub(crate) struct Rules {
    /// When wrong payment PINs lock money-out.
    pub pin_policy: PinPolicy,
    /// What the verifier found; damage halts money (`WriteCtx::money_halted`).
    pub health: Arc<Health>,
}

pub struct Writer {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub(crate) fn start(
        conn: Connection,
        checkpointer: Checkpointer,
        sink: Arc<dyn NoticeSink>,
        limits: WriterLimits,
        rules: Rules,
    ) -> Writer {
        assert!(limits.queue_len_max > 0 && limits.batch_len_max > 0);
        let (sender, receiver) = mpsc::channel(limits.queue_len_max);
        let thread = std::thread::Builder::new()
            .name("piazza-writer".into())
            .spawn(move || {
                run(&conn, &checkpointer, receiver, sink.as_ref(), limits, rules);
                // The checkpointing connection closes after the writer's.
                drop(conn);
                drop(checkpointer);
            })
            .expect("cannot start the writer thread");
        Writer {
            jobs: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Runs `work` in the writer's next batch and answers once that batch
    /// is durable. An `Err` from `work` rolls back only `work`'s changes.
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T> + Send + 'static,
    {
        self.submit(work, true).await
    }

    /// As [`Writer::run`], for a job that returns every `Err` before its
    /// first change (its refusals are decided by reading first), so it
    /// needs no savepoint. Should it fail after changing something all
    /// the same (a bug, a failing disk), its batch cannot commit without
    /// it being half done: the whole batch is rolled back and refused.
    pub async fn run_refusing_first<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T> + Send + 'static,
    {
        self.submit(work, false).await
    }

    /// As [`Writer::run`], in two steps: the returned future ends once the
    /// job is in the writer's queue, and [`Queued::answer`] then waits for
    /// its commit. The queue is first come, first served and the writer runs
    /// its jobs in queue order, so jobs one caller queues one after the
    /// other commit in that order (a socket's pipelined sends).
    pub async fn queue<T, F>(&self, work: F) -> Result<Queued<T>>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T> + Send + 'static,
    {
        self.enqueue(work, true).await
    }

    /// As [`Writer::queue`], for a job that returns every `Err` before
    /// its first change (see [`Writer::run_refusing_first`]).
    pub async fn queue_refusing_first<T, F>(&self, work: F) -> Result<Queued<T>>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T> + Send + 'static,
    {
        self.enqueue(work, false).await
    }

    async fn submit<T, F>(&self, work: F, savepoint: bool) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T> + Send + 'static,
    {
        self.enqueue(work, savepoint).await?.answer().await
    }

    async fn enqueue<T, F>(&self, work: F, savepoint: bool) -> Result<Queued<T>>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T>>();
        let work: Work = Box::new(move |ctx| {
            let outcome = work(ctx);
            let ok = outcome.is_ok();
            let reply: Reply = Box::new(move |committed: Result<()>| {
                let _ = answer.send(committed.and(outcome));
            });
            (ok, reply)
        });
        let job = Job { work, savepoint };
        let sender = self
            .jobs
            .lock()
            .expect("writer lock")
            .clone()
            .ok_or(Error::WriterGone)?;
        sender.send(job).await.map_err(|_| Error::WriterGone)?;
        Ok(Queued(answered))
    }

    /// True while the writer thread is running and taking jobs.
    pub fn is_running(&self) -> bool {
        let taking = self.jobs.lock().map(|jobs| jobs.is_some()).unwrap_or(false);
        let alive = self
            .thread
            .lock()
            .map(|thread| thread.as_ref().is_some_and(|thread| !thread.is_finished()))
            .unwrap_or(false);
        taking && alive
    }

    /// Stops taking jobs, lets the writer finish those already queued, and
    /// waits for its thread to end.
    pub fn shut_down(&self) {
        drop(self.jobs.lock().expect("writer lock").take());
        if let Some(thread) = self.thread.lock().expect("writer lock").take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn run(
    conn: &Connection,
    checkpointer: &Checkpointer,
    mut jobs: mpsc::Receiver<Job>,
    sink: &dyn NoticeSink,
    limits: WriterLimits,
    rules: Rules,
) {
    let batch_len_max = limits.batch_len_max;
    let mut mover = Mover::new(limits.tails);
    let mut batch: Vec<Job> = Vec::with_capacity(batch_len_max);
    while let Some(first) = jobs.blocking_recv() {
        batch.push(first);
        while batch.len() < batch_len_max {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(
            conn,
            &mut batch,
            &mut jobs,
            batch_len_max,
            &mut mover,
            sink,
            &rules,
        );
        checkpointer.after_commit(conn);
    }
    tracing::debug!("writer stopped");
}

/// Runs `batch`, then whatever has queued up meanwhile (up to
/// `batch_len_max` jobs in all), and commits them together: jobs that
/// arrive while a batch runs share its commit instead of waiting for
/// their own.
fn commit_batch(
    conn: &Connection,
    batch: &mut Vec<Job>,
    queued: &mut mpsc::Receiver<Job>,
    batch_len_max: usize,
    mover: &mut Mover,
    sink: &dyn NoticeSink,
    rules: &Rules,
) {
    let started = Instant::now();
    let mut size = batch.len();
    if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(%error, "cannot begin a write transaction");
        batch.clear();
        return;
    }
    let mut ctx = WriteCtx {
        conn,
        db: crate::engine::Db(conn),
        now: Timestamp::now(),
        pin_policy: rules.pin_policy,
        money_halted: rules.health.money_halted(),
        notices: Vec::new(),
        appended: Appended::default(),
        log_heads: HashMap::new(),
        log_heads_undo: Vec::new(),
    };
    let mut replies: Vec<Reply> = Vec::with_capacity(size);
    let mut taken = batch.drain(..);
    // Once: the jobs queued by the time the batch's own have run, not
    // those that keep arriving while these run (with few clients, a batch
    // that kept growing would only hold back every answer in it).
    let mut late: Option<usize> = None;
    loop {
        let next = match taken.next() {
            Some(job) => Some(job),
            None => {
                let left = late
                    .get_or_insert_with(|| queued.len().min(batch_len_max.saturating_sub(size)));
                if *left == 0 {
                    None
                } else {
                    *left -= 1;
                    queued.try_recv().ok().inspect(|_| size += 1)
                }
            }
        };
        let Some(Job { work, savepoint }) = next else {
            break;
        };
        let mark = ctx.mark();
        let half_done = if savepoint {
            run_in_savepoint(&mut ctx, work, mark, &mut replies);
            false
        } else {
            run_without_savepoint(&mut ctx, work, mark, &mut replies)
        };
        if half_done {
            // Nothing to roll the job back to alone. The jobs not yet run
            // are dropped, which their callers see as the writer failing.
            tracing::error!(
                size,
                "a write job without a savepoint failed after changing the store; the whole batch is refused"
            );
            metrics::counter!("piazza_commit_failures_total").increment(1);
            let _ = conn.execute_batch("ROLLBACK");
            refuse(replies, "a job failed half done; the batch was rolled back");
            return;
        }
        if conn.is_autocommit() {
            // SQLite ended the transaction itself (disk full, I/O error):
            // what the earlier jobs did is gone. Refuse the whole batch
            // rather than let a later savepoint commit on its own. The
            // jobs not yet run are dropped, which their callers see as the
            // writer failing.
            tracing::error!(
                size,
                "the write transaction was lost; the whole batch is refused"
            );
            metrics::counter!("piazza_commit_failures_total").increment(1);
            refuse(replies, "the write transaction was lost");
            return;
        }
    }
    if let Err(error) = ctx.write_log_heads() {
        tracing::error!(%error, size, "storing the log heads failed; the whole batch is refused");
        metrics::counter!("piazza_commit_failures_total").increment(1);
        let _ = conn.execute_batch("ROLLBACK");
        refuse(replies, "storing the log heads failed");
        return;
    }
    let notices = std::mem::take(&mut ctx.notices);
    let moved = mover.move_beyond_keep(conn, &ctx.appended);
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            mover.committed(moved);
            metrics::counter!("piazza_commits_total").increment(1);
            metrics::histogram!("piazza_commit_batch_size").record(size as f64);
            metrics::histogram!("piazza_commit_seconds").record(started.elapsed().as_secs_f64());
            for reply in replies {
                reply(Ok(()));
            }
            if !notices.is_empty() {
                sink.notify(notices);
            }
        }
        Err(error) => {
            tracing::error!(%error, size, "commit failed; the whole batch is refused");
            metrics::counter!("piazza_commit_failures_total").increment(1);
            let _ = conn.execute_batch("ROLLBACK");
            mover.forget();
            refuse(replies, "commit failed");
        }
    }
}

/// Runs a job in a savepoint: a failure rolls back its changes alone.
fn run_in_savepoint(ctx: &mut WriteCtx<'_>, work: Work, mark: Mark, replies: &mut Vec<Reply>) {
    let conn = ctx.conn;
    if let Err(error) = run_cached(conn, "SAVEPOINT job") {
        tracing::error!(%error, "cannot open a savepoint");
        return;
    }
    match catch_unwind(AssertUnwindSafe(|| work(ctx))) {
        Ok((true, reply)) => {
            let _ = run_cached(conn, "RELEASE job");
            replies.push(reply);
        }
        Ok((false, reply)) => {
            let _ =
                run_cached(conn, "ROLLBACK TO job").and_then(|()| run_cached(conn, "RELEASE job"));
            ctx.rewind(mark);
            replies.push(reply);
        }
        Err(_) => {
            // The job panicked: undo it and drop its reply, which its
            // caller sees as the writer failing that one request.
            tracing::error!("a write job panicked; its changes were rolled back");
            let _ =
                run_cached(conn, "ROLLBACK TO job").and_then(|()| run_cached(conn, "RELEASE job"));
            ctx.rewind(mark);
        }
    }
}

/// Runs a job that refuses before it changes anything. True if it failed
/// after changing something: then its reply is in `replies` and the batch
/// must be rolled back whole.
fn run_without_savepoint(
    ctx: &mut WriteCtx<'_>,
    work: Work,
    mark: Mark,
    replies: &mut Vec<Reply>,
) -> bool {
    // Rows inserted, updated or deleted on this connection so far.
    let changes = ctx.conn.total_changes();
    let outcome = catch_unwind(AssertUnwindSafe(|| work(ctx)));
    let failed = !matches!(outcome, Ok((true, _)));
    let half_done = failed && ctx.conn.total_changes() != changes;
    if failed {
        ctx.rewind(mark);
    }
    match outcome {
        Ok((_, reply)) => replies.push(reply),
        Err(_) if half_done => {}
        Err(_) => tracing::error!("a write job panicked before changing anything"),
    }
    half_done
}

/// Answers every job of a batch that did not commit with an error.
fn refuse(replies: Vec<Reply>, why: &str) {
    for reply in replies {
        reply(Err(Error::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR),
            Some(why.to_owned()),
        ))));
    }
}

/// Runs a statement that is executed for every job, parsed once.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

#[cfg(test)]
mod tests {
    use crate::test_support::Nobody;
    use std::sync::Arc;

    use piazza_domain::Rejection;

    use crate::error::{Error, Result};
    use crate::{SqliteStore, StoreOptions};

    #[tokio::test]
    async fn a_job_without_a_savepoint_that_fails_half_done_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap();
        let writer = &store.writer;
        writer
            .run(|ctx| Ok(ctx.conn.execute_batch("CREATE TABLE t (x INTEGER)")?))
            .await
            .unwrap();
        let rows = || async {
            writer
                .run(|ctx| {
                    let mut statement = ctx.conn.prepare("SELECT x FROM t ORDER BY x")?;
                    let rows = statement.query_map([], |row| row.get::<_, i64>(0))?;
                    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
                })
                .await
                .unwrap()
        };

        // Refused before any change: nothing to undo, the refusal comes back.
        let refused = writer
            .run_refusing_first(|_| -> Result<()> { Err(Rejection::InsufficientFunds.into()) })
            .await;
        assert!(matches!(
            refused,
            Err(Error::Rejected(Rejection::InsufficientFunds))
        ));

        // Failing after a change, beside a job with a savepoint: the
        // failing one's row never shows, whichever batch each landed in,
        // and the other's row is there exactly when it was acknowledged.
        let half_done = writer.run_refusing_first(|ctx| -> Result<()> {
            ctx.conn.execute("INSERT INTO t VALUES (1)", [])?;
            Err(Error::Corrupt("failing on purpose".into()))
        });
        let beside = writer.run(|ctx| Ok(ctx.conn.execute("INSERT INTO t VALUES (2)", [])?));
        let (half_done, beside) = tokio::join!(half_done, beside);
        assert!(half_done.is_err());
        let expected = if beside.is_ok() { vec![2] } else { vec![] };
        assert_eq!(rows().await, expected);

        // The writer goes on.
        writer
            .run_refusing_first(|ctx| Ok(ctx.conn.execute("INSERT INTO t VALUES (3)", [])?))
            .await
            .unwrap();
        assert!(rows().await.ends_with(&[3]));
        store.shut_down();
    }

    #[tokio::test]
    async fn a_job_queued_while_a_batch_runs_joins_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap(),
        );
        let slow = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .writer
                    .run(|ctx| {
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        Ok(ctx.now)
                    })
                    .await
                    .unwrap()
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        // Queued while the slow job runs: it runs in the same batch (one
        // batch, one clock) instead of waiting for the next commit.
        let late = store.writer.run(|ctx| Ok(ctx.now)).await.unwrap();
        assert_eq!(slow.await.unwrap(), late);
        store.shut_down();
    }

    #[tokio::test]
    async fn log_seqs_handed_out_by_undone_work_are_handed_out_again() {
        use piazza_domain::LogSeq;
        use piazza_domain::event::Event;

        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap();
        let ann = crate::test_support::account(&store, "ann").await;
        let entry = move || Event::ContactRemoved {
            account_id: ann,
            contact: Default::default(),
        };
        // In one job: an entry, one undone with its refused part, another.
        let seqs = store
            .writer
            .run(move |ctx| {
                let first = ctx.append_log(ann, entry())?;
                let refused = ctx.refusable(|ctx| -> Result<()> {
                    ctx.append_log(ann, entry())?;
                    Err(Rejection::InsufficientFunds.into())
                })?;
                assert!(refused.is_err());
                let second = ctx.append_log(ann, entry())?;
                Ok((first, second))
            })
            .await
            .unwrap();
        assert_eq!((seqs.0.get(), seqs.1.get()), (1, 2));
        // A whole job undone, then another.
        let undone = store
            .writer
            .run(move |ctx| -> Result<()> {
                ctx.append_log(ann, entry())?;
                Err(Rejection::InsufficientFunds.into())
            })
            .await;
        assert!(undone.is_err());
        let third = store
            .writer
            .run(move |ctx| ctx.append_log(ann, entry()))
            .await
            .unwrap();
        assert_eq!(third.get(), 3);
        let page = crate::test_support::log_after(&store, ann, LogSeq::START, 10)
            .await
            .unwrap();
        let seqs: Vec<i64> = page.entries.iter().map(|entry| entry.seq.get()).collect();
        assert_eq!(seqs, [1, 2, 3]);
        store.shut_down();
        let conn = rusqlite::Connection::open(dir.path().join(crate::DATABASE_FILE)).unwrap();
        let report = crate::integrity::check(&conn).unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
    }
}
