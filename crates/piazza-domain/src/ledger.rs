//! The double-entry posting rules of Piazza Pay.
//!
//! Every money movement is one [`Transaction`]: two or more [`Posting`]s
//! in one currency whose signed amounts sum to exactly zero, so money is
//! never created or destroyed, only moved. Money outside the users' wallets
//! sits in system accounts ([`LedgerAccountKind`]): the gateway stands for
//! the outside world, and pending money (a chat transfer not yet accepted,
//! an unclaimed red packet) sits in a holding account of its own rather
//! than in a flag on a wallet.
//!
//! Sign convention: a posting's amount is added to its account's balance,
//! so a positive amount credits the account and a negative one debits it.
//! A balance is the sum of the account's postings. The gateway's balance is
//! therefore minus the money inside Piazza, and the sum over all accounts
//! is always zero.
//!
//! Nothing here does I/O: the store asks [`Transaction::balance_changes`]
//! for the new balances given the current ones, and writes the postings and
//! the balances in one database transaction, or refuses it whole.

use std::collections::BTreeMap;
use std::fmt;

use crate::ids::AccountId;
use crate::money::{AmountMinor, Currency, Money, MoneyError};

/// The most postings one transaction may hold. Every operation Piazza has
/// needs two or three (a payment with a fee); the limit is there so that a
/// bug cannot build an unbounded one.
pub const POSTINGS_PER_TRANSACTION_MAX: usize = 16;

/// The most money Piazza may hold at once in one currency, in minor units:
/// the gateway's balance, which is minus everything inside, never goes
/// below its negative. Every other balance is a part of what is inside and
/// never negative, so none can exceed it either, and one more posting
/// (at most [`AMOUNT_MINOR_MAX`](crate::money::AMOUNT_MINOR_MAX)) still
/// fits in an `i64`: with this bound no balance can overflow, whatever
/// clients ask. Real money never comes near it (it is 9 × 10^16 major
/// units); play money in a sandbox could, and is then refused, not
/// broken.
pub const MONEY_INSIDE_MAX: i64 = 9_000_000_000_000_000_000;

const _: () = assert!(
    MONEY_INSIDE_MAX
        .checked_add(crate::money::AMOUNT_MINOR_MAX)
        .is_some()
);

/// What an account is for, which decides whether it may go negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LedgerAccountKind {
    /// A user's money. Never below zero.
    UserWallet,
    /// The payment gateway, standing for all money outside Piazza: top-ups
    /// debit it and withdrawals credit it, so it is negative by nature.
    Gateway,
    /// Holds one chat transfer between sending and accept, decline or
    /// expiry.
    TransfersInFlight,
    /// Holds one red packet's unclaimed money.
    RedPacketEscrow,
    /// What one merchant has been paid and not yet refunded or settled.
    MerchantSettlement,
    /// Fees Piazza has collected.
    Fees,
    /// What one shop order's buyer paid and the shop has not been given
    /// (or refunded) yet.
    OrderEscrow,
}

impl LedgerAccountKind {
    /// Whether debits may never exceed credits, i.e. the balance may never
    /// go below zero (TigerBeetle's flag of the same name). Only the
    /// gateway may: every other account holds real money, and a negative
    /// holding account would mean more was paid out than was put in.
    pub fn debits_must_not_exceed_credits(self) -> bool {
        match self {
            LedgerAccountKind::Gateway => false,
            LedgerAccountKind::UserWallet
            | LedgerAccountKind::TransfersInFlight
            | LedgerAccountKind::RedPacketEscrow
            | LedgerAccountKind::MerchantSettlement
            | LedgerAccountKind::Fees
            | LedgerAccountKind::OrderEscrow => true,
        }
    }

    /// Every kind, for parsing and for checks that must cover them all.
    pub const ALL: [LedgerAccountKind; 7] = [
        LedgerAccountKind::UserWallet,
        LedgerAccountKind::Gateway,
        LedgerAccountKind::TransfersInFlight,
        LedgerAccountKind::RedPacketEscrow,
        LedgerAccountKind::MerchantSettlement,
        LedgerAccountKind::Fees,
        LedgerAccountKind::OrderEscrow,
    ];

    /// Reads back a name written by [`LedgerAccountKind::as_str`].
    pub fn parse(text: &str) -> Option<LedgerAccountKind> {
        LedgerAccountKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// The stable name, for storage and the admin tools.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerAccountKind::UserWallet => "user_wallet",
            LedgerAccountKind::Gateway => "gateway",
            LedgerAccountKind::TransfersInFlight => "transfers_in_flight",
            LedgerAccountKind::RedPacketEscrow => "red_packet_escrow",
            LedgerAccountKind::MerchantSettlement => "merchant_settlement",
            LedgerAccountKind::Fees => "fees",
            LedgerAccountKind::OrderEscrow => "order_escrow",
        }
    }
}

/// Names one ledger account: its kind, the row of what it belongs to, and
/// the one currency it holds. The holder is the account for a wallet, the
/// transfer, red packet or merchant for those holding accounts, and 0 for
/// the system-wide gateway and fees accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LedgerAccountRef {
    kind: LedgerAccountKind,
    holder: i64,
    currency: Currency,
}

impl LedgerAccountRef {
    pub fn user_wallet(account: AccountId, currency: Currency) -> LedgerAccountRef {
        LedgerAccountRef::new(LedgerAccountKind::UserWallet, account.row(), currency)
    }

    pub fn gateway(currency: Currency) -> LedgerAccountRef {
        LedgerAccountRef::new(LedgerAccountKind::Gateway, SYSTEM_HOLDER, currency)
    }

    pub fn fees(currency: Currency) -> LedgerAccountRef {
        LedgerAccountRef::new(LedgerAccountKind::Fees, SYSTEM_HOLDER, currency)
    }

    /// The holding account of one chat transfer, by the transfer's row.
    pub fn transfer_in_flight(transfer_row: i64, currency: Currency) -> LedgerAccountRef {
        LedgerAccountRef::new(LedgerAccountKind::TransfersInFlight, transfer_row, currency)
    }

    /// The escrow of one red packet, by the packet's row.
    pub fn red_packet_escrow(red_packet_row: i64, currency: Currency) -> LedgerAccountRef {
        LedgerAccountRef::new(LedgerAccountKind::RedPacketEscrow, red_packet_row, currency)
    }

    /// The settlement account of one merchant, by the merchant's row.
    pub fn merchant_settlement(merchant_row: i64, currency: Currency) -> LedgerAccountRef {
        LedgerAccountRef::new(
            LedgerAccountKind::MerchantSettlement,
            merchant_row,
            currency,
        )
    }

    /// The escrow of one shop order, by the order's row.
    pub fn order_escrow(order_row: i64, currency: Currency) -> LedgerAccountRef {
        LedgerAccountRef::new(LedgerAccountKind::OrderEscrow, order_row, currency)
    }

    /// Rebuilds a reference the store wrote; not for outside input.
    pub fn from_store(
        kind: LedgerAccountKind,
        holder: i64,
        currency: Currency,
    ) -> LedgerAccountRef {
        LedgerAccountRef::new(kind, holder, currency)
    }

    fn new(kind: LedgerAccountKind, holder: i64, currency: Currency) -> LedgerAccountRef {
        LedgerAccountRef {
            kind,
            holder,
            currency,
        }
    }

    pub fn kind(&self) -> LedgerAccountKind {
        self.kind
    }

    pub fn holder(&self) -> i64 {
        self.holder
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }
}

impl fmt::Display for LedgerAccountRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.kind.as_str(),
            self.holder,
            self.currency
        )
    }
}

/// One line of a transaction: a signed amount added to one account's
/// balance. It is never zero and never larger than
/// [`AMOUNT_MINOR_MAX`](crate::money::AMOUNT_MINOR_MAX) either way, because
/// it is built from an [`AmountMinor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Posting {
    account: LedgerAccountRef,
    amount: i64,
}

impl Posting {
    /// Adds `amount` to the account's balance.
    pub fn credit(account: LedgerAccountRef, amount: AmountMinor) -> Posting {
        Posting {
            account,
            amount: amount.get(),
        }
    }

    /// Takes `amount` from the account's balance.
    pub fn debit(account: LedgerAccountRef, amount: AmountMinor) -> Posting {
        Posting {
            account,
            amount: -amount.get(),
        }
    }

    /// Rebuilds a posting from its stored signed amount, refusing zero and
    /// anything beyond the amount bounds, so a damaged row is caught here.
    pub fn from_signed(account: LedgerAccountRef, amount: i64) -> Result<Posting, MoneyError> {
        let magnitude = AmountMinor::positive(amount.checked_abs().ok_or(MoneyError::Overflow)?)?;
        Ok(if amount > 0 {
            Posting::credit(account, magnitude)
        } else {
            Posting::debit(account, magnitude)
        })
    }

    pub fn account(&self) -> LedgerAccountRef {
        self.account
    }

    /// The signed amount: positive credits the account, negative debits it.
    pub fn amount(&self) -> i64 {
        self.amount
    }
}

/// Which operation a transaction records; it becomes the statement line's
/// `kind`, and ties every posting to a business record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationKind {
    TopUp,
    Withdrawal,
    TransferSent,
    TransferAccepted,
    TransferDeclined,
    TransferExpired,
    RedPacketCreated,
    RedPacketClaimed,
    RedPacketRefunded,
    MerchantPayment,
    MerchantRefund,
    /// A buyer paid a shop order into its escrow.
    OrderPaid,
    /// An order's escrow went to its shop (confirmed or auto-confirmed).
    OrderReleased,
    /// Money of an order went back to its buyer (a cancellation or an
    /// approved refund), from escrow or from the shop's settlement.
    OrderRefunded,
}

impl OperationKind {
    /// Every kind, for parsing and for checks that must cover them all.
    pub const ALL: [OperationKind; 14] = [
        OperationKind::TopUp,
        OperationKind::Withdrawal,
        OperationKind::TransferSent,
        OperationKind::TransferAccepted,
        OperationKind::TransferDeclined,
        OperationKind::TransferExpired,
        OperationKind::RedPacketCreated,
        OperationKind::RedPacketClaimed,
        OperationKind::RedPacketRefunded,
        OperationKind::MerchantPayment,
        OperationKind::MerchantRefund,
        OperationKind::OrderPaid,
        OperationKind::OrderReleased,
        OperationKind::OrderRefunded,
    ];

    /// Reads back a name written by [`OperationKind::as_str`].
    pub fn parse(text: &str) -> Option<OperationKind> {
        OperationKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// The stable name, for storage and the statement's `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::TopUp => "topup",
            OperationKind::Withdrawal => "withdrawal",
            OperationKind::TransferSent => "transfer_sent",
            OperationKind::TransferAccepted => "transfer_accepted",
            OperationKind::TransferDeclined => "transfer_declined",
            OperationKind::TransferExpired => "transfer_expired",
            OperationKind::RedPacketCreated => "red_packet_created",
            OperationKind::RedPacketClaimed => "red_packet_claimed",
            OperationKind::RedPacketRefunded => "red_packet_refunded",
            OperationKind::MerchantPayment => "merchant_payment",
            OperationKind::MerchantRefund => "merchant_refund",
            OperationKind::OrderPaid => "order_paid",
            OperationKind::OrderReleased => "order_released",
            OperationKind::OrderRefunded => "order_refunded",
        }
    }
}

/// A balanced set of postings: at least two, at most
/// [`POSTINGS_PER_TRANSACTION_MAX`], each to a different account, all in
/// one currency, summing to exactly zero. [`Transaction::new`] is the only
/// way to build one, so holding one is proof of all of that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    kind: OperationKind,
    currency: Currency,
    postings: Vec<Posting>,
}

/// The effect of a transaction on one account: the store writes `after` as
/// the new balance and shows it as the statement's `balance_after_minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceChange {
    pub account: LedgerAccountRef,
    pub before: i64,
    pub amount: i64,
    pub after: i64,
}

/// Balances by account, for callers that keep them in memory (tests,
/// `ledger-check`). An account that is not in the map has balance zero.
pub type Balances = BTreeMap<LedgerAccountRef, i64>;

/// Why a transaction could not be built or was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("a transaction needs at least two postings, got {count}")]
    TooFewPostings { count: usize },
    #[error("a transaction holds at most {max} postings, got {count}")]
    TooManyPostings { count: usize, max: usize },
    #[error("postings in {expected} and {found} cannot share a transaction")]
    MixedCurrencies { expected: Currency, found: Currency },
    #[error("account {account} appears twice in one transaction")]
    DuplicateAccount { account: LedgerAccountRef },
    #[error("the postings sum to {sum}, not zero")]
    Unbalanced { sum: i64 },
    #[error("a posting is invalid: {0}")]
    Posting(#[from] MoneyError),
    #[error("account {account} holds {balance} and cannot pay {needed}")]
    InsufficientFunds {
        account: LedgerAccountRef,
        balance: i64,
        needed: i64,
    },
    #[error("the balance of account {account} would overflow")]
    BalanceOverflow { account: LedgerAccountRef },
    #[error("{account} would stand for more than {MONEY_INSIDE_MAX} minor units inside Piazza")]
    MoneyInsideLimit { account: LedgerAccountRef },
}

impl LedgerError {
    /// The stable machine-readable reason. Only `insufficient_funds` and
    /// `money_inside_limit` are the users' doing; the others mean a bug or
    /// damaged data.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::InsufficientFunds { .. } => "insufficient_funds",
            LedgerError::MoneyInsideLimit { .. } => "money_inside_limit",
            LedgerError::TooFewPostings { .. }
            | LedgerError::TooManyPostings { .. }
            | LedgerError::MixedCurrencies { .. }
            | LedgerError::DuplicateAccount { .. }
            | LedgerError::Unbalanced { .. }
            | LedgerError::Posting(_)
            | LedgerError::BalanceOverflow { .. } => "ledger_invariant_violated",
        }
    }
}

impl Transaction {
    /// Checks every rule of a balanced transaction; see the type's doc.
    pub fn new(kind: OperationKind, postings: Vec<Posting>) -> Result<Transaction, LedgerError> {
        let count = postings.len();
        if count < 2 {
            return Err(LedgerError::TooFewPostings { count });
        }
        if count > POSTINGS_PER_TRANSACTION_MAX {
            return Err(LedgerError::TooManyPostings {
                count,
                max: POSTINGS_PER_TRANSACTION_MAX,
            });
        }
        let currency = postings[0].account.currency;
        let mut sum: i64 = 0;
        for (index, posting) in postings.iter().enumerate() {
            if posting.account.currency != currency {
                return Err(LedgerError::MixedCurrencies {
                    expected: currency,
                    found: posting.account.currency,
                });
            }
            if postings[..index]
                .iter()
                .any(|earlier| earlier.account == posting.account)
            {
                return Err(LedgerError::DuplicateAccount {
                    account: posting.account,
                });
            }
            // `Posting`'s constructors already keep amounts non-zero and in
            // bounds; checked again because this is the last gate before the
            // store.
            Posting::from_signed(posting.account, posting.amount)?;
            sum = sum
                .checked_add(posting.amount)
                .ok_or(LedgerError::Posting(MoneyError::Overflow))?;
        }
        if sum != 0 {
            return Err(LedgerError::Unbalanced { sum });
        }
        Ok(Transaction {
            kind,
            currency,
            postings,
        })
    }

    /// Money comes in from the gateway to a wallet.
    pub fn top_up(wallet: AccountId, money: Money) -> Transaction {
        Transaction::transfer(
            OperationKind::TopUp,
            LedgerAccountRef::gateway(money.currency),
            LedgerAccountRef::user_wallet(wallet, money.currency),
            money.amount,
        )
    }

    /// Money leaves a wallet for the outside world through the gateway.
    pub fn withdrawal(wallet: AccountId, money: Money) -> Transaction {
        Transaction::transfer(
            OperationKind::Withdrawal,
            LedgerAccountRef::user_wallet(wallet, money.currency),
            LedgerAccountRef::gateway(money.currency),
            money.amount,
        )
    }

    /// A chat transfer leaves the sender at once and waits in its own
    /// holding account for the recipient.
    pub fn transfer_send(sender: AccountId, transfer_row: i64, money: Money) -> Transaction {
        Transaction::transfer(
            OperationKind::TransferSent,
            LedgerAccountRef::user_wallet(sender, money.currency),
            LedgerAccountRef::transfer_in_flight(transfer_row, money.currency),
            money.amount,
        )
    }

    /// The recipient accepts: the held money reaches their wallet.
    pub fn transfer_accept(recipient: AccountId, transfer_row: i64, money: Money) -> Transaction {
        Transaction::transfer(
            OperationKind::TransferAccepted,
            LedgerAccountRef::transfer_in_flight(transfer_row, money.currency),
            LedgerAccountRef::user_wallet(recipient, money.currency),
            money.amount,
        )
    }

    /// The recipient declines: the held money goes back to the sender.
    pub fn transfer_decline(sender: AccountId, transfer_row: i64, money: Money) -> Transaction {
        Transaction::transfer_back(OperationKind::TransferDeclined, sender, transfer_row, money)
    }

    /// Nobody accepted in time: the held money goes back to the sender.
    pub fn transfer_expire(sender: AccountId, transfer_row: i64, money: Money) -> Transaction {
        Transaction::transfer_back(OperationKind::TransferExpired, sender, transfer_row, money)
    }

    /// A red packet's whole total leaves the sender into its escrow.
    pub fn red_packet_create(sender: AccountId, red_packet_row: i64, money: Money) -> Transaction {
        Transaction::transfer(
            OperationKind::RedPacketCreated,
            LedgerAccountRef::user_wallet(sender, money.currency),
            LedgerAccountRef::red_packet_escrow(red_packet_row, money.currency),
            money.amount,
        )
    }

    /// One share goes from the escrow to the claimer.
    pub fn red_packet_claim(claimer: AccountId, red_packet_row: i64, share: Money) -> Transaction {
        Transaction::transfer(
            OperationKind::RedPacketClaimed,
            LedgerAccountRef::red_packet_escrow(red_packet_row, share.currency),
            LedgerAccountRef::user_wallet(claimer, share.currency),
            share.amount,
        )
    }

    /// What nobody claimed in time goes back to the sender.
    pub fn red_packet_refund(sender: AccountId, red_packet_row: i64, rest: Money) -> Transaction {
        Transaction::transfer(
            OperationKind::RedPacketRefunded,
            LedgerAccountRef::red_packet_escrow(red_packet_row, rest.currency),
            LedgerAccountRef::user_wallet(sender, rest.currency),
            rest.amount,
        )
    }

    /// A buyer pays a merchant, by QR code or payment code.
    pub fn merchant_payment(buyer: AccountId, merchant_row: i64, money: Money) -> Transaction {
        Transaction::transfer(
            OperationKind::MerchantPayment,
            LedgerAccountRef::user_wallet(buyer, money.currency),
            LedgerAccountRef::merchant_settlement(merchant_row, money.currency),
            money.amount,
        )
    }

    /// A merchant gives money back. That it is never more than the payment
    /// is the payment record's rule; the ledger only guarantees that the
    /// merchant's settlement account cannot go negative.
    pub fn merchant_refund(buyer: AccountId, merchant_row: i64, money: Money) -> Transaction {
        Transaction::transfer(
            OperationKind::MerchantRefund,
            LedgerAccountRef::merchant_settlement(merchant_row, money.currency),
            LedgerAccountRef::user_wallet(buyer, money.currency),
            money.amount,
        )
    }

    pub fn kind(&self) -> OperationKind {
        self.kind
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }

    /// The new balance of every account the transaction touches, given the
    /// current ones, or the reason it must be refused: an account whose kind
    /// forbids negative balances would go below zero, the gateway would
    /// stand for more than [`MONEY_INSIDE_MAX`] inside, or a balance would
    /// overflow. The store writes all the changes or none.
    pub fn balance_changes(
        &self,
        mut balance_of: impl FnMut(&LedgerAccountRef) -> i64,
    ) -> Result<Vec<BalanceChange>, LedgerError> {
        let mut changes = Vec::with_capacity(self.postings.len());
        for posting in &self.postings {
            let account = posting.account;
            let before = balance_of(&account);
            let after = before
                .checked_add(posting.amount)
                .ok_or(LedgerError::BalanceOverflow { account })?;
            if after < 0 && account.kind.debits_must_not_exceed_credits() {
                return Err(LedgerError::InsufficientFunds {
                    account,
                    balance: before,
                    needed: -posting.amount,
                });
            }
            if after < -MONEY_INSIDE_MAX && posting.amount < 0 {
                return Err(LedgerError::MoneyInsideLimit { account });
            }
            changes.push(BalanceChange {
                account,
                before,
                amount: posting.amount,
                after,
            });
        }
        Ok(changes)
    }

    /// A transaction with one debit and one credit of the same amount, which
    /// is every operation Piazza has today. Two distinct accounts in one
    /// currency with equal and opposite amounts always balance, so this
    /// cannot fail; a failure is a bug in the constructors above.
    fn transfer(
        kind: OperationKind,
        from: LedgerAccountRef,
        to: LedgerAccountRef,
        amount: AmountMinor,
    ) -> Transaction {
        Transaction::new(
            kind,
            vec![Posting::debit(from, amount), Posting::credit(to, amount)],
        )
        .expect("a debit and a credit of one amount between two accounts balance")
    }

    fn transfer_back(
        kind: OperationKind,
        sender: AccountId,
        transfer_row: i64,
        money: Money,
    ) -> Transaction {
        Transaction::transfer(
            kind,
            LedgerAccountRef::transfer_in_flight(transfer_row, money.currency),
            LedgerAccountRef::user_wallet(sender, money.currency),
            money.amount,
        )
    }
}

/// Applies a transaction to in-memory balances: all its postings, or, if
/// it is refused, none (the map is left exactly as it was).
pub fn apply(
    balances: &mut Balances,
    transaction: &Transaction,
) -> Result<Vec<BalanceChange>, LedgerError> {
    let changes =
        transaction.balance_changes(|account| balances.get(account).copied().unwrap_or(0))?;
    for change in &changes {
        balances.insert(change.account, change.after);
    }
    Ok(changes)
}

/// A broken invariant found in a set of balances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("{account} is negative: {balance}")]
    NegativeBalance {
        account: LedgerAccountRef,
        balance: i64,
    },
    #[error("{currency} balances sum to {total}, not zero")]
    NonZeroTotal { currency: Currency, total: i128 },
    #[error("{account} stands for {balance}, more than {MONEY_INSIDE_MAX} inside")]
    BeyondMoneyInsideLimit {
        account: LedgerAccountRef,
        balance: i64,
    },
}

/// What `ledger-check` and the tests look for in a set of balances: each
/// currency sums to zero, and no account that must not go negative has.
/// Every violation is reported, not just the first, so one run of the
/// checker shows the whole damage.
pub fn invariant_violations(balances: &Balances) -> Vec<Violation> {
    let mut totals: BTreeMap<Currency, i128> = BTreeMap::new();
    let mut violations = Vec::new();
    for (&account, &balance) in balances {
        // An i128 cannot overflow over any realistic number of i64
        // balances, and the checker must report a bad total, not crash on
        // it.
        *totals.entry(account.currency).or_insert(0) += i128::from(balance);
        if balance < 0 && account.kind.debits_must_not_exceed_credits() {
            violations.push(Violation::NegativeBalance { account, balance });
        }
        if balance < -MONEY_INSIDE_MAX {
            violations.push(Violation::BeyondMoneyInsideLimit { account, balance });
        }
    }
    for (currency, total) in totals {
        if total != 0 {
            violations.push(Violation::NonZeroTotal { currency, total });
        }
    }
    violations
}

/// The holder row of the accounts of which there is one per currency.
const SYSTEM_HOLDER: i64 = 0;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::AMOUNT_MINOR_MAX;
    use proptest::prelude::*;

    fn cny(amount: i64) -> Money {
        Money::new(AmountMinor::positive(amount).unwrap(), Currency::CNY)
    }

    fn amount(value: i64) -> AmountMinor {
        AmountMinor::positive(value).unwrap()
    }

    fn alice() -> AccountId {
        AccountId::from_row(1)
    }

    fn bob() -> AccountId {
        AccountId::from_row(2)
    }

    fn wallet(account: AccountId) -> LedgerAccountRef {
        LedgerAccountRef::user_wallet(account, Currency::CNY)
    }

    #[test]
    fn stored_names_round_trip() {
        for kind in LedgerAccountKind::ALL {
            assert_eq!(LedgerAccountKind::parse(kind.as_str()), Some(kind));
        }
        for kind in OperationKind::ALL {
            assert_eq!(OperationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(LedgerAccountKind::parse("wallet"), None);
        assert_eq!(OperationKind::parse(""), None);
    }

    #[test]
    fn only_the_gateway_may_go_negative() {
        use LedgerAccountKind::*;
        for kind in [
            UserWallet,
            TransfersInFlight,
            RedPacketEscrow,
            MerchantSettlement,
            Fees,
        ] {
            assert!(kind.debits_must_not_exceed_credits(), "{kind:?}");
        }
        assert!(!Gateway.debits_must_not_exceed_credits());
    }

    #[test]
    fn transaction_rules() {
        let gateway = LedgerAccountRef::gateway(Currency::CNY);
        let euro_wallet = LedgerAccountRef::user_wallet(alice(), Currency::parse("EUR").unwrap());
        let kind = OperationKind::TopUp;

        assert_eq!(
            Transaction::new(kind, vec![]),
            Err(LedgerError::TooFewPostings { count: 0 })
        );
        assert_eq!(
            Transaction::new(kind, vec![Posting::credit(wallet(alice()), amount(5))]),
            Err(LedgerError::TooFewPostings { count: 1 })
        );
        assert_eq!(
            Transaction::new(
                kind,
                vec![
                    Posting::debit(gateway, amount(5)),
                    Posting::credit(wallet(alice()), amount(4)),
                ]
            ),
            Err(LedgerError::Unbalanced { sum: -1 })
        );
        assert!(matches!(
            Transaction::new(
                kind,
                vec![
                    Posting::debit(gateway, amount(5)),
                    Posting::credit(euro_wallet, amount(5)),
                ]
            ),
            Err(LedgerError::MixedCurrencies { .. })
        ));
        assert!(matches!(
            Transaction::new(
                kind,
                vec![
                    Posting::debit(wallet(alice()), amount(5)),
                    Posting::credit(wallet(alice()), amount(5)),
                ]
            ),
            Err(LedgerError::DuplicateAccount { .. })
        ));
        let many: Vec<Posting> = (1..=(POSTINGS_PER_TRANSACTION_MAX as i64 + 2))
            .map(|row| Posting::credit(wallet(AccountId::from_row(row)), amount(1)))
            .collect();
        assert!(matches!(
            Transaction::new(kind, many),
            Err(LedgerError::TooManyPostings { .. })
        ));

        let three_way = Transaction::new(
            OperationKind::MerchantPayment,
            vec![
                Posting::debit(wallet(alice()), amount(100)),
                Posting::credit(
                    LedgerAccountRef::merchant_settlement(7, Currency::CNY),
                    amount(98),
                ),
                Posting::credit(LedgerAccountRef::fees(Currency::CNY), amount(2)),
            ],
        )
        .unwrap();
        assert_eq!(three_way.postings().len(), 3);
        assert_eq!(three_way.currency(), Currency::CNY);
    }

    #[test]
    fn stored_postings_are_checked() {
        let account = wallet(alice());
        assert_eq!(Posting::from_signed(account, 5).unwrap().amount(), 5);
        assert_eq!(Posting::from_signed(account, -5).unwrap().amount(), -5);
        assert!(Posting::from_signed(account, 0).is_err());
        assert!(Posting::from_signed(account, i64::MIN).is_err());
        assert!(Posting::from_signed(account, i64::MAX).is_err());
        assert!(Posting::from_signed(account, -AMOUNT_MINOR_MAX - 1).is_err());
        assert!(Posting::from_signed(account, -AMOUNT_MINOR_MAX).is_ok());
    }

    #[test]
    fn a_wallet_cannot_pay_more_than_it_holds_and_a_refusal_changes_nothing() {
        let mut balances = Balances::new();
        apply(&mut balances, &Transaction::top_up(alice(), cny(100))).unwrap();
        assert_eq!(balances[&wallet(alice())], 100);
        assert_eq!(balances[&LedgerAccountRef::gateway(Currency::CNY)], -100);

        let before = balances.clone();
        let refused = apply(&mut balances, &Transaction::withdrawal(alice(), cny(101)));
        assert_eq!(
            refused,
            Err(LedgerError::InsufficientFunds {
                account: wallet(alice()),
                balance: 100,
                needed: 101,
            })
        );
        assert_eq!(refused.unwrap_err().code(), "insufficient_funds");
        assert_eq!(balances, before);

        let changes = apply(&mut balances, &Transaction::withdrawal(alice(), cny(100))).unwrap();
        assert_eq!(changes[0].after, 0);
        assert!(invariant_violations(&balances).is_empty());
    }

    #[test]
    fn holding_accounts_cannot_pay_out_more_than_was_put_in() {
        let mut balances = Balances::new();
        apply(&mut balances, &Transaction::top_up(alice(), cny(50))).unwrap();
        apply(
            &mut balances,
            &Transaction::transfer_send(alice(), 9, cny(50)),
        )
        .unwrap();
        let before = balances.clone();
        assert!(
            apply(
                &mut balances,
                &Transaction::transfer_accept(bob(), 9, cny(51))
            )
            .is_err()
        );
        // Another transfer's holding account is empty, whatever this one holds.
        assert!(
            apply(
                &mut balances,
                &Transaction::transfer_accept(bob(), 10, cny(1))
            )
            .is_err()
        );
        assert_eq!(balances, before);
        apply(
            &mut balances,
            &Transaction::transfer_accept(bob(), 9, cny(50)),
        )
        .unwrap();
        assert_eq!(balances[&wallet(bob())], 50);
    }

    #[test]
    fn a_balance_overflow_is_refused_not_wrapped() {
        // Such balances cannot arise from transactions; they are set by hand
        // to reach the edge, each side on its own.
        let gateway = LedgerAccountRef::gateway(Currency::CNY);
        let mut balances = Balances::new();
        balances.insert(wallet(alice()), i64::MAX - 1);
        let before = balances.clone();
        assert_eq!(
            apply(&mut balances, &Transaction::top_up(alice(), cny(5))),
            Err(LedgerError::BalanceOverflow {
                account: wallet(alice())
            })
        );
        assert_eq!(balances, before);

        let mut balances = Balances::new();
        balances.insert(gateway, i64::MIN + 1);
        let before = balances.clone();
        assert_eq!(
            apply(&mut balances, &Transaction::top_up(alice(), cny(5))),
            Err(LedgerError::BalanceOverflow { account: gateway })
        );
        assert_eq!(balances, before);
    }

    #[test]
    fn the_money_inside_is_bounded_and_the_bound_is_a_refusal() {
        let gateway = LedgerAccountRef::gateway(Currency::CNY);
        let mut balances = Balances::new();
        balances.insert(gateway, -(MONEY_INSIDE_MAX - 3));
        balances.insert(wallet(alice()), MONEY_INSIDE_MAX - 3);
        let before = balances.clone();
        let refused = apply(&mut balances, &Transaction::top_up(bob(), cny(4)));
        assert_eq!(
            refused,
            Err(LedgerError::MoneyInsideLimit { account: gateway })
        );
        assert_eq!(refused.unwrap_err().code(), "money_inside_limit");
        assert_eq!(balances, before, "refused whole");
        // Up to the bound exactly, then a withdrawal makes room again.
        apply(&mut balances, &Transaction::top_up(bob(), cny(3))).unwrap();
        assert_eq!(balances[&gateway], -MONEY_INSIDE_MAX);
        assert!(apply(&mut balances, &Transaction::top_up(bob(), cny(1))).is_err());
        apply(&mut balances, &Transaction::withdrawal(alice(), cny(10))).unwrap();
        apply(&mut balances, &Transaction::top_up(bob(), cny(10))).unwrap();
        assert!(invariant_violations(&balances).is_empty());
        // Whatever sits inside, one more posting cannot overflow a balance.
        assert!(
            balances[&wallet(alice())]
                .checked_add(AMOUNT_MINOR_MAX)
                .is_some()
        );
    }

    #[test]
    fn the_checker_finds_what_is_wrong() {
        let mut balances = Balances::new();
        balances.insert(wallet(alice()), -1);
        balances.insert(LedgerAccountRef::gateway(Currency::CNY), 2);
        assert_eq!(
            invariant_violations(&balances),
            vec![
                Violation::NegativeBalance {
                    account: wallet(alice()),
                    balance: -1
                },
                Violation::NonZeroTotal {
                    currency: Currency::CNY,
                    total: 1
                },
            ]
        );
    }

    /// The operations of the state-machine test.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Operation {
        TopUp,
        Withdraw,
        Send,
        Accept,
        Decline,
        Expire,
        PacketCreate,
        PacketClaim,
        PacketRefund,
        Pay,
        Refund,
    }

    const OPERATIONS: [Operation; 11] = [
        Operation::TopUp,
        Operation::Withdraw,
        Operation::Send,
        Operation::Accept,
        Operation::Decline,
        Operation::Expire,
        Operation::PacketCreate,
        Operation::PacketClaim,
        Operation::PacketRefund,
        Operation::Pay,
        Operation::Refund,
    ];

    const USERS: usize = 3;
    const HOLDERS: usize = 3;

    /// One step: an operation by one user on one transfer, packet or
    /// merchant (`holder`, where the operation has one). Amounts are
    /// deliberately not always affordable and holders not always funded,
    /// so that refusals are exercised as much as successes.
    #[derive(Debug, Clone, Copy)]
    struct Step {
        operation: Operation,
        user: usize,
        holder: usize,
        amount: i64,
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            prop::sample::select(OPERATIONS.to_vec()),
            0..USERS,
            0..HOLDERS,
            prop_oneof![4 => 1i64..=200, 1 => Just(AMOUNT_MINOR_MAX)],
        )
            .prop_map(|(operation, user, holder, amount)| Step {
                operation,
                user,
                holder,
                amount,
            })
    }

    /// Where money sits in the reference model.
    #[derive(Debug, Clone, Copy)]
    enum Slot {
        Gateway,
        Wallet(usize),
        InFlight(usize),
        Escrow(usize),
        Settlement(usize),
    }

    /// The reference model: plain numbers, one field per kind of account,
    /// with none of the ledger's machinery.
    #[derive(Debug, Clone, Default)]
    struct Model {
        gateway: i64,
        wallets: [i64; USERS],
        in_flight: [i64; HOLDERS],
        escrow: [i64; HOLDERS],
        settlement: [i64; HOLDERS],
    }

    impl Model {
        fn slot(&mut self, slot: Slot) -> &mut i64 {
            match slot {
                Slot::Gateway => &mut self.gateway,
                Slot::Wallet(index) => &mut self.wallets[index],
                Slot::InFlight(index) => &mut self.in_flight[index],
                Slot::Escrow(index) => &mut self.escrow[index],
                Slot::Settlement(index) => &mut self.settlement[index],
            }
        }

        /// Moves the step's amount if the payer may pay it; says whether
        /// it did. Only the gateway may go below zero.
        fn run(&mut self, step: Step) -> bool {
            let wallet = Slot::Wallet(step.user);
            let holder = step.holder;
            let (from, to) = match step.operation {
                Operation::TopUp => (Slot::Gateway, wallet),
                Operation::Withdraw => (wallet, Slot::Gateway),
                Operation::Send => (wallet, Slot::InFlight(holder)),
                Operation::Accept | Operation::Decline | Operation::Expire => {
                    (Slot::InFlight(holder), wallet)
                }
                Operation::PacketCreate => (wallet, Slot::Escrow(holder)),
                Operation::PacketClaim | Operation::PacketRefund => (Slot::Escrow(holder), wallet),
                Operation::Pay => (wallet, Slot::Settlement(holder)),
                Operation::Refund => (Slot::Settlement(holder), wallet),
            };
            if !matches!(from, Slot::Gateway) && *self.slot(from) < step.amount {
                return false;
            }
            *self.slot(from) -= step.amount;
            *self.slot(to) += step.amount;
            true
        }

        /// The model seen as ledger balances, without the zero ones (an
        /// account the ledger never touched is absent from its map).
        fn as_balances(&self) -> Balances {
            let mut balances = Balances::new();
            balances.insert(LedgerAccountRef::gateway(Currency::CNY), self.gateway);
            for index in 0..USERS {
                balances.insert(wallet(user_account(index)), self.wallets[index]);
            }
            for index in 0..HOLDERS {
                let row = holder_row(index);
                let held = [
                    (
                        LedgerAccountRef::transfer_in_flight(row, Currency::CNY),
                        self.in_flight[index],
                    ),
                    (
                        LedgerAccountRef::red_packet_escrow(row, Currency::CNY),
                        self.escrow[index],
                    ),
                    (
                        LedgerAccountRef::merchant_settlement(row, Currency::CNY),
                        self.settlement[index],
                    ),
                ];
                balances.extend(held);
            }
            balances.retain(|_, balance| *balance != 0);
            balances
        }
    }

    fn user_account(index: usize) -> AccountId {
        AccountId::from_row(index as i64 + 1)
    }

    fn holder_row(index: usize) -> i64 {
        index as i64 + 1
    }

    fn transaction_for(step: Step) -> Transaction {
        let user = user_account(step.user);
        let row = holder_row(step.holder);
        let money = cny(step.amount);
        match step.operation {
            Operation::TopUp => Transaction::top_up(user, money),
            Operation::Withdraw => Transaction::withdrawal(user, money),
            Operation::Send => Transaction::transfer_send(user, row, money),
            Operation::Accept => Transaction::transfer_accept(user, row, money),
            Operation::Decline => Transaction::transfer_decline(user, row, money),
            Operation::Expire => Transaction::transfer_expire(user, row, money),
            Operation::PacketCreate => Transaction::red_packet_create(user, row, money),
            Operation::PacketClaim => Transaction::red_packet_claim(user, row, money),
            Operation::PacketRefund => Transaction::red_packet_refund(user, row, money),
            Operation::Pay => Transaction::merchant_payment(user, row, money),
            Operation::Refund => Transaction::merchant_refund(user, row, money),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_operations_keep_the_ledger_balanced(steps in prop::collection::vec(step(), 1..80)) {
            let mut model = Model::default();
            let mut ledger = Balances::new();
            for &step in &steps {
                let before = ledger.clone();
                let expected = model.run(step);
                let result = apply(&mut ledger, &transaction_for(step));
                prop_assert_eq!(result.is_ok(), expected, "{:?} gave {:?}", step, result);
                if let Err(error) = &result {
                    prop_assert_eq!(&ledger, &before, "a refusal changed the ledger");
                    prop_assert_eq!(error.code(), "insufficient_funds");
                }
                let mut nonzero = ledger.clone();
                nonzero.retain(|_, balance| *balance != 0);
                prop_assert_eq!(nonzero, model.as_balances());
                prop_assert_eq!(ledger.values().map(|&b| i128::from(b)).sum::<i128>(), 0);
                for (account, balance) in &ledger {
                    if account.kind() != LedgerAccountKind::Gateway {
                        prop_assert!(*balance >= 0, "{} went negative", account);
                    }
                }
                prop_assert!(invariant_violations(&ledger).is_empty());
            }
        }

        #[test]
        fn building_from_stored_postings_never_panics_and_keeps_the_rules(
            // Small amounts so that balanced sets turn up often, and any i64 for the edges.
            rows in prop::collection::vec((1i64..=4, any::<bool>(), prop_oneof![4 => -3i64..=3, 1 => any::<i64>()]), 0..6),
        ) {
            let euro = Currency::parse("EUR").unwrap();
            let mut postings = Vec::new();
            for (row, in_euro, amount) in rows {
                let currency = if in_euro { euro } else { Currency::CNY };
                let account = LedgerAccountRef::user_wallet(AccountId::from_row(row), currency);
                if let Ok(posting) = Posting::from_signed(account, amount) {
                    postings.push(posting);
                }
            }
            if let Ok(transaction) = Transaction::new(OperationKind::TopUp, postings) {
                let postings = transaction.postings();
                prop_assert!(postings.len() >= 2);
                prop_assert_eq!(postings.iter().map(|p| i128::from(p.amount())).sum::<i128>(), 0);
                prop_assert!(postings.iter().all(|p| p.amount() != 0));
                prop_assert!(postings.iter().all(|p| p.account().currency() == transaction.currency()));
            }
        }

        #[test]
        fn any_balanced_pair_builds_and_any_unbalanced_pair_does_not(a in 1..=AMOUNT_MINOR_MAX, b in 1..=AMOUNT_MINOR_MAX) {
            let result = Transaction::new(
                OperationKind::TopUp,
                vec![
                    Posting::debit(LedgerAccountRef::gateway(Currency::CNY), amount(a)),
                    Posting::credit(wallet(alice()), amount(b)),
                ],
            );
            prop_assert_eq!(result.is_ok(), a == b);
        }
    }
}
