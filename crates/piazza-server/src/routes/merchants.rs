//! Merchants: a shop owned by an account, with its own settlement account.
//! The owner shows an EMVCo code (static, or dynamic with an amount); a
//! buyer scans it and pays from their wallet; the owner may refund, never
//! more than was paid. Only the owner sees a merchant: anyone else gets the
//! same 404 as for an id that names nothing.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use piazza_api::{
    Collect, ConfirmPayment, CreateMerchant, MerchantCreated, MerchantView, Pay, PaymentCodeIssued,
    PaymentCodeRequest, PaymentDone, PaymentView, Problem, QrPayload, RefundDone, RefundPayment,
};
use piazza_domain::emvco::{self, MerchantQr};
use piazza_domain::money::{AmountMinor, Money};
use piazza_domain::store::{CodeAuthorization, CollectRequest, Payment, PaymentDecision};
use piazza_domain::{MerchantId, PaymentId, Rejection, Timestamp};
use rand::Rng;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::config::ms;
use crate::error::ApiError;
use crate::extract::{Json, OptionalJson, Query};
use crate::routes::wallet::{amount, check_pin, idempotent, invalid_pin, is_pin};

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(get))
        .routes(routes!(qr))
        .routes(routes!(collect))
        .routes(routes!(payment_code))
        .routes(routes!(pay))
        .routes(routes!(get_payment))
        .routes(routes!(confirm))
        .routes(routes!(decline))
        .routes(routes!(refund))
}

/// The answer to every call that makes or moves a payment.
fn done(payment: &Payment) -> Json<PaymentDone> {
    Json(PaymentDone {
        payment_id: payment.payment_id.to_string(),
        status: payment.status.as_str().to_owned(),
    })
}

fn merchant_id(text: &str) -> Result<MerchantId, ApiError> {
    MerchantId::parse(text).map_err(|_| Rejection::MerchantNotFound.into())
}

fn payment_id(text: &str) -> Result<PaymentId, ApiError> {
    PaymentId::parse(text).map_err(|_| Rejection::PaymentNotFound.into())
}

/// Open a merchant owned by the caller.
#[utoipa::path(post, path = "/api/v1/merchants", tag = "merchants", security(("bearer" = [])),
    request_body = CreateMerchant,
    responses(
        (status = 201, body = MerchantCreated),
        (status = 400, description = "invalid_merchant_name or invalid_merchant_city", body = Problem),
        (status = 401, body = Problem),
    ))]
pub async fn create(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<CreateMerchant>,
) -> Result<(StatusCode, Json<MerchantCreated>), ApiError> {
    let name = body.name.trim().to_owned();
    if !emvco::valid_name(&name) {
        return Err(ApiError::invalid(
            "invalid_merchant_name",
            format!(
                "`name` is 1 to {} characters of text",
                emvco::NAME_CHARS_MAX
            ),
        ));
    }
    let city = body.city.unwrap_or_default().trim().to_owned();
    if !emvco::valid_city(&city) {
        return Err(ApiError::invalid(
            "invalid_merchant_city",
            format!(
                "`city` is at most {} characters of text",
                emvco::CITY_CHARS_MAX
            ),
        ));
    }
    let merchant = app
        .store
        .create_merchant(auth.account, name, city, app.currency)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MerchantCreated {
            merchant_id: merchant.merchant_id.to_string(),
        }),
    ))
}

/// A merchant and its settlement balance, for its owner.
#[utoipa::path(get, path = "/api/v1/merchants/{id}", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = MerchantView),
        (status = 401, body = Problem),
        (status = 404, description = "merchant_not_found (also for anyone but the owner)", body = Problem),
    ))]
pub async fn get(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<MerchantView>, ApiError> {
    let merchant = app
        .store
        .merchant(auth.account, merchant_id(&id)?, app.currency)
        .await?;
    Ok(Json(MerchantView {
        merchant_id: merchant.merchant_id.to_string(),
        name: merchant.name,
        city: Some(merchant.city).filter(|city| !city.is_empty()),
        balance_minor: merchant.balance_minor,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct QrQuery {
    /// For a dynamic code: the amount to pay, in minor units.
    pub amount_minor: Option<String>,
    /// `payload` (the default, JSON), `png` or `svg` (the image).
    #[param(pattern = "^(payload|png|svg)$")]
    pub format: Option<String>,
}

/// The merchant's code to scan, for its owner.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/qr", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path), QrQuery),
    responses(
        (status = 200, description = "`format=payload`: the JSON payload; `png`/`svg`: the image",
            content((QrPayload = "application/json"), (String = "image/svg+xml"), (Vec<u8> = "image/png"))),
        (status = 400, description = "invalid_amount or unsupported_format", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "merchant_not_found (also for anyone but the owner)", body = Problem),
    ))]
pub async fn qr(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Query(query): Query<QrQuery>,
) -> Result<Response, ApiError> {
    let format = crate::qr_image::Format::parse(query.format.as_deref())?;
    let amount_minor = match query.amount_minor.as_deref() {
        None | Some("") => None,
        Some(text) => {
            let value = text
                .parse::<i64>()
                .map(serde_json::Value::from)
                .unwrap_or(serde_json::Value::Null);
            Some(amount(&app, &value)?.amount.get())
        }
    };
    let merchant = app
        .store
        .merchant(auth.account, merchant_id(&id)?, app.currency)
        .await?;
    let payload = emvco::build(&MerchantQr {
        merchant_id: merchant.merchant_id.to_string(),
        name: merchant.name,
        city: merchant.city,
        currency: app.currency,
        amount_minor,
    })
    .map_err(|error| match error {
        emvco::QrError::Invalid("54") => ApiError::invalid(
            "invalid_amount",
            "`amount_minor` does not fit in an EMVCo code",
        ),
        other => ApiError::unavailable(format!("cannot build this merchant's code: {other}")),
    })?;
    match format {
        crate::qr_image::Format::Payload => Ok(Json(QrPayload { payload }).into_response()),
        crate::qr_image::Format::Image(image) => crate::qr_image::response(&payload, image),
    }
}

fn invalid_qr(detail: impl Into<String>) -> ApiError {
    ApiError::invalid("invalid_qr", detail)
}

/// Pay a merchant whose code the caller scanned.
#[utoipa::path(post, path = "/api/v1/payments", tag = "merchants", security(("bearer" = [])),
    request_body = Pay,
    params(("Idempotency-Key" = String, Header, description = "required; the same key and body replay the first answer")),
    responses(
        (status = 201, body = PaymentDone),
        (status = 400, description = "invalid_qr, amount_required, amount_mismatch, invalid_amount, invalid_pin or idempotency_key_required", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "wrong_pin or pin_not_set", body = Problem),
        (status = 409, description = "insufficient_funds", body = Problem),
        (status = 422, description = "idempotency_key_reused", body = Problem),
        (status = 423, description = "pin_locked, or pin_reset_pending (a forgotten PIN is being reset: no money leaves until it takes effect)", body = Problem),
    ))]
pub async fn pay(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Json(body): Json<Pay>,
) -> Result<(StatusCode, Json<PaymentDone>), ApiError> {
    let scanned = emvco::parse(body.qr_payload.trim())
        .map_err(|error| invalid_qr(format!("`qr_payload` is not a valid code: {error}")))?;
    if scanned.currency != app.currency {
        return Err(invalid_qr(format!(
            "this server takes payments in {}",
            app.currency
        )));
    }
    let merchant = MerchantId::parse(&scanned.merchant_id)
        .map_err(|_| invalid_qr("`qr_payload` does not name a Piazza merchant"))?;
    let asked = body
        .amount_minor
        .as_ref()
        .map(|value| amount(&app, value))
        .transpose()?;
    let money = match (scanned.amount_minor, asked) {
        (Some(fixed), asked) => {
            if asked.is_some_and(|asked| asked.amount.get() != fixed) {
                return Err(ApiError::invalid(
                    "amount_mismatch",
                    "`amount_minor` disagrees with the amount in the code",
                ));
            }
            let fixed = AmountMinor::positive(fixed)
                .map_err(|_| invalid_qr("the code's amount is out of range"))?;
            Money::new(fixed, app.currency)
        }
        (None, Some(asked)) => asked,
        (None, None) => {
            return Err(ApiError::invalid(
                "amount_required",
                "this code has no amount: send `amount_minor`",
            ));
        }
    };
    if !is_pin(&body.pin) {
        return Err(invalid_pin());
    }
    let operation = format!("payment\0{}", body.qr_payload.trim());
    let request = idempotent(&headers, &operation, money)?;
    let pin = check_pin(&app, auth.account, body.pin).await?;
    let payment = app
        .store
        .pay_merchant(auth.account, request, merchant, money, pin)
        .await?;
    Ok((StatusCode::CREATED, done(&payment)))
}

/// The merchant's owner gives (part of) a payment back to the buyer.
#[utoipa::path(post, path = "/api/v1/payments/{id}/refunds", tag = "merchants", security(("bearer" = [])),
    request_body = RefundPayment,
    params(("id" = String, Path), ("Idempotency-Key" = String, Header, description = "required; the same key and body replay the first answer")),
    responses(
        (status = 201, body = RefundDone),
        (status = 400, description = "invalid_amount or idempotency_key_required", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "payment_not_found (also for anyone but the merchant's owner)", body = Problem),
        (status = 409, description = "refund_exceeds_payment", body = Problem),
        (status = 422, description = "idempotency_key_reused", body = Problem),
    ))]
pub async fn refund(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<RefundPayment>,
) -> Result<(StatusCode, Json<RefundDone>), ApiError> {
    let payment = payment_id(&id)?;
    let money = amount(&app, &body.amount_minor)?;
    let request = idempotent(&headers, &format!("refund\0{payment}"), money)?;
    let refund = app
        .store
        .refund_payment(auth.account, request, payment, money)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RefundDone {
            refund_id: refund.refund_id.to_string(),
            refunded_minor: refund.refunded_minor,
        }),
    ))
}

/// The digits of a payment code.
const PAYMENT_CODE_DIGITS: usize = 18;

fn code_hash(code: &str) -> [u8; 32] {
    Sha256::digest(code.as_bytes()).into()
}

/// A one-use payment code for a merchant to scan, bound to this device.
/// It needs the payment PIN, which a device that entered it within
/// `limits.payment_code_pin_window_s` may leave out; a locked PIN or a
/// reset waiting refuses it, as it refuses all money-out.
#[utoipa::path(post, path = "/api/v1/wallet/payment-code", tag = "merchants", security(("bearer" = [])),
    request_body(content = PaymentCodeRequest, description = "`pin`; the body may be left out within the PIN window"),
    responses(
        (status = 201, body = PaymentCodeIssued),
        (status = 400, description = "invalid_pin", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "pin_required (this device has not entered the PIN lately), wrong_pin or pin_not_set", body = Problem),
        (status = 423, description = "pin_locked or pin_reset_pending", body = Problem),
    ))]
pub async fn payment_code(
    State(app): State<App>,
    auth: Auth,
    OptionalJson(body): OptionalJson<PaymentCodeRequest>,
) -> Result<(StatusCode, Json<PaymentCodeIssued>), ApiError> {
    let authorization = match body.pin {
        Some(pin) if is_pin(&pin) => {
            CodeAuthorization::Pin(check_pin(&app, auth.account, pin).await?)
        }
        Some(_) => return Err(invalid_pin()),
        None => CodeAuthorization::RecentPin {
            window_ms: ms(app.limits.payment_code_pin_window_s),
        },
    };
    let code: String = {
        let mut rng = rand::rng();
        (0..PAYMENT_CODE_DIGITS)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect()
    };
    let expires_at = Timestamp::from_unix_ms(
        Timestamp::now()
            .unix_ms()
            .saturating_add(ms(app.limits.payment_code_valid_s)),
    );
    let qr_svg = crate::qr_image::svg(&code).map_err(|error| {
        tracing::error!(%error, "cannot draw a payment code");
        ApiError::unavailable("cannot draw the payment code")
    })?;
    app.store
        .create_payment_code(
            auth.account,
            auth.device,
            code_hash(&code),
            expires_at,
            authorization,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PaymentCodeIssued {
            code,
            expires_at: expires_at.to_rfc3339(),
            qr_svg,
        }),
    ))
}

/// The merchant's owner collects from a buyer's payment code. At or under
/// the no-PIN limit, and within the buyer's daily cap of such collections,
/// the money moves at once (`completed`); otherwise nothing moves and the
/// buyer must confirm (`needs_confirmation`). Either way the buyer's
/// devices are told at once (`payment.sent` or
/// `payment.confirmation_requested`, with the merchant's name). A buyer
/// whose PIN is locked or being reset cannot be collected from.
#[utoipa::path(post, path = "/api/v1/merchants/{id}/collect", tag = "merchants", security(("bearer" = [])),
    request_body = Collect,
    params(("id" = String, Path), ("Idempotency-Key" = String, Header, description = "required; the same key and body replay the first answer")),
    responses(
        (status = 201, body = PaymentDone),
        (status = 400, description = "invalid_amount, invalid_payment_code or idempotency_key_required", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "merchant_not_found (also for anyone but the owner) or payment_code_not_found", body = Problem),
        (status = 409, description = "payment_code_used or insufficient_funds", body = Problem),
        (status = 410, description = "payment_code_expired", body = Problem),
        (status = 422, description = "idempotency_key_reused", body = Problem),
        (status = 423, description = "pin_locked or pin_reset_pending (the buyer's: no money leaves their wallet now)", body = Problem),
    ))]
pub async fn collect(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Collect>,
) -> Result<(StatusCode, Json<PaymentDone>), ApiError> {
    let merchant = merchant_id(&id)?;
    let money = amount(&app, &body.amount_minor)?;
    let code = body.payment_code.trim();
    if code.len() != PAYMENT_CODE_DIGITS || !code.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(ApiError::invalid(
            "invalid_payment_code",
            format!("`payment_code` is {PAYMENT_CODE_DIGITS} digits"),
        ));
    }
    let request = idempotent(&headers, &format!("collect\0{merchant}\0{code}"), money)?;
    let payment = app
        .store
        .collect_payment(
            auth.account,
            request,
            CollectRequest {
                merchant,
                code_hash: code_hash(code),
                money,
                without_confirmation_max_minor: app.collect_without_pin_max_minor,
                without_confirmation_per_day: app.limits.collect_without_pin_per_day(),
                confirm_by: Timestamp::from_unix_ms(
                    Timestamp::now()
                        .unix_ms()
                        .saturating_add(ms(app.limits.collect_confirm_s)),
                ),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, done(&payment)))
}

/// The buyer confirms, with their PIN, a collection above the no-PIN limit
/// (`payment.confirmation_requested` in their log): the money moves now.
/// Confirming again answers the same; no idempotency key is needed.
#[utoipa::path(post, path = "/api/v1/payments/{id}/confirm", tag = "merchants", security(("bearer" = [])),
    request_body = ConfirmPayment,
    params(("id" = String, Path)),
    responses(
        (status = 200, body = PaymentDone),
        (status = 400, description = "invalid_pin", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "wrong_pin or pin_not_set", body = Problem),
        (status = 404, description = "payment_not_found (also for anyone but the buyer)", body = Problem),
        (status = 409, description = "payment_not_pending (declined or expired) or insufficient_funds", body = Problem),
        (status = 423, description = "pin_locked, or pin_reset_pending (a forgotten PIN is being reset: no money leaves until it takes effect)", body = Problem),
    ))]
pub async fn confirm(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<ConfirmPayment>,
) -> Result<Json<PaymentDone>, ApiError> {
    let payment = payment_id(&id)?;
    if !is_pin(&body.pin) {
        return Err(invalid_pin());
    }
    let pin = check_pin(&app, auth.account, body.pin).await?;
    let payment = app
        .store
        .decide_payment(auth.account, payment, PaymentDecision::Confirm(pin))
        .await?;
    Ok(done(&payment))
}

/// The buyer declines a collection that waits for them; nothing moves.
#[utoipa::path(post, path = "/api/v1/payments/{id}/decline", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = PaymentDone),
        (status = 401, body = Problem),
        (status = 404, description = "payment_not_found (also for anyone but the buyer)", body = Problem),
        (status = 409, description = "payment_not_pending (completed or expired)", body = Problem),
    ))]
pub async fn decline(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<PaymentDone>, ApiError> {
    let payment = payment_id(&id)?;
    let payment = app
        .store
        .decide_payment(auth.account, payment, PaymentDecision::Decline)
        .await?;
    Ok(done(&payment))
}

/// A payment, for its buyer or its merchant's owner: how a till learns
/// that a collection was confirmed.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "merchants", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = PaymentView),
        (status = 401, body = Problem),
        (status = 404, description = "payment_not_found (also for anyone but the buyer or the merchant's owner)", body = Problem),
    ))]
pub async fn get_payment(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<PaymentView>, ApiError> {
    let payment = app.store.payment(auth.account, payment_id(&id)?).await?;
    Ok(Json(PaymentView {
        payment_id: payment.payment_id.to_string(),
        merchant_id: payment.merchant_id.to_string(),
        merchant_name: payment.merchant_name,
        buyer: payment.buyer.to_string(),
        amount_minor: payment.money.amount.get(),
        currency: payment.money.currency.as_str().to_owned(),
        refunded_minor: payment.refunded_minor,
        status: payment.status.as_str().to_owned(),
        created_at: payment.created_at.to_rfc3339(),
        confirm_by: payment.confirm_by.map(Timestamp::to_rfc3339),
    }))
}
