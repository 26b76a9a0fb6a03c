//! Merchants' data: the SQL behind `piazza_core::pay::merchants` —
//! merchants, payments and refunds, payment codes (only their SHA-256),
//! the daily counts of collections made without confirmation, and the
//! sweeper's purge of old keys, codes and counts.

use piazza_core::Result;
use piazza_core::pay::merchants::{
    DayCount, MerchantRecord, NewPayment, NewPaymentCode, PaymentCode, Reads, Writes,
};
use piazza_domain::ledger::LedgerAccountRef;
use piazza_domain::money::{AmountMinor, Currency, Money};
use piazza_domain::store::{Payment, PaymentStatus};
use piazza_domain::{AccountId, DeviceId, MerchantId, PaymentId, RefundId, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::engine::{Db, Sql};
use crate::error::Error;
use crate::tails;
use crate::writer::WriteCtx;

const PAYMENT_COLUMNS: &str = "id, merchant_id, buyer_id, amount_minor, currency, refunded_minor, created_at, status, confirm_by, \
     (SELECT name FROM merchants WHERE merchants.id = payments.merchant_id)";

impl Reads for Db<'_> {
    fn merchant(&mut self, merchant: MerchantId) -> Result<Option<MerchantRecord>> {
        self.0
            .prepare_cached("SELECT owner_id, name, city FROM merchants WHERE id = ?1")
            .sql()?
            .query_row([merchant.row()], |row| {
                Ok(MerchantRecord {
                    owner: AccountId::from_row(row.get(0)?),
                    name: row.get(1)?,
                    city: row.get(2)?,
                })
            })
            .optional()
            .sql()
    }

    fn settlement_balance(&mut self, merchant: MerchantId, currency: Currency) -> Result<i64> {
        let account = LedgerAccountRef::merchant_settlement(merchant.row(), currency);
        let found: Option<i64> = self
            .0
            .prepare_cached(
                "SELECT balance_minor FROM ledger_accounts
                 WHERE kind = ?1 AND holder = ?2 AND currency = ?3",
            )
            .sql()?
            .query_row(
                params![
                    account.kind().as_str(),
                    account.holder(),
                    account.currency().as_str()
                ],
                |row| row.get(0),
            )
            .optional()
            .sql()?;
        Ok(found.unwrap_or(0))
    }

    fn payment(&mut self, payment: PaymentId) -> Result<Option<Payment>> {
        Ok(load_payment(self.0, payment)?)
    }

    fn pin_entered_at(
        &mut self,
        account: AccountId,
        device: DeviceId,
    ) -> Result<Option<Timestamp>> {
        let entered: Option<Option<i64>> = self
            .0
            .prepare_cached("SELECT pin_entered_at FROM devices WHERE id = ?1 AND account_id = ?2")
            .sql()?
            .query_row(params![device.row(), account.row()], |row| row.get(0))
            .optional()
            .sql()?;
        Ok(entered.flatten().map(Timestamp::from_unix_ms))
    }
}

impl Writes for WriteCtx<'_> {
    fn insert_merchant(
        &mut self,
        owner: AccountId,
        name: &str,
        city: &str,
        at: Timestamp,
    ) -> Result<MerchantId> {
        let row: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO merchants (owner_id, name, city, created_at)
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
            )
            .sql()?
            .query_row(params![owner.row(), name, city, at.unix_ms()], |row| {
                row.get(0)
            })
            .sql()?;
        Ok(MerchantId::from_row(row))
    }

    fn insert_payment(&mut self, payment: &NewPayment, at: Timestamp) -> Result<PaymentId> {
        let row: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO payments
                 (merchant_id, buyer_id, amount_minor, currency, created_at, status, confirm_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
            )
            .sql()?
            .query_row(
                params![
                    payment.merchant.row(),
                    payment.buyer.row(),
                    payment.money.amount.get(),
                    payment.money.currency.as_str(),
                    at.unix_ms(),
                    payment.status.code(),
                    payment.confirm_by.map(Timestamp::unix_ms),
                ],
                |row| row.get(0),
            )
            .sql()?;
        Ok(PaymentId::from_row(row))
    }

    fn payment_for_update(&mut self, payment: PaymentId) -> Result<Option<Payment>> {
        Ok(load_payment(self.conn, payment)?)
    }

    fn set_refunded(&mut self, payment: PaymentId, refunded_minor: i64) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE payments SET refunded_minor = ?1 WHERE id = ?2")
            .sql()?
            .execute(params![refunded_minor, payment.row()])
            .sql()?;
        Ok(())
    }

    fn insert_refund(
        &mut self,
        payment: PaymentId,
        amount_minor: i64,
        at: Timestamp,
    ) -> Result<RefundId> {
        let row: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO refunds (payment_id, amount_minor, created_at)
                 VALUES (?1, ?2, ?3) RETURNING id",
            )
            .sql()?
            .query_row(params![payment.row(), amount_minor, at.unix_ms()], |row| {
                row.get(0)
            })
            .sql()?;
        Ok(RefundId::from_row(row))
    }

    fn set_payment_status(&mut self, payment: PaymentId, status: PaymentStatus) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE payments SET status = ?1, confirm_by = NULL WHERE id = ?2")
            .sql()?
            .execute(params![status.code(), payment.row()])
            .sql()?;
        Ok(())
    }

    fn unconfirmed_payments_for_update(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Payment>> {
        let mut statement = self
            .conn
            .prepare_cached(&format!(
                "SELECT {PAYMENT_COLUMNS} FROM payments
                 WHERE status = 0 AND confirm_by <= ?1 ORDER BY created_at LIMIT ?2"
            ))
            .sql()?;
        let mut rows = statement
            .query(params![now.unix_ms(), i64::from(limit)])
            .sql()?;
        let mut waiting = Vec::new();
        while let Some(row) = rows.next().sql()? {
            waiting.push(payment_from_row(row)?);
        }
        Ok(waiting)
    }

    fn set_pin_entered(&mut self, device: DeviceId, at: Option<Timestamp>) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE devices SET pin_entered_at = ?1 WHERE id = ?2")
            .sql()?
            .execute(params![at.map(Timestamp::unix_ms), device.row()])
            .sql()?;
        Ok(())
    }

    fn insert_payment_code(&mut self, code: &NewPaymentCode) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO payment_codes (code_hash, account_id, device_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .sql()?
            .execute(params![
                &code.code_hash[..],
                code.account.row(),
                code.device.row(),
                code.created_at.unix_ms(),
                code.expires_at.unix_ms()
            ])
            .sql()?;
        Ok(())
    }

    fn payment_code_for_update(&mut self, code_hash: &[u8; 32]) -> Result<Option<PaymentCode>> {
        self.conn
            .prepare_cached(
                "SELECT c.account_id, c.used_at IS NOT NULL, c.expires_at, d.revoked_at IS NULL
                 FROM payment_codes c JOIN devices d ON d.id = c.device_id
                 WHERE c.code_hash = ?1",
            )
            .sql()?
            .query_row([&code_hash[..]], |row| {
                Ok(PaymentCode {
                    buyer: AccountId::from_row(row.get(0)?),
                    used: row.get(1)?,
                    expires_at: Timestamp::from_unix_ms(row.get(2)?),
                    device_live: row.get(3)?,
                })
            })
            .optional()
            .sql()
    }

    fn mark_code_used(&mut self, code_hash: &[u8; 32], at: Timestamp) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE payment_codes SET used_at = ?1 WHERE code_hash = ?2")
            .sql()?
            .execute(params![at.unix_ms(), &code_hash[..]])
            .sql()?;
        Ok(())
    }

    fn collections_for_update(&mut self, buyer: AccountId, day: i64) -> Result<DayCount> {
        // The single writer: no other transaction counts meanwhile.
        let found = self
            .conn
            .prepare_cached(
                "SELECT count, amount_minor FROM collections_without_confirmation
                 WHERE account_id = ?1 AND day = ?2",
            )
            .sql()?
            .query_row(params![buyer.row(), day], |row| {
                Ok(DayCount {
                    count: row.get(0)?,
                    amount_minor: row.get(1)?,
                })
            })
            .optional()
            .sql()?;
        Ok(found.unwrap_or_default())
    }

    fn count_collection(&mut self, buyer: AccountId, day: i64, amount_minor: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO collections_without_confirmation (account_id, day, count, amount_minor)
                 VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (account_id, day) DO UPDATE
                 SET count = count + 1, amount_minor = amount_minor + excluded.amount_minor",
            )
            .sql()?
            .execute(params![buyer.row(), day, amount_minor])
            .sql()?;
        Ok(())
    }

    fn purge_keys(&mut self, before: Timestamp, limit: u32) -> Result<usize> {
        // Keys live in two tables (`tails.rs`); the tail is small and has
        // no index by age.
        let mut keys = 0;
        for table in ["idempotency_keys", "idempotency_keys_tail"] {
            let left = i64::from(limit) - keys as i64;
            keys += self
                .conn
                .prepare_cached(&format!(
                    "DELETE FROM {table} WHERE (account_id, key) IN (
                         SELECT account_id, key FROM {table} WHERE created_at < ?1 LIMIT ?2)"
                ))
                .sql()?
                .execute(params![before.unix_ms(), left])
                .sql()?;
        }
        self.removed_from(tails::IDEMPOTENCY_KEYS);
        Ok(keys)
    }

    fn purge_payment_codes(&mut self, before: Timestamp, limit: u32) -> Result<usize> {
        self.conn
            .prepare_cached(
                "DELETE FROM payment_codes WHERE code_hash IN (
                     SELECT code_hash FROM payment_codes WHERE expires_at < ?1 LIMIT ?2)",
            )
            .sql()?
            .execute(params![before.unix_ms(), i64::from(limit)])
            .sql()
    }

    fn purge_collection_days(&mut self, day: i64, limit: u32) -> Result<usize> {
        self.conn
            .prepare_cached(
                "DELETE FROM collections_without_confirmation WHERE (account_id, day) IN (
                     SELECT account_id, day FROM collections_without_confirmation
                     WHERE day < ?1 LIMIT ?2)",
            )
            .sql()?
            .execute(params![day, i64::from(limit)])
            .sql()
    }
}

fn payment_from_row(row: &Row<'_>) -> crate::error::Result<Payment> {
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

fn load_payment(conn: &Connection, payment: PaymentId) -> crate::error::Result<Option<Payment>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = ?1"
    ))?;
    let mut rows = statement.query([payment.row()])?;
    match rows.next()? {
        Some(row) => Ok(Some(payment_from_row(row)?)),
        None => Ok(None),
    }
}
