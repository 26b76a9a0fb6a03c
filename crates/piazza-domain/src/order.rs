//! The life of a shop's order: one state machine, with no I/O.
//!
//! ```text
//!                pay          ship            confirm (buyer), or auto_confirm
//!                                             N days after shipping
//!  place ─▶ PendingPayment ─▶ Paid ─────▶ Shipped ─────────────────────▶ Completed
//!                │             │
//!                │ cancel,     │ cancel: everything
//!                │ expire      │ left in escrow back
//!                ▼             ▼
//!               Cancelled ◀────┘
//!
//!  Paid, Shipped, and Completed within the refund window, take refund
//!  requests; each has its own small life and none changes the order's:
//!
//!      Requested ──approve──────────▶ Approved  (money back to the buyer)
//!          ├─────reject─────────────▶ Rejected
//!          └─────the order cancelled▶ Superseded
//! ```
//!
//! Every move is a pure function of the order, the command and the time,
//! [`Order::apply`] (and [`place`] for the first): it returns a
//! [`Transition`], the order as it must be stored next together with the
//! effects the caller must apply in the *same* database transaction — stock
//! moves per variant ([`StockMove`]) and money moves between the order's
//! three ledger accounts ([`MoneyMove`]) — or an [`OrderError`] and nothing
//! to do. The caller (a `Tx` in `piazza-core`) locks the order's row, reads
//! it, applies the command, and writes the order and every effect or none:
//! the engine's stock update refuses to take more than is available (so
//! stock is never oversold) and the ledger refuses a wallet below zero, and
//! either refusal rolls the whole move back.
//!
//! Stock: placing reserves every item (available → reserved); cancelling or
//! expiring releases it (reserved → available); shipping sells it
//! (reserved → sold). Nothing else moves stock: a refund returns money, not
//! goods, so sold stock never comes back (returns are not modelled).
//!
//! Money: paying moves the total from the buyer's wallet into the order's
//! escrow; confirming (by the buyer, or automatically
//! [`OrderPolicy::auto_confirm_after_ms`] after shipping) releases what is
//! left in escrow to the shop's settlement; cancelling before shipping
//! refunds everything left in escrow. An approved refund is taken from
//! escrow while the order has not been completed and from the shop's
//! settlement after the release; refunds never add up to more than was
//! paid. A completed order takes refund requests for
//! [`OrderPolicy::refund_window_ms`] after its completion; a request made in
//! time may be approved or rejected at any later moment.

use std::collections::BTreeMap;
use std::fmt;

use crate::ids::VariantId;
use crate::ledger::{LedgerAccountRef, LedgerError, OperationKind, Posting, Transaction};
use crate::money::{AMOUNT_MINOR_MAX, AmountMinor};
use crate::time::Timestamp;

/// The most items (distinct variants) one order may hold.
pub const ORDER_ITEMS_MAX: usize = 100;
/// The most units of one variant one order may hold.
pub const ORDER_ITEM_QUANTITY_MAX: u32 = 999;
/// The most refund requests one order may receive over its life.
pub const REFUND_REQUESTS_PER_ORDER_MAX: usize = 20;
/// The longest a carrier's name may be, in characters.
pub const CARRIER_CHARS_MAX: usize = 64;
/// The longest a tracking number may be, in characters.
pub const TRACKING_CHARS_MAX: usize = 128;
/// The longest a refund request's reason may be, in characters.
pub const REFUND_REASON_CHARS_MAX: usize = 500;

const MINUTE_MS: i64 = 60 * 1000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// The times that govern an order, from the server's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderPolicy {
    /// How long after placing an order may be paid (`pay_by`).
    pub pay_within_ms: i64,
    /// How long after shipping the order confirms itself.
    pub auto_confirm_after_ms: i64,
    /// How long after completion the buyer may still ask for refunds.
    pub refund_window_ms: i64,
}

impl Default for OrderPolicy {
    /// The issue's defaults: 15 minutes to pay, 7 days to confirm, and 15
    /// days after completion to ask for a refund.
    fn default() -> OrderPolicy {
        OrderPolicy {
            pay_within_ms: 15 * MINUTE_MS,
            auto_confirm_after_ms: 7 * DAY_MS,
            refund_window_ms: 15 * DAY_MS,
        }
    }
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Shipped,
    Completed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::PendingPayment,
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ];

    /// The API's and the store's name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Reads back a name written by [`OrderStatus::as_str`] (the `status=`
    /// filter of the order list, a stored row).
    pub fn parse(text: &str) -> Option<OrderStatus> {
        OrderStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// Where an order in this status has its items counted in their
    /// variants' stock: reserved until shipped, sold from then on, nowhere
    /// once cancelled. The store's checker sums the orders of each status
    /// per variant against the variant rows.
    pub fn stock_held(self) -> Option<StockHeld> {
        match self {
            OrderStatus::PendingPayment | OrderStatus::Paid => Some(StockHeld::Reserved),
            OrderStatus::Shipped | OrderStatus::Completed => Some(StockHeld::Sold),
            OrderStatus::Cancelled => None,
        }
    }

    /// Whether the machine may go from `self` to `next` in one move
    /// (staying put included: refund decisions keep the status).
    pub fn may_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        self == next
            || matches!(
                (self, next),
                (PendingPayment, Paid)
                    | (PendingPayment, Cancelled)
                    | (Paid, Shipped)
                    | (Paid, Cancelled)
                    | (Shipped, Completed)
            )
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of an order: a variant, how many, and its price when placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderItem {
    pub variant: VariantId,
    pub quantity: u32,
    pub unit_price: AmountMinor,
}

/// Who moved an order; authorization (is this account the buyer, or staff
/// of the shop?) is the caller's, this is what the order records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    Buyer,
    Shop,
}

/// How an order was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancelledBy {
    Buyer,
    Shop,
    /// Not paid by `pay_by`.
    Expiry,
}

impl CancelledBy {
    pub const ALL: [CancelledBy; 3] = [CancelledBy::Buyer, CancelledBy::Shop, CancelledBy::Expiry];

    /// The stable name, for storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelledBy::Buyer => "buyer",
            CancelledBy::Shop => "shop",
            CancelledBy::Expiry => "expiry",
        }
    }

    /// Reads back a name written by [`CancelledBy::as_str`].
    pub fn parse(text: &str) -> Option<CancelledBy> {
        CancelledBy::ALL.into_iter().find(|by| by.as_str() == text)
    }
}

/// How an order was completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfirmedBy {
    Buyer,
    /// [`OrderPolicy::auto_confirm_after_ms`] after shipping.
    Auto,
}

impl ConfirmedBy {
    pub const ALL: [ConfirmedBy; 2] = [ConfirmedBy::Buyer, ConfirmedBy::Auto];

    /// The stable name, for storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmedBy::Buyer => "buyer",
            ConfirmedBy::Auto => "auto",
        }
    }

    /// Reads back a name written by [`ConfirmedBy::as_str`].
    pub fn parse(text: &str) -> Option<ConfirmedBy> {
        ConfirmedBy::ALL.into_iter().find(|by| by.as_str() == text)
    }
}

/// A carrier and a tracking number, parsed: both non-empty once trimmed,
/// within their lengths, with no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    carrier: String,
    tracking: String,
}

impl Shipment {
    pub fn parse(carrier: &str, tracking: &str) -> Result<Shipment, OrderError> {
        let carrier = short_text(carrier, CARRIER_CHARS_MAX).ok_or(OrderError::InvalidCarrier)?;
        let tracking =
            short_text(tracking, TRACKING_CHARS_MAX).ok_or(OrderError::InvalidTracking)?;
        Ok(Shipment { carrier, tracking })
    }

    pub fn carrier(&self) -> &str {
        &self.carrier
    }

    pub fn tracking(&self) -> &str {
        &self.tracking
    }

    /// Rebuilds what the store wrote after parsing it.
    pub fn from_store(carrier: String, tracking: String) -> Shipment {
        Shipment { carrier, tracking }
    }
}

/// Why the buyer asks for money back: non-empty once trimmed, at most
/// [`REFUND_REASON_CHARS_MAX`] characters, no control characters but new
/// lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundReason(String);

impl RefundReason {
    pub fn parse(text: &str) -> Result<RefundReason, OrderError> {
        let text = text.trim();
        let valid = !text.is_empty()
            && text.chars().count() <= REFUND_REASON_CHARS_MAX
            && !text.chars().any(|c| c.is_control() && c != '\n');
        if valid {
            Ok(RefundReason(text.to_owned()))
        } else {
            Err(OrderError::InvalidRefundReason)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds what the store wrote after parsing it.
    pub fn from_store(text: String) -> RefundReason {
        RefundReason(text)
    }
}

fn short_text(text: &str, chars_max: usize) -> Option<String> {
    let text = text.trim();
    let valid = !text.is_empty()
        && text.chars().count() <= chars_max
        && !text.chars().any(char::is_control);
    valid.then(|| text.to_owned())
}

/// Where a refund request is in its own small life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundStatus {
    Requested,
    Approved,
    Rejected,
    /// Still open when the order was cancelled, which refunded everything.
    Superseded,
}

impl RefundStatus {
    pub const ALL: [RefundStatus; 4] = [
        RefundStatus::Requested,
        RefundStatus::Approved,
        RefundStatus::Rejected,
        RefundStatus::Superseded,
    ];

    /// Reads back a name written by [`RefundStatus::as_str`].
    pub fn parse(text: &str) -> Option<RefundStatus> {
        RefundStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Requested => "requested",
            RefundStatus::Approved => "approved",
            RefundStatus::Rejected => "rejected",
            RefundStatus::Superseded => "superseded",
        }
    }
}

impl fmt::Display for RefundStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request for money back. Once approved, it records where the money
/// came from. In practice it is one of the two: before the release escrow
/// holds everything not yet refunded, after it escrow is empty; the split
/// is kept so that the stored rows say where the money went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub amount: AmountMinor,
    pub reason: RefundReason,
    pub status: RefundStatus,
    pub requested_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub from_escrow_minor: i64,
    pub from_settlement_minor: i64,
}

/// Names a refund request of one order: its position, from 0, in
/// [`Order::refund_requests`]. The store gives it an outside id.
pub type RefundRequestIndex = usize;

/// How an order was cancelled, when, and what it gave back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancellation {
    pub at: Timestamp,
    pub by: CancelledBy,
    /// What the cancellation refunded from escrow (0 if it was not paid).
    pub refund_minor: i64,
}

/// An order as the store keeps it. The fields are plain data so that an
/// engine can rebuild it from its rows; [`Order::check_invariants`] says
/// whether what it rebuilt is one the machine can reach, and the store
/// must refuse to act on one that is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub status: OrderStatus,
    pub items: Vec<OrderItem>,
    /// Σ quantity × unit price, fixed at placing.
    pub total: AmountMinor,
    pub placed_at: Timestamp,
    pub pay_by: Timestamp,
    pub paid_at: Option<Timestamp>,
    pub shipment: Option<(Shipment, Timestamp)>,
    pub completed: Option<(ConfirmedBy, Timestamp)>,
    pub cancelled: Option<Cancellation>,
    /// Moved from escrow to the shop's settlement at completion.
    pub released_minor: i64,
    /// Refunded out of escrow: approved requests and a cancellation.
    pub refunded_from_escrow_minor: i64,
    /// Refunded out of the shop's settlement, after the release.
    pub refunded_from_settlement_minor: i64,
    pub refund_requests: Vec<RefundRequest>,
}

/// What a command asks of an order (placing is [`place`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCommand {
    Pay,
    Ship(Shipment),
    /// The buyer says the goods arrived.
    Confirm,
    /// The sweeper, once the confirmation delay has passed.
    AutoConfirm,
    Cancel(Party),
    /// The sweeper, once `pay_by` has passed unpaid.
    Expire,
    RequestRefund {
        amount: AmountMinor,
        reason: RefundReason,
    },
    ApproveRefund(RefundRequestIndex),
    RejectRefund(RefundRequestIndex),
}

impl OrderCommand {
    /// The verb, for messages and logs.
    pub fn action(&self) -> &'static str {
        match self {
            OrderCommand::Pay => "pay",
            OrderCommand::Ship(_) => "ship",
            OrderCommand::Confirm => "confirm",
            OrderCommand::AutoConfirm => "auto-confirm",
            OrderCommand::Cancel(_) => "cancel",
            OrderCommand::Expire => "expire",
            OrderCommand::RequestRefund { .. } => "request a refund for",
            OrderCommand::ApproveRefund(_) => "approve a refund of",
            OrderCommand::RejectRefund(_) => "reject a refund of",
        }
    }
}

/// How stock moves for one variant. Each conserves the variant's
/// available + reserved + sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StockMoveKind {
    /// available → reserved; the engine refuses it (`out_of_stock`) if
    /// fewer are available.
    Reserve,
    /// reserved → available.
    Release,
    /// reserved → sold.
    Sell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockMove {
    pub variant: VariantId,
    pub quantity: u32,
    pub kind: StockMoveKind,
}

/// The three ledger accounts an order's money moves between. The caller
/// names the real ones (the buyer's wallet, this order's escrow, the
/// shop's merchant settlement) in [`MoneyMove::postings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OrderAccount {
    BuyerWallet,
    Escrow,
    ShopSettlement,
}

/// One amount moved from one account to another: two postings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyMove {
    pub from: OrderAccount,
    pub to: OrderAccount,
    pub amount: AmountMinor,
}

impl MoneyMove {
    /// The ledger's postings for this move, `account` naming the real
    /// account behind each of the three.
    pub fn postings(&self, account: impl Fn(OrderAccount) -> LedgerAccountRef) -> [Posting; 2] {
        [
            Posting::debit(account(self.from), self.amount),
            Posting::credit(account(self.to), self.amount),
        ]
    }

    /// What the ledger calls this move: paying into escrow, releasing it
    /// to the shop, or giving money back to the buyer.
    pub fn operation(&self) -> OperationKind {
        match (self.from, self.to) {
            (_, OrderAccount::BuyerWallet) => OperationKind::OrderRefunded,
            (_, OrderAccount::ShopSettlement) => OperationKind::OrderReleased,
            (_, OrderAccount::Escrow) => OperationKind::OrderPaid,
        }
    }

    /// This move as one balanced ledger transaction; `Err` only if
    /// `account` names one account twice or mixes currencies (a bug).
    pub fn transaction(
        &self,
        account: impl Fn(OrderAccount) -> LedgerAccountRef,
    ) -> Result<Transaction, LedgerError> {
        Transaction::new(self.operation(), self.postings(account).to_vec())
    }
}

/// What one legal move does: the order to store next and the effects to
/// apply with it, atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub order: Order,
    pub stock: Vec<StockMove>,
    pub money: Vec<MoneyMove>,
}

/// Why a command was refused. Nothing is to be changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("an order holds 1 to {ORDER_ITEMS_MAX} items, not {count}")]
    InvalidItemCount { count: usize },
    #[error("a quantity is 1 to {ORDER_ITEM_QUANTITY_MAX}, not {quantity}")]
    InvalidQuantity { quantity: u32 },
    #[error("variant {variant} appears twice in the order")]
    DuplicateVariant { variant: VariantId },
    #[error("the order's total is more than one payment may move")]
    TotalTooLarge,
    #[error("the carrier is 1 to {CARRIER_CHARS_MAX} characters with no control characters")]
    InvalidCarrier,
    #[error(
        "the tracking number is 1 to {TRACKING_CHARS_MAX} characters with no control characters"
    )]
    InvalidTracking,
    #[error("a refund reason is 1 to {REFUND_REASON_CHARS_MAX} characters")]
    InvalidRefundReason,
    #[error("cannot {action} an order that is {status}")]
    InvalidState {
        status: OrderStatus,
        action: &'static str,
    },
    #[error("the order had to be paid by {}; it can no longer be paid", pay_by.to_rfc3339())]
    PaymentDeadlinePassed { pay_by: Timestamp },
    #[error("cannot {action} the order before {}", at.to_rfc3339())]
    TooEarly { action: &'static str, at: Timestamp },
    #[error("the order was completed more than the refund window ago")]
    RefundWindowClosed,
    #[error("an order takes at most {REFUND_REQUESTS_PER_ORDER_MAX} refund requests")]
    TooManyRefundRequests,
    #[error("a refund of {requested} is more than the {refundable} that can still be refunded")]
    RefundTooLarge { requested: i64, refundable: i64 },
    #[error("the order has no refund request {index}")]
    UnknownRefundRequest { index: RefundRequestIndex },
    #[error("the refund request is already {status}")]
    RefundRequestDecided { status: RefundStatus },
}

impl OrderError {
    /// The stable machine-readable reason, for problem responses. Every
    /// move the order's state forbids is `invalid_order_state` (409).
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::InvalidItemCount { .. }
            | OrderError::InvalidQuantity { .. }
            | OrderError::DuplicateVariant { .. } => "invalid_order_items",
            OrderError::TotalTooLarge => "order_total_too_large",
            OrderError::InvalidCarrier | OrderError::InvalidTracking => "invalid_shipment",
            OrderError::InvalidRefundReason => "invalid_refund_reason",
            OrderError::InvalidState { .. }
            | OrderError::PaymentDeadlinePassed { .. }
            | OrderError::TooEarly { .. }
            | OrderError::RefundWindowClosed
            | OrderError::RefundRequestDecided { .. } => "invalid_order_state",
            OrderError::TooManyRefundRequests => "too_many_refund_requests",
            OrderError::RefundTooLarge { .. } => "refund_too_large",
            OrderError::UnknownRefundRequest { .. } => "refund_request_not_found",
        }
    }
}

/// Places an order: checks the items, fixes the total at the prices given
/// (the variants' current ones, read by the caller), and reserves every
/// item. The order waits for payment until `now + pay_within_ms`.
pub fn place(
    items: Vec<OrderItem>,
    now: Timestamp,
    policy: &OrderPolicy,
) -> Result<Transition, OrderError> {
    if items.is_empty() || items.len() > ORDER_ITEMS_MAX {
        return Err(OrderError::InvalidItemCount { count: items.len() });
    }
    let mut seen = BTreeMap::new();
    let mut total: i64 = 0;
    for item in &items {
        if !(1..=ORDER_ITEM_QUANTITY_MAX).contains(&item.quantity) {
            return Err(OrderError::InvalidQuantity {
                quantity: item.quantity,
            });
        }
        if seen.insert(item.variant, ()).is_some() {
            return Err(OrderError::DuplicateVariant {
                variant: item.variant,
            });
        }
        total = line_total(item)
            .and_then(|line| total.checked_add(line))
            .filter(|&sum| sum <= AMOUNT_MINOR_MAX)
            .ok_or(OrderError::TotalTooLarge)?;
    }
    let total = AmountMinor::positive(total).map_err(|_| OrderError::TotalTooLarge)?;
    let stock = stock_moves(&items, StockMoveKind::Reserve);
    let order = Order {
        status: OrderStatus::PendingPayment,
        items,
        total,
        placed_at: now,
        pay_by: Timestamp::from_unix_ms(now.unix_ms().saturating_add(policy.pay_within_ms)),
        paid_at: None,
        shipment: None,
        completed: None,
        cancelled: None,
        released_minor: 0,
        refunded_from_escrow_minor: 0,
        refunded_from_settlement_minor: 0,
        refund_requests: Vec::new(),
    };
    Ok(Transition {
        order,
        stock,
        money: Vec::new(),
    })
}

/// Quantity × unit price, if it fits in an `i64`.
fn line_total(item: &OrderItem) -> Option<i64> {
    i64::from(item.quantity).checked_mul(item.unit_price.get())
}

fn stock_moves(items: &[OrderItem], kind: StockMoveKind) -> Vec<StockMove> {
    items
        .iter()
        .map(|item| StockMove {
            variant: item.variant,
            quantity: item.quantity,
            kind,
        })
        .collect()
}

fn money_move(from: OrderAccount, to: OrderAccount, amount: i64) -> Vec<MoneyMove> {
    // Zero moves nothing, and a ledger posting is never zero.
    AmountMinor::positive(amount)
        .map(|amount| vec![MoneyMove { from, to, amount }])
        .unwrap_or_default()
}

impl Order {
    /// Applies one command at `now`: the next order and what to do, or why
    /// not. The order itself is left as it was either way.
    pub fn apply(
        &self,
        command: &OrderCommand,
        now: Timestamp,
        policy: &OrderPolicy,
    ) -> Result<Transition, OrderError> {
        let refuse = || OrderError::InvalidState {
            status: self.status,
            action: command.action(),
        };
        match command {
            OrderCommand::Pay => self.pay(now, refuse),
            OrderCommand::Ship(shipment) => self.ship(shipment, now, refuse),
            OrderCommand::Confirm => self.confirm(ConfirmedBy::Buyer, now, refuse),
            OrderCommand::AutoConfirm => {
                let due = self.auto_confirm_at(policy).ok_or_else(refuse)?;
                if now < due {
                    return Err(OrderError::TooEarly {
                        action: command.action(),
                        at: due,
                    });
                }
                self.confirm(ConfirmedBy::Auto, now, refuse)
            }
            OrderCommand::Cancel(party) => {
                let by = match party {
                    Party::Buyer => CancelledBy::Buyer,
                    Party::Shop => CancelledBy::Shop,
                };
                self.cancel(by, now, refuse)
            }
            OrderCommand::Expire => {
                if self.status != OrderStatus::PendingPayment {
                    return Err(refuse());
                }
                if now < self.pay_by {
                    return Err(OrderError::TooEarly {
                        action: command.action(),
                        at: self.pay_by,
                    });
                }
                self.cancel(CancelledBy::Expiry, now, refuse)
            }
            OrderCommand::RequestRefund { amount, reason } => {
                self.request_refund(*amount, reason, now, policy, refuse)
            }
            OrderCommand::ApproveRefund(index) => self.approve_refund(*index, now),
            OrderCommand::RejectRefund(index) => self.reject_refund(*index, now),
        }
    }

    /// What was paid: the total once paid, else nothing.
    pub fn paid_minor(&self) -> i64 {
        if self.paid_at.is_some() {
            self.total.get()
        } else {
            0
        }
    }

    pub fn refunded_minor(&self) -> i64 {
        self.refunded_from_escrow_minor + self.refunded_from_settlement_minor
    }

    /// What the order's escrow account holds.
    pub fn escrow_minor(&self) -> i64 {
        self.paid_minor() - self.refunded_from_escrow_minor - self.released_minor
    }

    /// What may still be refunded: paid, less refunded, less what open
    /// requests already ask for (so that approving them all stays within).
    pub fn refundable_minor(&self) -> i64 {
        let open: i64 = self
            .refund_requests
            .iter()
            .filter(|request| request.status == RefundStatus::Requested)
            .map(|request| request.amount.get())
            .sum();
        self.paid_minor() - self.refunded_minor() - open
    }

    /// When the sweeper may confirm a shipped order.
    pub fn auto_confirm_at(&self, policy: &OrderPolicy) -> Option<Timestamp> {
        match (&self.shipment, self.status) {
            (Some((_, shipped_at)), OrderStatus::Shipped) => Some(Timestamp::from_unix_ms(
                shipped_at
                    .unix_ms()
                    .saturating_add(policy.auto_confirm_after_ms),
            )),
            _ => None,
        }
    }

    /// Where this order's items are counted in their variants' stock
    /// ([`OrderStatus::stock_held`]).
    pub fn stock_held(&self) -> Option<StockHeld> {
        self.status.stock_held()
    }

    fn pay(
        &self,
        now: Timestamp,
        refuse: impl Fn() -> OrderError,
    ) -> Result<Transition, OrderError> {
        if self.status != OrderStatus::PendingPayment {
            return Err(refuse());
        }
        if now >= self.pay_by {
            return Err(OrderError::PaymentDeadlinePassed {
                pay_by: self.pay_by,
            });
        }
        let mut order = self.clone();
        order.status = OrderStatus::Paid;
        order.paid_at = Some(now);
        Ok(Transition {
            order,
            stock: Vec::new(),
            money: money_move(
                OrderAccount::BuyerWallet,
                OrderAccount::Escrow,
                self.total.get(),
            ),
        })
    }

    fn ship(
        &self,
        shipment: &Shipment,
        now: Timestamp,
        refuse: impl Fn() -> OrderError,
    ) -> Result<Transition, OrderError> {
        if self.status != OrderStatus::Paid {
            return Err(refuse());
        }
        let mut order = self.clone();
        order.status = OrderStatus::Shipped;
        order.shipment = Some((shipment.clone(), now));
        Ok(Transition {
            order,
            stock: stock_moves(&self.items, StockMoveKind::Sell),
            money: Vec::new(),
        })
    }

    fn confirm(
        &self,
        by: ConfirmedBy,
        now: Timestamp,
        refuse: impl Fn() -> OrderError,
    ) -> Result<Transition, OrderError> {
        if self.status != OrderStatus::Shipped {
            return Err(refuse());
        }
        let release = self.escrow_minor();
        let mut order = self.clone();
        order.status = OrderStatus::Completed;
        order.completed = Some((by, now));
        order.released_minor += release;
        Ok(Transition {
            order,
            stock: Vec::new(),
            money: money_move(OrderAccount::Escrow, OrderAccount::ShopSettlement, release),
        })
    }

    fn cancel(
        &self,
        by: CancelledBy,
        now: Timestamp,
        refuse: impl Fn() -> OrderError,
    ) -> Result<Transition, OrderError> {
        if !matches!(self.status, OrderStatus::PendingPayment | OrderStatus::Paid) {
            return Err(refuse());
        }
        let refund = self.escrow_minor();
        let mut order = self.clone();
        order.status = OrderStatus::Cancelled;
        order.cancelled = Some(Cancellation {
            at: now,
            by,
            refund_minor: refund,
        });
        order.refunded_from_escrow_minor += refund;
        for request in &mut order.refund_requests {
            if request.status == RefundStatus::Requested {
                request.status = RefundStatus::Superseded;
                request.decided_at = Some(now);
            }
        }
        Ok(Transition {
            order,
            stock: stock_moves(&self.items, StockMoveKind::Release),
            money: money_move(OrderAccount::Escrow, OrderAccount::BuyerWallet, refund),
        })
    }

    fn request_refund(
        &self,
        amount: AmountMinor,
        reason: &RefundReason,
        now: Timestamp,
        policy: &OrderPolicy,
        refuse: impl Fn() -> OrderError,
    ) -> Result<Transition, OrderError> {
        match (self.status, self.completed) {
            (OrderStatus::Paid | OrderStatus::Shipped, _) => {}
            (OrderStatus::Completed, Some((_, completed_at))) => {
                let window_end = completed_at
                    .unix_ms()
                    .saturating_add(policy.refund_window_ms);
                if now.unix_ms() >= window_end {
                    return Err(OrderError::RefundWindowClosed);
                }
            }
            _ => return Err(refuse()),
        }
        if self.refund_requests.len() >= REFUND_REQUESTS_PER_ORDER_MAX {
            return Err(OrderError::TooManyRefundRequests);
        }
        let refundable = self.refundable_minor();
        if amount.get() > refundable {
            return Err(OrderError::RefundTooLarge {
                requested: amount.get(),
                refundable,
            });
        }
        let mut order = self.clone();
        order.refund_requests.push(RefundRequest {
            amount,
            reason: reason.clone(),
            status: RefundStatus::Requested,
            requested_at: now,
            decided_at: None,
            from_escrow_minor: 0,
            from_settlement_minor: 0,
        });
        Ok(Transition {
            order,
            stock: Vec::new(),
            money: Vec::new(),
        })
    }

    fn open_request(&self, index: RefundRequestIndex) -> Result<&RefundRequest, OrderError> {
        let request = self
            .refund_requests
            .get(index)
            .ok_or(OrderError::UnknownRefundRequest { index })?;
        if request.status != RefundStatus::Requested {
            return Err(OrderError::RefundRequestDecided {
                status: request.status,
            });
        }
        Ok(request)
    }

    fn approve_refund(
        &self,
        index: RefundRequestIndex,
        now: Timestamp,
    ) -> Result<Transition, OrderError> {
        let amount = self.open_request(index)?.amount.get();
        // The request check keeps this true; checked again so that a
        // damaged row can never refund more than was paid.
        let refundable = self.paid_minor() - self.refunded_minor();
        if amount > refundable {
            return Err(OrderError::RefundTooLarge {
                requested: amount,
                refundable,
            });
        }
        let from_escrow = amount.min(self.escrow_minor());
        let from_settlement = amount - from_escrow;
        let mut order = self.clone();
        let request = &mut order.refund_requests[index];
        request.status = RefundStatus::Approved;
        request.decided_at = Some(now);
        request.from_escrow_minor = from_escrow;
        request.from_settlement_minor = from_settlement;
        order.refunded_from_escrow_minor += from_escrow;
        order.refunded_from_settlement_minor += from_settlement;
        let mut money = money_move(OrderAccount::Escrow, OrderAccount::BuyerWallet, from_escrow);
        money.extend(money_move(
            OrderAccount::ShopSettlement,
            OrderAccount::BuyerWallet,
            from_settlement,
        ));
        Ok(Transition {
            order,
            stock: Vec::new(),
            money,
        })
    }

    fn reject_refund(
        &self,
        index: RefundRequestIndex,
        now: Timestamp,
    ) -> Result<Transition, OrderError> {
        self.open_request(index)?;
        let mut order = self.clone();
        let request = &mut order.refund_requests[index];
        request.status = RefundStatus::Rejected;
        request.decided_at = Some(now);
        Ok(Transition {
            order,
            stock: Vec::new(),
            money: Vec::new(),
        })
    }
}

/// Where an order's items sit in their variants' stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StockHeld {
    Reserved,
    Sold,
}

/// One way a stored order is not one the machine can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderViolation(pub String);

impl fmt::Display for OrderViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Order {
    /// Every way this order breaks the machine's invariants; empty for any
    /// order [`place`] and [`Order::apply`] can produce. For the store's
    /// checker (`admin check`) and for refusing a damaged row.
    pub fn check_invariants(&self) -> Vec<OrderViolation> {
        let mut found = Vec::new();
        let mut check = |holds: bool, what: &str| {
            if !holds {
                found.push(OrderViolation(what.to_owned()));
            }
        };
        self.check_items(&mut check);
        self.check_money(&mut check);
        self.check_refund_requests(&mut check);
        self.check_status_fields(&mut check);
        found
    }

    fn check_items(&self, check: &mut impl FnMut(bool, &str)) {
        let mut variants: Vec<VariantId> = self.items.iter().map(|item| item.variant).collect();
        variants.sort();
        variants.dedup();
        check(
            (1..=ORDER_ITEMS_MAX).contains(&self.items.len()) && variants.len() == self.items.len(),
            "an order holds 1 to ORDER_ITEMS_MAX distinct variants",
        );
        check(
            self.items
                .iter()
                .all(|item| (1..=ORDER_ITEM_QUANTITY_MAX).contains(&item.quantity)),
            "every quantity is within bounds",
        );
        // Checked: a damaged row must be reported, not overflow.
        let sum = self.items.iter().try_fold(0i64, |sum, item| {
            line_total(item).and_then(|line| sum.checked_add(line))
        });
        check(
            sum == Some(self.total.get()),
            "the total is the sum of the items",
        );
        check(self.placed_at < self.pay_by, "pay_by is after placing");
    }

    fn check_money(&self, check: &mut impl FnMut(bool, &str)) {
        let released = self.released_minor;
        let from_settlement = self.refunded_from_settlement_minor;
        check(
            released >= 0 && self.refunded_from_escrow_minor >= 0 && from_settlement >= 0,
            "no amount moved is negative",
        );
        check(
            self.refunded_minor() <= self.paid_minor(),
            "refunded ≤ paid",
        );
        check(self.escrow_minor() >= 0, "escrow is never below zero");
        check(
            from_settlement <= released,
            "the settlement refunds no more than was released to it",
        );
        check(
            released == 0 || self.status == OrderStatus::Completed,
            "only a completed order has released money",
        );
        let emptied = matches!(self.status, OrderStatus::Completed | OrderStatus::Cancelled);
        check(
            !emptied || self.escrow_minor() == 0,
            "a completed or cancelled order's escrow is empty",
        );
        check(
            from_settlement == 0 || self.status == OrderStatus::Completed,
            "only after the release is a refund taken from the settlement",
        );
    }

    fn check_refund_requests(&self, check: &mut impl FnMut(bool, &str)) {
        let requests = &self.refund_requests;
        check(
            requests.len() <= REFUND_REQUESTS_PER_ORDER_MAX,
            "at most REFUND_REQUESTS_PER_ORDER_MAX refund requests",
        );
        let approved = || {
            requests
                .iter()
                .filter(|request| request.status == RefundStatus::Approved)
        };
        let cancel_refund = self.cancelled.map_or(0, |c| c.refund_minor);
        let from_escrow: i64 = approved().map(|r| r.from_escrow_minor).sum();
        let from_settlement: i64 = approved().map(|r| r.from_settlement_minor).sum();
        check(
            from_escrow + cancel_refund == self.refunded_from_escrow_minor
                && from_settlement == self.refunded_from_settlement_minor,
            "the refunds add up to the approved requests and the cancellation",
        );
        check(
            requests.iter().all(|r| match r.status {
                RefundStatus::Approved => {
                    r.from_escrow_minor >= 0
                        && r.from_settlement_minor >= 0
                        && r.from_escrow_minor + r.from_settlement_minor == r.amount.get()
                        && r.decided_at.is_some()
                }
                RefundStatus::Requested => {
                    r.decided_at.is_none()
                        && r.from_escrow_minor == 0
                        && r.from_settlement_minor == 0
                }
                RefundStatus::Rejected | RefundStatus::Superseded => {
                    r.decided_at.is_some()
                        && r.from_escrow_minor == 0
                        && r.from_settlement_minor == 0
                }
            }),
            "each refund request's record fits its status",
        );
        check(
            requests.is_empty() || self.paid_at.is_some(),
            "only a paid order has refund requests",
        );
        check(
            self.status != OrderStatus::Cancelled
                || requests.iter().all(|r| r.status != RefundStatus::Requested),
            "a cancelled order has no open refund request",
        );
        check(
            self.refundable_minor() >= 0,
            "open requests ask for no more than is left",
        );
    }

    fn check_status_fields(&self, check: &mut impl FnMut(bool, &str)) {
        use OrderStatus::*;
        let status = self.status;
        let paid = self.paid_at.is_some();
        let shipped = self.shipment.is_some();
        let completed = self.completed.is_some();
        let cancelled = self.cancelled.is_some();
        let fits = match status {
            PendingPayment => !paid && !shipped && !completed && !cancelled,
            Paid => paid && !shipped && !completed && !cancelled,
            Shipped => paid && shipped && !completed && !cancelled,
            Completed => paid && shipped && completed && !cancelled,
            Cancelled => !shipped && !completed && cancelled,
        };
        check(fits, "the recorded moments fit the status");
        let expired_unpaid = self
            .cancelled
            .is_none_or(|c| c.by != CancelledBy::Expiry || !paid);
        check(expired_unpaid, "only an unpaid order expires");
        check(
            !cancelled || self.refunded_minor() == self.paid_minor(),
            "a cancellation refunds everything left",
        );
        check(
            self.paid_at.is_none_or(|at| at < self.pay_by),
            "an order is paid before pay_by",
        );
    }
}

#[cfg(test)]
mod tests;
