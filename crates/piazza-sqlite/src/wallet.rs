//! Piazza Pay in the store: posting the domain's balanced transactions,
//! idempotency keys and payment PINs. The write functions run inside the
//! writer like every change; the reads run on either side.
//!
//! A money movement is one writer job: the idempotency key is looked up,
//! the postings and new balances written, the log entry appended and the
//! key's response stored, all in one savepoint. Either all of it commits
//! or none does, so a key never outlives or misses its effect.

use std::collections::HashMap;

use piazza_domain::event::{Event, WalletMovement};
use piazza_domain::ledger::{
    LedgerAccountKind, LedgerAccountRef, LedgerError, OperationKind, Transaction,
};
use piazza_domain::money::{Currency, Money};
use piazza_domain::store::{
    Idempotent, MoneyMoved, Page, PinChange, PinCheck, PinSet, PinState, StatementEntry,
};
use piazza_domain::{AccountId, EntryId, Rejection, Timestamp, TransactionId};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};
use crate::tails;
use crate::writer::WriteCtx;

/// The `status` of an idempotency key whose response is final. The only
/// one today; a key for an operation still in flight at a gateway would
/// get another.
const KEY_DONE: i64 = 1;

/// The row and balance of a ledger account, created at zero on first use.
fn ledger_account(conn: &Connection, account: &LedgerAccountRef) -> Result<(i64, i64)> {
    let found: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT id, balance_minor FROM ledger_accounts
             WHERE kind = ?1 AND holder = ?2 AND currency = ?3",
        )?
        .query_row(
            params![
                account.kind().as_str(),
                account.holder(),
                account.currency().as_str()
            ],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    if let Some(found) = found {
        return Ok(found);
    }
    conn.prepare_cached(
        "INSERT INTO ledger_accounts (kind, holder, currency, balance_minor) VALUES (?1, ?2, ?3, 0)",
    )?
    .execute(params![
        account.kind().as_str(),
        account.holder(),
        account.currency().as_str()
    ])?;
    Ok((conn.last_insert_rowid(), 0))
}

/// Writes `transaction`'s postings and the new balances of the accounts it
/// touches, or refuses it whole: a user wallet that would go below zero is
/// the caller's `InsufficientFunds`, more money inside Piazza than the
/// ledger may hold is `GatewayLimit`; any other ledger error is a bug.
/// Returns the transaction's id and the new balance of each account.
pub(crate) fn post(
    ctx: &mut WriteCtx<'_>,
    transaction: &Transaction,
    initiator: AccountId,
    reference: &str,
) -> Result<(TransactionId, HashMap<LedgerAccountRef, i64>)> {
    // Every money move posts, so this one check halts them all once the
    // verifier has found damage.
    if ctx.money_halted {
        return Err(Error::Rejected(Rejection::MoneyHalted));
    }
    let mut rows = HashMap::with_capacity(transaction.postings().len());
    for posting in transaction.postings() {
        let account = posting.account();
        rows.insert(account, ledger_account(ctx.conn, &account)?);
    }
    let changes = transaction
        .balance_changes(|account| rows[account].1)
        .map_err(|error| match error {
            LedgerError::InsufficientFunds { .. } => Error::Rejected(Rejection::InsufficientFunds),
            LedgerError::MoneyInsideLimit { .. } => Error::Rejected(Rejection::GatewayLimit),
            other => Error::Corrupt(format!("ledger refused a transaction: {other}")),
        })?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO ledger_transactions (kind, account_id, ref, at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            transaction.kind().as_str(),
            initiator.row(),
            reference,
            ctx.now.unix_ms()
        ])?;
    let transaction_row = ctx.conn.last_insert_rowid();
    let mut after = HashMap::with_capacity(changes.len());
    for change in &changes {
        let row = rows[&change.account].0;
        ctx.conn
            .prepare_cached("UPDATE ledger_accounts SET balance_minor = ?1 WHERE id = ?2")?
            .execute(params![change.after, row])?;
        ctx.conn
            .prepare_cached(
                "INSERT INTO ledger_postings
                 (transaction_id, ledger_account_id, amount_minor, balance_after_minor)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![transaction_row, row, change.amount, change.after])?;
        // Only wallets have a statement to read.
        if change.account.kind() == LedgerAccountKind::UserWallet {
            ctx.conn
                .prepare_cached(
                    "INSERT INTO postings_by_account_tail (ledger_account_id, posting_id) VALUES (?1, ?2)",
                )?
                .execute(params![row, ctx.conn.last_insert_rowid()])?;
            ctx.appended_to(tails::POSTINGS_BY_ACCOUNT);
        }
        after.insert(change.account, change.after);
    }
    Ok((TransactionId::from_row(transaction_row), after))
}

/// The stored answer for `request`'s key: `Some` to replay it, an error if
/// the key was used for another request, `None` if it is new.
pub(crate) fn stored_answer(
    conn: &Connection,
    account: AccountId,
    request: &Idempotent,
) -> Result<Option<MoneyMoved>> {
    let Some(value) = stored_response(conn, account, request)? else {
        return Ok(None);
    };
    let corrupt = || Error::Corrupt(format!("idempotency response {value}"));
    let transaction = value["transaction_id"].as_i64().ok_or_else(corrupt)?;
    let balance = value["balance_minor"].as_i64().ok_or_else(corrupt)?;
    Ok(Some(MoneyMoved {
        transaction_id: TransactionId::from_row(transaction),
        balance_minor: balance,
        replayed: true,
    }))
}

/// The stored JSON answer for `request`'s key: `Some` to replay it, an
/// error if the key was used for another request, `None` if it is new.
pub(crate) fn stored_response(
    conn: &Connection,
    account: AccountId,
    request: &Idempotent,
) -> Result<Option<serde_json::Value>> {
    let found: Option<(Vec<u8>, String)> = conn
        .prepare_cached(
            "SELECT request_hash, response_body FROM idempotency_keys
             WHERE account_id = ?1 AND key = ?2 AND status = ?3
             UNION ALL
             SELECT request_hash, response_body FROM idempotency_keys_tail
             WHERE account_id = ?1 AND key = ?2 AND status = ?3",
        )?
        .query_row(
            params![account.row(), request.key.as_str(), KEY_DONE],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((hash, body)) = found else {
        return Ok(None);
    };
    if hash != request.request_hash {
        return Err(Rejection::IdempotencyKeyReused.into());
    }
    let value: serde_json::Value = serde_json::from_str(&body)
        .map_err(|_| Error::Corrupt(format!("idempotency response {body:?}")))?;
    Ok(Some(value))
}

fn store_answer(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    request: &Idempotent,
    moved: &MoneyMoved,
) -> Result<()> {
    let body = serde_json::json!({
        "transaction_id": moved.transaction_id.row(),
        "balance_minor": moved.balance_minor,
    });
    store_response(ctx, account, request, &body)
}

/// Stores the key's final answer, in the job of the effect it answers.
pub(crate) fn store_response(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    request: &Idempotent,
    body: &serde_json::Value,
) -> Result<()> {
    let body = body.to_string();
    ctx.conn
        .prepare_cached(
            "INSERT INTO idempotency_keys_tail
             (account_id, key, request_hash, status, response_body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            account.row(),
            request.key.as_str(),
            &request.request_hash[..],
            KEY_DONE,
            body,
            ctx.now.unix_ms()
        ])?;
    ctx.appended_to(tails::IDEMPOTENCY_KEYS);
    Ok(())
}

/// Posts a one-wallet operation (top-up, withdrawal), logs it to the
/// wallet's owner and stores the key's answer.
fn move_money(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    request: &Idempotent,
    money: Money,
    transaction: Transaction,
    reference: &str,
) -> Result<MoneyMoved> {
    let (transaction_id, after) = post(ctx, &transaction, account, reference)?;
    let wallet = LedgerAccountRef::user_wallet(account, money.currency);
    let balance_minor = *after
        .get(&wallet)
        .ok_or_else(|| Error::Corrupt("the operation did not touch the wallet".into()))?;
    let movement = WalletMovement {
        transaction_id,
        kind: transaction.kind().as_str().to_owned(),
        amount_minor: money.amount.get(),
        currency: money.currency.as_str().to_owned(),
        balance_minor,
    };
    let credited = transaction
        .postings()
        .iter()
        .any(|posting| posting.account() == wallet && posting.amount() > 0);
    let event = if credited {
        Event::WalletCredited(movement)
    } else {
        Event::WalletDebited(movement)
    };
    ctx.append_log(account, event)?;
    let moved = MoneyMoved {
        transaction_id,
        balance_minor,
        replayed: false,
    };
    store_answer(ctx, account, request, &moved)?;
    Ok(moved)
}

pub fn top_up(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    request: Idempotent,
    money: Money,
    reference: String,
) -> Result<MoneyMoved> {
    if let Some(replay) = stored_answer(ctx.conn, account, &request)? {
        return Ok(replay);
    }
    let transaction = Transaction::top_up(account, money);
    move_money(ctx, account, &request, money, transaction, &reference)
}

/// The outer `Result` rolls the job back; the inner one is a refusal that
/// must still commit, because a wrong PIN has to be counted.
pub fn withdraw(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    request: Idempotent,
    money: Money,
    pin: PinCheck,
    reference: String,
) -> Result<std::result::Result<MoneyMoved, Rejection>> {
    if let Some(replay) = stored_answer(ctx.conn, account, &request)? {
        return Ok(Ok(replay));
    }
    if let Some(refused) = check_pin(ctx, account, pin)? {
        return Ok(Err(refused));
    }
    // The movement gets a savepoint of its own: refused (too little
    // money), it leaves nothing behind, not even a wallet row, while the
    // PIN's reset — earned by a right PIN — stays.
    let transaction = Transaction::withdrawal(account, money);
    ctx.refusable(|ctx| move_money(ctx, account, &request, money, transaction, &reference))
}

/// The PIN check of a money-out job, in the writer: `Some` refusal to
/// commit (a reset waiting or a lock refuses before the PIN is looked at;
/// a wrong PIN is counted, five lock money-out), `None` to go on (a right
/// PIN clears the count).
pub(crate) fn check_pin(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    pin: PinCheck,
) -> Result<Option<Rejection>> {
    // Checked again here, in the writer: wrong PINs racing each other were
    // each verified before the lock was written.
    let Some(state) = pin_state(ctx.conn, account, ctx.now)? else {
        return Ok(Some(Rejection::PinNotSet));
    };
    if let Some(refused) = state.money_out_refusal(ctx.now) {
        return Ok(Some(refused));
    }
    count_pin(ctx, account, pin)
}

/// Counts a checked PIN: wrong, one more failure (locking past the
/// policy's maximum); right, the failures are forgotten.
fn count_pin(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    pin: PinCheck,
) -> Result<Option<Rejection>> {
    match pin {
        PinCheck::Wrong => {
            let attempts: i64 = ctx
                .conn
                .prepare_cached(
                    "UPDATE payment_pins SET failed_attempts = failed_attempts + 1
                     WHERE account_id = ?1 RETURNING failed_attempts",
                )?
                .query_row([account.row()], |row| row.get(0))?;
            if attempts >= i64::from(ctx.pin_policy.attempts_max) {
                ctx.conn
                    .prepare_cached(
                        "UPDATE payment_pins SET failed_attempts = 0, locked_until = ?1
                         WHERE account_id = ?2",
                    )?
                    .execute(params![
                        ctx.now.unix_ms().saturating_add(ctx.pin_policy.lock_ms),
                        account.row()
                    ])?;
                forget_pin_windows(ctx, account)?;
            }
            Ok(Some(Rejection::WrongPin))
        }
        PinCheck::Verified => {
            ctx.conn
                // Only when there is something to clear: a right PIN is the
                // common case, and an unconditional write would dirty a page
                // on every payment.
                .prepare_cached(
                    "UPDATE payment_pins SET failed_attempts = 0, locked_until = NULL
                     WHERE account_id = ?1
                       AND (failed_attempts <> 0 OR locked_until IS NOT NULL)",
                )?
                .execute([account.row()])?;
            Ok(None)
        }
    }
}

/// Sets the PIN as `change` allows; see [`PinChange`]. Never touches the
/// lock: `failed_attempts` and `locked_until` change only by counting
/// PINs. The outer `Result` rolls the job back; the inner refusal commits
/// (a wrong old PIN is counted).
pub fn set_pin(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    change: PinChange,
) -> Result<std::result::Result<PinSet, Rejection>> {
    let state = pin_state(ctx.conn, account, ctx.now)?;
    match (change, state) {
        (PinChange::WithPassword { pin_hash, .. }, None) => {
            ctx.conn
                .prepare_cached(
                    "INSERT INTO payment_pins (account_id, pin_hash, failed_attempts)
                     VALUES (?1, ?2, 0)",
                )?
                .execute(params![account.row(), pin_hash])?;
            forget_pin_windows(ctx, account)?;
            ctx.append_log(
                account,
                Event::PinChanged {
                    reset_cancelled: false,
                },
            )?;
            Ok(Ok(PinSet::Now))
        }
        (
            PinChange::WithPassword {
                pin_hash,
                reset_effective_at,
            },
            Some(state),
        ) => {
            // The PIN in force stays until the wait ends (a reset that
            // already ended is made the PIN here); a second reset starts
            // the wait again.
            ctx.conn
                .prepare_cached(
                    "UPDATE payment_pins
                     SET pin_hash = ?1, reset_pin_hash = ?2, reset_effective_at = ?3
                     WHERE account_id = ?4",
                )?
                .execute(params![
                    state.pin_hash,
                    pin_hash,
                    reset_effective_at.unix_ms(),
                    account.row()
                ])?;
            forget_pin_windows(ctx, account)?;
            let effective_at = reset_effective_at;
            ctx.append_log(account, Event::PinReset { effective_at })?;
            Ok(Ok(PinSet::AfterWait { effective_at }))
        }
        (PinChange::WithOldPin { .. }, None) => Ok(Err(Rejection::PinNotSet)),
        (PinChange::WithOldPin { old, pin_hash }, Some(state)) => {
            // A reset waiting does not stop this: knowing the current PIN
            // proves the owner, who may be cancelling a stranger's reset.
            if let Some(refused) = state.lock_refusal(ctx.now) {
                return Ok(Err(refused));
            }
            if let Some(refused) = count_pin(ctx, account, old)? {
                return Ok(Err(refused));
            }
            ctx.conn
                .prepare_cached(
                    "UPDATE payment_pins
                     SET pin_hash = ?1, reset_pin_hash = NULL, reset_effective_at = NULL
                     WHERE account_id = ?2",
                )?
                .execute(params![pin_hash, account.row()])?;
            forget_pin_windows(ctx, account)?;
            let reset_cancelled = state.reset_effective_at.is_some();
            ctx.append_log(account, Event::PinChanged { reset_cancelled })?;
            Ok(Ok(PinSet::Now))
        }
    }
}

/// Closes every device's "right PIN lately" window (a payment code
/// without the PIN, `merchants::create_code`): a PIN changed, reset or
/// locked must be entered again on each device.
fn forget_pin_windows(ctx: &mut WriteCtx<'_>, account: AccountId) -> Result<()> {
    ctx.conn
        .prepare_cached("UPDATE devices SET pin_entered_at = NULL WHERE account_id = ?1")?
        .execute([account.row()])?;
    Ok(())
}

// ------------------------------------------------------------------ reads

/// The account's PIN as it stands at `now`: a reset whose wait has ended
/// is the PIN (it is written as such by the next change), one still
/// waiting is reported beside the PIN in force.
pub fn pin_state(
    conn: &Connection,
    account: AccountId,
    now: Timestamp,
) -> Result<Option<PinState>> {
    let found = conn
        .prepare_cached(
            "SELECT pin_hash, locked_until, reset_pin_hash, reset_effective_at
             FROM payment_pins WHERE account_id = ?1",
        )?
        .query_row([account.row()], |row| {
            let reset = match (
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<i64>>(3)?,
            ) {
                (Some(hash), Some(at)) => Some((hash, Timestamp::from_unix_ms(at))),
                _ => None,
            };
            Ok(PinState {
                pin_hash: row.get(0)?,
                locked_until: row.get::<_, Option<i64>>(1)?.map(Timestamp::from_unix_ms),
                reset_effective_at: None,
            }
            .with_reset(reset, now))
        })
        .optional()?;
    Ok(found)
}

/// The wallet's ledger row, if money ever moved through it.
fn wallet_row(
    conn: &Connection,
    account: AccountId,
    currency: Currency,
) -> Result<Option<(i64, i64)>> {
    let wallet = LedgerAccountRef::user_wallet(account, currency);
    Ok(conn
        .prepare_cached(
            "SELECT id, balance_minor FROM ledger_accounts
             WHERE kind = ?1 AND holder = ?2 AND currency = ?3",
        )?
        .query_row(
            params![wallet.kind().as_str(), wallet.holder(), currency.as_str()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?)
}

pub fn balance(conn: &Connection, account: AccountId, currency: Currency) -> Result<i64> {
    Ok(wallet_row(conn, account, currency)?.map_or(0, |(_, balance)| balance))
}

pub fn statement(
    conn: &Connection,
    account: AccountId,
    currency: Currency,
    before: Option<EntryId>,
    limit: u32,
) -> Result<Page<StatementEntry>> {
    let Some((wallet, _)) = wallet_row(conn, account, currency)? else {
        return Ok(Page {
            items: Vec::new(),
            has_more: false,
        });
    };
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
    let mut items = Vec::new();
    while let Some(row) = rows.next()? {
        let kind: String = row.get(4)?;
        let kind = OperationKind::parse(&kind)
            .ok_or_else(|| Error::Corrupt(format!("unknown operation kind {kind:?}")))?;
        items.push(StatementEntry {
            entry_id: EntryId::from_row(row.get(0)?),
            transaction_id: TransactionId::from_row(row.get(1)?),
            amount_minor: row.get(2)?,
            balance_after_minor: row.get(3)?,
            kind,
            reference: row.get(6)?,
            at: Timestamp::from_unix_ms(row.get(5)?),
        });
    }
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    Ok(Page { items, has_more })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use piazza_domain::Store;
    use piazza_domain::ledger::MONEY_INSIDE_MAX;
    use piazza_domain::money::{AMOUNT_MINOR_MAX, AmountMinor, Currency, Money};
    use piazza_domain::store::{IdempotencyKey, Idempotent, PinCheck};
    use piazza_domain::{Rejection, StoreError};

    use crate::test_support::{Nobody, account, set_first_pin};
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
        let largest = Money::new(AmountMinor::MAX, Currency::CNY);
        // 9,000 top-ups of the largest amount, many at a time so that they
        // share commits.
        let mut fills = tokio::task::JoinSet::new();
        for n in 0..MONEY_INSIDE_MAX / AMOUNT_MINOR_MAX {
            let store = Arc::clone(&store);
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
