//! Accounts, sessions and devices.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use piazza_api::{
    AccountDeleted, AccountView, CreateAccount, CreateSession, DeleteAccount, DeviceClient,
    DeviceList, DeviceView, Problem, SessionCreated,
};
use piazza_domain::store::{Account, Device};
use piazza_domain::{DeviceId, DeviceName, DisplayName, Password, Username};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::{
    Auth, ClientAddr, Seen, check_password_attempt, new_token, record_password_attempt,
};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::routes::paging::{ListQuery, next_cursor};
use crate::user_agent::BrowserKind;

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_account))
        .routes(routes!(create_session))
        .routes(routes!(me))
        .routes(routes!(devices))
        .routes(routes!(revoke_device))
        .routes(routes!(delete_account))
}

pub fn account_view(account: &Account) -> AccountView {
    AccountView {
        account_id: account.account_id.to_string(),
        username: account.username.to_string(),
        display_name: account.display_name.clone(),
        avatar_media_id: account.avatar_media_id.map(|media| media.to_string()),
        bio: None,
    }
}

/// Create an account.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = CreateAccount,
    responses(
        (status = 201, body = AccountView),
        (status = 400, description = "invalid username, password or display name", body = Problem),
        (status = 409, description = "username_taken", body = Problem),
    ))]
pub async fn create_account(
    State(app): State<App>,
    Json(body): Json<CreateAccount>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    let username = Username::parse(&body.username)?;
    let password = Password::parse(&body.password)?;
    let display_name = match body.display_name.as_deref() {
        Some(name) => DisplayName::parse(name)?,
        None => DisplayName::from_username(&username),
    };
    let hash = app.passwords.hash(password).await?;
    let account = app
        .store
        .create_account(username, display_name, hash)
        .await?;
    Ok((StatusCode::CREATED, Json(account_view(&account))))
}

/// Log in on a new device; the answer's token authenticates it.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts", request_body = CreateSession,
    responses(
        (status = 201, body = SessionCreated),
        (status = 400, body = Problem),
        (status = 401, description = "wrong username or password (the same answer for both)", body = Problem),
        (status = 429, description = "too_many_login_attempts: too many wrong passwords from this address (for this username, or for any), or, for a username under attack, a short wait for its shared pace (addresses without a right password for it lately); see Retry-After", body = Problem),
    ))]
pub async fn create_session(
    State(app): State<App>,
    ClientAddr(address): ClientAddr,
    Seen(seen): Seen,
    Json(body): Json<CreateSession>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    let device_name = DeviceName::parse(&body.device_name)?;
    let wrong = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong_credentials",
            "wrong username or password",
        )
    };
    let attempt = check_password_attempt(&app, &body.username, address)?;
    // A username that cannot exist is answered like any other wrong one.
    let username = Username::parse(&body.username).ok();
    let password_ok = body.password.len() <= piazza_domain::limits::PASSWORD_BYTES_MAX;
    let credentials = match &username {
        Some(username) => app.store.credentials(username).await?,
        None => None,
    };
    let verified = password_ok
        && app
            .passwords
            .verify(
                body.password,
                credentials
                    .as_ref()
                    .map(|found| found.password_hash.clone()),
            )
            .await?;
    let credentials = credentials.filter(|_| verified);
    record_password_attempt(attempt, credentials.is_some());
    let Some(credentials) = credentials else {
        return Err(wrong());
    };
    let (token, hash) = new_token();
    let device = app
        .store
        .create_session(
            credentials.account_id,
            device_name,
            hash,
            seen,
            Some(credentials.password_hash),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SessionCreated {
            token,
            device_id: device.to_string(),
            account_id: credentials.account_id.to_string(),
        }),
    ))
}

/// The calling account, with its avatar and bio.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = AccountView), (status = 401, body = Problem)))]
pub async fn me(State(app): State<App>, auth: Auth) -> Result<Json<AccountView>, ApiError> {
    let account = app.store.account(auth.account).await?;
    Ok(Json(crate::routes::profiles::me_view(&account)))
}

/// The account's logged-in devices.
#[utoipa::path(get, path = "/api/v1/devices", tag = "accounts", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = DeviceList), (status = 400, description = "invalid_cursor or invalid_limit", body = Problem), (status = 401, body = Problem)))]
pub async fn devices(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<ListQuery>,
) -> Result<Json<DeviceList>, ApiError> {
    let after = query.after(|key| DeviceId::parse(key).ok())?;
    let page = app
        .store
        .devices(auth.account, after, query.limit()?)
        .await?;
    let next_cursor = next_cursor(
        page.has_more,
        page.items.last().map(|d| d.device_id.to_string()),
    );
    let devices = page
        .items
        .into_iter()
        .map(|device| device_view(device, auth))
        .collect();
    Ok(Json(DeviceList {
        devices,
        has_more: page.has_more,
        next_cursor,
    }))
}

/// What a `User-Agent` says the device is, as the API's codes.
pub fn device_client(user_agent: &str) -> DeviceClient {
    let kind = BrowserKind::from_user_agent(user_agent);
    DeviceClient {
        app: kind.family.code().to_owned(),
        system: kind.system.code().to_owned(),
    }
}

fn device_view(device: Device, auth: Auth) -> DeviceView {
    let client = device.seen.user_agent.as_deref().map(device_client);
    DeviceView {
        device_id: device.device_id.to_string(),
        device_name: device.device_name,
        created_at: device.created_at.to_rfc3339(),
        last_seen_at: device.last_seen_at.to_rfc3339(),
        current: device.device_id == auth.device,
        user_agent: device.seen.user_agent,
        last_seen_address: device.seen.address,
        client,
    }
}

/// Log a device out: its token stops working and its sockets close.
#[utoipa::path(delete, path = "/api/v1/devices/{device_id}", tag = "accounts", security(("bearer" = [])),
    params(("device_id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, description = "device_not_found", body = Problem)))]
pub async fn revoke_device(
    State(app): State<App>,
    auth: Auth,
    Path(device): Path<String>,
) -> Result<StatusCode, ApiError> {
    let device = DeviceId::parse(&device)
        .map_err(|_| ApiError::from(piazza_domain::Rejection::DeviceNotFound))?;
    app.store.revoke_device(auth.account, device).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete your account, with your password. At once it is deactivated:
/// every device is signed out, everyone sees it as "Deleted account"
/// (its username nowhere), and nothing reaches it (requests, messages:
/// `account_deleted`). Logging in with the password within
/// `limits.account_deletion_grace_s` (7 days) restores it whole; after
/// that it is erased: its contacts, requests, blocks and contact code go,
/// its username is free again, its messages stay in others'
/// conversations from "Deleted account", and its ledger history stays,
/// tied to no one. A wallet holding money is refused: withdraw it first.
#[utoipa::path(delete, path = "/api/v1/accounts/me", tag = "accounts", security(("bearer" = [])),
    request_body = DeleteAccount,
    responses(
        (status = 200, body = AccountDeleted),
        (status = 401, description = "unauthorized", body = Problem),
        (status = 403, description = "wrong_password", body = Problem),
        (status = 409, description = "wallet_not_empty: withdraw the balance first", body = Problem),
        (status = 429, description = "too_many_login_attempts: failed password checks, log-ins included; see Retry-After", body = Problem),
    ))]
pub async fn delete_account(
    State(app): State<App>,
    auth: Auth,
    ClientAddr(address): ClientAddr,
    Json(body): Json<DeleteAccount>,
) -> Result<Json<AccountDeleted>, ApiError> {
    let hash = crate::auth::verify_own_password(&app, auth.account, address, body.password).await?;
    let grace_ms = crate::config::ms(app.limits.account_deletion_grace_s);
    let erase_at = app
        .store
        .delete_account(auth.account, auth.device, hash, app.currency, grace_ms)
        .await?;
    Ok(Json(AccountDeleted {
        erase_at: erase_at.to_rfc3339(),
    }))
}
