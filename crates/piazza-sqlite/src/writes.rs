//! Contacts and sessions as the store still decides them, each a function
//! run by the writer inside its own savepoint, with the rules that need
//! the data checked in the same transaction as the change. Chat's rules
//! moved to `piazza_core::chat` (its SQL is in `chat.rs`).

use piazza_domain::event::{Event, Named};
use piazza_domain::limits;
use piazza_domain::store::{Account, DeviceSeen, TokenHash};
use piazza_domain::{
    AccountId, ContactRequestId, DeviceId, DeviceName, Greeting, Rejection, Username,
};
use rusqlite::{OptionalExtension, params};

use crate::error::Result;
use crate::reads;
use crate::writer::WriteCtx;

pub fn create_session(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    device_name: DeviceName,
    token_hash: TokenHash,
    seen: &DeviceSeen,
) -> Result<DeviceId> {
    let live: i64 = ctx
        .conn
        .prepare_cached(
            "SELECT COUNT(*) FROM devices WHERE account_id = ?1 AND revoked_at IS NULL",
        )?
        .query_row([account.row()], |row| row.get(0))?;
    if live as usize >= limits::DEVICES_PER_ACCOUNT_MAX {
        return Err(Rejection::TooMany {
            what: "devices",
            max: limits::DEVICES_PER_ACCOUNT_MAX,
        }
        .into());
    }
    let row: i64 = ctx
        .conn
        .prepare_cached(
            "INSERT INTO devices
                 (account_id, name, token_hash, created_at, last_seen_at, user_agent, last_seen_address)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6) RETURNING id",
        )?
        .query_row(
            params![
                account.row(),
                device_name.as_str(),
                &token_hash.0[..],
                ctx.now.unix_ms(),
                seen.user_agent,
                seen.address
            ],
            |row| row.get(0),
        )?;
    Ok(DeviceId::from_row(row))
}

pub fn request_contact(
    ctx: &mut WriteCtx<'_>,
    from: AccountId,
    to: Username,
    greeting: Greeting,
) -> Result<ContactRequestId> {
    let to = reads::account_by_username(ctx.conn, &to)?.ok_or(Rejection::AccountNotFound)?;
    if to.account_id == from {
        return Err(Rejection::SelfTarget.into());
    }
    if reads::are_contacts(ctx.conn, from, to.account_id)? {
        return Err(Rejection::AlreadyContacts.into());
    }
    // They already asked us (even if we declined it then): asking back is
    // accepting.
    if let Some(reverse) = open_request(ctx.conn, to.account_id, from)? {
        let request = ContactRequestId::from_row(reverse.row);
        accept_request(ctx, from, request)?;
        return Ok(request);
    }
    let request = match open_request(ctx.conn, from, to.account_id)? {
        Some(open) => return ask_again(ctx, open, from, &to, &greeting),
        None => {
            let row: i64 = ctx
                .conn
                .prepare_cached(
                    "INSERT INTO contact_requests (from_id, to_id, greeting, created_at)
                     VALUES (?1, ?2, ?3, ?4) RETURNING id",
                )?
                .query_row(
                    params![
                        from.row(),
                        to.account_id.row(),
                        greeting.as_str(),
                        ctx.now.unix_ms()
                    ],
                    |row| row.get(0),
                )?;
            ContactRequestId::from_row(row)
        }
    };
    let event = request_event(ctx, request, from, &to, &greeting)?;
    ctx.append_log(to.account_id, event.clone())?;
    ctx.append_log(from, event)?;
    Ok(request)
}

fn request_event(
    ctx: &WriteCtx<'_>,
    request: ContactRequestId,
    from: AccountId,
    to: &Account,
    greeting: &Greeting,
) -> Result<Event> {
    Ok(Event::ContactRequest {
        request_id: request,
        from: reads::account(ctx.conn, from)?.to_ref(),
        to: to.to_ref(),
        greeting: greeting.as_str().to_owned(),
    })
}

/// The request open (pending, or declined: its sender still sees it
/// pending) from `from` to `to`, if there is one.
fn open_request(
    conn: &rusqlite::Connection,
    from: AccountId,
    to: AccountId,
) -> Result<Option<OpenRequest>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, greeting, status, declined_at FROM contact_requests
             WHERE from_id = ?1 AND to_id = ?2 AND status IN (0, 2)",
        )?
        .query_row([from.row(), to.row()], |row| {
            let declined = row.get::<_, i64>(2)? == 2;
            let declined_at: Option<i64> = row.get(3)?;
            Ok(OpenRequest {
                row: row.get(0)?,
                greeting: row.get(1)?,
                declined_at: declined.then(|| declined_at.unwrap_or(0)),
            })
        })
        .optional()?)
}

/// The sender asks again. Whatever the recipient did, the sender sees
/// exactly what asking again about a pending request shows (the answer,
/// their outgoing list, nothing in their log), so a decline cannot be
/// told from silence: the same greeting changes nothing; a new one is
/// kept with the time it was asked, and is not logged again (a stranger
/// editing a greeting must not grow someone else's log without end).
/// Apart from that, a request declined long enough ago is pending again
/// and reaches the recipient's log once more, not the sender's; one
/// declined lately stays declined, so a refused sender reaches the same
/// person again at most once per wait.
fn ask_again(
    ctx: &mut WriteCtx<'_>,
    open: OpenRequest,
    from: AccountId,
    to: &Account,
    greeting: &Greeting,
) -> Result<ContactRequestId> {
    let request = ContactRequestId::from_row(open.row);
    if open.greeting != greeting.as_str() {
        ctx.conn
            .prepare_cached(
                "UPDATE contact_requests SET greeting = ?1, created_at = ?2 WHERE id = ?3",
            )?
            .execute(params![greeting.as_str(), ctx.now.unix_ms(), open.row])?;
    }
    let reopens = open
        .declined_at
        .is_some_and(|at| ctx.now.unix_ms() - at >= limits::CONTACT_REQUEST_RETRY_AFTER_DECLINE_MS);
    if reopens {
        ctx.conn
            .prepare_cached(
                "UPDATE contact_requests SET status = 0, declined_at = NULL WHERE id = ?1",
            )?
            .execute([open.row])?;
        let event = request_event(ctx, request, from, to, greeting)?;
        ctx.append_log(to.account_id, event)?;
    }
    Ok(request)
}

/// A contact request still open for its sender.
struct OpenRequest {
    row: i64,
    greeting: String,
    /// When the recipient declined it, if they did.
    declined_at: Option<i64>,
}

/// A contact request's sender, recipient and status (0 pending, 1
/// accepted, 2 declined), as the writer sees it now.
pub(crate) fn request_parties(
    ctx: &WriteCtx<'_>,
    request: ContactRequestId,
) -> Result<Option<(i64, i64, i64)>> {
    Ok(ctx
        .conn
        .prepare_cached("SELECT from_id, to_id, status FROM contact_requests WHERE id = ?1")?
        .query_row([request.row()], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?)
}

pub fn accept_request(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    request: ContactRequestId,
) -> Result<()> {
    let found = request_parties(ctx, request)?;
    let Some((from, to, status)) = found else {
        return Err(Rejection::RequestNotFound.into());
    };
    if to != account.row() {
        return Err(Rejection::RequestNotFound.into());
    }
    // Accepted already; a declined one may still be accepted (its sender
    // still waits for an answer).
    if status == 1 {
        return Ok(());
    }
    let from = AccountId::from_row(from);
    // Settle open requests in both directions between the pair.
    ctx.conn
        .prepare_cached(
            "UPDATE contact_requests SET status = 1, declined_at = NULL
             WHERE status IN (0, 2)
               AND ((from_id = ?1 AND to_id = ?2) OR (from_id = ?2 AND to_id = ?1))",
        )?
        .execute([from.row(), account.row()])?;
    if reads::are_contacts(ctx.conn, from, account)? {
        return Ok(());
    }
    for side in [from, account] {
        if reads::contact_count(ctx.conn, side)? >= limits::CONTACTS_PER_ACCOUNT_MAX {
            return Err(Rejection::TooMany {
                what: "contacts",
                max: limits::CONTACTS_PER_ACCOUNT_MAX,
            }
            .into());
        }
    }
    let mut insert = ctx.conn.prepare_cached(
        "INSERT INTO contacts (account_id, contact_id, since) VALUES (?1, ?2, ?3)",
    )?;
    insert.execute(params![from.row(), account.row(), ctx.now.unix_ms()])?;
    insert.execute(params![account.row(), from.row(), ctx.now.unix_ms()])?;
    drop(insert);
    let from_ref = reads::account(ctx.conn, from)?.to_ref();
    let account_ref = reads::account(ctx.conn, account)?.to_ref();
    ctx.append_log(
        from,
        Event::ContactAdded {
            contact: account_ref,
        },
    )?;
    ctx.append_log(account, Event::ContactAdded { contact: from_ref })?;
    Ok(())
}

pub fn remove_contact(ctx: &mut WriteCtx<'_>, account: AccountId, other: AccountId) -> Result<()> {
    let removed = ctx
        .conn
        .prepare_cached(
            "DELETE FROM contacts WHERE (account_id = ?1 AND contact_id = ?2) OR (account_id = ?2 AND contact_id = ?1)",
        )?
        .execute([account.row(), other.row()])?;
    if removed > 0 {
        let named = |conn, id| reads::account(conn, id).map(|found| Named::from(&found.to_ref()));
        let (other_named, account_named) = (named(ctx.conn, other)?, named(ctx.conn, account)?);
        ctx.append_log(
            account,
            Event::ContactRemoved {
                account_id: other,
                contact: other_named,
            },
        )?;
        ctx.append_log(
            other,
            Event::ContactRemoved {
                account_id: account,
                contact: account_named,
            },
        )?;
    }
    Ok(())
}
