//! The wallet's data: the SQL behind `piazza_core::pay::wallet` — ledger
//! accounts and their postings, idempotency keys and payment PINs.
//!
//! Locks: a posting locks every ledger account it moves (`FOR NO KEY
//! UPDATE`, in id order, so two transactions posting to the same accounts
//! cannot deadlock over them) before reading its balance, and holds them
//! until COMMIT: no wallet goes below zero however many processes post to
//! it at once. A PIN is counted and changed under its row's lock.

use piazza_core::Result;
use piazza_core::pay::wallet::{KeyAnswer, Posted, Reads, StoredAnswer, StoredPin, Writes};
use piazza_domain::ledger::{LedgerAccountRef, LedgerError, OperationKind, Transaction};
use piazza_domain::money::Currency;
use piazza_domain::store::{IdempotencyKey, Idempotent, StatementEntry};
use piazza_domain::{AccountId, EntryId, Timestamp, TransactionId};
use postgres::Row;

use crate::conn::corrupt;
use crate::{Db, PgTx};

/// The `status` of an idempotency key whose answer is final, as SQLite
/// keeps it.
pub(crate) const KEY_DONE: i64 = 1;

impl Reads for Db<'_> {
    fn wallet_balance(&mut self, account: AccountId, currency: Currency) -> Result<i64> {
        let wallet = LedgerAccountRef::user_wallet(account, currency);
        if self.0.batch.is_some() {
            let row = self.0.ledger_rows(&[wallet])?[0];
            return Ok(row.map_or(0, |row| row.balance.now));
        }
        let row = self.0.query_opt(
            "SELECT balance_minor FROM ledger_accounts
             WHERE kind = $1 AND holder = $2 AND currency = $3",
            &[
                &wallet.kind().as_str(),
                &wallet.holder(),
                &currency.as_str(),
            ],
        )?;
        Ok(row.map_or(0, |row| row.get(0)))
    }

    fn payment_pin(&mut self, account: AccountId) -> Result<Option<StoredPin>> {
        let row = self.0.query_opt(
            "SELECT pin_hash, locked_until, reset_pin_hash, reset_effective_at
             FROM payment_pins WHERE account_id = $1",
            &[&account.row()],
        )?;
        Ok(row.as_ref().map(stored_pin))
    }

    fn key_answer(
        &mut self,
        account: AccountId,
        key: &IdempotencyKey,
    ) -> Result<Option<StoredAnswer>> {
        if self.0.batch.is_some() {
            return self.0.key_answer_cached(account.row(), key.as_str());
        }
        let row = self.0.query_opt(
            "SELECT request_hash, response_body FROM idempotency_keys
             WHERE account_id = $1 AND key = $2 AND status = $3",
            &[&account.row(), &key.as_str(), &KEY_DONE],
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        let hash: Vec<u8> = row.get(0);
        let request_hash = hash
            .try_into()
            .map_err(|_| corrupt(format!("idempotency key {key:?}'s hash")))?;
        Ok(Some(StoredAnswer {
            request_hash,
            answer: decode_answer(row.get(1))?,
        }))
    }

    fn statement_lines(
        &mut self,
        account: AccountId,
        currency: Currency,
        before: Option<EntryId>,
        limit: u32,
    ) -> Result<Vec<StatementEntry>> {
        let wallet = LedgerAccountRef::user_wallet(account, currency);
        let rows = self.0.query(
            "SELECT p.id, p.transaction_id, p.amount_minor, p.balance_after_minor,
                    t.kind, t.at, t.ref
             FROM ledger_accounts a
             JOIN ledger_postings p ON p.ledger_account_id = a.id
             JOIN ledger_transactions t ON t.id = p.transaction_id
             WHERE a.kind = $1 AND a.holder = $2 AND a.currency = $3 AND p.id < $4
             ORDER BY p.id DESC LIMIT $5",
            &[
                &wallet.kind().as_str(),
                &wallet.holder(),
                &currency.as_str(),
                &before.map_or(i64::MAX, EntryId::row),
                &(i64::from(limit) + 1),
            ],
        )?;
        rows.iter().map(statement_line).collect()
    }
}

fn statement_line(row: &Row) -> Result<StatementEntry> {
    let kind: String = row.get(4);
    Ok(StatementEntry {
        entry_id: EntryId::from_row(row.get(0)),
        transaction_id: TransactionId::from_row(row.get(1)),
        amount_minor: row.get(2),
        balance_after_minor: row.get(3),
        kind: OperationKind::parse(&kind)
            .ok_or_else(|| corrupt(format!("unknown operation kind {kind:?}")))?,
        reference: row.get(6),
        at: Timestamp::from_unix_ms(row.get(5)),
    })
}

pub(crate) fn stored_pin(row: &Row) -> StoredPin {
    let reset = match (
        row.get::<_, Option<String>>(2),
        row.get::<_, Option<i64>>(3),
    ) {
        (Some(hash), Some(at)) => Some((hash, Timestamp::from_unix_ms(at))),
        _ => None,
    };
    StoredPin {
        pin_hash: row.get(0),
        locked_until: row.get::<_, Option<i64>>(1).map(Timestamp::from_unix_ms),
        reset,
    }
}

/// A key's answer as the JSON object every engine keeps.
pub(crate) fn encode_answer(answer: &KeyAnswer) -> String {
    let fields = answer.to_fields().into_iter();
    serde_json::Value::Object(
        fields
            .map(|(name, value)| (name.to_owned(), value.into()))
            .collect(),
    )
    .to_string()
}

pub(crate) fn decode_answer(body: &str) -> Result<KeyAnswer> {
    let corrupt = || corrupt(format!("idempotency response {body:?}"));
    let value: serde_json::Value = serde_json::from_str(body).map_err(|_| corrupt())?;
    KeyAnswer::from_fields(|name| value[name].as_i64()).ok_or_else(corrupt)
}

impl Writes for PgTx<'_> {
    fn post(
        &mut self,
        transaction: &Transaction,
        initiator: AccountId,
        reference: &str,
        at: Timestamp,
    ) -> Result<std::result::Result<Posted, LedgerError>> {
        // A writer's connection always has its batch (`batch/pay.rs`).
        self.conn()
            .post_cached(transaction, initiator, reference, at)
    }

    fn payment_pin_for_update(&mut self, account: AccountId) -> Result<Option<StoredPin>> {
        let pin = self.conn().pin_locked(account.row())?;
        Ok(pin.map(|pin| pin.pin))
    }

    fn insert_pin(&mut self, account: AccountId, pin_hash: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO payment_pins (account_id, pin_hash, failed_attempts) VALUES ($1, $2, 0)",
            &[&account.row(), &pin_hash],
        )?;
        Ok(())
    }

    fn store_pin_reset(
        &mut self,
        account: AccountId,
        pin_hash: &str,
        reset_hash: &str,
        effective_at: Timestamp,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE payment_pins SET pin_hash = $1, reset_pin_hash = $2, reset_effective_at = $3
             WHERE account_id = $4",
            &[
                &pin_hash,
                &reset_hash,
                &effective_at.unix_ms(),
                &account.row(),
            ],
        )?;
        Ok(())
    }

    fn replace_pin(&mut self, account: AccountId, pin_hash: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE payment_pins
             SET pin_hash = $1, reset_pin_hash = NULL, reset_effective_at = NULL
             WHERE account_id = $2",
            &[&pin_hash, &account.row()],
        )?;
        Ok(())
    }

    fn count_wrong_pin(&mut self, account: AccountId) -> Result<u32> {
        let failures: i64 = self
            .conn()
            .query_one(
                "UPDATE payment_pins SET failed_attempts = failed_attempts + 1
                 WHERE account_id = $1 RETURNING failed_attempts",
                &[&account.row()],
            )?
            .get(0);
        u32::try_from(failures)
            .map_err(|_| corrupt(format!("{account} failed its PIN {failures} times")))
    }

    fn lock_pin(&mut self, account: AccountId, until: Timestamp) -> Result<()> {
        self.conn().execute(
            "UPDATE payment_pins SET failed_attempts = 0, locked_until = $1 WHERE account_id = $2",
            &[&until.unix_ms(), &account.row()],
        )?;
        Ok(())
    }

    fn clear_pin_failures(&mut self, account: AccountId) -> Result<()> {
        // The common case, a right PIN with nothing to forget, writes
        // nothing (and keeps the job off a statement of its own).
        if self.conn().batch.is_some() && self.conn().pin_failures_clear(account.row()) {
            return Ok(());
        }
        self.conn().execute(
            "UPDATE payment_pins SET failed_attempts = 0, locked_until = NULL
             WHERE account_id = $1 AND (failed_attempts <> 0 OR locked_until IS NOT NULL)",
            &[&account.row()],
        )?;
        Ok(())
    }

    fn forget_pin_windows(&mut self, account: AccountId) -> Result<()> {
        self.conn().execute(
            "UPDATE devices SET pin_entered_at = NULL WHERE account_id = $1",
            &[&account.row()],
        )?;
        Ok(())
    }

    fn store_key_answer(
        &mut self,
        account: AccountId,
        request: &Idempotent,
        answer: &KeyAnswer,
        at: Timestamp,
    ) -> Result<()> {
        self.conn()
            .store_key_answer_cached(account, request, answer, at);
        Ok(())
    }
}
