//! The browser client: the files under `assets/`, served at `/`.
//!
//! Release builds embed the files in the binary, so `cargo build` alone
//! yields a server that serves the whole client; debug builds read them
//! from disk on each request, so the JavaScript can be edited and reloaded
//! without recompiling (that is how `rust-embed` works).
//!
//! [`serves`] says which requests belong here and [`respond`] answers
//! them: a known asset gets its bytes, its type and an ETag; any other
//! path that does not look like a file gets `index.html`, because the
//! client routes in the browser (`/chats/…`). Every answer carries the
//! [security headers](SECURITY_HEADERS): the client has no inline script
//! or style, so the policy can forbid both.

use std::fmt::Write as _;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use rust_embed::Embed;

/// The browser client's files, from `crates/piazza-web/assets/`.
#[derive(Embed)]
#[folder = "assets/"]
struct Assets;

/// The page every client route is answered with.
const INDEX: &str = "index.html";

/// The headers on every page and asset. The policy allows only this
/// origin's scripts, styles and connections (no `'unsafe-inline'`, no
/// `eval`), images also from `data:` and `blob:` URLs (QR codes, pasted
/// pictures), and no framing, so a page cannot be clickjacked or made to
/// run injected markup. No page of another origin keeps a handle on ours
/// (`Cross-Origin-Opener-Policy`: a page that opened the client, or one
/// the client opened, gets no `window.opener` to script or navigate it).
/// The page may use no powerful browser feature but those it needs: the
/// camera (scanning a merchant's QR code), the microphone (recording a
/// voice note), the position (sharing a place), full screen (a video) and
/// writing to the clipboard (copying a payment code), all for this origin
/// only. Voice notes and videos play from `blob:` URLs of bytes fetched
/// with the token (`media-src`).
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(self), clipboard-write=(self), geolocation=(self), accelerometer=(), \
         autoplay=(), clipboard-read=(), display-capture=(), encrypted-media=(), fullscreen=(self), \
         gyroscope=(), hid=(), idle-detection=(), magnetometer=(), \
         microphone=(self), midi=(), payment=(), picture-in-picture=(), \
         publickey-credentials-get=(), screen-wake-lock=(), serial=(), usb=(), \
         xr-spatial-tracking=()",
    ),
];

/// The longest path taken as an asset name; longer ones are never files.
const ASSET_PATH_BYTES_MAX: usize = 256;
/// The deepest folder nesting taken as an asset name.
const ASSET_PATH_SEGMENTS_MAX: usize = 8;

/// Path prefixes that belong to the server itself, never to the client:
/// an unknown path under them must stay a problem+json 404.
const SERVER_PREFIXES: [&str; 3] = ["/api/", "/metrics", "/healthz"];

/// Whether this request is the web client's: a GET (or HEAD) of a path
/// outside the API, the metrics and the health check.
pub fn serves(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && path != "/api"
        && !SERVER_PREFIXES
            .iter()
            .any(|prefix| path.starts_with(prefix))
}

/// Answers a GET of `path` (the raw, still percent-encoded request path):
/// the asset, `index.html` for a client route, or 404 for a missing file.
/// `request_headers` are read for `If-None-Match`.
pub fn respond(path: &str, request_headers: &HeaderMap) -> Response {
    let name = match asset_name(path) {
        Some("") => INDEX,
        Some(name) if Assets::get(name).is_some() => name,
        // A missing file (or an unsafe name that looks like one) is a 404:
        // answering `index.html` for `/app.jss` would hide a broken link
        // behind a page that then fails to run.
        _ if looks_like_file(path) => return not_found(),
        _ => INDEX,
    };
    let Some(file) = Assets::get(name) else {
        return not_found();
    };
    let etag = etag(&file.metadata.sha256_hash());
    let mut response = if if_none_match(request_headers, &etag) {
        with_status(StatusCode::NOT_MODIFIED, Body::empty())
    } else {
        let mut response = with_status(StatusCode::OK, Body::from(file.data));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(name)),
        );
        response
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    // Revalidate every time: the ETag makes that a cheap 304, and an edited
    // file shows on the next reload instead of after a cache lifetime.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The asset name a request path may name, or `None` when it cannot be a
/// file of `assets/`: only plain segments of ASCII letters, digits, `-`,
/// `_` and `.`, none empty or starting with a dot. That leaves out `..`,
/// percent-encoded bytes (`%2e%2e`), backslashes and hidden files, so no
/// request can reach outside the folder whatever the embedding does.
fn asset_name(path: &str) -> Option<&str> {
    let name = path.strip_prefix('/')?;
    if name.is_empty() {
        return Some(name);
    }
    if name.len() > ASSET_PATH_BYTES_MAX {
        return None;
    }
    let mut segments = 0;
    for segment in name.split('/') {
        segments += 1;
        let plain = segment
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'));
        if segment.is_empty() || segment.starts_with('.') || !plain {
            return None;
        }
    }
    (segments <= ASSET_PATH_SEGMENTS_MAX).then_some(name)
}

/// Whether the last segment of `path` has an extension, as files do and
/// client routes do not.
fn looks_like_file(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    last.contains('.') || last.to_ascii_lowercase().contains("%2e")
}

/// The Content-Type of an asset, by its extension. Explicit rather than
/// guessed: with `nosniff`, a wrong type stops a script or style loading.
fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map_or("", |(_, extension)| extension);
    match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A strong ETag from the file's SHA-256 (the first 128 bits are plenty
/// to tell versions of one file apart).
fn etag(sha256: &[u8; 32]) -> String {
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for byte in &sha256[..16] {
        let _ = write!(tag, "{byte:02x}");
    }
    tag.push('"');
    tag
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak comparison, as
/// RFC 9110 asks for this header.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn not_found() -> Response {
    let mut response = with_status(StatusCode::NOT_FOUND, Body::from("not found\n"));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A response with the security headers set.
fn with_status(status: StatusCode, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_are_plain_segments_inside_the_folder() {
        assert_eq!(asset_name("/"), Some(""));
        assert_eq!(asset_name("/app.js"), Some("app.js"));
        assert_eq!(
            asset_name("/areas/chat/list.js"),
            Some("areas/chat/list.js")
        );
        for bad in [
            "/../Cargo.toml",
            "/%2e%2e/Cargo.toml",
            "/areas/../../Cargo.toml",
            "/.env",
            "/a//b.js",
            "/a\\b.js",
            "relative.js",
            "/a/",
        ] {
            assert_eq!(asset_name(bad), None, "{bad}");
        }
        let deep = "/a".repeat(ASSET_PATH_SEGMENTS_MAX + 1);
        assert_eq!(asset_name(&deep), None);
        let long = format!("/{}", "a".repeat(ASSET_PATH_BYTES_MAX + 1));
        assert_eq!(asset_name(&long), None);
    }

    #[test]
    fn only_non_server_gets_are_the_clients() {
        assert!(serves(&Method::GET, "/"));
        assert!(serves(&Method::HEAD, "/chats/abc"));
        assert!(!serves(&Method::POST, "/"));
        assert!(!serves(&Method::GET, "/api/v1/nope"));
        assert!(!serves(&Method::GET, "/api"));
        assert!(!serves(&Method::GET, "/metrics"));
        assert!(!serves(&Method::GET, "/healthz"));
    }

    #[test]
    fn client_routes_get_the_page_and_missing_files_404() {
        let none = HeaderMap::new();
        let page = respond("/chats/abc", &none);
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(respond("/nope.js", &none).status(), StatusCode::NOT_FOUND);
        assert_eq!(
            respond("/%2e%2e/Cargo.toml", &none).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            respond("/../Cargo.toml", &none).status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn a_matching_etag_gets_304_with_the_headers() {
        let first = respond("/", &HeaderMap::new());
        let tag = first.headers()[header::ETAG].clone();
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, tag.clone());
        let again = respond("/", &headers);
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], tag);
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(again.headers()[name], value);
        }
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert_eq!(respond("/", &headers).status(), StatusCode::OK);
    }

    #[test]
    fn types_follow_extensions() {
        assert_eq!(content_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("style.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("i18n/en.json"), "application/json");
        assert_eq!(content_type("README"), "application/octet-stream");
    }
}
