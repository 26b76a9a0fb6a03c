//! Merchants' data: the SQL behind `piazza_core::pay::merchants` —
//! merchants, payments and refunds, payment codes (only their SHA-256),
//! the daily counts of collections made without confirmation, and the
//! sweeper's purge of old keys, codes and counts.
//!
//! Locks: a payment is refunded, confirmed or lapsed under its row's lock;
//! a code is used up under its row's lock; a buyer's daily count is read
//! under the buyer's account row's lock (`lock_accounts`), since the day's
//! row may not exist yet. The lapse sweep skips rows locked by another
//! transaction (a buyer deciding at that moment): a later sweep takes them.

use piazza_core::Result;
use piazza_core::pay::merchants::{
    DayCount, MerchantRecord, NewPayment, NewPaymentCode, PaymentCode, Reads, Writes,
};
use piazza_domain::ledger::LedgerAccountRef;
use piazza_domain::money::{AmountMinor, Currency, Money};
use piazza_domain::store::{Payment, PaymentStatus};
use piazza_domain::{AccountId, DeviceId, MerchantId, PaymentId, RefundId, Timestamp};
use postgres::Row;

use crate::conn::corrupt;
use crate::contacts::lock_accounts;
use crate::{Db, PgTx};

/// The columns [`payment_from_row`] reads, of `payments p`.
macro_rules! payment_columns {
    () => {
        "p.id, p.merchant_id, p.buyer_id, p.amount_minor, p.currency, p.refunded_minor, \
         p.created_at, p.status, p.confirm_by, \
         (SELECT name FROM merchants m WHERE m.id = p.merchant_id)"
    };
}

fn payment_from_row(row: &Row) -> Result<Payment> {
    let id: i64 = row.get(0);
    let broken = |what: &str| corrupt(format!("payment {id}: {what}"));
    let currency: String = row.get(4);
    Ok(Payment {
        payment_id: PaymentId::from_row(id),
        merchant_id: MerchantId::from_row(row.get(1)),
        merchant_name: row
            .get::<_, Option<String>>(9)
            .ok_or_else(|| broken("no merchant"))?,
        buyer: AccountId::from_row(row.get(2)),
        money: Money::new(
            AmountMinor::positive(row.get(3)).map_err(|_| broken("amount"))?,
            Currency::parse(&currency).map_err(|_| broken("currency"))?,
        ),
        refunded_minor: row.get(5),
        created_at: Timestamp::from_unix_ms(row.get(6)),
        status: PaymentStatus::from_code(row.get(7)).ok_or_else(|| broken("status"))?,
        confirm_by: row.get::<_, Option<i64>>(8).map(Timestamp::from_unix_ms),
    })
}

impl Reads for Db<'_> {
    fn merchant(&mut self, merchant: MerchantId) -> Result<Option<MerchantRecord>> {
        let row = self.0.query_opt(
            "SELECT owner_id, name, city FROM merchants WHERE id = $1",
            &[&merchant.row()],
        )?;
        Ok(row.map(|row| MerchantRecord {
            owner: AccountId::from_row(row.get(0)),
            name: row.get(1),
            city: row.get(2),
        }))
    }

    fn settlement_balance(&mut self, merchant: MerchantId, currency: Currency) -> Result<i64> {
        let account = LedgerAccountRef::merchant_settlement(merchant.row(), currency);
        let row = self.0.query_opt(
            "SELECT balance_minor FROM ledger_accounts
             WHERE kind = $1 AND holder = $2 AND currency = $3",
            &[
                &account.kind().as_str(),
                &account.holder(),
                &account.currency().as_str(),
            ],
        )?;
        Ok(row.map_or(0, |row| row.get(0)))
    }

    fn payment(&mut self, payment: PaymentId) -> Result<Option<Payment>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                payment_columns!(),
                " FROM payments p WHERE p.id = $1"
            ),
            &[&payment.row()],
        )?;
        row.as_ref().map(payment_from_row).transpose()
    }

    fn pin_entered_at(
        &mut self,
        account: AccountId,
        device: DeviceId,
    ) -> Result<Option<Timestamp>> {
        let row = self.0.query_opt(
            "SELECT pin_entered_at FROM devices WHERE id = $1 AND account_id = $2",
            &[&device.row(), &account.row()],
        )?;
        Ok(row
            .and_then(|row| row.get::<_, Option<i64>>(0))
            .map(Timestamp::from_unix_ms))
    }
}

impl Writes for PgTx<'_> {
    fn insert_merchant(
        &mut self,
        owner: AccountId,
        name: &str,
        city: &str,
        at: Timestamp,
    ) -> Result<MerchantId> {
        let row = self.conn().query_one(
            "INSERT INTO merchants (owner_id, name, city, created_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[&owner.row(), &name, &city, &at.unix_ms()],
        )?;
        Ok(MerchantId::from_row(row.get(0)))
    }

    fn insert_payment(&mut self, payment: &NewPayment, at: Timestamp) -> Result<PaymentId> {
        let row = self.conn().query_one(
            "INSERT INTO payments
             (merchant_id, buyer_id, amount_minor, currency, created_at, status, confirm_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &payment.merchant.row(),
                &payment.buyer.row(),
                &payment.money.amount.get(),
                &payment.money.currency.as_str(),
                &at.unix_ms(),
                &payment.status.code(),
                &payment.confirm_by.map(Timestamp::unix_ms),
            ],
        )?;
        Ok(PaymentId::from_row(row.get(0)))
    }

    fn payment_for_update(&mut self, payment: PaymentId) -> Result<Option<Payment>> {
        let row = self.conn().query_opt(
            concat!(
                "SELECT ",
                payment_columns!(),
                " FROM payments p WHERE p.id = $1 FOR UPDATE OF p"
            ),
            &[&payment.row()],
        )?;
        row.as_ref().map(payment_from_row).transpose()
    }

    fn set_refunded(&mut self, payment: PaymentId, refunded_minor: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE payments SET refunded_minor = $1 WHERE id = $2",
            &[&refunded_minor, &payment.row()],
        )?;
        Ok(())
    }

    fn insert_refund(
        &mut self,
        payment: PaymentId,
        amount_minor: i64,
        at: Timestamp,
    ) -> Result<RefundId> {
        let row = self.conn().query_one(
            "INSERT INTO refunds (payment_id, amount_minor, created_at)
             VALUES ($1, $2, $3) RETURNING id",
            &[&payment.row(), &amount_minor, &at.unix_ms()],
        )?;
        Ok(RefundId::from_row(row.get(0)))
    }

    fn set_payment_status(&mut self, payment: PaymentId, status: PaymentStatus) -> Result<()> {
        self.conn().execute(
            "UPDATE payments SET status = $1, confirm_by = NULL WHERE id = $2",
            &[&status.code(), &payment.row()],
        )?;
        Ok(())
    }

    fn unconfirmed_payments_for_update(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Payment>> {
        let rows = self.conn().query(
            concat!(
                "SELECT ",
                payment_columns!(),
                " FROM payments p WHERE p.status = 0 AND p.confirm_by <= $1
                  ORDER BY p.created_at LIMIT $2 FOR UPDATE OF p SKIP LOCKED"
            ),
            &[&now.unix_ms(), &i64::from(limit)],
        )?;
        rows.iter().map(payment_from_row).collect()
    }

    fn set_pin_entered(&mut self, device: DeviceId, at: Option<Timestamp>) -> Result<()> {
        self.conn().execute(
            "UPDATE devices SET pin_entered_at = $1 WHERE id = $2",
            &[&at.map(Timestamp::unix_ms), &device.row()],
        )?;
        Ok(())
    }

    fn insert_payment_code(&mut self, code: &NewPaymentCode) -> Result<()> {
        self.conn().execute(
            "INSERT INTO payment_codes (code_hash, account_id, device_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &&code.code_hash[..],
                &code.account.row(),
                &code.device.row(),
                &code.created_at.unix_ms(),
                &code.expires_at.unix_ms(),
            ],
        )?;
        Ok(())
    }

    fn payment_code_for_update(&mut self, code_hash: &[u8; 32]) -> Result<Option<PaymentCode>> {
        let row = self.conn().query_opt(
            "SELECT c.account_id, c.used_at IS NOT NULL, c.expires_at, d.revoked_at IS NULL
             FROM payment_codes c JOIN devices d ON d.id = c.device_id
             WHERE c.code_hash = $1 FOR UPDATE OF c",
            &[&&code_hash[..]],
        )?;
        Ok(row.map(|row| PaymentCode {
            buyer: AccountId::from_row(row.get(0)),
            used: row.get(1),
            expires_at: Timestamp::from_unix_ms(row.get(2)),
            device_live: row.get(3),
        }))
    }

    fn mark_code_used(&mut self, code_hash: &[u8; 32], at: Timestamp) -> Result<()> {
        self.conn().execute(
            "UPDATE payment_codes SET used_at = $1 WHERE code_hash = $2",
            &[&at.unix_ms(), &&code_hash[..]],
        )?;
        Ok(())
    }

    fn collections_for_update(&mut self, buyer: AccountId, day: i64) -> Result<DayCount> {
        // The buyer's account row: the day's row may not exist yet.
        lock_accounts(self.conn(), &[buyer])?;
        let row = self.conn().query_opt(
            "SELECT count, amount_minor FROM collections_without_confirmation
             WHERE account_id = $1 AND day = $2",
            &[&buyer.row(), &day],
        )?;
        Ok(row.map_or_else(DayCount::default, |row| DayCount {
            count: row.get(0),
            amount_minor: row.get(1),
        }))
    }

    fn count_collection(&mut self, buyer: AccountId, day: i64, amount_minor: i64) -> Result<()> {
        self.conn().execute(
            "INSERT INTO collections_without_confirmation (account_id, day, count, amount_minor)
             VALUES ($1, $2, 1, $3)
             ON CONFLICT (account_id, day) DO UPDATE
             SET count = collections_without_confirmation.count + 1,
                 amount_minor = collections_without_confirmation.amount_minor
                     + excluded.amount_minor",
            &[&buyer.row(), &day, &amount_minor],
        )?;
        Ok(())
    }

    fn purge_keys(&mut self, before: Timestamp, limit: u32) -> Result<usize> {
        let purged = self.conn().execute(
            "DELETE FROM idempotency_keys WHERE (account_id, key) IN (
                 SELECT account_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
            &[&before.unix_ms(), &i64::from(limit)],
        )?;
        Ok(purged as usize)
    }

    fn purge_payment_codes(&mut self, before: Timestamp, limit: u32) -> Result<usize> {
        let purged = self.conn().execute(
            "DELETE FROM payment_codes WHERE code_hash IN (
                 SELECT code_hash FROM payment_codes WHERE expires_at < $1 LIMIT $2)",
            &[&before.unix_ms(), &i64::from(limit)],
        )?;
        Ok(purged as usize)
    }

    fn purge_collection_days(&mut self, day: i64, limit: u32) -> Result<usize> {
        let purged = self.conn().execute(
            "DELETE FROM collections_without_confirmation WHERE (account_id, day) IN (
                 SELECT account_id, day FROM collections_without_confirmation
                 WHERE day < $1 LIMIT $2)",
            &[&day, &i64::from(limit)],
        )?;
        Ok(purged as usize)
    }
}
