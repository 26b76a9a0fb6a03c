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

/// For `piazza bench search`: appends `texts` to the conversations of
/// `senders` (each text goes to `senders[i % len]`'s conversation, sent
/// by its sender), 10,000 rows a statement, in one transaction. No log
/// entry is written: search reads messages, not logs. Answers the
/// messages written.
pub fn seed_messages(
    url: &str,
    senders: &[(piazza_domain::ConversationId, piazza_domain::AccountId)],
    texts: &[String],
) -> Result<u64, postgres::Error> {
    assert!(!senders.is_empty());
    let mut client = Client::connect(url, NoTls)?;
    let mut tx = client.transaction()?;
    let mut seqs = Vec::with_capacity(senders.len());
    for (conversation, _) in senders {
        let row = tx.query_one(
            "SELECT last_seq FROM conversations WHERE id = $1",
            &[&conversation.row()],
        )?;
        seqs.push(row.get::<_, i64>(0));
    }
    let now = piazza_domain::Timestamp::now().unix_ms();
    for (chunk_index, chunk) in texts.chunks(10_000).enumerate() {
        let (mut conversations, mut seq_column, mut sender_column) = (vec![], vec![], vec![]);
        let (mut ids, mut ats) = (vec![], vec![]);
        for (offset, _) in chunk.iter().enumerate() {
            let n = chunk_index * 10_000 + offset;
            let which = n % senders.len();
            seqs[which] += 1;
            conversations.push(senders[which].0.row());
            seq_column.push(seqs[which]);
            sender_column.push(senders[which].1.row());
            ids.push(format!("seed-{n}"));
            ats.push(now - (texts.len() - n) as i64);
        }
        tx.execute(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, text, sent_at)
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[],
                                  $5::text[], $6::bigint[])",
            &[
                &conversations,
                &seq_column,
                &sender_column,
                &ids,
                &chunk,
                &ats,
            ],
        )?;
    }
    for ((conversation, _), seq) in senders.iter().zip(&seqs) {
        tx.execute(
            "UPDATE conversations SET last_seq = $2 WHERE id = $1",
            &[&conversation.row(), seq],
        )?;
    }
    tx.commit()?;
    Ok(texts.len() as u64)
}

/// The bytes search's tables and their indexes take.
pub fn search_bytes(url: &str) -> Result<u64, postgres::Error> {
    let mut client = Client::connect(url, NoTls)?;
    let row = client.query_one(
        "SELECT pg_total_relation_size('search_postings') + pg_total_relation_size('search_terms')",
        &[],
    )?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// Vacuums what a search reads, as autovacuum leaves a table that has
/// stopped growing fast: the visibility map current, statistics fresh.
pub fn vacuum_search(url: &str) -> Result<(), postgres::Error> {
    let mut client = Client::connect(url, NoTls)?;
    client.batch_execute("VACUUM (ANALYZE) search_postings, search_terms, messages")
}
