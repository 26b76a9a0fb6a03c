//! The line between the rules and the engines. An engine (SQLite,
//! PostgreSQL) runs jobs: a write job inside one of its transactions, a
//! read job on one of its connections. A job is a use case of this crate,
//! and sees the engine only through [`Tx`] and [`Read`] — narrow data
//! access, one trait pair per area, kept in that area's module. How an
//! engine batches jobs into transactions, hands out sequence numbers,
//! retries a conflict or migrates its schema is its own business.

use std::any::Any;

use futures_util::future::BoxFuture;
use piazza_domain::event::{Event, Notice};
use piazza_domain::store::PinPolicy;
use piazza_domain::{AccountId, LogSeq, Rejection, StoreError, Timestamp};

use crate::{
    account_deletion, accounts, blocks, channels, chat, contact_codes, contacts, exports, groups,
    leases, login_requests, media, moments, pay, presence, profiles, search, shops,
};

/// What a job answers, typed again by [`crate::Core`].
pub type Done = Box<dyn Any + Send>;

/// A write job. An engine may run it more than once (it rolls back and
/// retries a transaction that conflicted with another writer's), so it is
/// `FnMut` and must not keep anything from an attempt that did not commit.
pub type WriteJob = Box<dyn FnMut(&mut dyn Tx) -> Result<Done> + Send>;

/// A read job, run once on a read connection.
pub type ReadJob = Box<dyn FnOnce(&mut dyn Read) -> Result<Done> + Send>;

/// A queued write's answer: it resolves after the commit (or the failure).
pub type Committed = BoxFuture<'static, Result<Done>>;

/// Which of an engine's writers a write job goes to. The jobs of one
/// lane commit in the order they were queued; jobs of different lanes
/// may commit in either order. The rules give a hot path the lane of the
/// rows it changes most (a conversation: its seq, its members' logs), so
/// that jobs on the same rows meet in one writer's batch rather than wait
/// for each other's transactions. An engine with one writer has one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// No rows in particular: any writer.
    Any,
    /// The lane of the rows keyed `key`.
    Of(u64),
}

impl Lane {
    /// The lane of a conversation's rows.
    pub fn conversation(conversation: piazza_domain::ConversationId) -> Lane {
        Lane::Of(conversation.row() as u64)
    }

    /// The lane of a shop's rows: its variants' stock, and its owner's
    /// and staff's logs, which every order of the shop writes to.
    pub fn shop(shop: piazza_domain::ShopId) -> Lane {
        // Apart from conversations' lanes: a shop and a conversation with
        // the same row number are unrelated.
        Lane::Of((shop.row() as u64).rotate_left(48) ^ 0x5348_4f50)
    }

    /// The lane of a pair's rows (their direct conversation), whichever
    /// of the two acts.
    pub fn pair(one: piazza_domain::AccountId, other: piazza_domain::AccountId) -> Lane {
        let (low, high) = if one.row() <= other.row() {
            (one.row(), other.row())
        } else {
            (other.row(), one.row())
        };
        Lane::Of((low as u64).rotate_left(32) ^ high as u64)
    }
}

/// A storage engine, as the rules see it.
pub trait Engine: Send + Sync + 'static {
    /// Queues a write job in `lane`. Resolves once the job is queued (a
    /// full queue waits: back-pressure) to the future of its commit. The
    /// engine tells the notice sink it was opened with what each commit
    /// made visible, after the commit, in commit order.
    fn queue(&self, lane: Lane, job: WriteJob) -> BoxFuture<'_, Result<Committed>>;
    /// As [`Engine::queue`], for a job that makes every refusal before its
    /// first change (a hot path: a chat transfer). An engine that gives
    /// each job a savepoint may skip this one's, and must then fail the
    /// whole batch should the job fail after changing something.
    fn queue_refusing_first(&self, lane: Lane, job: WriteJob) -> BoxFuture<'_, Result<Committed>> {
        self.queue(lane, job)
    }
    /// Runs a read job on a read connection.
    fn read(&self, job: ReadJob) -> BoxFuture<'_, Result<Done>>;
    /// Fails when the engine cannot serve: its writer stopped, its
    /// database unreachable, its checks found damage.
    fn check_health(&self) -> BoxFuture<'_, Result<()>>;
    /// Damage was found: no money may move.
    fn money_halted(&self) -> bool;
    /// Whether the server should remember sessions between requests, a
    /// write checking its [`crate::accounts::Caller`] again in its own
    /// transaction: where reading a session costs a round trip to another
    /// process, and the check rides along a batch's other look-ups.
    fn remembers_sessions(&self) -> bool {
        false
    }
    /// Whether jobs of different lanes may run in different writers'
    /// transactions at once (so a rule may find its lane first with a
    /// read, where one writer would take every lane anyway).
    fn has_lanes(&self) -> bool {
        false
    }
    /// Finishes the writes already queued, then stops the writers. Blocks.
    fn shut_down(&self);
}

/// What a write job sees: one open transaction of the engine.
///
/// Every area adds its data access as a supertrait here, one line.
pub trait Tx:
    account_deletion::Writes
    + accounts::Writes
    + blocks::Writes
    + channels::Writes
    + chat::Writes
    + contact_codes::Writes
    + contacts::Writes
    + exports::Writes
    + groups::Writes
    + leases::Writes
    + login_requests::Writes
    + media::Writes
    + media::purges::Writes
    + moments::Writes
    + pay::Writes
    + presence::Writes
    + profiles::Writes
    + search::Writes
    + search::documents::Writes
    + shops::Writes
{
    /// The clock of the transaction (one per batch).
    fn now(&self) -> Timestamp;
    /// When wrong payment PINs lock money-out.
    fn pin_policy(&self) -> PinPolicy;
    /// Damage was found in the store: no money may move.
    fn money_halted(&self) -> bool;
    /// Reads inside this transaction: they see what the job wrote.
    fn reads(&mut self) -> &mut dyn Read;
    /// Appends `event` to `account`'s log with the next `log_seq`: gapless
    /// and in commit order, whatever other writers do at the same time.
    fn append_log(&mut self, account: AccountId, event: Event) -> Result<LogSeq>;
    /// Names the logs this job is about to append to, so that an engine
    /// that locks each log's head may take them all at once (PostgreSQL:
    /// one round trip for a group of 500, not one per member). A hint:
    /// `append_log` works without it.
    fn will_append(&mut self, _accounts: &[AccountId]) -> Result<()> {
        Ok(())
    }
    /// Appends `event` to the log of each of `accounts` (a fan-out to a
    /// conversation's members), their heads taken at once.
    fn append_to_all(&mut self, accounts: &[AccountId], event: &Event) -> Result<()> {
        self.will_append(accounts)?;
        for account in accounts {
            self.append_log(*account, event.clone())?;
        }
        Ok(())
    }
    /// Hands `notice` to the live hub once the transaction commits.
    fn notice(&mut self, notice: Notice);
    /// Runs `effect` so that a rejection undoes only what it wrote (and
    /// the notices it queued) and comes back as a refusal, while the rest
    /// of the job still commits: a counted wrong PIN, say.
    fn refusable_part(
        &mut self,
        effect: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> Result<std::result::Result<(), Rejection>>;
}

/// What a read job sees: a connection of the engine.
///
/// Every area adds its queries as a supertrait here, one line.
pub trait Read:
    account_deletion::Reads
    + accounts::Reads
    + blocks::Reads
    + channels::Reads
    + chat::Reads
    + contact_codes::Reads
    + contacts::Reads
    + exports::Reads
    + groups::Reads
    + login_requests::Reads
    + media::Reads
    + media::purges::Reads
    + moments::Reads
    + pay::Reads
    + presence::Reads
    + profiles::Reads
    + search::Reads
    + search::documents::Reads
    + shops::Reads
{
}

impl<T> Read for T where
    T: account_deletion::Reads
        + accounts::Reads
        + blocks::Reads
        + channels::Reads
        + chat::Reads
        + contact_codes::Reads
        + contacts::Reads
        + exports::Reads
        + groups::Reads
        + login_requests::Reads
        + media::Reads
        + media::purges::Reads
        + moments::Reads
        + pay::Reads
        + presence::Reads
        + profiles::Reads
        + search::Reads
        + search::documents::Reads
        + shops::Reads
        + ?Sized
{
}

/// Runs `effect` as [`Tx::refusable_part`] does, keeping its answer.
pub fn refusable<T>(
    tx: &mut dyn Tx,
    mut effect: impl FnMut(&mut dyn Tx) -> Result<T>,
) -> Result<std::result::Result<T, Rejection>> {
    let mut answer = None;
    let outcome = tx.refusable_part(&mut |tx| {
        answer = Some(effect(tx)?);
        Ok(())
    })?;
    Ok(outcome.map(|()| answer.expect("a part that succeeded answered")))
}

/// Why a job did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule refused it; nothing it wrote stays.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// Another transaction conflicted with this one (a deadlock, a
    /// serialization failure). The engine rolls back and runs the job
    /// again; only a conflict that outlasts its retries reaches a caller.
    #[error("a concurrent transaction conflicted with this one: {0}")]
    Conflict(String),
    /// The engine went to fetch what the job asked for, together with
    /// what the other jobs of its batch ask (PostgreSQL: one query for a
    /// whole batch's look-ups), and runs the job again once it has it. A
    /// job passes it on like any error; it never reaches a caller.
    #[error("the engine is fetching data for this job")]
    Fetching,
    /// Stored data is not what this version wrote.
    #[error("stored data is not what this version wrote: {0}")]
    Corrupt(String),
    /// The engine failed: the database unreachable, the disk full, the
    /// writer stopped. The detail is for the log, not for the client.
    #[error("{0}")]
    Engine(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Data that should be there is missing.
    pub fn missing(what: impl std::fmt::Display) -> Error {
        Error::Corrupt(format!("{what} is referenced but missing"))
    }
}

impl From<Error> for StoreError {
    fn from(error: Error) -> StoreError {
        match error {
            Error::Rejected(rejection) => StoreError::Rejected(rejection),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Error {
        match error {
            StoreError::Rejected(rejection) => Error::Rejected(rejection),
            StoreError::Unavailable(why) => Error::Engine(why),
        }
    }
}
