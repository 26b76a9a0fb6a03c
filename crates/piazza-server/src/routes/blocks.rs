//! Blocking: `POST /api/v1/blocks`, `DELETE /api/v1/blocks/{account_id}`,
//! `GET /api/v1/blocks`. The rules are `piazza_core::blocks`'.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use piazza_api::{Block, BlockList, BlockView, Problem};
use piazza_domain::{AccountId, Rejection};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Json;

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(block, list))
        .routes(routes!(unblock))
}

/// An id that cannot exist is answered like an account one does not know.
fn account_id(text: &str) -> Result<AccountId, ApiError> {
    AccountId::parse(text).map_err(|_| Rejection::AccountNotFound.into())
}

/// Block an account you know (a contact, someone you share a group with,
/// or who asked you): between you, either way, no contact request and no
/// direct message (403 `blocked`), and neither sees the other's presence
/// or typing. Group messages still flow. Blocking again changes nothing.
#[utoipa::path(post, path = "/api/v1/blocks", tag = "contacts", security(("bearer" = [])),
    request_body = Block,
    responses(
        (status = 204),
        (status = 400, description = "self_target", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "account_not_found: no account you know has this id", body = Problem),
    ))]
pub async fn block(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<Block>,
) -> Result<StatusCode, ApiError> {
    let blocked = account_id(&body.account_id)?;
    app.store.block(auth.account, blocked).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unblock an account; nothing changes if it was not blocked.
#[utoipa::path(delete, path = "/api/v1/blocks/{account_id}", tag = "contacts",
    security(("bearer" = [])), params(("account_id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn unblock(
    State(app): State<App>,
    auth: Auth,
    Path(blocked): Path<String>,
) -> Result<StatusCode, ApiError> {
    if let Ok(blocked) = AccountId::parse(&blocked) {
        app.store.unblock(auth.account, blocked).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The accounts you blocked, the latest first.
#[utoipa::path(get, path = "/api/v1/blocks", tag = "contacts", security(("bearer" = [])),
    responses((status = 200, body = BlockList), (status = 401, body = Problem)))]
pub async fn list(State(app): State<App>, auth: Auth) -> Result<Json<BlockList>, ApiError> {
    let blocked = app.store.blocked_by(auth.account).await?;
    let blocks = blocked
        .into_iter()
        .map(|blocked| BlockView {
            account_id: blocked.account.account_id.to_string(),
            username: blocked.account.username.as_str().to_owned(),
            display_name: blocked.account.display_name,
            avatar_media_id: blocked
                .account
                .avatar_media_id
                .map(|media| media.to_string()),
            blocked_at: blocked.since.to_rfc3339(),
        })
        .collect();
    Ok(Json(BlockList { blocks }))
}
