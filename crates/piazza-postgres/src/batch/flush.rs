//! Writes what a batch's jobs left pending in one statement: the new
//! messages and log entries, and the seqs, log heads and read positions
//! the cache changed. Each `UPDATE` names the value it expects to find
//! (the rows are locked, so it is there); a count that does not add up is
//! a conflict, and the batch runs again rather than skip or repeat a seq.

use piazza_core::{Error, Result};
use postgres::error::SqlState;

use crate::conn::Conn;

const FLUSH: &str = "
WITH new_messages AS (
    INSERT INTO messages
        (id, conversation_id, seq, sender_id, client_msg_id, text, sent_at, kind, ref, extra)
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                         $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[],
                         $25::text[])
    RETURNING 1
), new_entries AS (
    INSERT INTO account_log (account_id, log_seq, at, message_id, data)
    SELECT * FROM unnest($10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[])
    RETURNING 1
), moved_seqs AS (
    UPDATE conversations c SET last_seq = u.last_seq, last_activity_at = u.at
    FROM unnest($15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[])
        AS u(id, expected, last_seq, at)
    WHERE c.id = u.id AND c.last_seq = u.expected
    RETURNING 1
), moved_heads AS (
    UPDATE accounts a SET log_head = u.log_head
    FROM unnest($19::bigint[], $20::bigint[], $21::bigint[]) AS u(id, expected, log_head)
    WHERE a.id = u.id AND a.log_head = u.expected
    RETURNING 1
), moved_reads AS (
    UPDATE members m SET read_seq = u.read_seq
    FROM unnest($22::bigint[], $23::bigint[], $24::bigint[])
        AS u(conversation_id, account_id, read_seq)
    WHERE m.conversation_id = u.conversation_id AND m.account_id = u.account_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM new_messages), (SELECT count(*) FROM new_entries),
       (SELECT count(*) FROM moved_seqs), (SELECT count(*) FROM moved_heads),
       (SELECT count(*) FROM moved_reads)";

/// Columns of the rows to insert and of the values to move, as arrays.
#[derive(Default)]
struct Columns {
    messages: (Vec<i64>, Vec<i64>, Vec<i64>, Vec<i64>),
    message_texts: (Vec<String>, Vec<String>, Vec<i64>, Vec<Option<String>>),
    message_refs: Vec<Option<String>>,
    message_extras: Vec<Option<String>>,
    entries: (Vec<i64>, Vec<i64>, Vec<i64>),
    entry_bodies: (Vec<Option<i64>>, Vec<Option<String>>),
    seqs: (Vec<i64>, Vec<i64>, Vec<i64>, Vec<i64>),
    heads: (Vec<i64>, Vec<i64>, Vec<i64>),
    reads: (Vec<i64>, Vec<i64>, Vec<i64>),
}

/// Writes the pending rows and the dirty values, if any: chat's and the
/// logs' in one statement, Pay's in another (`pay.rs`), red-packet
/// claims' in a third (`red_packets.rs`), orders' in a fourth
/// (`shops.rs`).
pub(crate) fn flush(conn: &mut Conn) -> Result<()> {
    let started = std::time::Instant::now();
    flush_chat(conn)?;
    let chat = started.elapsed();
    super::pay::flush(conn)?;
    let pay = started.elapsed();
    super::red_packets::flush(conn)?;
    super::shops::flush(conn)?;
    tracing::trace!(
        chat_us = chat.as_micros() as u64,
        pay_us = (pay - chat).as_micros() as u64,
        claims_orders_us = (started.elapsed() - pay).as_micros() as u64,
        "flushed"
    );
    conn.batch_mut().flushed();
    Ok(())
}

fn flush_chat(conn: &mut Conn) -> Result<()> {
    let Some(columns) = columns(conn) else {
        return Ok(());
    };
    let expected = [
        columns.messages.0.len(),
        columns.entries.0.len(),
        columns.seqs.0.len(),
        columns.heads.0.len(),
        columns.reads.0.len(),
    ];
    let (m, t, e, s, h, r) = (
        &columns.messages,
        &columns.message_texts,
        &columns.entries,
        &columns.seqs,
        &columns.heads,
        &columns.reads,
    );
    let counts = conn
        .client_query(
            FLUSH,
            &[
                &m.0,
                &m.1,
                &m.2,
                &m.3,
                &t.0,
                &t.1,
                &t.2,
                &t.3,
                &columns.message_refs,
                &e.0,
                &e.1,
                &e.2,
                &columns.entry_bodies.0,
                &columns.entry_bodies.1,
                &s.0,
                &s.1,
                &s.2,
                &s.3,
                &h.0,
                &h.1,
                &h.2,
                &r.0,
                &r.1,
                &r.2,
                &columns.message_extras,
            ],
        )
        .map_err(conflict_on_raced_key)?;
    all_written(&counts, &expected)
}

/// Whether a flush wrote every row it meant to: `counts` is its answer,
/// one count per part. A row not where it was read (or already there) is
/// another writer's doing: a conflict, and the batch runs again.
pub(crate) fn all_written(counts: &[postgres::Row], expected: &[usize]) -> Result<()> {
    let row = counts
        .first()
        .ok_or_else(|| Error::Engine("flush answered no row".into()))?;
    for (index, expected) in expected.iter().enumerate() {
        let written: i64 = row.get(index);
        if written != *expected as i64 {
            return Err(Error::Conflict(format!(
                "a flush wrote {written} of {expected} rows (part {index}): another writer moved them"
            )));
        }
    }
    Ok(())
}

/// The pending rows and dirty values as columns; `None` if nothing waits.
fn columns(conn: &mut Conn) -> Option<Columns> {
    let batch = conn.batch_mut();
    let (pending, cache) = (&mut batch.pending, &batch.cache);
    let dirty_seqs = cache
        .conversations
        .iter()
        .filter(|(_, c)| c.last_seq.is_dirty());
    let dirty_heads = cache
        .heads
        .iter()
        .filter_map(|(id, head)| Some((id, (*head)?)));
    let dirty_heads = dirty_heads.filter(|(_, head)| head.is_dirty());
    let dirty_reads = cache
        .members
        .iter()
        .filter_map(|(key, m)| Some((key, (*m)?)));
    let dirty_reads = dirty_reads.filter(|(_, member)| member.read_seq.is_dirty());
    let mut columns = Columns::default();
    for message in pending.messages.drain(..) {
        let (m, t) = (&mut columns.messages, &mut columns.message_texts);
        m.0.push(message.id);
        m.1.push(message.conversation);
        m.2.push(message.seq);
        m.3.push(message.sender);
        t.0.push(message.client_msg_id);
        t.1.push(message.text);
        t.2.push(message.sent_at);
        t.3.push(message.kind);
        columns.message_refs.push(message.reference);
        columns.message_extras.push(message.extra);
    }
    for entry in pending.entries.drain(..) {
        let e = &mut columns.entries;
        e.0.push(entry.account);
        e.1.push(entry.log_seq);
        e.2.push(entry.at);
        columns.entry_bodies.0.push(entry.message);
        columns.entry_bodies.1.push(entry.data);
    }
    for (id, conversation) in dirty_seqs {
        let s = &mut columns.seqs;
        s.0.push(*id);
        s.1.push(conversation.last_seq.stored);
        s.2.push(conversation.last_seq.now);
        s.3.push(conversation.active_at);
    }
    for (id, head) in dirty_heads {
        columns.heads.0.push(*id);
        columns.heads.1.push(head.stored);
        columns.heads.2.push(head.now);
    }
    for ((conversation, account), member) in dirty_reads {
        columns.reads.0.push(*conversation);
        columns.reads.1.push(*account);
        columns.reads.2.push(member.read_seq.now);
    }
    let nothing = columns.messages.0.is_empty()
        && columns.entries.0.is_empty()
        && columns.seqs.0.is_empty()
        && columns.heads.0.is_empty()
        && columns.reads.0.is_empty();
    (!nothing).then_some(columns)
}

/// A unique key that another writer may take first, in a race the rules
/// expect: the batch runs again, and the rules find the winner's row and
/// answer as its retry (a sender's client id, an idempotency key) or use
/// it (a ledger account both made). Any other duplicate (a log entry, a
/// seq) is damage, not a race: the engine fails rather than run the batch
/// again and again.
const RACED_KEYS: [&str; 3] = [
    "messages_by_client_id",
    "idempotency_keys_pkey",
    "ledger_accounts_kind_holder_currency_key",
];

pub(crate) fn conflict_on_raced_key(error: postgres::Error) -> Error {
    let raced = error.as_db_error().is_some_and(|db| {
        *db.code() == SqlState::UNIQUE_VIOLATION
            && db
                .constraint()
                .is_some_and(|name| RACED_KEYS.contains(&name))
    });
    if raced {
        let why = error.as_db_error().map(|db| db.message().to_owned());
        return Error::Conflict(why.unwrap_or_else(|| error.to_string()));
    }
    crate::conn::error(error)
}
