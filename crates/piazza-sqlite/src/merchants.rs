//! Merchants in the store: who owns which shop, payments made to them by
//! scanning their code, and refunds. A payment moves money from the
//! buyer's wallet into the merchant's settlement account; a refund moves it
//! back, never more than was paid. Each is one writer job with its
//! idempotency key's answer, like the wallet's own movements.

use piazza_domain::event::{Event, PaymentEvent};
use piazza_domain::ledger::{LedgerAccountRef, Transaction};
use piazza_domain::money::{AmountMinor, Currency, Money};
use piazza_domain::store::{
    CodeAuthorization, CollectRequest, Idempotent, Merchant, Payment, PaymentDecision,
    PaymentStatus, PinCheck, Refund,
};
use piazza_domain::{AccountId, DeviceId, MerchantId, PaymentId, RefundId, Rejection, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::{Error, Result};
use crate::tails;
use crate::wallet;
use crate::writer::WriteCtx;

/// The balance of a merchant's settlement account (0 before any payment).
fn settlement_balance(conn: &Connection, merchant_row: i64, currency: Currency) -> Result<i64> {
    let account = LedgerAccountRef::merchant_settlement(merchant_row, currency);
    let found: Option<i64> = conn
        .prepare_cached(
            "SELECT balance_minor FROM ledger_accounts
             WHERE kind = ?1 AND holder = ?2 AND currency = ?3",
        )?
        .query_row(
            params![
                account.kind().as_str(),
                account.holder(),
                account.currency().as_str()
            ],
            |row| row.get(0),
        )
        .optional()?;
    Ok(found.unwrap_or(0))
}

/// The owner, name and city of a merchant.
fn load_merchant(
    conn: &Connection,
    merchant: MerchantId,
) -> Result<Option<(AccountId, String, String)>> {
    Ok(conn
        .prepare_cached("SELECT owner_id, name, city FROM merchants WHERE id = ?1")?
        .query_row([merchant.row()], |row| {
            Ok((AccountId::from_row(row.get(0)?), row.get(1)?, row.get(2)?))
        })
        .optional()?)
}

pub fn create(
    ctx: &mut WriteCtx<'_>,
    owner: AccountId,
    name: String,
    city: String,
) -> Result<Merchant> {
    let row: i64 = ctx
        .conn
        .prepare_cached(
            "INSERT INTO merchants (owner_id, name, city, created_at)
             VALUES (?1, ?2, ?3, ?4) RETURNING id",
        )?
        .query_row(params![owner.row(), name, city, ctx.now.unix_ms()], |row| {
            row.get(0)
        })?;
    Ok(Merchant {
        merchant_id: MerchantId::from_row(row),
        owner,
        name,
        city,
        balance_minor: 0,
    })
}

pub fn get(
    conn: &Connection,
    viewer: AccountId,
    merchant: MerchantId,
    currency: Currency,
) -> Result<Merchant> {
    let (owner, name, city) = load_merchant(conn, merchant)?
        .filter(|(owner, _, _)| *owner == viewer)
        .ok_or(Rejection::MerchantNotFound)?;
    Ok(Merchant {
        merchant_id: merchant,
        owner,
        name,
        city,
        balance_minor: settlement_balance(conn, merchant.row(), currency)?,
    })
}

const PAYMENT_COLUMNS: &str = "id, merchant_id, buyer_id, amount_minor, currency, refunded_minor, created_at, status, confirm_by, \
     (SELECT name FROM merchants WHERE merchants.id = payments.merchant_id)";

fn payment_from_row(row: &Row<'_>) -> Result<Payment> {
    let id: i64 = row.get(0)?;
    let amount: i64 = row.get(3)?;
    let currency: String = row.get(4)?;
    let corrupt = |what: &str| Error::Corrupt(format!("payment {id}: {what}"));
    Ok(Payment {
        payment_id: PaymentId::from_row(id),
        merchant_id: MerchantId::from_row(row.get(1)?),
        merchant_name: row
            .get::<_, Option<String>>(9)?
            .ok_or_else(|| corrupt("no merchant"))?,
        buyer: AccountId::from_row(row.get(2)?),
        money: Money::new(
            AmountMinor::positive(amount).map_err(|_| corrupt("amount"))?,
            Currency::parse(&currency).map_err(|_| corrupt("currency"))?,
        ),
        refunded_minor: row.get(5)?,
        created_at: Timestamp::from_unix_ms(row.get(6)?),
        status: PaymentStatus::from_code(row.get(7)?).ok_or_else(|| corrupt("status"))?,
        confirm_by: row.get::<_, Option<i64>>(8)?.map(Timestamp::from_unix_ms),
    })
}

fn load_payment(conn: &Connection, payment: PaymentId) -> Result<Option<Payment>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = ?1"
    ))?;
    let mut rows = statement.query([payment.row()])?;
    match rows.next()? {
        Some(row) => Ok(Some(payment_from_row(row)?)),
        None => Ok(None),
    }
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

/// The buyer pays a merchant. The outer `Result` rolls the job back; the
/// inner one is a refusal that must still commit (a wrong PIN is counted).
pub fn pay(
    ctx: &mut WriteCtx<'_>,
    buyer: AccountId,
    request: Idempotent,
    merchant: MerchantId,
    money: Money,
    pin: PinCheck,
) -> Result<std::result::Result<Payment, Rejection>> {
    if let Some(value) = wallet::stored_response(ctx.conn, buyer, &request)? {
        let row = value["payment_id"]
            .as_i64()
            .ok_or_else(|| Error::Corrupt(format!("idempotency response {value}")))?;
        let payment = load_payment(ctx.conn, PaymentId::from_row(row))?
            .ok_or_else(|| Error::Corrupt(format!("idempotency answer without payment {row}")))?;
        return Ok(Ok(payment));
    }
    let Some((owner, merchant_name, _)) = load_merchant(ctx.conn, merchant)? else {
        return Ok(Err(Rejection::InvalidQr));
    };
    if let Some(refused) = wallet::check_pin(ctx, buyer, pin)? {
        return Ok(Err(refused));
    }
    ctx.refusable(|ctx| {
        let row: i64 = ctx
            .conn
            .prepare_cached(
                "INSERT INTO payments (merchant_id, buyer_id, amount_minor, currency, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            )?
            .query_row(
                params![
                    merchant.row(),
                    buyer.row(),
                    money.amount.get(),
                    money.currency.as_str(),
                    ctx.now.unix_ms()
                ],
                |row| row.get(0),
            )?;
        let payment = Payment {
            payment_id: PaymentId::from_row(row),
            merchant_id: merchant,
            merchant_name: merchant_name.clone(),
            buyer,
            money,
            refunded_minor: 0,
            created_at: ctx.now,
            status: PaymentStatus::Completed,
            confirm_by: None,
        };
        wallet::post(
            ctx,
            &Transaction::merchant_payment(buyer, merchant.row(), money),
            buyer,
            &payment.payment_id.to_string(),
        )?;
        let logged = payment_event(&payment, &merchant_name, money.amount.get(), None);
        ctx.append_log(buyer, Event::PaymentSent(logged.clone()))?;
        ctx.append_log(owner, Event::PaymentReceived(logged))?;
        wallet::store_response(
            ctx,
            buyer,
            &request,
            &serde_json::json!({ "payment_id": row }),
        )?;
        Ok(payment)
    })
}

/// The merchant's owner refunds (part of) a payment. Keys are the owner's.
pub fn refund(
    ctx: &mut WriteCtx<'_>,
    owner: AccountId,
    request: Idempotent,
    payment: PaymentId,
    money: Money,
) -> Result<Refund> {
    if let Some(value) = wallet::stored_response(ctx.conn, owner, &request)? {
        let corrupt = || Error::Corrupt(format!("idempotency response {value}"));
        return Ok(Refund {
            refund_id: RefundId::from_row(value["refund_id"].as_i64().ok_or_else(corrupt)?),
            payment_id: payment,
            amount_minor: value["amount_minor"].as_i64().ok_or_else(corrupt)?,
            refunded_minor: value["refunded_minor"].as_i64().ok_or_else(corrupt)?,
        });
    }
    // A stranger's payment, or an unknown one, is not found.
    let found = load_payment(ctx.conn, payment)?.ok_or(Rejection::PaymentNotFound)?;
    let (merchant_owner, merchant_name, _) = load_merchant(ctx.conn, found.merchant_id)?
        .ok_or_else(|| Error::Corrupt(format!("{payment} without its merchant")))?;
    if merchant_owner != owner {
        return Err(Rejection::PaymentNotFound.into());
    }
    // A refund is money leaving the owner's merchant account: the owner's
    // PIN lock or reset waiting stops it as it stops every way out.
    if let Some(refused) = wallet::pin_state(ctx.conn, owner, ctx.now)?
        .and_then(|state| state.money_out_refusal(ctx.now))
    {
        return Err(refused.into());
    }
    // Nothing was paid yet on a collection waiting for confirmation.
    if found.status != PaymentStatus::Completed || money.currency != found.money.currency {
        return Err(Rejection::RefundExceedsPayment.into());
    }
    let refunded = found
        .refunded_minor
        .checked_add(money.amount.get())
        .filter(|total| *total <= found.money.amount.get())
        .ok_or(Rejection::RefundExceedsPayment)?;
    ctx.conn
        .prepare_cached("UPDATE payments SET refunded_minor = ?1 WHERE id = ?2")?
        .execute(params![refunded, payment.row()])?;
    let row: i64 = ctx
        .conn
        .prepare_cached(
            "INSERT INTO refunds (payment_id, amount_minor, created_at)
             VALUES (?1, ?2, ?3) RETURNING id",
        )?
        .query_row(
            params![payment.row(), money.amount.get(), ctx.now.unix_ms()],
            |row| row.get(0),
        )?;
    let refund_id = RefundId::from_row(row);
    wallet::post(
        ctx,
        &Transaction::merchant_refund(found.buyer, found.merchant_id.row(), money),
        owner,
        &refund_id.to_string(),
    )?;
    let logged = payment_event(&found, &merchant_name, money.amount.get(), Some(refund_id));
    ctx.append_log(found.buyer, Event::PaymentRefunded(logged.clone()))?;
    if owner != found.buyer {
        ctx.append_log(owner, Event::PaymentRefunded(logged))?;
    }
    let refund = Refund {
        refund_id,
        payment_id: payment,
        amount_minor: money.amount.get(),
        refunded_minor: refunded,
    };
    wallet::store_response(
        ctx,
        owner,
        &request,
        &serde_json::json!({
            "refund_id": row,
            "amount_minor": refund.amount_minor,
            "refunded_minor": refunded,
        }),
    )?;
    Ok(refund)
}

/// Stores a new payment code's hash for `account`'s `device`, if the PIN
/// came with it or the device entered it within the window, and money may
/// leave the wallet. The outer `Result` rolls the job back; the inner
/// refusal commits (a wrong PIN is counted, and forgets the device's
/// window).
pub fn create_code(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    device: DeviceId,
    code_hash: [u8; 32],
    expires_at: Timestamp,
    authorization: CodeAuthorization,
) -> Result<std::result::Result<(), Rejection>> {
    let entered_at = match authorization {
        CodeAuthorization::Pin(pin) => {
            if let Some(refused) = wallet::check_pin(ctx, account, pin)? {
                if pin == PinCheck::Wrong {
                    set_pin_entered(ctx, device, None)?;
                }
                return Ok(Err(refused));
            }
            Some(ctx.now)
        }
        CodeAuthorization::RecentPin { window_ms } => {
            let Some(state) = wallet::pin_state(ctx.conn, account, ctx.now)? else {
                return Ok(Err(Rejection::PinNotSet));
            };
            if let Some(refused) = state.money_out_refusal(ctx.now) {
                return Ok(Err(refused));
            }
            let entered: Option<i64> = ctx
                .conn
                .prepare_cached(
                    "SELECT pin_entered_at FROM devices WHERE id = ?1 AND account_id = ?2",
                )?
                .query_row(params![device.row(), account.row()], |row| row.get(0))
                .optional()?
                .flatten();
            let since = ctx.now.unix_ms().saturating_sub(window_ms);
            if entered.is_none_or(|at| at <= since) {
                return Ok(Err(Rejection::PinRequired));
            }
            // Omitting the PIN does not stretch the window.
            None
        }
    };
    if entered_at.is_some() {
        set_pin_entered(ctx, device, entered_at)?;
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO payment_codes (code_hash, account_id, device_id, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            &code_hash[..],
            account.row(),
            device.row(),
            ctx.now.unix_ms(),
            expires_at.unix_ms()
        ])?;
    Ok(Ok(()))
}

/// Remembers when `device` last entered the right PIN (`None`: forget it).
fn set_pin_entered(ctx: &mut WriteCtx<'_>, device: DeviceId, at: Option<Timestamp>) -> Result<()> {
    ctx.conn
        .prepare_cached("UPDATE devices SET pin_entered_at = ?1 WHERE id = ?2")?
        .execute(params![at.map(Timestamp::unix_ms), device.row()])?;
    Ok(())
}

/// The merchant's owner collects from a buyer's payment code. Keys are the
/// owner's. The code is used up in the same job as the payment; a refusal
/// (an expired or used code, a buyer whose PIN is locked or being reset,
/// too little money) rolls the whole job back.
pub fn collect(
    ctx: &mut WriteCtx<'_>,
    owner: AccountId,
    request: Idempotent,
    asked: CollectRequest,
) -> Result<Payment> {
    if let Some(value) = wallet::stored_response(ctx.conn, owner, &request)? {
        let row = value["payment_id"]
            .as_i64()
            .ok_or_else(|| Error::Corrupt(format!("idempotency response {value}")))?;
        return load_payment(ctx.conn, PaymentId::from_row(row))?
            .ok_or_else(|| Error::Corrupt(format!("idempotency answer without payment {row}")));
    }
    let (_, merchant_name, _) = load_merchant(ctx.conn, asked.merchant)?
        .filter(|(found, _, _)| *found == owner)
        .ok_or(Rejection::MerchantNotFound)?;
    let buyer = use_code(ctx, &asked.code_hash)?;
    // A code is money leaving like any other: a lock or a reset waiting
    // stops it, whatever the amount.
    if let Some(refused) = wallet::pin_state(ctx.conn, buyer, ctx.now)?
        .and_then(|state| state.money_out_refusal(ctx.now))
    {
        return Err(refused.into());
    }
    let status = if without_confirmation(ctx, buyer, &asked)? {
        PaymentStatus::Completed
    } else {
        PaymentStatus::AwaitingConfirmation
    };
    let payment = insert_collection(ctx, buyer, &asked, &merchant_name, status)?;
    let money = asked.money;
    let logged = PaymentEvent {
        collected: true,
        ..payment_event(&payment, &merchant_name, money.amount.get(), None)
    };
    if status == PaymentStatus::Completed {
        wallet::post(
            ctx,
            &Transaction::merchant_payment(buyer, asked.merchant.row(), money),
            owner,
            &payment.payment_id.to_string(),
        )?;
        ctx.append_log(buyer, Event::PaymentSent(logged.clone()))?;
        ctx.append_log(owner, Event::PaymentReceived(logged))?;
    } else {
        // Nothing moves until the buyer confirms with their PIN; their
        // devices learn of it from their log.
        ctx.append_log(buyer, Event::PaymentConfirmationRequested(logged))?;
    }
    let body = serde_json::json!({ "payment_id": payment.payment_id.row() });
    wallet::store_response(ctx, owner, &request, &body)?;
    Ok(payment)
}

/// Uses up the code whose hash is `code_hash` and answers its buyer: it
/// must exist, be unused and unexpired, and its device still signed in.
fn use_code(ctx: &mut WriteCtx<'_>, code_hash: &[u8; 32]) -> Result<AccountId> {
    let found: Option<(i64, Option<i64>, i64, bool)> = ctx
        .conn
        .prepare_cached(
            "SELECT c.account_id, c.used_at, c.expires_at, d.revoked_at IS NULL
             FROM payment_codes c JOIN devices d ON d.id = c.device_id
             WHERE c.code_hash = ?1",
        )?
        .query_row([&code_hash[..]], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()?;
    let Some((buyer, used_at, expires_at, device_active)) = found else {
        return Err(Rejection::PaymentCodeNotFound.into());
    };
    if used_at.is_some() {
        return Err(Rejection::PaymentCodeUsed.into());
    }
    if expires_at <= ctx.now.unix_ms() || !device_active {
        return Err(Rejection::PaymentCodeExpired.into());
    }
    ctx.conn
        .prepare_cached("UPDATE payment_codes SET used_at = ?1 WHERE code_hash = ?2")?
        .execute(params![ctx.now.unix_ms(), &code_hash[..]])?;
    Ok(AccountId::from_row(buyer))
}

/// Milliseconds in a UTC day, the period of the daily cap.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Whether this collection completes without the buyer confirming: at or
/// under the amount limit and within the buyer's cap for the day, against
/// which it is then counted. In the writer job that decides, so racing
/// collections see each other's counts; a job refused later (too little
/// money) takes its count back with it.
fn without_confirmation(
    ctx: &mut WriteCtx<'_>,
    buyer: AccountId,
    asked: &CollectRequest,
) -> Result<bool> {
    let amount = asked.money.amount.get();
    if amount > asked.without_confirmation_max_minor {
        return Ok(false);
    }
    let day = ctx.now.unix_ms().div_euclid(DAY_MS);
    let (count, total): (i64, i64) = ctx
        .conn
        .prepare_cached(
            "SELECT count, amount_minor FROM collections_without_confirmation
             WHERE account_id = ?1 AND day = ?2",
        )?
        .query_row(params![buyer.row(), day], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?
        .unwrap_or((0, 0));
    let cap = asked.without_confirmation_per_day;
    let within = count < i64::from(cap.count_max)
        && total
            .checked_add(amount)
            .is_some_and(|total| total <= cap.amount_max_minor);
    if within {
        ctx.conn
            .prepare_cached(
                "INSERT INTO collections_without_confirmation (account_id, day, count, amount_minor)
                 VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (account_id, day) DO UPDATE
                 SET count = count + 1, amount_minor = amount_minor + excluded.amount_minor",
            )?
            .execute(params![buyer.row(), day, amount])?;
    }
    Ok(within)
}

/// The payment row of a collection, completed or waiting for the buyer.
fn insert_collection(
    ctx: &mut WriteCtx<'_>,
    buyer: AccountId,
    asked: &CollectRequest,
    merchant_name: &str,
    status: PaymentStatus,
) -> Result<Payment> {
    let confirm_by = (status == PaymentStatus::AwaitingConfirmation).then_some(asked.confirm_by);
    let money = asked.money;
    let row: i64 = ctx
        .conn
        .prepare_cached(
            "INSERT INTO payments
             (merchant_id, buyer_id, amount_minor, currency, created_at, status, confirm_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        )?
        .query_row(
            params![
                asked.merchant.row(),
                buyer.row(),
                money.amount.get(),
                money.currency.as_str(),
                ctx.now.unix_ms(),
                status.code(),
                confirm_by.map(Timestamp::unix_ms),
            ],
            |row| row.get(0),
        )?;
    Ok(Payment {
        payment_id: PaymentId::from_row(row),
        merchant_id: asked.merchant,
        merchant_name: merchant_name.to_owned(),
        buyer,
        money,
        refunded_minor: 0,
        created_at: ctx.now,
        status,
        confirm_by,
    })
}

/// Moves a waiting collection to `status`. Confirming moves the money
/// (refused with `InsufficientFunds` like any payment); declining and
/// lapsing move nothing. Both sides' logs learn the outcome.
fn settle(ctx: &mut WriteCtx<'_>, payment: &mut Payment, status: PaymentStatus) -> Result<()> {
    debug_assert_eq!(payment.status, PaymentStatus::AwaitingConfirmation);
    let (owner, merchant_name, _) = load_merchant(ctx.conn, payment.merchant_id)?
        .ok_or_else(|| Error::Corrupt(format!("{} without its merchant", payment.payment_id)))?;
    // Only a collection waits for the buyer.
    let logged = PaymentEvent {
        collected: true,
        ..payment_event(payment, &merchant_name, payment.money.amount.get(), None)
    };
    match status {
        PaymentStatus::Completed => {
            wallet::post(
                ctx,
                &Transaction::merchant_payment(
                    payment.buyer,
                    payment.merchant_id.row(),
                    payment.money,
                ),
                payment.buyer,
                &payment.payment_id.to_string(),
            )?;
            ctx.append_log(payment.buyer, Event::PaymentSent(logged.clone()))?;
            ctx.append_log(owner, Event::PaymentReceived(logged))?;
        }
        PaymentStatus::Declined => {
            ctx.append_log(payment.buyer, Event::PaymentDeclined(logged.clone()))?;
            ctx.append_log(owner, Event::PaymentDeclined(logged))?;
        }
        PaymentStatus::Lapsed => {
            ctx.append_log(payment.buyer, Event::PaymentExpired(logged.clone()))?;
            ctx.append_log(owner, Event::PaymentExpired(logged))?;
        }
        PaymentStatus::AwaitingConfirmation => {
            return Err(Error::Corrupt("settling a payment into waiting".into()));
        }
    }
    ctx.conn
        .prepare_cached("UPDATE payments SET status = ?1, confirm_by = NULL WHERE id = ?2")?
        .execute(params![status.code(), payment.payment_id.row()])?;
    payment.status = status;
    payment.confirm_by = None;
    Ok(())
}

/// The buyer confirms or declines a collection that waits for them. The
/// outer `Result` rolls the job back; the inner one is a refusal that must
/// still commit (a wrong PIN is counted).
pub fn decide(
    ctx: &mut WriteCtx<'_>,
    buyer: AccountId,
    payment: PaymentId,
    decision: PaymentDecision,
) -> Result<std::result::Result<Payment, Rejection>> {
    let Some(mut found) = load_payment(ctx.conn, payment)?.filter(|found| found.buyer == buyer)
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
        return Ok(Err(Rejection::PaymentNotPending {
            status: found.status.as_str(),
        }));
    }
    if found.confirm_by.is_some_and(|by| by <= ctx.now) {
        // Past its time the collection is the sweeper's to lapse (within a
        // second); it can no longer be confirmed or declined.
        return Ok(Err(Rejection::PaymentNotPending {
            status: PaymentStatus::Lapsed.as_str(),
        }));
    }
    if let PaymentDecision::Confirm(pin) = decision
        && let Some(refused) = wallet::check_pin(ctx, buyer, pin)?
    {
        return Ok(Err(refused));
    }
    ctx.refusable(|ctx| {
        settle(ctx, &mut found, wanted)?;
        Ok(found)
    })
}

/// A payment for its buyer or its merchant's owner; anyone else, like an
/// unknown id, gets `PaymentNotFound`.
pub fn get_payment(conn: &Connection, viewer: AccountId, payment: PaymentId) -> Result<Payment> {
    let found = load_payment(conn, payment)?.ok_or(Rejection::PaymentNotFound)?;
    if found.buyer == viewer {
        return Ok(found);
    }
    let (owner, _, _) = load_merchant(conn, found.merchant_id)?
        .ok_or_else(|| Error::Corrupt(format!("{payment} without its merchant")))?;
    if owner == viewer {
        Ok(found)
    } else {
        Err(Rejection::PaymentNotFound.into())
    }
}

/// Lapses collections whose confirmation time has passed.
pub fn lapse_unconfirmed(ctx: &mut WriteCtx<'_>, now: Timestamp, limit: u32) -> Result<usize> {
    let mut statement = ctx.conn.prepare_cached(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments
         WHERE status = 0 AND confirm_by <= ?1 ORDER BY created_at LIMIT ?2"
    ))?;
    let mut rows = statement.query(params![now.unix_ms(), i64::from(limit)])?;
    let mut lapsed = Vec::new();
    while let Some(row) = rows.next()? {
        lapsed.push(payment_from_row(row)?);
    }
    drop(rows);
    drop(statement);
    let count = lapsed.len();
    for mut payment in lapsed {
        settle(ctx, &mut payment, PaymentStatus::Lapsed)?;
    }
    Ok(count)
}

/// Deletes idempotency keys older than their retention, payment codes
/// past their expiry and the daily collection counts of days before
/// yesterday, at most `limit` of each.
pub fn purge(
    ctx: &mut WriteCtx<'_>,
    keys_before: Timestamp,
    codes_before: Timestamp,
    limit: u32,
) -> Result<usize> {
    // Keys live in two tables (`tails.rs`); the tail is small and has no
    // index by age.
    let mut keys = 0;
    for table in ["idempotency_keys", "idempotency_keys_tail"] {
        let left = i64::from(limit) - keys as i64;
        keys += ctx
            .conn
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE (account_id, key) IN (
                     SELECT account_id, key FROM {table} WHERE created_at < ?1 LIMIT ?2)"
            ))?
            .execute(params![keys_before.unix_ms(), left])?;
    }
    ctx.removed_from(tails::IDEMPOTENCY_KEYS);
    let codes = ctx
        .conn
        .prepare_cached(
            "DELETE FROM payment_codes WHERE code_hash IN (
                 SELECT code_hash FROM payment_codes WHERE expires_at < ?1 LIMIT ?2)",
        )?
        .execute(params![codes_before.unix_ms(), i64::from(limit)])?;
    // Yesterday's counts are kept: a day's cap is read in UTC.
    let days = ctx
        .conn
        .prepare_cached(
            "DELETE FROM collections_without_confirmation WHERE (account_id, day) IN (
                 SELECT account_id, day FROM collections_without_confirmation
                 WHERE day < ?1 LIMIT ?2)",
        )?
        .execute(params![
            ctx.now.unix_ms().div_euclid(DAY_MS) - 1,
            i64::from(limit)
        ])?;
    Ok(keys + codes + days)
}
