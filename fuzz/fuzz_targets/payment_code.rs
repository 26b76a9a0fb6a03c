//! Codes a person or a camera hands the server: the 18-digit payment code a
//! merchant collects with, the six-digit PIN, and the QR log-in payload
//! `piazza-login:<request_id>:<code>`. Never panics; what is accepted has
//! exactly the documented shape, and a log-in payload prints back to one
//! that parses the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use piazza_fuzz::{is_pin, login_qr, parse_login_qr, payment_code};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(code) = payment_code(text) {
        assert_eq!(code.len(), 18);
        assert!(code.bytes().all(|byte| byte.is_ascii_digit()), "{text:?}");
        assert_eq!(code, text.trim());
    }
    if is_pin(text) {
        assert_eq!(text.len(), 6);
        assert!(text.parse::<u32>().is_ok_and(|pin| pin < 1_000_000));
    }
    if let Some((request, code)) = parse_login_qr(text) {
        assert!(!code.is_empty() && code.len() <= 64, "{text:?}");
        let printed = login_qr(&request, code);
        assert_eq!(parse_login_qr(&printed), Some((request.clone(), code)));
        assert_eq!(
            printed,
            text.trim(),
            "the printed payload is the trimmed input"
        );
    }
});
