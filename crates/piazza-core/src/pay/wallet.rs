//! The wallet: money in from and out to the gateway, the ledger every
//! money move posts to, the idempotency keys every money move answers
//! under, and the payment PIN every money-out checks.
//!
//! A money movement is one write job: the key is looked up, the postings
//! and new balances written, the log entries appended and the key's answer
//! stored, all in one transaction. Either all of it commits or none does,
//! so a key never outlives or misses its effect.

use piazza_domain::event::{Event, WalletMovement};
use piazza_domain::ledger::{BalanceChange, LedgerAccountRef, LedgerError, Transaction};
use piazza_domain::money::{Currency, Money};
use piazza_domain::store::{
    IdempotencyKey, Idempotent, MoneyMoved, Page, PinChange, PinCheck, PinSet, PinState,
    StatementEntry, StoreError, StoreResult,
};
use piazza_domain::{
    AccountId, EntryId, OrderId, PaymentId, RedPacketId, RefundId, Rejection, Timestamp,
    TransactionId, TransferId, limits,
};

use crate::Core;
use crate::accounts::page;
use crate::engine::{Error, Read, Result, Tx, refusable};

/// The queries of the wallet, as every engine answers them.
pub trait Reads {
    /// The balance of `account`'s wallet in `currency`: 0 before any
    /// money moved through it.
    fn wallet_balance(&mut self, account: AccountId, currency: Currency) -> Result<i64>;
    /// `account`'s payment PIN as stored, a reset beside it not applied.
    fn payment_pin(&mut self, account: AccountId) -> Result<Option<StoredPin>>;
    /// The answer stored under `account`'s `key`, with the hash of the
    /// request it answered; `None` if the key is new (or was purged).
    fn key_answer(
        &mut self,
        account: AccountId,
        key: &IdempotencyKey,
    ) -> Result<Option<StoredAnswer>>;
    /// Lines of `account`'s wallet statement in `currency`, newest first,
    /// older than `before`, `limit + 1` at most.
    fn statement_lines(
        &mut self,
        account: AccountId,
        currency: Currency,
        before: Option<EntryId>,
        limit: u32,
    ) -> Result<Vec<StatementEntry>>;
}

/// The changes of the wallet, inside an engine's transaction.
pub trait Writes {
    /// Posts `transaction`, initiated by `initiator`, with the operation's
    /// `reference`. The engine reads the balance of every ledger account
    /// the transaction posts to (creating it at zero on first use) *locked
    /// for the rest of the transaction* (PostgreSQL: `SELECT … FOR
    /// UPDATE`), so no concurrent transaction can move it between this
    /// read and the commit; it asks `Transaction::balance_changes` for the
    /// new balances and, refused, writes nothing and answers the ledger's
    /// reason; else it writes the transaction, one posting per account
    /// with the balance after it (a wallet's posting also into its
    /// statement) and the new balances. Halting money is the caller's.
    fn post(
        &mut self,
        transaction: &Transaction,
        initiator: AccountId,
        reference: &str,
        at: Timestamp,
    ) -> Result<std::result::Result<Posted, LedgerError>>;
    /// `account`'s payment PIN as stored, locked for the rest of the
    /// transaction: the counts and changes that follow decide on it.
    fn payment_pin_for_update(&mut self, account: AccountId) -> Result<Option<StoredPin>>;
    /// The first PIN of an account that has none, no failures counted.
    fn insert_pin(&mut self, account: AccountId, pin_hash: &str) -> Result<()>;
    /// Keeps `pin_hash` as the PIN in force and stores `reset_hash` to
    /// become the PIN at `effective_at` (replacing any reset waiting).
    fn store_pin_reset(
        &mut self,
        account: AccountId,
        pin_hash: &str,
        reset_hash: &str,
        effective_at: Timestamp,
    ) -> Result<()>;
    /// Makes `pin_hash` the PIN at once, dropping any reset waiting.
    fn replace_pin(&mut self, account: AccountId, pin_hash: &str) -> Result<()>;
    /// Counts one more wrong PIN; answers the failures in a row now. An
    /// atomic increment of the row, so racing wrong PINs all count.
    fn count_wrong_pin(&mut self, account: AccountId) -> Result<u32>;
    /// Locks money-out until `until` and starts the count over.
    fn lock_pin(&mut self, account: AccountId, until: Timestamp) -> Result<()>;
    /// Forgets the failures and the lock. Writes only when there is
    /// something to forget: a right PIN is the common case, and an
    /// unconditional write would dirty a page on every payment.
    fn clear_pin_failures(&mut self, account: AccountId) -> Result<()>;
    /// Forgets when each device of `account` last entered the right PIN.
    fn forget_pin_windows(&mut self, account: AccountId) -> Result<()>;
    /// Stores `answer` under `request`'s key for `account`. The key is not
    /// stored yet: the job looked it up in this transaction. An engine
    /// where a concurrent transaction may store the same key first fails
    /// this one with [`Error::Conflict`] (a unique index), so that the
    /// job's next run replays that answer.
    fn store_key_answer(
        &mut self,
        account: AccountId,
        request: &Idempotent,
        answer: &KeyAnswer,
        at: Timestamp,
    ) -> Result<()>;
}

/// A payment PIN as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPin {
    pub pin_hash: String,
    pub locked_until: Option<Timestamp>,
    /// A forgotten PIN's reset: the new PIN's hash and when it takes over.
    pub reset: Option<(String, Timestamp)>,
}

impl StoredPin {
    /// The PIN as it stands at `now`: a reset past its wait is the PIN.
    pub fn at(self, now: Timestamp) -> PinState {
        PinState {
            pin_hash: self.pin_hash,
            locked_until: self.locked_until,
            reset_effective_at: None,
        }
        .with_reset(self.reset, now)
    }
}

/// What a posted transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub transaction_id: TransactionId,
    /// One per posting, in the transaction's order.
    pub changes: Vec<BalanceChange>,
}

impl Posted {
    /// The balance of `account` after the transaction, if it touched it.
    pub fn balance_after(&self, account: &LedgerAccountRef) -> Option<i64> {
        self.changes
            .iter()
            .find(|change| change.account == *account)
            .map(|change| change.after)
    }
}

/// What an idempotency key answers: enough to give a retry the first
/// answer again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyAnswer {
    /// A top-up or withdrawal, and the wallet's balance right after it.
    Moved {
        transaction_id: TransactionId,
        balance_minor: i64,
    },
    Transfer(TransferId),
    RedPacket(RedPacketId),
    /// A payment to a merchant, or a collection from a payment code.
    Payment(PaymentId),
    Refund {
        refund_id: RefundId,
        amount_minor: i64,
        /// The payment's refunded total after this refund.
        refunded_minor: i64,
    },
    /// A shop order placed or moved: the key answers the order as it
    /// stands when replayed.
    Order(OrderId),
}

impl KeyAnswer {
    /// The answer as named numbers: the form every engine keeps, as a JSON
    /// object with one key per name. Released stores hold answers in it,
    /// so a name never changes.
    pub fn to_fields(&self) -> Vec<(&'static str, i64)> {
        match self {
            KeyAnswer::Moved {
                transaction_id,
                balance_minor,
            } => vec![
                ("transaction_id", transaction_id.row()),
                ("balance_minor", *balance_minor),
            ],
            KeyAnswer::Transfer(transfer) => vec![("transfer_id", transfer.row())],
            KeyAnswer::RedPacket(packet) => vec![("red_packet_id", packet.row())],
            KeyAnswer::Payment(payment) => vec![("payment_id", payment.row())],
            KeyAnswer::Order(order) => vec![("order_id", order.row())],
            KeyAnswer::Refund {
                refund_id,
                amount_minor,
                refunded_minor,
            } => vec![
                ("refund_id", refund_id.row()),
                ("amount_minor", *amount_minor),
                ("refunded_minor", *refunded_minor),
            ],
        }
    }

    /// The answer kept as [`KeyAnswer::to_fields`] made it, told apart by
    /// the id it holds; `None` if `field` does not give a whole one.
    pub fn from_fields(field: impl Fn(&str) -> Option<i64>) -> Option<KeyAnswer> {
        if let Some(transaction) = field("transaction_id") {
            return Some(KeyAnswer::Moved {
                transaction_id: TransactionId::from_row(transaction),
                balance_minor: field("balance_minor")?,
            });
        }
        if let Some(refund) = field("refund_id") {
            return Some(KeyAnswer::Refund {
                refund_id: RefundId::from_row(refund),
                amount_minor: field("amount_minor")?,
                refunded_minor: field("refunded_minor")?,
            });
        }
        let answer = if let Some(order) = field("order_id") {
            KeyAnswer::Order(OrderId::from_row(order))
        } else if let Some(transfer) = field("transfer_id") {
            KeyAnswer::Transfer(TransferId::from_row(transfer))
        } else if let Some(packet) = field("red_packet_id") {
            KeyAnswer::RedPacket(RedPacketId::from_row(packet))
        } else {
            KeyAnswer::Payment(PaymentId::from_row(field("payment_id")?))
        };
        Some(answer)
    }
}

/// An answer and the hash of the request it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub request_hash: [u8; 32],
    pub answer: KeyAnswer,
}

/// The answer stored under `request`'s key: `Some` to replay it, `None`
/// if the key is new. The key used for another request (another hash) is
/// `IdempotencyKeyReused`.
pub fn replay(
    read: &mut dyn Read,
    account: AccountId,
    request: &Idempotent,
) -> Result<Option<KeyAnswer>> {
    match read.key_answer(account, &request.key)? {
        None => Ok(None),
        Some(stored) if stored.request_hash != request.request_hash => {
            Err(Rejection::IdempotencyKeyReused.into())
        }
        Some(stored) => Ok(Some(stored.answer)),
    }
}

/// A stored answer of another kind than the call replaying it expects:
/// the hash covers the call, so this is damage, not a client's mistake.
pub fn unexpected_answer(answer: &KeyAnswer) -> Error {
    Error::Corrupt(format!(
        "idempotency answer {answer:?} for another kind of call"
    ))
}

/// Stores the key's answer, in the job of the effect it answers.
pub fn store_answer(
    tx: &mut dyn Tx,
    account: AccountId,
    request: &Idempotent,
    answer: KeyAnswer,
) -> Result<()> {
    let at = tx.now();
    tx.store_key_answer(account, request, &answer, at)
}

/// Posts `transaction`, or refuses it whole: a user wallet that would go
/// below zero is the caller's `InsufficientFunds`, more money inside
/// Piazza than the ledger may hold is `GatewayLimit`; any other ledger
/// error is a bug.
pub fn post(
    tx: &mut dyn Tx,
    transaction: &Transaction,
    initiator: AccountId,
    reference: &str,
) -> Result<Posted> {
    // Every money move posts, so this one check halts them all once
    // damage was found in the store.
    if tx.money_halted() {
        return Err(Rejection::MoneyHalted.into());
    }
    let at = tx.now();
    tx.post(transaction, initiator, reference, at)?
        .map_err(|error| match error {
            LedgerError::InsufficientFunds { .. } => Rejection::InsufficientFunds.into(),
            LedgerError::MoneyInsideLimit { .. } => Rejection::GatewayLimit.into(),
            other => Error::Corrupt(format!("ledger refused a transaction: {other}")),
        })
}

/// The PIN check of a job that moves money out: `Some` refusal to commit
/// (a reset waiting or a lock refuses before the PIN is looked at; a
/// wrong PIN is counted, and enough of them lock money-out), `None` to go
/// on (a right PIN clears the count).
pub fn check_pin(tx: &mut dyn Tx, account: AccountId, pin: PinCheck) -> Result<Option<Rejection>> {
    // Checked again here, in the transaction: wrong PINs racing each
    // other were each verified before the lock was written.
    let Some(state) = pin_for_update(tx, account)? else {
        return Ok(Some(Rejection::PinNotSet));
    };
    if let Some(refused) = state.money_out_refusal(tx.now()) {
        return Ok(Some(refused));
    }
    count_pin(tx, account, pin)
}

/// Why money may not leave `account` now, without a PIN being entered
/// (a refund out of its merchant, a collection from its code): a lock or
/// a reset waiting. An account without a PIN is not refused here.
pub fn money_out_refusal(tx: &mut dyn Tx, account: AccountId) -> Result<Option<Rejection>> {
    let now = tx.now();
    Ok(pin_for_update(tx, account)?.and_then(|state| state.money_out_refusal(now)))
}

/// The PIN as it stands now, locked for the rest of the transaction.
pub fn pin_for_update(tx: &mut dyn Tx, account: AccountId) -> Result<Option<PinState>> {
    let now = tx.now();
    Ok(tx
        .payment_pin_for_update(account)?
        .map(|stored| stored.at(now)))
}

/// Counts a checked PIN: wrong, one more failure (locking past the
/// policy's maximum, and closing every device's PIN window); right, the
/// failures are forgotten.
fn count_pin(tx: &mut dyn Tx, account: AccountId, pin: PinCheck) -> Result<Option<Rejection>> {
    match pin {
        PinCheck::Wrong => {
            let failures = tx.count_wrong_pin(account)?;
            let policy = tx.pin_policy();
            if failures >= policy.attempts_max {
                let until = tx.now().unix_ms().saturating_add(policy.lock_ms);
                tx.lock_pin(account, Timestamp::from_unix_ms(until))?;
                tx.forget_pin_windows(account)?;
            }
            Ok(Some(Rejection::WrongPin))
        }
        PinCheck::Verified => {
            tx.clear_pin_failures(account)?;
            Ok(None)
        }
    }
}

/// Sets the PIN as `change` allows; see [`PinChange`]. Never touches the
/// lock: the failures and the lock change only by counting PINs. The
/// outer `Result` fails the job; the inner refusal commits (a wrong old
/// PIN is counted).
pub fn set_pin(
    tx: &mut dyn Tx,
    account: AccountId,
    change: &PinChange,
) -> Result<std::result::Result<PinSet, Rejection>> {
    let state = pin_for_update(tx, account)?;
    let (event, set) = match (change, state) {
        (PinChange::WithPassword { pin_hash, .. }, None) => {
            tx.insert_pin(account, pin_hash)?;
            let reset_cancelled = false;
            (Event::PinChanged { reset_cancelled }, PinSet::Now)
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
            let effective_at = *reset_effective_at;
            tx.store_pin_reset(account, &state.pin_hash, pin_hash, effective_at)?;
            (
                Event::PinReset { effective_at },
                PinSet::AfterWait { effective_at },
            )
        }
        (PinChange::WithOldPin { .. }, None) => return Ok(Err(Rejection::PinNotSet)),
        (PinChange::WithOldPin { old, pin_hash }, Some(state)) => {
            // A reset waiting does not stop this: knowing the current PIN
            // proves the owner, who may be cancelling a stranger's reset.
            if let Some(refused) = state.lock_refusal(tx.now()) {
                return Ok(Err(refused));
            }
            if let Some(refused) = count_pin(tx, account, *old)? {
                return Ok(Err(refused));
            }
            tx.replace_pin(account, pin_hash)?;
            let reset_cancelled = state.reset_effective_at.is_some();
            (Event::PinChanged { reset_cancelled }, PinSet::Now)
        }
    };
    // A PIN changed or being reset must be entered again on each device.
    tx.forget_pin_windows(account)?;
    tx.append_log(account, event)?;
    Ok(Ok(set))
}

/// The answer of a wallet movement replayed from its key.
pub fn replayed_movement(
    read: &mut dyn Read,
    account: AccountId,
    request: &Idempotent,
) -> Result<Option<MoneyMoved>> {
    match replay(read, account, request)? {
        None => Ok(None),
        Some(KeyAnswer::Moved {
            transaction_id,
            balance_minor,
        }) => Ok(Some(MoneyMoved {
            transaction_id,
            balance_minor,
            replayed: true,
        })),
        Some(other) => Err(unexpected_answer(&other)),
    }
}

/// Posts a one-wallet operation (top-up, withdrawal), logs it to the
/// wallet's owner and stores the key's answer.
fn move_money(
    tx: &mut dyn Tx,
    account: AccountId,
    request: &Idempotent,
    money: Money,
    transaction: &Transaction,
    reference: &str,
) -> Result<MoneyMoved> {
    let posted = post(tx, transaction, account, reference)?;
    let wallet = LedgerAccountRef::user_wallet(account, money.currency);
    let balance_minor = posted
        .balance_after(&wallet)
        .ok_or_else(|| Error::Corrupt("the operation did not touch the wallet".into()))?;
    let transaction_id = posted.transaction_id;
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
    tx.append_log(account, event)?;
    let answer = KeyAnswer::Moved {
        transaction_id,
        balance_minor,
    };
    store_answer(tx, account, request, answer)?;
    Ok(MoneyMoved {
        transaction_id,
        balance_minor,
        replayed: false,
    })
}

/// Credits the wallet with money the gateway has charged.
pub fn top_up(
    tx: &mut dyn Tx,
    account: AccountId,
    request: &Idempotent,
    money: Money,
    reference: &str,
) -> Result<MoneyMoved> {
    if let Some(replayed) = replayed_movement(tx.reads(), account, request)? {
        return Ok(replayed);
    }
    let transaction = Transaction::top_up(account, money);
    move_money(tx, account, request, money, &transaction, reference)
}

/// Debits the wallet for the gateway to pay out. The outer `Result` fails
/// the job; the inner one is a refusal that must still commit, because a
/// wrong PIN has to be counted.
pub fn withdraw(
    tx: &mut dyn Tx,
    account: AccountId,
    request: &Idempotent,
    money: Money,
    pin: PinCheck,
    reference: &str,
) -> Result<std::result::Result<MoneyMoved, Rejection>> {
    if let Some(replayed) = replayed_movement(tx.reads(), account, request)? {
        return Ok(Ok(replayed));
    }
    if let Some(refused) = check_pin(tx, account, pin)? {
        return Ok(Err(refused));
    }
    // The movement is a refusable part: refused (too little money), it
    // leaves nothing behind, not even a wallet row, while the PIN's reset
    // of the failures — earned by a right PIN — stays.
    let transaction = Transaction::withdrawal(account, money);
    refusable(tx, |tx| {
        move_money(tx, account, request, money, &transaction, reference)
    })
}

/// A job's refusal that committed, as the caller sees it.
pub(crate) fn refused<T>(done: std::result::Result<T, Rejection>) -> StoreResult<T> {
    done.map_err(StoreError::Rejected)
}

impl Core {
    /// The balance of the account's wallet in `currency` (0 before any
    /// money moved).
    pub async fn wallet_balance(&self, account: AccountId, currency: Currency) -> StoreResult<i64> {
        self.read(move |read| read.wallet_balance(account, currency))
            .await
    }

    /// Sets the payment PIN (an Argon2 hash) as `change` allows. It never
    /// clears a lock: a wrong old PIN is counted, and a lock stays until
    /// it runs out. A reset notifies every device of the account.
    pub async fn set_pin(&self, account: AccountId, change: PinChange) -> StoreResult<PinSet> {
        refused(self.write(move |tx| set_pin(tx, account, &change)).await?)
    }

    /// The PIN as it stands now.
    pub async fn pin(&self, account: AccountId) -> StoreResult<Option<PinState>> {
        self.read(move |read| {
            let now = Timestamp::now();
            Ok(read.payment_pin(account)?.map(|stored| stored.at(now)))
        })
        .await
    }

    /// The stored answer of a wallet movement (top-up, withdrawal) under
    /// `request`'s key, if it was done: lets a retry be answered before
    /// anything is asked of the gateway. `IdempotencyKeyReused` if the key
    /// was used for another request.
    pub async fn replayed_movement(
        &self,
        account: AccountId,
        request: Idempotent,
    ) -> StoreResult<Option<MoneyMoved>> {
        self.read(move |read| replayed_movement(read, account, &request))
            .await
    }

    /// Credits the wallet from the gateway. `reference` is the gateway's.
    pub async fn top_up(
        &self,
        account: AccountId,
        request: Idempotent,
        money: Money,
        reference: String,
    ) -> StoreResult<MoneyMoved> {
        self.write(move |tx| top_up(tx, account, &request, money, &reference))
            .await
    }

    /// Debits the wallet to the gateway. A `PinCheck::Wrong` is counted in
    /// the same transaction that refuses it, so it survives the refusal.
    pub async fn withdraw(
        &self,
        account: AccountId,
        request: Idempotent,
        money: Money,
        pin: PinCheck,
        reference: String,
    ) -> StoreResult<MoneyMoved> {
        refused(
            self.write(move |tx| withdraw(tx, account, &request, money, pin, &reference))
                .await?,
        )
    }

    /// Statement lines, newest first, older than `before`.
    pub async fn statement(
        &self,
        account: AccountId,
        currency: Currency,
        before: Option<EntryId>,
        limit: u32,
    ) -> StoreResult<Page<StatementEntry>> {
        let limit = limit.clamp(1, limits::PAGE_LEN_MAX);
        self.read(move |read| {
            let lines = read.statement_lines(account, currency, before, limit)?;
            Ok(page(lines, limit))
        })
        .await
    }
}
