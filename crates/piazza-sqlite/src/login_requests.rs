//! QR log-in requests in the store. A page asks for one (we keep hashes of
//! its secret and of the QR code's one-time code), a logged-in device
//! approves it — which creates the new device through the same
//! [`writes::create_session`] a password log-in uses, with a placeholder
//! token hash nobody knows a token for — and the page's next poll sets the
//! device's real token hash and takes the token, once. The token is made
//! at pick-up and never stored, so a copy of the database logs nobody in.

use piazza_domain::store::{
    DeviceSeen, LoginApproval, LoginOrigin, LoginRequestId, LoginRequestReview, LoginRequestStatus,
    NewLoginRequest, TokenHash,
};
use piazza_domain::{AccountId, DeviceId, DeviceName, Timestamp, Username};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};
use crate::writer::WriteCtx;
use crate::writes;

/// Live (unexpired) requests the whole server holds at most; past it, new
/// ones are refused until some expire. Each address is rate-limited
/// before it gets here; this bounds the table against many addresses.
pub const LIVE_MAX: i64 = 10_000;
/// How long after its expiry an approved request's token can still be
/// picked up, so an approval in the last second still reaches the page.
pub const TOKEN_PICKUP_GRACE_MS: i64 = 60_000;
/// How long an expired request is kept (so its page reads "expired"
/// rather than "not found") before creating new ones purges it.
const RETENTION_MS: i64 = 10 * 60_000;
/// Expired requests purged per new request at most, so one insert never
/// does unbounded work (each insert purges more than it adds).
const PURGE_BATCH: i64 = 16;

/// Stores a request; `false` when [`LIVE_MAX`] are live already.
pub fn create(ctx: &mut WriteCtx<'_>, request: NewLoginRequest) -> Result<bool> {
    let now = ctx.now.unix_ms();
    ctx.conn
        .prepare_cached(
            "DELETE FROM login_requests WHERE id IN
               (SELECT id FROM login_requests WHERE expires_at < ?1 LIMIT ?2)",
        )?
        .execute(params![
            now.saturating_sub(TOKEN_PICKUP_GRACE_MS + RETENTION_MS),
            PURGE_BATCH
        ])?;
    let live: i64 = ctx
        .conn
        .prepare_cached("SELECT COUNT(*) FROM login_requests WHERE expires_at > ?1")?
        .query_row([now], |row| row.get(0))?;
    if live >= LIVE_MAX {
        return Ok(false);
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO login_requests
               (id, code_hash, secret_hash, device_name, created_at, expires_at, browser, address,
                user_agent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            request.request_id.as_str(),
            &request.code_hash.0[..],
            &request.secret_hash.0[..],
            request.device_name.as_str(),
            now,
            request.expires_at.unix_ms(),
            request.origin.browser,
            request.origin.address,
            request.origin.user_agent,
        ])?;
    Ok(true)
}

/// A request looked up by its id and code, as an approving device sees it.
enum Lookup {
    NotFound,
    AlreadyUsed,
    Expired,
    Pending {
        device_name: String,
        origin: LoginOrigin,
        requested_at: Timestamp,
        expires_at: Timestamp,
    },
}

/// The one reading of a request for its approver, shared by [`review`] and
/// [`approve`]: used before expired, so a second approval is refused as a
/// repeat even once the time has also run out.
fn lookup(
    conn: &Connection,
    request: &LoginRequestId,
    code_hash: TokenHash,
    now: Timestamp,
) -> Result<Lookup> {
    type Found = (i64, i64, Option<i64>, String, LoginOrigin);
    let found: Option<Found> = conn
        .prepare_cached(
            "SELECT created_at, expires_at, approved_at, device_name, browser, address, user_agent
             FROM login_requests WHERE id = ?1 AND code_hash = ?2",
        )?
        .query_row(params![request.as_str(), &code_hash.0[..]], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                LoginOrigin {
                    browser: row.get(4)?,
                    address: row.get(5)?,
                    user_agent: row.get(6)?,
                },
            ))
        })
        .optional()?;
    let Some((created_at, expires_at, approved_at, device_name, origin)) = found else {
        return Ok(Lookup::NotFound);
    };
    if approved_at.is_some() {
        return Ok(Lookup::AlreadyUsed);
    }
    if expires_at <= now.unix_ms() {
        return Ok(Lookup::Expired);
    }
    Ok(Lookup::Pending {
        device_name,
        origin,
        requested_at: Timestamp::from_unix_ms(created_at),
        expires_at: Timestamp::from_unix_ms(expires_at),
    })
}

/// `account` approves the request with this id and code.
pub fn approve(
    ctx: &mut WriteCtx<'_>,
    account: AccountId,
    request: &LoginRequestId,
    code_hash: TokenHash,
    placeholder: TokenHash,
) -> Result<LoginApproval> {
    let (device_name, origin) = match lookup(ctx.conn, request, code_hash, ctx.now)? {
        Lookup::NotFound => return Ok(LoginApproval::NotFound),
        Lookup::AlreadyUsed => return Ok(LoginApproval::AlreadyUsed),
        Lookup::Expired => return Ok(LoginApproval::Expired),
        Lookup::Pending {
            device_name,
            origin,
            ..
        } => (device_name, origin),
    };
    let device_name = DeviceName::parse(&device_name)
        .map_err(|_| Error::Corrupt(format!("login request {request} has a bad device name")))?;
    // The same path as a password log-in, with its limit on devices. The
    // page is seen as it asked until it picks its token up.
    let seen = DeviceSeen {
        user_agent: origin.user_agent,
        address: Some(origin.address),
    };
    let device = writes::create_session(ctx, account, device_name, placeholder, &seen)?;
    ctx.conn
        .prepare_cached(
            "UPDATE login_requests SET account_id = ?1, device_id = ?2, approved_at = ?3
             WHERE id = ?4",
        )?
        .execute(params![
            account.row(),
            device.row(),
            ctx.now.unix_ms(),
            request.as_str()
        ])?;
    Ok(LoginApproval::Approved(device))
}

/// The request with this id and code, as a device that may approve it
/// sees it at `now`.
pub fn review(
    conn: &Connection,
    request: &LoginRequestId,
    code_hash: TokenHash,
    now: Timestamp,
) -> Result<LoginRequestReview> {
    Ok(match lookup(conn, request, code_hash, now)? {
        Lookup::NotFound => LoginRequestReview::NotFound,
        Lookup::AlreadyUsed => LoginRequestReview::AlreadyUsed,
        Lookup::Expired => LoginRequestReview::Expired,
        Lookup::Pending {
            origin,
            requested_at,
            expires_at,
            ..
        } => LoginRequestReview::Pending {
            origin,
            requested_at,
            expires_at,
        },
    })
}

/// The request with this id and secret, as its page sees it at `now`.
pub fn status(
    conn: &Connection,
    request: &LoginRequestId,
    secret_hash: TokenHash,
    now: Timestamp,
) -> Result<LoginRequestStatus> {
    type Found = (
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<i64>,
    );
    let found: Option<Found> = conn
        .prepare_cached(
            "SELECT r.expires_at, r.account_id, r.device_id, r.delivered_at,
                    a.username, d.revoked_at
             FROM login_requests r
             LEFT JOIN accounts a ON a.id = r.account_id
             LEFT JOIN devices d ON d.id = r.device_id
             WHERE r.id = ?1 AND r.secret_hash = ?2",
        )?
        .query_row(params![request.as_str(), &secret_hash.0[..]], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ))
        })
        .optional()?;
    let Some((expires_at, account, device, delivered_at, username, revoked_at)) = found else {
        return Ok(LoginRequestStatus::NotFound);
    };
    let now = now.unix_ms();
    let (Some(account), Some(device), Some(username)) = (account, device, username) else {
        let expires_at_ts = Timestamp::from_unix_ms(expires_at);
        return Ok(if expires_at > now {
            LoginRequestStatus::Pending {
                expires_at: expires_at_ts,
            }
        } else {
            LoginRequestStatus::Expired {
                expires_at: expires_at_ts,
            }
        });
    };
    let awaiting_token = delivered_at.is_none();
    // A device revoked before its page came for the token, or left waiting
    // past the grace, is never handed one.
    if awaiting_token
        && (revoked_at.is_some() || now > expires_at.saturating_add(TOKEN_PICKUP_GRACE_MS))
    {
        return Ok(LoginRequestStatus::Expired {
            expires_at: Timestamp::from_unix_ms(expires_at),
        });
    }
    Ok(LoginRequestStatus::Approved {
        account: AccountId::from_row(account),
        username: Username::from_store(username),
        device: DeviceId::from_row(device),
        awaiting_token,
    })
}

/// Gives the approved device `token_hash` if its token is still to be
/// picked up; returns the state found (see the `Store` method).
pub fn deliver(
    ctx: &mut WriteCtx<'_>,
    request: &LoginRequestId,
    secret_hash: TokenHash,
    token_hash: TokenHash,
    seen: &DeviceSeen,
) -> Result<LoginRequestStatus> {
    let found = status(ctx.conn, request, secret_hash, ctx.now)?;
    if let LoginRequestStatus::Approved {
        device,
        awaiting_token: true,
        ..
    } = &found
    {
        let changed = ctx
            .conn
            .prepare_cached(
                "UPDATE devices SET token_hash = ?1, last_seen_at = ?2, user_agent = ?3,
                        last_seen_address = ?4
                 WHERE id = ?5 AND revoked_at IS NULL",
            )?
            .execute(params![
                &token_hash.0[..],
                ctx.now.unix_ms(),
                seen.user_agent,
                seen.address,
                device.row()
            ])?;
        if changed != 1 {
            return Err(Error::Corrupt(format!(
                "login request {request} names a device that is gone"
            )));
        }
        ctx.conn
            .prepare_cached("UPDATE login_requests SET delivered_at = ?1 WHERE id = ?2")?
            .execute(params![ctx.now.unix_ms(), request.as_str()])?;
    }
    Ok(found)
}
