//! EMVCo merchant-presented QR payloads, built and parsed with no I/O.
//!
//! A payload is a run of TLV fields — a two-digit tag, a two-digit length
//! and that many characters of value — ending in tag 63, a CRC-16/CCITT-FALSE
//! over everything before its value (including "6304"), as four upper-case
//! hex digits. Piazza writes:
//!
//! | tag | value |
//! |---|---|
//! | 00 | payload format indicator, "01" |
//! | 01 | point of initiation: "11" static (no amount), "12" dynamic |
//! | 26 | merchant account template: sub-tag 00 "piazza", 01 the merchant id |
//! | 52 | merchant category code, "0000" |
//! | 53 | currency, ISO 4217 numeric ("156" for CNY) |
//! | 54 | amount in major units ("12.34"), dynamic codes only |
//! | 58 | country, "CN" |
//! | 59 | merchant name, 1–25 characters |
//! | 60 | merchant city, up to 15 characters (omitted when empty) |
//! | 63 | CRC |
//!
//! Parsing checks the CRC first and refuses anything malformed; it never
//! panics, whatever the input.

use std::fmt::Write as _;

use crate::money::{AMOUNT_MINOR_MAX, Currency};

/// The GUID in the merchant account template that marks a Piazza merchant.
pub const PIAZZA_GUID: &str = "piazza";
/// The merchant account template tag Piazza uses.
const MERCHANT_TEMPLATE_TAG: &str = "26";
/// The longest merchant name EMVCo allows, in characters.
pub const NAME_CHARS_MAX: usize = 25;
/// The longest merchant city EMVCo allows, in characters.
pub const CITY_CHARS_MAX: usize = 15;
/// The longest payload EMVCo allows, in characters.
pub const PAYLOAD_CHARS_MAX: usize = 512;
/// The longest amount field (tag 54), in characters.
const AMOUNT_CHARS_MAX: usize = 13;

/// Why a payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("the payload is not well-formed TLV")]
    Malformed,
    #[error("the payload's CRC does not match")]
    BadCrc,
    #[error("the payload lacks field {0}")]
    Missing(&'static str),
    #[error("field {0} is invalid")]
    Invalid(&'static str),
    #[error("the payload is not for a Piazza merchant")]
    NotPiazza,
    #[error("the currency is not supported")]
    UnknownCurrency,
}

/// What a merchant-presented code says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantQr {
    /// The merchant's id as Piazza prints it.
    pub merchant_id: String,
    pub name: String,
    /// Empty when the merchant gave none.
    pub city: String,
    pub currency: Currency,
    /// `Some` for a dynamic code (point of initiation "12").
    pub amount_minor: Option<i64>,
}

/// ISO 4217 numeric code and minor-unit digits of the currencies Piazza
/// knows how to put in a code.
fn numeric(currency: Currency) -> Option<(&'static str, u32)> {
    match currency.as_str() {
        "CNY" => Some(("156", 2)),
        "USD" => Some(("840", 2)),
        "EUR" => Some(("978", 2)),
        "HKD" => Some(("344", 2)),
        "SGD" => Some(("702", 2)),
        "GBP" => Some(("826", 2)),
        "JPY" => Some(("392", 0)),
        _ => None,
    }
}

fn from_numeric(code: &str) -> Option<(Currency, u32)> {
    ["CNY", "USD", "EUR", "HKD", "SGD", "GBP", "JPY"]
        .into_iter()
        .filter_map(|alpha| Currency::parse(alpha).ok())
        .find_map(|currency| {
            numeric(currency)
                .filter(|(number, _)| *number == code)
                .map(|(_, digits)| (currency, digits))
        })
}

/// CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no
/// reflection, no final XOR.
pub fn crc16_ccitt_false(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn field(out: &mut String, tag: &str, value: &str) -> Result<(), QrError> {
    let length = value.chars().count();
    if length == 0 || length > 99 {
        return Err(QrError::Invalid(static_tag(tag)));
    }
    // Writing to a String cannot fail.
    let _ = write!(out, "{tag}{length:02}{value}");
    Ok(())
}

fn static_tag(tag: &str) -> &'static str {
    match tag {
        "00" => "00",
        "01" => "01",
        "26" => "26",
        "52" => "52",
        "53" => "53",
        "54" => "54",
        "58" => "58",
        "59" => "59",
        "60" => "60",
        "63" => "63",
        _ => "??",
    }
}

/// Checks a merchant name: 1–25 characters, no control characters.
pub fn valid_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=NAME_CHARS_MAX).contains(&count)
        && !name.trim().is_empty()
        && !name.chars().any(char::is_control)
}

/// Checks a merchant city: at most 15 characters, no control characters.
pub fn valid_city(city: &str) -> bool {
    city.chars().count() <= CITY_CHARS_MAX && !city.chars().any(char::is_control)
}

/// "1234" minor units with 2 digits → "12.34"; with 0 digits → "1234".
fn format_amount(minor: i64, digits: u32) -> String {
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10_i64.pow(digits);
    format!(
        "{}.{:0width$}",
        minor / scale,
        minor % scale,
        width = digits as usize
    )
}

/// The inverse of [`format_amount`]; also takes fewer decimals ("12.5",
/// "12"). Refuses zero, signs, exponents, more decimals than the currency
/// has, and an amount whose full form [`build`] could not write.
fn parse_amount(text: &str, digits: u32) -> Option<i64> {
    if text.is_empty() || text.len() > AMOUNT_CHARS_MAX {
        return None;
    }
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > digits as usize
        || (text.contains('.') && fraction.is_empty())
    {
        return None;
    }
    let scale = 10_i64.checked_pow(digits)?;
    let whole: i64 = whole.parse().ok()?;
    let mut padded = fraction.to_owned();
    while padded.len() < digits as usize {
        padded.push('0');
    }
    let fraction: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().ok()?
    };
    let minor = whole.checked_mul(scale)?.checked_add(fraction)?;
    let writable = format_amount(minor, digits).len() <= AMOUNT_CHARS_MAX;
    (minor > 0 && minor <= AMOUNT_MINOR_MAX && writable).then_some(minor)
}

/// Builds the payload for `qr`. Refuses a name, city, id or amount that
/// EMVCo (or Piazza) would not accept.
pub fn build(qr: &MerchantQr) -> Result<String, QrError> {
    if !valid_name(&qr.name) {
        return Err(QrError::Invalid("59"));
    }
    if !valid_city(&qr.city) {
        return Err(QrError::Invalid("60"));
    }
    let (currency, digits) = numeric(qr.currency).ok_or(QrError::UnknownCurrency)?;
    let mut template = String::new();
    field(&mut template, "00", PIAZZA_GUID)?;
    field(&mut template, "01", &qr.merchant_id)?;
    let mut out = String::new();
    field(&mut out, "00", "01")?;
    field(
        &mut out,
        "01",
        if qr.amount_minor.is_some() {
            "12"
        } else {
            "11"
        },
    )?;
    field(&mut out, MERCHANT_TEMPLATE_TAG, &template)?;
    field(&mut out, "52", "0000")?;
    field(&mut out, "53", currency)?;
    if let Some(minor) = qr.amount_minor {
        if minor <= 0 || minor > AMOUNT_MINOR_MAX {
            return Err(QrError::Invalid("54"));
        }
        let amount = format_amount(minor, digits);
        if amount.len() > AMOUNT_CHARS_MAX {
            return Err(QrError::Invalid("54"));
        }
        field(&mut out, "54", &amount)?;
    }
    field(&mut out, "58", "CN")?;
    field(&mut out, "59", &qr.name)?;
    if !qr.city.is_empty() {
        field(&mut out, "60", &qr.city)?;
    }
    out.push_str("6304");
    let crc = crc16_ccitt_false(out.as_bytes());
    let _ = write!(out, "{crc:04X}");
    Ok(out)
}

/// Splits `text` into (tag, value) pairs; lengths count characters.
fn tlv(text: &str) -> Result<Vec<(&str, &str)>, QrError> {
    let mut fields = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let header = rest.get(..4).ok_or(QrError::Malformed)?;
        if !header.bytes().all(|b| b.is_ascii_digit()) {
            return Err(QrError::Malformed);
        }
        let tag = &header[..2];
        let length: usize = header[2..].parse().map_err(|_| QrError::Malformed)?;
        // EMVCo lengths are 01–99: an empty field is no field.
        if length == 0 {
            return Err(QrError::Malformed);
        }
        let body = &rest[4..];
        let end = body
            .char_indices()
            .map(|(index, _)| index)
            .chain(std::iter::once(body.len()))
            .nth(length)
            .ok_or(QrError::Malformed)?;
        fields.push((tag, &body[..end]));
        rest = &body[end..];
    }
    Ok(fields)
}

/// Parses and verifies a payload. The CRC is checked before anything else.
pub fn parse(payload: &str) -> Result<MerchantQr, QrError> {
    if payload.is_empty() || payload.chars().count() > PAYLOAD_CHARS_MAX {
        return Err(QrError::Malformed);
    }
    // The CRC field is the last 8 bytes: "6304" and 4 hex digits.
    let split = payload
        .len()
        .checked_sub(4)
        .filter(|at| payload.is_char_boundary(*at))
        .ok_or(QrError::Malformed)?;
    let (covered, crc_text) = payload.split_at(split);
    if !covered.ends_with("6304") || !crc_text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(QrError::Malformed);
    }
    let stated = u16::from_str_radix(crc_text, 16).map_err(|_| QrError::Malformed)?;
    if stated != crc16_ccitt_false(covered.as_bytes()) {
        return Err(QrError::BadCrc);
    }
    let fields = tlv(payload)?;
    // The CRC must be the last field and appear once.
    let crc_fields = fields.iter().filter(|(tag, _)| *tag == "63").count();
    match fields.last() {
        Some(("63", value)) if value.len() == 4 && crc_fields == 1 => {}
        _ => return Err(QrError::Malformed),
    }
    let get = |tag: &'static str| -> Result<Option<&str>, QrError> {
        let mut found = fields.iter().filter(|(t, _)| *t == tag).map(|(_, v)| *v);
        let first = found.next();
        if found.next().is_some() {
            return Err(QrError::Invalid(tag));
        }
        Ok(first)
    };
    let need = |tag: &'static str| get(tag)?.ok_or(QrError::Missing(tag));
    if need("00")? != "01" {
        return Err(QrError::Invalid("00"));
    }
    let dynamic = match need("01")? {
        "11" => false,
        "12" => true,
        _ => return Err(QrError::Invalid("01")),
    };
    let template = tlv(need(MERCHANT_TEMPLATE_TAG)?).map_err(|_| QrError::Invalid("26"))?;
    let sub = |tag: &str| {
        template
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, value)| *value)
    };
    if sub("00") != Some(PIAZZA_GUID) {
        return Err(QrError::NotPiazza);
    }
    let merchant_id = sub("01").ok_or(QrError::Missing("26"))?.to_owned();
    let (currency, digits) = from_numeric(need("53")?).ok_or(QrError::UnknownCurrency)?;
    let amount_minor = match (dynamic, get("54")?) {
        (true, Some(text)) => Some(parse_amount(text, digits).ok_or(QrError::Invalid("54"))?),
        (true, None) => return Err(QrError::Missing("54")),
        (false, Some(_)) => return Err(QrError::Invalid("54")),
        (false, None) => None,
    };
    let name = need("59")?.to_owned();
    if !valid_name(&name) {
        return Err(QrError::Invalid("59"));
    }
    let city = get("60")?.unwrap_or_default().to_owned();
    if !valid_city(&city) {
        return Err(QrError::Invalid("60"));
    }
    Ok(MerchantQr {
        merchant_id,
        name,
        city,
        currency,
        amount_minor,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sample(amount_minor: Option<i64>) -> MerchantQr {
        MerchantQr {
            merchant_id: "mer_42".into(),
            name: "Noodle Bar".into(),
            city: "Shanghai".into(),
            currency: Currency::CNY,
            amount_minor,
        }
    }

    #[test]
    fn crc_known_vector() {
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
    }

    #[test]
    fn static_round_trip() {
        let qr = sample(None);
        let payload = build(&qr).unwrap();
        assert!(payload.starts_with("000201010211"));
        assert!(payload.contains("5303156"));
        assert!(!payload.contains("54"));
        assert_eq!(parse(&payload).unwrap(), qr);
    }

    #[test]
    fn dynamic_round_trip() {
        let qr = sample(Some(1234));
        let payload = build(&qr).unwrap();
        assert!(payload.starts_with("000201010212"));
        assert!(payload.contains("540512.34"));
        assert_eq!(parse(&payload).unwrap(), qr);
        let tiny = sample(Some(5));
        assert!(build(&tiny).unwrap().contains("54040.05"));
        assert_eq!(parse(&build(&tiny).unwrap()).unwrap(), tiny);
    }

    #[test]
    fn no_city_round_trip_and_unicode_name() {
        let mut qr = sample(Some(100));
        qr.city = String::new();
        qr.name = "面馆 Noodles".into();
        let payload = build(&qr).unwrap();
        assert!(!payload.contains("6008"));
        assert_eq!(parse(&payload).unwrap(), qr);
    }

    #[test]
    fn crc_ends_upper_case_hex() {
        let payload = build(&sample(None)).unwrap();
        let crc = &payload[payload.len() - 4..];
        assert!(
            crc.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        );
        assert_eq!(&payload[payload.len() - 8..payload.len() - 4], "6304");
    }

    #[test]
    fn tampered_payload_refused() {
        let payload = build(&sample(Some(1234))).unwrap();
        let tampered = payload.replace("12.34", "00.01");
        assert_eq!(parse(&tampered), Err(QrError::BadCrc));
        // A changed CRC is refused too.
        let mut wrong_crc = payload.clone();
        let last = wrong_crc.pop().unwrap();
        wrong_crc.push(if last == '0' { '1' } else { '0' });
        assert_eq!(parse(&wrong_crc), Err(QrError::BadCrc));
    }

    #[test]
    fn wrong_length_refused() {
        let payload = build(&sample(None)).unwrap();
        // Claim the name is one character longer than it is, and fix up
        // the CRC so only the length is wrong.
        let broken = payload.replace("5910Noodle Bar", "5911Noodle Bar");
        let covered = &broken[..broken.len() - 4];
        let refixed = format!("{covered}{:04X}", crc16_ccitt_false(covered.as_bytes()));
        assert!(parse(&refixed).is_err());
        // Truncated.
        assert!(parse(&payload[..payload.len() - 1]).is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn static_with_amount_refused_and_bad_names_refused() {
        let mut qr = sample(None);
        qr.name = "x".repeat(26);
        assert_eq!(build(&qr), Err(QrError::Invalid("59")));
        qr.name = String::new();
        assert_eq!(build(&qr), Err(QrError::Invalid("59")));
        qr.name = "ok".into();
        qr.city = "c".repeat(16);
        assert_eq!(build(&qr), Err(QrError::Invalid("60")));
        assert_eq!(build(&sample(Some(0))), Err(QrError::Invalid("54")));
    }

    /// `body` with the CRC field that makes it pass the CRC check.
    fn with_crc(body: &str) -> String {
        let covered = format!("{body}6304");
        format!("{covered}{:04X}", crc16_ccitt_false(covered.as_bytes()))
    }

    /// Found by `fuzz/fuzz_targets/emvco.rs`: a field of length 00 (an
    /// unknown tag, the merchant id, the city) parsed, though EMVCo lengths
    /// are 01–99 and `build` refuses an empty merchant id.
    #[test]
    fn empty_fields_refused() {
        let empty_unknown = "00020101021126200006piazza0106mer_4256000204000053039785802CN5904Café";
        assert_eq!(parse(&with_crc(empty_unknown)), Err(QrError::Malformed));
        let empty_id = "00020101021126140006piazza01005204000053031565802CN5904Shop";
        assert_eq!(parse(&with_crc(empty_id)), Err(QrError::Invalid("26")));
        let empty_city = "00020101021126200006piazza0106mer_4252040000530315658\
                          02CN5904Shop6000";
        assert_eq!(parse(&with_crc(empty_city)), Err(QrError::Malformed));
    }

    /// Found by `fuzz/fuzz_targets/emvco.rs`: "263440060263" (12 characters)
    /// parsed, though `build` writes it as "263440060263.00", too long for
    /// tag 54, so a code parsed could not be written again.
    #[test]
    fn amounts_parse_only_if_writable() {
        assert_eq!(parse_amount("263440060263", 2), None);
        assert_eq!(parse_amount("9999999999.99", 2), Some(999_999_999_999));
        assert_eq!(parse_amount("9999999999999", 0), Some(9_999_999_999_999));
        let qr = sample(Some(999_999_999_999));
        assert_eq!(parse(&build(&qr).unwrap()), Ok(qr));
        assert_eq!(
            build(&sample(Some(1_000_000_000_000))),
            Err(QrError::Invalid("54"))
        );
    }

    /// Found by `fuzz/fuzz_targets/emvco.rs`: a second CRC field before the
    /// last one was taken as data.
    #[test]
    fn only_one_crc_field() {
        let body = "00020101021126200006piazza0106mer_425204000053031565802CN5904Shop";
        assert!(parse(&with_crc(body)).is_ok());
        assert_eq!(parse(&with_crc(&with_crc(body))), Err(QrError::Malformed));
    }

    #[test]
    fn amounts_parse_strictly() {
        assert_eq!(parse_amount("12.34", 2), Some(1234));
        assert_eq!(parse_amount("12.5", 2), Some(1250));
        assert_eq!(parse_amount("12", 2), Some(1200));
        assert_eq!(parse_amount("0.00", 2), None);
        assert_eq!(parse_amount("1.234", 2), None);
        assert_eq!(parse_amount("-1", 2), None);
        assert_eq!(parse_amount("1e3", 2), None);
        assert_eq!(parse_amount("12.", 2), None);
        assert_eq!(parse_amount(".5", 2), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in ".{0,600}") {
            let _ = parse(&input);
        }

        #[test]
        fn parse_never_panics_on_tlv_like_input(input in "[0-9A-F.]{0,120}6304[0-9A-F]{0,5}") {
            let _ = parse(&input);
        }

        #[test]
        fn round_trip_any_amount(minor in 1_i64..=9_999_999_999, name in "[A-Za-z ]{0,24}[A-Za-z]") {
            let qr = MerchantQr { name, amount_minor: Some(minor), ..sample(None) };
            let payload = build(&qr).unwrap();
            prop_assert_eq!(parse(&payload).unwrap(), qr);
        }
    }
}
