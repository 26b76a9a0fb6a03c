//! An account's contact code: the random token its QR code carries, so
//! that scanning it sends the account a contact request without the
//! scanner knowing (or being able to guess) its username or id.
//!
//! The payload is `piazza-contact:<token>`, named like the QR log-in's
//! `piazza-login:…`: a prefix that says what was scanned, so a client can
//! tell a contact code from a log-in or a merchant's EMVCo code before
//! asking the server. The token is 22 characters of `[A-Za-z0-9]` (about
//! 131 random bits): unguessable, and safe to paste, put in a URL or
//! read back from a QR code without escaping.

use std::fmt;

use rand::Rng;
use rand::distr::Alphanumeric;

/// What every contact code's payload starts with.
pub const PAYLOAD_PREFIX: &str = "piazza-contact:";
/// Characters in a token.
pub const TOKEN_CHARS: usize = 22;

/// A well-formed token (which says nothing of whether it is anyone's).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ContactCode(String);

/// Why a scanned text is not a contact code at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Not `piazza-contact:…`: another kind of code, or none.
    #[error("this is not a Piazza contact code")]
    NotAContactCode,
    /// The prefix is right but the token cannot be one this server made.
    #[error("this contact code is malformed")]
    Malformed,
}

impl ContactCode {
    /// A fresh random token.
    pub fn generate() -> ContactCode {
        let token: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(TOKEN_CHARS)
            .map(char::from)
            .collect();
        debug_assert!(ContactCode::parse_token(&token).is_some());
        ContactCode(token)
    }

    /// A token as a store kept it, or as the payload carried it; `None`
    /// when it cannot be one this server made.
    pub fn parse_token(token: &str) -> Option<ContactCode> {
        let well_formed =
            token.len() == TOKEN_CHARS && token.bytes().all(|byte| byte.is_ascii_alphanumeric());
        well_formed.then(|| ContactCode(token.to_owned()))
    }

    /// The code in a scanned or pasted payload (surrounding white space
    /// ignored, as a paste often brings some).
    pub fn from_payload(payload: &str) -> Result<ContactCode, PayloadError> {
        let token = payload
            .trim()
            .strip_prefix(PAYLOAD_PREFIX)
            .ok_or(PayloadError::NotAContactCode)?;
        ContactCode::parse_token(token).ok_or(PayloadError::Malformed)
    }

    /// What the QR code carries.
    pub fn payload(&self) -> String {
        format!("{PAYLOAD_PREFIX}{}", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shown as its payload's prefix only: a token is a capability, kept out
/// of logs.
impl fmt::Debug for ContactCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ContactCode(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_code_round_trips_through_its_payload() {
        let code = ContactCode::generate();
        assert_eq!(code.as_str().len(), TOKEN_CHARS);
        let payload = code.payload();
        assert!(payload.starts_with("piazza-contact:"));
        assert_eq!(ContactCode::from_payload(&payload), Ok(code.clone()));
        assert_eq!(
            ContactCode::from_payload(&format!("  {payload}\n")),
            Ok(code)
        );
        assert_ne!(ContactCode::generate(), ContactCode::generate());
    }

    #[test]
    fn anything_else_is_refused() {
        let token = "a".repeat(TOKEN_CHARS);
        for (text, error) in [
            ("", PayloadError::NotAContactCode),
            ("hello", PayloadError::NotAContactCode),
            ("piazza-login:lr_1:abc", PayloadError::NotAContactCode),
            (
                &*format!("PIAZZA-CONTACT:{token}"),
                PayloadError::NotAContactCode,
            ),
            ("piazza-contact:", PayloadError::Malformed),
            ("piazza-contact:short", PayloadError::Malformed),
            (
                &*format!("piazza-contact:{token}a"),
                PayloadError::Malformed,
            ),
            (
                &*format!("piazza-contact:{}-", &token[1..]),
                PayloadError::Malformed,
            ),
            (
                &*format!("piazza-contact:{}é", &token[2..]),
                PayloadError::Malformed,
            ),
            (
                &*format!("piazza-contact:{token} x"),
                PayloadError::Malformed,
            ),
        ] {
            assert_eq!(ContactCode::from_payload(text), Err(error), "{text:?}");
        }
    }
}
