//! Every query. Each takes a plain connection, so the writer uses the same
//! functions inside its transaction that the read pool uses outside it.

use std::sync::Arc;

use piazza_domain::event::{ConversationKind, Event, LogEntry, Message};
use piazza_domain::store::{
    Account, ConversationSummary, Credentials, Device, DeviceSeen, HistoryPage, LogPage, Page,
    Session, TokenHash,
};
use piazza_domain::{
    AccountId, ClientMsgId, ConversationId, DeviceId, LogSeq, MediaId, MessageId, MessageText, Seq,
    Timestamp, Username,
};
use rusqlite::{Connection, OptionalExtension, Row};

use crate::error::{Error, Result};

/// What a member's row says about a conversation.
#[derive(Debug, Clone, Copy)]
pub struct Membership {
    pub kind: ConversationKind,
    pub owner: Option<AccountId>,
    pub last_seq: Seq,
    pub read_seq: Seq,
    pub from_seq: Seq,
}

fn kind_from_row(kind: i64) -> Result<ConversationKind> {
    match kind {
        0 => Ok(ConversationKind::Direct),
        1 => Ok(ConversationKind::Group),
        other => Err(Error::Corrupt(format!("conversation kind {other}"))),
    }
}

/// The columns `account_from_row` reads, of the `accounts` table.
pub const ACCOUNT_COLUMNS: &str = "id, username, display_name, avatar_media_id, bio";

/// An account from `ACCOUNT_COLUMNS` starting at column `first`.
pub fn account_at(row: &Row<'_>, first: usize) -> rusqlite::Result<Account> {
    Ok(Account {
        account_id: AccountId::from_row(row.get(first)?),
        username: Username::from_store(row.get(first + 1)?),
        display_name: row.get(first + 2)?,
        avatar_media_id: row.get::<_, Option<i64>>(first + 3)?.map(MediaId::from_row),
        bio: row.get::<_, Option<String>>(first + 4)?.unwrap_or_default(),
    })
}

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    account_at(row, 0)
}

pub fn account(conn: &Connection, account: AccountId) -> Result<Account> {
    find_account(conn, account)?
        .ok_or_else(|| Error::Corrupt(format!("{account} is referenced but missing")))
}

/// An account by id, if there is one (an id from outside may name none).
pub fn find_account(conn: &Connection, account: AccountId) -> Result<Option<Account>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"
        ))?
        .query_row([account.row()], account_from_row)
        .optional()?)
}

pub fn account_by_username(conn: &Connection, username: &Username) -> Result<Option<Account>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = ?1"
        ))?
        .query_row([username.as_str()], account_from_row)
        .optional()?)
}

pub fn credentials(conn: &Connection, username: &Username) -> Result<Option<Credentials>> {
    Ok(conn
        .prepare_cached("SELECT id, password_hash FROM accounts WHERE username = ?1")?
        .query_row([username.as_str()], |row| {
            Ok(Credentials {
                account_id: AccountId::from_row(row.get(0)?),
                password_hash: row.get(1)?,
            })
        })
        .optional()?)
}

pub fn authenticate(conn: &Connection, token_hash: TokenHash) -> Result<Option<Session>> {
    Ok(conn
        .prepare_cached(
            "SELECT account_id, id, last_seen_at, user_agent, last_seen_address
             FROM devices WHERE token_hash = ?1 AND revoked_at IS NULL",
        )?
        .query_row([&token_hash.0[..]], |row| {
            Ok(Session {
                account_id: AccountId::from_row(row.get(0)?),
                device_id: DeviceId::from_row(row.get(1)?),
                last_seen_at: Timestamp::from_unix_ms(row.get(2)?),
                seen: DeviceSeen {
                    user_agent: row.get(3)?,
                    address: row.get(4)?,
                },
            })
        })
        .optional()?)
}

/// Cuts a list fetched with one extra row into a page.
fn page<T>(mut items: Vec<T>, limit: u32) -> Page<T> {
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    Page { items, has_more }
}

pub fn devices(
    conn: &Connection,
    account: AccountId,
    after: Option<DeviceId>,
    limit: u32,
) -> Result<Vec<Device>> {
    let mut statement = conn.prepare_cached(
        "SELECT id, name, created_at, last_seen_at, user_agent, last_seen_address FROM devices
         WHERE account_id = ?1 AND revoked_at IS NULL AND id > ?2 ORDER BY id LIMIT ?3",
    )?;
    let after = after.map_or(0, DeviceId::row);
    let devices = statement
        .query_map(
            rusqlite::params![account.row(), after, i64::from(limit) + 1],
            |row| {
                Ok(Device {
                    device_id: DeviceId::from_row(row.get(0)?),
                    device_name: row.get(1)?,
                    created_at: Timestamp::from_unix_ms(row.get(2)?),
                    last_seen_at: Timestamp::from_unix_ms(row.get(3)?),
                    seen: DeviceSeen {
                        user_agent: row.get(4)?,
                        address: row.get(5)?,
                    },
                })
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(devices)
}

pub fn are_contacts(conn: &Connection, a: AccountId, b: AccountId) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM contacts WHERE account_id = ?1 AND contact_id = ?2")?
        .query_row([a.row(), b.row()], |_| Ok(()))
        .optional()?
        .is_some())
}

pub fn contact_count(conn: &Connection, account: AccountId) -> Result<usize> {
    let count: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM contacts WHERE account_id = ?1")?
        .query_row([account.row()], |row| row.get(0))?;
    Ok(count as usize)
}

pub fn membership(
    conn: &Connection,
    account: AccountId,
    conversation: ConversationId,
) -> Result<Option<Membership>> {
    let found: Option<(i64, Option<i64>, i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT c.kind, c.owner_id, c.last_seq, m.read_seq, m.from_seq
             FROM members m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.conversation_id = ?1 AND m.account_id = ?2",
        )?
        .query_row([conversation.row(), account.row()], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })
        .optional()?;
    let Some((kind, owner, last_seq, read_seq, from_seq)) = found else {
        return Ok(None);
    };
    Ok(Some(Membership {
        kind: kind_from_row(kind)?,
        owner: owner.map(AccountId::from_row),
        last_seq: Seq::from_store(last_seq),
        read_seq: Seq::from_store(read_seq),
        from_seq: Seq::from_store(from_seq),
    }))
}

pub fn member_ids(conn: &Connection, conversation: ConversationId) -> Result<Vec<AccountId>> {
    let mut statement = conn.prepare_cached(
        "SELECT account_id FROM members WHERE conversation_id = ?1 ORDER BY account_id",
    )?;
    let members = statement
        .query_map([conversation.row()], |row| {
            Ok(AccountId::from_row(row.get(0)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(members)
}

pub fn conversations(
    conn: &Connection,
    account: AccountId,
    after: Option<(Timestamp, ConversationId)>,
    limit: u32,
) -> Result<Page<ConversationSummary>> {
    let mut statement = conn.prepare_cached(
        "SELECT c.id, c.kind, c.title, c.owner_id, c.last_seq, m.read_seq,
                (SELECT COUNT(*) FROM members x WHERE x.conversation_id = c.id),
                peer.display_name, c.last_activity_at, c.avatar_media_id,
                peer.id, peer.avatar_media_id, peer_member.read_seq
         FROM members m JOIN conversations c ON c.id = m.conversation_id
         LEFT JOIN accounts peer ON c.kind = 0 AND peer.id =
             (SELECT p.account_id FROM members p
              WHERE p.conversation_id = c.id AND p.account_id <> ?1 LIMIT 1)
         LEFT JOIN members peer_member
             ON peer_member.conversation_id = c.id AND peer_member.account_id = peer.id
         WHERE m.account_id = ?1
           AND (c.last_activity_at < ?2 OR (c.last_activity_at = ?2 AND c.id < ?3))
         ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?4",
    )?;
    let (after_at, after_row) =
        after.map_or((i64::MAX, i64::MAX), |(at, id)| (at.unix_ms(), id.row()));
    let rows = statement
        .query_map(
            rusqlite::params![account.row(), after_at, after_row, i64::from(limit) + 1],
            |row| {
                let kind = row.get::<_, i64>(1)?;
                let last_seq: i64 = row.get(4)?;
                let read_seq: i64 = row.get(5)?;
                let peer = row.get::<_, Option<i64>>(10)?.map(AccountId::from_row);
                let (title, avatar) = if peer.is_some() {
                    (
                        row.get::<_, Option<String>>(7)?,
                        row.get::<_, Option<i64>>(11)?,
                    )
                } else {
                    (
                        row.get::<_, Option<String>>(2)?,
                        row.get::<_, Option<i64>>(9)?,
                    )
                };
                Ok((
                    kind,
                    ConversationSummary {
                        conversation_id: ConversationId::from_row(row.get(0)?),
                        kind: ConversationKind::Group,
                        title: title.unwrap_or_default(),
                        last_seq: Seq::from_store(last_seq),
                        read_seq: Seq::from_store(read_seq),
                        unread: (last_seq - read_seq).max(0),
                        member_count: row.get(6)?,
                        owner: row.get::<_, Option<i64>>(3)?.map(AccountId::from_row),
                        avatar_media_id: avatar.map(MediaId::from_row),
                        peer,
                        peer_read_seq: row.get::<_, Option<i64>>(12)?.map(Seq::from_store),
                        last_activity_at: Timestamp::from_unix_ms(row.get(8)?),
                    },
                ))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(kind, mut summary)| {
            summary.kind = kind_from_row(kind)?;
            Ok(summary)
        })
        .collect::<Result<Vec<_>>>()
        .map(|items| page(items, limit))
}

const MESSAGE_COLUMNS: &str =
    "id, conversation_id, seq, sender_id, client_msg_id, text, sent_at, kind, ref";

/// `columns` ("a, b") as columns of the table named `alias` ("m.a, m.b").
fn prefixed(columns: &str, alias: &str) -> String {
    columns
        .split(", ")
        .map(|column| format!("{alias}.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn message_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<Message> {
    Ok(Message {
        message_id: MessageId::from_row(row.get(first)?),
        conversation_id: ConversationId::from_row(row.get(first + 1)?),
        seq: Seq::from_store(row.get(first + 2)?),
        sender: AccountId::from_row(row.get(first + 3)?),
        client_msg_id: ClientMsgId::from_store(row.get(first + 4)?),
        text: MessageText::from_store(row.get(first + 5)?),
        sent_at: Timestamp::from_unix_ms(row.get(first + 6)?),
        kind: row.get(first + 7)?,
        reference: row.get(first + 8)?,
    })
}

/// The message `sender` sent with `client_msg_id`, to answer a retry. Only
/// messages people send have client ids to look up (schema 10): those the
/// server posts for a transfer or a red packet are never found here.
pub fn message_by_client_id(
    conn: &Connection,
    sender: AccountId,
    client_msg_id: &ClientMsgId,
) -> Result<Option<Message>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE sender_id = ?1 AND client_msg_id = ?2
               AND kind IS NOT 'transfer' AND kind IS NOT 'red_packet'"
        ))?
        .query_row(
            rusqlite::params![sender.row(), client_msg_id.as_str()],
            |row| message_from_row(row, 0),
        )
        .optional()?)
}

/// A member's view of the history: messages since they joined, newest first.
pub fn history(
    conn: &Connection,
    viewer: AccountId,
    conversation: ConversationId,
    before: Option<Seq>,
    limit: u32,
) -> Result<Option<HistoryPage>> {
    let Some(membership) = membership(conn, viewer, conversation)? else {
        return Ok(None);
    };
    let before = before.map_or(i64::MAX, Seq::get);
    // The history's index is in two tables (`tails.rs`): the page's
    // messages come from both, newest first, in one statement.
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {} FROM (
             SELECT message_id, seq FROM messages_by_conversation
             WHERE conversation_id = ?1 AND seq > ?2 AND seq < ?3
             UNION ALL
             SELECT message_id, seq FROM messages_by_conversation_tail
             WHERE conversation_id = ?1 AND seq > ?2 AND seq < ?3
             ORDER BY seq DESC LIMIT ?4) page
         JOIN messages m ON m.id = page.message_id
         ORDER BY page.seq DESC",
        prefixed(MESSAGE_COLUMNS, "m")
    ))?;
    let mut messages = statement
        .query_map(
            rusqlite::params![
                conversation.row(),
                membership.from_seq.get(),
                before,
                i64::from(limit) + 1
            ],
            |row| message_from_row(row, 0),
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let has_more = messages.len() > limit as usize;
    messages.truncate(limit as usize);
    Ok(Some(HistoryPage { messages, has_more }))
}

/// One range scan of an account's log: the entries after `after`.
pub fn log_after(
    conn: &Connection,
    account: AccountId,
    after: LogSeq,
    limit: u32,
) -> Result<LogPage> {
    // The log is in two tables (`tails.rs`): one statement, so one
    // snapshot, merges their ranges in order.
    let columns = prefixed(MESSAGE_COLUMNS, "m");
    let mut statement = conn.prepare_cached(&format!(
        "SELECT l.log_seq, l.at, l.data, {columns}
         FROM account_log l LEFT JOIN messages m ON m.id = l.message_id
         WHERE l.account_id = ?1 AND l.log_seq > ?2
         UNION ALL
         SELECT l.log_seq, l.at, l.data, {columns}
         FROM account_log_tail l LEFT JOIN messages m ON m.id = l.message_id
         WHERE l.account_id = ?1 AND l.log_seq > ?2
         ORDER BY 1 LIMIT ?3"
    ))?;
    let mut rows = statement.query(rusqlite::params![
        account.row(),
        after.get(),
        i64::from(limit) + 1
    ])?;
    let mut entries = Vec::with_capacity(limit.min(1024) as usize);
    let mut has_more = false;
    while let Some(row) = rows.next()? {
        if entries.len() == limit as usize {
            has_more = true;
            break;
        }
        let seq = LogSeq::from_stored(row.get(0)?);
        let at = Timestamp::from_unix_ms(row.get(1)?);
        let data: Option<String> = row.get(2)?;
        let event = match data {
            Some(data) => crate::log_data::decode(conn, &data).map_err(|error| {
                Error::Corrupt(format!("log entry {seq:?} of {account}: {error}"))
            })?,
            None => Event::MessageNew(Arc::new(message_from_row(row, 3)?)),
        };
        entries.push(LogEntry {
            account,
            seq,
            at,
            event,
        });
    }
    let end = match entries.last() {
        Some(entry) => entry.seq,
        // A cursor past the head (another account's, or from before a
        // restore) must not carry the client past entries still to come.
        None => after.min(log_head(conn, account)?),
    };
    Ok(LogPage {
        entries,
        end,
        has_more,
    })
}

/// The last position handed out in an account's log.
pub fn log_head(conn: &Connection, account: AccountId) -> Result<LogSeq> {
    let head: Option<i64> = conn
        .prepare_cached("SELECT log_head FROM accounts WHERE id = ?1")?
        .query_row([account.row()], |row| row.get(0))
        .optional()?;
    Ok(LogSeq::from_stored(head.unwrap_or(0)))
}
