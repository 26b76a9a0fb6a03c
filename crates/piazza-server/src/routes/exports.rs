//! Exports: `POST /api/v1/exports` asks for one, `GET
//! /api/v1/exports/{id}` tells of it, `GET …/download` streams its zip
//! (`crate::export`). The rules are `piazza_core::exports`'.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use piazza_api::Problem;
use piazza_api::exports::{ExportLink, ExportView};
use piazza_core::exports::{Asked, Export};
use piazza_domain::{ExportId, Rejection, Timestamp};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Json;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(ask))
        .routes(routes!(show))
        .routes(routes!(download))
        .routes(routes!(link))
}

fn view(export: &Export) -> ExportView {
    ExportView {
        export_id: export.id.to_string(),
        state: "ready".to_owned(),
        created_at: export.created_at.to_rfc3339(),
        download_url: format!("/api/v1/exports/{}/download", export.id),
    }
}

fn export_id(text: &str) -> Result<ExportId, ApiError> {
    ExportId::parse(text).map_err(|_| Rejection::ExportNotFound.into())
}

/// Ask for an export of everything this account holds: profile,
/// contacts, every event of its history (every conversation's messages
/// it can see, moments, money, orders), its wallet statement and the
/// media its messages show. The zip is made as it is downloaded, from
/// what the account holds then. Three a day.
#[utoipa::path(post, path = "/api/v1/exports", tag = "exports", security(("bearer" = [])),
    responses(
        (status = 201, body = ExportView),
        (status = 401, body = Problem),
        (status = 429, description = "too_many_exports: three a day; see Retry-After", body = Problem),
    ))]
pub async fn ask(
    State(app): State<App>,
    auth: Auth,
) -> Result<(StatusCode, Json<ExportView>), ApiError> {
    match app.store.ask_export(auth.account).await? {
        Asked::Made(export) => Ok((StatusCode::CREATED, Json(view(&export)))),
        Asked::Wait(until) => {
            let wait_ms = until.unix_ms() - Timestamp::now().unix_ms();
            Err(ApiError::too_many(
                "too_many_exports",
                "three exports a day: try again later",
                (wait_ms.max(0) / 1000) as u64 + 1,
            ))
        }
    }
}

/// An export of this account's, and where to download it.
#[utoipa::path(get, path = "/api/v1/exports/{export_id}", tag = "exports", security(("bearer" = [])),
    params(("export_id" = String, Path)),
    responses((status = 200, body = ExportView), (status = 401, body = Problem), (status = 404, description = "export_not_found", body = Problem)))]
pub async fn show(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<ExportView>, ApiError> {
    let export = app.store.export(auth.account, export_id(&id)?).await?;
    Ok(Json(view(&export)))
}

/// A link that downloads the export once, with no token, within a
/// minute: a browser's download manager streams it to disk and shows its
/// progress, but cannot send a token.
#[utoipa::path(post, path = "/api/v1/exports/{export_id}/link", tag = "exports", security(("bearer" = [])),
    params(("export_id" = String, Path)),
    responses((status = 201, body = ExportLink), (status = 401, body = Problem), (status = 404, description = "export_not_found", body = Problem)))]
pub async fn link(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ExportLink>), ApiError> {
    let id = export_id(&id)?;
    let (secret, secret_sha256) = crate::auth::new_token();
    let expires_at = app
        .store
        .export_link(auth.account, id, secret_sha256.0)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ExportLink {
            url: format!("/api/v1/exports/{id}/download?link={secret}"),
            expires_at: expires_at.to_rfc3339(),
        }),
    ))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct DownloadQuery {
    /// A link's secret (`POST …/link`), in place of the bearer token.
    link: Option<String>,
}

/// The export's zip (`application/zip`), streamed as it is made; its
/// `README.txt` explains the files. With the bearer token, or with
/// `?link=` from `POST …/link` and no token.
#[utoipa::path(get, path = "/api/v1/exports/{export_id}/download", tag = "exports", security(("bearer" = []), ()),
    params(("export_id" = String, Path), DownloadQuery),
    responses((status = 200, description = "the zip", content_type = "application/zip"), (status = 401, body = Problem), (status = 404, description = "export_not_found (also a link used already or expired)", body = Problem), (status = 429, description = "export_busy: one of yours is downloading, or the server writes as many as it may; see Retry-After", body = Problem)))]
pub async fn download(
    State(app): State<App>,
    method: Method,
    auth: Result<Auth, ApiError>,
    Path(id): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> Result<Response, ApiError> {
    let link = query.link.map(|secret| crate::auth::hash_token(&secret).0);
    let export = match link {
        // Looked at, not used: a download refused below keeps its link.
        Some(secret_sha256) => {
            let id = export_id(&id)?;
            app.store.linked_export(id, secret_sha256).await?
        }
        None => {
            let account = auth?.account;
            app.store.export(account, export_id(&id)?).await?
        }
    };
    let account = export.account;
    let Some(slot) = app.exports.take(account) else {
        return Err(ApiError::too_many(
            "export_busy",
            "an export of yours is downloading, or this server writes as many as it may: retry",
            10,
        ));
    };
    if method == Method::HEAD {
        // Asked about, not taken: neither the link nor a zip is spent.
        return Ok(zip_response(Body::empty(), &export));
    }
    if let Some(secret_sha256) = link {
        app.store
            .redeem_export_link(export.id, secret_sha256)
            .await?;
    }
    let chunks = crate::export::stream(app.clone(), account, slot);
    Ok(zip_response(
        Body::from_stream(tokio_stream_of(chunks)),
        &export,
    ))
}

/// `body` as the zip of `export`, to be saved under its name.
fn zip_response(body: Body, export: &Export) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    let name = format!("attachment; filename=\"piazza-{}.zip\"", export.id);
    if let Ok(value) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn tokio_stream_of(
    mut receiver: tokio::sync::mpsc::Receiver<std::io::Result<bytes::Bytes>>,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> {
    futures_util::stream::poll_fn(move |context| receiver.poll_recv(context))
}
