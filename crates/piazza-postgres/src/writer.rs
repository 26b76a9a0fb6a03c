//! The writers: threads that each own one connection, take the jobs
//! waiting in the queue (up to `batch_len_max`), run each inside its own
//! savepoint of one transaction, COMMIT once, and only then answer each
//! job and hand the batch's notices to the live hub — SQLite's group
//! commit, on PostgreSQL. A job that breaks a rule rolls back to its
//! savepoint and fails alone. A batch that conflicts with another
//! transaction (a deadlock, a serialization failure, from this process or
//! another) is rolled back whole and run again: jobs are `FnMut` for that.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use piazza_core::engine::{Committed, Done, Read, Tx, WriteJob};
use piazza_core::{Error, Result};
use piazza_domain::event::{Event, LogEntry, Notice};
use piazza_domain::store::{NoticeSink, PinPolicy};
use piazza_domain::{AccountId, LogSeq, Rejection, Timestamp};
use tokio::sync::{mpsc, oneshot};

use crate::Db;
use crate::conn::Conn;

/// What a job sees: the open transaction of its batch.
pub struct PgTx<'c> {
    pub(crate) db: Db<'c>,
    now: Timestamp,
    pin_policy: PinPolicy,
    notices: Vec<Notice>,
    /// Savepoints open inside the job (`refusable_part`), for their names.
    depth: usize,
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
        false
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

    fn notice(&mut self, notice: Notice) {
        self.notices.push(notice);
    }

    fn refusable_part(
        &mut self,
        effect: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<std::result::Result<(), Rejection>> {
        let (name, notices) = (format!("part_{}", self.depth), self.notices.len());
        self.db.0.batch(&format!("SAVEPOINT {name}"))?;
        self.depth += 1;
        let outcome = effect(self);
        self.depth -= 1;
        match outcome {
            Ok(()) => {
                self.db.0.batch(&format!("RELEASE SAVEPOINT {name}"))?;
                Ok(Ok(()))
            }
            Err(Error::Rejected(rejection)) => {
                self.db.0.batch(&format!(
                    "ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"
                ))?;
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
    /// Writer threads, each with its own connection. One keeps the jobs
    /// one caller queues in the order it queued them (a socket's
    /// pipelined sends); several interleave them.
    pub writers: usize,
    pub queue_len_max: usize,
    pub batch_len_max: usize,
    /// Times a conflicting batch is run again before its jobs fail.
    pub conflict_retries: u32,
}

impl Default for WriterLimits {
    fn default() -> WriterLimits {
        WriterLimits {
            writers: 1,
            queue_len_max: 16_384,
            // PostgreSQL keeps the ids of 64 subtransactions (our savepoint
            // per job) per transaction in shared memory; past that every
            // snapshot of every session must look them up on disk, and a
            // batch of 1,024 sends ran ~5x slower than batches of 64.
            batch_len_max: 64,
            conflict_retries: 8,
        }
    }
}

pub struct Writers {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Writers {
    /// Starts the writers on connections already open.
    pub fn start(
        conns: Vec<Conn>,
        url: String,
        sink: Arc<dyn NoticeSink>,
        limits: WriterLimits,
        pin_policy: PinPolicy,
    ) -> Writers {
        let (sender, receiver) = mpsc::channel(limits.queue_len_max);
        let receiver = Arc::new(Mutex::new(receiver));
        let threads = conns
            .into_iter()
            .enumerate()
            .map(|(index, conn)| {
                let writer = Writer {
                    conn,
                    url: url.clone(),
                    jobs: Arc::clone(&receiver),
                    sink: Arc::clone(&sink),
                    limits,
                    pin_policy,
                };
                std::thread::Builder::new()
                    .name(format!("piazza-pg-writer-{index}"))
                    .spawn(move || writer.run())
                    .expect("cannot start a writer thread")
            })
            .collect();
        Writers {
            jobs: Mutex::new(Some(sender)),
            threads: Mutex::new(threads),
        }
    }

    /// Queues `work`; resolves once queued, to the future of its commit.
    pub async fn queue(&self, work: WriteJob) -> Result<Committed> {
        let sender = self.jobs.lock().expect("writer lock").clone();
        let sender = sender.ok_or_else(stopped)?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(Job { work, reply })
            .await
            .map_err(|_| stopped())?;
        Ok(Box::pin(
            async move { answer.await.map_err(|_| stopped())? },
        ))
    }

    pub fn is_running(&self) -> bool {
        self.jobs.lock().expect("writer lock").is_some()
            && self
                .threads
                .lock()
                .expect("writer lock")
                .iter()
                .all(|thread| !thread.is_finished())
    }

    /// Finishes the jobs already queued, then stops the writers.
    pub fn shut_down(&self) {
        self.jobs.lock().expect("writer lock").take();
        for thread in self.threads.lock().expect("writer lock").drain(..) {
            let _ = thread.join();
        }
    }
}

fn stopped() -> Error {
    Error::Engine("the writer has stopped".into())
}

struct Writer {
    conn: Conn,
    url: String,
    jobs: Arc<Mutex<mpsc::Receiver<Job>>>,
    sink: Arc<dyn NoticeSink>,
    limits: WriterLimits,
    pin_policy: PinPolicy,
}

impl Writer {
    fn run(mut self) {
        while let Some(batch) = self.next_batch() {
            self.commit(batch);
        }
    }

    /// The next batch: waits for one job, then takes what else waits.
    fn next_batch(&self) -> Option<Vec<Job>> {
        let mut jobs = self.jobs.lock().expect("writer lock");
        let first = jobs.blocking_recv()?;
        let mut batch = vec![first];
        while batch.len() < self.limits.batch_len_max {
            match jobs.try_recv() {
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
            match self.attempt(&mut batch) {
                Ok((answers, notices)) => {
                    for (job, answer) in batch.into_iter().zip(answers) {
                        let _ = job.reply.send(answer);
                    }
                    if !notices.is_empty() {
                        self.sink.notify(notices);
                    }
                    return;
                }
                Err(Error::Conflict(why)) if attempt < self.limits.conflict_retries => {
                    attempt += 1;
                    tracing::debug!(attempt, %why, "a batch conflicted; running it again");
                    std::thread::sleep(backoff(attempt));
                }
                Err(failure) => return self.fail(batch, &failure),
            }
        }
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

    fn reconnect(&mut self) {
        for attempt in 1.. {
            match Conn::connect(&self.url) {
                Ok(conn) => {
                    self.conn = conn;
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, attempt, "cannot reconnect a writer to PostgreSQL");
                    std::thread::sleep(backoff(attempt.min(8)));
                }
            }
        }
    }

    /// One try at the batch, in one transaction. Each job runs in a
    /// savepoint of its own; the statements between two jobs (release
    /// one, open the next) go in one round trip, and COMMIT releases the
    /// last.
    fn attempt(&mut self, batch: &mut [Job]) -> Result<(Vec<Result<Done>>, Vec<Notice>)> {
        let conn = &mut self.conn;
        conn.batch("BEGIN; SAVEPOINT job")?;
        let now = Timestamp::now();
        let (mut answers, mut notices) = (Vec::with_capacity(batch.len()), Vec::new());
        let last = batch.len() - 1;
        for (index, job) in batch.iter_mut().enumerate() {
            let next = if index == last { "" } else { "; SAVEPOINT job" };
            let mut tx = PgTx {
                db: Db(conn),
                now,
                pin_policy: self.pin_policy,
                notices: Vec::new(),
                depth: 0,
            };
            match (job.work)(&mut tx) {
                Ok(done) => {
                    notices.append(&mut tx.notices);
                    if index != last {
                        conn.batch(&format!("RELEASE SAVEPOINT job{next}"))?;
                    }
                    answers.push(Ok(done));
                }
                Err(Error::Conflict(why)) => {
                    let _ = conn.batch("ROLLBACK");
                    return Err(Error::Conflict(why));
                }
                Err(refused) => {
                    let undo = "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job";
                    conn.batch(&format!("{undo}{next}"))?;
                    answers.push(Err(refused));
                }
            }
        }
        if let Err(failed) = conn.batch("COMMIT") {
            let _ = conn.batch("ROLLBACK");
            return Err(failed);
        }
        Ok((answers, notices))
    }
}

/// A short, growing, jittered pause before running a conflicting batch
/// again, so that two writers that deadlocked do not meet again at once.
fn backoff(attempt: u32) -> Duration {
    let jitter = u64::from(std::process::id() ^ attempt.wrapping_mul(2_654_435_761)) % 5;
    Duration::from_millis(u64::from(attempt) * 2 + jitter)
}
