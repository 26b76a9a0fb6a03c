//! Group administration (`piazza_core::groups` holds the rules): admins,
//! leaving, invitations by link or QR code, and the join requests of
//! approval mode. A conversation's view with its members' roles is
//! `GET /conversations/{id}` (`conversations.rs`, beside its `PATCH`).
//!
//! An invitation's token is 256 random bits made here; the store keeps
//! only its SHA-256, so the creation's answer is the one time the link
//! and its QR code are shown. A payload that is not one (malformed,
//! unknown, expired, revoked) is the same 404 `invite_not_found`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use piazza_api::{
    AcceptInvite, InviteAccepted, InviteCreated, JoinRequestList, JoinRequestView, Problem,
};
use piazza_core::groups::{Decision, JoinRequest, Joined};
use piazza_domain::event::GroupRole;
use piazza_domain::store::TokenHash;
use piazza_domain::{AccountId, ConversationId, InviteId, Rejection, limits};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::rate_limit::FanOut;

/// What an invitation's payload starts with.
pub const INVITE_PREFIX: &str = "piazza-invite:";
/// Random bytes in an invitation's token (43 characters of base64url).
const INVITE_TOKEN_BYTES: usize = 32;

/// This area's routes, each registered once with its OpenAPI entry;
/// `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(make_admin, unmake_admin))
        .routes(routes!(leave))
        .routes(routes!(create_invite))
        .routes(routes!(revoke_invite))
        .routes(routes!(accept_invite))
        .routes(routes!(join_requests))
        .routes(routes!(approve))
        .routes(routes!(decline))
}

fn conversation_id(text: &str) -> Result<ConversationId, ApiError> {
    ConversationId::parse(text).map_err(|_| Rejection::NotAMember.into())
}

fn member_id(text: &str) -> Result<AccountId, ApiError> {
    AccountId::parse(text).map_err(|_| Rejection::MemberNotFound.into())
}

/// The store's key of an invitation token: its SHA-256, with the purpose
/// mixed in so that it can never pass for another kind of token's hash.
pub fn invite_token_hash(token: &str) -> TokenHash {
    let mut hasher = Sha256::new();
    hasher.update(b"group-invite:");
    hasher.update(token.as_bytes());
    TokenHash(hasher.finalize().into())
}

/// The token in a payload (`piazza-invite:<token>`, spaces around it
/// allowed); `None` for anything this server never issued.
pub fn invite_token(payload: &str) -> Option<&str> {
    let token = payload.trim().strip_prefix(INVITE_PREFIX)?;
    let decoded = URL_SAFE_NO_PAD.decode(token).ok()?;
    (decoded.len() == INVITE_TOKEN_BYTES).then_some(token)
}

/// Make a member an admin (the owner only).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/admins/{account_id}", tag = "groups",
    security(("bearer" = [])), params(("id" = String, Path), ("account_id" = String, Path)),
    responses(
        (status = 204, description = "an admin now (or already); every member learns it (`conversation.role_changed`)"),
        (status = 400, description = "not_a_group", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member or not_owner", body = Problem),
        (status = 404, description = "member_not_found: the account is not a member", body = Problem),
        (status = 422, description = "target_is_owner", body = Problem),
    ))]
pub async fn make_admin(
    State(app): State<App>,
    auth: Auth,
    Path((conversation, member)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_role(&app, &auth, &conversation, &member, GroupRole::Admin).await
}

/// Make an admin a plain member again (the owner only).
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/admins/{account_id}", tag = "groups",
    security(("bearer" = [])), params(("id" = String, Path), ("account_id" = String, Path)),
    responses(
        (status = 204, description = "a plain member now (or already)"),
        (status = 400, description = "not_a_group", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member or not_owner", body = Problem),
        (status = 404, description = "member_not_found: the account is not a member", body = Problem),
        (status = 422, description = "target_is_owner", body = Problem),
    ))]
pub async fn unmake_admin(
    State(app): State<App>,
    auth: Auth,
    Path((conversation, member)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_role(&app, &auth, &conversation, &member, GroupRole::Member).await
}

async fn set_role(
    app: &App,
    auth: &Auth,
    conversation: &str,
    member: &str,
    role: GroupRole,
) -> Result<StatusCode, ApiError> {
    let conversation = conversation_id(conversation)?;
    let member = member_id(member)?;
    app.rate_limits
        .charge_fan_out(auth.account, FanOut::Group)?;
    app.store
        .set_role(auth.account, conversation, member, role)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leave a group. Every member learns it (`conversation.member_removed`,
/// with the owner after it): when the owner leaves, the longest-standing
/// admin owns the group, else the longest-standing member.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/leave", tag = "groups",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 204),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member", body = Problem),
        (status = 409, description = "cannot_leave_direct: a direct conversation cannot be left", body = Problem),
    ))]
pub async fn leave(
    State(app): State<App>,
    auth: Auth,
    Path(conversation): Path<String>,
) -> Result<StatusCode, ApiError> {
    let conversation = conversation_id(&conversation)?;
    app.store.leave(auth.account, conversation).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct InviteQuery {
    /// `svg` (the default: the answer's `qr_svg` only) or `png` (also
    /// `qr_png_base64`).
    pub format: Option<String>,
}

/// Invite people into a group by link or QR code: any member may (approval
/// mode is how the owner and admins control who joins). It lasts 7 days
/// unless revoked; a group holds at most 100 live ones.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/invites", tag = "groups",
    security(("bearer" = [])), params(("id" = String, Path), InviteQuery),
    responses(
        (status = 201, body = InviteCreated),
        (status = 400, description = "not_a_group or unsupported_format", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member", body = Problem),
        (status = 409, description = "limit_reached: 100 live invitations", body = Problem),
    ))]
pub async fn create_invite(
    State(app): State<App>,
    auth: Auth,
    Path(conversation): Path<String>,
    Query(query): Query<InviteQuery>,
) -> Result<(StatusCode, Json<InviteCreated>), ApiError> {
    let conversation = conversation_id(&conversation)?;
    let png = match query.format.as_deref() {
        None | Some("svg") => false,
        Some("png") => true,
        Some(_) => {
            return Err(ApiError::invalid(
                "unsupported_format",
                "`format` is `svg` or `png`",
            ));
        }
    };
    let mut bytes = [0u8; INVITE_TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let invite = app
        .store
        .create_invite(
            auth.account,
            conversation,
            invite_token_hash(&token),
            limits::GROUP_INVITE_TTL_MS,
        )
        .await?;
    let payload = format!("{INVITE_PREFIX}{token}");
    let cannot_draw = |error: &dyn std::fmt::Display| {
        tracing::error!(%error, "cannot draw an invitation's QR code");
        ApiError::unavailable("cannot draw the QR code")
    };
    let qr_svg = crate::qr_image::svg(&payload).map_err(|error| cannot_draw(&error))?;
    let qr_png_base64 = match png {
        true => Some(STANDARD.encode(crate::qr_image::png(&payload).map_err(|e| cannot_draw(&e))?)),
        false => None,
    };
    Ok((
        StatusCode::CREATED,
        Json(InviteCreated {
            invite_id: invite.invite_id.to_string(),
            payload,
            expires_at: invite.expires_at.to_rfc3339(),
            qr_svg,
            qr_png_base64,
        }),
    ))
}

/// Revoke an invitation: its creator, the owner or an admin. Its link
/// and QR code stop working at once; revoking it again answers the same.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}/invites/{invite_id}", tag = "groups",
    security(("bearer" = [])), params(("id" = String, Path), ("invite_id" = String, Path)),
    responses(
        (status = 204),
        (status = 400, description = "not_a_group", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member, or not_admin: another member's invitation", body = Problem),
        (status = 404, description = "invite_not_found", body = Problem),
    ))]
pub async fn revoke_invite(
    State(app): State<App>,
    auth: Auth,
    Path((conversation, invite)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let invite = InviteId::parse(&invite).map_err(|_| ApiError::from(Rejection::InviteNotFound))?;
    app.store
        .revoke_invite(auth.account, conversation, invite)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accept an invitation: 200 `joined` (also when already a member), or in
/// approval mode 202 `pending` until the owner or an admin decides.
/// Unknown, expired and revoked invitations are the same 404.
#[utoipa::path(post, path = "/api/v1/invites/accept", tag = "groups",
    security(("bearer" = [])), request_body = AcceptInvite,
    responses(
        (status = 200, description = "joined", body = InviteAccepted),
        (status = 202, description = "pending: a join request waits for an admin", body = InviteAccepted),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "invite_not_found (also expired, revoked, or its creator left)", body = Problem),
        (status = 409, description = "group_full, or limit_reached: 500 pending requests", body = Problem),
    ))]
pub async fn accept_invite(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<AcceptInvite>,
) -> Result<(StatusCode, Json<InviteAccepted>), ApiError> {
    let token = invite_token(&body.payload).ok_or(Rejection::InviteNotFound)?;
    app.rate_limits
        .charge_fan_out(auth.account, FanOut::Group)?;
    let joined = app
        .store
        .accept_invite(auth.account, invite_token_hash(token))
        .await?;
    Ok(match joined {
        Joined::Member(conversation) => (
            StatusCode::OK,
            Json(InviteAccepted {
                conversation_id: conversation.to_string(),
                state: "joined".to_owned(),
                requested_at: None,
            }),
        ),
        Joined::Pending(request) => (
            StatusCode::ACCEPTED,
            Json(InviteAccepted {
                conversation_id: request.conversation.to_string(),
                state: "pending".to_owned(),
                requested_at: Some(request.requested_at.to_rfc3339()),
            }),
        ),
    })
}

/// The pending join requests of a group (the owner and admins).
#[utoipa::path(get, path = "/api/v1/conversations/{id}/join-requests", tag = "groups",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses(
        (status = 200, body = JoinRequestList),
        (status = 400, description = "not_a_group", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member or not_admin", body = Problem),
    ))]
pub async fn join_requests(
    State(app): State<App>,
    auth: Auth,
    Path(conversation): Path<String>,
) -> Result<Json<JoinRequestList>, ApiError> {
    let conversation = conversation_id(&conversation)?;
    let requests = app.store.join_requests(auth.account, conversation).await?;
    Ok(Json(JoinRequestList {
        requests: requests.iter().map(join_request_view).collect(),
    }))
}

fn join_request_view(request: &JoinRequest) -> JoinRequestView {
    JoinRequestView {
        account_id: request.account.to_string(),
        invite_id: request.invite_id.to_string(),
        requested_at: request.requested_at.to_rfc3339(),
        state: "pending".to_owned(),
    }
}

/// Approve a join request (the owner and admins): the requester becomes a
/// member, within the group's 500.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/join-requests/{account_id}/approve",
    tag = "groups", security(("bearer" = [])),
    params(("id" = String, Path), ("account_id" = String, Path)),
    responses(
        (status = 204),
        (status = 400, description = "not_a_group", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member or not_admin", body = Problem),
        (status = 404, description = "join_request_not_found", body = Problem),
        (status = 409, description = "group_full (the request stays pending)", body = Problem),
    ))]
pub async fn approve(
    State(app): State<App>,
    auth: Auth,
    Path((conversation, member)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    decide(&app, &auth, &conversation, &member, Decision::Approve).await
}

/// Decline a join request (the owner and admins); the requester may ask
/// again with a live invitation.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/join-requests/{account_id}/decline",
    tag = "groups", security(("bearer" = [])),
    params(("id" = String, Path), ("account_id" = String, Path)),
    responses(
        (status = 204),
        (status = 400, description = "not_a_group", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_member or not_admin", body = Problem),
        (status = 404, description = "join_request_not_found", body = Problem),
    ))]
pub async fn decline(
    State(app): State<App>,
    auth: Auth,
    Path((conversation, member)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    decide(&app, &auth, &conversation, &member, Decision::Decline).await
}

async fn decide(
    app: &App,
    auth: &Auth,
    conversation: &str,
    member: &str,
    decision: Decision,
) -> Result<StatusCode, ApiError> {
    let conversation = conversation_id(conversation)?;
    let member =
        AccountId::parse(member).map_err(|_| ApiError::from(Rejection::JoinRequestNotFound))?;
    app.store
        .decide_join_request(auth.account, conversation, member, decision)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_only_as_issued() {
        let token = URL_SAFE_NO_PAD.encode([7u8; INVITE_TOKEN_BYTES]);
        let payload = format!("{INVITE_PREFIX}{token}");
        assert_eq!(invite_token(&payload), Some(token.as_str()));
        assert_eq!(
            invite_token(&format!("  {payload}\n")),
            Some(token.as_str())
        );
        for bad in [
            "",
            "piazza-invite:",
            "piazza-invite:short",
            "piazza-login:abc",
            &token,
            &format!("{payload}A"),
            &format!("{INVITE_PREFIX}{}", "é".repeat(43)),
        ] {
            assert_eq!(invite_token(bad), None, "{bad:?}");
        }
        assert_ne!(invite_token_hash("a"), invite_token_hash("b"));
    }
}
