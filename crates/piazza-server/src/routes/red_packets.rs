//! Red packets: a sum posted into a conversation and split into shares
//! that its members claim, once each. Whatever nobody claimed within
//! `red_packet_expiry_s` goes back to the sender by the sweeper.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use piazza_api::{
    Problem, RedPacketClaimView, RedPacketClaimed, RedPacketSent, RedPacketView, SendRedPacket,
};
use piazza_domain::red_packet::{RedPacketPot, ShareCount, SplitMode};
use piazza_domain::store::{RedPacket, RedPacketRequest};
use piazza_domain::{ConversationId, RedPacketId, Rejection, Timestamp};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::{Auth, WriteAuth};
use crate::config::ms;
use crate::error::ApiError;
use crate::extract::Json;
use crate::routes::wallet::{amount, check_pin, idempotent, invalid_pin, is_pin};

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(get))
        .routes(routes!(claim))
}

/// The longest greeting, in bytes.
const GREETING_BYTES_MAX: usize = 100;

fn red_packet_id(text: &str) -> Result<RedPacketId, ApiError> {
    RedPacketId::parse(text).map_err(|_| Rejection::RedPacketNotFound.into())
}

fn view(packet: &RedPacket) -> RedPacketView {
    let status = if packet.refunded || packet.expires_at <= Timestamp::now() {
        "expired"
    } else if packet.remaining_shares == 0 {
        "empty"
    } else {
        "open"
    };
    RedPacketView {
        red_packet_id: packet.red_packet_id.to_string(),
        conversation_id: packet.conversation.to_string(),
        sender: packet.sender.to_string(),
        mode: packet.mode.as_str().to_owned(),
        total_minor: packet.total.amount.get(),
        currency: packet.total.currency.as_str().to_owned(),
        count: packet.count,
        greeting: packet.greeting.clone(),
        status: status.to_owned(),
        remaining_shares: packet.remaining_shares,
        created_at: packet.created_at.to_rfc3339(),
        expires_at: packet.expires_at.to_rfc3339(),
        claims: packet
            .claims
            .iter()
            .map(|claim| RedPacketClaimView {
                account_id: claim.account.to_string(),
                amount_minor: claim.amount_minor,
                claimed_at: claim.claimed_at.to_rfc3339(),
            })
            .collect(),
    }
}

/// Post a red packet into a conversation the caller is a member of.
#[utoipa::path(post, path = "/api/v1/red-packets", tag = "red-packets", security(("bearer" = [])),
    request_body = SendRedPacket,
    params(("Idempotency-Key" = String, Header, description = "required; the same key and body replay the first answer")),
    responses(
        (status = 201, body = RedPacketSent),
        (status = 400, description = "invalid_amount, invalid_red_packet_count, invalid_red_packet_mode, red_packet_total_not_multiple, red_packet_total_below_count, red_packet_total_too_large, invalid_greeting, invalid_pin or idempotency_key_required", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member, not_a_contact, wrong_pin or pin_not_set", body = Problem),
        (status = 409, description = "insufficient_funds", body = Problem),
        (status = 422, description = "idempotency_key_reused", body = Problem),
        (status = 423, description = "pin_locked, or pin_reset_pending (a forgotten PIN is being reset: no money leaves until it takes effect)", body = Problem),
    ))]
pub async fn send(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    Json(body): Json<SendRedPacket>,
) -> Result<(StatusCode, Json<RedPacketSent>), ApiError> {
    let total = amount(&app, &body.total_minor)?;
    let invalid = |error: piazza_domain::red_packet::RedPacketError| {
        ApiError::invalid(error.code(), error.to_string())
    };
    let count = body
        .count
        .as_u64()
        .and_then(|count| u32::try_from(count).ok())
        .ok_or(piazza_domain::red_packet::RedPacketError::InvalidShareCount { count: 0 })
        .and_then(ShareCount::parse)
        .map_err(invalid)?;
    let mode = SplitMode::parse(&body.mode).map_err(invalid)?;
    RedPacketPot::new(mode, total.amount, count).map_err(invalid)?;
    let total_max = app.limits.red_packet_total_max_minor;
    if total.amount.get() > total_max {
        return Err(ApiError::invalid(
            "red_packet_total_too_large",
            format!("a red packet holds at most {total_max} minor units on this server"),
        ));
    }
    if !is_pin(&body.pin) {
        return Err(invalid_pin());
    }
    let greeting = body.greeting.filter(|greeting| !greeting.trim().is_empty());
    if greeting.as_ref().is_some_and(|greeting| {
        greeting.len() > GREETING_BYTES_MAX || greeting.chars().any(char::is_control)
    }) {
        return Err(ApiError::invalid(
            "invalid_greeting",
            format!("`greeting` is at most {GREETING_BYTES_MAX} bytes of one-line text"),
        ));
    }
    let operation = format!(
        "red_packet\0{}\0{}\0{}\0{}",
        body.conversation_id,
        count.get(),
        mode.as_str(),
        greeting.as_deref().unwrap_or_default()
    );
    let request = idempotent(&headers, &operation, total)?;
    let conversation = ConversationId::parse(&body.conversation_id)
        .map_err(|_| ApiError::from(Rejection::NotAMember))?;
    let pin = check_pin(&app, auth.account, body.pin).await?;
    let expires_at = Timestamp::from_unix_ms(
        Timestamp::now()
            .unix_ms()
            .saturating_add(ms(app.red_packet_expiry_s)),
    );
    let packet = app
        .store
        .send_red_packet(
            auth.account,
            request,
            RedPacketRequest {
                conversation,
                total,
                count,
                mode,
                greeting,
                expires_at,
            },
            pin,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RedPacketSent {
            red_packet_id: packet.red_packet_id.to_string(),
        }),
    ))
}

/// Claim a share; claiming again answers the same share.
#[utoipa::path(post, path = "/api/v1/red-packets/{id}/claim", tag = "red-packets", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = RedPacketClaimed),
        (status = 401, body = Problem),
        (status = 404, description = "red_packet_not_found (also for non-members)", body = Problem),
        (status = 409, description = "red_packet_empty", body = Problem),
        (status = 410, description = "red_packet_expired", body = Problem),
    ))]
pub async fn claim(
    State(app): State<App>,
    WriteAuth(caller): WriteAuth,
    Path(id): Path<String>,
) -> Result<Json<RedPacketClaimed>, ApiError> {
    let claim = app
        .store
        .claim_red_packet(caller, red_packet_id(&id)?)
        .await?;
    Ok(Json(RedPacketClaimed {
        amount_minor: claim.amount_minor,
    }))
}

/// A red packet and the claims so far, for the conversation's members.
#[utoipa::path(get, path = "/api/v1/red-packets/{id}", tag = "red-packets", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = RedPacketView),
        (status = 401, body = Problem),
        (status = 404, description = "red_packet_not_found", body = Problem),
    ))]
pub async fn get(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<RedPacketView>, ApiError> {
    let packet = app
        .store
        .red_packet(auth.account, red_packet_id(&id)?)
        .await?;
    Ok(Json(view(&packet)))
}
