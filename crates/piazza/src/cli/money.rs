//! Amounts as people type and read them ("12.34"), turned exactly into the
//! minor units the API speaks (1234) and back: by splitting the text at the
//! point, never through a float, which would turn 0.29 into 28 fen.

use anyhow::{anyhow, bail};
use piazza_domain::money::AMOUNT_MINOR_MAX;

/// The longest amount text accepted: more digits than any valid amount.
const AMOUNT_CHARS_MAX: usize = 32;

/// The digits after the point in a currency's major unit (ISO 4217's
/// "minor unit"), for the currencies Piazza deployments run in. An unknown
/// currency is refused rather than guessed: a wrong guess moves 100 times
/// the money.
pub fn minor_digits(currency: &str) -> anyhow::Result<u32> {
    match currency {
        "CNY" | "USD" | "EUR" | "HKD" | "SGD" | "GBP" => Ok(2),
        "JPY" | "KRW" => Ok(0),
        other => bail!(
            "the server's currency {other} is unknown to this CLI, so amounts cannot be \
             converted safely; update the CLI"
        ),
    }
}

/// An amount as typed, checked for its shape but not yet scaled, since
/// the number of decimals allowed depends on the server's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedAmount {
    text: String,
    whole: String,
    fraction: String,
}

impl TypedAmount {
    /// Digits, optionally a point and more digits: "12", "12.5", "0.01".
    /// Signs, exponents, separators and words are refused with a message
    /// that says what is expected.
    pub fn parse(text: &str) -> anyhow::Result<TypedAmount> {
        let expected = || {
            anyhow!(
                "`{text}` is not an amount: write a positive number in major units \
                 such as 12 or 12.34"
            )
        };
        if text.starts_with('-') {
            bail!("`{text}` is not an amount: amounts are positive");
        }
        if text.is_empty() || text.len() > AMOUNT_CHARS_MAX {
            return Err(expected());
        }
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        if whole.is_empty()
            || !digits(whole)
            || !digits(fraction)
            || (text.contains('.') && fraction.is_empty())
        {
            return Err(expected());
        }
        Ok(TypedAmount {
            text: text.to_owned(),
            whole: whole.to_owned(),
            fraction: fraction.to_owned(),
        })
    }

    /// The amount in minor units of a currency with `digits` decimals:
    /// refuses more decimals than that, zero, and amounts past the cap.
    pub fn to_minor(&self, digits: u32) -> anyhow::Result<i64> {
        let text = &self.text;
        if self.fraction.len() > digits as usize {
            if digits == 0 {
                bail!("`{text}` has decimals, but this currency has no minor unit");
            }
            bail!("`{text}` has too many decimals: this currency has at most {digits}");
        }
        let too_large = || anyhow!("`{text}` is more than one payment may move");
        let scale = 10_i64.checked_pow(digits).ok_or_else(too_large)?;
        let whole: i64 = self.whole.parse().map_err(|_| too_large())?;
        let fraction: i64 = if self.fraction.is_empty() {
            0
        } else {
            let padding = 10_i64.pow(digits - self.fraction.len() as u32);
            let fraction: i64 = self.fraction.parse().map_err(|_| too_large())?;
            fraction * padding
        };
        let minor = whole
            .checked_mul(scale)
            .and_then(|minor| minor.checked_add(fraction))
            .ok_or_else(too_large)?;
        if minor == 0 {
            bail!("`{text}` is zero: amounts are positive");
        }
        if minor > AMOUNT_MINOR_MAX {
            return Err(too_large());
        }
        Ok(minor)
    }
}

/// Minor units as major units with the currency's decimals: 1234 with 2
/// digits is "12.34", -5 is "-0.05". Balances may be any `i64`, so the
/// arithmetic is done on the magnitude as `u64`.
pub fn format_minor(minor: i64, digits: u32) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    if digits == 0 {
        return format!("{sign}{magnitude}");
    }
    let scale = 10_u64.pow(digits);
    format!(
        "{sign}{}.{:0width$}",
        magnitude / scale,
        magnitude % scale,
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minor(text: &str) -> anyhow::Result<i64> {
        TypedAmount::parse(text)?.to_minor(2)
    }

    #[test]
    fn decimal_text_becomes_exact_minor_units() {
        assert_eq!(minor("12.34").unwrap(), 1234);
        assert_eq!(minor("12.3").unwrap(), 1230);
        assert_eq!(minor("12").unwrap(), 1200);
        assert_eq!(minor("0.01").unwrap(), 1);
        // A float would make 0.29 * 100 = 28.999….
        assert_eq!(minor("0.29").unwrap(), 29);
        assert_eq!(minor("007.10").unwrap(), 710);
        assert_eq!(TypedAmount::parse("5").unwrap().to_minor(0).unwrap(), 5);
    }

    #[test]
    fn bad_amounts_are_refused_with_a_reason() {
        let message = |text: &str| minor(text).unwrap_err().to_string();
        assert!(message("1.234").contains("too many decimals"));
        assert!(message("-5").contains("positive"));
        assert!(message("abc").contains("not an amount"));
        assert!(message("0").contains("zero"));
        assert!(message("0.00").contains("zero"));
        for bad in ["", "1.", ".5", "1e3", "+1", "1,5", " 1", "1.2.3", "١"] {
            assert!(minor(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(message("99999999999999999999").contains("more than"));
        assert!(message("10000000000000.01").contains("more than"));
        assert_eq!(minor("10000000000000").unwrap(), AMOUNT_MINOR_MAX);
        let no_minor = TypedAmount::parse("1.5").unwrap().to_minor(0);
        assert!(no_minor.unwrap_err().to_string().contains("no minor unit"));
    }

    #[test]
    fn minor_units_are_shown_in_major_units() {
        assert_eq!(format_minor(1234, 2), "12.34");
        assert_eq!(format_minor(5, 2), "0.05");
        assert_eq!(format_minor(0, 2), "0.00");
        assert_eq!(format_minor(-5, 2), "-0.05");
        assert_eq!(format_minor(1234, 0), "1234");
        assert_eq!(format_minor(i64::MIN, 2), "-92233720368547758.08");
    }

    #[test]
    fn formatting_and_parsing_agree() {
        for value in [1, 9, 10, 99, 100, 101, 123_456, AMOUNT_MINOR_MAX] {
            assert_eq!(minor(&format_minor(value, 2)).unwrap(), value);
        }
    }

    #[test]
    fn only_known_currencies_have_digits() {
        assert_eq!(minor_digits("CNY").unwrap(), 2);
        assert_eq!(minor_digits("JPY").unwrap(), 0);
        assert!(minor_digits("XYZ").is_err());
    }
}
