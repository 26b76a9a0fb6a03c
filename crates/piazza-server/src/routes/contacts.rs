//! Contacts and contact requests.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use piazza_api::{
    AccountBrief, ContactList, ContactRequestCreated, ContactRequestList, ContactRequestView,
    ContactView, CreateContactRequest, OutgoingRequestList, OutgoingRequestView, Problem,
    UpdateContact,
};
use piazza_core::contacts::Contact;
use piazza_domain::event::AccountRef;
use piazza_domain::{AccountId, ContactRequestId, Greeting, Rejection, Remark, Username};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::routes::paging::{ListQuery, next_cursor};

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(remove, update))
        .routes(routes!(request, incoming))
        .routes(routes!(outgoing))
        .routes(routes!(accept))
        .routes(routes!(decline))
}

/// Ask another account to become a contact. Asking someone who already
/// asked you accepts their request.
#[utoipa::path(post, path = "/api/v1/contacts/requests", tag = "contacts", security(("bearer" = [])),
    request_body = CreateContactRequest,
    responses(
        (status = 201, body = ContactRequestCreated),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "account_not_found", body = Problem),
        (status = 409, description = "already_contacts", body = Problem),
    ))]
pub async fn request(
    State(app): State<App>,
    auth: Auth,
    Json(body): Json<CreateContactRequest>,
) -> Result<(StatusCode, Json<ContactRequestCreated>), ApiError> {
    // No account can have a name that does not parse.
    let to = Username::parse(&body.to).map_err(|_| ApiError::from(Rejection::AccountNotFound))?;
    let greeting = Greeting::parse(body.greeting.as_deref().unwrap_or(""))?;
    let request = app
        .store
        .request_contact(auth.account, to, greeting)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ContactRequestCreated {
            request_id: request.to_string(),
        }),
    ))
}

pub fn account_brief(account: &AccountRef) -> AccountBrief {
    AccountBrief {
        account_id: account.account_id.to_string(),
        username: account.username.to_string(),
        display_name: account.display_name.clone(),
        avatar_media_id: account.avatar_media_id.map(|media| media.to_string()),
    }
}

/// Pending requests sent to the caller, newest first.
#[utoipa::path(get, path = "/api/v1/contacts/requests", tag = "contacts", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = ContactRequestList), (status = 400, description = "invalid_cursor or invalid_limit", body = Problem), (status = 401, body = Problem)))]
pub async fn incoming(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<ListQuery>,
) -> Result<Json<ContactRequestList>, ApiError> {
    let before = query.after(|key| ContactRequestId::parse(key).ok())?;
    let page = app
        .store
        .incoming_requests(auth.account, before, query.limit()?)
        .await?;
    let next_cursor = next_cursor(
        page.has_more,
        page.items.last().map(|r| r.request_id.to_string()),
    );
    let requests = page
        .items
        .into_iter()
        .map(|request| ContactRequestView {
            request_id: request.request_id.to_string(),
            from: account_brief(&request.from),
            greeting: request.greeting,
            created_at: request.created_at.to_rfc3339(),
        })
        .collect();
    Ok(Json(ContactRequestList {
        requests,
        has_more: page.has_more,
        next_cursor,
    }))
}

/// Accept a request sent to the caller; both become contacts.
#[utoipa::path(post, path = "/api/v1/contacts/requests/{request_id}/accept", tag = "contacts",
    security(("bearer" = [])), params(("request_id" = String, Path)),
    responses(
        (status = 200, body = Object),
        (status = 401, body = Problem),
        (status = 404, description = "request_not_found", body = Problem),
    ))]
pub async fn accept(
    State(app): State<App>,
    auth: Auth,
    Path(request): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let request = ContactRequestId::parse(&request)
        .map_err(|_| ApiError::from(Rejection::RequestNotFound))?;
    app.store.accept_request(auth.account, request).await?;
    Ok(Json(serde_json::json!({})))
}

/// Requests the caller sent that wait for an answer, newest first. A
/// declined request stays here as if pending: its sender is not told.
#[utoipa::path(get, path = "/api/v1/contacts/requests/outgoing", tag = "contacts", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = OutgoingRequestList), (status = 400, description = "invalid_cursor or invalid_limit", body = Problem), (status = 401, body = Problem)))]
pub async fn outgoing(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<ListQuery>,
) -> Result<Json<OutgoingRequestList>, ApiError> {
    let before = query.after(|key| ContactRequestId::parse(key).ok())?;
    let page = app
        .store
        .outgoing_requests(auth.account, before, query.limit()?)
        .await?;
    let next_cursor = next_cursor(
        page.has_more,
        page.items.last().map(|r| r.request_id.to_string()),
    );
    let requests = page
        .items
        .into_iter()
        .map(|request| OutgoingRequestView {
            request_id: request.request_id.to_string(),
            to: account_brief(&request.to),
            greeting: request.greeting,
            created_at: request.created_at.to_rfc3339(),
        })
        .collect();
    Ok(Json(OutgoingRequestList {
        requests,
        has_more: page.has_more,
        next_cursor,
    }))
}

/// Decline a request sent to the caller: it leaves the caller's list, and
/// the caller's other devices learn it (`contact.request_declined`). The
/// sender is not told; their later requests to the caller are kept
/// silently for a week after the decline, then reach the caller again.
#[utoipa::path(post, path = "/api/v1/contacts/requests/{request_id}/decline", tag = "contacts",
    security(("bearer" = [])), params(("request_id" = String, Path)),
    responses(
        (status = 204, description = "declined (declining again changes nothing)"),
        (status = 401, body = Problem),
        (status = 404, description = "request_not_found: no such request, not sent to you, or accepted already", body = Problem),
    ))]
pub async fn decline(
    State(app): State<App>,
    auth: Auth,
    Path(request): Path<String>,
) -> Result<StatusCode, ApiError> {
    let request = ContactRequestId::parse(&request)
        .map_err(|_| ApiError::from(Rejection::RequestNotFound))?;
    app.store.decline_request(auth.account, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's contacts.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = ContactList), (status = 400, description = "invalid_cursor or invalid_limit", body = Problem), (status = 401, body = Problem)))]
pub async fn list(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<ListQuery>,
) -> Result<Json<ContactList>, ApiError> {
    let after = query.after(contact_key)?;
    let page = app
        .store
        .contacts(auth.account, after, query.limit()?)
        .await?;
    let next_cursor = next_cursor(
        page.has_more,
        page.items.last().map(|c| c.account.username.to_string()),
    );
    Ok(Json(ContactList {
        contacts: page.items.iter().map(contact_view).collect(),
        has_more: page.has_more,
        next_cursor,
    }))
}

/// Stop being contacts, on both sides. Removing a non-contact changes nothing.
#[utoipa::path(delete, path = "/api/v1/contacts/{account_id}", tag = "contacts", security(("bearer" = [])),
    params(("account_id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn remove(
    State(app): State<App>,
    auth: Auth,
    Path(other): Path<String>,
) -> Result<StatusCode, ApiError> {
    let other = AccountId::parse(&other)?;
    app.store.remove_contact(auth.account, other).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A contact as its account sees it, remark included.
pub fn contact_view(contact: &Contact) -> ContactView {
    let account = &contact.account;
    ContactView {
        account_id: account.account_id.to_string(),
        username: account.username.to_string(),
        display_name: account.display_name.clone(),
        avatar_media_id: account.avatar_media_id.map(|media| media.to_string()),
        remark: contact.remark.clone(),
    }
}

/// Give a contact a remark: your own name for them, which only you see
/// (your other devices learn it through `contact.updated` in your log;
/// the contact is never told). Empty or `null` clears it.
#[utoipa::path(patch, path = "/api/v1/contacts/{account_id}", tag = "contacts",
    security(("bearer" = [])), params(("account_id" = String, Path)),
    request_body = UpdateContact,
    responses(
        (status = 200, body = ContactView),
        (status = 400, description = "invalid_remark: missing, longer than 64 characters or more than one line", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "contact_not_found: not one of your contacts", body = Problem),
    ))]
pub async fn update(
    State(app): State<App>,
    auth: Auth,
    Path(contact): Path<String>,
    Json(body): Json<UpdateContact>,
) -> Result<Json<ContactView>, ApiError> {
    let Some(remark) = body.remark else {
        return Err(ApiError::invalid(
            "invalid_remark",
            "`remark` is required (empty or null clears it)",
        ));
    };
    let remark = Remark::parse(remark.as_deref().unwrap_or(""))?;
    // An id that cannot exist is no contact of anyone's.
    let contact =
        AccountId::parse(&contact).map_err(|_| ApiError::from(Rejection::ContactNotFound))?;
    let contact = app.store.set_remark(auth.account, contact, remark).await?;
    Ok(Json(contact_view(&contact)))
}

/// A contacts page's cursor key: a username, or a deleted account's
/// `#<id>` (`piazza_core::account_deletion`), which a page may end on.
fn contact_key(key: &str) -> Option<Username> {
    let deleted = key
        .strip_prefix('#')
        .is_some_and(|id| id.parse::<u64>().is_ok());
    match Username::parse(key) {
        Ok(username) => Some(username),
        Err(_) if deleted => Some(Username::from_store(key.to_owned())),
        Err(_) => None,
    }
}
