//! Red packets. Sending moves the total into the packet's escrow and
//! posts the packet message in one job with the key's answer; each claim
//! draws a share from the pot (the domain's `RedPacketPot`), posts it and
//! records the claim in one job, under the packet's lock, so claims
//! racing each other can never over- or under-pay; the sweeper gives the
//! unclaimed rest of an expired packet back.

use piazza_domain::event::{ConversationKind, Event, RedPacketEvent};
use piazza_domain::ledger::Transaction;
use piazza_domain::money::{AmountMinor, Money};
use piazza_domain::red_packet::RedPacketPot;
use piazza_domain::store::{
    Idempotent, PinCheck, RedPacket, RedPacketClaim, RedPacketRequest, StoreResult,
};
use piazza_domain::{AccountId, ClientMsgId, MessageText, RedPacketId, Rejection, Timestamp};

use super::wallet::{self, KeyAnswer, refused, unexpected_answer};
use crate::accounts::Caller;
use crate::engine::{Error, Lane, Read, Result, Tx, refusable};
use crate::{Core, chat};

/// The queries of red packets, as every engine answers them.
pub trait Reads {
    /// A packet, without its claims.
    fn red_packet(&mut self, packet: RedPacketId) -> Result<Option<RedPacket>>;
    /// The claims of a packet, oldest first (by time, then account).
    fn red_packet_claims(&mut self, packet: RedPacketId) -> Result<Vec<RedPacketClaim>>;
    /// `account`'s claim of a packet, if it claimed one.
    fn red_packet_claim(
        &mut self,
        packet: RedPacketId,
        account: AccountId,
    ) -> Result<Option<RedPacketClaim>>;
}

/// The changes of red packets, inside an engine's transaction.
pub trait Writes {
    /// A new open packet from `sender`, its pot the whole total, created
    /// at `at`.
    fn insert_red_packet(
        &mut self,
        sender: AccountId,
        asked: &RedPacketRequest,
        at: Timestamp,
    ) -> Result<RedPacketId>;
    /// A packet as [`Reads::red_packet`], its row locked for the rest of
    /// the transaction: its pot is drawn from, or it is closed, under it.
    fn red_packet_for_update(&mut self, packet: RedPacketId) -> Result<Option<RedPacket>>;
    /// Sets the packet's pot to `after` if it still is `before` (a
    /// compare-and-set over the locked row); `false` if it was not.
    fn draw_from_pot(&mut self, packet: RedPacketId, before: Pot, after: Pot) -> Result<bool>;
    /// Records `account`'s claim of `amount_minor`. One per member: the
    /// engine's unique key refuses a second (a conflict, were two racing
    /// claims of one member not already serialised by the packet's lock).
    fn insert_claim(
        &mut self,
        packet: RedPacketId,
        account: AccountId,
        amount_minor: i64,
        at: Timestamp,
    ) -> Result<()>;
    /// Open packets expired by `now`, soonest expiry first, `limit` at
    /// most, each locked for the rest of the transaction (PostgreSQL may
    /// skip rows another transaction holds: a later sweep takes them).
    fn expired_red_packets_for_update(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<RedPacket>>;
    /// Closes a packet: nothing left in its pot, no claim after.
    fn close_red_packet(&mut self, packet: RedPacketId) -> Result<()>;
}

/// What is left in a packet's pot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pot {
    pub remaining_minor: i64,
    pub remaining_shares: u32,
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

/// Sends a red packet into a conversation the sender is a member of (in a
/// direct one, to a contact). The outer `Result` fails the job; the inner
/// one is a refusal that must still commit (a wrong PIN is counted).
pub fn send_red_packet(
    tx: &mut dyn Tx,
    sender: AccountId,
    request: &Idempotent,
    asked: &RedPacketRequest,
    pin: PinCheck,
) -> Result<std::result::Result<RedPacket, Rejection>> {
    if let Some(answer) = wallet::replay(tx.reads(), sender, request)? {
        let KeyAnswer::RedPacket(packet) = answer else {
            return Err(unexpected_answer(&answer));
        };
        let found = tx.reads().red_packet(packet)?;
        return found
            .map(Ok)
            .ok_or_else(|| Error::Corrupt(format!("idempotency answer without {packet}")));
    }
    let Some(membership) = tx.membership_for_update(sender, asked.conversation)? else {
        return Ok(Err(Rejection::NotAMember));
    };
    let members = tx.reads().member_ids(asked.conversation)?;
    if membership.kind == ConversationKind::Direct {
        let peer = members.iter().copied().find(|member| *member != sender);
        match peer {
            Some(peer) if tx.reads().are_contacts(sender, peer)? => {
                if let Some(refused) = crate::blocks::barrier(tx.reads(), sender, peer)? {
                    return Ok(Err(refused));
                }
            }
            _ => return Ok(Err(Rejection::NotAContact)),
        }
    }
    if let Some(refused) = wallet::check_pin(tx, sender, pin)? {
        return Ok(Err(refused));
    }
    let last_seq = membership.last_seq;
    refusable(tx, |tx| {
        send_money(tx, sender, request, asked, last_seq, members.clone())
    })
}

/// The packet's row, its escrow's posting, its message and the key's
/// answer; refused whole by too little money.
fn send_money(
    tx: &mut dyn Tx,
    sender: AccountId,
    request: &Idempotent,
    asked: &RedPacketRequest,
    last_seq: piazza_domain::Seq,
    members: Vec<AccountId>,
) -> Result<RedPacket> {
    let now = tx.now();
    let packet = RedPacket {
        red_packet_id: tx.insert_red_packet(sender, asked, now)?,
        conversation: asked.conversation,
        sender,
        total: asked.total,
        count: asked.count.get(),
        mode: asked.mode,
        greeting: asked.greeting.clone(),
        remaining_minor: asked.total.amount.get(),
        remaining_shares: asked.count.get(),
        refunded: false,
        created_at: now,
        expires_at: asked.expires_at,
        claims: Vec::new(),
    };
    let reference = packet.red_packet_id.to_string();
    let row = packet.red_packet_id.row();
    let transaction = Transaction::red_packet_create(sender, row, asked.total);
    wallet::post(tx, &transaction, sender, &reference)?;
    let greeting = packet.greeting.as_deref().unwrap_or("Best wishes");
    let text = MessageText::parse(&format!("Red packet: {greeting}"))
        .map_err(|error| Error::Corrupt(format!("red packet message text: {error}")))?;
    // White space no client may put in a `client_msg_id`, so this id can
    // never collide with one of the sender's own messages.
    let client_msg_id = ClientMsgId::from_store(format!("red packet {reference}"));
    let body = chat::Body::special(text, "red_packet", reference);
    let conversation = asked.conversation;
    chat::append_message(
        tx,
        sender,
        conversation,
        last_seq,
        members,
        client_msg_id,
        body,
    )?;
    let answer = KeyAnswer::RedPacket(packet.red_packet_id);
    wallet::store_answer(tx, sender, request, answer)?;
    Ok(packet)
}

/// The packet, if `viewer` is a member of its conversation; else, like an
/// unknown packet, not found.
fn visible(read: &mut dyn Read, viewer: AccountId, packet: RedPacket) -> Result<RedPacket> {
    if !read.is_member(viewer, packet.conversation)? {
        return Err(Rejection::RedPacketNotFound.into());
    }
    Ok(packet)
}

/// A member's share: drawn on the first claim, the same one after.
pub fn claim_red_packet(
    tx: &mut dyn Tx,
    account: AccountId,
    packet: RedPacketId,
) -> Result<RedPacketClaim> {
    let found = tx
        .red_packet_for_update(packet)?
        .ok_or(Rejection::RedPacketNotFound)?;
    let found = visible(tx.reads(), account, found)?;
    if let Some(earlier) = tx.reads().red_packet_claim(packet, account)? {
        return Ok(earlier);
    }
    let now = tx.now();
    if found.refunded || found.expires_at <= now {
        return Err(Rejection::RedPacketExpired.into());
    }
    let before = Pot {
        remaining_minor: found.remaining_minor,
        remaining_shares: found.remaining_shares,
    };
    let broken = |error| Error::Corrupt(format!("{packet}: {error}"));
    let mut pot = RedPacketPot::resume(found.mode, before.remaining_minor, before.remaining_shares)
        .map_err(broken)?;
    if pot.is_empty() {
        return Err(Rejection::RedPacketEmpty.into());
    }
    let share = pot.claim(&mut rand::rng()).map_err(broken)?;
    let after = Pot {
        remaining_minor: pot.remaining_minor(),
        remaining_shares: pot.remaining_shares(),
    };
    if !tx.draw_from_pot(packet, before, after)? {
        return Err(Error::Corrupt(format!(
            "{packet}'s pot changed under its lock"
        )));
    }
    tx.insert_claim(packet, account, share.get(), now)?;
    let money = Money::new(share, found.total.currency);
    let transaction = Transaction::red_packet_claim(account, packet.row(), money);
    wallet::post(tx, &transaction, account, &packet.to_string())?;
    let logged = Event::RedPacketClaimed(event(&found, Some(account), share.get()));
    tx.append_log(account, logged.clone())?;
    if found.sender != account {
        tx.append_log(found.sender, logged)?;
    }
    Ok(RedPacketClaim {
        account,
        amount_minor: share.get(),
        claimed_at: now,
    })
}

/// A packet and its claims, for the members of its conversation.
pub fn red_packet(
    read: &mut dyn Read,
    viewer: AccountId,
    packet: RedPacketId,
) -> Result<RedPacket> {
    let found = read
        .red_packet(packet)?
        .ok_or(Rejection::RedPacketNotFound)?;
    let mut found = visible(read, viewer, found)?;
    found.claims = read.red_packet_claims(packet)?;
    Ok(found)
}

/// Closes the open packets expired by `now`, `limit` at most, giving the
/// unclaimed rest of each back to its sender; answers how many closed.
pub fn refund_expired_red_packets(tx: &mut dyn Tx, now: Timestamp, limit: u32) -> Result<usize> {
    let expired = tx.expired_red_packets_for_update(now, limit)?;
    let count = expired.len();
    for packet in expired {
        tx.close_red_packet(packet.red_packet_id)?;
        let Ok(rest) = AmountMinor::positive(packet.remaining_minor) else {
            continue;
        };
        let row = packet.red_packet_id.row();
        let money = Money::new(rest, packet.total.currency);
        let transaction = Transaction::red_packet_refund(packet.sender, row, money);
        let reference = packet.red_packet_id.to_string();
        wallet::post(tx, &transaction, packet.sender, &reference)?;
        let logged = Event::RedPacketRefunded(event(&packet, None, rest.get()));
        tx.append_log(packet.sender, logged)?;
    }
    Ok(count)
}

impl Core {
    /// Moves the total into the packet's escrow and posts the packet
    /// message; the sender must be a member of the conversation.
    pub async fn send_red_packet(
        &self,
        sender: AccountId,
        request: Idempotent,
        packet: RedPacketRequest,
        pin: PinCheck,
    ) -> StoreResult<RedPacket> {
        let lane = Lane::conversation(packet.conversation);
        let job = move |tx: &mut dyn Tx| send_red_packet(tx, sender, &request, &packet, pin);
        refused(self.write_in(lane, job).await?)
    }

    /// A member's share: drawn on the first claim, the same one after.
    pub async fn claim_red_packet(
        &self,
        caller: impl Into<Caller>,
        packet: RedPacketId,
    ) -> StoreResult<RedPacketClaim> {
        let caller = caller.into();
        // One packet's claims meet in one writer's batch: each draws from
        // the pot the one before left.
        let lane = Lane::Of(packet.row() as u64);
        self.write_in(lane, move |tx| {
            caller.stands(tx)?;
            claim_red_packet(tx, caller.account, packet)
        })
        .await
    }

    /// A packet and its claims, for the members of its conversation.
    pub async fn red_packet(
        &self,
        viewer: AccountId,
        packet: RedPacketId,
    ) -> StoreResult<RedPacket> {
        self.read(move |read| red_packet(read, viewer, packet))
            .await
    }

    /// Refunds the unclaimed rest of up to `limit` packets expired by
    /// `now`; answers how many packets were closed.
    pub async fn refund_expired_red_packets(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<usize> {
        self.write(move |tx| refund_expired_red_packets(tx, now, limit))
            .await
    }
}
