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

/// For `piazza bench search`: appends `texts` to the conversations of
/// `senders` (each text goes to `senders[i % len]`'s conversation, sent
/// by its sender), as the history holds messages (each its row and its
/// place in the conversation's index), in one transaction. No log entry
/// is written: search reads messages, not logs. Answers the messages
/// written.
pub fn seed_messages(
    data_dir: &Path,
    senders: &[(piazza_domain::ConversationId, piazza_domain::AccountId)],
    texts: &[String],
) -> Result<u64> {
    assert!(!senders.is_empty());
    let mut conn = Connection::open(data_dir.join(crate::DATABASE_FILE))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let tx = conn.transaction()?;
    let mut seqs = Vec::with_capacity(senders.len());
    for (conversation, _) in senders {
        let last: i64 = tx.query_row(
            "SELECT last_seq FROM conversations WHERE id = ?1",
            [conversation.row()],
            |row| row.get(0),
        )?;
        seqs.push(last);
    }
    {
        let mut message = tx.prepare(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, text, sent_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut place = tx.prepare(
            "INSERT INTO messages_by_conversation (conversation_id, seq, message_id)
             VALUES (?1, ?2, ?3)",
        )?;
        let now = piazza_domain::Timestamp::now().unix_ms();
        for (n, text) in texts.iter().enumerate() {
            let which = n % senders.len();
            let (conversation, sender) = senders[which];
            seqs[which] += 1;
            let seq = seqs[which];
            let at = now - (texts.len() - n) as i64;
            message.execute(params![
                conversation.row(),
                seq,
                sender.row(),
                // Unique across calls too: a conversation's seq is.
                format!("seed-{}-{seq}", conversation.row()),
                text,
                at
            ])?;
            place.execute(params![conversation.row(), seq, tx.last_insert_rowid()])?;
        }
    }
    for ((conversation, _), seq) in senders.iter().zip(&seqs) {
        tx.execute(
            "UPDATE conversations SET last_seq = ?2 WHERE id = ?1",
            params![conversation.row(), seq],
        )?;
    }
    tx.commit()?;
    Ok(texts.len() as u64)
}

/// The bytes the store's pages take, the write-ahead log's newest
/// included, free pages not: what an index added, compared before and
/// after.
pub fn store_bytes(data_dir: &Path) -> Result<u64> {
    let conn = Connection::open(data_dir.join(crate::DATABASE_FILE))?;
    let bytes: i64 = conn.query_row(
        "SELECT (page_count - freelist_count) * page_size
         FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()",
        [],
        |row| row.get(0),
    )?;
    Ok(bytes as u64)
}
