//! Profiles and passwords: an account changes its own name, picture, bio
//! and password; others see its profile as far as they may.
//!
//! Who sees what (`reads::profile` in the store decides, in one read):
//! the account itself, its contacts and anyone it shares a conversation
//! with see the whole profile; a stranger party to a pending contact
//! request with it, either way, sees what the request needs (id,
//! username, name, picture); anyone else gets the 404 an unknown id gets,
//! so sequential ids cannot be walked. An exact username shows the same
//! card a contact request would (`POST /contacts/requests` already tells
//! whether a username exists).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use piazza_api::{AccountView, ChangePassword, Problem, ProfileView, UpdateProfile};
use piazza_domain::store::{Account, FieldChange, OtherDevices, Profile, ProfileChange};
use piazza_domain::{AccountId, Bio, DisplayName, MediaId, Password, Rejection, Username};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::{Auth, ClientAddr};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::rate_limit::FanOut;

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(lookup))
        .routes(routes!(account))
        .routes(routes!(update_me))
        .routes(routes!(change_password))
}

/// The caller's own account, bio included.
pub fn me_view(account: &Account) -> AccountView {
    AccountView {
        bio: Some(account.bio.clone()),
        ..crate::routes::accounts::account_view(account)
    }
}

/// Change the caller's display name, avatar or bio.
#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    request_body = UpdateProfile,
    responses(
        (status = 200, description = "the profile as it is now", body = AccountView),
        (status = 400, description = "invalid_display_name, invalid_bio, or invalid_image: the avatar's bytes cannot be decoded as a picture", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "media_not_found: the avatar is not an image you uploaded", body = Problem),
        (status = 429, description = "rate_limited: past `limits.profile_changes_per_account_per_min` (each change is logged to every contact)", body = Problem),
    ))]
pub async fn update_me(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<UpdateProfile>,
) -> Result<Json<AccountView>, ApiError> {
    let display_name = body
        .display_name
        .as_deref()
        .map(DisplayName::parse)
        .transpose()?;
    let bio = body
        .bio
        .map(|bio| Bio::parse(bio.as_deref().unwrap_or("")))
        .transpose()?;
    let avatar = avatar_change(&app, auth.account, body.avatar_media_id).await?;
    // Charged once the change is known to be valid: a refused one fans
    // out nothing (and a picture's thumbnail is made once however often
    // it is asked for).
    app.rate_limits
        .charge_fan_out(auth.account, FanOut::Profile)?;
    let change = ProfileChange {
        display_name,
        avatar,
        bio,
    };
    let account = app.store.update_profile(auth.account, change).await?;
    Ok(Json(me_view(&account)))
}

/// A picture to set on a profile or a group, checked before anything is
/// written: one that cannot be decoded is refused here, and its thumbnail
/// (which clients show it through) is made now, once. Whether the caller
/// uploaded it is checked again by the store, in the job that sets it.
pub async fn avatar_change(
    app: &App,
    caller: AccountId,
    asked: Option<Option<String>>,
) -> Result<FieldChange<MediaId>, ApiError> {
    match asked {
        None => Ok(FieldChange::Keep),
        Some(None) => Ok(FieldChange::Clear),
        Some(Some(media)) => {
            let media = super::media::body_media_id(&media)?;
            let picture_max = app.limits.media_bytes_max as u64;
            let thumbnail = piazza_core::media::Reading::Thumbnail;
            app.store
                .media_served(caller, media, thumbnail, picture_max)
                .await?;
            Ok(FieldChange::Set(media))
        }
    }
}

fn profile_view(profile: Profile) -> ProfileView {
    let (account, details) = match profile {
        Profile::Full {
            account,
            is_contact,
        } => {
            let bio = account.bio.clone();
            (account, Some((bio, is_contact)))
        }
        Profile::Card(account) => (account, None),
    };
    ProfileView {
        account_id: account.account_id.to_string(),
        username: account.username.to_string(),
        display_name: account.display_name,
        avatar_media_id: account.avatar_media_id.map(|media| media.to_string()),
        bio: details.as_ref().map(|(bio, _)| bio.clone()),
        is_contact: details.map(|(_, is_contact)| is_contact),
    }
}

/// An account's profile, as far as the caller may see it.
#[utoipa::path(get, path = "/api/v1/accounts/{account_id}", tag = "accounts", security(("bearer" = [])),
    params(("account_id" = String, Path)),
    responses(
        (status = 200, description = "the whole profile to the account itself, its contacts and those sharing a conversation with it; `account_id`, `username`, `display_name` and `avatar_media_id` only to a stranger with a contact request pending between them", body = ProfileView),
        (status = 401, body = Problem),
        (status = 404, description = "account_not_found: no such account, or nothing of it is yours to see", body = Problem),
    ))]
pub async fn account(
    State(app): State<App>,
    auth: Auth,
    Path(account): Path<String>,
) -> Result<Json<ProfileView>, ApiError> {
    let account =
        AccountId::parse(&account).map_err(|_| ApiError::from(Rejection::AccountNotFound))?;
    let profile = app.store.profile(auth.account, account).await?;
    Ok(Json(profile_view(profile)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LookupQuery {
    /// The exact username.
    pub username: String,
}

/// Who has this exact username: the card a contact request shows, so a
/// client can show whom it is about to add.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", security(("bearer" = [])),
    params(LookupQuery),
    responses(
        (status = 200, description = "`account_id`, `username`, `display_name` and `avatar_media_id`", body = ProfileView),
        (status = 401, body = Problem),
        (status = 404, description = "account_not_found", body = Problem),
    ))]
pub async fn lookup(
    State(app): State<App>,
    _auth: Auth,
    Query(query): Query<LookupQuery>,
) -> Result<Json<ProfileView>, ApiError> {
    // No account can have a name that does not parse.
    let username =
        Username::parse(&query.username).map_err(|_| ApiError::from(Rejection::AccountNotFound))?;
    let account = app.store.find_account(username).await?;
    Ok(Json(profile_view(Profile::Card(account))))
}

/// Change the caller's password. The old one is checked as a log-in
/// checks it (wrong ones are counted with failed log-ins, and a lock
/// refuses it); the account's devices learn it (`account.password_changed`),
/// and with `sign_out_other_devices` every other one is logged out.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "accounts", security(("bearer" = [])),
    request_body = ChangePassword,
    responses(
        (status = 204, description = "changed"),
        (status = 400, description = "invalid_password: the new password", body = Problem),
        (status = 401, description = "unauthorized: also when this device was signed out while the old password was checked (nothing changed)", body = Problem),
        (status = 403, description = "wrong_password: the old password", body = Problem),
        (status = 429, description = "too_many_login_attempts: failed password checks, log-ins included; see Retry-After", body = Problem),
    ))]
pub async fn change_password(
    State(app): State<App>,
    auth: Auth,
    ClientAddr(address): ClientAddr,
    Json(body): Json<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let new_password = Password::parse(&body.new_password)?;
    let old_hash =
        crate::auth::verify_own_password(&app, auth.account, address, body.old_password).await?;
    let new_hash = app.passwords.hash(new_password).await?;
    let others = if body.sign_out_other_devices.unwrap_or(false) {
        OtherDevices::SignOut
    } else {
        OtherDevices::Keep
    };
    app.store
        .change_password(auth.account, auth.device, old_hash, new_hash, others)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
