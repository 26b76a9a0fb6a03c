//! Log-in by QR code. A page asks (we keep hashes of its secret and of the
//! QR code's one-time code), a logged-in device approves it — which
//! creates the new device through the same [`accounts::create_session`] a
//! password log-in uses, with a placeholder token hash nobody knows a
//! token for — and the page's next poll sets the device's real token hash
//! and takes the token, once. The token is made at pick-up and never
//! stored, so a copy of the database logs nobody in.

use piazza_domain::store::{
    DeviceSeen, LoginApproval, LoginOrigin, LoginRequestId, LoginRequestReview, LoginRequestStatus,
    NewLoginRequest, StoreResult, TokenHash,
};
use piazza_domain::{AccountId, DeviceId, DeviceName, Timestamp, Username};

use crate::engine::{Error, Result, Tx};
use crate::{Core, accounts};

/// Live (unexpired) requests the whole server holds at most; past it, new
/// ones are refused until some expire. Each address is rate-limited
/// before it gets here; this bounds the table against many addresses.
pub const LIVE_MAX: usize = 10_000;
/// How long after its expiry an approved request's token can still be
/// picked up, so an approval in the last second still reaches the page.
pub const TOKEN_PICKUP_GRACE_MS: i64 = 60_000;
/// How long an expired request is kept (so its page reads "expired"
/// rather than "not found") before creating new ones purges it.
const RETENTION_MS: i64 = 10 * 60_000;
/// Expired requests purged per new request at most, so one insert never
/// does unbounded work (each insert purges more than it adds).
const PURGE_BATCH: u32 = 16;

/// A request as found by its id and code: what its approver reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByCode {
    pub requested_at: Timestamp,
    pub expires_at: Timestamp,
    pub approved: bool,
    /// The name the new device will have, as stored.
    pub device_name: String,
    pub origin: LoginOrigin,
}

/// A request as found by its id and secret: what its page reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BySecret {
    pub expires_at: Timestamp,
    /// Set once a device approved it.
    pub approval: Option<Approval>,
}

/// The device an approval created, as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub account: AccountId,
    pub username: Username,
    pub device: DeviceId,
    /// The device was revoked since.
    pub device_revoked: bool,
    /// The page has picked the device's token up.
    pub token_delivered: bool,
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    /// The request with this id whose code hashes to `code_hash`.
    fn login_request_by_code(
        &mut self,
        request: &LoginRequestId,
        code_hash: &TokenHash,
    ) -> Result<Option<ByCode>>;
    /// The request with this id whose secret hashes to `secret_hash`.
    fn login_request_by_secret(
        &mut self,
        request: &LoginRequestId,
        secret_hash: &TokenHash,
    ) -> Result<Option<BySecret>>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// Deletes up to `limit` requests that expired before `before`.
    fn purge_login_requests(&mut self, before: Timestamp, limit: u32) -> Result<()>;
    /// How many requests expire after `now`. A bound against floods, not
    /// an exact count: an engine with concurrent writers may let a few
    /// more in, one per racing creation.
    fn live_login_request_count(&mut self, now: Timestamp) -> Result<usize>;
    fn insert_login_request(&mut self, request: &NewLoginRequest, at: Timestamp) -> Result<()>;
    /// As [`Reads::login_request_by_code`], the request's row locked for
    /// the rest of the transaction (PostgreSQL: `SELECT … FOR UPDATE`), so
    /// that one request approves one device however many try at once.
    fn login_request_by_code_for_update(
        &mut self,
        request: &LoginRequestId,
        code_hash: &TokenHash,
    ) -> Result<Option<ByCode>>;
    /// As [`Reads::login_request_by_secret`], the request's row locked for
    /// the rest of the transaction, so exactly one poll takes the token.
    fn login_request_by_secret_for_update(
        &mut self,
        request: &LoginRequestId,
        secret_hash: &TokenHash,
    ) -> Result<Option<BySecret>>;
    /// The request was approved by `account` at `at`, creating `device`.
    fn mark_login_request_approved(
        &mut self,
        request: &LoginRequestId,
        account: AccountId,
        device: DeviceId,
        at: Timestamp,
    ) -> Result<()>;
    /// The page picked the token up at `at`.
    fn mark_login_token_delivered(&mut self, request: &LoginRequestId, at: Timestamp)
    -> Result<()>;
    /// Gives a live `device` the token hash `token_hash`, seen as `seen`
    /// at `at`; `false` when it is revoked or gone.
    fn replace_device_token(
        &mut self,
        device: DeviceId,
        token_hash: &TokenHash,
        seen: &DeviceSeen,
        at: Timestamp,
    ) -> Result<bool>;
}

/// Stores a request; `false` when [`LIVE_MAX`] are live already.
pub fn create(tx: &mut dyn Tx, request: &NewLoginRequest) -> Result<bool> {
    let now = tx.now();
    let purge_before = now
        .unix_ms()
        .saturating_sub(TOKEN_PICKUP_GRACE_MS + RETENTION_MS);
    tx.purge_login_requests(Timestamp::from_unix_ms(purge_before), PURGE_BATCH)?;
    if tx.live_login_request_count(now)? >= LIVE_MAX {
        return Ok(false);
    }
    tx.insert_login_request(request, now)?;
    Ok(true)
}

/// A request looked up by its id and code, as an approving device sees it.
enum Lookup {
    NotFound,
    AlreadyUsed,
    Expired,
    Pending(ByCode),
}

/// The one reading of a request for its approver, shared by [`review`] and
/// [`approve`]: used before expired, so a second approval is refused as a
/// repeat even once the time has also run out.
fn lookup(found: Option<ByCode>, now: Timestamp) -> Lookup {
    match found {
        None => Lookup::NotFound,
        Some(found) if found.approved => Lookup::AlreadyUsed,
        Some(found) if found.expires_at <= now => Lookup::Expired,
        Some(found) => Lookup::Pending(found),
    }
}

/// `account` approves the request with this id and code.
pub fn approve(
    tx: &mut dyn Tx,
    account: AccountId,
    request: &LoginRequestId,
    code_hash: &TokenHash,
    placeholder: &TokenHash,
) -> Result<LoginApproval> {
    let now = tx.now();
    let found = tx.login_request_by_code_for_update(request, code_hash)?;
    let found = match lookup(found, now) {
        Lookup::NotFound => return Ok(LoginApproval::NotFound),
        Lookup::AlreadyUsed => return Ok(LoginApproval::AlreadyUsed),
        Lookup::Expired => return Ok(LoginApproval::Expired),
        Lookup::Pending(found) => found,
    };
    let device_name = DeviceName::parse(&found.device_name)
        .map_err(|_| Error::Corrupt(format!("login request {request} has a bad device name")))?;
    // The same path as a password log-in, with its limit on devices. The
    // page is seen as it asked until it picks its token up.
    let seen = DeviceSeen {
        user_agent: found.origin.user_agent,
        address: Some(found.origin.address),
    };
    let device = accounts::create_session(tx, account, &device_name, placeholder, &seen, None)?;
    tx.mark_login_request_approved(request, account, device, now)?;
    Ok(LoginApproval::Approved(device))
}

/// The request with this id and code, as a device that may approve it
/// sees it at `now`.
pub fn review(found: Option<ByCode>, now: Timestamp) -> LoginRequestReview {
    match lookup(found, now) {
        Lookup::NotFound => LoginRequestReview::NotFound,
        Lookup::AlreadyUsed => LoginRequestReview::AlreadyUsed,
        Lookup::Expired => LoginRequestReview::Expired,
        Lookup::Pending(found) => LoginRequestReview::Pending {
            origin: found.origin,
            requested_at: found.requested_at,
            expires_at: found.expires_at,
        },
    }
}

/// The request with this id and secret, as its page sees it at `now`.
pub fn status(found: Option<BySecret>, now: Timestamp) -> LoginRequestStatus {
    let Some(found) = found else {
        return LoginRequestStatus::NotFound;
    };
    let expires_at = found.expires_at;
    let Some(approval) = found.approval else {
        return if expires_at > now {
            LoginRequestStatus::Pending { expires_at }
        } else {
            LoginRequestStatus::Expired { expires_at }
        };
    };
    let awaiting_token = !approval.token_delivered;
    // A device revoked before its page came for the token, or left waiting
    // past the grace, is never handed one.
    let pickup_over = now.unix_ms() > expires_at.unix_ms().saturating_add(TOKEN_PICKUP_GRACE_MS);
    if awaiting_token && (approval.device_revoked || pickup_over) {
        return LoginRequestStatus::Expired { expires_at };
    }
    LoginRequestStatus::Approved {
        account: approval.account,
        username: approval.username,
        device: approval.device,
        awaiting_token,
    }
}

/// Gives the approved device `token_hash` if its token is still to be
/// picked up; returns the state found (see [`Core::deliver_login_token`]).
pub fn deliver(
    tx: &mut dyn Tx,
    request: &LoginRequestId,
    secret_hash: &TokenHash,
    token_hash: &TokenHash,
    seen: &DeviceSeen,
) -> Result<LoginRequestStatus> {
    let now = tx.now();
    let found = status(
        tx.login_request_by_secret_for_update(request, secret_hash)?,
        now,
    );
    if let LoginRequestStatus::Approved {
        device,
        awaiting_token: true,
        ..
    } = &found
    {
        if !tx.replace_device_token(*device, token_hash, seen, now)? {
            return Err(Error::Corrupt(format!(
                "login request {request} names a device that is gone"
            )));
        }
        tx.mark_login_token_delivered(request, now)?;
    }
    Ok(found)
}

impl Core {
    /// Stores a new login request (hashes only); `false` when the server
    /// holds too many live ones already (try again once some expire).
    pub async fn create_login_request(&self, request: NewLoginRequest) -> StoreResult<bool> {
        self.write(move |tx| create(tx, &request)).await
    }

    /// `account` approves the request whose code hashes to `code_hash`: a
    /// new device of `account` is created, as a log-in creates one, with
    /// `placeholder` as its token hash until the page picks its real token
    /// up (nobody knows a token for the placeholder, so it cannot be used).
    pub async fn approve_login_request(
        &self,
        account: AccountId,
        request: LoginRequestId,
        code_hash: TokenHash,
        placeholder: TokenHash,
    ) -> StoreResult<LoginApproval> {
        self.write(move |tx| approve(tx, account, &request, &code_hash, &placeholder))
            .await
    }

    /// The request as an approver holding its code sees it at `now`: who
    /// asked (as the server saw them) and until when it can be approved.
    pub async fn review_login_request(
        &self,
        request: LoginRequestId,
        code_hash: TokenHash,
        now: Timestamp,
    ) -> StoreResult<LoginRequestReview> {
        self.read(move |read| {
            Ok(review(
                read.login_request_by_code(&request, &code_hash)?,
                now,
            ))
        })
        .await
    }

    /// The request as its page sees it at `now`, found by id and secret.
    pub async fn login_request_status(
        &self,
        request: LoginRequestId,
        secret_hash: TokenHash,
        now: Timestamp,
    ) -> StoreResult<LoginRequestStatus> {
        self.read(move |read| {
            Ok(status(
                read.login_request_by_secret(&request, &secret_hash)?,
                now,
            ))
        })
        .await
    }

    /// Hands the approved device its token, once: when the state found is
    /// `Approved { awaiting_token: true, .. }`, this call set the device's
    /// token hash to `token_hash` (and any later call finds
    /// `awaiting_token: false`), and recorded the page picking it up as
    /// the device's first sight (`seen`). Any other state is returned
    /// unchanged.
    pub async fn deliver_login_token(
        &self,
        request: LoginRequestId,
        secret_hash: TokenHash,
        token_hash: TokenHash,
        seen: DeviceSeen,
    ) -> StoreResult<LoginRequestStatus> {
        self.write(move |tx| deliver(tx, &request, &secret_hash, &token_hash, &seen))
            .await
    }
}
