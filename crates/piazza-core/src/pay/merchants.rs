//! Merchants: who owns which shop, payments made to them by scanning their
//! code, refunds (never more than was paid), payment codes a buyer shows
//! and collections a merchant makes from them (done at once under the
//! no-PIN limit and within the buyer's daily cap, else waiting for the
//! buyer to confirm), and the money housekeeping of the sweeper.

use piazza_domain::event::{Event, PaymentEvent};
use piazza_domain::ledger::Transaction;
use piazza_domain::money::{Currency, Money};
use piazza_domain::store::{
    CodeAuthorization, CollectRequest, Idempotent, Merchant, Payment, PaymentDecision,
    PaymentStatus, PinCheck, Refund, StoreResult,
};
use piazza_domain::{AccountId, DeviceId, MerchantId, PaymentId, RefundId, Rejection, Timestamp};

use super::wallet::{self, KeyAnswer, refused, unexpected_answer};
use crate::Core;
use crate::engine::{Error, Read, Result, Tx, refusable};

/// The queries of merchants, as every engine answers them.
pub trait Reads {
    fn merchant(&mut self, merchant: MerchantId) -> Result<Option<MerchantRecord>>;
    /// The balance of `merchant`'s settlement account in `currency` (0
    /// before any payment).
    fn settlement_balance(&mut self, merchant: MerchantId, currency: Currency) -> Result<i64>;
    /// A payment, with its merchant's name.
    fn payment(&mut self, payment: PaymentId) -> Result<Option<Payment>>;
    /// When `device` of `account` last entered the right PIN; `None` if
    /// never since it was last forgotten, or no such device of `account`.
    fn pin_entered_at(&mut self, account: AccountId, device: DeviceId)
    -> Result<Option<Timestamp>>;
}

/// The changes of merchants, inside an engine's transaction.
pub trait Writes {
    fn insert_merchant(
        &mut self,
        owner: AccountId,
        name: &str,
        city: &str,
        at: Timestamp,
    ) -> Result<MerchantId>;
    /// A new payment, created at `at`, nothing refunded.
    fn insert_payment(&mut self, payment: &NewPayment, at: Timestamp) -> Result<PaymentId>;
    /// A payment as [`Reads::payment`], its row locked for the rest of the
    /// transaction: its status and refunded total change under rules.
    fn payment_for_update(&mut self, payment: PaymentId) -> Result<Option<Payment>>;
    fn set_refunded(&mut self, payment: PaymentId, refunded_minor: i64) -> Result<()>;
    fn insert_refund(
        &mut self,
        payment: PaymentId,
        amount_minor: i64,
        at: Timestamp,
    ) -> Result<RefundId>;
    /// Moves a payment to `status`, with no confirmation time any more.
    fn set_payment_status(&mut self, payment: PaymentId, status: PaymentStatus) -> Result<()>;
    /// Collections waiting for their buyer whose confirmation time is at
    /// or before `now`, oldest first, `limit` at most, each locked for the
    /// rest of the transaction (PostgreSQL may skip rows locked by
    /// another: a later sweep takes them).
    fn unconfirmed_payments_for_update(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Payment>>;
    /// Remembers when `device` last entered the right PIN (`None`: forget).
    fn set_pin_entered(&mut self, device: DeviceId, at: Option<Timestamp>) -> Result<()>;
    fn insert_payment_code(&mut self, code: &NewPaymentCode) -> Result<()>;
    /// The payment code whose hash is `code_hash`, locked for the rest of
    /// the transaction: it is used up at most once.
    fn payment_code_for_update(&mut self, code_hash: &[u8; 32]) -> Result<Option<PaymentCode>>;
    fn mark_code_used(&mut self, code_hash: &[u8; 32], at: Timestamp) -> Result<()>;
    /// How many collections from `buyer` completed without confirmation on
    /// UTC day `day`, and how much, read so that no concurrent transaction
    /// counts one for `buyer` on `day` until this one ends (PostgreSQL:
    /// lock the row, inserting it first if need be).
    fn collections_for_update(&mut self, buyer: AccountId, day: i64) -> Result<DayCount>;
    /// Counts one more collection of `amount_minor` for `buyer` on `day`.
    fn count_collection(&mut self, buyer: AccountId, day: i64, amount_minor: i64) -> Result<()>;
    /// Deletes idempotency keys stored before `before`, `limit` at most;
    /// answers how many.
    fn purge_keys(&mut self, before: Timestamp, limit: u32) -> Result<usize>;
    /// Deletes payment codes that expired before `before`, `limit` at most.
    fn purge_payment_codes(&mut self, before: Timestamp, limit: u32) -> Result<usize>;
    /// Deletes the daily collection counts of days before `day`, `limit`
    /// at most.
    fn purge_collection_days(&mut self, day: i64, limit: u32) -> Result<usize>;
}

/// A merchant's owner, name and city.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantRecord {
    pub owner: AccountId,
    pub name: String,
    /// Empty when none was given.
    pub city: String,
}

/// A payment about to be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPayment {
    pub merchant: MerchantId,
    pub buyer: AccountId,
    pub money: Money,
    pub status: PaymentStatus,
    /// For a collection waiting for the buyer: when it lapses.
    pub confirm_by: Option<Timestamp>,
}

/// A payment code about to be stored (only its hash is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPaymentCode {
    pub code_hash: [u8; 32],
    pub account: AccountId,
    pub device: DeviceId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A stored payment code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentCode {
    /// Whose code it is.
    pub buyer: AccountId,
    pub used: bool,
    pub expires_at: Timestamp,
    /// The device that showed it is still signed in.
    pub device_live: bool,
}

/// Collections of one buyer and day that completed without confirmation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCount {
    pub count: i64,
    pub amount_minor: i64,
}

/// Milliseconds in a UTC day, the period of the daily cap.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The UTC day `at` falls in, as days since the epoch.
fn day_of(at: Timestamp) -> i64 {
    at.unix_ms().div_euclid(DAY_MS)
}

fn payment_event(
    payment: &Payment,
    merchant_name: &str,
    amount_minor: i64,
    refund: Option<RefundId>,
) -> PaymentEvent {
    PaymentEvent {
        payment_id: payment.payment_id,
        merchant_id: payment.merchant_id,
        buyer: payment.buyer,
        amount_minor,
        currency: payment.money.currency.as_str().to_owned(),
        refund_id: refund,
        merchant_name: Some(merchant_name.to_owned()),
        collected: false,
    }
}

/// The merchant of a payment that is stored, which must exist.
fn merchant_of(read: &mut dyn Read, payment: &Payment) -> Result<MerchantRecord> {
    read.merchant(payment.merchant_id)?
        .ok_or_else(|| Error::Corrupt(format!("{} without its merchant", payment.payment_id)))
}

/// The payment a key's answer names, which must exist.
fn replayed_payment(read: &mut dyn Read, answer: KeyAnswer) -> Result<Payment> {
    let KeyAnswer::Payment(payment) = answer else {
        return Err(unexpected_answer(&answer));
    };
    read.payment(payment)?
        .ok_or_else(|| Error::Corrupt(format!("idempotency answer without {payment}")))
}

pub fn create_merchant(
    tx: &mut dyn Tx,
    owner: AccountId,
    name: &str,
    city: &str,
) -> Result<Merchant> {
    let now = tx.now();
    let merchant_id = tx.insert_merchant(owner, name, city, now)?;
    Ok(Merchant {
        merchant_id,
        owner,
        name: name.to_owned(),
        city: city.to_owned(),
        balance_minor: 0,
    })
}

/// A merchant, for its owner only.
pub fn merchant(
    read: &mut dyn Read,
    viewer: AccountId,
    merchant: MerchantId,
    currency: Currency,
) -> Result<Merchant> {
    let found = read
        .merchant(merchant)?
        .filter(|found| found.owner == viewer)
        .ok_or(Rejection::MerchantNotFound)?;
    Ok(Merchant {
        merchant_id: merchant,
        owner: found.owner,
        name: found.name,
        city: found.city,
        balance_minor: read.settlement_balance(merchant, currency)?,
    })
}

/// The buyer pays a merchant. The outer `Result` fails the job; the inner
/// one is a refusal that must still commit (a wrong PIN is counted).
pub fn pay_merchant(
    tx: &mut dyn Tx,
    buyer: AccountId,
    request: &Idempotent,
    merchant: MerchantId,
    money: Money,
    pin: PinCheck,
) -> Result<std::result::Result<Payment, Rejection>> {
    if let Some(answer) = wallet::replay(tx.reads(), buyer, request)? {
        return replayed_payment(tx.reads(), answer).map(Ok);
    }
    let Some(found) = tx.reads().merchant(merchant)? else {
        return Ok(Err(Rejection::InvalidQr));
    };
    // Its owner deleted the account: nobody is there to take it.
    if tx.reads().is_deleted(found.owner)? {
        return Ok(Err(Rejection::AccountDeleted));
    }
    if let Some(refused) = wallet::check_pin(tx, buyer, pin)? {
        return Ok(Err(refused));
    }
    refusable(tx, |tx| {
        let new = NewPayment {
            merchant,
            buyer,
            money,
            status: PaymentStatus::Completed,
            confirm_by: None,
        };
        let payment = insert_payment(tx, &new, &found.name)?;
        let reference = payment.payment_id.to_string();
        let transaction = Transaction::merchant_payment(buyer, merchant.row(), money);
        wallet::post(tx, &transaction, buyer, &reference)?;
        let logged = payment_event(&payment, &found.name, money.amount.get(), None);
        tx.append_log(buyer, Event::PaymentSent(logged.clone()))?;
        tx.append_log(found.owner, Event::PaymentReceived(logged))?;
        let answer = KeyAnswer::Payment(payment.payment_id);
        wallet::store_answer(tx, buyer, request, answer)?;
        Ok(payment)
    })
}

/// Stores `new` and answers it as a payment of the merchant `merchant_name`.
fn insert_payment(tx: &mut dyn Tx, new: &NewPayment, merchant_name: &str) -> Result<Payment> {
    let now = tx.now();
    let payment_id = tx.insert_payment(new, now)?;
    Ok(Payment {
        payment_id,
        merchant_id: new.merchant,
        merchant_name: merchant_name.to_owned(),
        buyer: new.buyer,
        money: new.money,
        refunded_minor: 0,
        created_at: now,
        status: new.status,
        confirm_by: new.confirm_by,
    })
}

/// The merchant's owner refunds (part of) a payment: never more than was
/// paid, in all. Keys are the owner's.
pub fn refund_payment(
    tx: &mut dyn Tx,
    owner: AccountId,
    request: &Idempotent,
    payment: PaymentId,
    money: Money,
) -> Result<Refund> {
    if let Some(answer) = wallet::replay(tx.reads(), owner, request)? {
        let KeyAnswer::Refund {
            refund_id,
            amount_minor,
            refunded_minor,
        } = answer
        else {
            return Err(unexpected_answer(&answer));
        };
        return Ok(Refund {
            refund_id,
            payment_id: payment,
            amount_minor,
            refunded_minor,
        });
    }
    // A stranger's payment, or an unknown one, is not found.
    let found = tx
        .payment_for_update(payment)?
        .ok_or(Rejection::PaymentNotFound)?;
    let merchant = merchant_of(tx.reads(), &found)?;
    if merchant.owner != owner {
        return Err(Rejection::PaymentNotFound.into());
    }
    // Its buyer erased: no one could ever take the money out again.
    if tx.reads().is_erased(found.buyer)? {
        return Err(Rejection::AccountDeleted.into());
    }
    // A refund is money leaving the owner's merchant account: the owner's
    // PIN lock or reset waiting stops it as it stops every way out.
    if let Some(refused) = wallet::money_out_refusal(tx, owner)? {
        return Err(refused.into());
    }
    let refunded = refund_ceiling(&found, money)?;
    give_back(tx, owner, request, &found, &merchant.name, money, refunded)
}

/// The payment's refunded total with `money` more, if that stays within
/// what was paid. Nothing was paid yet on a collection waiting for its
/// buyer, nor on one declined or lapsed.
fn refund_ceiling(payment: &Payment, money: Money) -> Result<i64> {
    if payment.status != PaymentStatus::Completed || money.currency != payment.money.currency {
        return Err(Rejection::RefundExceedsPayment.into());
    }
    Ok(payment
        .refunded_minor
        .checked_add(money.amount.get())
        .filter(|total| *total <= payment.money.amount.get())
        .ok_or(Rejection::RefundExceedsPayment)?)
}

/// Moves a refund from the settlement account back to the buyer, logs it
/// to both and stores the key's answer.
fn give_back(
    tx: &mut dyn Tx,
    owner: AccountId,
    request: &Idempotent,
    payment: &Payment,
    merchant_name: &str,
    money: Money,
    refunded_minor: i64,
) -> Result<Refund> {
    let now = tx.now();
    tx.set_refunded(payment.payment_id, refunded_minor)?;
    let refund_id = tx.insert_refund(payment.payment_id, money.amount.get(), now)?;
    let transaction = Transaction::merchant_refund(payment.buyer, payment.merchant_id.row(), money);
    wallet::post(tx, &transaction, owner, &refund_id.to_string())?;
    let logged = payment_event(payment, merchant_name, money.amount.get(), Some(refund_id));
    tx.append_log(payment.buyer, Event::PaymentRefunded(logged.clone()))?;
    if owner != payment.buyer {
        tx.append_log(owner, Event::PaymentRefunded(logged))?;
    }
    let refund = Refund {
        refund_id,
        payment_id: payment.payment_id,
        amount_minor: money.amount.get(),
        refunded_minor,
    };
    let answer = KeyAnswer::Refund {
        refund_id,
        amount_minor: refund.amount_minor,
        refunded_minor,
    };
    wallet::store_answer(tx, owner, request, answer)?;
    Ok(refund)
}

/// Stores a new payment code's hash for `account`'s `device`, if the PIN
/// came with it or the device entered it within the window, and money may
/// leave the wallet. The outer `Result` fails the job; the inner refusal
/// commits (a wrong PIN is counted, and forgets the device's window).
pub fn create_payment_code(
    tx: &mut dyn Tx,
    account: AccountId,
    device: DeviceId,
    code_hash: [u8; 32],
    expires_at: Timestamp,
    authorization: CodeAuthorization,
) -> Result<std::result::Result<(), Rejection>> {
    let now = tx.now();
    match authorization {
        CodeAuthorization::Pin(pin) => {
            if let Some(refused) = wallet::check_pin(tx, account, pin)? {
                if pin == PinCheck::Wrong {
                    tx.set_pin_entered(device, None)?;
                }
                return Ok(Err(refused));
            }
            tx.set_pin_entered(device, Some(now))?;
        }
        CodeAuthorization::RecentPin { window_ms } => {
            let Some(state) = wallet::pin_for_update(tx, account)? else {
                return Ok(Err(Rejection::PinNotSet));
            };
            if let Some(refused) = state.money_out_refusal(now) {
                return Ok(Err(refused));
            }
            let entered = tx.reads().pin_entered_at(account, device)?;
            let since = now.unix_ms().saturating_sub(window_ms);
            if entered.is_none_or(|at| at.unix_ms() <= since) {
                return Ok(Err(Rejection::PinRequired));
            }
            // Omitting the PIN does not stretch the window.
        }
    }
    tx.insert_payment_code(&NewPaymentCode {
        code_hash,
        account,
        device,
        created_at: now,
        expires_at,
    })?;
    Ok(Ok(()))
}

/// The merchant's owner collects from a buyer's payment code. Keys are the
/// owner's. The code is used up in the same job as the payment; a refusal
/// (an expired or used code, a buyer whose PIN is locked or being reset,
/// too little money) fails the whole job.
pub fn collect_payment(
    tx: &mut dyn Tx,
    owner: AccountId,
    request: &Idempotent,
    asked: &CollectRequest,
) -> Result<Payment> {
    if let Some(answer) = wallet::replay(tx.reads(), owner, request)? {
        return replayed_payment(tx.reads(), answer);
    }
    let merchant = tx
        .reads()
        .merchant(asked.merchant)?
        .filter(|found| found.owner == owner)
        .ok_or(Rejection::MerchantNotFound)?;
    let buyer = use_code(tx, &asked.code_hash)?;
    // A code is money leaving like any other: a lock or a reset waiting
    // stops it, whatever the amount.
    if let Some(refused) = wallet::money_out_refusal(tx, buyer)? {
        return Err(refused.into());
    }
    let waits = !without_confirmation(tx, buyer, asked)?;
    let new = NewPayment {
        merchant: asked.merchant,
        buyer,
        money: asked.money,
        status: if waits {
            PaymentStatus::AwaitingConfirmation
        } else {
            PaymentStatus::Completed
        },
        confirm_by: waits.then_some(asked.confirm_by),
    };
    let payment = insert_payment(tx, &new, &merchant.name)?;
    let logged = PaymentEvent {
        collected: true,
        ..payment_event(&payment, &merchant.name, asked.money.amount.get(), None)
    };
    if waits {
        // Nothing moves until the buyer confirms with their PIN; their
        // devices learn of it from their log.
        tx.append_log(buyer, Event::PaymentConfirmationRequested(logged))?;
    } else {
        let transaction = Transaction::merchant_payment(buyer, asked.merchant.row(), asked.money);
        wallet::post(tx, &transaction, owner, &payment.payment_id.to_string())?;
        tx.append_log(buyer, Event::PaymentSent(logged.clone()))?;
        tx.append_log(owner, Event::PaymentReceived(logged))?;
    }
    let answer = KeyAnswer::Payment(payment.payment_id);
    wallet::store_answer(tx, owner, request, answer)?;
    Ok(payment)
}

/// Uses up the code whose hash is `code_hash` and answers its buyer: it
/// must exist, be unused and unexpired, and its device still signed in.
fn use_code(tx: &mut dyn Tx, code_hash: &[u8; 32]) -> Result<AccountId> {
    let now = tx.now();
    let code = tx
        .payment_code_for_update(code_hash)?
        .ok_or(Rejection::PaymentCodeNotFound)?;
    if code.used {
        return Err(Rejection::PaymentCodeUsed.into());
    }
    if code.expires_at <= now || !code.device_live {
        return Err(Rejection::PaymentCodeExpired.into());
    }
    tx.mark_code_used(code_hash, now)?;
    Ok(code.buyer)
}

/// Whether this collection completes without the buyer confirming: at or
/// under the amount limit and within the buyer's cap for the day, against
/// which it is then counted. In the job that decides, so racing
/// collections see each other's counts; a job refused later (too little
/// money) takes its count back with it.
fn without_confirmation(tx: &mut dyn Tx, buyer: AccountId, asked: &CollectRequest) -> Result<bool> {
    let amount = asked.money.amount.get();
    if amount > asked.without_confirmation_max_minor {
        return Ok(false);
    }
    let day = day_of(tx.now());
    let today = tx.collections_for_update(buyer, day)?;
    let cap = asked.without_confirmation_per_day;
    let within = today.count < i64::from(cap.count_max)
        && today
            .amount_minor
            .checked_add(amount)
            .is_some_and(|total| total <= cap.amount_max_minor);
    if within {
        tx.count_collection(buyer, day, amount)?;
    }
    Ok(within)
}

/// Moves a waiting collection to `status`. Confirming moves the money
/// (refused with `InsufficientFunds` like any payment); declining and
/// lapsing move nothing. Both sides' logs learn the outcome.
fn settle(tx: &mut dyn Tx, payment: &mut Payment, status: PaymentStatus) -> Result<()> {
    debug_assert_eq!(payment.status, PaymentStatus::AwaitingConfirmation);
    let merchant = merchant_of(tx.reads(), payment)?;
    // Only a collection waits for the buyer.
    let logged = PaymentEvent {
        collected: true,
        ..payment_event(payment, &merchant.name, payment.money.amount.get(), None)
    };
    let (to_buyer, to_owner) = match status {
        PaymentStatus::Completed => {
            let transaction = Transaction::merchant_payment(
                payment.buyer,
                payment.merchant_id.row(),
                payment.money,
            );
            let reference = payment.payment_id.to_string();
            wallet::post(tx, &transaction, payment.buyer, &reference)?;
            (
                Event::PaymentSent(logged.clone()),
                Event::PaymentReceived(logged),
            )
        }
        PaymentStatus::Declined => (
            Event::PaymentDeclined(logged.clone()),
            Event::PaymentDeclined(logged),
        ),
        PaymentStatus::Lapsed => (
            Event::PaymentExpired(logged.clone()),
            Event::PaymentExpired(logged),
        ),
        PaymentStatus::AwaitingConfirmation => {
            return Err(Error::Corrupt("settling a payment into waiting".into()));
        }
    };
    tx.append_log(payment.buyer, to_buyer)?;
    tx.append_log(merchant.owner, to_owner)?;
    tx.set_payment_status(payment.payment_id, status)?;
    payment.status = status;
    payment.confirm_by = None;
    Ok(())
}

/// The buyer confirms or declines a collection that waits for them. The
/// outer `Result` fails the job; the inner one is a refusal that must
/// still commit (a wrong PIN is counted).
pub fn decide_payment(
    tx: &mut dyn Tx,
    buyer: AccountId,
    payment: PaymentId,
    decision: PaymentDecision,
) -> Result<std::result::Result<Payment, Rejection>> {
    let Some(found) = tx
        .payment_for_update(payment)?
        .filter(|found| found.buyer == buyer)
    else {
        return Ok(Err(Rejection::PaymentNotFound));
    };
    let wanted = match decision {
        PaymentDecision::Confirm(_) => PaymentStatus::Completed,
        PaymentDecision::Decline => PaymentStatus::Declined,
    };
    // Saying the same twice answers the same; a payment that never waited
    // (paid by scanning, or under the limit) is "completed" too.
    if found.status == wanted {
        return Ok(Ok(found));
    }
    if found.status != PaymentStatus::AwaitingConfirmation {
        let status = found.status.as_str();
        return Ok(Err(Rejection::PaymentNotPending { status }));
    }
    if found.confirm_by.is_some_and(|by| by <= tx.now()) {
        // Past its time the collection is the sweeper's to lapse (within a
        // second); it can no longer be confirmed or declined.
        let status = PaymentStatus::Lapsed.as_str();
        return Ok(Err(Rejection::PaymentNotPending { status }));
    }
    if let PaymentDecision::Confirm(pin) = decision
        && let Some(refused) = wallet::check_pin(tx, buyer, pin)?
    {
        return Ok(Err(refused));
    }
    refusable(tx, |tx| {
        let mut settled = found.clone();
        settle(tx, &mut settled, wanted)?;
        Ok(settled)
    })
}

/// A payment for its buyer or its merchant's owner; anyone else, like an
/// unknown id, gets `PaymentNotFound`.
pub fn payment(read: &mut dyn Read, viewer: AccountId, payment: PaymentId) -> Result<Payment> {
    let found = read.payment(payment)?.ok_or(Rejection::PaymentNotFound)?;
    if found.buyer == viewer || merchant_of(read, &found)?.owner == viewer {
        Ok(found)
    } else {
        Err(Rejection::PaymentNotFound.into())
    }
}

/// Lapses collections whose confirmation time has passed by `now`.
pub fn lapse_unconfirmed_payments(tx: &mut dyn Tx, now: Timestamp, limit: u32) -> Result<usize> {
    let lapsed = tx.unconfirmed_payments_for_update(now, limit)?;
    let count = lapsed.len();
    for mut payment in lapsed {
        settle(tx, &mut payment, PaymentStatus::Lapsed)?;
    }
    Ok(count)
}

/// Deletes idempotency keys older than their retention, payment codes
/// past their expiry and the daily collection counts of days before
/// yesterday, at most `limit` of each.
pub fn purge_money_housekeeping(
    tx: &mut dyn Tx,
    keys_before: Timestamp,
    codes_before: Timestamp,
    limit: u32,
) -> Result<usize> {
    let keys = tx.purge_keys(keys_before, limit)?;
    let codes = tx.purge_payment_codes(codes_before, limit)?;
    // Yesterday's counts are kept: a day's cap is read in UTC.
    let yesterday = day_of(tx.now()) - 1;
    let days = tx.purge_collection_days(yesterday, limit)?;
    Ok(keys + codes + days)
}

impl Core {
    /// A new merchant owned by `owner`; name and city are already checked.
    /// Its settlement account is in the deployment's `currency`, opened by
    /// its first payment.
    pub async fn create_merchant(
        &self,
        owner: AccountId,
        name: String,
        city: String,
        _currency: Currency,
    ) -> StoreResult<Merchant> {
        self.write(move |tx| create_merchant(tx, owner, &name, &city))
            .await
    }

    /// A merchant, for its owner only (`MerchantNotFound` for anyone else).
    pub async fn merchant(
        &self,
        viewer: AccountId,
        merchant_id: MerchantId,
        currency: Currency,
    ) -> StoreResult<Merchant> {
        self.read(move |read| merchant(read, viewer, merchant_id, currency))
            .await
    }

    /// The buyer pays the merchant from their wallet into its settlement.
    pub async fn pay_merchant(
        &self,
        buyer: AccountId,
        request: Idempotent,
        merchant: MerchantId,
        money: Money,
        pin: PinCheck,
    ) -> StoreResult<Payment> {
        refused(
            self.write(move |tx| pay_merchant(tx, buyer, &request, merchant, money, pin))
                .await?,
        )
    }

    /// The merchant's owner gives (part of) a payment back.
    pub async fn refund_payment(
        &self,
        owner: AccountId,
        request: Idempotent,
        payment: PaymentId,
        money: Money,
    ) -> StoreResult<Refund> {
        self.write(move |tx| refund_payment(tx, owner, &request, payment, money))
            .await
    }

    /// Stores a buyer's new payment code (its hash), bound to `device`, if
    /// `authorization` holds and money may leave the wallet (no lock, no
    /// reset waiting). A wrong PIN is counted in the refusing job.
    pub async fn create_payment_code(
        &self,
        account: AccountId,
        device: DeviceId,
        code_hash: [u8; 32],
        expires_at: Timestamp,
        authorization: CodeAuthorization,
    ) -> StoreResult<()> {
        refused(
            self.write(move |tx| {
                create_payment_code(tx, account, device, code_hash, expires_at, authorization)
            })
            .await?,
        )
    }

    /// The merchant's owner collects from a buyer's payment code; the code
    /// is used up either way. Refused while the buyer's PIN is locked or
    /// being reset; past the buyer's daily cap it waits for confirmation.
    pub async fn collect_payment(
        &self,
        owner: AccountId,
        request: Idempotent,
        collect: CollectRequest,
    ) -> StoreResult<Payment> {
        self.write(move |tx| collect_payment(tx, owner, &request, &collect))
            .await
    }

    /// The buyer confirms (with their PIN) or declines a collection that
    /// waits for them. Saying the same again answers the same; anyone but
    /// the buyer gets `PaymentNotFound`.
    pub async fn decide_payment(
        &self,
        buyer: AccountId,
        payment: PaymentId,
        decision: PaymentDecision,
    ) -> StoreResult<Payment> {
        refused(
            self.write(move |tx| decide_payment(tx, buyer, payment, decision))
                .await?,
        )
    }

    /// A payment, for its buyer or its merchant's owner only.
    pub async fn payment(&self, viewer: AccountId, payment_id: PaymentId) -> StoreResult<Payment> {
        self.read(move |read| payment(read, viewer, payment_id))
            .await
    }

    /// Lapses collections whose confirmation time is past `now`, at most
    /// `limit`; returns how many. Nothing had moved, so nothing moves.
    pub async fn lapse_unconfirmed_payments(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<usize> {
        self.write(move |tx| lapse_unconfirmed_payments(tx, now, limit))
            .await
    }

    /// Deletes idempotency keys stored before `keys_before` and payment
    /// codes that expired before `codes_before`, at most `limit` of each;
    /// returns how many rows went.
    pub async fn purge_money_housekeeping(
        &self,
        keys_before: Timestamp,
        codes_before: Timestamp,
        limit: u32,
    ) -> StoreResult<usize> {
        self.write(move |tx| purge_money_housekeeping(tx, keys_before, codes_before, limit))
            .await
    }
}
