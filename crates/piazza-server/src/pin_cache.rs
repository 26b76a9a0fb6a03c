//! Right payment PINs, remembered for a few minutes so that a burst of
//! money-out calls pays Argon2 once instead of once per call.
//!
//! Argon2id is what makes a stolen PIN hash expensive to brute-force, and
//! it costs ~20 ms of a core on purpose; a shop till or a busy chat that
//! sends several payments in a row would otherwise be bound by it. Only
//! *successes* are remembered: a wrong PIN always goes through Argon2 and
//! the store's attempt counter, so the lock-out is untouched. An entry is
//! a keyed SHA-256 of (account, PIN) under a random per-process key, tied
//! to the exact stored hash it was verified against, so changing the PIN
//! forgets it at once; the key never leaves memory and dies with the
//! process.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use piazza_domain::AccountId;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// How long a verified PIN is remembered.
pub const PIN_REMEMBERED_FOR: Duration = Duration::from_secs(5 * 60);
/// Accounts remembered at most; past it, expired entries are dropped and,
/// if that is not enough, everything is (the next calls pay Argon2 again).
pub const PIN_CACHE_ENTRIES_MAX: usize = 100_000;

struct Entry {
    /// The stored PHC string the PIN was verified against.
    pin_hash: String,
    digest: [u8; 32],
    until: Instant,
}

pub struct VerifiedPins {
    key: [u8; 32],
    ttl: Duration,
    entries: Mutex<HashMap<AccountId, Entry>>,
}

impl Default for VerifiedPins {
    fn default() -> VerifiedPins {
        VerifiedPins::new(PIN_REMEMBERED_FOR)
    }
}

impl VerifiedPins {
    pub fn new(ttl: Duration) -> VerifiedPins {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        VerifiedPins {
            key,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn digest(&self, account: AccountId, pin: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update(account.row().to_le_bytes());
        hasher.update(pin.as_bytes());
        hasher.finalize().into()
    }

    /// Whether `pin` was verified for `account` against `pin_hash` lately.
    pub fn knows(&self, account: AccountId, pin_hash: &str, pin: &str) -> bool {
        let digest = self.digest(account, pin);
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(&account).is_some_and(|entry| {
            entry.until > Instant::now() && entry.pin_hash == pin_hash && entry.digest == digest
        })
    }

    /// Remembers that `pin` is right for `account` under `pin_hash`.
    pub fn remember(&self, account: AccountId, pin_hash: &str, pin: &str) {
        let digest = self.digest(account, pin);
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= PIN_CACHE_ENTRIES_MAX && !entries.contains_key(&account) {
            entries.retain(|_, entry| entry.until > now);
            if entries.len() >= PIN_CACHE_ENTRIES_MAX {
                entries.clear();
            }
        }
        entries.insert(
            account,
            Entry {
                pin_hash: pin_hash.to_owned(),
                digest,
                until: now + self.ttl,
            },
        );
    }

    /// Forgets `account`'s PIN (a wrong attempt, a new PIN).
    pub fn forget(&self, account: AccountId) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA";

    #[test]
    fn remembers_only_the_right_pin_under_the_same_hash() {
        let pins = VerifiedPins::default();
        let ann = AccountId::from_row(1);
        let bob = AccountId::from_row(2);
        assert!(!pins.knows(ann, HASH, "123456"));
        pins.remember(ann, HASH, "123456");
        assert!(pins.knows(ann, HASH, "123456"));
        assert!(!pins.knows(ann, HASH, "123457"), "another PIN");
        assert!(!pins.knows(bob, HASH, "123456"), "another account");
        assert!(!pins.knows(ann, "$argon2id$other", "123456"), "PIN changed");
        pins.forget(ann);
        assert!(!pins.knows(ann, HASH, "123456"));
    }

    #[test]
    fn entries_expire() {
        let pins = VerifiedPins::new(Duration::ZERO);
        let ann = AccountId::from_row(1);
        pins.remember(ann, HASH, "123456");
        assert!(!pins.knows(ann, HASH, "123456"));
    }
}
