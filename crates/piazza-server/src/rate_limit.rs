//! Request rate limits: how fast one account, or one address without an
//! account, may call the server, and how fast one WebSocket may send.
//!
//! - An authenticated request is charged to its account, in the `Auth`
//!   extractor (the one place that knows the account), so every device of
//!   the account shares one bucket.
//! - Everything else is charged to the client's address before it runs: a
//!   request without a token, and any request to a route that needs none
//!   (so a made-up token does not buy a way around the address's limit).
//!   A request that carried a token and was still not authenticated (a 401)
//!   is charged to its address afterwards; once the address is out of
//!   tokens those 401s become 429s, so guessing tokens is limited too.
//! - WebSocket frames are not HTTP requests: each socket has its own
//!   bucket ([`SocketRate`]), so a busy chat socket never drains its
//!   account's HTTP allowance.
//!
//! Every bucket is a GCRA (the generic cell rate algorithm, a token bucket
//! kept as one instant per key): `per_s` tokens a second, up to `burst` at
//! once. Refused: 429 problem+json `rate_limited` with `Retry-After` in
//! whole seconds, at least 1. The maps are bounded by `rate_limit_keys_max`:
//! a key whose bucket is full again is forgotten (it is the same as a new
//! one), and when every key is busy the half closest to full is dropped,
//! so a flood of distinct addresses costs bounded memory and amortised
//! constant time.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use piazza_domain::AccountId;

use crate::App;
use crate::config::Limits;
use crate::error::ApiError;

/// The keyed limiters of a server: requests by account and by address,
/// and the changes that fan out to many logs, by account.
pub struct RateLimits {
    accounts: KeyedLimiter<AccountId>,
    addresses: KeyedLimiter<IpAddr>,
    profile_changes: KeyedLimiter<AccountId>,
    group_changes: KeyedLimiter<AccountId>,
}

/// A change whose events fan out to many logs, limited per account on
/// top of the request rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanOut {
    /// `PATCH /me`: `account.updated` to every contact.
    Profile,
    /// `PATCH /conversations/{id}`: `conversation.updated` to every member.
    Group,
}

impl RateLimits {
    pub fn new(limits: &Limits) -> RateLimits {
        RateLimits {
            accounts: KeyedLimiter::new(
                Gcra::new(
                    limits.requests_per_account_per_s,
                    limits.requests_per_account_burst,
                ),
                limits.rate_limit_keys_max,
            ),
            addresses: KeyedLimiter::new(
                Gcra::new(
                    limits.anonymous_requests_per_address_per_s,
                    limits.anonymous_requests_per_address_burst,
                ),
                limits.rate_limit_keys_max,
            ),
            profile_changes: KeyedLimiter::new(fan_out_rate(limits), limits.rate_limit_keys_max),
            group_changes: KeyedLimiter::new(fan_out_rate(limits), limits.rate_limit_keys_max),
        }
    }

    /// One change of `account` that fans out (see [`FanOut`]), or 429.
    pub fn charge_fan_out(&self, account: AccountId, change: FanOut) -> Result<(), ApiError> {
        let limiter = match change {
            FanOut::Profile => &self.profile_changes,
            FanOut::Group => &self.group_changes,
        };
        limiter.take(account).map_err(|wait| {
            let seconds = whole_seconds(wait);
            ApiError::too_many(
                "rate_limited",
                format!("too many changes from this account; retry in {seconds} s"),
                seconds,
            )
        })
    }

    /// One request of `account`, or 429.
    pub fn charge_account(&self, account: AccountId) -> Result<(), ApiError> {
        self.accounts
            .take(account)
            .map_err(|wait| too_many("this account", wait))
    }

    /// One anonymous request from `address`, or 429.
    pub fn charge_address(&self, address: IpAddr) -> Result<(), ApiError> {
        self.addresses
            .take(address_key(address))
            .map_err(|wait| too_many("this address", wait))
    }
}

/// Charges an authenticated request to its account, and tells the
/// middleware it was authenticated (so its address is not charged).
pub fn charge_authenticated(app: &App, parts: &Parts, account: AccountId) -> Result<(), ApiError> {
    if let Some(marker) = parts.extensions.get::<Authenticated>() {
        marker.0.store(true, Ordering::Relaxed);
    }
    app.rate_limits.charge_account(account)
}

/// Set by [`charge_authenticated`]; read by [`middleware`] once the
/// handler has answered.
#[derive(Clone, Default)]
struct Authenticated(Arc<AtomicBool>);

/// Routes that take no session token: always charged to the address.
/// A route missing here that needs no token could be called past the
/// address's limit by sending a made-up token (a test checks this list
/// against the OpenAPI document).
pub const ANONYMOUS_ROUTES: [&str; 15] = [
    "/api/v1/accounts",
    "/api/v1/sessions",
    "/api/v1/login-requests",
    "/api/v1/login-requests/{id}",
    "/api/v1/openapi.json",
    "/healthz",
    // The channels' public pages (`routes/channel_pages.rs`).
    "/c/{handle}",
    "/c/{handle}/{article_id}",
    "/c/{handle}/feed.atom",
    "/c/-/media/{id}",
    "/c/-/media/{id}/thumbnail",
    // The shops' public pages (`routes/shop_pages.rs`).
    "/s/{handle}",
    "/s/{handle}/{product_id}",
    "/s/-/media/{id}",
    "/s/-/media/{id}/thumbnail",
];

/// The address half of the rules above (the account half is in the `Auth`
/// extractor). Also marks every answer `X-Content-Type-Options: nosniff`,
/// so a browser never runs an API answer as a script or a page.
pub async fn middleware(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
    // Unmatched paths (the web pages, 404s) have no matched path: anonymous.
    let anonymous_route = request
        .extensions()
        .get::<MatchedPath>()
        .is_none_or(|path| ANONYMOUS_ROUTES.contains(&path.as_str()));
    let mut response = if anonymous_route || !carries_token(&request) {
        match app.rate_limits.charge_address(address) {
            Ok(()) => next.run(request).await,
            Err(refused) => refused.into_response(),
        }
    } else {
        let authenticated = Authenticated::default();
        request.extensions_mut().insert(authenticated.clone());
        let response = next.run(request).await;
        if authenticated.0.load(Ordering::Relaxed) {
            response
        } else {
            match app.rate_limits.charge_address(address) {
                Err(refused) if response.status() == StatusCode::UNAUTHORIZED => {
                    refused.into_response()
                }
                _ => response,
            }
        }
    };
    response
        .headers_mut()
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    response
}

/// A bearer header or a `?token=` (WebSocket upgrades from browsers).
fn carries_token(request: &Request) -> bool {
    request.headers().contains_key(header::AUTHORIZATION)
        || request
            .uri()
            .query()
            .is_some_and(|query| query.split('&').any(|pair| pair.starts_with("token=")))
}

fn too_many(whom: &str, wait: Duration) -> ApiError {
    let seconds = whole_seconds(wait);
    ApiError::too_many(
        "rate_limited",
        format!("too many requests from {whom}; retry in {seconds} s"),
        seconds,
    )
}

/// `profile_changes_per_account_per_min` a minute, all of them at once.
fn fan_out_rate(limits: &Limits) -> Gcra {
    Gcra::per_window(
        limits.profile_changes_per_account_per_min,
        Duration::from_secs(60),
    )
}

/// A wait rounded up to whole seconds, at least one (`Retry-After`).
pub(crate) fn whole_seconds(wait: Duration) -> u64 {
    u64::try_from(wait.as_nanos().div_ceil(1_000_000_000))
        .unwrap_or(u64::MAX)
        .max(1)
}

/// IPv6 clients usually hold a whole /64, so that is one key; an
/// IPv4-mapped address is the IPv4 address it maps.
pub(crate) fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

/// One rate: a token every `interval`, up to `burst` tokens saved up. The
/// state of a bucket is one instant, its "theoretical arrival time": the
/// bucket is full when it is not in the future.
#[derive(Debug, Clone, Copy)]
struct Gcra {
    interval: Duration,
    burst_span: Duration,
}

impl Gcra {
    fn new(per_s: u32, burst: u32) -> Gcra {
        Gcra::per_window(per_s, Duration::from_secs(1)).with_burst(burst)
    }

    /// `count` tokens per `window`, all of which may be taken at once.
    fn per_window(count: u32, window: Duration) -> Gcra {
        let count = count.max(1);
        let interval = (window / count).max(Duration::from_nanos(1));
        Gcra {
            interval,
            burst_span: interval.saturating_mul(count),
        }
    }

    fn with_burst(self, burst: u32) -> Gcra {
        Gcra {
            burst_span: self.interval.saturating_mul(burst.max(1)),
            ..self
        }
    }

    /// Takes one token, or says how long until one is free.
    fn take(&self, arrival: &mut Instant, now: Instant) -> Result<(), Duration> {
        let next = (*arrival).max(now) + self.interval;
        let ahead = next - now;
        if ahead > self.burst_span {
            Err(ahead - self.burst_span)
        } else {
            *arrival = next;
            Ok(())
        }
    }
}

/// GCRA buckets by key, at most `keys_max` of them.
struct KeyedLimiter<K> {
    rate: Gcra,
    keys_max: usize,
    arrivals: Mutex<HashMap<K, Instant>>,
}

impl<K: Hash + Eq + Copy> KeyedLimiter<K> {
    fn new(rate: Gcra, keys_max: usize) -> KeyedLimiter<K> {
        KeyedLimiter {
            rate,
            keys_max: keys_max.max(2),
            arrivals: Mutex::new(HashMap::new()),
        }
    }

    fn take(&self, key: K) -> Result<(), Duration> {
        let mut arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if arrivals.len() >= self.keys_max && !arrivals.contains_key(&key) {
            make_room(&mut arrivals, now, self.keys_max);
        }
        let arrival = arrivals.entry(key).or_insert(now);
        self.rate.take(arrival, now)
    }
}

/// Forgets every full bucket; if that is not enough, the half of the busy
/// ones closest to full, so the next `keys_max / 2` new keys fit without
/// another sweep.
fn make_room<K: Hash + Eq>(arrivals: &mut HashMap<K, Instant>, now: Instant, keys_max: usize) {
    arrivals.retain(|_, arrival| *arrival > now);
    if arrivals.len() < keys_max {
        return;
    }
    let mut instants: Vec<Instant> = arrivals.values().copied().collect();
    let middle = instants.len() / 2;
    let (_, threshold, _) = instants.select_nth_unstable(middle);
    let threshold = *threshold;
    arrivals.retain(|_, arrival| *arrival > threshold);
}

/// What a socket does with the frame it just received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Accept,
    /// Answer it with a `rate_limited` error frame; retry after this many
    /// whole seconds.
    Refuse {
        retry_after_s: u64,
    },
    /// The client kept sending past its rate: more than
    /// `socket_refusals_max` refusals within `socket_refusals_window_s`.
    /// Close the socket (1008, policy violation).
    Close,
}

/// One socket's frame rate. Frames past it are refused one by one; the
/// refusals themselves are counted by a second bucket, which a sustained
/// excess empties and which then closes the socket. A count of refusals
/// "in a row" is not enough: a flood lets the first bucket refill now and
/// then, and each frame taken would start the count over (an outside flood
/// was answered 27,614 refusals and never closed).
pub struct SocketRate {
    rate: Gcra,
    arrival: Instant,
    refusals: Gcra,
    refusals_arrival: Instant,
}

impl SocketRate {
    pub fn new(limits: &Limits) -> SocketRate {
        let now = Instant::now();
        SocketRate {
            rate: Gcra::new(limits.socket_messages_per_s, limits.socket_messages_burst),
            arrival: now,
            refusals: Gcra::per_window(
                limits.socket_refusals_max,
                Duration::from_secs(limits.socket_refusals_window_s),
            ),
            refusals_arrival: now,
        }
    }

    pub fn admit(&mut self) -> Admission {
        self.admit_at(Instant::now())
    }

    fn admit_at(&mut self, now: Instant) -> Admission {
        match self.rate.take(&mut self.arrival, now) {
            Ok(()) => Admission::Accept,
            Err(wait) => match self.refusals.take(&mut self.refusals_arrival, now) {
                Ok(()) => Admission::Refuse {
                    retry_after_s: whole_seconds(wait),
                },
                Err(_) => Admission::Close,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_one_token_per_interval() {
        let rate = Gcra::new(10, 3);
        let start = Instant::now();
        let mut arrival = start;
        for _ in 0..3 {
            assert_eq!(rate.take(&mut arrival, start), Ok(()));
        }
        let wait = rate.take(&mut arrival, start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        assert_eq!(rate.take(&mut arrival, start + wait), Ok(()));
        assert!(rate.take(&mut arrival, start + wait).is_err());
        // Idle long enough, the bucket is full again and no fuller.
        let later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(rate.take(&mut arrival, later), Ok(()));
        }
        assert!(rate.take(&mut arrival, later).is_err());
    }

    #[test]
    fn profile_and_group_changes_have_buckets_of_their_own() {
        let limits = Limits {
            profile_changes_per_account_per_min: 2,
            ..Limits::default()
        };
        let limits = RateLimits::new(&limits);
        let (ann, bob) = (AccountId::from_row(1), AccountId::from_row(2));
        for _ in 0..2 {
            limits.charge_fan_out(ann, FanOut::Profile).unwrap();
        }
        let refused = limits.charge_fan_out(ann, FanOut::Profile).unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after_s, Some(30));
        assert!(limits.charge_fan_out(ann, FanOut::Group).is_ok());
        assert!(limits.charge_fan_out(bob, FanOut::Profile).is_ok());
        assert!(limits.charge_account(ann).is_ok(), "other requests go on");
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1001)), 2);
    }

    #[test]
    fn keys_are_separate_and_the_map_stays_bounded() {
        // One token a second and a burst of one: within this test every
        // key stays busy, so none is forgotten for being full again.
        let limiter = KeyedLimiter::new(Gcra::new(1, 1), 100);
        limiter.take(1u32).unwrap();
        assert!(limiter.take(1u32).is_err());
        assert!(limiter.take(2u32).is_ok());
        for key in 3..10_000u32 {
            let _ = limiter.take(key);
            assert!(limiter.arrivals.lock().unwrap().len() <= 100);
        }
    }

    #[test]
    fn an_ipv6_client_is_one_key_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_socket_that_ignores_refusals_is_closed() {
        let limits = Limits {
            socket_messages_per_s: 1,
            socket_messages_burst: 2,
            socket_refusals_max: 2,
            ..Limits::default()
        };
        let mut rate = SocketRate::new(&limits);
        assert_eq!(rate.admit(), Admission::Accept);
        assert_eq!(rate.admit(), Admission::Accept);
        assert!(matches!(
            rate.admit(),
            Admission::Refuse { retry_after_s: 1 }
        ));
        assert!(matches!(rate.admit(), Admission::Refuse { .. }));
        assert_eq!(rate.admit(), Admission::Close);
    }

    /// The flood that was never closed: ten frames a second against one
    /// allowed, so one frame in ten is taken between the refusals.
    #[test]
    fn a_flood_with_frames_taken_in_between_is_still_closed() {
        let limits = Limits {
            socket_messages_per_s: 1,
            socket_messages_burst: 1,
            socket_refusals_max: 20,
            socket_refusals_window_s: 10,
            ..Limits::default()
        };
        let mut rate = SocketRate::new(&limits);
        let start = Instant::now();
        let mut accepted = 0;
        let mut refused = 0;
        for frame in 0..1_000u64 {
            match rate.admit_at(start + Duration::from_millis(100 * frame)) {
                Admission::Accept => accepted += 1,
                Admission::Refuse { .. } => refused += 1,
                Admission::Close => break,
            }
        }
        assert!(accepted > 1, "frames were taken in between: {accepted}");
        // Twenty at once, and two a second forgiven meanwhile.
        assert!((20..=26).contains(&refused), "{refused} refusals");
    }

    #[test]
    fn a_socket_at_its_rate_with_bursts_now_and_then_stays_open() {
        let limits = Limits {
            socket_messages_per_s: 10,
            socket_messages_burst: 10,
            socket_refusals_max: 5,
            socket_refusals_window_s: 1,
            ..Limits::default()
        };
        let mut rate = SocketRate::new(&limits);
        let start = Instant::now();
        // Fifteen frames at once every second: ten taken, five refused,
        // and both buckets full again a second later.
        for second in 0..60u64 {
            let at = start + Duration::from_secs(second);
            let answers: Vec<_> = (0..15).map(|_| rate.admit_at(at)).collect();
            let accepted = answers.iter().filter(|a| **a == Admission::Accept).count();
            assert_eq!(accepted, 10, "second {second}: {answers:?}");
            assert!(!answers.contains(&Admission::Close), "second {second}");
        }
    }
}
