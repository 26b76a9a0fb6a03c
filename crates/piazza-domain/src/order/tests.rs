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
