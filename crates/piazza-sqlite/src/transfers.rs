//! Chat transfers in the store. Sending moves the money from the sender's
//! wallet into the transfer's own in-flight account and posts the transfer
//! message, in one writer job with the idempotency key's answer; accepting,
//! declining and expiring move it out again, each once.

use piazza_domain::event::{Event, TransferEvent};
use piazza_domain::ledger::Transaction;
use piazza_domain::money::{AmountMinor, Currency, Money};
use piazza_domain::store::{
    Idempotent, PinCheck, Transfer, TransferDecision, TransferRequest, TransferStatus,
};
use piazza_domain::{AccountId, ClientMsgId, MessageText, Rejection, Timestamp, TransferId};
use rusqlite::{Connection, Row, params};

use crate::error::{Error, Result};
use crate::writer::WriteCtx;
use crate::{reads, wallet};

const TRANSFER_COLUMNS: &str =
    "id, from_id, to_id, amount_minor, currency, note, status, created_at, expires_at";

fn transfer_from_row(row: &Row<'_>) -> Result<Transfer> {
    let amount: i64 = row.get(3)?;
    let currency: String = row.get(4)?;
    let status: i64 = row.get(6)?;
    let corrupt = |what: &str| Error::Corrupt(format!("transfer {}: {what}", amount));
    Ok(Transfer {
        transfer_id: TransferId::from_row(row.get(0)?),
        from: AccountId::from_row(row.get(1)?),
        to: AccountId::from_row(row.get(2)?),
        money: Money::new(
            AmountMinor::positive(amount).map_err(|_| corrupt("amount"))?,
            Currency::parse(&currency).map_err(|_| corrupt("currency"))?,
        ),
        note: row.get(5)?,
        status: TransferStatus::from_code(status).ok_or_else(|| corrupt("status"))?,
        created_at: Timestamp::from_unix_ms(row.get(7)?),
        expires_at: Timestamp::from_unix_ms(row.get(8)?),
    })
}

pub(crate) fn load(conn: &Connection, transfer: TransferId) -> Result<Option<Transfer>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE id = ?1"
    ))?;
    let mut rows = statement.query([transfer.row()])?;
    match rows.next()? {
        Some(row) => Ok(Some(transfer_from_row(row)?)),
        None => Ok(None),
    }
}

pub(crate) fn event(transfer: &Transfer) -> TransferEvent {
    TransferEvent {
        transfer_id: transfer.transfer_id,
        from: transfer.from,
        to: transfer.to,
        amount_minor: transfer.money.amount.get(),
        currency: transfer.money.currency.as_str().to_owned(),
        status: transfer.status.as_str().to_owned(),
    }
}

/// "Transfer of 12.34 CNY" (two decimals, the minor unit of CNY).
fn describe(money: Money) -> String {
    let minor = money.amount.get();
    format!(
        "Transfer of {}.{:02} {}",
        minor / 100,
        minor % 100,
        money.currency.as_str()
    )
}

/// The outer `Result` fails the job; the inner one is a refusal that must
/// still commit (a wrong PIN is counted). Every refusal is decided by
/// reading, before the first change: the job runs without a savepoint of
/// its own (`Writer::run_refusing_first`).
pub fn send(
    ctx: &mut WriteCtx<'_>,
    sender: AccountId,
    request: Idempotent,
    asked: TransferRequest,
    pin: PinCheck,
) -> Result<std::result::Result<Transfer, Rejection>> {
    if let Some(value) = wallet::stored_response(ctx.conn, sender, &request)? {
        let row = value["transfer_id"]
            .as_i64()
            .ok_or_else(|| Error::Corrupt(format!("idempotency response {value}")))?;
        let transfer = load(ctx.conn, TransferId::from_row(row))?
            .ok_or_else(|| Error::Corrupt(format!("idempotency answer without transfer {row}")))?;
        return Ok(Ok(transfer));
    }
    // Decided before any change: this job runs without a savepoint.
    if ctx.money_halted {
        return Ok(Err(Rejection::MoneyHalted));
    }
    // The same answer for an unknown id as for a stranger.
    if asked.to == sender || !reads::are_contacts(ctx.conn, sender, asked.to)? {
        return Ok(Err(Rejection::NotAContact));
    }
    if let Some(refused) = wallet::check_pin(ctx, sender, pin)? {
        return Ok(Err(refused));
    }
    let balance = wallet::balance(ctx.conn, sender, asked.money.currency)?;
    if balance < asked.money.amount.get() {
        return Ok(Err(Rejection::InsufficientFunds));
    }
    send_money(ctx, sender, &request, asked).map(Ok)
}

fn send_money(
    ctx: &mut WriteCtx<'_>,
    sender: AccountId,
    request: &Idempotent,
    asked: TransferRequest,
) -> Result<Transfer> {
    let row: i64 = ctx
        .conn
        .prepare_cached(
            "INSERT INTO transfers
             (from_id, to_id, amount_minor, currency, note, status, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        )?
        .query_row(
            params![
                sender.row(),
                asked.to.row(),
                asked.money.amount.get(),
                asked.money.currency.as_str(),
                asked.note,
                TransferStatus::Pending.code(),
                ctx.now.unix_ms(),
                asked.expires_at.unix_ms()
            ],
            |row| row.get(0),
        )?;
    let transfer = Transfer {
        transfer_id: TransferId::from_row(row),
        from: sender,
        to: asked.to,
        money: asked.money,
        note: asked.note,
        status: TransferStatus::Pending,
        created_at: ctx.now,
        expires_at: asked.expires_at,
    };
    let reference = transfer.transfer_id.to_string();
    wallet::post(
        ctx,
        &Transaction::transfer_send(sender, row, asked.money),
        sender,
        &reference,
    )?;
    let conversation = piazza_core::chat::open_direct(ctx, sender, asked.to)?;
    let membership = reads::membership(ctx.conn, sender, conversation)?
        .ok_or_else(|| Error::Corrupt(format!("{sender} is not in its direct {conversation}")))?;
    let members = reads::member_ids(ctx.conn, conversation)?;
    // White space no client may put in a `client_msg_id`, so this id can
    // never collide with one of the sender's own messages.
    let client_msg_id = ClientMsgId::from_store(format!("transfer {reference}"));
    let text = MessageText::parse(&describe(asked.money))
        .map_err(|error| Error::Corrupt(format!("transfer message text: {error}")))?;
    piazza_core::chat::append_message(
        ctx,
        sender,
        conversation,
        membership.last_seq,
        members,
        client_msg_id,
        text,
        Some(("transfer", reference)),
    )?;
    ctx.append_log(sender, Event::TransferSent(event(&transfer)))?;
    ctx.append_log(asked.to, Event::TransferReceived(event(&transfer)))?;
    wallet::store_response(
        ctx,
        sender,
        request,
        &serde_json::json!({ "transfer_id": row }),
    )?;
    Ok(transfer)
}

/// Moves a pending transfer out of flight and marks it `status`.
fn resolve(ctx: &mut WriteCtx<'_>, transfer: &mut Transfer, status: TransferStatus) -> Result<()> {
    let row = transfer.transfer_id.row();
    let (transaction, initiator) = match status {
        TransferStatus::Accepted => (
            Transaction::transfer_accept(transfer.to, row, transfer.money),
            transfer.to,
        ),
        TransferStatus::Declined => (
            Transaction::transfer_decline(transfer.from, row, transfer.money),
            transfer.to,
        ),
        TransferStatus::Returned => (
            Transaction::transfer_expire(transfer.from, row, transfer.money),
            transfer.from,
        ),
        TransferStatus::Pending => {
            return Err(Error::Corrupt(
                "a transfer cannot go back to pending".into(),
            ));
        }
    };
    let changed = ctx
        .conn
        .prepare_cached(
            "UPDATE transfers SET status = ?1, resolved_at = ?2 WHERE id = ?3 AND status = ?4",
        )?
        .execute(params![
            status.code(),
            ctx.now.unix_ms(),
            row,
            TransferStatus::Pending.code()
        ])?;
    if changed != 1 {
        return Err(Error::Corrupt(format!(
            "{} was not pending",
            transfer.transfer_id
        )));
    }
    wallet::post(
        ctx,
        &transaction,
        initiator,
        &transfer.transfer_id.to_string(),
    )?;
    transfer.status = status;
    let logged = event(transfer);
    let event = match status {
        TransferStatus::Accepted => Event::TransferAccepted(logged),
        TransferStatus::Declined => Event::TransferDeclined(logged),
        _ => Event::TransferReturned(logged),
    };
    ctx.append_log(transfer.from, event.clone())?;
    ctx.append_log(transfer.to, event)?;
    Ok(())
}

pub fn decide(
    ctx: &mut WriteCtx<'_>,
    recipient: AccountId,
    transfer: TransferId,
    decision: TransferDecision,
) -> Result<Transfer> {
    let mut found = load(ctx.conn, transfer)?
        .filter(|found| found.to == recipient)
        .ok_or(Rejection::TransferNotFound)?;
    let wanted = match decision {
        TransferDecision::Accept => TransferStatus::Accepted,
        TransferDecision::Decline => TransferStatus::Declined,
    };
    if found.status == wanted {
        return Ok(found);
    }
    if found.status == TransferStatus::Pending && found.expires_at <= ctx.now {
        // Past its expiry the transfer is the sweeper's to return (within a
        // second); it can no longer be accepted or declined.
        return Err(Rejection::TransferNotPending { status: "expired" }.into());
    }
    if found.status != TransferStatus::Pending {
        return Err(Rejection::TransferNotPending {
            status: found.status.as_str(),
        }
        .into());
    }
    resolve(ctx, &mut found, wanted)?;
    Ok(found)
}

pub fn return_expired(ctx: &mut WriteCtx<'_>, now: Timestamp, limit: u32) -> Result<usize> {
    let mut statement = ctx.conn.prepare_cached(&format!(
        "SELECT {TRANSFER_COLUMNS} FROM transfers
         WHERE status = 0 AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2"
    ))?;
    let mut rows = statement.query(params![now.unix_ms(), i64::from(limit)])?;
    let mut expired = Vec::new();
    while let Some(row) = rows.next()? {
        expired.push(transfer_from_row(row)?);
    }
    drop(rows);
    drop(statement);
    let count = expired.len();
    for mut transfer in expired {
        resolve(ctx, &mut transfer, TransferStatus::Returned)?;
    }
    Ok(count)
}

pub fn get(conn: &Connection, viewer: AccountId, transfer: TransferId) -> Result<Transfer> {
    Ok(load(conn, transfer)?
        .filter(|found| found.from == viewer || found.to == viewer)
        .ok_or(Rejection::TransferNotFound)?)
}
