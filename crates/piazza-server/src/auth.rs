//! Who is calling: session tokens, password hashing, and the extractor that
//! turns `Authorization: Bearer <token>` into an [`Auth`] every handler
//! that needs one takes. A handler that takes `Auth` cannot run for an
//! unauthenticated caller; that is the one place authentication happens.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use piazza_core::accounts::Caller;
use piazza_domain::store::{DeviceSeen, Session, TokenHash};
use piazza_domain::{AccountId, DeviceId, Password, Timestamp};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::App;
use crate::config::PasswordHashing;
use crate::error::ApiError;
use crate::password_attempts::{Admission, Refusal};

/// The caller, authenticated.
#[derive(Debug, Clone, Copy)]
pub struct Auth {
    pub account: AccountId,
    pub device: DeviceId,
}

const TOKEN_PREFIX: &str = "pz_";
/// A device's last-seen time is written at most this often.
const LAST_SEEN_RESOLUTION_MS: i64 = 60_000;

/// A fresh session token: 256 random bits. Only its SHA-256 is stored.
pub fn new_token() -> (String, TokenHash) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> TokenHash {
    TokenHash(Sha256::digest(token.as_bytes()).into())
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Looks a token up; every failure is the same 401. With `seen` (what
/// this request shows of the device), the device's last use is recorded:
/// at most once a minute, or at once when it comes from another address
/// or program than last time.
pub async fn authenticate(
    app: &App,
    token: &str,
    seen: Option<DeviceSeen>,
) -> Result<Auth, ApiError> {
    let token_hash = checked_hash(token)?;
    let session = read_session(app, token_hash).await?;
    if let Some(seen) = seen {
        record_seen(app, token_hash, &session, seen);
    }
    Ok(Auth {
        account: session.account_id,
        device: session.device_id,
    })
}

fn checked_hash(token: &str) -> Result<TokenHash, ApiError> {
    if token.is_empty() || token.len() > 128 {
        return Err(ApiError::unauthorized());
    }
    Ok(hash_token(token))
}

/// The live session of `token_hash`, read from the store (and remembered,
/// or forgotten, where the server remembers sessions).
async fn read_session(app: &App, token_hash: TokenHash) -> Result<Session, ApiError> {
    let found = app.store.authenticate(token_hash).await?;
    if let Some(sessions) = &app.sessions {
        match &found {
            Some(session) => sessions.remember(token_hash, session.clone()),
            None => sessions.forget(&token_hash),
        }
    }
    found.ok_or_else(ApiError::unauthorized)
}

fn record_seen(app: &App, token_hash: TokenHash, session: &Session, seen: DeviceSeen) {
    if !worth_recording(session, &seen) {
        return;
    }
    if let Some(sessions) = &app.sessions {
        let touched = Session {
            last_seen_at: Timestamp::now(),
            seen: seen.clone(),
            ..session.clone()
        };
        sessions.remember(token_hash, touched);
    }
    let store = app.store.clone();
    let device = session.device_id;
    tokio::spawn(async move {
        if let Err(error) = store.touch_device(device, seen).await {
            tracing::warn!(%error, "cannot record a device's last-seen time");
        }
    });
}

fn worth_recording(session: &Session, seen: &DeviceSeen) -> bool {
    Timestamp::now().unix_ms() - session.last_seen_at.unix_ms() > LAST_SEEN_RESOLUTION_MS
        || session.seen != *seen
}

/// What a request shows of the device making it: its `User-Agent` (as
/// `user_agent::stored` keeps it) and its address.
pub struct Seen(pub DeviceSeen);

impl Seen {
    pub fn of(parts: &Parts) -> DeviceSeen {
        DeviceSeen {
            user_agent: crate::user_agent::stored(parts.headers.get(header::USER_AGENT)),
            address: Some(client_address(parts).to_string()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Seen {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Seen, Self::Rejection> {
        Ok(Seen(Seen::of(parts)))
    }
}

impl FromRequestParts<App> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Auth, ApiError> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        let auth = authenticate(app, token, Some(Seen::of(parts))).await?;
        crate::rate_limit::charge_authenticated(app, parts, auth.account)?;
        Ok(auth)
    }
}

/// The caller of a write that takes a [`Caller`], which checks a session
/// remembered from an earlier request again inside its own transaction
/// (`session_cache`): answered from the remembered sessions where the
/// server keeps them, else read as for [`Auth`]. Only such writes take
/// it; every read takes [`Auth`].
pub struct WriteAuth(pub Caller);

impl FromRequestParts<App> for WriteAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<WriteAuth, ApiError> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        let token_hash = checked_hash(token)?;
        let remembered = app.sessions.as_ref().and_then(|s| s.get(&token_hash));
        let caller = match remembered {
            Some(session) => {
                record_seen(app, token_hash, &session, Seen::of(parts));
                Caller::remembered(session.account_id, session.device_id, token_hash)
            }
            None => {
                let session = read_session(app, token_hash).await?;
                record_seen(app, token_hash, &session, Seen::of(parts));
                Caller::from(session.account_id)
            }
        };
        crate::rate_limit::charge_authenticated(app, parts, caller.account)?;
        Ok(WriteAuth(caller))
    }
}

/// The token of a WebSocket upgrade: the header, or `?token=` for browsers,
/// which cannot set headers on a WebSocket.
pub fn socket_token(parts: &Parts) -> Option<String> {
    if let Some(token) = bearer(parts) {
        return Some(token.to_owned());
    }
    let query = parts.uri.query()?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .map(str::to_owned)
}

/// The address the request came from (unspecified in in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientAddr, Self::Rejection> {
        Ok(ClientAddr(client_address(parts)))
    }
}

fn client_address(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip())
}

/// Argon2id, computed on the blocking pool so it never stalls the runtime,
/// with a bound on how many run at once (each takes memory and a core).
pub struct PasswordHasherPool {
    params: Params,
    permits: tokio::sync::Semaphore,
}

impl PasswordHasherPool {
    pub fn new(cost: PasswordHashing, in_flight_max: usize) -> PasswordHasherPool {
        let params = Params::new(cost.memory_kib, cost.iterations, 1, None)
            .expect("valid Argon2 parameters");
        PasswordHasherPool {
            params,
            permits: tokio::sync::Semaphore::new(in_flight_max.max(1)),
        }
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Runs one Argon2 computation on the blocking pool, within the bound
    /// on how many run at once.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::unavailable("shutting down"))?;
        let argon2 = self.argon2();
        tokio::task::spawn_blocking(move || work(argon2))
            .await
            .map_err(|_| ApiError::unavailable("password hashing failed"))
    }

    pub async fn hash(&self, password: Password) -> Result<String, ApiError> {
        self.hash_secret(password.expose().to_owned()).await
    }

    /// Hashes any secret the same way, such as a payment PIN (which is not
    /// a `Password`: it is six digits, and the lock-out, not its length,
    /// is what protects it).
    pub async fn hash_secret(&self, secret: String) -> Result<String, ApiError> {
        self.run(move |argon2| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            argon2
                .hash_password(secret.as_bytes(), &salt)
                .map(|hash| hash.to_string())
        })
        .await?
        .map_err(|error| {
            tracing::error!(%error, "argon2 failed");
            ApiError::unavailable("password hashing failed")
        })
    }

    /// Checks `password` against a stored hash. With no stored hash (an
    /// unknown username) it still does the work, so timing does not reveal
    /// which usernames exist.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        self.run(move |argon2| match stored {
            Some(stored) => match PasswordHash::new(&stored) {
                Ok(parsed) => argon2.verify_password(password.as_bytes(), &parsed).is_ok(),
                Err(_) => false,
            },
            None => {
                let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
                let _ = argon2.hash_password(password.as_bytes(), &salt);
                false
            }
        })
        .await
    }
}

/// Whether a password for `username` may be checked for a client at
/// `address` now: 429 `too_many_login_attempts` with `Retry-After` if not.
/// Every route that checks an account password calls this first and
/// [`record_password_attempt`] after, so they share one count of wrong
/// passwords; the policy is in [`crate::password_attempts`]. The attempt
/// counts as failed from here, so concurrent guesses cannot all pass
/// before the first is counted; the [`Admission`] returned takes it back
/// if dropped unrecorded (the client went away, or the check failed with
/// a server error), since no password was judged.
pub fn check_password_attempt(
    app: &App,
    username: &str,
    address: IpAddr,
) -> Result<Admission, ApiError> {
    app.password_attempts
        .admit(username, address, Instant::now())
        .map_err(|refusal| {
            let detail = match refusal {
                Refusal::UsernameAtAddress { .. } | Refusal::Address { .. } => {
                    "too many wrong passwords from this address; wait and try again"
                }
                Refusal::Backoff { .. } => {
                    "many wrong passwords for this account lately; wait a few seconds and try again"
                }
            };
            ApiError::too_many(
                "too_many_login_attempts",
                detail,
                crate::rate_limit::whole_seconds(refusal.retry_after()),
            )
        })
}

/// Checks `password` against `account`'s own, as a step that wants it
/// again (a password change, deleting the account): counted with failed
/// log-ins and refused while they lock it out. Answers the hash it
/// matched, for the write to compare-and-set against; 403
/// `wrong_password` otherwise.
pub async fn verify_own_password(
    app: &App,
    account: AccountId,
    address: IpAddr,
    password: String,
) -> Result<String, ApiError> {
    let username = app.store.account(account).await?.username;
    let attempt = check_password_attempt(app, username.as_str(), address)?;
    let hash = app.store.password_hash(account).await?;
    let fits = password.len() <= piazza_domain::limits::PASSWORD_BYTES_MAX;
    let verified = fits && app.passwords.verify(password, Some(hash.clone())).await?;
    record_password_attempt(attempt, verified);
    if !verified {
        return Err(piazza_domain::Rejection::WrongPassword.into());
    }
    Ok(hash)
}

/// How the password checked after [`check_password_attempt`] came out. A
/// wrong one stays counted; a right one is taken back and makes the
/// address clean, and known, for the username.
pub fn record_password_attempt(attempt: Admission, succeeded: bool) {
    if succeeded {
        attempt.succeeded(Instant::now());
    } else {
        attempt.failed();
    }
}

/// Counts events per key (QR log-in requests per address) in a window
/// that starts at the key's first event; past the maximum the key is
/// refused until that window ends. Bounded: past `keys_max` keys, expired
/// ones are dropped, and if none are, the oldest are.
pub struct FailureLimiter {
    window: Duration,
    keys_max: usize,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl FailureLimiter {
    pub fn new(window: Duration, keys_max: usize) -> FailureLimiter {
        FailureLimiter {
            window,
            keys_max,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when `key` has failed `max` times in the window.
    pub fn check(&self, key: &str, max: u32) -> Result<(), u64> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        match failures.get(key) {
            Some((count, since)) if *count >= max => {
                // One reading of the clock: two could straddle the window's end.
                let remaining = self.window.saturating_sub(since.elapsed());
                if remaining.is_zero() {
                    Ok(())
                } else {
                    Err(remaining.as_secs() + 1)
                }
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if failures.len() >= self.keys_max && !failures.contains_key(key) {
            let window = self.window;
            failures.retain(|_, (_, since)| now.duration_since(*since) < window);
            if failures.len() >= self.keys_max {
                let oldest = failures
                    .iter()
                    .min_by_key(|(_, (_, since))| *since)
                    .map(|(key, _)| key.clone());
                if let Some(oldest) = oldest {
                    failures.remove(&oldest);
                }
            }
        }
        let entry = failures.entry(key.to_owned()).or_insert((0, now));
        if now.duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        entry.0 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with("pz_") && a.len() == 3 + 43);
        assert_eq!(hash_token(&a), hash_a);
    }

    #[test]
    fn limiter_refuses_after_max_per_key() {
        let limiter = FailureLimiter::new(Duration::from_secs(60), 10);
        for _ in 0..3 {
            assert!(limiter.check("u:ann", 3).is_ok());
            limiter.record_failure("u:ann");
        }
        let wait = limiter.check("u:ann", 3).unwrap_err();
        assert!((1..=61).contains(&wait));
        assert!(limiter.check("u:bob", 3).is_ok());
    }

    #[test]
    fn limiter_stays_bounded() {
        let limiter = FailureLimiter::new(Duration::from_secs(60), 100);
        for n in 0..1000 {
            limiter.record_failure(&format!("ip:{n}"));
        }
        assert!(limiter.failures.lock().unwrap().len() <= 100);
    }
}
