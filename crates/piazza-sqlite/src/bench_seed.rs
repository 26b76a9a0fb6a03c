//! Followers for `piazza bench channel`, written straight into a stopped
//! server's store: a million followers cannot sign up through the API in
//! a bench's time, and the fan-out reads only the rows (an account with
//! its log head, a follow). Never called by the server.

use std::path::Path;

use piazza_domain::ChannelId;
use rusqlite::{Connection, params};

use crate::error::Result;

/// Adds `count` new accounts that follow `channel`, in one transaction,
/// and counts them in the channel's follower count. The accounts cannot
/// log in (no password hashes to `!`) and take the next row ids, so
/// accounts made after them come after them in the fan-out's order.
/// Answers the number of rows written (2 × `count`).
pub fn seed_followers(data_dir: &Path, channel: ChannelId, count: u64) -> Result<u64> {
    let mut conn = Connection::open(data_dir.join(crate::DATABASE_FILE))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let tx = conn.transaction()?;
    let created_at: i64 = tx.query_row(
        "SELECT created_at FROM channels WHERE id = ?1",
        [channel.row()],
        |row| row.get(0),
    )?;
    let before: i64 = tx.query_row("SELECT COALESCE(MAX(id), 0) FROM accounts", [], |row| {
        row.get(0)
    })?;
    let accounts = tx.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO accounts (username, display_name, password_hash, created_at)
         SELECT printf('seed%d_%d', ?2, i), 'Follower ' || i, '!', ?3 FROM n",
        params![count as i64, channel.row(), created_at],
    )?;
    let follows = tx.execute(
        "INSERT INTO channel_follows (channel_id, account_id, followed_at)
         SELECT ?1, id, ?2 FROM accounts WHERE id > ?3",
        params![channel.row(), created_at, before],
    )?;
    assert_eq!(accounts, follows, "every seeded account follows");
    tx.execute(
        "UPDATE channels SET follower_count = follower_count + ?2 WHERE id = ?1",
        params![channel.row(), follows as i64],
    )?;
    tx.commit()?;
    Ok((accounts + follows) as u64)
}
