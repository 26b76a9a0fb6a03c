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
use crate::ledger::{LedgerAccountRef, Posting};
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

/// How an order was completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfirmedBy {
    Buyer,
    /// [`OrderPolicy::auto_confirm_after_ms`] after shipping.
    Auto,
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

    /// Where this order's items are counted in their variants' stock:
    /// reserved until shipped, sold from then on, nowhere once cancelled.
    /// The store's checker sums these per variant against the variant rows.
    pub fn stock_held(&self) -> Option<StockHeld> {
        match self.status {
            OrderStatus::PendingPayment | OrderStatus::Paid => Some(StockHeld::Reserved),
            OrderStatus::Shipped | OrderStatus::Completed => Some(StockHeld::Sold),
            OrderStatus::Cancelled => None,
        }
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
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_ms(T0 + ms)
    }

    fn amount(value: i64) -> AmountMinor {
        AmountMinor::positive(value).unwrap()
    }

    fn item(variant: i64, quantity: u32, unit_price: i64) -> OrderItem {
        OrderItem {
            variant: VariantId::from_row(variant),
            quantity,
            unit_price: amount(unit_price),
        }
    }

    fn policy() -> OrderPolicy {
        OrderPolicy::default()
    }

    fn shipment() -> Shipment {
        Shipment::parse("SF Express", "SF123456789").unwrap()
    }

    fn reason() -> RefundReason {
        RefundReason::parse("one cup arrived broken").unwrap()
    }

    fn refund(value: i64) -> OrderCommand {
        OrderCommand::RequestRefund {
            amount: amount(value),
            reason: reason(),
        }
    }

    /// Applies a command that must succeed, checking the invariants of
    /// what it made.
    fn step(order: &Order, command: OrderCommand, now: Timestamp) -> Transition {
        let transition = order.apply(&command, now, &policy()).unwrap();
        assert_eq!(transition.order.check_invariants(), vec![]);
        assert!(order.status.may_become(transition.order.status));
        transition
    }

    fn placed() -> Order {
        // 2 × 1,000 + 1 × 500 = 2,500.
        place(vec![item(1, 2, 1_000), item(2, 1, 500)], at(0), &policy())
            .unwrap()
            .order
    }

    fn paid() -> Order {
        step(&placed(), OrderCommand::Pay, at(1_000)).order
    }

    fn shipped() -> Order {
        step(&paid(), OrderCommand::Ship(shipment()), at(2_000)).order
    }

    fn completed() -> Order {
        step(&shipped(), OrderCommand::Confirm, at(3_000)).order
    }

    fn moved(from: OrderAccount, to: OrderAccount, value: i64) -> MoneyMove {
        MoneyMove {
            from,
            to,
            amount: amount(value),
        }
    }

    fn invalid_state(order: &Order, command: OrderCommand) {
        let refused = order.apply(&command, at(60_000), &policy());
        assert_eq!(
            refused,
            Err(OrderError::InvalidState {
                status: order.status,
                action: command.action(),
            }),
            "{command:?} on {}",
            order.status
        );
    }

    use OrderAccount::{BuyerWallet, Escrow, ShopSettlement};

    #[test]
    fn placing_fixes_the_total_and_reserves_every_item() {
        let transition = place(vec![item(1, 2, 1_000), item(2, 1, 500)], at(0), &policy()).unwrap();
        let order = &transition.order;
        assert_eq!(order.status, OrderStatus::PendingPayment);
        assert_eq!(order.total.get(), 2_500);
        assert_eq!(order.pay_by, at(15 * 60 * 1000));
        assert_eq!(order.check_invariants(), vec![]);
        assert_eq!(transition.money, vec![]);
        assert_eq!(
            transition.stock,
            vec![
                StockMove {
                    variant: VariantId::from_row(1),
                    quantity: 2,
                    kind: StockMoveKind::Reserve
                },
                StockMove {
                    variant: VariantId::from_row(2),
                    quantity: 1,
                    kind: StockMoveKind::Reserve
                },
            ]
        );
        assert_eq!(order.stock_held(), Some(StockHeld::Reserved));
    }

    #[test]
    fn placing_refuses_bad_items() {
        let p = policy();
        assert_eq!(
            place(vec![], at(0), &p),
            Err(OrderError::InvalidItemCount { count: 0 })
        );
        let many = (1..=101).map(|v| item(v, 1, 1)).collect();
        assert_eq!(
            place(many, at(0), &p),
            Err(OrderError::InvalidItemCount { count: 101 })
        );
        let hundred = (1..=100).map(|v| item(v, 1, 1)).collect();
        assert!(place(hundred, at(0), &p).is_ok());
        assert_eq!(
            place(vec![item(1, 0, 1)], at(0), &p),
            Err(OrderError::InvalidQuantity { quantity: 0 })
        );
        assert_eq!(
            place(vec![item(1, 1_000, 1)], at(0), &p),
            Err(OrderError::InvalidQuantity { quantity: 1_000 })
        );
        assert!(place(vec![item(1, 999, 1)], at(0), &p).is_ok());
        assert_eq!(
            place(vec![item(1, 1, 1), item(1, 2, 1)], at(0), &p),
            Err(OrderError::DuplicateVariant {
                variant: VariantId::from_row(1)
            })
        );
        let huge = (1..=100)
            .map(|v| item(v, ORDER_ITEM_QUANTITY_MAX, AMOUNT_MINOR_MAX))
            .collect();
        assert_eq!(place(huge, at(0), &p), Err(OrderError::TotalTooLarge));
        assert_eq!(
            place(vec![item(1, 2, AMOUNT_MINOR_MAX / 2 + 1)], at(0), &p),
            Err(OrderError::TotalTooLarge)
        );
    }

    #[test]
    fn paying_moves_the_total_into_escrow() {
        let transition = step(&placed(), OrderCommand::Pay, at(1_000));
        assert_eq!(transition.order.status, OrderStatus::Paid);
        assert_eq!(transition.order.paid_at, Some(at(1_000)));
        assert_eq!(transition.money, vec![moved(BuyerWallet, Escrow, 2_500)]);
        assert_eq!(transition.stock, vec![]);
        assert_eq!(transition.order.escrow_minor(), 2_500);
    }

    #[test]
    fn paying_at_or_after_pay_by_is_refused() {
        let order = placed();
        let refused = order.apply(&OrderCommand::Pay, order.pay_by, &policy());
        assert_eq!(
            refused,
            Err(OrderError::PaymentDeadlinePassed {
                pay_by: order.pay_by
            })
        );
        assert_eq!(refused.unwrap_err().code(), "invalid_order_state");
        let just_before = Timestamp::from_unix_ms(order.pay_by.unix_ms() - 1);
        assert!(
            order
                .apply(&OrderCommand::Pay, just_before, &policy())
                .is_ok()
        );
    }

    #[test]
    fn shipping_sells_the_reserved_stock() {
        let transition = step(&paid(), OrderCommand::Ship(shipment()), at(2_000));
        assert_eq!(transition.order.status, OrderStatus::Shipped);
        assert_eq!(transition.money, vec![]);
        assert!(
            transition
                .stock
                .iter()
                .all(|stock| stock.kind == StockMoveKind::Sell)
        );
        assert_eq!(transition.stock.len(), 2);
        let (recorded, shipped_at) = transition.order.shipment.clone().unwrap();
        assert_eq!(recorded.carrier(), "SF Express");
        assert_eq!(recorded.tracking(), "SF123456789");
        assert_eq!(shipped_at, at(2_000));
        assert_eq!(transition.order.stock_held(), Some(StockHeld::Sold));
    }

    #[test]
    fn confirming_releases_escrow_to_the_shop() {
        let transition = step(&shipped(), OrderCommand::Confirm, at(3_000));
        assert_eq!(transition.order.status, OrderStatus::Completed);
        assert_eq!(
            transition.order.completed,
            Some((ConfirmedBy::Buyer, at(3_000)))
        );
        assert_eq!(transition.money, vec![moved(Escrow, ShopSettlement, 2_500)]);
        assert_eq!(transition.order.escrow_minor(), 0);
        assert_eq!(transition.order.released_minor, 2_500);
    }

    #[test]
    fn auto_confirm_waits_for_its_day() {
        let order = shipped();
        let due = order.auto_confirm_at(&policy()).unwrap();
        assert_eq!(due, at(2_000 + 7 * DAY_MS));
        let early = Timestamp::from_unix_ms(due.unix_ms() - 1);
        assert_eq!(
            order.apply(&OrderCommand::AutoConfirm, early, &policy()),
            Err(OrderError::TooEarly {
                action: "auto-confirm",
                at: due
            })
        );
        let transition = step(&order, OrderCommand::AutoConfirm, due);
        assert_eq!(transition.order.completed, Some((ConfirmedBy::Auto, due)));
        assert_eq!(transition.money, vec![moved(Escrow, ShopSettlement, 2_500)]);
        // The delay is a parameter.
        let quick = OrderPolicy {
            auto_confirm_after_ms: 10,
            ..policy()
        };
        assert!(
            order
                .apply(&OrderCommand::AutoConfirm, at(2_010), &quick)
                .is_ok()
        );
        invalid_state(&paid(), OrderCommand::AutoConfirm);
    }

    #[test]
    fn cancelling_unpaid_releases_the_stock_and_moves_no_money() {
        for party in [Party::Buyer, Party::Shop] {
            let transition = step(&placed(), OrderCommand::Cancel(party), at(500));
            assert_eq!(transition.order.status, OrderStatus::Cancelled);
            assert_eq!(transition.money, vec![]);
            assert!(
                transition
                    .stock
                    .iter()
                    .all(|stock| stock.kind == StockMoveKind::Release)
            );
            assert_eq!(transition.stock.len(), 2);
            assert_eq!(transition.order.stock_held(), None);
        }
    }

    #[test]
    fn cancelling_paid_refunds_in_full_and_releases_the_stock() {
        let order = step(&paid(), refund(400), at(1_500)).order;
        let order = step(&order, OrderCommand::ApproveRefund(0), at(1_600)).order;
        let order = step(&order, refund(100), at(1_700)).order;
        let transition = step(&order, OrderCommand::Cancel(Party::Shop), at(2_000));
        // 2,500 paid, 400 refunded already: the rest comes back.
        assert_eq!(transition.money, vec![moved(Escrow, BuyerWallet, 2_100)]);
        assert_eq!(transition.stock.len(), 2);
        let order = transition.order;
        assert_eq!(order.refunded_minor(), 2_500);
        assert_eq!(order.escrow_minor(), 0);
        assert_eq!(
            order.cancelled,
            Some(Cancellation {
                at: at(2_000),
                by: CancelledBy::Shop,
                refund_minor: 2_100
            })
        );
        assert_eq!(order.refund_requests[1].status, RefundStatus::Superseded);
    }

    #[test]
    fn expiry_only_after_pay_by_and_only_unpaid() {
        let order = placed();
        let early = Timestamp::from_unix_ms(order.pay_by.unix_ms() - 1);
        assert_eq!(
            order.apply(&OrderCommand::Expire, early, &policy()),
            Err(OrderError::TooEarly {
                action: "expire",
                at: order.pay_by
            })
        );
        let transition = step(&order, OrderCommand::Expire, order.pay_by);
        assert_eq!(transition.order.cancelled.unwrap().by, CancelledBy::Expiry);
        assert_eq!(transition.money, vec![]);
        assert_eq!(transition.stock.len(), 2);
        // An expired order cannot be paid: nothing moves.
        invalid_state(&transition.order, OrderCommand::Pay);
        invalid_state(&paid(), OrderCommand::Expire);
    }

    #[test]
    fn illegal_moves_are_invalid_state() {
        let all = |index| {
            vec![
                OrderCommand::Pay,
                OrderCommand::Ship(shipment()),
                OrderCommand::Confirm,
                OrderCommand::AutoConfirm,
                OrderCommand::Cancel(Party::Buyer),
                OrderCommand::Cancel(Party::Shop),
                OrderCommand::Expire,
                refund(1),
                OrderCommand::ApproveRefund(index),
                OrderCommand::RejectRefund(index),
            ]
        };
        let legal: [(OrderStatus, &[&str]); 5] = [
            (OrderStatus::PendingPayment, &["pay", "cancel", "expire"]),
            (
                OrderStatus::Paid,
                &["ship", "cancel", "request a refund for"],
            ),
            (
                OrderStatus::Shipped,
                &["confirm", "auto-confirm", "request a refund for"],
            ),
            (OrderStatus::Completed, &["request a refund for"]),
            (OrderStatus::Cancelled, &[]),
        ];
        let cancelled = step(&paid(), OrderCommand::Cancel(Party::Buyer), at(2_000)).order;
        for order in [placed(), paid(), shipped(), completed(), cancelled] {
            let allowed = legal.iter().find(|(s, _)| *s == order.status).unwrap().1;
            for command in all(0) {
                let result = order.apply(&command, at(8 * DAY_MS), &policy());
                let is_state_refusal = matches!(result, Err(OrderError::InvalidState { .. }));
                let is_refund_decision = matches!(
                    command,
                    OrderCommand::ApproveRefund(_) | OrderCommand::RejectRefund(_)
                );
                if is_refund_decision {
                    // No request exists: not found, whatever the status.
                    assert_eq!(result, Err(OrderError::UnknownRefundRequest { index: 0 }));
                } else if allowed.contains(&command.action()) {
                    assert!(!is_state_refusal, "{command:?} on {}", order.status);
                } else {
                    invalid_state(&order, command);
                }
            }
        }
    }

    #[test]
    fn refunds_before_release_come_from_escrow() {
        let order = step(&shipped(), refund(1_000), at(2_500)).order;
        assert_eq!(order.refund_requests[0].status, RefundStatus::Requested);
        assert_eq!(order.refundable_minor(), 1_500);
        let transition = step(&order, OrderCommand::ApproveRefund(0), at(2_600));
        assert_eq!(transition.money, vec![moved(Escrow, BuyerWallet, 1_000)]);
        assert_eq!(transition.order.escrow_minor(), 1_500);
        assert_eq!(transition.order.status, OrderStatus::Shipped);
        // Confirming releases only what is left.
        let transition = step(&transition.order, OrderCommand::Confirm, at(3_000));
        assert_eq!(transition.money, vec![moved(Escrow, ShopSettlement, 1_500)]);
    }

    #[test]
    fn refunds_after_release_come_from_the_settlement_within_the_window() {
        let order = completed();
        let transition = step(&order, refund(2_500), at(4_000));
        let transition = step(
            &transition.order,
            OrderCommand::ApproveRefund(0),
            at(30 * DAY_MS),
        );
        assert_eq!(
            transition.money,
            vec![moved(ShopSettlement, BuyerWallet, 2_500)]
        );
        let request = &transition.order.refund_requests[0];
        assert_eq!(
            (request.from_escrow_minor, request.from_settlement_minor),
            (0, 2_500)
        );
        // The window: 15 days after completion, then no new requests.
        let window_end = at(3_000 + 15 * DAY_MS);
        let last = Timestamp::from_unix_ms(window_end.unix_ms() - 1);
        assert!(order.apply(&refund(1), last, &policy()).is_ok());
        assert_eq!(
            order.apply(&refund(1), window_end, &policy()),
            Err(OrderError::RefundWindowClosed)
        );
    }

    #[test]
    fn refunds_never_exceed_what_was_paid() {
        let order = paid();
        assert_eq!(
            order.apply(&refund(2_501), at(1_500), &policy()),
            Err(OrderError::RefundTooLarge {
                requested: 2_501,
                refundable: 2_500
            })
        );
        // Open requests count: two of 1,500 cannot both be asked.
        let order = step(&order, refund(1_500), at(1_500)).order;
        let refused = order.apply(&refund(1_001), at(1_600), &policy());
        assert_eq!(
            refused,
            Err(OrderError::RefundTooLarge {
                requested: 1_001,
                refundable: 1_000
            })
        );
        assert_eq!(refused.unwrap_err().code(), "refund_too_large");
        let order = step(&order, refund(1_000), at(1_600)).order;
        let order = step(&order, OrderCommand::ApproveRefund(1), at(1_700)).order;
        let order = step(&order, OrderCommand::ApproveRefund(0), at(1_800)).order;
        assert_eq!(order.refunded_minor(), 2_500);
        assert_eq!(order.refundable_minor(), 0);
        assert!(matches!(
            order.apply(&refund(1), at(1_900), &policy()),
            Err(OrderError::RefundTooLarge { .. })
        ));
    }

    #[test]
    fn a_request_is_decided_once() {
        let order = step(&paid(), refund(100), at(1_500)).order;
        let rejected = step(&order, OrderCommand::RejectRefund(0), at(1_600));
        assert_eq!(rejected.money, vec![]);
        assert_eq!(
            rejected.order.refund_requests[0].status,
            RefundStatus::Rejected
        );
        for command in [
            OrderCommand::ApproveRefund(0),
            OrderCommand::RejectRefund(0),
        ] {
            assert_eq!(
                rejected.order.apply(&command, at(1_700), &policy()),
                Err(OrderError::RefundRequestDecided {
                    status: RefundStatus::Rejected
                })
            );
        }
        let approved = step(&order, OrderCommand::ApproveRefund(0), at(1_600)).order;
        assert_eq!(
            approved.apply(&OrderCommand::RejectRefund(0), at(1_700), &policy()),
            Err(OrderError::RefundRequestDecided {
                status: RefundStatus::Approved
            })
        );
        assert_eq!(
            approved.apply(&OrderCommand::ApproveRefund(7), at(1_700), &policy()),
            Err(OrderError::UnknownRefundRequest { index: 7 })
        );
    }

    #[test]
    fn an_order_takes_a_bounded_number_of_requests() {
        let mut order = paid();
        for index in 0..REFUND_REQUESTS_PER_ORDER_MAX {
            order = step(&order, refund(1), at(1_500)).order;
            order = step(&order, OrderCommand::RejectRefund(index), at(1_500)).order;
        }
        assert_eq!(
            order.apply(&refund(1), at(1_600), &policy()),
            Err(OrderError::TooManyRefundRequests)
        );
    }

    #[test]
    fn shipments_and_reasons_are_parsed() {
        assert_eq!(Shipment::parse(" DHL ", " 42 ").unwrap().carrier(), "DHL");
        assert_eq!(Shipment::parse("", "42"), Err(OrderError::InvalidCarrier));
        assert_eq!(
            Shipment::parse("DHL", "  "),
            Err(OrderError::InvalidTracking)
        );
        assert_eq!(
            Shipment::parse("DHL", "4\u{0}2"),
            Err(OrderError::InvalidTracking)
        );
        assert!(Shipment::parse(&"c".repeat(CARRIER_CHARS_MAX), "1").is_ok());
        assert!(Shipment::parse(&"c".repeat(CARRIER_CHARS_MAX + 1), "1").is_err());
        assert!(Shipment::parse("c", &"7".repeat(TRACKING_CHARS_MAX + 1)).is_err());
        assert!(RefundReason::parse("broken\nand late").is_ok());
        assert!(RefundReason::parse("").is_err());
        assert!(RefundReason::parse("bad\u{7}").is_err());
        assert!(RefundReason::parse(&"r".repeat(REFUND_REASON_CHARS_MAX)).is_ok());
        assert!(RefundReason::parse(&"r".repeat(REFUND_REASON_CHARS_MAX + 1)).is_err());
    }

    #[test]
    fn statuses_round_trip_and_messages_read_well() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::parse("Paid"), None);
        let error = OrderError::InvalidState {
            status: OrderStatus::Completed,
            action: "cancel",
        };
        assert_eq!(
            error.to_string(),
            "cannot cancel an order that is completed"
        );
        assert_eq!(error.code(), "invalid_order_state");
        let error = OrderError::RefundTooLarge {
            requested: 5,
            refundable: 3,
        };
        assert_eq!(
            error.to_string(),
            "a refund of 5 is more than the 3 that can still be refunded"
        );
    }

    #[test]
    fn damaged_orders_are_reported() {
        let mut order = completed();
        order.released_minor -= 1;
        assert!(!order.check_invariants().is_empty());
        let mut order = paid();
        order.refunded_from_escrow_minor = 3_000;
        let found = order.check_invariants();
        assert!(
            found.contains(&OrderViolation("refunded ≤ paid".into())),
            "{found:?}"
        );
        let mut order = shipped();
        order.status = OrderStatus::PendingPayment;
        assert!(!order.check_invariants().is_empty());
        let mut order = placed();
        order.total = amount(1);
        assert!(!order.check_invariants().is_empty());
        let mut order = completed();
        order.refunded_from_settlement_minor = 10;
        assert!(!order.check_invariants().is_empty());
    }

    #[test]
    fn postings_are_a_balanced_pair() {
        use crate::ids::AccountId;
        use crate::ledger::{OperationKind, Transaction};
        use crate::money::Currency;
        let currency = Currency::parse("CNY").unwrap();
        let accounts = |account| match account {
            BuyerWallet => LedgerAccountRef::user_wallet(AccountId::from_row(1), currency),
            Escrow => LedgerAccountRef::transfer_in_flight(9, currency),
            ShopSettlement => LedgerAccountRef::merchant_settlement(3, currency),
        };
        let postings = moved(BuyerWallet, Escrow, 70).postings(accounts);
        assert_eq!(postings[0].amount(), -70);
        assert_eq!(postings[1].amount(), 70);
        assert_eq!(postings[0].account(), accounts(BuyerWallet));
        assert!(Transaction::new(OperationKind::TransferSent, postings.to_vec()).is_ok());
    }

    mod machine {
        //! Random lives of an order against a model of everything it
        //! touches: the buyer's wallet, the order's escrow, the shop's
        //! settlement and each variant's stock.

        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        struct Stock {
            available: i64,
            reserved: i64,
            sold: i64,
        }

        /// How many orders one life places; they share the buyer, the
        /// shop and the variants, so they compete for stock.
        const ORDERS: usize = 2;

        #[derive(Debug, Clone, PartialEq, Eq)]
        struct World {
            buyer: i64,
            /// Each order's own escrow.
            escrows: [i64; ORDERS],
            settlement: i64,
            stock: BTreeMap<VariantId, Stock>,
        }

        /// Why the caller's engine would refuse a transition: a rule the
        /// data enforces (never oversold, no wallet below zero), not a bug.
        #[derive(Debug)]
        struct Refused;

        impl World {
            fn balance(&mut self, slot: usize, account: OrderAccount) -> &mut i64 {
                match account {
                    OrderAccount::BuyerWallet => &mut self.buyer,
                    OrderAccount::Escrow => &mut self.escrows[slot],
                    OrderAccount::ShopSettlement => &mut self.settlement,
                }
            }

            /// Applies every effect of order `slot`'s transition or none,
            /// as one database transaction.
            fn apply(&mut self, slot: usize, transition: &Transition) -> Result<(), Refused> {
                let mut next = self.clone();
                for stock in &transition.stock {
                    let quantity = i64::from(stock.quantity);
                    let row = next.stock.get_mut(&stock.variant).expect("a known variant");
                    match stock.kind {
                        StockMoveKind::Reserve if row.available < quantity => return Err(Refused),
                        StockMoveKind::Reserve => {
                            row.available -= quantity;
                            row.reserved += quantity;
                        }
                        StockMoveKind::Release => {
                            row.reserved -= quantity;
                            row.available += quantity;
                        }
                        StockMoveKind::Sell => {
                            row.reserved -= quantity;
                            row.sold += quantity;
                        }
                    }
                    assert!(row.reserved >= 0, "released or sold more than reserved");
                }
                for money in &transition.money {
                    let from = next.balance(slot, money.from);
                    if *from < money.amount.get() {
                        // Only the buyer's wallet may be short; escrow and
                        // settlement must always hold what the order takes.
                        assert_eq!(money.from, OrderAccount::BuyerWallet, "{money:?}");
                        return Err(Refused);
                    }
                    *from -= money.amount.get();
                    *next.balance(slot, money.to) += money.amount.get();
                }
                *self = next;
                Ok(())
            }

            fn money(&self) -> i64 {
                self.buyer + self.escrows.iter().sum::<i64>() + self.settlement
            }
        }

        #[derive(Debug, Clone)]
        enum Move {
            Pay,
            Ship,
            Confirm,
            AutoConfirm,
            Cancel(Party),
            Expire,
            RequestRefund(i64),
            Approve(usize),
            Reject(usize),
        }

        impl Move {
            fn command(&self) -> OrderCommand {
                match self {
                    Move::Pay => OrderCommand::Pay,
                    Move::Ship => OrderCommand::Ship(shipment()),
                    Move::Confirm => OrderCommand::Confirm,
                    Move::AutoConfirm => OrderCommand::AutoConfirm,
                    Move::Cancel(party) => OrderCommand::Cancel(*party),
                    Move::Expire => OrderCommand::Expire,
                    Move::RequestRefund(value) => refund(*value),
                    Move::Approve(index) => OrderCommand::ApproveRefund(*index),
                    Move::Reject(index) => OrderCommand::RejectRefund(*index),
                }
            }
        }

        fn a_move() -> impl Strategy<Value = Move> {
            prop_oneof![
                8 => Just(Move::Pay),
                6 => Just(Move::Ship),
                4 => Just(Move::Confirm),
                2 => Just(Move::AutoConfirm),
                1 => prop_oneof![Just(Party::Buyer), Just(Party::Shop)].prop_map(Move::Cancel),
                1 => Just(Move::Expire),
                6 => prop_oneof![1i64..=500, 1i64..=4_000].prop_map(Move::RequestRefund),
                5 => (0usize..6).prop_map(Move::Approve),
                2 => (0usize..6).prop_map(Move::Reject),
            ]
        }

        /// How long passes before a move: moments, minutes (around
        /// `pay_by`), days (around auto-confirm and the refund window).
        fn a_pause() -> impl Strategy<Value = i64> {
            prop_oneof![
                12 => 0i64..=1_000,
                1 => 0i64..=20 * MINUTE_MS,
                2 => 0i64..=8 * DAY_MS,
                1 => 0i64..=20 * DAY_MS,
            ]
        }

        fn an_order() -> impl Strategy<Value = Vec<OrderItem>> {
            proptest::sample::subsequence(vec![1i64, 2, 3], 1..=3).prop_flat_map(|variants| {
                let lines: Vec<_> = variants
                    .into_iter()
                    .map(|variant| {
                        (1u32..=4, 1i64..=1_000)
                            .prop_map(move |(quantity, price)| item(variant, quantity, price))
                    })
                    .collect();
                lines
            })
        }

        /// Checks after every step that the model and the orders agree and
        /// that nothing was created, lost or overdrawn.
        fn check(world: &World, start: &World, orders: &[Option<Order>]) {
            assert_eq!(world.money(), start.money(), "money is conserved");
            assert!(world.buyer >= 0 && world.settlement >= 0);
            let placed = || orders.iter().flatten();
            for (slot, order) in orders.iter().enumerate() {
                let escrow = order.as_ref().map_or(0, Order::escrow_minor);
                assert!(world.escrows[slot] >= 0);
                assert_eq!(world.escrows[slot], escrow);
            }
            let kept: i64 = placed()
                .map(|order| order.released_minor - order.refunded_from_settlement_minor)
                .sum();
            assert_eq!(world.settlement, kept);
            let spent: i64 = placed()
                .map(|order| order.paid_minor() - order.refunded_minor())
                .sum();
            assert_eq!(world.buyer, start.buyer - spent);
            for order in placed() {
                assert_eq!(order.check_invariants(), vec![]);
            }
            for (variant, stock) in &world.stock {
                check_stock(*variant, *stock, start.stock[variant], orders);
            }
        }

        /// One variant's stock: conserved, never negative, and reserved
        /// and sold exactly as the orders say they hold it.
        fn check_stock(variant: VariantId, stock: Stock, before: Stock, orders: &[Option<Order>]) {
            let total = |s: Stock| s.available + s.reserved + s.sold;
            assert_eq!(
                total(stock),
                total(before),
                "stock of {variant} is conserved"
            );
            assert!(stock.available >= 0 && stock.reserved >= 0 && stock.sold >= 0);
            let (mut reserved, mut sold) = (0, 0);
            for order in orders.iter().flatten() {
                let held = order
                    .items
                    .iter()
                    .find(|item| item.variant == variant)
                    .map_or(0, |item| i64::from(item.quantity));
                match order.stock_held() {
                    Some(StockHeld::Reserved) => reserved += held,
                    Some(StockHeld::Sold) => sold += held,
                    None => {}
                }
            }
            assert_eq!((stock.reserved, stock.sold), (reserved, sold));
        }

        fn starting_world(wallet: i64, available: [i64; 3]) -> World {
            World {
                buyer: wallet,
                escrows: [0; ORDERS],
                settlement: 0,
                stock: (1..=3)
                    .map(|row| {
                        let stock = Stock {
                            available: available[row as usize - 1],
                            ..Stock::default()
                        };
                        (VariantId::from_row(row), stock)
                    })
                    .collect(),
            }
        }

        fn run(
            carts: Vec<Vec<OrderItem>>,
            wallet: i64,
            available: [i64; 3],
            moves: Vec<(i64, usize, Move)>,
        ) {
            let start = starting_world(wallet, available);
            let mut world = start.clone();
            let mut now = at(0);
            let mut orders: Vec<Option<Order>> = Vec::new();
            for (slot, items) in carts.into_iter().enumerate() {
                let placed = place(items, now, &policy()).expect("valid items");
                let before = world.clone();
                let kept = world.apply(slot, &placed).is_ok();
                if !kept {
                    assert_eq!(world, before, "a refused placing changes nothing");
                }
                orders.push(kept.then_some(placed.order));
                check(&world, &start, &orders);
            }
            for (pause, slot, next) in moves {
                now = Timestamp::from_unix_ms(now.unix_ms() + pause);
                let Some(order) = orders[slot].clone() else {
                    continue;
                };
                let before = world.clone();
                match order.apply(&next.command(), now, &policy()) {
                    Ok(transition) => {
                        assert!(order.status.may_become(transition.order.status));
                        if world.apply(slot, &transition).is_ok() {
                            orders[slot] = Some(transition.order);
                        } else {
                            assert_eq!(world, before, "a refusal changes nothing");
                        }
                    }
                    Err(_) => {
                        assert_eq!(orders[slot].as_ref(), Some(&order));
                        assert_eq!(world, before);
                    }
                }
                check(&world, &start, &orders);
            }
        }

        /// A variant's stock before the order: now and then too little.
        fn stock() -> impl Strategy<Value = i64> {
            prop_oneof![1 => 0i64..=4, 4 => 4i64..=10]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1024))]

            #[test]
            fn money_and_stock_are_conserved_on_every_path(
                carts in proptest::collection::vec(an_order(), ORDERS),
                wallet in prop_oneof![1 => 0i64..=20_000, 3 => Just(1_000_000)],
                available in [stock(), stock(), stock()],
                moves in proptest::collection::vec((a_pause(), 0..ORDERS, a_move()), 0..60),
            ) {
                run(carts, wallet, available, moves);
            }
        }
    }
}
