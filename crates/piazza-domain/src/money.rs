//! Money as the ledger sees it: whole numbers of minor units (fen, cents)
//! in a named currency. There is no float anywhere, and no arithmetic that
//! can wrap: every sum is checked and an overflow is an error.
//!
//! An [`AmountMinor`] is an amount that moves — a top-up, a transfer, a red
//! packet — so it is always positive and never absurd. Balances, which may
//! be zero or (for the gateway) negative, are plain `i64` in the ledger and
//! change only through its checked postings.

use std::fmt;

/// The largest amount one operation may move, in minor units: 10^15, that
/// is 10 trillion major units. It is far above any real payment, yet small
/// enough that 9,000 of them still fit in an `i64` (so a sum of a few never
/// comes near overflow) and below 2^53 (so the web client's JavaScript
/// numbers hold every amount exactly). Deployments cap amounts lower in
/// configuration; this constant is the bound no configuration can exceed.
pub const AMOUNT_MINOR_MAX: i64 = 1_000_000_000_000_000;

// The two reasons for the cap's size, checked when compiling.
const _: () = assert!(AMOUNT_MINOR_MAX < 1 << 53);
const _: () = assert!(AMOUNT_MINOR_MAX.checked_mul(9_000).is_some());

/// Why an amount or a currency was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("a currency is three upper-case letters (ISO 4217)")]
    InvalidCurrency,
    #[error("the amount must be positive, got {value}")]
    NotPositive { value: i64 },
    #[error("the amount {value} exceeds the maximum of {max} minor units")]
    TooLarge { value: i64, max: i64 },
    #[error("the amounts overflow")]
    Overflow,
}

impl MoneyError {
    /// The stable machine-readable reason, for problem responses.
    pub fn code(self) -> &'static str {
        match self {
            MoneyError::InvalidCurrency => "invalid_currency",
            MoneyError::NotPositive { .. } => "amount_not_positive",
            MoneyError::TooLarge { .. } => "amount_too_large",
            MoneyError::Overflow => "amount_overflow",
        }
    }
}

/// An ISO 4217 currency code such as `CNY`: exactly three ASCII upper-case
/// letters. v1 runs one currency per deployment, but every amount carries
/// its currency so that a second one needs no change to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The default currency of a deployment that does not configure one.
    pub const CNY: Currency = Currency(*b"CNY");

    /// Parses a code as written in configuration or a request. Lower case
    /// is refused rather than fixed up, so a code has one spelling only.
    pub fn parse(text: &str) -> Result<Currency, MoneyError> {
        match *text.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Currency([a, b, c])),
            _ => Err(MoneyError::InvalidCurrency),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only `parse` and the constants build a Currency, and both hold
        // ASCII letters only, so this never fails.
        std::str::from_utf8(&self.0).expect("a currency code is ASCII")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount to move, in minor units: at least 1 and at most
/// [`AMOUNT_MINOR_MAX`]. Holding one is proof of both bounds, so the ledger
/// never meets a zero, negative or absurd posting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AmountMinor(i64);

impl AmountMinor {
    /// The smallest amount there is: one minor unit.
    pub const ONE: AmountMinor = AmountMinor(1);
    /// The largest amount one operation may move.
    pub const MAX: AmountMinor = AmountMinor(AMOUNT_MINOR_MAX);

    /// Parses an amount from outside (a request, a stored row): refuses
    /// zero, negatives and anything over [`AMOUNT_MINOR_MAX`].
    pub fn positive(value: i64) -> Result<AmountMinor, MoneyError> {
        if value <= 0 {
            return Err(MoneyError::NotPositive { value });
        }
        if value > AMOUNT_MINOR_MAX {
            return Err(MoneyError::TooLarge {
                value,
                max: AMOUNT_MINOR_MAX,
            });
        }
        Ok(AmountMinor(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// The sum, if it is still a valid amount. Both bounds keep the sum far
    /// from `i64::MAX`, but the addition is checked all the same.
    pub fn checked_add(self, other: AmountMinor) -> Result<AmountMinor, MoneyError> {
        let sum = self.0.checked_add(other.0).ok_or(MoneyError::Overflow)?;
        AmountMinor::positive(sum)
    }

    /// The difference, if something positive is left; taking all or more
    /// than there is is an error, never a negative amount.
    pub fn checked_sub(self, other: AmountMinor) -> Result<AmountMinor, MoneyError> {
        let difference = self.0.checked_sub(other.0).ok_or(MoneyError::Overflow)?;
        AmountMinor::positive(difference)
    }
}

impl fmt::Display for AmountMinor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An amount together with its currency, the form in which money travels
/// between operations. Both parts are already valid, so any pair is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub amount: AmountMinor,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: AmountMinor, currency: Currency) -> Money {
        Money { amount, currency }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} (minor units)", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amount_boundaries() {
        assert_eq!(
            AmountMinor::positive(0),
            Err(MoneyError::NotPositive { value: 0 })
        );
        assert_eq!(
            AmountMinor::positive(-1),
            Err(MoneyError::NotPositive { value: -1 })
        );
        assert!(matches!(
            AmountMinor::positive(i64::MIN),
            Err(MoneyError::NotPositive { .. })
        ));
        assert_eq!(AmountMinor::positive(1), Ok(AmountMinor::ONE));
        assert_eq!(
            AmountMinor::positive(AMOUNT_MINOR_MAX),
            Ok(AmountMinor::MAX)
        );
        assert!(matches!(
            AmountMinor::positive(AMOUNT_MINOR_MAX + 1),
            Err(MoneyError::TooLarge { .. })
        ));
        assert!(matches!(
            AmountMinor::positive(i64::MAX),
            Err(MoneyError::TooLarge { .. })
        ));
    }

    #[test]
    fn arithmetic_at_the_edges() {
        let max = AmountMinor::MAX;
        let one = AmountMinor::ONE;
        assert!(matches!(
            max.checked_add(one),
            Err(MoneyError::TooLarge { .. })
        ));
        assert_eq!(
            one.checked_sub(one),
            Err(MoneyError::NotPositive { value: 0 })
        );
        assert_eq!(
            one.checked_sub(max),
            Err(MoneyError::NotPositive {
                value: 1 - AMOUNT_MINOR_MAX
            })
        );
        assert_eq!(max.checked_sub(one).unwrap().get(), AMOUNT_MINOR_MAX - 1);
        assert_eq!(one.checked_add(one).unwrap().get(), 2);
    }

    #[test]
    fn currency_parsing() {
        assert_eq!(Currency::parse("CNY"), Ok(Currency::CNY));
        assert_eq!(Currency::parse("EUR").unwrap().to_string(), "EUR");
        for bad in ["", "CN", "CNYY", "cny", "Cny", "C1Y", "C Y", "ÄBC", "€"] {
            assert_eq!(
                Currency::parse(bad),
                Err(MoneyError::InvalidCurrency),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn add_then_sub_round_trips(a in 1..=AMOUNT_MINOR_MAX, b in 1..=AMOUNT_MINOR_MAX) {
            let a = AmountMinor::positive(a).unwrap();
            let b = AmountMinor::positive(b).unwrap();
            match a.checked_add(b) {
                Ok(sum) => {
                    prop_assert_eq!(sum.get(), a.get() + b.get());
                    prop_assert_eq!(sum.checked_sub(b), Ok(a));
                    prop_assert_eq!(sum.checked_sub(a), Ok(b));
                }
                Err(error) => {
                    prop_assert!(a.get() + b.get() > AMOUNT_MINOR_MAX);
                    prop_assert!(matches!(error, MoneyError::TooLarge { .. }), "{:?}", error);
                }
            }
        }

        #[test]
        fn sub_is_defined_exactly_when_something_is_left(a in 1..=AMOUNT_MINOR_MAX, b in 1..=AMOUNT_MINOR_MAX) {
            let difference = AmountMinor::positive(a).unwrap().checked_sub(AmountMinor::positive(b).unwrap());
            prop_assert_eq!(difference.is_ok(), a > b);
            if let Ok(difference) = difference {
                prop_assert_eq!(difference.get(), a - b);
            }
        }

        #[test]
        fn parsing_any_integer_never_panics_and_keeps_the_bounds(value in any::<i64>()) {
            match AmountMinor::positive(value) {
                Ok(amount) => prop_assert!((1..=AMOUNT_MINOR_MAX).contains(&amount.get())),
                Err(_) => prop_assert!(!(1..=AMOUNT_MINOR_MAX).contains(&value)),
            }
        }

        #[test]
        fn currency_parse_never_panics(text in "\\PC{0,6}") {
            if let Ok(currency) = Currency::parse(&text) {
                prop_assert_eq!(currency.as_str(), text.as_str());
            }
        }
    }
}
