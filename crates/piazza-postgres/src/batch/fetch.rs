//! The batch's look-ups: one query per kind for every key its jobs
//! missed. Rows a job will change are locked, in key order within one
//! fetch; a batch's later rounds and direct jobs lock more in job order,
//! so two processes can still deadlock (the writer's lock timeout breaks
//! it, and the batch runs again: `writer.rs`, RELIABILITY.md).
//! A row the cache holds already is never replaced: its cached value may
//! be ahead of the database's (pending).

use std::collections::HashSet;

use piazza_core::Result;
use piazza_domain::AccountId;

use super::{Conversation, IdTable, Ids, Member, Misses, Tracked};
use crate::chat::{kind_of, message_at};
use crate::conn::Conn;

/// Fetches every kind `misses` names.
pub(super) fn all(conn: &mut Conn, misses: Misses) -> Result<()> {
    if !misses.sent.is_empty() {
        sent(conn, misses.sent)?;
    }
    if !misses.memberships.is_empty() {
        memberships(conn, misses.memberships)?;
    }
    if !misses.member_lists.is_empty() {
        member_lists(conn, misses.member_lists)?;
    }
    if !misses.contacts.is_empty() {
        contacts(conn, misses.contacts)?;
    }
    if !misses.blocks.is_empty() {
        blocks(conn, misses.blocks)?;
    }
    if !misses.sessions.is_empty() {
        sessions(conn, misses.sessions)?;
    }
    if !misses.directs.is_empty() {
        directs(conn, misses.directs)?;
    }
    if !misses.heads.is_empty() {
        heads(conn, misses.heads)?;
    }
    for table in misses.ids {
        ids(conn, table)?;
    }
    if !misses.keys.is_empty() {
        super::pay::fetch_keys(conn, misses.keys)?;
    }
    if !misses.pins.is_empty() {
        super::pay::fetch_pins(conn, misses.pins)?;
    }
    if !misses.ledger.is_empty() {
        super::pay::fetch_ledger(conn, misses.ledger)?;
    }
    if !misses.packets.is_empty() {
        super::red_packets::fetch_packets(conn, misses.packets)?;
    }
    if !misses.shops.is_empty() {
        super::shops::fetch_shops(conn, misses.shops)?;
    }
    if !misses.variant_reads.is_empty() {
        super::shops::fetch_variants(conn, misses.variant_reads, false)?;
    }
    if !misses.variants.is_empty() {
        super::shops::fetch_variants(conn, misses.variants, true)?;
    }
    if !misses.products.is_empty() {
        super::shops::fetch_products(conn, misses.products)?;
    }
    if !misses.orders.is_empty() {
        super::shops::fetch_orders(conn, misses.orders)?;
    }

    Ok(())
}

fn sorted<T: Ord>(keys: HashSet<T>) -> Vec<T> {
    let mut keys: Vec<T> = keys.into_iter().collect();
    keys.sort_unstable();
    keys
}

/// Messages by (sender, client id), as `message_by_client_id` finds them.
pub(crate) fn sent(conn: &mut Conn, keys: HashSet<(i64, String)>) -> Result<()> {
    let (senders, ids): (Vec<i64>, Vec<String>) = keys.iter().cloned().unzip();
    let rows = conn.raw_query(
        concat!(
            "SELECT ",
            crate::chat::message_columns!(),
            " FROM unnest($1::bigint[], $2::text[]) AS k(sender_id, client_msg_id)
             CROSS JOIN LATERAL (
                 SELECT * FROM messages x
                 WHERE x.sender_id = k.sender_id AND x.client_msg_id = k.client_msg_id
                   AND x.kind IS DISTINCT FROM 'transfer'
                   AND x.kind IS DISTINCT FROM 'red_packet'
                 LIMIT 1
             ) m"
        ),
        &[&senders, &ids],
    )?;
    let found = rows
        .iter()
        .map(|row| {
            let message = message_at(row, 0)?;
            let key = (
                message.sender.row(),
                message.client_msg_id.as_str().to_owned(),
            );
            Ok((key, message))
        })
        .collect::<Result<Vec<_>>>()?;
    conn.batch_mut()
        .answer(|cache| &mut cache.sent, keys, found);
    Ok(())
}

/// Members' rows and their conversations' rows, locked together.
pub(crate) fn memberships(conn: &mut Conn, keys: HashSet<(i64, i64)>) -> Result<()> {
    let keys = sorted(keys);
    let (conversations, accounts): (Vec<i64>, Vec<i64>) = keys.iter().copied().unzip();
    let rows = conn.raw_query(
        "SELECT x.* FROM unnest($1::bigint[], $2::bigint[]) AS k(conversation_id, account_id)
         CROSS JOIN LATERAL (
             SELECT m.conversation_id, m.account_id, c.kind, c.owner_id, c.last_seq,
                    m.read_seq, m.from_seq
             FROM members m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.conversation_id = k.conversation_id AND m.account_id = k.account_id
             FOR NO KEY UPDATE OF m, c
         ) x",
        &[&conversations, &accounts],
    )?;
    let batch = conn.batch_mut();
    for key in keys {
        if !batch.cache.members.contains_key(&key) {
            batch.set(|cache| &mut cache.members, key, None);
        }
    }
    for row in rows {
        let (conversation, account): (i64, i64) = (row.get(0), row.get(1));
        if !batch.cache.conversations.contains_key(&conversation) {
            let found = Conversation {
                kind: kind_of(row.get(2))?,
                owner: row.get::<_, Option<i64>>(3).map(AccountId::from_row),
                last_seq: Tracked::new(row.get(4)),
                active_at: 0,
            };
            batch.set(|cache| &mut cache.conversations, conversation, found);
        }
        if batch.cache.members.get(&(conversation, account)) == Some(&None) {
            let member = Member {
                read_seq: Tracked::new(row.get(5)),
                from_seq: row.get(6),
            };
            batch.set(
                |cache| &mut cache.members,
                (conversation, account),
                Some(member),
            );
        }
    }
    Ok(())
}

/// Conversations' members, ordered by account id.
pub(crate) fn member_lists(conn: &mut Conn, keys: HashSet<i64>) -> Result<()> {
    let keys = sorted(keys);
    let rows = conn.raw_query(
        "SELECT conversation_id, account_id FROM members
         WHERE conversation_id = ANY($1) ORDER BY conversation_id, account_id",
        &[&keys],
    )?;
    let mut lists: std::collections::HashMap<i64, Vec<AccountId>> =
        keys.iter().map(|key| (*key, Vec::new())).collect();
    for row in rows {
        if let Some(list) = lists.get_mut(&row.get::<_, i64>(0)) {
            list.push(AccountId::from_row(row.get(1)));
        }
    }
    let batch = conn.batch_mut();
    for (conversation, list) in lists {
        if !batch.cache.member_lists.contains_key(&conversation) {
            batch.set(|cache| &mut cache.member_lists, conversation, list);
        }
    }
    Ok(())
}

/// Whether each (account, contact) pair are contacts.
pub(crate) fn contacts(conn: &mut Conn, keys: HashSet<(i64, i64)>) -> Result<()> {
    let (accounts, contacts): (Vec<i64>, Vec<i64>) = keys.iter().copied().unzip();
    let rows = conn.raw_query(
        "SELECT x.account_id, x.contact_id
         FROM unnest($1::bigint[], $2::bigint[]) AS k(account_id, contact_id)
         CROSS JOIN LATERAL (
             SELECT * FROM contacts c
             WHERE c.account_id = k.account_id AND c.contact_id = k.contact_id
             LIMIT 1
         ) x",
        &[&accounts, &contacts],
    )?;
    let found: HashSet<(i64, i64)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    let batch = conn.batch_mut();
    for key in keys {
        if !batch.cache.contacts.contains_key(&key) {
            batch.set(|cache| &mut cache.contacts, key, found.contains(&key));
        }
    }
    Ok(())
}

/// Whether either of each (lower, higher) pair blocked the other.
pub(crate) fn blocks(conn: &mut Conn, keys: HashSet<(i64, i64)>) -> Result<()> {
    let (lows, highs): (Vec<i64>, Vec<i64>) = keys.iter().copied().unzip();
    let rows = conn.raw_query(
        "SELECT k.low, k.high
         FROM unnest($1::bigint[], $2::bigint[]) AS k(low, high)
         WHERE EXISTS (SELECT 1 FROM blocks b
                       WHERE (b.account_id = k.low AND b.blocked_id = k.high)
                          OR (b.account_id = k.high AND b.blocked_id = k.low))
            OR EXISTS (SELECT 1 FROM accounts a
                       WHERE a.id IN (k.low, k.high) AND a.deleted_at IS NOT NULL)",
        &[&lows, &highs],
    )?;
    let found: HashSet<(i64, i64)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    let batch = conn.batch_mut();
    for key in keys {
        if !batch.cache.blocks.contains_key(&key) {
            batch.set(|cache| &mut cache.blocks, key, found.contains(&key));
        }
    }
    Ok(())
}

/// Whether each (device, token hash) is a live session. Not locked: a
/// revocation committed while the batch runs orders after it, as it would
/// after a session read at the request's start.
pub(crate) fn sessions(conn: &mut Conn, keys: HashSet<(i64, [u8; 32])>) -> Result<()> {
    let (devices, hashes): (Vec<i64>, Vec<Vec<u8>>) = keys
        .iter()
        .map(|(device, hash)| (*device, hash.to_vec()))
        .unzip();
    let rows = conn.raw_query(
        "SELECT d.id, d.token_hash
         FROM unnest($1::bigint[], $2::bytea[]) AS k(id, token_hash)
         JOIN devices d ON d.id = k.id AND d.token_hash = k.token_hash
         WHERE d.revoked_at IS NULL",
        &[&devices, &hashes],
    )?;
    let found: HashSet<(i64, Vec<u8>)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    let batch = conn.batch_mut();
    for key in keys {
        if !batch.cache.sessions.contains_key(&key) {
            let live = found.contains(&(key.0, key.1.to_vec()));
            batch.set(|cache| &mut cache.sessions, key, live);
        }
    }
    Ok(())
}

/// Direct conversations by their pair's key.
pub(crate) fn directs(conn: &mut Conn, keys: HashSet<String>) -> Result<()> {
    let keys: Vec<String> = keys.into_iter().collect();
    let rows = conn.raw_query(
        "SELECT x.direct_key, x.id FROM unnest($1::text[]) AS k(direct_key)
         CROSS JOIN LATERAL (
             SELECT id, direct_key FROM conversations c WHERE c.direct_key = k.direct_key LIMIT 1
         ) x",
        &[&keys],
    )?;
    let found = rows.iter().map(|row| (row.get(0), row.get(1)));
    conn.batch_mut()
        .answer(|cache| &mut cache.directs, keys, found);
    Ok(())
}

/// Accounts' log heads, locked as the `UPDATE` of the head would lock
/// them (`FOR NO KEY UPDATE`: a row that merely references the account
/// does not wait).
pub(crate) fn heads(conn: &mut Conn, keys: HashSet<i64>) -> Result<()> {
    let keys = sorted(keys);
    let rows = conn.raw_query(
        "SELECT id, log_head FROM accounts WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
        &[&keys],
    )?;
    let found = rows
        .iter()
        .map(|row| (row.get(0), Tracked::new(row.get(1))));
    conn.batch_mut()
        .answer(|cache| &mut cache.heads, keys, found);
    Ok(())
}

/// A block of ids from `table`'s identity.
pub(crate) fn ids(conn: &mut Conn, table: IdTable) -> Result<()> {
    let rows = conn.raw_query(
        "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2::bigint)",
        &[&table.name(), &Ids::BLOCK],
    )?;
    let ids = rows.iter().map(|row| row.get(0)).collect();
    conn.batch_mut().cache.ids.refill(table, ids);
    Ok(())
}
