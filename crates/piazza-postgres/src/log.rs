//! Each account's log on PostgreSQL: `log_seq` handed out under the
//! account row's lock, so entries are gapless and in commit order across
//! every writer of every process.

use piazza_core::Result;
use piazza_domain::event::{Event, stored};
use piazza_domain::{AccountId, LogSeq, Timestamp};

use crate::conn::{Conn, corrupt};

/// Appends `event` to `account`'s log with the next log_seq. The UPDATE
/// locks the account row until the transaction ends: another transaction
/// appending to the same log waits, then reads the committed head.
pub fn append(conn: &mut Conn, account: AccountId, event: &Event, at: Timestamp) -> Result<LogSeq> {
    let (message, data) = match event {
        Event::MessageNew(message) => (Some(message.message_id.row()), None),
        other => (None, Some(encode(other)?)),
    };
    // One round trip: the head moves and the entry goes in together.
    let head: i64 = conn
        .query_one(
            "WITH head AS (
                 UPDATE accounts SET log_head = log_head + 1 WHERE id = $1 RETURNING log_head
             )
             INSERT INTO account_log (account_id, log_seq, at, message_id, data)
             SELECT $1, log_head, $2, $3, $4 FROM head
             RETURNING log_seq",
            &[&account.row(), &at.unix_ms(), &message, &data],
        )?
        .get(0);
    Ok(LogSeq::from_stored(head))
}

/// The stored form of an event other than `message.new` (kept as its
/// message's row): the same JSON as SQLite keeps. `piazza admin
/// migrate-store` writes the entries it copies in this form too.
pub fn encode(event: &Event) -> Result<String> {
    serde_json::to_string(&stored::Event::from(event))
        .map_err(|error| corrupt(format!("cannot encode event: {error}")))
}
