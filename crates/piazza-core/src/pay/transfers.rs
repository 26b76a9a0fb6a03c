//! Chat transfers. Sending moves the money from the sender's wallet into
//! the transfer's own in-flight account and posts the transfer message in
//! the direct conversation, in one job with the idempotency key's answer;
//! accepting, declining and expiring move it out again, each once.

use piazza_domain::event::{Event, TransferEvent};
use piazza_domain::ledger::Transaction;
use piazza_domain::money::Money;
use piazza_domain::store::{
    Idempotent, PinCheck, StoreResult, Transfer, TransferDecision, TransferRequest, TransferStatus,
};
use piazza_domain::{AccountId, ClientMsgId, MessageText, Rejection, Timestamp, TransferId};

use super::wallet::{self, KeyAnswer, refused, unexpected_answer};
use crate::engine::{Error, Lane, Read, Result, Tx};
use crate::{Core, chat};

/// The queries of transfers, as every engine answers them.
pub trait Reads {
    fn transfer(&mut self, transfer: TransferId) -> Result<Option<Transfer>>;
}

/// The changes of transfers, inside an engine's transaction.
pub trait Writes {
    /// A new pending transfer from `sender`, created at `at`.
    fn insert_transfer(
        &mut self,
        sender: AccountId,
        asked: &TransferRequest,
        at: Timestamp,
    ) -> Result<TransferId>;
    /// A transfer, its row locked for the rest of the transaction: it is
    /// accepted, declined or returned once.
    fn transfer_for_update(&mut self, transfer: TransferId) -> Result<Option<Transfer>>;
    /// Pending transfers expired by `now`, soonest expiry first, `limit`
    /// at most, each locked for the rest of the transaction (PostgreSQL
    /// may skip rows another transaction holds: a later sweep takes them).
    fn expired_transfers_for_update(&mut self, now: Timestamp, limit: u32)
    -> Result<Vec<Transfer>>;
    /// Marks a pending transfer `status`, resolved at `at`; `false` if it
    /// was not pending.
    fn resolve_transfer(
        &mut self,
        transfer: TransferId,
        status: TransferStatus,
        at: Timestamp,
    ) -> Result<bool>;
}

/// A transfer as its events tell it.
pub fn event(transfer: &Transfer) -> TransferEvent {
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

/// Sends a transfer to a contact. The outer `Result` fails the job; the
/// inner one is a refusal that must still commit (a wrong PIN is
/// counted). Every refusal is decided by reading, before the first change
/// but the PIN's count, so an engine may run this job without a savepoint
/// of its own ([`Core::write_refusing_first`]).
pub fn send_transfer(
    tx: &mut dyn Tx,
    sender: AccountId,
    request: &Idempotent,
    asked: &TransferRequest,
    pin: PinCheck,
) -> Result<std::result::Result<Transfer, Rejection>> {
    if let Some(answer) = wallet::replay(tx.reads(), sender, request)? {
        let KeyAnswer::Transfer(transfer) = answer else {
            return Err(unexpected_answer(&answer));
        };
        let found = tx.reads().transfer(transfer)?;
        return found
            .map(Ok)
            .ok_or_else(|| Error::Corrupt(format!("idempotency answer without {transfer}")));
    }
    // Decided before any change, as every refusal here.
    if tx.money_halted() {
        return Ok(Err(Rejection::MoneyHalted));
    }
    // The same answer for an unknown id as for a stranger.
    if asked.to == sender || !tx.reads().are_contacts(sender, asked.to)? {
        return Ok(Err(Rejection::NotAContact));
    }
    if let Some(refused) = crate::blocks::barrier(tx.reads(), sender, asked.to)? {
        return Ok(Err(refused));
    }
    if let Some(refused) = wallet::check_pin(tx, sender, pin)? {
        return Ok(Err(refused));
    }
    let balance = tx.reads().wallet_balance(sender, asked.money.currency)?;
    if balance < asked.money.amount.get() {
        return Ok(Err(Rejection::InsufficientFunds));
    }
    send_money(tx, sender, request, asked).map(Ok)
}

/// The changes of a transfer that will not be refused: its row, its
/// posting, its message and both logs, and the key's answer.
fn send_money(
    tx: &mut dyn Tx,
    sender: AccountId,
    request: &Idempotent,
    asked: &TransferRequest,
) -> Result<Transfer> {
    let now = tx.now();
    let transfer = Transfer {
        transfer_id: tx.insert_transfer(sender, asked, now)?,
        from: sender,
        to: asked.to,
        money: asked.money,
        note: asked.note.clone(),
        status: TransferStatus::Pending,
        created_at: now,
        expires_at: asked.expires_at,
    };
    let reference = transfer.transfer_id.to_string();
    let transaction =
        Transaction::transfer_send(sender, transfer.transfer_id.row(), transfer.money);
    wallet::post(tx, &transaction, sender, &reference)?;
    post_message(tx, &transfer, reference)?;
    tx.append_log(sender, Event::TransferSent(event(&transfer)))?;
    tx.append_log(asked.to, Event::TransferReceived(event(&transfer)))?;
    let answer = KeyAnswer::Transfer(transfer.transfer_id);
    wallet::store_answer(tx, sender, request, answer)?;
    Ok(transfer)
}

/// The transfer's message in the direct conversation of its two sides,
/// opened if they have none yet.
fn post_message(tx: &mut dyn Tx, transfer: &Transfer, reference: String) -> Result<()> {
    let (sender, conversation) = (
        transfer.from,
        chat::open_direct(tx, transfer.from, transfer.to)?,
    );
    let membership = tx
        .membership_for_update(sender, conversation)?
        .ok_or_else(|| Error::Corrupt(format!("{sender} is not in its direct {conversation}")))?;
    let members = tx.reads().member_ids(conversation)?;
    // White space no client may put in a `client_msg_id`, so this id can
    // never collide with one of the sender's own messages.
    let client_msg_id = ClientMsgId::from_store(format!("transfer {reference}"));
    let text = MessageText::parse(&describe(transfer.money))
        .map_err(|error| Error::Corrupt(format!("transfer message text: {error}")))?;
    chat::append_message(
        tx,
        sender,
        conversation,
        membership.last_seq,
        members,
        client_msg_id,
        chat::Body::special(text, "transfer", reference),
    )?;
    Ok(())
}

/// Moves a pending transfer out of flight and marks it `status`; both
/// sides' logs learn it.
fn resolve(tx: &mut dyn Tx, transfer: &mut Transfer, status: TransferStatus) -> Result<()> {
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
    let now = tx.now();
    if !tx.resolve_transfer(transfer.transfer_id, status, now)? {
        let id = transfer.transfer_id;
        return Err(Error::Corrupt(format!("{id} was not pending")));
    }
    wallet::post(
        tx,
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
    tx.append_log(transfer.from, event.clone())?;
    tx.append_log(transfer.to, event)?;
    Ok(())
}

/// The recipient accepts or declines a pending transfer; deciding again
/// the same way answers the same transfer.
pub fn decide_transfer(
    tx: &mut dyn Tx,
    recipient: AccountId,
    transfer: TransferId,
    decision: TransferDecision,
) -> Result<Transfer> {
    let mut found = tx
        .transfer_for_update(transfer)?
        .filter(|found| found.to == recipient)
        .ok_or(Rejection::TransferNotFound)?;
    let wanted = match decision {
        TransferDecision::Accept => TransferStatus::Accepted,
        TransferDecision::Decline => TransferStatus::Declined,
    };
    if found.status == wanted {
        return Ok(found);
    }
    if found.status == TransferStatus::Pending && found.expires_at <= tx.now() {
        // Past its expiry the transfer is the sweeper's to return (within a
        // second); it can no longer be accepted or declined.
        return Err(Rejection::TransferNotPending { status: "expired" }.into());
    }
    if found.status != TransferStatus::Pending {
        let status = found.status.as_str();
        return Err(Rejection::TransferNotPending { status }.into());
    }
    resolve(tx, &mut found, wanted)?;
    Ok(found)
}

/// Returns pending transfers expired by `now` to their senders, `limit`
/// at most; answers how many.
pub fn return_expired_transfers(tx: &mut dyn Tx, now: Timestamp, limit: u32) -> Result<usize> {
    let expired = tx.expired_transfers_for_update(now, limit)?;
    let count = expired.len();
    for mut transfer in expired {
        resolve(tx, &mut transfer, TransferStatus::Returned)?;
    }
    Ok(count)
}

/// A transfer, for its sender or recipient only.
pub fn transfer(read: &mut dyn Read, viewer: AccountId, transfer: TransferId) -> Result<Transfer> {
    Ok(read
        .transfer(transfer)?
        .filter(|found| found.from == viewer || found.to == viewer)
        .ok_or(Rejection::TransferNotFound)?)
}

impl Core {
    /// Moves the money into the transfer's in-flight account and posts the
    /// transfer message in the direct conversation (opened if needed).
    pub async fn send_transfer(
        &self,
        sender: AccountId,
        request: Idempotent,
        asked: TransferRequest,
        pin: PinCheck,
    ) -> StoreResult<Transfer> {
        let lane = Lane::pair(sender, asked.to);
        let job = move |tx: &mut dyn Tx| send_transfer(tx, sender, &request, &asked, pin);
        refused(self.write_refusing_first(lane, job).await?)
    }

    /// The recipient's accept or decline; deciding again the same way
    /// answers the same transfer.
    pub async fn decide_transfer(
        &self,
        recipient: AccountId,
        transfer: TransferId,
        decision: TransferDecision,
    ) -> StoreResult<Transfer> {
        self.write(move |tx| decide_transfer(tx, recipient, transfer, decision))
            .await
    }

    /// A transfer its sender or recipient may see.
    pub async fn transfer(
        &self,
        viewer: AccountId,
        transfer_id: TransferId,
    ) -> StoreResult<Transfer> {
        self.read(move |read| transfer(read, viewer, transfer_id))
            .await
    }

    /// Returns up to `limit` pending transfers expired by `now` to their
    /// senders; answers how many.
    pub async fn return_expired_transfers(&self, now: Timestamp, limit: u32) -> StoreResult<usize> {
        self.write(move |tx| return_expired_transfers(tx, now, limit))
            .await
    }
}
