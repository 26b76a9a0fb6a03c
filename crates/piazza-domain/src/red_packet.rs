//! How a red packet's total is split into shares.
//!
//! "Equal" packets split evenly, so the total must be a multiple of the
//! count. "Lucky" packets draw each share only when it is claimed (as
//! WeChat does), uniformly in
//! `[1, min(2 × remaining ÷ remaining_count, remaining − (remaining_count − 1))]`,
//! and the last claimer takes the rest. The upper bound keeps the expected
//! share at the fair average while leaving at least one minor unit for
//! every claimer still to come, so no one ever gets zero and the shares
//! always add up to the total exactly.
//!
//! The pot ([`RedPacketPot`]) is the state the store keeps per packet: what
//! is left and how many shares are left. The randomness comes in as a
//! parameter so that tests can seed it.

use std::fmt;

use rand::Rng;

use crate::money::AmountMinor;

/// The most shares one red packet may be split into.
pub const RED_PACKET_SHARES_MAX: u32 = 100;

/// How a packet's total is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SplitMode {
    /// Each share drawn at random when it is claimed.
    Lucky,
    /// Every share the same.
    Equal,
}

impl SplitMode {
    /// Parses the API's `mode`: `"lucky"` or `"equal"`.
    pub fn parse(text: &str) -> Result<SplitMode, RedPacketError> {
        match text {
            "lucky" => Ok(SplitMode::Lucky),
            "equal" => Ok(SplitMode::Equal),
            _ => Err(RedPacketError::InvalidMode),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SplitMode::Lucky => "lucky",
            SplitMode::Equal => "equal",
        }
    }
}

impl fmt::Display for SplitMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many shares a packet has: 1 to [`RED_PACKET_SHARES_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShareCount(u32);

impl ShareCount {
    pub fn parse(count: u32) -> Result<ShareCount, RedPacketError> {
        if (1..=RED_PACKET_SHARES_MAX).contains(&count) {
            Ok(ShareCount(count))
        } else {
            Err(RedPacketError::InvalidShareCount { count })
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Why a packet could not be made or claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedPacketError {
    #[error("the mode is \"lucky\" or \"equal\"")]
    InvalidMode,
    #[error("a red packet has 1 to {RED_PACKET_SHARES_MAX} shares, not {count}")]
    InvalidShareCount { count: u32 },
    #[error(
        "an equal split needs a total that is a multiple of the count: {total} is not a multiple of {count}"
    )]
    TotalNotAMultiple { total: i64, count: u32 },
    #[error("{total} minor units cannot give each of {count} shares at least one")]
    TotalBelowCount { total: i64, count: u32 },
    #[error("the red packet has no shares left")]
    Empty,
    #[error("a stored red packet is inconsistent: {remaining} left for {remaining_shares} shares")]
    InconsistentState {
        remaining: i64,
        remaining_shares: u32,
    },
}

impl RedPacketError {
    /// The stable machine-readable reason, for problem responses.
    pub fn code(self) -> &'static str {
        match self {
            RedPacketError::InvalidMode => "invalid_red_packet_mode",
            RedPacketError::InvalidShareCount { .. } => "invalid_red_packet_count",
            RedPacketError::TotalNotAMultiple { .. } => "red_packet_total_not_multiple",
            RedPacketError::TotalBelowCount { .. } => "red_packet_total_below_count",
            RedPacketError::Empty => "red_packet_empty",
            RedPacketError::InconsistentState { .. } => "red_packet_inconsistent",
        }
    }
}

/// What is left of one packet: the money and the number of shares. Its
/// invariants, checked by both constructors and kept by [`claim`]:
/// the money left is at least the shares left (one minor unit each), it is
/// zero exactly when no shares are left, and for an equal packet it is a
/// multiple of the shares left.
///
/// [`claim`]: RedPacketPot::claim
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedPacketPot {
    mode: SplitMode,
    remaining: i64,
    remaining_shares: u32,
}

impl RedPacketPot {
    /// A new packet of `total` split into `count` shares.
    pub fn new(
        mode: SplitMode,
        total: AmountMinor,
        count: ShareCount,
    ) -> Result<RedPacketPot, RedPacketError> {
        let total_minor = total.get();
        let count = count.get();
        if total_minor < i64::from(count) {
            return Err(RedPacketError::TotalBelowCount {
                total: total_minor,
                count,
            });
        }
        if mode == SplitMode::Equal && total_minor % i64::from(count) != 0 {
            return Err(RedPacketError::TotalNotAMultiple {
                total: total_minor,
                count,
            });
        }
        Ok(RedPacketPot {
            mode,
            remaining: total_minor,
            remaining_shares: count,
        })
    }

    /// Rebuilds a pot from what the store kept, checking the invariants so
    /// that damaged data is refused rather than paid out.
    pub fn resume(
        mode: SplitMode,
        remaining: i64,
        remaining_shares: u32,
    ) -> Result<RedPacketPot, RedPacketError> {
        let inconsistent = RedPacketError::InconsistentState {
            remaining,
            remaining_shares,
        };
        if remaining_shares == 0 {
            return if remaining == 0 {
                Ok(RedPacketPot {
                    mode,
                    remaining,
                    remaining_shares,
                })
            } else {
                Err(inconsistent)
            };
        }
        let total = AmountMinor::positive(remaining).map_err(|_| inconsistent)?;
        let count = ShareCount::parse(remaining_shares).map_err(|_| inconsistent)?;
        RedPacketPot::new(mode, total, count).map_err(|_| inconsistent)
    }

    pub fn mode(&self) -> SplitMode {
        self.mode
    }

    /// Minor units not yet claimed; what a refund returns at expiry.
    pub fn remaining_minor(&self) -> i64 {
        self.remaining
    }

    pub fn remaining_shares(&self) -> u32 {
        self.remaining_shares
    }

    pub fn is_empty(&self) -> bool {
        self.remaining_shares == 0
    }

    /// Takes the next share out of the pot. On an empty pot it fails and
    /// changes nothing.
    pub fn claim(&mut self, rng: &mut impl Rng) -> Result<AmountMinor, RedPacketError> {
        if self.is_empty() {
            return Err(RedPacketError::Empty);
        }
        // The invariants make both conversions succeed; a failure would be
        // reported as the inconsistency it is rather than a panic.
        let inconsistent = RedPacketError::InconsistentState {
            remaining: self.remaining,
            remaining_shares: self.remaining_shares,
        };
        let remaining = AmountMinor::positive(self.remaining).map_err(|_| inconsistent)?;
        let shares = ShareCount::parse(self.remaining_shares).map_err(|_| inconsistent)?;
        let share = match self.mode {
            SplitMode::Lucky => draw(remaining, shares, rng)?,
            SplitMode::Equal => AmountMinor::positive(self.remaining / i64::from(shares.get()))
                .map_err(|_| inconsistent)?,
        };
        self.remaining -= share.get();
        self.remaining_shares -= 1;
        Ok(share)
    }
}

/// Draws one lucky share: the rest if this is the last share, otherwise
/// uniformly in `[1, min(2 × remaining ÷ remaining_shares, remaining −
/// (remaining_shares − 1))]` with integer division. Fails only if
/// `remaining` cannot give every share one minor unit.
pub fn draw(
    remaining: AmountMinor,
    remaining_shares: ShareCount,
    rng: &mut impl Rng,
) -> Result<AmountMinor, RedPacketError> {
    if remaining_shares.get() == 1 {
        return Ok(remaining);
    }
    let remaining = remaining.get();
    let shares = i64::from(remaining_shares.get());
    if remaining < shares {
        return Err(RedPacketError::TotalBelowCount {
            total: remaining,
            count: remaining_shares.get(),
        });
    }
    let twice_the_average = remaining
        .checked_mul(2)
        .expect("an AmountMinor is at most 10^15, so doubling it cannot overflow")
        / shares;
    let enough_for_the_others = remaining - (shares - 1);
    let upper = twice_the_average.min(enough_for_the_others);
    // upper ≥ 1: with remaining ≥ shares ≥ 2 the average doubled is at
    // least 2, and enough_for_the_others is at least 1.
    let share = rng.random_range(1..=upper);
    Ok(AmountMinor::positive(share)
        .expect("a share is drawn from 1 upwards and bounded by the total"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::AMOUNT_MINOR_MAX;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn amount(value: i64) -> AmountMinor {
        AmountMinor::positive(value).unwrap()
    }

    fn count(value: u32) -> ShareCount {
        ShareCount::parse(value).unwrap()
    }

    fn claim_all(mut pot: RedPacketPot, seed: u64) -> Vec<i64> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut shares = Vec::new();
        while !pot.is_empty() {
            shares.push(pot.claim(&mut rng).unwrap().get());
        }
        assert_eq!(pot.claim(&mut rng), Err(RedPacketError::Empty));
        assert_eq!(pot.remaining_minor(), 0);
        shares
    }

    #[test]
    fn parsing_mode_and_count() {
        assert_eq!(SplitMode::parse("lucky"), Ok(SplitMode::Lucky));
        assert_eq!(SplitMode::parse("equal"), Ok(SplitMode::Equal));
        for bad in ["", "Lucky", "EQUAL", "random"] {
            assert_eq!(SplitMode::parse(bad), Err(RedPacketError::InvalidMode));
        }
        assert!(ShareCount::parse(0).is_err());
        assert_eq!(ShareCount::parse(1).unwrap().get(), 1);
        assert_eq!(ShareCount::parse(100).unwrap().get(), 100);
        assert_eq!(
            ShareCount::parse(101),
            Err(RedPacketError::InvalidShareCount { count: 101 })
        );
        assert!(ShareCount::parse(u32::MAX).is_err());
    }

    #[test]
    fn equal_packets_need_a_multiple() {
        assert_eq!(
            RedPacketPot::new(SplitMode::Equal, amount(10), count(3)),
            Err(RedPacketError::TotalNotAMultiple {
                total: 10,
                count: 3
            })
        );
        let pot = RedPacketPot::new(SplitMode::Equal, amount(12), count(3)).unwrap();
        assert_eq!(claim_all(pot, 1), vec![4, 4, 4]);
    }

    #[test]
    fn everyone_gets_at_least_one_minor_unit() {
        for mode in [SplitMode::Lucky, SplitMode::Equal] {
            assert_eq!(
                RedPacketPot::new(mode, amount(2), count(3)),
                Err(RedPacketError::TotalBelowCount { total: 2, count: 3 })
            );
        }
        let pot = RedPacketPot::new(SplitMode::Lucky, amount(3), count(3)).unwrap();
        assert_eq!(claim_all(pot, 7), vec![1, 1, 1]);
    }

    #[test]
    fn the_last_claimer_takes_the_rest() {
        let mut rng = StdRng::seed_from_u64(3);
        assert_eq!(draw(amount(977), count(1), &mut rng), Ok(amount(977)));
        let mut pot = RedPacketPot::new(SplitMode::Lucky, amount(1000), count(2)).unwrap();
        let first = pot.claim(&mut rng).unwrap().get();
        assert!((1..=999).contains(&first));
        assert_eq!(pot.claim(&mut rng).unwrap().get(), 1000 - first);
    }

    #[test]
    fn draws_stay_within_the_bounds_and_average_out_fairly() {
        let mut rng = StdRng::seed_from_u64(42);
        let draws = 20_000;
        let mut sum = 0;
        for _ in 0..draws {
            let share = draw(amount(10_000), count(10), &mut rng).unwrap().get();
            assert!((1..=2_000).contains(&share));
            sum += share;
        }
        let mean = sum / draws;
        assert!((950..=1_050).contains(&mean), "mean {mean}");
        // Near the floor, the cap of remaining − (count − 1) is what binds.
        for _ in 0..1_000 {
            let share = draw(amount(12), count(10), &mut rng).unwrap().get();
            assert!((1..=2).contains(&share));
        }
    }

    #[test]
    fn resume_refuses_inconsistent_state() {
        assert!(
            RedPacketPot::resume(SplitMode::Lucky, 0, 0)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            RedPacketPot::resume(SplitMode::Lucky, 5, 0),
            Err(RedPacketError::InconsistentState {
                remaining: 5,
                remaining_shares: 0
            })
        );
        assert!(RedPacketPot::resume(SplitMode::Lucky, 0, 1).is_err());
        assert!(RedPacketPot::resume(SplitMode::Lucky, -3, 1).is_err());
        assert!(RedPacketPot::resume(SplitMode::Lucky, 2, 3).is_err());
        assert!(RedPacketPot::resume(SplitMode::Equal, 10, 3).is_err());
        let pot = RedPacketPot::resume(SplitMode::Equal, 9, 3).unwrap();
        assert_eq!(claim_all(pot, 0), vec![3, 3, 3]);
    }

    fn lucky_packet() -> impl Strategy<Value = (i64, u32)> {
        (1..=RED_PACKET_SHARES_MAX).prop_flat_map(|count| {
            let total = prop_oneof![
                i64::from(count)..=i64::from(count) + 1_000,
                i64::from(count)..=AMOUNT_MINOR_MAX,
            ];
            (total, Just(count))
        })
    }

    proptest! {
        #[test]
        fn lucky_shares_are_positive_exact_and_counted((total, shares) in lucky_packet(), seed in any::<u64>()) {
            let pot = RedPacketPot::new(SplitMode::Lucky, amount(total), count(shares)).unwrap();
            let claimed = claim_all(pot, seed);
            prop_assert_eq!(claimed.len(), shares as usize);
            prop_assert!(claimed.iter().all(|&share| share >= 1));
            prop_assert_eq!(claimed.iter().sum::<i64>(), total);
        }

        #[test]
        fn each_lucky_draw_leaves_enough_for_the_rest((total, shares) in lucky_packet(), seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut pot = RedPacketPot::new(SplitMode::Lucky, amount(total), count(shares)).unwrap();
            while !pot.is_empty() {
                let remaining = pot.remaining_minor();
                let left = i64::from(pot.remaining_shares());
                let share = pot.claim(&mut rng).unwrap().get();
                if left > 1 {
                    prop_assert!(share <= (2 * remaining / left).min(remaining - (left - 1)));
                } else {
                    prop_assert_eq!(share, remaining);
                }
                prop_assert!(pot.remaining_minor() >= i64::from(pot.remaining_shares()));
            }
        }

        #[test]
        fn equal_shares_are_all_the_same(share in 1i64..=10_000_000, shares in 1..=RED_PACKET_SHARES_MAX, seed in any::<u64>()) {
            let total = share * i64::from(shares);
            let pot = RedPacketPot::new(SplitMode::Equal, amount(total), count(shares)).unwrap();
            prop_assert_eq!(claim_all(pot, seed), vec![share; shares as usize]);
        }

        #[test]
        fn claiming_through_the_ledger_empties_the_escrow_exactly(
            (total, shares) in lucky_packet(),
            seed in any::<u64>(),
        ) {
            use crate::ids::AccountId;
            use crate::ledger::{self, Balances, LedgerAccountRef, Transaction};
            use crate::money::{Currency, Money};

            let sender = AccountId::from_row(1);
            let packet_row = 5;
            let escrow = LedgerAccountRef::red_packet_escrow(packet_row, Currency::CNY);
            let mut balances = Balances::new();
            let total_money = Money::new(amount(total), Currency::CNY);
            ledger::apply(&mut balances, &Transaction::top_up(sender, total_money)).unwrap();
            ledger::apply(&mut balances, &Transaction::red_packet_create(sender, packet_row, total_money)).unwrap();

            let mut rng = StdRng::seed_from_u64(seed);
            let mut pot = RedPacketPot::new(SplitMode::Lucky, amount(total), count(shares)).unwrap();
            let mut claimer_row = 1;
            while !pot.is_empty() {
                let share = Money::new(pot.claim(&mut rng).unwrap(), Currency::CNY);
                let claim = Transaction::red_packet_claim(AccountId::from_row(claimer_row), packet_row, share);
                prop_assert!(ledger::apply(&mut balances, &claim).is_ok());
                prop_assert_eq!(balances[&escrow], pot.remaining_minor());
                claimer_row += 1;
            }
            prop_assert_eq!(balances[&escrow], 0);
            prop_assert!(ledger::invariant_violations(&balances).is_empty());
        }

        #[test]
        fn making_a_packet_never_panics(total in 1..=AMOUNT_MINOR_MAX, shares in 1..=RED_PACKET_SHARES_MAX, lucky in any::<bool>()) {
            let mode = if lucky { SplitMode::Lucky } else { SplitMode::Equal };
            let made = RedPacketPot::new(mode, amount(total), count(shares));
            let fits = total >= i64::from(shares)
                && (mode == SplitMode::Lucky || total % i64::from(shares) == 0);
            prop_assert_eq!(made.is_ok(), fits);
        }
    }
}
