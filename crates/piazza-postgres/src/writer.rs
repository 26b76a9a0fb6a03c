//! The writers: threads that each own one connection, take the jobs
//! waiting in the queue (up to `batch_len_max`), run them in one
//! transaction, COMMIT once, and only then answer each job and hand the
//! batch's notices to the live hub — SQLite's group commit, on
//! PostgreSQL. A job runs *buffered* (its reads from the batch's cache,
//! its writes kept for the flush; `batch.rs`), stops when it misses
//! something (the jobs after it are then run in *discovery* to learn what
//! they will miss too, and it is all fetched at once), or runs *direct*
//! in a savepoint of its own when it makes a statement of its own. A job
//! that breaks a rule is taken back alone. A batch that conflicts with
//! another transaction (a deadlock, a serialization failure, a row moved
//! by another process) is rolled back whole and run again: jobs are
//! `FnMut` for that.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use piazza_core::engine::{Committed, Done, Lane, Read, Tx, WriteJob};
use piazza_core::{Error, Result};
use piazza_domain::event::{Event, LogEntry, Notice};
use piazza_domain::store::{NoticeSink, PinPolicy};
use piazza_domain::{AccountId, LogSeq, Rejection, Timestamp};
use tokio::sync::{mpsc, oneshot};

use crate::Db;
use crate::batch::Mode;
use crate::conn::Conn;

/// What a job sees: the open transaction of its batch.
pub struct PgTx<'c> {
    pub(crate) db: Db<'c>,
    now: Timestamp,
    pin_policy: PinPolicy,
    notices: Vec<Notice>,
    /// Savepoints open inside the job (`refusable_part`), for their names.
    depth: usize,
    health: &'c crate::Health,
}

impl PgTx<'_> {
    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.db.0
    }
}

impl Tx for PgTx<'_> {
    fn now(&self) -> Timestamp {
        self.now
    }

    fn pin_policy(&self) -> PinPolicy {
        self.pin_policy
    }

    fn money_halted(&self) -> bool {
        self.health.money_halted()
    }

    fn reads(&mut self) -> &mut dyn Read {
        &mut self.db
    }

    fn append_log(&mut self, account: AccountId, event: Event) -> Result<LogSeq> {
        let seq = crate::log::append(self.db.0, account, &event, self.now)?;
        self.notices.push(Notice::Logged(Arc::new(LogEntry {
            account,
            seq,
            at: self.now,
            event,
        })));
        Ok(seq)
    }

    fn will_append(&mut self, accounts: &[AccountId]) -> Result<()> {
        let rows: Vec<i64> = accounts.iter().map(|account| account.row()).collect();
        self.db.0.log_heads_locked(&rows)
    }

    fn notice(&mut self, notice: Notice) {
        self.notices.push(notice);
    }

    fn refusable_part(
        &mut self,
        effect: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<std::result::Result<(), Rejection>> {
        let notices = self.notices.len();
        if self.db.0.batch_mut().mode != Mode::Direct {
            // Buffered, the part has run no statement of its own (one
            // would have stopped the job): the batch's journal and its
            // pending rows take a refused part back without a round trip.
            let mark = self.db.0.batch_mut().mark();
            return match effect(self) {
                Ok(()) => Ok(Ok(())),
                Err(Error::Rejected(rejection)) => {
                    self.db.0.batch_mut().undo(mark);
                    self.notices.truncate(notices);
                    Ok(Err(rejection))
                }
                Err(other) => Err(other),
            };
        }
        let name = format!("part_{}", self.depth);
        // Direct, the part's statements may have run: a savepoint takes
        // them back, after what the batch kept pending is written.
        self.db.0.batch(&format!("SAVEPOINT {name}"))?;
        let mark = self.db.0.batch_mut().mark();
        self.depth += 1;
        let outcome = effect(self);
        self.depth -= 1;
        match outcome {
            Ok(()) => {
                self.db.0.batch(&format!("RELEASE SAVEPOINT {name}"))?;
                Ok(Ok(()))
            }
            Err(Error::Rejected(rejection)) => {
                self.db.0.raw_batch(&format!(
                    "ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"
                ))?;
                self.db.0.batch_mut().undo(mark);
                self.notices.truncate(notices);
                Ok(Err(rejection))
            }
            Err(other) => Err(other),
        }
    }
}

struct Job {
    work: WriteJob,
    reply: oneshot::Sender<Result<Done>>,
}

/// How the writers batch and retry.
#[derive(Debug, Clone, Copy)]
pub struct WriterLimits {
    /// Writer threads, each with its own connection and queue. A job
    /// goes to its lane's writer (`Lane`), so the jobs of one lane (a
    /// socket's pipelined sends to one conversation) commit in the order
    /// they were queued; two writers keep both of this box's cores busy,
    /// one in PostgreSQL while the other's batch is being run.
    pub writers: usize,
    pub queue_len_max: usize,
    pub batch_len_max: usize,
    /// Times a conflicting batch is run again before its jobs fail.
    pub conflict_retries: u32,
}

impl Default for WriterLimits {
    fn default() -> WriterLimits {
        WriterLimits {
            writers: 2,
            queue_len_max: 16_384,
            // A batch of sends costs a few round trips whatever its size
            // (`batch.rs`); direct jobs are capped per transaction apart.
            batch_len_max: 1_024,
            conflict_retries: 8,
        }
    }
}

pub struct Writers {
    /// One queue per writer; `None` once shutting down.
    queues: Mutex<Option<Vec<mpsc::Sender<Job>>>>,
    /// The writer of the next job of [`Lane::Any`].
    next: AtomicUsize,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Writers {
    /// Starts the writers on connections already open, one each.
    pub fn start(
        conns: Vec<Conn>,
        url: String,
        sink: Arc<dyn NoticeSink>,
        limits: WriterLimits,
        pin_policy: PinPolicy,
        health: Arc<crate::Health>,
    ) -> Writers {
        let queue_len = (limits.queue_len_max / conns.len().max(1)).max(1);
        let turn = Arc::new(Mutex::new(()));
        let mut queues = Vec::new();
        let threads = conns
            .into_iter()
            .enumerate()
            .map(|(index, conn)| {
                let (sender, receiver) = mpsc::channel(queue_len);
                queues.push(sender);
                let writer = Writer {
                    index,
                    conn: conn.for_writer(),
                    url: url.clone(),
                    jobs: receiver,
                    sink: Arc::clone(&sink),
                    turn: Arc::clone(&turn),
                    limits,
                    pin_policy,
                    health: Arc::clone(&health),
                    xid: None,
                };
                std::thread::Builder::new()
                    .name(format!("piazza-pg-writer-{index}"))
                    .spawn(move || writer.run())
                    .expect("cannot start a writer thread")
            })
            .collect();
        Writers {
            queues: Mutex::new(Some(queues)),
            next: AtomicUsize::new(0),
            threads: Mutex::new(threads),
        }
    }

    /// Queues `work` with the writer of `lane`; resolves once queued, to
    /// the future of its commit.
    pub async fn queue(&self, lane: Lane, work: WriteJob) -> Result<Committed> {
        let sender = {
            let queues = self.queues.lock().expect("writer lock");
            let queues = queues.as_ref().ok_or_else(stopped)?;
            let index = match lane {
                Lane::Any => self.next.fetch_add(1, Ordering::Relaxed),
                // Fibonacci hashing: neighbouring keys (a pair's
                // conversations, made one after another) spread evenly.
                Lane::Of(key) => (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize,
            };
            queues[index % queues.len()].clone()
        };
        let (reply, answer) = oneshot::channel();
        sender
            .send(Job { work, reply })
            .await
            .map_err(|_| stopped())?;
        Ok(Box::pin(
            async move { answer.await.map_err(|_| stopped())? },
        ))
    }

    /// How many writers there are (their threads, while running).
    pub fn count(&self) -> usize {
        self.threads.lock().expect("writer lock").len()
    }

    pub fn is_running(&self) -> bool {
        self.queues.lock().expect("writer lock").is_some()
            && self
                .threads
                .lock()
                .expect("writer lock")
                .iter()
                .all(|thread| !thread.is_finished())
    }

    /// Finishes the jobs already queued, then stops the writers.
    pub fn shut_down(&self) {
        self.queues.lock().expect("writer lock").take();
        for thread in self.threads.lock().expect("writer lock").drain(..) {
            let _ = thread.join();
        }
    }
}

fn stopped() -> Error {
    Error::Engine("the writer has stopped".into())
}

struct Writer {
    /// Its place among the process's writers.
    index: usize,
    conn: Conn,
    url: String,
    jobs: mpsc::Receiver<Job>,
    sink: Arc<dyn NoticeSink>,
    /// Held by the writer that commits, until it has told the sink: one
    /// account's log entries reach the sink in their order whichever
    /// writers made them (the second waited on the first's row lock, so
    /// it also commits after it). A batch settled after a lost COMMIT
    /// (`settle`) tells the sink late, out of that order: a socket that
    /// sees a later position first reads the gap from the store.
    turn: Arc<Mutex<()>>,
    limits: WriterLimits,
    pin_policy: PinPolicy,
    health: Arc<crate::Health>,
    /// The open transaction's id, for asking what became of it when its
    /// COMMIT loses the connection; set by each `attempt`'s BEGIN.
    xid: Option<i64>,
}

/// A batch whose COMMIT failed, with what it would have answered.
struct Uncommitted {
    jobs: Vec<Job>,
    answers: Vec<Result<Done>>,
    notices: Vec<Notice>,
    failure: Error,
    /// Whether it may have committed all the same (`Conn::commit`).
    in_doubt: bool,
}

/// How long a writer that lost its connection in a COMMIT tries to learn
/// whether the transaction committed, reconnecting included.
const IN_DOUBT_PATIENCE: Duration = Duration::from_secs(10);
/// How long a transaction still in progress after its COMMIT was lost
/// is left to finish before its old backend is ended: the COMMIT may sit
/// unread in that backend's socket.
const IN_PROGRESS_GRACE: Duration = Duration::from_secs(1);

impl Writer {
    fn run(mut self) {
        while let Some(batch) = self.next_batch() {
            self.commit(batch);
        }
    }

    /// The next batch: waits for one job, then takes what else waits.
    fn next_batch(&mut self) -> Option<Vec<Job>> {
        let first = self.jobs.blocking_recv()?;
        let mut batch = vec![first];
        while batch.len() < self.limits.batch_len_max {
            match self.jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        Some(batch)
    }

    /// Runs `batch` until it commits (or fails), then answers each job.
    fn commit(&mut self, mut batch: Vec<Job>) {
        let mut attempt = 0;
        loop {
            match self.attempt(&mut batch, attempt) {
                Ok((answers, notices)) => {
                    let rest = batch.split_off(answers.len());
                    if let Err(uncommitted) = self.commit_in_turn(batch, answers, notices) {
                        self.settle(uncommitted);
                    }
                    if rest.is_empty() {
                        return;
                    }
                    (batch, attempt) = (rest, 0);
                }
                Err(Error::Conflict(why)) if attempt < self.limits.conflict_retries => {
                    attempt += 1;
                    tracing::debug!(attempt, %why, "a batch conflicted; running it again");
                    std::thread::sleep(backoff(attempt, self.index));
                }
                Err(failure) => return self.fail(batch, &failure),
            }
        }
    }

    /// COMMITs the open transaction, answers `jobs` and hands `notices`
    /// to the hub, in the writers' turn; a failed COMMIT hands it all
    /// back with why, out of turn.
    fn commit_in_turn(
        &mut self,
        jobs: Vec<Job>,
        answers: Vec<Result<Done>>,
        notices: Vec<Notice>,
    ) -> std::result::Result<(), Uncommitted> {
        let turn = Arc::clone(&self.turn);
        // A sink that panicked poisoned nothing the turn guards.
        let _turn = turn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err((failure, in_doubt)) = self.conn.commit() {
            return Err(Uncommitted {
                jobs,
                answers,
                notices,
                failure,
                in_doubt,
            });
        }
        self.xid = None;
        self.answer(jobs, answers, notices);
        Ok(())
    }

    fn answer(&self, jobs: Vec<Job>, answers: Vec<Result<Done>>, notices: Vec<Notice>) {
        for (job, answer) in jobs.into_iter().zip(answers) {
            let _ = job.reply.send(answer);
        }
        if !notices.is_empty() {
            self.sink.notify(notices);
        }
    }

    /// After a failed COMMIT. One that PostgreSQL answered with an error
    /// rolled back. One that lost its connection (the database restarting,
    /// a failover, the network) may have committed all the same: the
    /// answer was lost, not necessarily the commit. Then the writer
    /// connects again and asks what became of the transaction, within
    /// [`IN_DOUBT_PATIENCE`], and answers its jobs as stored if it
    /// committed; as unavailable (503) if it did not, or if it cannot tell
    /// (said in the log: a retry with the same keys will tell).
    fn settle(&mut self, uncommitted: Uncommitted) {
        let Uncommitted {
            jobs,
            answers,
            notices,
            failure,
            in_doubt,
        } = uncommitted;
        let xid = self.xid.take();
        let committed = match (in_doubt, xid) {
            (false, _) => Some(false),
            (true, None) => None,
            (true, Some(xid)) => self.learn(xid),
        };
        match committed {
            Some(true) => {
                tracing::warn!(
                    xid,
                    jobs = jobs.len(),
                    "a batch committed though its COMMIT lost the connection: answered as stored"
                );
                let turn = Arc::clone(&self.turn);
                let _turn = turn
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                self.answer(jobs, answers, notices);
            }
            Some(false) => self.fail(jobs, &failure),
            None => {
                tracing::error!(
                    xid,
                    jobs = jobs.len(),
                    "cannot tell whether a batch committed: its jobs are answered unavailable, and their retries with the same keys will tell"
                );
                self.fail(jobs, &failure);
            }
        }
    }

    /// Connects again and asks whether transaction `xid` committed, both
    /// within [`IN_DOUBT_PATIENCE`] (`None`: cannot tell). One still in
    /// progress belongs to the connection that was lost, whose backend
    /// may not have read the COMMIT yet: it is given [`IN_PROGRESS_GRACE`],
    /// then ended if it is still that transaction's and idle in it.
    ///
    /// After a crash of PostgreSQL itself in which the COMMIT's record
    /// never reached disk, the same xid may be handed out again, and the
    /// status read is then another transaction's: a window accepted here
    /// and written down in RELIABILITY.md. A fast or smart shutdown
    /// checkpoints past every xid handed out, and leaves none.
    fn learn(&mut self, xid: i64) -> Option<bool> {
        let backend = self.conn.backend;
        let started = std::time::Instant::now();
        if self.conn.is_closed() && !self.reconnect_within(IN_DOUBT_PATIENCE) {
            return None;
        }
        let mut ended = false;
        while started.elapsed() < IN_DOUBT_PATIENCE {
            match self.conn.raw_value(&format!("SELECT txid_status({xid})")) {
                Ok(Some(status)) if status == "committed" => return Some(true),
                Ok(Some(status)) if status == "aborted" => return Some(false),
                Ok(Some(_in_progress)) => {
                    if let (Some(backend), false) = (backend, ended)
                        && started.elapsed() > IN_PROGRESS_GRACE
                    {
                        // `backend_xid` is the 32-bit xid; `xid` carries its epoch.
                        let end = format!(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE pid = {backend} AND backend_xid::text = '{}' \
                             AND state = 'idle in transaction'",
                            xid & 0xffff_ffff
                        );
                        ended = self.conn.raw_value(&end).is_ok();
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                // Too old for PostgreSQL to remember, or no answer at all.
                Ok(None) | Err(_) => return None,
            }
        }
        None
    }

    /// Answers every job of a batch that did not commit.
    fn fail(&mut self, batch: Vec<Job>, failure: &Error) {
        tracing::warn!(%failure, jobs = batch.len(), "a batch did not commit");
        for job in batch {
            let _ = job.reply.send(Err(match failure {
                Error::Conflict(why) => Error::Conflict(why.clone()),
                other => Error::Engine(other.to_string()),
            }));
        }
        if self.conn.is_closed() {
            self.reconnect();
        }
    }

    /// Connects again, pausing longer between tries up to
    /// `RECONNECT_PAUSE_MS_MAX` (a database restarting is not hammered, and
    /// is written to again within that much of its return); says so in
    /// the log at the first try and every `RECONNECT_LOG_EVERY`th. Jobs
    /// queued meanwhile are answered at once (unavailable: the caller
    /// answers 503) rather than kept waiting for the database; when the
    /// queue closes (shutdown), it stops trying.
    fn reconnect(&mut self) {
        self.reconnect_within(Duration::MAX);
    }

    /// [`Writer::reconnect`], giving up after `patience`: whether it is
    /// connected.
    fn reconnect_within(&mut self, patience: Duration) -> bool {
        let started = std::time::Instant::now();
        for attempt in 1u32.. {
            loop {
                match self.jobs.try_recv() {
                    Ok(job) => {
                        let unreachable = Error::Engine("PostgreSQL cannot be reached".into());
                        let _ = job.reply.send(Err(unreachable));
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return false,
                }
            }
            match Conn::connect(&self.url) {
                Ok(conn) => {
                    self.conn = conn.for_writer();
                    if attempt > 1 {
                        tracing::info!(attempt, "a writer reconnected to PostgreSQL");
                    }
                    return true;
                }
                Err(error) => {
                    if attempt % RECONNECT_LOG_EVERY == 1 {
                        tracing::warn!(%error, attempt, "cannot reconnect a writer to PostgreSQL");
                    }
                    if started.elapsed() >= patience {
                        return false;
                    }
                    let pause = (5u64 << attempt.min(5)).min(RECONNECT_PAUSE_MS_MAX);
                    std::thread::sleep(Duration::from_millis(pause) + backoff(1, self.index));
                }
            }
        }
        false
    }

    /// One try at the batch, in one transaction (`batch.rs` says how its
    /// jobs read and write), left open for COMMIT. Answers the jobs it
    /// ran; those it left (too many direct jobs for one transaction) wait
    /// for the next batch.
    fn attempt(
        &mut self,
        jobs: &mut [Job],
        retry: u32,
    ) -> Result<(Vec<Result<Done>>, Vec<Notice>)> {
        let started = std::time::Instant::now();
        self.conn.batch_mut().reset();
        // The transaction's id comes in the same round trip: it is needed
        // only if the COMMIT loses its connection (`settle`).
        let xid = self.conn.raw_value(&format!(
            "BEGIN; SET LOCAL lock_timeout = '{}ms'; SELECT txid_current()",
            lock_timeout_ms(retry)
        ))?;
        self.xid = xid.and_then(|xid| xid.parse().ok());
        let mut run = Attempt {
            conn: &mut self.conn,
            now: Timestamp::now(),
            pin_policy: self.pin_policy,
            health: &self.health,
            answers: Vec::with_capacity(jobs.len()),
            notices: Vec::new(),
            savepoints: 0,
            fetches: 0,
        };
        let outcome = run.all(jobs).and_then(|()| {
            let ran = started.elapsed();
            crate::batch::flush(run.conn)?;
            tracing::debug!(
                jobs = run.answers.len(),
                fetches = run.fetches,
                direct = run.savepoints,
                ran_us = ran.as_micros() as u64,
                flush_us = (started.elapsed() - ran).as_micros() as u64,
                "a batch is ready to commit"
            );
            Ok(())
        });
        let (answers, notices) = (run.answers, run.notices);
        self.conn.batch_mut().reset();
        if let Err(failed) = outcome {
            let _ = self.conn.raw_batch("ROLLBACK");
            return Err(failed);
        }
        Ok((answers, notices))
    }
}

/// A batch's jobs being run in its transaction.
struct Attempt<'c> {
    conn: &'c mut Conn,
    now: Timestamp,
    pin_policy: PinPolicy,
    health: &'c crate::Health,
    answers: Vec<Result<Done>>,
    notices: Vec<Notice>,
    /// Savepoints taken, one per direct job: PostgreSQL keeps 64
    /// subtransactions per transaction in shared memory, and past that
    /// every snapshot of every session looks them up on disk.
    savepoints: usize,
    /// Rounds of fetching misses, for the batch's trace.
    fetches: usize,
}

/// Direct jobs one transaction takes: below PostgreSQL's 64, with room
/// for a refusable part's savepoint in each.
const SAVEPOINTS_MAX: usize = 30;

/// Jobs after a stopped one run in discovery: enough for a batch's
/// sends to be fetched in a few rounds, few enough that a batch of direct
/// jobs (cut every 30) does not discover, and lock, a thousand jobs'
/// rows each time.
const DISCOVERY_AHEAD: usize = 256;

/// Runs of one job that stop to fetch before it runs direct: a send or
/// a transfer stops about five times.
const STOPS_MAX: u32 = 8;

/// How one run of a job ended.
enum Ran {
    Done(Result<Done>, Vec<Notice>),
    /// It stopped on a miss or a statement of its own.
    Stopped,
}

impl Attempt<'_> {
    /// Runs the jobs in order, each buffered (direct if it must), until
    /// all have answered or the transaction has taken its savepoints.
    fn all(&mut self, jobs: &mut [Job]) -> Result<()> {
        let mut stops = 0;
        while self.answers.len() < jobs.len() && self.savepoints < SAVEPOINTS_MAX {
            let index = self.answers.len();
            if stops > STOPS_MAX {
                // A job that loops over many rows (a group of 500 made,
                // each a contact) would stop once per row: it runs direct,
                // each miss fetched as it comes.
                self.direct(&mut jobs[index], index)?;
                stops = 0;
                continue;
            }
            let mark = self.conn.batch_mut().start_job(Mode::Buffered, index);
            match self.run(&mut jobs[index])? {
                Ran::Done(answer, notices) => {
                    if answer.is_err() {
                        self.conn.batch_mut().undo(mark);
                    }
                    self.answered(answer, notices);
                    stops = 0;
                }
                Ran::Stopped => {
                    stops += 1;
                    self.conn.batch_mut().undo(mark);
                    let batch = self.conn.batch_mut();
                    let direct = std::mem::take(&mut batch.misses.direct);
                    if !batch.misses.is_empty() {
                        let ahead = (index + 1 + DISCOVERY_AHEAD).min(jobs.len());
                        self.discover(&mut jobs[index + 1..ahead], index + 1);
                        self.conn.fetch_misses()?;
                        self.fetches += 1;
                    } else if direct {
                        self.direct(&mut jobs[index], index)?;
                        stops = 0;
                    } else {
                        return Err(Error::Engine("a job stopped for nothing".into()));
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs a job once; a conflict ends the attempt.
    fn run(&mut self, job: &mut Job) -> Result<Ran> {
        let mut tx = PgTx {
            db: Db(self.conn),
            now: self.now,
            pin_policy: self.pin_policy,
            notices: Vec::new(),
            depth: 0,
            health: self.health,
        };
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| (job.work)(&mut tx)));
        let ran = ran.unwrap_or_else(|_| Err(Error::Engine("a write job panicked".into())));
        match ran {
            Err(Error::Fetching) => Ok(Ran::Stopped),
            Err(Error::Conflict(why)) => Err(Error::Conflict(why)),
            answer => Ok(Ran::Done(answer, tx.notices)),
        }
    }

    fn answered(&mut self, answer: Result<Done>, mut notices: Vec<Notice>) {
        if answer.is_ok() {
            self.notices.append(&mut notices);
        }
        self.answers.push(answer);
    }

    /// Runs `jobs` only to learn what they will ask, taking back what
    /// they change: the next fetch brings it for them too.
    fn discover(&mut self, jobs: &mut [Job], first: usize) {
        for (index, job) in (first..).zip(jobs) {
            let mark = self.conn.batch_mut().start_job(Mode::Discovery, index);
            let _ = self.run(job);
            self.conn.batch_mut().undo(mark);
        }
    }

    /// Runs a job in a savepoint of its own, after the earlier jobs'
    /// writes: its statements run as it makes them. A refusal rolls back
    /// to the savepoint. The savepoint is released when the next direct
    /// job takes its own, or by COMMIT.
    fn direct(&mut self, job: &mut Job, index: usize) -> Result<()> {
        crate::batch::flush(self.conn)?;
        let open = if self.savepoints == 0 {
            "SAVEPOINT job"
        } else {
            "RELEASE SAVEPOINT job; SAVEPOINT job"
        };
        self.conn.raw_batch(open)?;
        self.savepoints += 1;
        let mark = self.conn.batch_mut().start_job(Mode::Direct, index);
        match self.run(job)? {
            Ran::Done(Ok(done), notices) => self.answered(Ok(done), notices),
            Ran::Done(Err(refused), notices) => {
                self.conn.raw_batch("ROLLBACK TO SAVEPOINT job")?;
                self.conn.batch_mut().undo(mark);
                self.answered(Err(refused), notices);
            }
            Ran::Stopped => {
                return Err(Error::Engine("a direct job stopped to fetch".into()));
            }
        }
        Ok(())
    }
}

/// The longest pause between two tries at reconnecting a writer.
const RECONNECT_PAUSE_MS_MAX: u64 = 100;
/// A failed reconnection is logged once in this many tries (about 5 s).
const RECONNECT_LOG_EVERY: u32 = 50;

/// How long a batch waits for a row another transaction holds, by how
/// many times it has conflicted: 100 ms, doubling to 12.8 s. Batches lock
/// their rows in rounds, so two processes' batches (or two writers' whose
/// lanes share a row) can deadlock; PostgreSQL would break that only after
/// `deadlock_timeout` (1 s by default, settable by a superuser alone).
/// A batch of ours holds its locks for tens of milliseconds, so a first
/// wait past 100 ms is most likely a deadlock: the batch gives up (a
/// conflict), and runs again after a pause, waiting longer each time so
/// that a long transaction elsewhere is waited out rather than failed.
fn lock_timeout_ms(retry: u32) -> u64 {
    100 << retry.min(7)
}

/// A short, growing, jittered pause before running a conflicting batch
/// again, so that two writers that deadlocked (two processes', or one
/// process's two) do not meet again at once.
fn backoff(attempt: u32, writer: usize) -> Duration {
    let seed = std::process::id() ^ (writer as u32).wrapping_mul(40_503);
    let jitter = u64::from(seed ^ attempt.wrapping_mul(2_654_435_761)) % 5;
    Duration::from_millis(u64::from(attempt) * 2 + jitter)
}
