//! Images in chat. An upload is the raw bytes with their `Content-Type`
//! (PNG, JPEG, WebP or GIF, and the bytes must start as that type does:
//! the answer to a fetch says `nosniff`, so the declared type is what a
//! browser believes). It is kept by content, once per account, and shown by
//! sending a message with its `media_id`. Only the uploader and members who
//! can see a message showing it may fetch it; anyone else, like an unknown
//! id, gets the same 404. Each upload is capped (`limits.media_bytes_max`,
//! 413) and so is what one account keeps in all
//! (`limits.media_quota_bytes_per_account`, 507 `media_quota_exceeded`).

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use piazza_api::{MediaUploaded, Problem};
use piazza_domain::media::{MediaType, NewMedia};
use piazza_domain::{MediaId, Rejection};
use sha2::{Digest, Sha256};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Json;

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them. An
/// upload is the one body past the 64 KiB cap every other route keeps
/// (`limits::REQUEST_BODY_BYTES_MAX`, layered in `crate::router`): an image,
/// up to `media_bytes_max`.
pub fn routes(media_bytes_max: usize) -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(upload).layer(DefaultBodyLimit::max(media_bytes_max)))
        .routes(routes!(get))
        .routes(routes!(thumbnail))
}

/// How long a browser may keep a media: its bytes never change under its
/// id, so a year, and private (it is behind a token).
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

/// Upload an image. The body is the image itself, not JSON.
#[utoipa::path(post, path = "/api/v1/media", tag = "media", security(("bearer" = [])),
    request_body(description = "The image's bytes, with its type as `Content-Type`.",
        content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"), (Vec<u8> = "image/gif"))),
    responses(
        (status = 201, description = "kept", body = MediaUploaded),
        (status = 200, description = "this account had uploaded the same bytes; the first media", body = MediaUploaded),
        (status = 400, description = "invalid_image: the bytes are not the declared type", body = Problem),
        (status = 401, body = Problem),
        (status = 413, description = "body_too_large: past `limits.media_bytes_max`", body = Problem),
        (status = 415, description = "unsupported_media_type", body = Problem),
        (status = 507, description = "media_quota_exceeded: this account's media would pass `limits.media_quota_bytes_per_account` (each distinct content counted once); the same bytes as an earlier upload are still answered", body = Problem),
    ))]
pub async fn upload(
    State(app): State<App>,
    auth: Auth,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<MediaUploaded>), ApiError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let media_type = MediaType::from_content_type(declared).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the image's bytes as `Content-Type: image/png`, `image/jpeg`, `image/webp` or `image/gif`",
        )
    })?;
    let bytes_max = app.limits.media_bytes_max;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("an image is at most {bytes_max} bytes"),
        )
    };
    let bytes = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => ApiError::invalid("invalid_body", rejection.body_text()),
    })?;
    if bytes.len() > bytes_max {
        return Err(too_large());
    }
    if !media_type.matches(&bytes) {
        return Err(ApiError::invalid(
            "invalid_image",
            format!("the bytes are not a {} image", media_type.as_mime()),
        ));
    }
    let sha256: [u8; 32] = Sha256::digest(&bytes).into();
    let stored = app
        .store
        .put_media(
            auth.account,
            NewMedia {
                media_type,
                sha256,
                bytes: bytes.to_vec(),
            },
            app.limits.media_quota_bytes_per_account,
        )
        .await?;
    let media = stored.media;
    let status = if stored.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(MediaUploaded {
            media_id: media.media_id.to_string(),
            content_type: media.media_type.as_mime().to_owned(),
            bytes: media.bytes,
            sha256: hex(&media.sha256),
        }),
    ))
}

/// An image's original bytes (its EXIF included), for its uploader and
/// the members of a conversation showing it (in a message they can see).
/// Being an avatar does not open the original to others: they read its
/// thumbnail.
#[utoipa::path(get, path = "/api/v1/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the bytes, with `X-Content-Type-Options: nosniff` and an immutable cache lifetime",
            content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"), (Vec<u8> = "image/gif"))),
        (status = 401, body = Problem),
        (status = 404, description = "media_not_found: unknown, or not shown to you", body = Problem),
    ))]
pub async fn get(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let media = media_id(&id)?;
    let (media, bytes) = app.store.media(auth.account, media).await?;
    Ok(image_response(media.media_type, bytes))
}

/// A small picture of an image (at most 320 pixels on its long side; a
/// JPEG, or a PNG when the image has transparency, re-encoded without the
/// original's metadata), for whoever may fetch the image itself and, while
/// it is an account's or a group's current avatar, for any account. Made
/// on first use and kept; clients show avatars through it.
#[utoipa::path(get, path = "/api/v1/media/{id}/thumbnail", tag = "media", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the thumbnail's bytes, with `X-Content-Type-Options: nosniff` and an immutable cache lifetime",
            content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))),
        (status = 401, body = Problem),
        (status = 404, description = "media_not_found: unknown, or not shown to you", body = Problem),
        (status = 400, description = "invalid_image: the image's bytes cannot be decoded as a picture (or it is too large to)", body = Problem),
    ))]
pub async fn thumbnail(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let media = media_id(&id)?;
    let thumbnail = app.store.media_thumbnail(auth.account, media).await?;
    Ok(image_response(thumbnail.media_type, thumbnail.bytes))
}

/// An image's bytes as an answer that a browser shows and never runs.
fn image_response(media_type: MediaType, bytes: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media_type.as_mime()),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    // Opened on its own, an image runs nothing and is framed by nobody.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    response
}

/// An id that cannot exist is answered like one not shown to the caller.
fn media_id(text: &str) -> Result<MediaId, ApiError> {
    MediaId::parse(text).map_err(|_| Rejection::MediaNotFound.into())
}

fn hex(bytes: &[u8; 32]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(64);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}
