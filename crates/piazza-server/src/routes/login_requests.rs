//! Log-in by QR code. A page that is not logged in asks for a request and
//! shows its QR code; a device that is logged in scans it and approves,
//! which makes a new device of its account; the page, polling with the
//! secret only it knows, picks that device's token up once.
//!
//! Three values keep it safe: the request id names it; the one-time code
//! (only in the QR code) proves the approver saw the page; the secret
//! (never in the QR code) proves the poller is the page. Only hashes of
//! the code and the secret are stored, and the token is made when the page
//! picks it up, so it is never stored at all.
//!
//! The code proves the approver saw *a* page, not that it is the person's
//! own: a phishing page can show a real code. So the server records what
//! it observed of the page when the request is made (its browser kind
//! from the `User-Agent`, its address), the approver reads that with
//! [`details`] and shows it, and [`approve`] needs an explicit
//! `confirm: true`. Nothing the page wrote about itself is shown.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use piazza_api::{
    ApproveLogin, CreateLoginRequest, LoginRequestCreated, LoginRequestDetails, LoginRequestView,
    Problem,
};
use piazza_domain::store::{
    LoginApproval, LoginOrigin, LoginRequestId, LoginRequestReview, LoginRequestStatus,
    NewLoginRequest, TokenHash,
};
use piazza_domain::{DeviceName, Timestamp};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::{Auth, ClientAddr, Seen, new_token};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::user_agent::BrowserKind;

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(status))
        .routes(routes!(details))
        .routes(routes!(approve))
}

/// How long a request can be approved (the issue asks for two minutes).
pub const LOGIN_REQUEST_TTL_MS: i64 = 2 * 60 * 1000;
/// Requests one address may create per login-failure window (15 minutes by
/// default): a page makes one every two minutes, so this leaves room for
/// several tabs and reloads while bounding what one address can store.
pub const LOGIN_REQUESTS_PER_ADDRESS_MAX: u32 = 60;
/// What a QR log-in payload starts with.
pub const QR_PREFIX: &str = "piazza-login:";
/// The header a page may send its secret in instead of `?secret=`.
pub const SECRET_HEADER: &str = "x-login-secret";
/// The header an approver may send the QR code's code in instead of `?code=`.
pub const CODE_HEADER: &str = "x-login-code";
/// Longer codes and secrets than these were never issued.
const CODE_CHARS_MAX: usize = 64;

/// The hash the store keeps of a QR code's one-time code. Both values are
/// random and long, so one round of SHA-256 is enough (unlike passwords);
/// the purpose is mixed in so a code can never pass for a secret or token.
pub fn code_hash(code: &str) -> TokenHash {
    purpose_hash("login-code", code)
}

/// The hash the store keeps of a page's secret.
pub fn secret_hash(secret: &str) -> TokenHash {
    purpose_hash("login-secret", secret)
}

fn purpose_hash(purpose: &str, value: &str) -> TokenHash {
    let mut hasher = Sha256::new();
    hasher.update(purpose.as_bytes());
    hasher.update(b":");
    hasher.update(value.as_bytes());
    TokenHash(hasher.finalize().into())
}

/// `bytes` random bytes as URL-safe base64.
fn random_text<const BYTES: usize>() -> String {
    let mut bytes = [0u8; BYTES];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The QR payload for a request: `piazza-login:<request_id>:<code>`.
pub fn qr_payload(request: &LoginRequestId, code: &str) -> String {
    format!("{QR_PREFIX}{request}:{code}")
}

/// Splits a scanned payload into its request id and code.
pub fn parse_qr_payload(payload: &str) -> Option<(LoginRequestId, &str)> {
    let rest = payload.trim().strip_prefix(QR_PREFIX)?;
    let (request, code) = rest.split_once(':')?;
    let request = LoginRequestId::parse(request)?;
    (!code.is_empty() && code.len() <= CODE_CHARS_MAX).then_some((request, code))
}

/// The request id in the path; one that cannot be an id (not even UTF-8)
/// is answered like an unknown one.
fn request_id(id: Result<Path<String>, PathRejection>) -> Result<LoginRequestId, ApiError> {
    id.ok()
        .and_then(|Path(id)| LoginRequestId::parse(&id))
        .ok_or_else(not_found)
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "login_request_not_found",
        "no login request has that id and code (or secret); show a new QR code",
    )
}

/// Start a log-in by QR code (no authentication).
#[utoipa::path(post, path = "/api/v1/login-requests", tag = "accounts", request_body = CreateLoginRequest,
    responses(
        (status = 201, body = LoginRequestCreated),
        (status = 400, description = "invalid_device_name", body = Problem),
        (status = 429, description = "too_many_login_requests from this address; see Retry-After", body = Problem),
        (status = 503, description = "the server holds too many live requests; retry later", body = Problem),
    ))]
pub async fn create(
    State(app): State<App>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Json(body): Json<CreateLoginRequest>,
) -> Result<(StatusCode, Json<LoginRequestCreated>), ApiError> {
    // Chosen here, from what the server sees, for the approver to check.
    let user_agent = crate::user_agent::stored(headers.get(header::USER_AGENT));
    let origin = LoginOrigin {
        browser: BrowserKind::from_user_agent(user_agent.as_deref().unwrap_or_default())
            .to_string(),
        address: address.to_string(),
        user_agent,
    };
    let device_name = match body.device_name.as_deref() {
        Some(name) => DeviceName::parse(name)?,
        None => DeviceName::parse(&format!("{} (QR log-in)", origin.browser))?,
    };
    // A bounded window per key is what a per-address creation limit needs.
    let key = crate::rate_limit::address_key(address).to_string();
    app.login_request_creations
        .check(&key, LOGIN_REQUESTS_PER_ADDRESS_MAX)
        .map_err(|retry_after_s| {
            ApiError::too_many(
                "too_many_login_requests",
                "too many QR log-in requests from this address; wait and try again",
                retry_after_s,
            )
        })?;
    app.login_request_creations.record_failure(&key);
    let request_id = LoginRequestId::parse(&format!(
        "{}{}",
        LoginRequestId::PREFIX,
        random_text::<16>()
    ))
    .ok_or_else(|| ApiError::unavailable("cannot make a request id"))?;
    let code = random_text::<16>();
    let secret = random_text::<32>();
    let expires_at = Timestamp::from_unix_ms(Timestamp::now().unix_ms() + LOGIN_REQUEST_TTL_MS);
    let payload = qr_payload(&request_id, &code);
    let qr_svg = crate::qr_image::svg(&payload).map_err(|error| {
        tracing::error!(%error, "cannot draw a login QR code");
        ApiError::unavailable("cannot draw the QR code")
    })?;
    let stored = app
        .store
        .create_login_request(NewLoginRequest {
            request_id: request_id.clone(),
            code_hash: code_hash(&code),
            secret_hash: secret_hash(&secret),
            device_name,
            origin,
            expires_at,
        })
        .await?;
    if !stored {
        return Err(ApiError::unavailable(
            "too many QR log-ins are waiting on this server; try again in a minute",
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(LoginRequestCreated {
            request_id: request_id.to_string(),
            qr_payload: payload,
            expires_at: expires_at.to_rfc3339(),
            secret,
            qr_svg,
        }),
    ))
}

/// What the server saw of a QR log-in's page — its browser, address and
/// when it asked — for a logged-in device holding the QR code to show
/// before the person confirms (the code is the capability, as for
/// approving).
#[utoipa::path(get, path = "/api/v1/login-requests/{id}/details", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path), CodeQuery),
    responses(
        (status = 200, body = LoginRequestDetails),
        (status = 400, description = "missing_login_code", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "login_request_not_found (unknown id or wrong code)", body = Problem),
        (status = 409, description = "login_request_used", body = Problem),
        (status = 410, description = "login_request_expired", body = Problem),
    ))]
pub async fn details(
    State(app): State<App>,
    _auth: Auth,
    id: Result<Path<String>, PathRejection>,
    Query(query): Query<CodeQuery>,
    headers: HeaderMap,
) -> Result<Json<LoginRequestDetails>, ApiError> {
    let code = header_or_query(&headers, CODE_HEADER, query.code).ok_or_else(|| {
        ApiError::invalid(
            "missing_login_code",
            "send the QR code's code as the `X-Login-Code` header or `?code=`",
        )
    })?;
    let request = request_id(id)?;
    if code.is_empty() || code.len() > CODE_CHARS_MAX {
        return Err(not_found());
    }
    let review = app
        .store
        .review_login_request(request, code_hash(&code), Timestamp::now())
        .await?;
    match review {
        LoginRequestReview::Pending {
            origin,
            requested_at,
            expires_at,
        } => Ok(Json(LoginRequestDetails {
            client: crate::routes::accounts::device_client(
                origin.user_agent.as_deref().unwrap_or_default(),
            ),
            browser: origin.browser,
            address: origin.address,
            requested_at: requested_at.to_rfc3339(),
            expires_at: expires_at.to_rfc3339(),
        })),
        LoginRequestReview::NotFound => Err(not_found()),
        LoginRequestReview::Expired => Err(expired()),
        LoginRequestReview::AlreadyUsed => Err(used()),
    }
}

/// Approve a QR log-in: the caller's account gets a new device, which the
/// page that shows the code becomes. `confirm` must be `true`: a client
/// shows the request's details first and sends it when the person says yes.
#[utoipa::path(post, path = "/api/v1/login-requests/{id}/approve", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ApproveLogin,
    responses(
        (status = 204, description = "approved; the page picks its session up"),
        (status = 400, description = "invalid_login_code: neither `code` nor `qr_payload`, or a payload of another request; confirmation_required: `confirm` is not `true`", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "login_request_not_found (unknown id or wrong code)", body = Problem),
        (status = 409, description = "login_request_used, or limit_reached (devices)", body = Problem),
        (status = 410, description = "login_request_expired", body = Problem),
    ))]
pub async fn approve(
    State(app): State<App>,
    auth: Auth,
    id: Result<Path<String>, PathRejection>,
    Json(body): Json<ApproveLogin>,
) -> Result<StatusCode, ApiError> {
    let request = request_id(id)?;
    let code = scanned_code(&request, &body)?;
    if body.confirm != Some(true) {
        return Err(ApiError::invalid(
            "confirmation_required",
            "show the request's browser, address and time (GET /api/v1/login-requests/{id}/details) and send `\"confirm\": true` once the person says yes",
        ));
    }
    if code.is_empty() || code.len() > CODE_CHARS_MAX {
        return Err(not_found());
    }
    // A token hash nobody holds a token for, until the page picks its own.
    let mut placeholder = [0u8; 32];
    rand::rng().fill_bytes(&mut placeholder);
    let approval = app
        .store
        .approve_login_request(
            auth.account,
            request,
            code_hash(code),
            TokenHash(placeholder),
        )
        .await?;
    match approval {
        LoginApproval::Approved(_) => Ok(StatusCode::NO_CONTENT),
        LoginApproval::NotFound => Err(not_found()),
        LoginApproval::Expired => Err(expired()),
        LoginApproval::AlreadyUsed => Err(used()),
    }
}

/// The code an approval carries: `code`, or the code in `qr_payload`,
/// which must name the request in the path.
fn scanned_code<'b>(request: &LoginRequestId, body: &'b ApproveLogin) -> Result<&'b str, ApiError> {
    match (&body.code, &body.qr_payload) {
        (Some(code), _) => Ok(code.trim()),
        (None, Some(payload)) => {
            let (named, code) = parse_qr_payload(payload).ok_or_else(|| {
                ApiError::invalid(
                    "invalid_login_code",
                    "`qr_payload` is not a Piazza log-in code (piazza-login:<id>:<code>)",
                )
            })?;
            if named != *request {
                return Err(ApiError::invalid(
                    "invalid_login_code",
                    "`qr_payload` names another login request than the path",
                ));
            }
            Ok(code)
        }
        (None, None) => Err(ApiError::invalid(
            "invalid_login_code",
            "send the scanned code as `code` or the whole payload as `qr_payload`",
        )),
    }
}

fn expired() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "login_request_expired",
        "this QR code has expired; show a new one",
    )
}

fn used() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "login_request_used",
        "this QR code was approved already; show a new one",
    )
}

/// A header's value, else the query parameter's.
fn header_or_query(headers: &HeaderMap, name: &str, query: Option<String>) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or(query)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CodeQuery {
    /// The QR code's code (or send it in the `X-Login-Code` header).
    pub code: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StatusQuery {
    /// The page's secret (or send it in the `X-Login-Secret` header).
    pub secret: Option<String>,
}

/// Poll a QR log-in (no authentication; the page's secret instead). Once
/// approved, the first answer carries the new device's token.
#[utoipa::path(get, path = "/api/v1/login-requests/{id}", tag = "accounts",
    params(("id" = String, Path), StatusQuery),
    responses(
        (status = 200, body = LoginRequestView),
        (status = 400, description = "missing_secret", body = Problem),
        (status = 404, description = "login_request_not_found (unknown id or wrong secret)", body = Problem),
    ))]
pub async fn status(
    State(app): State<App>,
    id: Result<Path<String>, PathRejection>,
    Query(query): Query<StatusQuery>,
    Seen(seen): Seen,
    headers: HeaderMap,
) -> Result<Json<LoginRequestView>, ApiError> {
    let secret = header_or_query(&headers, SECRET_HEADER, query.secret).ok_or_else(|| {
        ApiError::invalid(
            "missing_secret",
            "send the request's secret as `?secret=` or the `X-Login-Secret` header",
        )
    })?;
    let request = request_id(id)?;
    if secret.is_empty() || secret.len() > CODE_CHARS_MAX {
        return Err(not_found());
    }
    let secret_hash = secret_hash(&secret);
    // Polls read; only the one poll that finds the approval writes.
    let found = app
        .store
        .login_request_status(request.clone(), secret_hash, Timestamp::now())
        .await?;
    let (found, token) = match found {
        LoginRequestStatus::Approved {
            awaiting_token: true,
            ..
        } => {
            let (token, token_hash) = new_token();
            let found = app
                .store
                .deliver_login_token(request, secret_hash, token_hash, seen)
                .await?;
            // Another poll may have taken it between the read and the write.
            let delivered = matches!(
                found,
                LoginRequestStatus::Approved {
                    awaiting_token: true,
                    ..
                }
            );
            (found, delivered.then_some(token))
        }
        other => (other, None),
    };
    let view = |status: &str| LoginRequestView {
        status: status.to_owned(),
        expires_at: None,
        account_id: None,
        username: None,
        device_id: None,
        token: None,
    };
    Ok(Json(match found {
        LoginRequestStatus::NotFound => return Err(not_found()),
        LoginRequestStatus::Pending { expires_at } => LoginRequestView {
            expires_at: Some(expires_at.to_rfc3339()),
            ..view("pending")
        },
        LoginRequestStatus::Expired { expires_at } => LoginRequestView {
            expires_at: Some(expires_at.to_rfc3339()),
            ..view("expired")
        },
        LoginRequestStatus::Approved {
            account,
            username,
            device,
            ..
        } => match token {
            Some(token) => LoginRequestView {
                account_id: Some(account.to_string()),
                username: Some(username.to_string()),
                device_id: Some(device.to_string()),
                token: Some(token),
                ..view("approved")
            },
            // The session went to an earlier poll; say only that.
            None => view("approved"),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_junk_does_not_parse() {
        let request = LoginRequestId::parse("lr_AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        let payload = qr_payload(&request, "abc_-123");
        let (parsed, code) = parse_qr_payload(&payload).unwrap();
        assert_eq!((parsed, code), (request, "abc_-123"));
        for junk in [
            "",
            "piazza-login:",
            "piazza-login:lr_AAAAAAAAAAAAAAAAAAAAAA",
            "piazza-login:lr_AAAAAAAAAAAAAAAAAAAAAA:",
            "piazza-login:lr_short:code",
            "other:lr_AAAAAAAAAAAAAAAAAAAAAA:code",
        ] {
            assert!(parse_qr_payload(junk).is_none(), "{junk}");
        }
        let long = qr_payload(
            &LoginRequestId::parse("lr_AAAAAAAAAAAAAAAAAAAAAA").unwrap(),
            &"x".repeat(CODE_CHARS_MAX + 1),
        );
        assert!(parse_qr_payload(&long).is_none());
    }

    #[test]
    fn code_and_secret_hashes_differ_for_one_value() {
        assert_ne!(code_hash("same"), secret_hash("same"));
        assert_eq!(code_hash("same"), code_hash("same"));
    }
}
