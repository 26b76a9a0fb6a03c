//! Red packets in the store. Sending moves the total into the packet's
//! escrow and posts the packet message in one writer job with the key's
//! answer; each claim draws a share from the pot, posts it and records the
//! claim in one job, so claims racing each other are serialised by the
//! writer and can never over- or under-pay.

use piazza_domain::event::{Event, RedPacketEvent};
use piazza_domain::ledger::Transaction;
use piazza_domain::money::{AmountMinor, Currency, Money};
use piazza_domain::red_packet::{RedPacketPot, SplitMode};
use piazza_domain::store::{Idempotent, PinCheck, RedPacket, RedPacketClaim, RedPacketRequest};
use piazza_domain::{
    AccountId, ClientMsgId, ConversationId, ConversationKind, MessageText, RedPacketId, Rejection,
    Timestamp,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::{Error, Result};
use crate::writer::WriteCtx;
use crate::{reads, wallet};

const OPEN: i64 = 0;
const CLOSED: i64 = 1;

const PACKET_COLUMNS: &str = "id, sender_id, conversation_id, total_minor, currency, share_count, \
     mode, greeting, remaining_minor, remaining_shares, status, created_at, expires_at";

fn packet_from_row(row: &Row<'_>) -> Result<RedPacket> {
    let id: i64 = row.get(0)?;
    let corrupt = |what: &str| Error::Corrupt(format!("red packet {id}: {what}"));
    let total: i64 = row.get(3)?;
    let currency: String = row.get(4)?;
    let mode: String = row.get(6)?;
    Ok(RedPacket {
        red_packet_id: RedPacketId::from_row(id),
        sender: AccountId::from_row(row.get(1)?),
        conversation: ConversationId::from_row(row.get(2)?),
        total: Money::new(
            AmountMinor::positive(total).map_err(|_| corrupt("total"))?,
            Currency::parse(&currency).map_err(|_| corrupt("currency"))?,
        ),
        count: row.get(5)?,
        mode: SplitMode::parse(&mode).map_err(|_| corrupt("mode"))?,
        greeting: row.get(7)?,
        remaining_minor: row.get(8)?,
        remaining_shares: row.get(9)?,
        refunded: row.get::<_, i64>(10)? == CLOSED,
        created_at: Timestamp::from_unix_ms(row.get(11)?),
        expires_at: Timestamp::from_unix_ms(row.get(12)?),
        claims: Vec::new(),
    })
}

fn load(conn: &Connection, packet: RedPacketId) -> Result<Option<RedPacket>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {PACKET_COLUMNS} FROM red_packets WHERE id = ?1"
    ))?;
    let mut rows = statement.query([packet.row()])?;
    match rows.next()? {
        Some(row) => Ok(Some(packet_from_row(row)?)),
        None => Ok(None),
    }
}

fn claims(conn: &Connection, packet: RedPacketId) -> Result<Vec<RedPacketClaim>> {
    let mut statement = conn.prepare_cached(
        "SELECT account_id, amount_minor, claimed_at FROM red_packet_claims
         WHERE red_packet_id = ?1 ORDER BY claimed_at, account_id",
    )?;
    let claims = statement
        .query_map([packet.row()], |row| {
            Ok(RedPacketClaim {
                account: AccountId::from_row(row.get(0)?),
                amount_minor: row.get(1)?,
                claimed_at: Timestamp::from_unix_ms(row.get(2)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(claims)
}

/// The packet, if `viewer` is a member of its conversation; else not found.
fn visible(conn: &Connection, viewer: AccountId, packet: RedPacketId) -> Result<RedPacket> {
    let found = load(conn, packet)?.ok_or(Rejection::RedPacketNotFound)?;
    if reads::membership(conn, viewer, found.conversation)?.is_none() {
        return Err(Rejection::RedPacketNotFound.into());
    }
    Ok(found)
}

fn event(packet: &RedPacket, claimer: Option<AccountId>, amount_minor: i64) -> RedPacketEvent {
    RedPacketEvent {
        red_packet_id: packet.red_packet_id,
        conversation_id: packet.conversation,
        sender: packet.sender,
        claimer,
        amount_minor,
        currency: packet.total.currency.as_str().to_owned(),
    }
}

/// The outer `Result` rolls the job back; the inner one is a refusal that
/// must still commit (a wrong PIN is counted).
pub fn send(
    ctx: &mut WriteCtx<'_>,
    sender: AccountId,
    request: Idempotent,
    asked: RedPacketRequest,
    pin: PinCheck,
) -> Result<std::result::Result<RedPacket, Rejection>> {
    if let Some(value) = wallet::stored_response(ctx.conn, sender, &request)? {
        let row = value["red_packet_id"]
            .as_i64()
            .ok_or_else(|| Error::Corrupt(format!("idempotency response {value}")))?;
        let packet = load(ctx.conn, RedPacketId::from_row(row))?.ok_or_else(|| {
            Error::Corrupt(format!("idempotency answer without red packet {row}"))
        })?;
        return Ok(Ok(packet));
    }
    let Some(membership) = reads::membership(ctx.conn, sender, asked.conversation)? else {
        return Ok(Err(Rejection::NotAMember));
    };
    let members = reads::member_ids(ctx.conn, asked.conversation)?;
    if membership.kind == ConversationKind::Direct {
        let peer = members.iter().copied().find(|member| *member != sender);
        match peer {
            Some(peer) if reads::are_contacts(ctx.conn, sender, peer)? => {}
            _ => return Ok(Err(Rejection::NotAContact)),
        }
    }
    if let Some(refused) = wallet::check_pin(ctx, sender, pin)? {
        return Ok(Err(refused));
    }
    ctx.refusable(|ctx| send_money(ctx, sender, &request, asked, membership.last_seq, members))
}

fn send_money(
    ctx: &mut WriteCtx<'_>,
    sender: AccountId,
    request: &Idempotent,
    asked: RedPacketRequest,
    last_seq: piazza_domain::Seq,
    members: Vec<AccountId>,
) -> Result<RedPacket> {
    let row: i64 = ctx
        .conn
        .prepare_cached(
            "INSERT INTO red_packets
             (sender_id, conversation_id, total_minor, currency, share_count, mode, greeting,
              remaining_minor, remaining_shares, status, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?3, ?5, ?8, ?9, ?10) RETURNING id",
        )?
        .query_row(
            params![
                sender.row(),
                asked.conversation.row(),
                asked.total.amount.get(),
                asked.total.currency.as_str(),
                asked.count.get(),
                asked.mode.as_str(),
                asked.greeting,
                OPEN,
                ctx.now.unix_ms(),
                asked.expires_at.unix_ms()
            ],
            |row| row.get(0),
        )?;
    let packet = RedPacket {
        red_packet_id: RedPacketId::from_row(row),
        conversation: asked.conversation,
        sender,
        total: asked.total,
        count: asked.count.get(),
        mode: asked.mode,
        greeting: asked.greeting,
        remaining_minor: asked.total.amount.get(),
        remaining_shares: asked.count.get(),
        refunded: false,
        created_at: ctx.now,
        expires_at: asked.expires_at,
        claims: Vec::new(),
    };
    let reference = packet.red_packet_id.to_string();
    wallet::post(
        ctx,
        &Transaction::red_packet_create(sender, row, asked.total),
        sender,
        &reference,
    )?;
    let text = format!(
        "Red packet: {}",
        packet.greeting.as_deref().unwrap_or("Best wishes")
    );
    let text = MessageText::parse(&text)
        .map_err(|error| Error::Corrupt(format!("red packet message text: {error}")))?;
    // White space no client may put in a `client_msg_id`, so this id can
    // never collide with one of the sender's own messages.
    let client_msg_id = ClientMsgId::from_store(format!("red packet {reference}"));
    piazza_core::chat::append_message(
        ctx,
        sender,
        asked.conversation,
        last_seq,
        members,
        client_msg_id,
        text,
        Some(("red_packet", reference)),
    )?;
    wallet::store_response(
        ctx,
        sender,
        request,
        &serde_json::json!({ "red_packet_id": row }),
    )?;
    Ok(packet)
}

pub fn claim(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    packet: RedPacketId,
) -> Result<RedPacketClaim> {
    let found = visible(ctx.conn, account, packet)?;
    let earlier: Option<(i64, i64)> = ctx
        .conn
        .prepare_cached(
            "SELECT amount_minor, claimed_at FROM red_packet_claims
             WHERE red_packet_id = ?1 AND account_id = ?2",
        )?
        .query_row(params![packet.row(), account.row()], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    if let Some((amount_minor, at)) = earlier {
        return Ok(RedPacketClaim {
            account,
            amount_minor,
            claimed_at: Timestamp::from_unix_ms(at),
        });
    }
    if found.refunded || found.expires_at <= ctx.now {
        return Err(Rejection::RedPacketExpired.into());
    }
    let mut pot = RedPacketPot::resume(found.mode, found.remaining_minor, found.remaining_shares)
        .map_err(|error| Error::Corrupt(format!("{packet}: {error}")))?;
    if pot.is_empty() {
        return Err(Rejection::RedPacketEmpty.into());
    }
    let share = pot
        .claim(&mut rand::rng())
        .map_err(|error| Error::Corrupt(format!("{packet}: {error}")))?;
    let changed = ctx
        .conn
        .prepare_cached(
            "UPDATE red_packets SET remaining_minor = ?1, remaining_shares = ?2
             WHERE id = ?3 AND remaining_minor = ?4 AND remaining_shares = ?5",
        )?
        .execute(params![
            pot.remaining_minor(),
            pot.remaining_shares(),
            packet.row(),
            found.remaining_minor,
            found.remaining_shares
        ])?;
    if changed != 1 {
        return Err(Error::Corrupt(format!(
            "{packet}'s pot changed under the writer"
        )));
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO red_packet_claims (red_packet_id, account_id, amount_minor, claimed_at)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            packet.row(),
            account.row(),
            share.get(),
            ctx.now.unix_ms()
        ])?;
    let money = Money::new(share, found.total.currency);
    wallet::post(
        ctx,
        &Transaction::red_packet_claim(account, packet.row(), money),
        account,
        &packet.to_string(),
    )?;
    let logged = Event::RedPacketClaimed(event(&found, Some(account), share.get()));
    ctx.append_log(account, logged.clone())?;
    if found.sender != account {
        ctx.append_log(found.sender, logged)?;
    }
    Ok(RedPacketClaim {
        account,
        amount_minor: share.get(),
        claimed_at: ctx.now,
    })
}

pub fn get(conn: &Connection, viewer: AccountId, packet: RedPacketId) -> Result<RedPacket> {
    let mut found = visible(conn, viewer, packet)?;
    found.claims = claims(conn, packet)?;
    Ok(found)
}

pub fn refund_expired(ctx: &mut WriteCtx<'_>, now: Timestamp, limit: u32) -> Result<usize> {
    let mut statement = ctx.conn.prepare_cached(&format!(
        "SELECT {PACKET_COLUMNS} FROM red_packets
         WHERE status = 0 AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2"
    ))?;
    let mut rows = statement.query(params![now.unix_ms(), i64::from(limit)])?;
    let mut expired = Vec::new();
    while let Some(row) = rows.next()? {
        expired.push(packet_from_row(row)?);
    }
    drop(rows);
    drop(statement);
    let count = expired.len();
    for packet in expired {
        ctx.conn
            .prepare_cached(
                "UPDATE red_packets SET status = ?1, remaining_minor = 0, remaining_shares = 0
                 WHERE id = ?2",
            )?
            .execute(params![CLOSED, packet.red_packet_id.row()])?;
        let Ok(rest) = AmountMinor::positive(packet.remaining_minor) else {
            continue;
        };
        wallet::post(
            ctx,
            &Transaction::red_packet_refund(
                packet.sender,
                packet.red_packet_id.row(),
                Money::new(rest, packet.total.currency),
            ),
            packet.sender,
            &packet.red_packet_id.to_string(),
        )?;
        ctx.append_log(
            packet.sender,
            Event::RedPacketRefunded(event(&packet, None, rest.get())),
        )?;
    }
    Ok(count)
}
