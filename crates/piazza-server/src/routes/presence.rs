//! Presence and its privacy: whether contacts are online and when they
//! were last seen, as far as each shows it; who sees the caller's.

use axum::extract::State;
use piazza_api::{PresenceList, PresenceView, Privacy, Problem};
use piazza_core::presence::LastSeen;
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
        .routes(routes!(contacts_presence))
        .routes(routes!(privacy, change_privacy))
}

/// Your contacts' presence: online now (a socket open on this server) and
/// when each was last seen; those who show it to nobody are left out.
/// Changes come live as `presence` events on the WebSocket.
#[utoipa::path(get, path = "/api/v1/contacts/presence", tag = "contacts", security(("bearer" = [])),
    responses((status = 200, body = PresenceList), (status = 401, body = Problem)))]
pub async fn contacts_presence(
    State(app): State<App>,
    auth: Auth,
) -> Result<Json<PresenceList>, ApiError> {
    let seen = app.store.contacts_last_seen(auth.account).await?;
    let presence = seen
        .into_iter()
        .map(|seen| PresenceView {
            account_id: seen.account.to_string(),
            online: app.hub.is_online(seen.account),
            last_seen: seen.last_seen.map(|at| at.to_rfc3339()),
        })
        .collect();
    Ok(Json(PresenceList { presence }))
}

fn privacy_view(shown: LastSeen) -> Privacy {
    Privacy {
        last_seen: Some(shown.as_str().to_owned()),
    }
}

/// Who sees whether you are online and when you were last seen.
#[utoipa::path(get, path = "/api/v1/me/privacy", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Privacy), (status = 401, body = Problem)))]
pub async fn privacy(State(app): State<App>, auth: Auth) -> Result<Json<Privacy>, ApiError> {
    let shown = app.store.last_seen_shown(auth.account).await?;
    Ok(Json(privacy_view(shown)))
}

/// Change who sees whether you are online and when you were last seen:
/// `contacts` or `nobody`. An absent field stays as it is.
#[utoipa::path(patch, path = "/api/v1/me/privacy", tag = "accounts", security(("bearer" = [])),
    request_body = Privacy,
    responses(
        (status = 200, body = Privacy),
        (status = 400, description = "invalid_privacy", body = Problem),
        (status = 401, body = Problem),
    ))]
pub async fn change_privacy(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<Privacy>,
) -> Result<Json<Privacy>, ApiError> {
    let shown = match body.last_seen.as_deref() {
        None => return privacy(State(app), auth).await,
        Some("contacts") => LastSeen::Contacts,
        Some("nobody") => LastSeen::Nobody,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_privacy",
                "`last_seen` is `contacts` or `nobody`",
            ));
        }
    };
    let account = auth.account;
    // Whoever saw the account online is told it is no longer shown, and
    // shown again when it is: told as if it went offline or came online.
    let told = app.store.presence_audience(account).await?;
    app.store.set_last_seen_shown(account, shown).await?;
    if app.hub.is_online(account) {
        match shown {
            LastSeen::Nobody => crate::presence::tell(&app, &told, account, false, None),
            LastSeen::Contacts => crate::presence::announce(&app, account, true).await,
        }
    }
    Ok(Json(privacy_view(shown)))
}
