//! One connection to PostgreSQL with its prepared statements, and the
//! mapping of PostgreSQL's errors onto the rules' errors.

use std::collections::HashMap;

use piazza_core::{Error, Result};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

/// Parameters of a statement.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A connection and the statements prepared on it, each once: a cached
/// statement is one round trip per query instead of two.
pub struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    pub fn connect(url: &str) -> std::result::Result<Conn, postgres::Error> {
        Ok(Conn {
            client: Client::connect(url, NoTls)?,
            statements: HashMap::new(),
        })
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
        let statement = self.statement(sql)?;
        self.client.query(&statement, params).map_err(error)
    }

    pub fn query_opt(&mut self, sql: &'static str, params: Params<'_>) -> Result<Option<Row>> {
        let statement = self.statement(sql)?;
        self.client.query_opt(&statement, params).map_err(error)
    }

    pub fn query_one(&mut self, sql: &'static str, params: Params<'_>) -> Result<Row> {
        let statement = self.statement(sql)?;
        self.client.query_one(&statement, params).map_err(error)
    }

    pub fn execute(&mut self, sql: &'static str, params: Params<'_>) -> Result<u64> {
        let statement = self.statement(sql)?;
        self.client.execute(&statement, params).map_err(error)
    }

    /// Statements without parameters, as one simple query (BEGIN, …).
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).map_err(error)
    }
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
            Error::Conflict(error.to_string())
        }
        _ => Error::Engine(format!("postgres: {error}")),
    }
}

/// A read column that must fit its domain type.
pub fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Corrupt(what.to_string())
}
