//! SQLite as an engine of `piazza-core`: write jobs run in the
//! group-commit writer's batches (`writer.rs`), read jobs on the read pool
//! (`readers.rs`). Each area's data access is in the file of its area.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use piazza_core::engine::{Committed, Done, Engine, Lane, Read, ReadJob, Tx, WriteJob};
use piazza_domain::event::{Event, Notice};
use piazza_domain::store::PinPolicy;
use piazza_domain::{AccountId, LogSeq, Rejection, Timestamp};
use rusqlite::Connection;

use crate::SqliteStore;
use crate::error::Error;
use crate::writer::WriteCtx;

/// A connection as the rules' reads see it: the read pool's, or the
/// writer's inside its transaction.
#[derive(Clone, Copy)]
pub struct Db<'c>(pub &'c Connection);

/// `?` from rusqlite into the rules' error, in data-access methods.
pub trait Sql<T> {
    fn sql(self) -> piazza_core::Result<T>;
}

impl<T> Sql<T> for rusqlite::Result<T> {
    fn sql(self) -> piazza_core::Result<T> {
        self.map_err(|error| Error::from(error).into())
    }
}

/// The SQLite engine: the store, shared with what still calls it directly.
#[derive(Clone)]
pub struct SqliteEngine(pub Arc<SqliteStore>);

impl Engine for SqliteEngine {
    fn queue(
        &self,
        _lane: Lane,
        mut job: WriteJob,
    ) -> BoxFuture<'_, piazza_core::Result<Committed>> {
        Box::pin(async move {
            let queued = self
                .0
                .writer
                .queue(move |ctx| job(ctx).map_err(Error::from))
                .await?;
            Ok(Box::pin(async move { Ok(queued.answer().await?) }) as Committed)
        })
    }

    fn queue_refusing_first(
        &self,
        _lane: Lane,
        mut job: WriteJob,
    ) -> BoxFuture<'_, piazza_core::Result<Committed>> {
        // Without the job's savepoint: SQLite copies each page a savepoint
        // changes into its journal first, ~10% of a transfer's time in the
        // writer (BENCHMARKS.md, "Tails").
        Box::pin(async move {
            let queued = self
                .0
                .writer
                .queue_refusing_first(move |ctx| job(ctx).map_err(Error::from))
                .await?;
            Ok(Box::pin(async move { Ok(queued.answer().await?) }) as Committed)
        })
    }

    fn read(&self, job: ReadJob) -> BoxFuture<'_, piazza_core::Result<Done>> {
        Box::pin(async move {
            Ok(self
                .0
                .readers
                .read(move |conn| job(&mut Db(conn)).map_err(Error::from))
                .await?)
        })
    }

    fn check_health(&self) -> BoxFuture<'_, piazza_core::Result<()>> {
        Box::pin(async move { Ok(self.0.check_health().await?) })
    }

    fn money_halted(&self) -> bool {
        self.0.health.money_halted()
    }

    fn shut_down(&self) {
        self.0.shut_down();
    }
}

impl Tx for WriteCtx<'_> {
    fn now(&self) -> Timestamp {
        self.now
    }

    fn pin_policy(&self) -> PinPolicy {
        self.pin_policy
    }

    fn money_halted(&self) -> bool {
        self.money_halted
    }

    fn reads(&mut self) -> &mut dyn Read {
        &mut self.db
    }

    fn append_log(&mut self, account: AccountId, event: Event) -> piazza_core::Result<LogSeq> {
        Ok(WriteCtx::append_log(self, account, event)?)
    }

    fn notice(&mut self, notice: Notice) {
        WriteCtx::notice(self, notice);
    }

    fn refusable_part(
        &mut self,
        effect: &mut dyn FnMut(&mut dyn Tx) -> piazza_core::Result<()>,
    ) -> piazza_core::Result<Result<(), Rejection>> {
        Ok(self.refusable(|ctx| effect(ctx).map_err(Error::from))?)
    }
}
