//! The sync cursor: an opaque, versioned encoding of a position in one
//! account's log. Version 1 is `v1.<log_seq in lower-case hex>`; a later
//! version can change the encoding without clients noticing.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A position in one account's event log. Entries start at 1; 0 is the
/// position before the first entry, where a brand-new device starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogSeq(i64);

impl LogSeq {
    pub const START: LogSeq = LogSeq(0);

    pub fn from_stored(value: i64) -> LogSeq {
        debug_assert!(value >= 0);
        LogSeq(value)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// What the client holds and sends back: where its copy of the log ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor(LogSeq);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a cursor this server gave out")]
pub struct CursorError;

const VERSION_1: &str = "v1.";
const HEX_DIGITS_MAX: usize = 15;

impl Cursor {
    pub const START: Cursor = Cursor(LogSeq::START);

    pub fn at(seq: LogSeq) -> Cursor {
        Cursor(seq)
    }

    pub fn log_seq(self) -> LogSeq {
        self.0
    }

    pub fn parse(text: &str) -> Result<Cursor, CursorError> {
        let hex = text.strip_prefix(VERSION_1).ok_or(CursorError)?;
        if hex.is_empty()
            || hex.len() > HEX_DIGITS_MAX
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(CursorError);
        }
        let value = i64::from_str_radix(hex, 16).map_err(|_| CursorError)?;
        Ok(Cursor(LogSeq(value)))
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{VERSION_1}{:x}", self.0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn start_and_rejects() {
        assert_eq!(Cursor::START.to_string(), "v1.0");
        assert_eq!(Cursor::parse("v1.ff").unwrap().log_seq(), LogSeq(255));
        for bad in [
            "",
            "v1.",
            "v2.1",
            "v1.FF",
            "v1.-1",
            "v1.g",
            "1",
            "v1.1000000000000000",
        ] {
            assert!(Cursor::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(value in 0i64..(1i64 << 59)) {
            let cursor = Cursor::at(LogSeq(value));
            prop_assert_eq!(Cursor::parse(&cursor.to_string()), Ok(cursor));
        }

        #[test]
        fn orders_like_its_seq(a in 0i64..1_000_000, b in 0i64..1_000_000) {
            prop_assert_eq!(Cursor::at(LogSeq(a)) < Cursor::at(LogSeq(b)), a < b);
        }

        #[test]
        fn never_panics(text in "\\PC{0,30}") {
            let _ = Cursor::parse(&text);
        }
    }
}
