//! Followers for `piazza bench channel`, written straight into the
//! database: a million followers cannot sign up through the API in a
//! bench's time, and the fan-out reads only the rows (an account with its
//! log head, a follow). Never called by the server.

use piazza_domain::ChannelId;
use postgres::{Client, NoTls};

/// Adds `count` new accounts that follow `channel`, in one transaction,
/// and counts them in the channel's follower count. The accounts cannot
/// log in (no password hashes to `!`) and take the next ids, so accounts
/// made after them come after them in the fan-out's order. Answers the
/// number of rows written (2 × `count`).
pub fn seed_followers(url: &str, channel: ChannelId, count: u64) -> Result<u64, postgres::Error> {
    let mut client = Client::connect(url, NoTls)?;
    let mut tx = client.transaction()?;
    let created_at: i64 = tx
        .query_one(
            "SELECT created_at FROM channels WHERE id = $1",
            &[&channel.row()],
        )?
        .get(0);
    let follows = tx.execute(
        "WITH seeded AS (
             INSERT INTO accounts (username, display_name, password_hash, created_at)
             SELECT 'seed' || $1::BIGINT || '_' || i, 'Follower ' || i, '!', $2
             FROM generate_series(1, $3::BIGINT) AS i
             RETURNING id)
         INSERT INTO channel_follows (channel_id, account_id, followed_at)
         SELECT $1, id, $2 FROM seeded",
        &[&channel.row(), &created_at, &(count as i64)],
    )?;
    assert_eq!(follows, count, "every seeded account follows");
    tx.execute(
        "UPDATE channels SET follower_count = follower_count + $2 WHERE id = $1",
        &[&channel.row(), &(follows as i64)],
    )?;
    tx.commit()?;
    Ok(2 * follows)
}
