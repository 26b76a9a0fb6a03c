//! `GET /api/v1/sync`: one page of the account's log after a cursor, with
//! an optional long-poll when there is nothing new.

use std::time::Duration;

use axum::extract::State;
use piazza_api::{Problem, SyncPage};
use piazza_domain::store::LogPage;
use piazza_domain::{Cursor, limits};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::events;
use crate::extract::{Json, Query};
use crate::hub::{CloseReason, Kind};
use crate::routes::conversations::page_limit;

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(sync))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SyncQuery {
    /// A cursor from an earlier answer; absent means from the very beginning.
    pub since: Option<String>,
    /// Events per page, 1 to 200 (default 200; larger values are capped,
    /// as for every list).
    #[param(minimum = 1)]
    pub limit: Option<u32>,
    /// With nothing new, wait up to this long (at most 30000) for an event.
    pub wait_ms: Option<u64>,
}

pub fn page_view(page: &LogPage) -> SyncPage {
    SyncPage {
        events: page.entries.iter().map(events::to_view).collect(),
        cursor: Cursor::at(page.end).to_string(),
        has_more: page.has_more,
    }
}

/// Everything the account must see after `since`, in log order.
#[utoipa::path(get, path = "/api/v1/sync", tag = "sync", security(("bearer" = [])), params(SyncQuery),
    responses(
        (status = 200, body = SyncPage),
        (status = 400, description = "invalid_cursor or invalid limit", body = Problem),
        (status = 401, body = Problem),
    ))]
pub async fn sync(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<SyncQuery>,
) -> Result<Json<SyncPage>, ApiError> {
    let since = query
        .since
        .as_deref()
        .map(Cursor::parse)
        .transpose()?
        .unwrap_or(Cursor::START);
    let limit = page_limit(
        query.limit,
        limits::SYNC_PAGE_LEN_DEFAULT,
        limits::SYNC_PAGE_LEN_MAX,
    )?;
    let wait = Duration::from_millis(
        query
            .wait_ms
            .unwrap_or(0)
            .min(limits::LONG_POLL_WAIT_MS_MAX),
    );
    let after = since.log_seq();
    let page = app.store.log_after(auth.account, after, limit).await?;
    if !page.entries.is_empty() || wait.is_zero() {
        return Ok(Json(page_view(&page)));
    }
    // Subscribe first, then look again, so an event committed between the
    // first read and the subscription is not missed.
    let mut waiter = app
        .hub
        .subscribe(auth.account, auth.device, Kind::Waiter)
        .map_err(|error| ApiError::unavailable(error.to_string()))?;
    let page = app.store.log_after(auth.account, after, limit).await?;
    if !page.entries.is_empty() {
        return Ok(Json(page_view(&page)));
    }
    let closed = waiter.close_signal();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        tokio::select! {
            pushed = waiter.queue.recv() => match pushed {
                // A push the reads above already saw (its notice came
                // late) is no news: wait on.
                Some(pushed) if pushed.seq <= after => continue,
                _ => break,
            },
            // The bus may have missed something (cluster.rs): read again.
            _ = waiter.nudges.changed() => break,
            reason = closed.closed() => {
                if reason == CloseReason::Revoked {
                    return Err(ApiError::unauthorized());
                }
                break;
            }
            _ = tokio::time::sleep_until(deadline) => break,
            _ = app.shutdown.cancelled() => break,
        }
    }
    // A revocation also ends the queue: whichever branch woke, a revoked
    // device is answered 401, never a page.
    if closed.reason() == Some(CloseReason::Revoked) {
        return Err(ApiError::unauthorized());
    }
    drop(waiter);
    let page = app.store.log_after(auth.account, after, limit).await?;
    Ok(Json(page_view(&page)))
}
