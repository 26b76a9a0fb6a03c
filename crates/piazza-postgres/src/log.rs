//! Each account's log on PostgreSQL: `log_seq` handed out under the
//! account row's lock, so entries are gapless and in commit order across
//! every writer of every process.

use piazza_core::Result;
use piazza_domain::event::{Event, stored};
use piazza_domain::{AccountId, LogSeq, Timestamp};

use crate::conn::{Conn, corrupt};

/// Appends `event` to `account`'s log with the next log_seq. The head is
/// read locked (`FOR NO KEY UPDATE`, fetched with the batch's others) and
/// held until the transaction ends: another transaction appending to the
/// same log waits, then reads the committed head. The entry and the new
/// head are written by the batch's flush.
pub fn append(conn: &mut Conn, account: AccountId, event: &Event, at: Timestamp) -> Result<LogSeq> {
    let (message, data) = match event {
        Event::MessageNew(message) => (Some(message.message_id.row()), None),
        other => (None, Some(encode(other)?)),
    };
    conn.append_entry(account, message, data, at)
}

/// The stored form of an event other than `message.new` (kept as its
/// message's row): the same JSON as SQLite keeps. `piazza admin
/// migrate-store` writes the entries it copies in this form too.
pub fn encode(event: &Event) -> Result<String> {
    serde_json::to_string(&stored::Event::from(event))
        .map_err(|error| corrupt(format!("cannot encode event: {error}")))
}
