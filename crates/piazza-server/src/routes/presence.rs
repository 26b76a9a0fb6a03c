//! Presence and its privacy: whether contacts are online and when they
//! were last seen, as far as each shows it; who sees the caller's.

use axum::extract::State;
use piazza_api::{PresenceList, PresenceView, Privacy, Problem};
use piazza_core::moments::{Horizon, MomentsPrivacy, PrivacyChange};
use piazza_core::presence::LastSeen;
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

fn privacy_view(shown: LastSeen, moments: &MomentsPrivacy) -> Privacy {
    let ids = |accounts: &[AccountId]| accounts.iter().map(ToString::to_string).collect();
    Privacy {
        last_seen: Some(shown.as_str().to_owned()),
        moments_horizon: Some(moments.horizon.as_str().to_owned()),
        moments_hidden_from: Some(ids(&moments.hidden_from)),
        moments_not_shown: Some(ids(&moments.not_shown)),
    }
}

/// Who sees whether you are online and when you were last seen, and who
/// sees your moments how far back.
#[utoipa::path(get, path = "/api/v1/me/privacy", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Privacy), (status = 401, body = Problem)))]
pub async fn privacy(State(app): State<App>, auth: Auth) -> Result<Json<Privacy>, ApiError> {
    let shown = app.store.last_seen_shown(auth.account).await?;
    let moments = app.store.moments_privacy(auth.account).await?;
    Ok(Json(privacy_view(shown, &moments)))
}

/// A listed account that cannot exist is answered as one that is not a
/// contact (which is what it is).
fn accounts(list: Option<&Vec<String>>) -> Result<Option<Vec<AccountId>>, ApiError> {
    list.map(|list| {
        list.iter()
            .map(|text| AccountId::parse(text).map_err(|_| Rejection::NotAContact.into()))
            .collect()
    })
    .transpose()
}

fn moments_change(body: &Privacy) -> Result<PrivacyChange, ApiError> {
    let horizon = match body.moments_horizon.as_deref() {
        None => None,
        Some(text) => Some(Horizon::parse(text).ok_or_else(|| {
            ApiError::invalid(
                "invalid_privacy",
                "`moments_horizon` is `all`, `180d`, `30d` or `3d`",
            )
        })?),
    };
    Ok(PrivacyChange {
        horizon,
        hidden_from: accounts(body.moments_hidden_from.as_ref())?,
        not_shown: accounts(body.moments_not_shown.as_ref())?,
    })
}

/// Change who sees whether you are online and when you were last seen
/// (`last_seen`: `contacts` or `nobody`), how far back others may look at
/// your moments (`moments_horizon`), who may not see them
/// (`moments_hidden_from`) and whose you do not want in your feed
/// (`moments_not_shown`); the lists name your contacts and replace the
/// ones kept. An absent field stays as it is; a refused change changes
/// nothing.
#[utoipa::path(patch, path = "/api/v1/me/privacy", tag = "accounts", security(("bearer" = [])),
    request_body = Privacy,
    responses(
        (status = 200, body = Privacy),
        (status = 400, description = "invalid_privacy", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "not_a_contact: a listed account is not your contact", body = Problem),
        (status = 409, description = "limit_reached: a list names more than 2,000 accounts", body = Problem),
    ))]
pub async fn change_privacy(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<Privacy>,
) -> Result<Json<Privacy>, ApiError> {
    let shown = match body.last_seen.as_deref() {
        None => None,
        Some("contacts") => Some(LastSeen::Contacts),
        Some("nobody") => Some(LastSeen::Nobody),
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_privacy",
                "`last_seen` is `contacts` or `nobody`",
            ));
        }
    };
    let moments = moments_change(&body)?;
    if moments != PrivacyChange::default() {
        app.store.set_moments_privacy(auth.account, moments).await?;
    }
    if let Some(shown) = shown {
        change_last_seen(&app, auth.account, shown).await?;
    }
    privacy(State(app), auth).await
}

async fn change_last_seen(app: &App, account: AccountId, shown: LastSeen) -> Result<(), ApiError> {
    // Whoever saw the account online is told it is no longer shown, and
    // shown again when it is: told as if it went offline or came online.
    let told = app.store.presence_audience(account).await?;
    app.store.set_last_seen_shown(account, shown).await?;
    if app.hub.is_online(account) {
        match shown {
            LastSeen::Nobody => crate::presence::tell(app, &told, account, false, None),
            LastSeen::Contacts => crate::presence::announce(app, account, true).await,
        }
    }
    Ok(())
}
