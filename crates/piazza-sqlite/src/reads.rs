//! Every query. Each takes a plain connection, so the writer uses the same
//! functions inside its transaction that the read pool uses outside it.

use piazza_core::chat::Membership;
use piazza_domain::event::{ConversationKind, Extra, Message, Recall, stored};
use piazza_domain::store::{Account, Credentials, Device, DeviceSeen, Session, TokenHash};
use piazza_domain::{
    AccountId, ClientMsgId, ConversationId, DeviceId, MediaId, MessageId, MessageText, Seq,
    Timestamp, Username,
};
use rusqlite::{Connection, OptionalExtension, Row};

use crate::error::{Error, Result};

pub(crate) fn kind_from_row(kind: i64) -> Result<ConversationKind> {
    match kind {
        0 => Ok(ConversationKind::Direct),
        1 => Ok(ConversationKind::Group),
        2 => Ok(ConversationKind::Order),
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

/// An account that must exist (the unit tests' look-up).
#[cfg(test)]
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

pub(crate) const MESSAGE_COLUMNS: &str = "id, conversation_id, seq, sender_id, client_msg_id, text, sent_at, kind, ref, recalled_at, recalled_by, extra";

/// `columns` ("a, b") as columns of the table named `alias` ("m.a, m.b").
pub(crate) fn prefixed(columns: &str, alias: &str) -> String {
    columns
        .split(", ")
        .map(|column| format!("{alias}.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn message_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<Message> {
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
        recalled: recall_of(row.get(first + 9)?, row.get(first + 10)?),
        extra: extra_of(row, first + 11)?,
    })
}

/// A message's extra from its JSON column.
fn extra_of(row: &Row<'_>, column: usize) -> rusqlite::Result<Option<Box<Extra>>> {
    let json: Option<String> = row.get(column)?;
    stored::Extra::from_json(json.as_deref()).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, error.into())
    })
}

/// A recall from its columns (both set, or neither).
fn recall_of(at: Option<i64>, by: Option<i64>) -> Option<Recall> {
    Some(Recall {
        at: Timestamp::from_unix_ms(at?),
        by: AccountId::from_row(by?),
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
