//! EMVCo merchant-presented QR payloads (`POST /api/v1/payments` takes one
//! as `qr_payload`). Both directions:
//!
//! - any text, as it is and with a correct CRC field appended (else almost
//!   every input would stop at the CRC check): `emvco::parse` never panics;
//!   what it accepts carries a CRC that matches, a valid name, city and
//!   amount, and builds back into a payload that parses to the same thing;
//! - any merchant (built from the same bytes): what `emvco::build` accepts
//!   parses back to exactly that merchant.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use piazza_domain::emvco::{self, MerchantQr};
use piazza_domain::money::{AmountMinor, Currency};

#[derive(Debug, Arbitrary)]
struct Merchant {
    merchant_id: String,
    name: String,
    city: String,
    currency: u8,
    amount_minor: Option<i64>,
}

/// Every currency the code knows, and one it does not.
const CURRENCIES: [&str; 8] = ["CNY", "USD", "EUR", "HKD", "SGD", "GBP", "JPY", "XXX"];

fn check_parsed(text: &str) {
    let Ok(qr) = emvco::parse(text) else {
        return;
    };
    let (covered, crc) = text.split_at(text.len() - 4);
    assert_eq!(
        u16::from_str_radix(crc, 16).ok(),
        Some(emvco::crc16_ccitt_false(covered.as_bytes())),
        "accepted with a wrong CRC: {text:?}"
    );
    let fields = top_level_fields(text).expect("an accepted payload is TLV");
    assert!(
        fields.iter().all(|(_, value)| !value.is_empty()),
        "accepted an empty field (EMVCo lengths are 01-99): {text:?}"
    );
    assert_eq!(
        fields.iter().filter(|(tag, _)| *tag == "63").count(),
        1,
        "accepted more than one CRC field: {text:?}"
    );
    assert!(emvco::valid_name(&qr.name), "{qr:?}");
    assert!(emvco::valid_city(&qr.city), "{qr:?}");
    if let Some(minor) = qr.amount_minor {
        assert!(AmountMinor::positive(minor).is_ok(), "{qr:?}");
    }
    let rebuilt = emvco::build(&qr)
        .unwrap_or_else(|error| panic!("parsed {text:?} to {qr:?}, which builds to {error}"));
    assert_eq!(emvco::parse(&rebuilt).as_ref(), Ok(&qr), "{rebuilt:?}");
}

fn check_built(data: &[u8]) {
    let Ok(merchant) = Merchant::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let currency = CURRENCIES[usize::from(merchant.currency) % CURRENCIES.len()];
    let qr = MerchantQr {
        merchant_id: merchant.merchant_id,
        name: merchant.name,
        city: merchant.city,
        currency: Currency::parse(currency).expect("the list holds valid codes"),
        amount_minor: merchant.amount_minor,
    };
    if let Ok(payload) = emvco::build(&qr) {
        assert!(
            payload.chars().count() <= emvco::PAYLOAD_CHARS_MAX,
            "{payload:?}"
        );
        assert_eq!(emvco::parse(&payload).as_ref(), Ok(&qr), "{payload:?}");
    }
}

/// The top-level (tag, value) fields, walked independently of the parser;
/// lengths count characters.
fn top_level_fields(text: &str) -> Option<Vec<(&str, &str)>> {
    let mut fields = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let tag = rest.get(..2)?;
        let length: usize = rest.get(2..4)?.parse().ok()?;
        let body = &rest[4..];
        let end = body
            .char_indices()
            .nth(length)
            .map_or(body.len(), |(at, _)| at);
        if body[..end].chars().count() != length {
            return None;
        }
        fields.push((tag, &body[..end]));
        rest = &body[end..];
    }
    Some(fields)
}

/// `text` with the CRC field that makes it pass the CRC check.
fn with_crc(text: &str) -> String {
    let covered = format!("{text}6304");
    let crc = emvco::crc16_ccitt_false(covered.as_bytes());
    format!("{covered}{crc:04X}")
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_parsed(text);
        check_parsed(&with_crc(text));
    }
    check_built(data);
});
