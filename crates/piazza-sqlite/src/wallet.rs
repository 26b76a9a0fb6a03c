//! The wallet's data: the SQL behind `piazza_core::pay::wallet` — ledger
//! accounts and their postings, idempotency keys and payment PINs.

use std::collections::HashMap;

use piazza_core::Result;
use piazza_core::pay::wallet::{KeyAnswer, Posted, Reads, StoredAnswer, StoredPin, Writes};
use piazza_domain::ledger::{
    LedgerAccountKind, LedgerAccountRef, LedgerError, OperationKind, Transaction,
};
use piazza_domain::money::Currency;
use piazza_domain::store::{IdempotencyKey, Idempotent, StatementEntry};
use piazza_domain::{AccountId, EntryId, Timestamp, TransactionId};
use rusqlite::{Connection, OptionalExtension, params};

use crate::engine::{Db, Sql};
use crate::error::Error;
use crate::tails;
use crate::writer::WriteCtx;

/// The `status` of an idempotency key whose response is final. The only
/// one today; a key for an operation still in flight at a gateway would
/// get another.
const KEY_DONE: i64 = 1;

impl Reads for Db<'_> {
    fn wallet_balance(&mut self, account: AccountId, currency: Currency) -> Result<i64> {
        Ok(wallet_row(self.0, account, currency)?.map_or(0, |(_, balance)| balance))
    }

    fn payment_pin(&mut self, account: AccountId) -> Result<Option<StoredPin>> {
        stored_pin(self.0, account)
    }

    fn key_answer(
        &mut self,
        account: AccountId,
        key: &IdempotencyKey,
    ) -> Result<Option<StoredAnswer>> {
        let found: Option<(Vec<u8>, String)> = self
            .0
            .prepare_cached(
                "SELECT request_hash, response_body FROM idempotency_keys
                 WHERE account_id = ?1 AND key = ?2 AND status = ?3
                 UNION ALL
                 SELECT request_hash, response_body FROM idempotency_keys_tail
                 WHERE account_id = ?1 AND key = ?2 AND status = ?3",
            )
            .sql()?
            .query_row(params![account.row(), key.as_str(), KEY_DONE], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
            .sql()?;
        let Some((hash, body)) = found else {
            return Ok(None);
        };
        let request_hash = hash
            .try_into()
            .map_err(|_| piazza_core::Error::Corrupt(format!("idempotency key {key:?}'s hash")))?;
        Ok(Some(StoredAnswer {
            request_hash,
            answer: decode_answer(&body)?,
        }))
    }

    fn statement_lines(
        &mut self,
        account: AccountId,
        currency: Currency,
        before: Option<EntryId>,
        limit: u32,
    ) -> Result<Vec<StatementEntry>> {
        let Some((wallet, _)) = wallet_row(self.0, account, currency)? else {
            return Ok(Vec::new());
        };
        Ok(statement_lines(self.0, wallet, before, limit)?)
    }
}

impl Writes for WriteCtx<'_> {
    fn post(
        &mut self,
        transaction: &Transaction,
        initiator: AccountId,
        reference: &str,
        at: Timestamp,
    ) -> Result<std::result::Result<Posted, LedgerError>> {
        // The writer is SQLite's only one: what it reads here cannot move
        // before its transaction commits.
        let mut rows = HashMap::with_capacity(transaction.postings().len());
        for posting in transaction.postings() {
            let account = posting.account();
            rows.insert(account, ledger_account(self.conn, &account)?);
        }
        let changes = match transaction.balance_changes(|account| rows[account].1) {
            Ok(changes) => changes,
            Err(refused) => return Ok(Err(refused)),
        };
        self.conn
            .prepare_cached(
                "INSERT INTO ledger_transactions (kind, account_id, ref, at) VALUES (?1, ?2, ?3, ?4)",
            )
            .sql()?
            .execute(params![
                transaction.kind().as_str(),
                initiator.row(),
                reference,
                at.unix_ms()
            ])
            .sql()?;
        let transaction_row = self.conn.last_insert_rowid();
        for change in &changes {
            write_change(self, transaction_row, rows[&change.account].0, change)?;
        }
        Ok(Ok(Posted {
            transaction_id: TransactionId::from_row(transaction_row),
            changes,
        }))
    }

    fn payment_pin_for_update(&mut self, account: AccountId) -> Result<Option<StoredPin>> {
        stored_pin(self.conn, account)
    }

    fn insert_pin(&mut self, account: AccountId, pin_hash: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO payment_pins (account_id, pin_hash, failed_attempts)
                 VALUES (?1, ?2, 0)",
            )
            .sql()?
            .execute(params![account.row(), pin_hash])
            .sql()?;
        Ok(())
    }

    fn store_pin_reset(
        &mut self,
        account: AccountId,
        pin_hash: &str,
        reset_hash: &str,
        effective_at: Timestamp,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE payment_pins
                 SET pin_hash = ?1, reset_pin_hash = ?2, reset_effective_at = ?3
                 WHERE account_id = ?4",
            )
            .sql()?
            .execute(params![
                pin_hash,
                reset_hash,
                effective_at.unix_ms(),
                account.row()
            ])
            .sql()?;
        Ok(())
    }

    fn replace_pin(&mut self, account: AccountId, pin_hash: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE payment_pins
                 SET pin_hash = ?1, reset_pin_hash = NULL, reset_effective_at = NULL
                 WHERE account_id = ?2",
            )
            .sql()?
            .execute(params![pin_hash, account.row()])
            .sql()?;
        Ok(())
    }

    fn count_wrong_pin(&mut self, account: AccountId) -> Result<u32> {
        let failures: i64 = self
            .conn
            .prepare_cached(
                "UPDATE payment_pins SET failed_attempts = failed_attempts + 1
                 WHERE account_id = ?1 RETURNING failed_attempts",
            )
            .sql()?
            .query_row([account.row()], |row| row.get(0))
            .sql()?;
        u32::try_from(failures).map_err(|_| {
            piazza_core::Error::Corrupt(format!("{account} failed its PIN {failures} times"))
        })
    }

    fn lock_pin(&mut self, account: AccountId, until: Timestamp) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE payment_pins SET failed_attempts = 0, locked_until = ?1
                 WHERE account_id = ?2",
            )
            .sql()?
            .execute(params![until.unix_ms(), account.row()])
            .sql()?;
        Ok(())
    }

    fn clear_pin_failures(&mut self, account: AccountId) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE payment_pins SET failed_attempts = 0, locked_until = NULL
                 WHERE account_id = ?1
                   AND (failed_attempts <> 0 OR locked_until IS NOT NULL)",
            )
            .sql()?
            .execute([account.row()])
            .sql()?;
        Ok(())
    }

    fn forget_pin_windows(&mut self, account: AccountId) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE devices SET pin_entered_at = NULL WHERE account_id = ?1")
            .sql()?
            .execute([account.row()])
            .sql()?;
        Ok(())
    }

    fn store_key_answer(
        &mut self,
        account: AccountId,
        request: &Idempotent,
        answer: &KeyAnswer,
        at: Timestamp,
    ) -> Result<()> {
        // New keys go into the tail (`tails.rs`), which has no unique
        // index over both tables; the single writer looked the key up in
        // this transaction, so it is not in either.
        self.conn
            .prepare_cached(
                "INSERT INTO idempotency_keys_tail
                 (account_id, key, request_hash, status, response_body, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .sql()?
            .execute(params![
                account.row(),
                request.key.as_str(),
                &request.request_hash[..],
                KEY_DONE,
                encode_answer(answer).to_string(),
                at.unix_ms()
            ])
            .sql()?;
        self.appended_to(tails::IDEMPOTENCY_KEYS);
        Ok(())
    }
}

/// Writes one account's posting and new balance.
fn write_change(
    ctx: &mut WriteCtx<'_>,
    transaction_row: i64,
    account_row: i64,
    change: &piazza_domain::ledger::BalanceChange,
) -> Result<()> {
    ctx.conn
        .prepare_cached("UPDATE ledger_accounts SET balance_minor = ?1 WHERE id = ?2")
        .sql()?
        .execute(params![change.after, account_row])
        .sql()?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO ledger_postings
             (transaction_id, ledger_account_id, amount_minor, balance_after_minor)
             VALUES (?1, ?2, ?3, ?4)",
        )
        .sql()?
        .execute(params![
            transaction_row,
            account_row,
            change.amount,
            change.after
        ])
        .sql()?;
    // Only wallets have a statement to read.
    if change.account.kind() == LedgerAccountKind::UserWallet {
        ctx.conn
            .prepare_cached(
                "INSERT INTO postings_by_account_tail (ledger_account_id, posting_id) VALUES (?1, ?2)",
            )
            .sql()?
            .execute(params![account_row, ctx.conn.last_insert_rowid()])
            .sql()?;
        ctx.appended_to(tails::POSTINGS_BY_ACCOUNT);
    }
    Ok(())
}

/// The row and balance of a ledger account, created at zero on first use.
fn ledger_account(conn: &Connection, account: &LedgerAccountRef) -> Result<(i64, i64)> {
    let found: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT id, balance_minor FROM ledger_accounts
             WHERE kind = ?1 AND holder = ?2 AND currency = ?3",
        )
        .sql()?
        .query_row(
            params![
                account.kind().as_str(),
                account.holder(),
                account.currency().as_str()
            ],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .sql()?;
    if let Some(found) = found {
        return Ok(found);
    }
    conn.prepare_cached(
        "INSERT INTO ledger_accounts (kind, holder, currency, balance_minor) VALUES (?1, ?2, ?3, 0)",
    )
    .sql()?
    .execute(params![
        account.kind().as_str(),
        account.holder(),
        account.currency().as_str()
    ])
    .sql()?;
    Ok((conn.last_insert_rowid(), 0))
}

/// A key's answer as the JSON object every engine keeps.
fn encode_answer(answer: &KeyAnswer) -> serde_json::Value {
    let fields = answer.to_fields().into_iter();
    serde_json::Value::Object(
        fields
            .map(|(name, value)| (name.to_owned(), value.into()))
            .collect(),
    )
}

fn decode_answer(body: &str) -> Result<KeyAnswer> {
    let corrupt = || piazza_core::Error::Corrupt(format!("idempotency response {body:?}"));
    let value: serde_json::Value = serde_json::from_str(body).map_err(|_| corrupt())?;
    KeyAnswer::from_fields(|name| value[name].as_i64()).ok_or_else(corrupt)
}

/// The stored PIN of `account`.
fn stored_pin(conn: &Connection, account: AccountId) -> Result<Option<StoredPin>> {
    conn.prepare_cached(
        "SELECT pin_hash, locked_until, reset_pin_hash, reset_effective_at
         FROM payment_pins WHERE account_id = ?1",
    )
    .sql()?
    .query_row([account.row()], |row| {
        let reset = match (
            row.get::<_, Option<String>>(2)?,
            row.get::<_, Option<i64>>(3)?,
        ) {
            (Some(hash), Some(at)) => Some((hash, Timestamp::from_unix_ms(at))),
            _ => None,
        };
        Ok(StoredPin {
            pin_hash: row.get(0)?,
            locked_until: row.get::<_, Option<i64>>(1)?.map(Timestamp::from_unix_ms),
            reset,
        })
    })
    .optional()
    .sql()
}

/// The wallet's ledger row, if money ever moved through it.
fn wallet_row(
    conn: &Connection,
    account: AccountId,
    currency: Currency,
) -> Result<Option<(i64, i64)>> {
    let wallet = LedgerAccountRef::user_wallet(account, currency);
    conn.prepare_cached(
        "SELECT id, balance_minor FROM ledger_accounts
         WHERE kind = ?1 AND holder = ?2 AND currency = ?3",
    )
    .sql()?
    .query_row(
        params![wallet.kind().as_str(), wallet.holder(), currency.as_str()],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()
    .sql()
}

/// The statement lines of the wallet whose ledger row is `wallet`.
fn statement_lines(
    conn: &Connection,
    wallet: i64,
    before: Option<EntryId>,
    limit: u32,
) -> crate::error::Result<Vec<StatementEntry>> {
    // The account's postings are indexed in two tables (`tails.rs`): the
    // page's ids come from both, newest first, in one statement.
    let mut statement = conn.prepare_cached(
        "SELECT p.id, p.transaction_id, p.amount_minor, p.balance_after_minor, t.kind, t.at, t.ref
         FROM (SELECT posting_id FROM postings_by_account
               WHERE ledger_account_id = ?1 AND posting_id < ?2
               UNION ALL
               SELECT posting_id FROM postings_by_account_tail
               WHERE ledger_account_id = ?1 AND posting_id < ?2
               ORDER BY posting_id DESC LIMIT ?3) page
         JOIN ledger_postings p ON p.id = page.posting_id
         JOIN ledger_transactions t ON t.id = p.transaction_id
         ORDER BY p.id DESC",
    )?;
    let before = before.map_or(i64::MAX, EntryId::row);
    let mut rows = statement.query(params![wallet, before, i64::from(limit) + 1])?;
    let mut lines = Vec::new();
    while let Some(row) = rows.next()? {
        let kind: String = row.get(4)?;
        let kind = OperationKind::parse(&kind)
            .ok_or_else(|| Error::Corrupt(format!("unknown operation kind {kind:?}")))?;
        lines.push(StatementEntry {
            entry_id: EntryId::from_row(row.get(0)?),
            transaction_id: TransactionId::from_row(row.get(1)?),
            amount_minor: row.get(2)?,
            balance_after_minor: row.get(3)?,
            kind,
            reference: row.get(6)?,
            at: Timestamp::from_unix_ms(row.get(5)?),
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use piazza_domain::ledger::MONEY_INSIDE_MAX;
    use piazza_domain::money::{AMOUNT_MINOR_MAX, AmountMinor, Currency, Money};
    use piazza_domain::store::{IdempotencyKey, Idempotent, PinCheck};
    use piazza_domain::{Rejection, StoreError};

    use crate::test_support::{Nobody, account, core, set_first_pin};
    use crate::{SqliteStore, StoreOptions};

    fn request(key: &str) -> Idempotent {
        Idempotent {
            key: IdempotencyKey::parse(key).unwrap(),
            request_hash: [1; 32],
        }
    }

    /// Top-ups filled the gateway's account until it overflowed, and every
    /// later top-up failed as the store's error (503). The ledger bounds
    /// the money inside instead: the top-up past it is a refusal, and money
    /// going out makes room again.
    #[tokio::test]
    async fn the_money_inside_is_bounded_by_a_refusal_not_an_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap(),
        );
        let ann = account(&store, "ann").await;
        let store = core(&store, dir.path());
        let largest = Money::new(AmountMinor::MAX, Currency::CNY);
        // 9,000 top-ups of the largest amount, many at a time so that they
        // share commits.
        let mut fills = tokio::task::JoinSet::new();
        for n in 0..MONEY_INSIDE_MAX / AMOUNT_MINOR_MAX {
            let store = store.clone();
            fills.spawn(async move {
                let key = format!("fill-{n}");
                store
                    .top_up(ann, request(&key), largest, "test".into())
                    .await
            });
        }
        while let Some(done) = fills.join_next().await {
            done.unwrap().unwrap();
        }
        let one = Money::new(AmountMinor::ONE, Currency::CNY);
        let refused = store.top_up(ann, request("past"), one, "test".into()).await;
        assert!(
            matches!(refused, Err(StoreError::Rejected(Rejection::GatewayLimit))),
            "{refused:?}"
        );
        set_first_pin(&store, ann).await;
        store
            .withdraw(ann, request("out"), one, PinCheck::Verified, "test".into())
            .await
            .unwrap();
        store
            .top_up(ann, request("again"), one, "test".into())
            .await
            .unwrap();
        assert_eq!(
            store.wallet_balance(ann, Currency::CNY).await.unwrap(),
            MONEY_INSIDE_MAX
        );
        let report = crate::integrity::check_ledger_data_dir(dir.path()).unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
    }
}
