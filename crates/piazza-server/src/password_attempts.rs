//! How many wrong passwords the server answers, and from whom: the policy
//! behind `auth::check_password_attempt` and `auth::record_password_attempt`.
//!
//! A limit per username alone is a lock-out button: anyone who knows a
//! username can keep its owner out by guessing wrong. So, as Microsoft's
//! "smart lockout" and GitHub do, failures are counted three ways, within
//! one window (15 minutes by default), an "address" being an IPv4 address
//! or an IPv6 /56 (one customer site):
//!
//! - per (username, address): past 10, that address is refused for that
//!   username until the window ends. One address cannot brute-force one
//!   account, and the owner at another address is not affected.
//! - per address: past 100, that address is refused for every username.
//!   One address cannot spray guesses across many accounts.
//! - per username: past 50, every address without a right password for
//!   that username in the last 30 days shares one pace: one attempt a
//!   pause (1 s, 2 s, 4 s, capped at 5 s), the pause's slot going to an
//!   address that was told to wait within the last minute and came back.
//!   Refusals never move the slot, so someone gets it every pause; fresh
//!   addresses guessing once each cannot take it, so an owner at a new
//!   address who retries gets in within a couple of tries. An address the
//!   owner logged in from lately is never paced: her right password there
//!   is always checked, whatever the rest of the internet is doing.
//!
//! There is never a lock on a username itself. Apple locks an Apple ID
//! after repeated failures and Google asks for more proof: both have a
//! recovery flow behind the lock that Piazza lacks, which is why it slows
//! instead. A logged-in device approving a QR log-in never consults any of
//! this, so the owner always has a way in that guessing cannot touch.
//!
//! Each attempt is counted as a failure when it is admitted, before its
//! password is checked: a flood of concurrent guesses cannot all pass the
//! check before the first is counted. The [`Admission`] it returns takes
//! the attempt back when it succeeds, or when it is dropped before its
//! password was judged (a cancelled request, a busy hash pool). Memory is
//! bounded: each map holds at most `keys_max` keys (failure counts of 48
//! to 64 bytes, known and waiting pairs of 24), dropping stale ones first
//! and then the oldest quarter.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

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
    /// How long a right password keeps its address exempt from the pace.
    pub known_address_for: Duration,
    /// How long an address told to wait by the pace may come back for a
    /// slot.
    pub pace_return_within: Duration,
    /// Keys each of the maps holds at most.
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
            known_address_for: Duration::from_secs(limits.login_known_address_s),
            pace_return_within: Duration::from_secs(limits.login_pace_return_s),
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
    /// The username is under attack and this address has no right
    /// password for it lately: it waits its turn, never a lock.
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

/// The counts behind the policy, under one lock so an admission checks
/// and counts at once. Usernames and pairs are kept as 64-bit hashes
/// under a key random to this process: fixed-size keys with no
/// allocation each, no username held in memory, and collisions nobody
/// can aim at.
pub struct PasswordAttempts {
    policy: AttemptPolicy,
    hasher: RandomState,
    counts: Mutex<Counts>,
    /// Where this node's news goes, in a cluster (`cluster/attempts.rs`).
    news: OnceLock<mpsc::Sender<AttemptNews>>,
}

/// What a node tells the others of the attempts made to it, so that every
/// count is the cluster's, whichever node each attempt lands on: a node
/// applies another's news as if the attempt had been made to it. The
/// username travels as its SHA-256 (`user`), which each node keys with its
/// own hasher, never as text: a username that fails is often a password
/// typed in the wrong box. News lost (the bus down, its queue full) leaves
/// the counts per node meanwhile: a lost admission loosens the limits by
/// at most the number of nodes, a lost success leaves its failure counted
/// on the other nodes until the window ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum AttemptNews {
    /// Counted as failed until settled; `slot`: it took the pace's slot.
    Admitted {
        user: [u8; 32],
        address: IpAddr,
        slot: bool,
    },
    /// Admitted `age_ms` ago, dropped before its password was judged: not
    /// counted after all. (The pace's slot it took stays taken elsewhere.)
    TakenBack {
        user: [u8; 32],
        address: IpAddr,
        age_ms: u64,
    },
    /// Admitted `age_ms` ago, and the password was right.
    Succeeded {
        user: [u8; 32],
        address: IpAddr,
        age_ms: u64,
    },
}

/// A username's SHA-256, as it is keyed here and told to other nodes.
fn user_digest(username: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(username.as_bytes()).into()
}

struct Counts {
    pairs: FailureCounts<u64>,
    addresses: FailureCounts<IpAddr>,
    usernames: FailureCounts<u64>,
    /// Pairs whose password was right lately: exempt from the pace.
    known: Stamps,
    /// Pairs the pace told to wait lately: the only ones that may take
    /// its next slot.
    waiting: Stamps,
}

/// The keys of one attempt: the username's, the pair's, the address's.
#[derive(Debug, Clone, Copy)]
struct Keys {
    /// The username's SHA-256, which other nodes key likewise.
    digest: [u8; 32],
    user: u64,
    pair: u64,
    address: IpAddr,
}

/// An attempt admitted by [`PasswordAttempts::admit`], counted as failed
/// until it is settled: [`Admission::failed`] keeps it counted,
/// [`Admission::succeeded`] takes it back and makes the address known
/// for the username. Dropped unsettled (the request was cancelled, or
/// failed before the password was checked), it is taken back, and so is
/// the pace's slot it took: nothing was learnt from it.
#[must_use = "an admission dropped unsettled is taken back"]
pub struct Admission {
    attempts: Arc<PasswordAttempts>,
    keys: Keys,
    /// For the news of how it was settled.
    user: [u8; 32],
    address: IpAddr,
    at: Instant,
    /// The pace's slot this attempt took: when it had opened.
    slot: Option<Instant>,
    settled: bool,
}

impl Admission {
    /// The password was wrong: the attempt stays counted.
    pub fn failed(mut self) {
        self.settled = true;
    }

    /// The password was right.
    pub fn succeeded(mut self, now: Instant) {
        self.settled = true;
        self.attempts.settle_success(self.keys, self.at, now);
        self.attempts.tell(AttemptNews::Succeeded {
            user: self.user,
            address: self.address,
            age_ms: age_ms(self.at, now),
        });
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.settled {
            self.attempts.take_back(self.keys, self.at, self.slot);
            self.attempts.tell(AttemptNews::TakenBack {
                user: self.user,
                address: self.address,
                age_ms: age_ms(self.at, Instant::now()),
            });
        }
    }
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
                known: Stamps::default(),
                waiting: Stamps::default(),
            }),
            news: OnceLock::new(),
        }
    }

    /// Sends this node's news to `news` from now on (once: the bus).
    pub fn tell_to(&self, news: mpsc::Sender<AttemptNews>) {
        let _ = self.news.set(news);
    }

    fn tell(&self, news: AttemptNews) {
        if let Some(sender) = self.news.get() {
            let _ = sender.try_send(news);
        }
    }

    /// Another node's news, counted here as if the attempt had been made
    /// to this node (`now` is when it arrived).
    pub fn apply_remote(&self, news: AttemptNews, now: Instant) {
        let policy = &self.policy;
        let since = |age_ms: u64| {
            now.checked_sub(Duration::from_millis(age_ms))
                .unwrap_or(now)
        };
        match news {
            AttemptNews::Admitted {
                user,
                address,
                slot,
            } => {
                let keys = self.keys_of(user, address);
                let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
                let before = counts.usernames.live(keys.user, policy.window, now);
                counts.pairs.charge(keys.pair, policy, now);
                counts.addresses.charge(keys.address, policy, now);
                counts.usernames.charge(keys.user, policy, now);
                if let (true, Some(before)) = (slot, before)
                    && let Some(count) = counts.usernames.map.get_mut(&keys.user)
                {
                    count.next_slot = now + policy.backoff(before.failures);
                }
            }
            AttemptNews::TakenBack {
                user,
                address,
                age_ms,
            } => self.take_back(self.keys_of(user, address), since(age_ms), None),
            AttemptNews::Succeeded {
                user,
                address,
                age_ms,
            } => self.settle_success(self.keys_of(user, address), since(age_ms), now),
        }
    }

    pub fn policy(&self) -> &AttemptPolicy {
        &self.policy
    }

    /// Whether `username`'s password may be checked for `address` now; if
    /// so, the attempt is counted as failed until the [`Admission`] is
    /// settled.
    pub fn admit(
        self: &Arc<Self>,
        username: &str,
        address: IpAddr,
        now: Instant,
    ) -> Result<Admission, Refusal> {
        let policy = &self.policy;
        let keys = self.keys(username, address);
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.check_limits(keys, policy, now)?;
        let slot = counts.take_pace_slot(keys, policy, now)?;
        counts.pairs.charge(keys.pair, policy, now);
        counts.addresses.charge(keys.address, policy, now);
        counts.usernames.charge(keys.user, policy, now);
        drop(counts);
        self.tell(AttemptNews::Admitted {
            user: keys.digest,
            address,
            slot: slot.is_some(),
        });
        Ok(Admission {
            attempts: Arc::clone(self),
            keys,
            user: keys.digest,
            address,
            at: now,
            slot,
            settled: false,
        })
    }

    /// A right password: the address is clean and known for the username,
    /// and the attempt admitted `at` no longer counts.
    fn settle_success(&self, keys: Keys, at: Instant, now: Instant) {
        let policy = &self.policy;
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.pairs.map.remove(&keys.pair);
        counts
            .addresses
            .refund(keys.address, at, policy.window, now);
        counts.usernames.refund(keys.user, at, policy.window, now);
        counts.waiting.map.remove(&keys.pair);
        counts
            .known
            .stamp(keys.pair, now, policy.known_address_for, policy.keys_max);
    }

    /// An attempt that never had its password checked: uncounted, and the
    /// pace's slot it took open again if nobody took the next one.
    fn take_back(&self, keys: Keys, at: Instant, slot: Option<Instant>) {
        let now = Instant::now().max(at);
        let window = self.policy.window;
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.pairs.refund(keys.pair, at, window, now);
        counts.addresses.refund(keys.address, at, window, now);
        counts.usernames.refund(keys.user, at, window, now);
        if let Some(opened) = slot
            && let Some(count) = counts.usernames.map.get_mut(&keys.user)
            && count.next_slot > at
            && count.since <= at
        {
            count.next_slot = opened;
        }
    }

    /// The keys of `username` at `address`.
    fn keys(&self, username: &str, address: IpAddr) -> Keys {
        self.keys_of(user_digest(username), address)
    }

    /// The keys of the username whose SHA-256 is `user`, at `address`.
    fn keys_of(&self, user: [u8; 32], address: IpAddr) -> Keys {
        let address = network_key(address);
        Keys {
            digest: user,
            user: self.hasher.hash_one(user),
            pair: self.hasher.hash_one((user, address)),
            address,
        }
    }
}

/// Milliseconds from `at` to `now`, for news.
fn age_ms(at: Instant, now: Instant) -> u64 {
    now.saturating_duration_since(at).as_millis() as u64
}

/// The network whose failures are counted as one address: an IPv4
/// address, or an IPv6 /56, the usual delegation to one customer site
/// (RFC 6177; /48 for some, /64 for a phone). Counting per /64 let one
/// site with a /48 spray 65,536 times the per-address limit.
fn network_key(address: IpAddr) -> IpAddr {
    match address_key(address) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 72) - 1))),
        v4 => v4,
    }
}

impl Counts {
    /// The limits that stop brute force from one address.
    fn check_limits(
        &self,
        keys: Keys,
        policy: &AttemptPolicy,
        now: Instant,
    ) -> Result<(), Refusal> {
        let window = policy.window;
        if let Some(count) = self
            .pairs
            .live(keys.pair, window, now)
            .filter(|c| c.failures >= policy.per_username_address_max)
        {
            return Err(Refusal::UsernameAtAddress {
                retry_after: count.window_left(window, now),
            });
        }
        if let Some(count) = self
            .addresses
            .live(keys.address, window, now)
            .filter(|c| c.failures >= policy.per_address_max)
        {
            return Err(Refusal::Address {
                retry_after: count.window_left(window, now),
            });
        }
        Ok(())
    }

    /// The shared pace of a username past its threshold: an address
    /// without a right password for it lately is admitted only into the
    /// pace's slot, one a pause, and only after it was told to wait and
    /// came back. Refusals never move the slot, so someone gets it every
    /// pause; and a fresh address cannot snatch it the instant it opens,
    /// so an owner who retries gets it even while thousands of addresses
    /// guess once each. `Some(when the slot opened)` if one was taken.
    fn take_pace_slot(
        &mut self,
        keys: Keys,
        policy: &AttemptPolicy,
        now: Instant,
    ) -> Result<Option<Instant>, Refusal> {
        let Some(count) = self.usernames.live(keys.user, policy.window, now) else {
            return Ok(None);
        };
        let pause = policy.backoff(count.failures);
        if pause.is_zero() || self.known.fresh(keys.pair, policy.known_address_for, now) {
            return Ok(None);
        }
        let returning = self
            .waiting
            .fresh(keys.pair, policy.pace_return_within, now);
        if returning && count.next_slot <= now {
            self.waiting.map.remove(&keys.pair);
            if let Some(count) = self.usernames.map.get_mut(&keys.user) {
                count.next_slot = now + pause;
            }
            return Ok(Some(count.next_slot));
        }
        self.waiting
            .stamp(keys.pair, now, policy.pace_return_within, policy.keys_max);
        let until_slot = count.next_slot.saturating_duration_since(now);
        Err(Refusal::Backoff {
            retry_after: until_slot.max(policy.backoff_first),
        })
    }
}

/// When each key was last stamped, for keys stamped within some age.
/// Bounded like [`FailureCounts`]: stale stamps go first, then the oldest
/// quarter.
#[derive(Default)]
struct Stamps {
    map: HashMap<u64, Instant>,
}

impl Stamps {
    fn fresh(&self, key: u64, age: Duration, now: Instant) -> bool {
        self.map
            .get(&key)
            .is_some_and(|stamped| now.saturating_duration_since(*stamped) < age)
    }

    fn stamp(&mut self, key: u64, now: Instant, age: Duration, keys_max: usize) {
        if !self.map.contains_key(&key) && self.map.len() >= keys_max {
            self.map
                .retain(|_, stamped| now.saturating_duration_since(*stamped) < age);
            if self.map.len() >= keys_max {
                let mut stamps: Vec<Instant> = self.map.values().copied().collect();
                let cut = stamps.len() / 4;
                if cut < stamps.len() {
                    let (_, &mut oldest_kept, _) = stamps.select_nth_unstable(cut);
                    self.map.retain(|_, stamped| *stamped > oldest_kept);
                }
            }
        }
        self.map.insert(key, now);
    }
}

/// Failures of one key within its window.
#[derive(Debug, Clone, Copy)]
struct FailureCount {
    failures: u32,
    /// When the window began: the first failure after the last one ended.
    since: Instant,
    /// Usernames only: when the pace's next slot opens.
    next_slot: Instant,
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
            next_slot: now,
        };
        let count = self.map.entry(key).or_insert(fresh);
        if now.saturating_duration_since(count.since) >= policy.window {
            *count = fresh;
        }
        count.failures = count.failures.saturating_add(1);
    }

    /// Takes back a failure charged `at`, if it is still in the count.
    fn refund(&mut self, key: K, at: Instant, window: Duration, now: Instant) {
        if let Some(count) = self.map.get_mut(&key)
            && count.since <= at
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
            known_address_for: Duration::from_secs(30 * 24 * 3600),
            pace_return_within: Duration::from_secs(60),
            keys_max: 100_000,
        }
    }

    /// A wrong password, if it is checked at all.
    fn guess(
        attempts: &Arc<PasswordAttempts>,
        username: &str,
        address: IpAddr,
        now: Instant,
    ) -> Result<(), Refusal> {
        attempts
            .admit(username, address, now)
            .map(Admission::failed)
    }

    /// The right password, if it is checked at all.
    fn log_in(
        attempts: &Arc<PasswordAttempts>,
        username: &str,
        address: IpAddr,
        now: Instant,
    ) -> Result<(), Refusal> {
        let admission = attempts.admit(username, address, now)?;
        admission.succeeded(now);
        Ok(())
    }

    fn address(n: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    /// Two nodes, and what each tells the other.
    type Outboxes = Vec<mpsc::Receiver<AttemptNews>>;

    fn two_nodes() -> ([Arc<PasswordAttempts>; 2], Outboxes) {
        let nodes = [0, 1].map(|_| Arc::new(PasswordAttempts::new(policy())));
        let outboxes = (nodes.iter())
            .map(|node| {
                let (sender, receiver) = mpsc::channel(1_024);
                node.tell_to(sender);
                receiver
            })
            .collect();
        (nodes, outboxes)
    }

    /// Hands each node's news to the other, as the bus would.
    fn carry(nodes: &[Arc<PasswordAttempts>; 2], outboxes: &mut Outboxes, now: Instant) {
        for (from, outbox) in outboxes.iter_mut().enumerate() {
            while let Ok(news) = outbox.try_recv() {
                nodes[1 - from].apply_remote(news, now);
            }
        }
    }

    #[test]
    fn guesses_spread_over_nodes_share_one_count() {
        let (nodes, mut outboxes) = two_nodes();
        let start = Instant::now();
        for n in 0..10 {
            guess(&nodes[n % 2], "ann", address(1), start).unwrap();
            carry(&nodes, &mut outboxes, start);
        }
        for node in &nodes {
            assert!(matches!(
                guess(node, "ann", address(1), start),
                Err(Refusal::UsernameAtAddress { .. })
            ));
        }
        // An attempt taken back on one node is taken back on the other
        // (else node 1's tenth guess would be its eleventh).
        let dropped = nodes[0].admit("bob", address(2), start).unwrap();
        carry(&nodes, &mut outboxes, start);
        drop(dropped);
        carry(&nodes, &mut outboxes, start);
        for _ in 0..10 {
            guess(&nodes[1], "bob", address(2), start).unwrap();
        }
        carry(&nodes, &mut outboxes, start);
        assert!(guess(&nodes[0], "bob", address(2), start).is_err());
        assert!(log_in(&nodes[0], "bob", address(2), start).is_err());
        // The owner, elsewhere, logs in on one node: known there, and,
        // by the news, on the other.
        let later = start + Duration::from_secs(1);
        log_in(&nodes[0], "bob", address(3), later).unwrap();
        carry(&nodes, &mut outboxes, later);
        for _ in 0..10 {
            guess(&nodes[1], "bob", address(3), later).unwrap();
        }
    }

    #[test]
    fn one_address_gets_ten_guesses_at_one_username_and_no_more() {
        let attempts = Arc::new(PasswordAttempts::new(policy()));
        let start = Instant::now();
        for _ in 0..10 {
            guess(&attempts, "ann", address(1), start).unwrap();
        }
        // Counted on admission: no eleventh, even while the ten are checked.
        let refusal = guess(&attempts, "ann", address(1), start).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::UsernameAtAddress {
                retry_after: Duration::from_secs(900)
            }
        );
        // Other usernames from there, and ann from elsewhere, are fine.
        guess(&attempts, "bob", address(1), start).unwrap();
        guess(&attempts, "ann", address(2), start).unwrap();
        // The window ends: the address may try again.
        let later = start + Duration::from_secs(900);
        guess(&attempts, "ann", address(1), later).unwrap();
    }

    #[test]
    fn one_address_gets_a_hundred_guesses_across_usernames() {
        let attempts = Arc::new(PasswordAttempts::new(policy()));
        let now = Instant::now();
        for n in 0..100 {
            guess(&attempts, &format!("user{n}"), address(1), now).unwrap();
        }
        assert!(matches!(
            guess(&attempts, "ann", address(1), now),
            Err(Refusal::Address { .. })
        ));
        guess(&attempts, "ann", address(2), now).unwrap();
    }

    #[test]
    fn an_ipv6_client_is_one_address_per_56() {
        let attempts = Arc::new(PasswordAttempts::new(policy()));
        let now = Instant::now();
        for n in 0..10u128 {
            let within = std::net::Ipv6Addr::from(0x2001_0db8_0000_0001_0000_0000_0000_0000 + n);
            guess(&attempts, "ann", IpAddr::V6(within), now).unwrap();
        }
        let same_network = "2001:db8:0:1:ffff::1".parse().unwrap();
        assert!(guess(&attempts, "ann", same_network, now).is_err());
        let next_64 = "2001:db8:0:2::1".parse().unwrap();
        assert!(guess(&attempts, "ann", next_64, now).is_err());
        let next_56 = "2001:db8:0:100::1".parse().unwrap();
        guess(&attempts, "ann", next_56, now).unwrap();
    }

    #[test]
    fn an_attacked_username_paces_every_address_not_known_for_it() {
        let attempts = Arc::new(PasswordAttempts::new(policy()));
        let start = Instant::now();
        log_in(&attempts, "ann", address(999), start).unwrap();
        for n in 0..50 {
            guess(&attempts, "ann", address(n), start).unwrap();
        }
        // Past 50, an address is told to wait, failed before or not...
        for n in [0, 1000] {
            let refusal = guess(&attempts, "ann", address(n), start).unwrap_err();
            assert_eq!(
                refusal,
                Refusal::Backoff {
                    retry_after: Duration::from_secs(1)
                }
            );
        }
        // ...but the address ann logged in from is checked at once (its
        // failure is the 51st: the next pause is 2 s).
        guess(&attempts, "ann", address(999), start).unwrap();
        // One told to wait takes the open slot; then the next waits a
        // pause, growing to the cap, whoever asks.
        guess(&attempts, "ann", address(1000), start).unwrap();
        let mut now = start;
        for expected_s in [2, 4, 5, 5] {
            let pause = guess(&attempts, "ann", address(0), now).unwrap_err();
            assert_eq!(pause.retry_after(), Duration::from_secs(expected_s));
            // Refusals do not move the slot.
            assert_eq!(guess(&attempts, "ann", address(7), now), Err(pause));
            now += pause.retry_after();
            guess(&attempts, "ann", address(0), now).unwrap();
        }
    }

    #[test]
    fn the_owner_at_a_clean_address_is_never_refused() {
        let attempts = Arc::new(PasswordAttempts::new(policy()));
        let start = Instant::now();
        let owner = address(1_000_000);
        // 2,000 addresses each guessing until refused, over 15 minutes,
        // with the owner logging in every few seconds.
        let mut refused = 0;
        for second in 0..900u32 {
            let now = start + Duration::from_secs(u64::from(second));
            for n in 0..20 {
                let attacker = address(second % 100 * 20 + n);
                if guess(&attempts, "ann", attacker, now).is_err() {
                    refused += 1;
                }
            }
            if second % 7 == 0 {
                log_in(&attempts, "ann", owner, now).unwrap();
            }
        }
        assert!(refused > 15_000, "the attack was slowed: {refused} refused");
    }

    #[test]
    fn many_fresh_addresses_share_one_pace_past_the_threshold() {
        let attempts = Arc::new(PasswordAttempts::new(policy()));
        let start = Instant::now();
        // 5,000 addresses, each guessing once or twice a second for a
        // minute (as one that honours Retry-After would).
        let mut admitted = 0;
        for tenth in 0..600u32 {
            let now = start + Duration::from_millis(u64::from(tenth) * 100);
            for n in 0..10 {
                let guesser = address((tenth * 10 + n) % 5_000);
                if guess(&attempts, "ann", guesser, now).is_ok() {
                    admitted += 1;
                }
            }
        }
        // 50 before the pace, then one per pause (1, 2, 4, then 5 s).
        assert!(admitted <= 50 + 3 + 60 / 5 + 1, "{admitted} admitted");
    }

    #[test]
    fn the_owner_gets_a_slot_under_attack_and_a_known_address_is_never_paced() {
        let attempts = Arc::new(PasswordAttempts::new(policy()));
        let start = Instant::now();
        let home = address(1_000_000);
        log_in(&attempts, "ann", home, start).unwrap();
        let mut attacker_admitted = 0;
        let (mut typed_wrong, mut logged_in_on_the_road) = (Vec::new(), Vec::new());
        for second in 0..900u32 {
            let now = start + Duration::from_secs(u64::from(second));
            // 2,000 fresh addresses, 20 a second.
            for n in 0..20 {
                let attacker = address(second % 100 * 20 + n);
                if guess(&attempts, "ann", attacker, now).is_ok() {
                    attacker_admitted += 1;
                }
            }
            // The owner on the road: a new address each minute, trying
            // every 7 s; her first password is a typo, her second right.
            let minute = second / 60;
            let road = address(2_000_000 + minute);
            if second % 7 == 3 && logged_in_on_the_road.last() != Some(&minute) {
                if typed_wrong.last() != Some(&minute) {
                    if guess(&attempts, "ann", road, now).is_ok() {
                        typed_wrong.push(minute);
                    }
                } else if log_in(&attempts, "ann", road, now).is_ok() {
                    logged_in_on_the_road.push(minute);
                }
            }
            // And at home, where she logged in before: always checked.
            if second % 7 == 0 {
                log_in(&attempts, "ann", home, now).unwrap();
            }
        }
        assert_eq!(
            logged_in_on_the_road,
            (0..15).collect::<Vec<u32>>(),
            "every minute she got in from the road"
        );
        // 50 before the pace, then at most one a pause (5 s at most).
        assert!(attacker_admitted <= 50 + 3 + 900 / 5, "{attacker_admitted}");
    }

    #[test]
    fn a_success_makes_the_address_clean_and_does_not_count() {
        let attempts = Arc::new(PasswordAttempts::new(policy()));
        let now = Instant::now();
        for _ in 0..9 {
            guess(&attempts, "ann", address(1), now).unwrap();
        }
        log_in(&attempts, "ann", address(1), now).unwrap();
        for _ in 0..10 {
            guess(&attempts, "ann", address(1), now).unwrap();
        }
        let ann = attempts.keys("ann", address(1)).user;
        let counts = attempts.counts.lock().unwrap();
        assert_eq!(counts.usernames.map[&ann].failures, 19);
        assert_eq!(counts.addresses.map[&address(1)].failures, 19);
    }

    #[test]
    fn an_attempt_dropped_before_its_password_was_judged_is_taken_back() {
        let attempts = Arc::new(PasswordAttempts::new(policy()));
        let now = Instant::now();
        // Ten cancelled requests (client gone, hash pool busy) from one
        // address: none counts, so the owner there is not refused.
        for _ in 0..10 {
            drop(attempts.admit("ann", address(1), now).unwrap());
        }
        log_in(&attempts, "ann", address(1), now).unwrap();
        {
            let ann = attempts.keys("ann", address(1)).user;
            let counts = attempts.counts.lock().unwrap();
            assert_eq!(counts.usernames.map[&ann].failures, 0);
            assert_eq!(counts.addresses.map[&address(1)].failures, 0);
        }
        // A paced slot taken by a cancelled attempt opens again.
        for n in 0..50 {
            guess(&attempts, "ann", address(100 + n), now).unwrap();
        }
        assert!(guess(&attempts, "ann", address(2), now).is_err());
        drop(attempts.admit("ann", address(2), now).unwrap());
        guess(&attempts, "ann", address(3), now).unwrap_err();
        guess(&attempts, "ann", address(3), now).unwrap();
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
        let attempts = Arc::new(PasswordAttempts::new(AttemptPolicy {
            keys_max: 100,
            ..policy()
        }));
        let start = Instant::now();
        for n in 0..10_000 {
            let now = start + Duration::from_millis(u64::from(n));
            guess(&attempts, &format!("user{n}"), address(n), now).unwrap();
        }
        let newest = attempts.keys("user9999", address(1)).user;
        let counts = attempts.counts.lock().unwrap();
        assert!(counts.pairs.map.len() <= 100);
        assert!(counts.addresses.map.len() <= 100);
        assert!(counts.usernames.map.len() <= 100);
        drop(counts);
        for n in 0..10_000 {
            let now = start + Duration::from_millis(u64::from(n));
            log_in(&attempts, "ann", address(n), now).unwrap();
        }
        let counts = attempts.counts.lock().unwrap();
        assert!(counts.known.map.len() <= 100);
        // The newest are the ones kept.
        assert!(counts.usernames.map.contains_key(&newest));
    }
}
