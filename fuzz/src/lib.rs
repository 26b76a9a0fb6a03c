//! What the fuzz targets share: copies of the few input checks that live
//! private to `piazza-server` (its routes are `pub(crate)` and need an
//! `App`), so the targets can run them without building the whole server
//! (axum, tokio, SQLite) under the fuzzer's instrumentation.
//!
//! Each copy names the function it mirrors. They are a handful of lines
//! each; if one of them moves into `piazza-domain`, the target should call
//! the real one and the copy here should go.

use piazza_domain::cursor::LogSeq;
use piazza_domain::money::AmountMinor;
use piazza_domain::store::LoginRequestId;
use piazza_domain::{ConversationId, Timestamp};

/// Mirrors `piazza_server::routes::wallet::amount`: `amount_minor` is only a
/// JSON integer from 1 to the cap.
pub fn amount(value: &serde_json::Value) -> Option<AmountMinor> {
    AmountMinor::positive(value.as_i64()?).ok()
}

/// Mirrors the `count` of `routes::red_packets::send`: a JSON integer that
/// fits a `u32`, then `ShareCount::parse`.
pub fn share_count(value: &serde_json::Value) -> Option<u32> {
    value.as_u64().and_then(|count| u32::try_from(count).ok())
}

/// Mirrors `routes::wallet::is_pin`: exactly six ASCII digits.
pub fn is_pin(text: &str) -> bool {
    text.len() == 6 && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// Mirrors the payment-code check of `routes::merchants::collect`: the
/// trimmed code is exactly 18 ASCII digits.
pub fn payment_code(text: &str) -> Option<&str> {
    let code = text.trim();
    (code.len() == 18 && code.bytes().all(|byte| byte.is_ascii_digit())).then_some(code)
}

/// Mirrors `routes::login_requests::QR_PREFIX`.
pub const LOGIN_QR_PREFIX: &str = "piazza-login:";

/// Mirrors `routes::login_requests::parse_qr_payload` (its `CODE_CHARS_MAX`
/// is 64).
pub fn parse_login_qr(payload: &str) -> Option<(LoginRequestId, &str)> {
    let rest = payload.trim().strip_prefix(LOGIN_QR_PREFIX)?;
    let (request, code) = rest.split_once(':')?;
    let request = LoginRequestId::parse(request)?;
    (!code.is_empty() && code.len() <= 64).then_some((request, code))
}

/// Mirrors `routes::login_requests::qr_payload`.
pub fn login_qr(request: &LoginRequestId, code: &str) -> String {
    format!("{LOGIN_QR_PREFIX}{request}:{code}")
}

/// Mirrors `routes::paging::ListQuery::after`: a list cursor is `p1.` and
/// the sort key of the last item.
pub fn page_key(cursor: &str) -> Option<&str> {
    cursor.strip_prefix("p1.")
}

/// Mirrors the sort key of `routes::conversations::list`:
/// `<unix ms>.<conversation id>`.
pub fn conversation_page_key(key: &str) -> Option<(Timestamp, ConversationId)> {
    let (at, id) = key.split_once('.')?;
    let at = at.parse::<i64>().ok()?;
    Some((Timestamp::from_unix_ms(at), ConversationId::parse(id).ok()?))
}

/// The first eight bytes of `data` as a log position below 2^60, for round
/// trips that start from a value rather than from text. A v1 cursor holds
/// at most 15 hex digits, so 2^60 is where the encoding ends; a log never
/// comes near it (a million entries a second for 36,000 years).
pub fn log_seq(data: &[u8]) -> LogSeq {
    let mut bytes = [0u8; 8];
    let len = data.len().min(8);
    bytes[..len].copy_from_slice(&data[..len]);
    LogSeq::from_stored(i64::from_le_bytes(bytes) & ((1 << 60) - 1))
}
