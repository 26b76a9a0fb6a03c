//! What `piazza admin migrate-store` reads to copy a store to another
//! engine. The tables have the same names and columns as PostgreSQL's;
//! what only SQLite has stays here: the tails (an entry is in a table or
//! in its tail, so a copy reads both) and the compact form of transfer
//! events in the log (`log_data.rs`), which the copy reads whole.

use std::path::Path;

use piazza_domain::event::Event;
use rusqlite::Connection;

use crate::error::Result;

/// The store in `data_dir`, read-only, if it is at the schema this
/// version writes (the copy names its columns); an older one is refused
/// with what to do.
pub fn open(data_dir: &Path) -> Result<Connection> {
    crate::integrity::open_current(data_dir)
}

/// A `FROM` source holding every row of `table`: its own and its tail's,
/// for the tables that have one.
pub fn all_rows(table: &str) -> String {
    match table {
        "account_log" => "account_log_all".to_owned(),
        "idempotency_keys" => "(SELECT * FROM idempotency_keys \
                               UNION ALL SELECT * FROM idempotency_keys_tail)"
            .to_owned(),
        other => format!("\"{other}\""),
    }
}

/// The event a log entry's `data` stands for, whole: a transfer event
/// kept by reference is rebuilt from its transfer's row, with the status
/// it reported when it was logged.
pub fn log_event(conn: &Connection, data: &str) -> Result<Event> {
    crate::log_data::decode(conn, data)
}
