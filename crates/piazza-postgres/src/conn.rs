//! One connection to PostgreSQL with its prepared statements, and the
//! mapping of PostgreSQL's errors onto the rules' errors. A writer's
//! connection also carries its batch (`batch.rs`): every statement a job
//! runs passes [`Conn::before_statement`], which keeps the batch's
//! pending writes ahead of it.

use std::collections::HashMap;

use piazza_core::{Error, Result};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use crate::batch::{Batch, Mode};

/// Parameters of a statement.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A connection and the statements prepared on it, each once: a cached
/// statement is one round trip per query instead of two.
pub struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// A writer's batch; `None` on a reader.
    pub(crate) batch: Option<Batch>,
    /// A writer's server process, to end it if its connection is lost
    /// mid-COMMIT and it has not noticed (`writer.rs`, `settle`); `None`
    /// when it could not be read.
    pub(crate) backend: Option<i32>,
}

impl Conn {
    pub fn connect(url: &str) -> std::result::Result<Conn, postgres::Error> {
        Ok(Conn {
            client: Client::connect(url, NoTls)?,
            statements: HashMap::new(),
            batch: None,
            backend: None,
        })
    }

    /// A writer's connection: its statements go through a batch, and
    /// each is planned for its own parameters. A batch's statements take
    /// arrays of one to thousands of keys, and its tables may grow from
    /// nothing to a million rows between two runs of autovacuum's ANALYZE:
    /// a cached generic plan, made once for "10 rows from `unnest`" and the
    /// table's size that day, kept hash-joining a sequential scan of
    /// `orders` and `variants` (a third of `bench shop`'s wide catalog's
    /// throughput). A plan costs PostgreSQL tens of microseconds, a few a
    /// batch.
    pub(crate) fn for_writer(mut self) -> Conn {
        match self.raw_value("SET plan_cache_mode = force_custom_plan; SELECT pg_backend_pid()") {
            Ok(backend) => self.backend = backend.and_then(|pid| pid.parse().ok()),
            Err(error) => {
                tracing::warn!(%error, "a writer's statements keep PostgreSQL's cached plans");
            }
        }
        self.batch = Some(Batch::new());
        self
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).map_err(error)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    pub fn query(&mut self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>> {
        self.before_statement(sql)?;
        self.raw_query(sql, params)
    }

    pub fn query_opt(&mut self, sql: &'static str, params: Params<'_>) -> Result<Option<Row>> {
        self.before_statement(sql)?;
        let statement = self.statement(sql)?;
        self.client.query_opt(&statement, params).map_err(error)
    }

    pub fn query_one(&mut self, sql: &'static str, params: Params<'_>) -> Result<Row> {
        self.before_statement(sql)?;
        let statement = self.statement(sql)?;
        self.client.query_one(&statement, params).map_err(error)
    }

    pub fn execute(&mut self, sql: &'static str, params: Params<'_>) -> Result<u64> {
        self.before_statement(sql)?;
        self.raw_execute(sql, params)
    }

    /// Statements without parameters, as one simple query.
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        self.before_statement(sql)?;
        self.raw_batch(sql)
    }

    /// A statement of a job's own is about to run on a writer's
    /// connection. Buffered, the job stops to run again direct; direct,
    /// the batch's pending writes go first (the statement must see them),
    /// and after a write the cache is forgotten (the write may change
    /// what it holds).
    fn before_statement(&mut self, sql: &str) -> Result<()> {
        let Some(batch) = self.batch.as_mut() else {
            return Ok(());
        };
        match batch.mode {
            Mode::Direct => {}
            Mode::Buffered => {
                // Evaluated only when tracing at this level.
                tracing::trace!(
                    sql = sql.trim_start().get(..60).unwrap_or(sql),
                    "a statement of the job's own: it runs direct"
                );
                batch.misses.direct = true;
                return Err(Error::Fetching);
            }
            Mode::Discovery => return Err(Error::Fetching),
        }
        crate::batch::flush(self)?;
        if !is_read(sql) {
            self.batch_mut().forget_reads();
        }
        Ok(())
    }

    /// A query that bypasses the batch: the batch's own fetches.
    pub(crate) fn raw_query(&mut self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        self.client.query(&statement, params).map_err(error)
    }

    /// As [`Conn::raw_query`], with PostgreSQL's error as it came.
    pub(crate) fn client_query(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
    ) -> std::result::Result<Vec<Row>, postgres::Error> {
        let statement = match self.statements.get(sql) {
            Some(statement) => statement.clone(),
            None => {
                let statement = self.client.prepare(sql)?;
                self.statements.insert(sql, statement.clone());
                statement
            }
        };
        self.client.query(&statement, params)
    }

    pub(crate) fn raw_execute(&mut self, sql: &'static str, params: Params<'_>) -> Result<u64> {
        let statement = self.statement(sql)?;
        self.client.execute(&statement, params).map_err(error)
    }

    /// BEGIN, COMMIT, savepoints: the writer's own.
    pub(crate) fn raw_batch(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).map_err(error)
    }

    /// COMMITs the open transaction. A failure says whether its outcome
    /// is unknown: the connection lost, or ended by the server (FATAL,
    /// PANIC, SQLSTATE class 08), may come after the commit was made. A
    /// failure the server answered as an ERROR (a serialization failure,
    /// a deferred constraint) rolled the transaction back.
    pub(crate) fn commit(&mut self) -> std::result::Result<(), (Error, bool)> {
        use postgres::error::Severity;
        self.client.batch_execute("COMMIT").map_err(|failure| {
            let in_doubt = failure.is_closed()
                || failure.as_db_error().is_none_or(|db| {
                    matches!(
                        db.parsed_severity(),
                        Some(Severity::Fatal | Severity::Panic)
                    ) || db.code().code().starts_with("08")
                });
            (error(failure), in_doubt)
        })
    }

    /// `sql`, statements without parameters as one simple query (one
    /// round trip), answering the first column of the last row any of
    /// them returned, if any did and it was not NULL.
    pub(crate) fn raw_value(&mut self, sql: &str) -> Result<Option<String>> {
        let messages = self.client.simple_query(sql).map_err(error)?;
        let last = messages.iter().rev().find_map(|message| match message {
            postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
            _ => None,
        });
        Ok(last.flatten())
    }
}

/// A statement that changes nothing the cache holds: a read (locking
/// rows or not), or a savepoint opened or released.
fn is_read(sql: &str) -> bool {
    let sql = sql.trim_start();
    ["SELECT", "SAVEPOINT", "RELEASE"]
        .iter()
        .any(|verb| sql.starts_with(verb))
}

/// A conflict with another transaction is [`Error::Conflict`], which the
/// writer retries; anything else is the engine failing.
pub fn error(error: postgres::Error) -> Error {
    match error.code() {
        Some(code)
            if *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
                || *code == SqlState::LOCK_NOT_AVAILABLE =>
        {
            let why = error.as_db_error().map(|db| db.message().to_owned());
            Error::Conflict(why.unwrap_or_else(|| error.to_string()))
        }
        _ => match error.as_db_error() {
            // `db error` alone says nothing: the server's own words do.
            Some(db) => Error::Engine(format!("postgres: {}: {}", db.code().code(), db.message())),
            None => Error::Engine(format!("postgres: {error}")),
        },
    }
}

/// A read column that must fit its domain type.
pub fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Corrupt(what.to_string())
}
