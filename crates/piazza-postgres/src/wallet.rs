//! The wallet's data: the SQL behind `piazza_core::pay::wallet` — ledger
//! accounts and their postings, idempotency keys and payment PINs.
//!
//! Locks: a posting locks every ledger account it moves (`FOR NO KEY
//! UPDATE`, in id order, so two transactions posting to the same accounts
//! cannot deadlock over them) before reading its balance, and holds them
//! until COMMIT: no wallet goes below zero however many processes post to
//! it at once. A PIN is counted and changed under its row's lock.

use piazza_core::pay::wallet::{KeyAnswer, Posted, Reads, StoredAnswer, StoredPin, Writes};
use piazza_core::{Error, Result};
use piazza_domain::ledger::{
    BalanceChange, LedgerAccountRef, LedgerError, OperationKind, Transaction,
};
use piazza_domain::money::Currency;
use piazza_domain::store::{IdempotencyKey, Idempotent, StatementEntry};
use piazza_domain::{AccountId, EntryId, Timestamp, TransactionId};
use postgres::Row;

use crate::conn::{Conn, corrupt};
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

/// The row and balance of each of `accounts` (in their order), created at
/// zero on first use and locked until the transaction ends.
fn lock_ledger_accounts(conn: &mut Conn, accounts: &[LedgerAccountRef]) -> Result<Vec<(i64, i64)>> {
    let mut found = locked_rows(conn, accounts)?;
    if found.iter().any(Option::is_none) {
        let missing: Vec<LedgerAccountRef> = accounts
            .iter()
            .zip(&found)
            .filter(|(_, row)| row.is_none())
            .map(|(account, _)| *account)
            .collect();
        // Made by this transaction, the new rows are its own until it
        // commits; one a concurrent transaction made first is locked below.
        let (kinds, holders, currencies) = columns(&missing);
        conn.execute(
            "INSERT INTO ledger_accounts (kind, holder, currency, balance_minor)
             SELECT kind, holder, currency, 0
             FROM unnest($1::text[], $2::bigint[], $3::text[]) AS w(kind, holder, currency)
             ON CONFLICT (kind, holder, currency) DO NOTHING",
            &[&kinds, &holders, &currencies],
        )?;
        found = locked_rows(conn, accounts)?;
    }
    found
        .into_iter()
        .zip(accounts)
        .map(|(row, account)| row.ok_or_else(|| Error::missing(account)))
        .collect()
}

/// The rows of `accounts` that exist, locked in id order.
fn locked_rows(conn: &mut Conn, accounts: &[LedgerAccountRef]) -> Result<Vec<Option<(i64, i64)>>> {
    let (kinds, holders, currencies) = columns(accounts);
    let rows = conn.query(
        "SELECT a.id, a.balance_minor, a.kind, a.holder, a.currency
         FROM ledger_accounts a
         JOIN unnest($1::text[], $2::bigint[], $3::text[]) AS w(kind, holder, currency)
           ON a.kind = w.kind AND a.holder = w.holder AND a.currency = w.currency
         ORDER BY a.id FOR NO KEY UPDATE OF a",
        &[&kinds, &holders, &currencies],
    )?;
    Ok(accounts
        .iter()
        .map(|account| {
            rows.iter()
                .find(|row| {
                    row.get::<_, &str>(2) == account.kind().as_str()
                        && row.get::<_, i64>(3) == account.holder()
                        && row.get::<_, &str>(4) == account.currency().as_str()
                })
                .map(|row| (row.get(0), row.get(1)))
        })
        .collect())
}

/// `accounts` as three columns, for `unnest`.
fn columns(accounts: &[LedgerAccountRef]) -> (Vec<&'static str>, Vec<i64>, Vec<String>) {
    (
        accounts
            .iter()
            .map(|account| account.kind().as_str())
            .collect(),
        accounts.iter().map(LedgerAccountRef::holder).collect(),
        accounts
            .iter()
            .map(|account| account.currency().as_str().to_owned())
            .collect(),
    )
}

/// Writes `changes` as postings of the transaction `transaction_row` and
/// as the new balances of `rows` (the changes' ledger rows, in order).
fn write_changes(
    conn: &mut Conn,
    transaction_row: i64,
    rows: &[i64],
    changes: &[BalanceChange],
) -> Result<()> {
    let amounts: Vec<i64> = changes.iter().map(|change| change.amount).collect();
    let afters: Vec<i64> = changes.iter().map(|change| change.after).collect();
    conn.execute(
        "UPDATE ledger_accounts a SET balance_minor = w.after
         FROM unnest($1::bigint[], $2::bigint[]) AS w(id, after) WHERE a.id = w.id",
        &[&rows, &afters],
    )?;
    conn.execute(
        "INSERT INTO ledger_postings
         (transaction_id, ledger_account_id, amount_minor, balance_after_minor)
         SELECT $1, w.id, w.amount, w.after
         FROM unnest($2::bigint[], $3::bigint[], $4::bigint[])
              WITH ORDINALITY AS w(id, amount, after, n)
         ORDER BY w.n",
        &[&transaction_row, &rows, &amounts, &afters],
    )?;
    Ok(())
}

impl Writes for PgTx<'_> {
    fn post(
        &mut self,
        transaction: &Transaction,
        initiator: AccountId,
        reference: &str,
        at: Timestamp,
    ) -> Result<std::result::Result<Posted, LedgerError>> {
        if self.conn().batch.is_some() {
            return self
                .conn()
                .post_cached(transaction, initiator, reference, at);
        }
        let accounts: Vec<LedgerAccountRef> = transaction
            .postings()
            .iter()
            .map(|posting| posting.account())
            .collect();
        let found = lock_ledger_accounts(self.conn(), &accounts)?;
        let balance_of = |account: &LedgerAccountRef| {
            accounts
                .iter()
                .position(|one| one == account)
                .map_or(0, |index| found[index].1)
        };
        let changes = match transaction.balance_changes(balance_of) {
            Ok(changes) => changes,
            Err(refused) => return Ok(Err(refused)),
        };
        let transaction_row: i64 = self
            .conn()
            .query_one(
                "INSERT INTO ledger_transactions (kind, account_id, ref, at)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[
                    &transaction.kind().as_str(),
                    &initiator.row(),
                    &reference,
                    &at.unix_ms(),
                ],
            )?
            .get(0);
        // `balance_changes` answers one change per posting, in order.
        let rows: Vec<i64> = found.iter().map(|(row, _)| *row).collect();
        write_changes(self.conn(), transaction_row, &rows, &changes)?;
        Ok(Ok(Posted {
            transaction_id: TransactionId::from_row(transaction_row),
            changes,
        }))
    }

    fn payment_pin_for_update(&mut self, account: AccountId) -> Result<Option<StoredPin>> {
        if self.conn().batch.is_some() {
            let pin = self.conn().pin_locked(account.row())?;
            return Ok(pin.map(|pin| pin.pin));
        }
        let row = self.conn().query_opt(
            "SELECT pin_hash, locked_until, reset_pin_hash, reset_effective_at
             FROM payment_pins WHERE account_id = $1 FOR UPDATE",
            &[&account.row()],
        )?;
        Ok(row.as_ref().map(stored_pin))
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
        if self.conn().batch.is_some() {
            self.conn()
                .store_key_answer_cached(account, request, answer, at);
            return Ok(());
        }
        let stored = self.conn().execute(
            "INSERT INTO idempotency_keys
             (account_id, key, request_hash, status, response_body, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (account_id, key) DO NOTHING",
            &[
                &account.row(),
                &request.key.as_str(),
                &&request.request_hash[..],
                &KEY_DONE,
                &encode_answer(answer),
                &at.unix_ms(),
            ],
        )?;
        if stored == 0 {
            // A concurrent transaction stored this key first and has
            // committed: run the job again, and it replays that answer.
            return Err(Error::Conflict(format!(
                "idempotency key {:?} of {account} stored concurrently",
                request.key
            )));
        }
        Ok(())
    }
}
