//! How many wrong passwords the server answers, and from whom: the policy
//! behind `auth::check_password_attempt` and `auth::record_password_attempt`.
//!
//! A limit per username alone is a lock-out button: anyone who knows a
//! username can keep its owner out by guessing wrong. So, as Microsoft's
//! "smart lockout" and GitHub do, failures are counted three ways, within
//! one window (15 minutes by default):
//!
//! - per (username, address): past 10, that address is refused for that
//!   username until the window ends. One address cannot brute-force one
//!   account, and the owner at another address is not affected.
//! - per address: past 100, that address is refused for every username.
//!   One address cannot spray guesses across many accounts.
//! - per username: past 50, an address that has already failed for that
//!   username waits a growing pause (1 s, 2 s, 4 s, capped at 5 s) after
//!   the username's latest attempt: many addresses together get about one
//!   guess per pause. An address that has not failed for it is never made
//!   to wait, so the owner's right password from their own phone or laptop
//!   is always checked, whatever the rest of the internet is doing.
//!
//! There is never a lock on a username itself. Apple locks an Apple ID
//! after repeated failures and Google asks for more proof: both have a
//! recovery flow behind the lock that Piazza lacks, which is why it slows
//! instead. A logged-in device approving a QR log-in never consults any of
//! this, so the owner always has a way in that guessing cannot touch.
//!
//! Each attempt is counted as a failure when it is admitted, before its
//! password is checked, and taken back when it succeeds: a flood of
//! concurrent guesses cannot all pass the check before the first is
//! counted. Memory is bounded: each of the three maps holds at most
//! `keys_max` keys of 48 to 64 bytes, dropping expired ones first and then
//! the oldest quarter.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::Limits;
use crate::rate_limit::address_key;

/// The thresholds; see the module doc and `config::Limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptPolicy {
    pub window: Duration,
    pub per_username_address_max: u32,
    pub per_address_max: u32,
    pub backoff_after_username_failures: u32,
    pub backoff_first: Duration,
    pub backoff_max: Duration,
    /// Keys each of the three maps holds at most.
    pub keys_max: usize,
}

impl AttemptPolicy {
    pub fn from_limits(limits: &Limits) -> AttemptPolicy {
        AttemptPolicy {
            window: limits.login_failure_window(),
            per_username_address_max: limits.login_failures_per_username_address_max,
            per_address_max: limits.login_failures_per_address_max,
            backoff_after_username_failures: limits.login_backoff_after_username_failures,
            backoff_first: Duration::from_millis(limits.login_backoff_first_ms),
            backoff_max: Duration::from_millis(limits.login_backoff_max_ms),
            keys_max: limits.login_limiter_keys_max,
        }
    }

    /// The pause a username with `failures` in the window imposes: none
    /// below the threshold, then doubling from `backoff_first` up to
    /// `backoff_max`.
    pub fn backoff(&self, failures: u32) -> Duration {
        let Some(past) = failures.checked_sub(self.backoff_after_username_failures) else {
            return Duration::ZERO;
        };
        let doublings = past.min(30);
        self.backoff_first
            .saturating_mul(1 << doublings)
            .min(self.backoff_max)
    }
}

/// Why an attempt is not checked, and how long until it would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This address failed too often for this username.
    UsernameAtAddress { retry_after: Duration },
    /// This address failed too often, across usernames.
    Address { retry_after: Duration },
    /// The username is under attack and this address has failed for it:
    /// a short pause, never a lock.
    Backoff { retry_after: Duration },
}

impl Refusal {
    pub fn retry_after(&self) -> Duration {
        match *self {
            Refusal::UsernameAtAddress { retry_after }
            | Refusal::Address { retry_after }
            | Refusal::Backoff { retry_after } => retry_after,
        }
    }
}

/// The three counts behind the policy, under one lock so an admission
/// checks and counts at once. Usernames and pairs are kept as 64-bit
/// hashes under a key random to this process: fixed-size keys with no
/// allocation each, no username held in memory, and collisions nobody
/// can aim at.
pub struct PasswordAttempts {
    policy: AttemptPolicy,
    hasher: RandomState,
    counts: Mutex<Counts>,
}

struct Counts {
    pairs: FailureCounts<u64>,
    addresses: FailureCounts<IpAddr>,
    usernames: FailureCounts<u64>,
}

impl PasswordAttempts {
    pub fn new(policy: AttemptPolicy) -> PasswordAttempts {
        PasswordAttempts {
            policy,
            hasher: RandomState::new(),
            counts: Mutex::new(Counts {
                pairs: FailureCounts::default(),
                addresses: FailureCounts::default(),
                usernames: FailureCounts::default(),
            }),
        }
    }

    pub fn policy(&self) -> &AttemptPolicy {
        &self.policy
    }

    /// Whether `username`'s password may be checked for `address` now; if
    /// so, the attempt is counted as failed until [`Self::succeeded`].
    pub fn admit(&self, username: &str, address: IpAddr, now: Instant) -> Result<(), Refusal> {
        let policy = &self.policy;
        let (user, pair, address) = self.keys(username, address);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let pair_failures = counts.pairs.live(pair, policy.window, now);
        if let Some(count) = pair_failures.filter(|c| c.failures >= policy.per_username_address_max)
        {
            return Err(Refusal::UsernameAtAddress {
                retry_after: count.window_left(policy.window, now),
            });
        }
        if let Some(count) = counts
            .addresses
            .live(address, policy.window, now)
            .filter(|c| c.failures >= policy.per_address_max)
        {
            return Err(Refusal::Address {
                retry_after: count.window_left(policy.window, now),
            });
        }
        // Only an address that has failed for this username waits.
        if pair_failures.is_some()
            && let Some(count) = counts.usernames.live(user, policy.window, now)
        {
            let pause = policy.backoff(count.failures);
            let waited = now.saturating_duration_since(count.last);
            if waited < pause {
                return Err(Refusal::Backoff {
                    retry_after: pause - waited,
                });
            }
        }
        counts.pairs.charge(pair, policy, now);
        counts.addresses.charge(address, policy, now);
        counts.usernames.charge(user, policy, now);
        Ok(())
    }

    /// The admitted attempt had the right password: the address is clean
    /// for the username again, and the attempt no longer counts.
    pub fn succeeded(&self, username: &str, address: IpAddr, now: Instant) {
        let (user, pair, address) = self.keys(username, address);
        let window = self.policy.window;
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.pairs.map.remove(&pair);
        counts.addresses.refund(address, window, now);
        counts.usernames.refund(user, window, now);
    }

    /// The username's key, the pair's key and the address's key.
    fn keys(&self, username: &str, address: IpAddr) -> (u64, u64, IpAddr) {
        let address = address_key(address);
        (
            self.hasher.hash_one(username),
            self.hasher.hash_one((username, address)),
            address,
        )
    }
}

/// Failures of one key within its window.
#[derive(Debug, Clone, Copy)]
struct FailureCount {
    failures: u32,
    /// When the window began: the first failure after the last one ended.
    since: Instant,
    /// The latest failure.
    last: Instant,
}

impl FailureCount {
    fn window_left(&self, window: Duration, now: Instant) -> Duration {
        window.saturating_sub(now.saturating_duration_since(self.since))
    }
}

/// A bounded map of failure counts.
struct FailureCounts<K> {
    map: HashMap<K, FailureCount>,
}

impl<K> Default for FailureCounts<K> {
    fn default() -> Self {
        FailureCounts {
            map: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Copy> FailureCounts<K> {
    /// The key's count, if its window is still open.
    fn live(&self, key: K, window: Duration, now: Instant) -> Option<FailureCount> {
        self.map
            .get(&key)
            .filter(|count| now.saturating_duration_since(count.since) < window)
            .copied()
    }

    fn charge(&mut self, key: K, policy: &AttemptPolicy, now: Instant) {
        if !self.map.contains_key(&key) && self.map.len() >= policy.keys_max {
            self.make_room(policy, now);
        }
        let fresh = FailureCount {
            failures: 0,
            since: now,
            last: now,
        };
        let count = self.map.entry(key).or_insert(fresh);
        if now.saturating_duration_since(count.since) >= policy.window {
            *count = fresh;
        }
        count.failures = count.failures.saturating_add(1);
        count.last = now;
    }

    fn refund(&mut self, key: K, window: Duration, now: Instant) {
        if let Some(count) = self.map.get_mut(&key)
            && now.saturating_duration_since(count.since) < window
        {
            count.failures = count.failures.saturating_sub(1);
        }
    }

    /// Drops the expired keys; if that is not enough, the oldest quarter
    /// too (their windows end first anyway), so a full map costs one pass
    /// per `keys_max / 4` new keys.
    fn make_room(&mut self, policy: &AttemptPolicy, now: Instant) {
        let window = policy.window;
        self.map
            .retain(|_, count| now.saturating_duration_since(count.since) < window);
        if self.map.len() < policy.keys_max {
            return;
        }
        let mut starts: Vec<Instant> = self.map.values().map(|count| count.since).collect();
        let cut = starts.len() / 4;
        if cut < starts.len() {
            let (_, &mut oldest_kept, _) = starts.select_nth_unstable(cut);
            self.map.retain(|_, count| count.since >= oldest_kept);
        }
        // Many equal starts could leave it full still: then drop any.
        let mut excess = (self.map.len() + 1).saturating_sub(policy.keys_max);
        self.map.retain(|_, _| {
            let keep = excess == 0;
            excess = excess.saturating_sub(1);
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AttemptPolicy {
        AttemptPolicy {
            window: Duration::from_secs(900),
            per_username_address_max: 10,
            per_address_max: 100,
            backoff_after_username_failures: 50,
            backoff_first: Duration::from_secs(1),
            backoff_max: Duration::from_secs(5),
            keys_max: 100_000,
        }
    }

    fn address(n: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn one_address_gets_ten_guesses_at_one_username_and_no_more() {
        let attempts = PasswordAttempts::new(policy());
        let start = Instant::now();
        for _ in 0..10 {
            attempts.admit("ann", address(1), start).unwrap();
        }
        // Counted on admission: no eleventh, even while the ten are checked.
        let refusal = attempts.admit("ann", address(1), start).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::UsernameAtAddress {
                retry_after: Duration::from_secs(900)
            }
        );
        // Other usernames from there, and ann from elsewhere, are fine.
        attempts.admit("bob", address(1), start).unwrap();
        attempts.admit("ann", address(2), start).unwrap();
        // The window ends: the address may try again.
        let later = start + Duration::from_secs(900);
        attempts.admit("ann", address(1), later).unwrap();
    }

    #[test]
    fn one_address_gets_a_hundred_guesses_across_usernames() {
        let attempts = PasswordAttempts::new(policy());
        let now = Instant::now();
        for n in 0..100 {
            attempts
                .admit(&format!("user{n}"), address(1), now)
                .unwrap();
        }
        assert!(matches!(
            attempts.admit("ann", address(1), now),
            Err(Refusal::Address { .. })
        ));
        attempts.admit("ann", address(2), now).unwrap();
    }

    #[test]
    fn an_ipv6_client_is_one_address_per_64() {
        let attempts = PasswordAttempts::new(policy());
        let now = Instant::now();
        for n in 0..10u128 {
            let within = std::net::Ipv6Addr::from(0x2001_0db8_0000_0001_0000_0000_0000_0000 + n);
            attempts.admit("ann", IpAddr::V6(within), now).unwrap();
        }
        let same_network = "2001:db8:0:1:ffff::1".parse().unwrap();
        assert!(attempts.admit("ann", same_network, now).is_err());
        let next_network = "2001:db8:0:2::1".parse().unwrap();
        attempts.admit("ann", next_network, now).unwrap();
    }

    #[test]
    fn an_attacked_username_slows_failing_addresses_only() {
        let attempts = PasswordAttempts::new(policy());
        let start = Instant::now();
        for n in 0..50 {
            attempts.admit("ann", address(n), start).unwrap();
        }
        // Address 0 failed for ann before: it waits the first pause.
        let refusal = attempts.admit("ann", address(0), start).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::Backoff {
                retry_after: Duration::from_secs(1)
            }
        );
        // A clean address is checked at once, however many fail (and its
        // failure is the 51st: the next pause is 2 s).
        attempts.admit("ann", address(1000), start).unwrap();
        // After the pause, one more guess; the pauses grow to the cap.
        let mut now = start;
        for expected_s in [4, 5, 5, 5] {
            now += attempts
                .admit("ann", address(0), now)
                .unwrap_err()
                .retry_after();
            attempts.admit("ann", address(0), now).unwrap();
            let pause = attempts.admit("ann", address(0), now).unwrap_err();
            assert_eq!(pause.retry_after(), Duration::from_secs(expected_s));
        }
    }

    #[test]
    fn the_owner_at_a_clean_address_is_never_refused() {
        let attempts = PasswordAttempts::new(policy());
        let start = Instant::now();
        let owner = address(1_000_000);
        // 2,000 addresses each guessing until refused, over 15 minutes,
        // with the owner logging in every few seconds.
        let mut refused = 0;
        for second in 0..900u32 {
            let now = start + Duration::from_secs(u64::from(second));
            for n in 0..20 {
                let attacker = address(second % 100 * 20 + n);
                if attempts.admit("ann", attacker, now).is_err() {
                    refused += 1;
                }
            }
            if second % 7 == 0 {
                attempts.admit("ann", owner, now).unwrap();
                attempts.succeeded("ann", owner, now);
            }
        }
        assert!(refused > 15_000, "the attack was slowed: {refused} refused");
    }

    #[test]
    fn a_success_makes_the_address_clean_and_does_not_count() {
        let attempts = PasswordAttempts::new(policy());
        let now = Instant::now();
        for _ in 0..9 {
            attempts.admit("ann", address(1), now).unwrap();
        }
        attempts.admit("ann", address(1), now).unwrap();
        attempts.succeeded("ann", address(1), now);
        for _ in 0..10 {
            attempts.admit("ann", address(1), now).unwrap();
        }
        let ann = attempts.hasher.hash_one("ann");
        let counts = attempts.counts.lock().unwrap();
        assert_eq!(counts.usernames.map[&ann].failures, 19);
        assert_eq!(counts.addresses.map[&address(1)].failures, 19);
    }

    #[test]
    fn the_pause_doubles_up_to_its_cap() {
        let policy = policy();
        assert_eq!(policy.backoff(0), Duration::ZERO);
        assert_eq!(policy.backoff(49), Duration::ZERO);
        assert_eq!(policy.backoff(50), Duration::from_secs(1));
        assert_eq!(policy.backoff(51), Duration::from_secs(2));
        assert_eq!(policy.backoff(52), Duration::from_secs(4));
        assert_eq!(policy.backoff(53), Duration::from_secs(5));
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn memory_stays_bounded() {
        let attempts = PasswordAttempts::new(AttemptPolicy {
            keys_max: 100,
            ..policy()
        });
        let start = Instant::now();
        for n in 0..10_000 {
            let now = start + Duration::from_millis(u64::from(n));
            attempts
                .admit(&format!("user{n}"), address(n), now)
                .unwrap();
        }
        let newest = attempts.hasher.hash_one("user9999");
        let counts = attempts.counts.lock().unwrap();
        assert!(counts.pairs.map.len() <= 100);
        assert!(counts.addresses.map.len() <= 100);
        assert!(counts.usernames.map.len() <= 100);
        // The newest are the ones kept.
        assert!(counts.usernames.map.contains_key(&newest));
    }
}
