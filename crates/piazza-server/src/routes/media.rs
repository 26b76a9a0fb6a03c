//! Media of every kind: pictures, audio, video and any other file. An
//! upload is the raw bytes, streamed to disk as they arrive (never held
//! whole in memory); what it is comes from its bytes, never from its
//! `Content-Type`, which, when it names a picture, audio or video, must
//! fit them (400 otherwise). It is kept by content, once per account, and
//! shown by sending a message with its `media_id`. Only the uploader and
//! members who can see a message showing it may fetch it; anyone else,
//! like an unknown id, gets the same 404. Each upload is capped by kind
//! (`limits.media_bytes_max` for pictures, `audio_bytes_max`,
//! `video_bytes_max`, `file_bytes_max`: 413) and so is what one account
//! keeps in all (`limits.media_quota_bytes_per_account`, 507).
//!
//! Downloads stream from the blob store, with `Range` (206, 416 past the
//! end), a strong `ETag` (304 for `If-None-Match`) and an immutable cache
//! lifetime. A file that is not a picture, audio or video is only ever an
//! attachment (`application/octet-stream`, `Content-Disposition:
//! attachment`), and everything answers `nosniff` and a sandboxing CSP,
//! so nothing uploaded runs in Piazza's origin.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use piazza_api::{MediaUploaded, Problem};
use piazza_core::media::{Reading, Served, UploadRules};
use piazza_domain::media::{MediaKind, MediaType, file_name};
use piazza_domain::{MediaId, Rejection};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::App;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Json;
use crate::extract::Query;

/// This area's routes, each registered once with its OpenAPI entry (from
/// the handler's `#[utoipa::path]`); `crate::api_routes` merges them. An
/// upload reads its body as a stream, past the 64 KiB cap every other
/// route keeps (its own caps apply as it arrives).
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(get))
        .routes(routes!(preview))
        .routes(routes!(thumbnail))
}

/// The path of uploads, which the request deadline treats apart.
pub const UPLOAD_PATH: &str = "/api/v1/media";

/// How long a browser may keep a media: its bytes never change under its
/// id, so a year, and private (it is behind a token).
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file's name, shown with a `file` message and offered as the
    /// download's name (folders and control characters are dropped).
    name: Option<String>,
}

/// Upload a picture, audio, video or any file. The body is the bytes
/// themselves, not JSON; what they are is read from them.
#[utoipa::path(post, path = "/api/v1/media", tag = "media", security(("bearer" = [])),
    params(UploadQuery),
    request_body(description = "The bytes. `Content-Type` is optional; when it names a picture, audio or video type it must fit the bytes.",
        content((Vec<u8> = "application/octet-stream"), (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "audio/ogg"), (Vec<u8> = "video/mp4"))),
    responses(
        (status = 201, description = "kept", body = MediaUploaded),
        (status = 200, description = "this account had uploaded the same bytes; the first media", body = MediaUploaded),
        (status = 400, description = "invalid_image / invalid_media: the bytes are not the picture, audio or video declared; empty_upload: no bytes; invalid_body: the upload broke off", body = Problem),
        (status = 401, body = Problem),
        (status = 408, description = "request_timeout: past `limits.media_upload_timeout_s`", body = Problem),
        (status = 413, description = "body_too_large: past the cap of what the bytes are", body = Problem),
        (status = 507, description = "media_quota_exceeded: this account's media would pass `limits.media_quota_bytes_per_account` (each distinct content counted once); the same bytes as an earlier upload are still answered", body = Problem),
    ))]
pub async fn upload(
    State(app): State<App>,
    auth: Auth,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<MediaUploaded>), ApiError> {
    let caps = app.limits.upload_caps();
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if let Some(length) = declared_length
        && length > caps.largest()
    {
        // Past every cap whatever it is: refused before a byte is read.
        let max_bytes = caps.largest();
        return Err(Rejection::MediaTooLarge {
            kind: "upload",
            max_bytes,
        }
        .into());
    }
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(MediaType::from_content_type);
    let rules = UploadRules {
        caps,
        quota_bytes: app.limits.media_quota_bytes_per_account,
    };
    let name = query.name.as_deref().and_then(file_name);
    let stored = app
        .store
        .upload_media(
            auth.account,
            declared,
            name,
            body.into_data_stream(),
            &rules,
        )
        .await?;
    let status = if stored.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(uploaded(&stored.media))))
}

pub fn uploaded(media: &piazza_domain::media::Media) -> MediaUploaded {
    MediaUploaded {
        media_id: media.media_id.to_string(),
        content_type: media.media_type.as_mime().to_owned(),
        bytes: media.bytes,
        sha256: piazza_core::media::files::hex(&media.sha256),
        width: media.facts.width,
        height: media.facts.height,
        duration_ms: media.facts.duration_ms,
        name: media.name.clone(),
    }
}

/// A media's bytes, for its uploader and the members of a conversation
/// showing it (in a message they can see). A picture is served without
/// its metadata (EXIF, XMP, comments) and upright; a file that is not a
/// picture, audio or video only as an attachment. Being an avatar does
/// not open the whole picture to others: they read its thumbnail.
#[utoipa::path(get, path = "/api/v1/media/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = String, Path), ("Range" = Option<String>, Header, description = "one range, `bytes=first-last`, `bytes=first-` or `bytes=-suffix`")),
    responses(
        (status = 200, description = "the bytes, with `ETag`, `Accept-Ranges`, `X-Content-Type-Options: nosniff` and an immutable cache lifetime",
            content((Vec<u8> = "image/jpeg"), (Vec<u8> = "audio/ogg"), (Vec<u8> = "video/mp4"), (Vec<u8> = "application/octet-stream"))),
        (status = 206, description = "the range asked for, with `Content-Range`"),
        (status = 304, description = "`If-None-Match` names these bytes"),
        (status = 401, body = Problem),
        (status = 404, description = "media_not_found: unknown, or not shown to you", body = Problem),
        (status = 416, description = "range_not_satisfiable: the range starts past the end", body = Problem),
    ))]
pub async fn get(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(&app, auth, &id, Reading::Original, &headers).await
}

/// A picture at most 1280 pixels on its long side (a JPEG, or a PNG when
/// it has transparency, with no metadata), for whoever may fetch the
/// picture itself and, while it is an avatar, for any account. Made once
/// per content.
#[utoipa::path(get, path = "/api/v1/media/{id}/preview", tag = "media", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the preview's bytes", content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))),
        (status = 304, description = "`If-None-Match` names these bytes"),
        (status = 401, body = Problem),
        (status = 404, description = "media_not_found", body = Problem),
        (status = 400, description = "invalid_image: not a picture, or one that cannot be decoded", body = Problem),
    ))]
pub async fn preview(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(&app, auth, &id, Reading::Preview, &headers).await
}

/// A small picture (at most 320 pixels on its long side; a JPEG, or a PNG
/// when the picture has transparency, with no metadata), for whoever may
/// fetch the picture itself and, while it is an account's or a group's
/// current avatar, for any account. Clients show avatars through it.
#[utoipa::path(get, path = "/api/v1/media/{id}/thumbnail", tag = "media", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the thumbnail's bytes", content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))),
        (status = 304, description = "`If-None-Match` names these bytes"),
        (status = 401, body = Problem),
        (status = 404, description = "media_not_found: unknown, or not shown to you", body = Problem),
        (status = 400, description = "invalid_image: not a picture, or one that cannot be decoded", body = Problem),
    ))]
pub async fn thumbnail(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(&app, auth, &id, Reading::Thumbnail, &headers).await
}

async fn serve(
    app: &App,
    auth: Auth,
    id: &str,
    reading: Reading,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let media = media_id(id)?;
    let picture_max = app.limits.media_bytes_max as u64;
    let served = app
        .store
        .media_served(auth.account, media, reading, picture_max)
        .await?;
    respond_served(app, &served, headers).await
}

/// The bytes of `served` (one the caller may be shown), as a `GET` with
/// `headers` asks for them: the whole, a range, or 304.
pub(crate) async fn respond_served(
    app: &App,
    served: &Served,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    if not_modified(headers, &served.etag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        common_headers(response.headers_mut(), served);
        return Ok(response);
    }
    let (status, range) = match wanted_range(headers, served.size) {
        Wanted::Part(range) => (StatusCode::PARTIAL_CONTENT, range),
        Wanted::Whole => (StatusCode::OK, 0..served.size),
        Wanted::Unsatisfiable => return Ok(unsatisfiable(served.size)),
    };
    let length = range.end - range.start;
    let content_range = format!(
        "bytes {}-{}/{}",
        range.start,
        range.end.saturating_sub(1),
        served.size
    );
    let stream = app.store.media_bytes(served, range).await?;
    let mut response = (status, Body::from_stream(stream)).into_response();
    let response_headers = response.headers_mut();
    common_headers(response_headers, served);
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if status == StatusCode::PARTIAL_CONTENT {
        response_headers.insert(header::CONTENT_RANGE, header_value(&content_range));
    }
    Ok(response)
}

/// Whether `If-None-Match` names `etag` (or `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// What of a media a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    /// No `Range`, or one this does not serve (several ranges, another
    /// unit, malformed): RFC 9110 lets a server answer those whole.
    Whole,
    Part(std::ops::Range<u64>),
    /// A range that starts past the end.
    Unsatisfiable,
}

fn wanted_range(headers: &HeaderMap, size: u64) -> Wanted {
    let Some(value) = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
    else {
        return Wanted::Whole;
    };
    let Ok(parsed) = http_range_header::parse_range_header(value) else {
        return Wanted::Whole;
    };
    if size == 0 {
        return Wanted::Unsatisfiable;
    }
    match parsed.validate(size) {
        Ok(ranges) if ranges.len() == 1 => {
            let range = &ranges[0];
            Wanted::Part(*range.start()..range.end() + 1)
        }
        Ok(_) => Wanted::Whole,
        // A suffix longer than the media is all of it (RFC 9110 §14.1.3).
        Err(http_range_header::RangeUnsatisfiableError::FileSuffixOutOfBounds) => {
            Wanted::Part(0..size)
        }
        Err(_) => Wanted::Unsatisfiable,
    }
}

fn unsatisfiable(size: u64) -> Response {
    let mut response = ApiError::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "range_not_satisfiable",
        format!("the media holds {size} bytes; ask for a range inside them"),
    )
    .into_response();
    response.headers_mut().insert(
        header::CONTENT_RANGE,
        header_value(&format!("bytes */{size}")),
    );
    response
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("made of visible ASCII here")
}

/// The headers of every answer about `served`: its type (a file only as
/// an attachment), its tag, and that a browser shows it, never runs it.
fn common_headers(headers: &mut HeaderMap, served: &Served) {
    let attachment = served.media_type.kind() == MediaKind::File;
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(served.media_type.as_mime()),
    );
    headers.insert(header::ETAG, header_value(&served.etag));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    let disposition = if attachment {
        attachment_disposition(served.media.name.as_deref())
    } else {
        HeaderValue::from_static("inline")
    };
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    // Opened on its own, a media runs nothing and is framed by nobody.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; media-src 'self'; sandbox"),
    );
}

/// `attachment`, with the file's name as RFC 6266 and RFC 8187 spell it:
/// an ASCII fallback and the UTF-8 name percent-encoded.
fn attachment_disposition(name: Option<&str>) -> HeaderValue {
    let Some(name) = name else {
        return HeaderValue::from_static("attachment");
    };
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .filter(|c| !matches!(c, '"' | '\\' | ';'))
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// An id in a path that cannot exist is answered like one not shown to
/// the caller.
fn media_id(text: &str) -> Result<MediaId, ApiError> {
    MediaId::parse(text).map_err(|_| Rejection::MediaNotFound.into())
}

/// A media id in a request's body: one that is not an id is bad input
/// (400 `invalid_media_id`); whether it is the caller's is the rules' to say.
pub fn body_media_id(text: &str) -> Result<MediaId, ApiError> {
    MediaId::parse(text).map_err(|_| Rejection::InvalidMediaId.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, size: u64) -> Wanted {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        wanted_range(&headers, size)
    }

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(range("bytes=0-9", 100), Wanted::Part(0..10));
        assert_eq!(range("bytes=90-", 100), Wanted::Part(90..100));
        assert_eq!(range("bytes=-10", 100), Wanted::Part(90..100));
        assert_eq!(
            range("bytes=95-200", 100),
            Wanted::Part(95..100),
            "clamped to the end"
        );
        assert_eq!(range("bytes=100-", 100), Wanted::Unsatisfiable);
        assert_eq!(
            range("bytes=-1000", 100),
            Wanted::Part(0..100),
            "a longer suffix: all"
        );
        assert_eq!(
            range("bytes=0-", 0),
            Wanted::Unsatisfiable,
            "nothing to range over"
        );
        assert_eq!(
            range("bytes=0-1,5-6", 100),
            Wanted::Whole,
            "several: the whole"
        );
        assert_eq!(range("items=0-1", 100), Wanted::Whole);
        assert_eq!(range("bytes=x-y", 100), Wanted::Whole);
    }

    #[test]
    fn an_attachments_name_cannot_break_its_header() {
        let value = attachment_disposition(Some("a\"b;c é.pdf"));
        let text = value.to_str().unwrap();
        assert_eq!(
            text,
            "attachment; filename=\"abc _.pdf\"; filename*=UTF-8''a%22b%3Bc%20%C3%A9.pdf"
        );
    }
}
