//! The web client's pages and assets as `piazza serve` answers them: the
//! right types, the security headers, client routes answered with the page,
//! and the API's own 404s untouched.

use piazza_client::RawResponse;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

async fn get(app: &TestApp, path: &str) -> RawResponse {
    app.anonymous()
        .raw(Method::GET, path, None, None)
        .await
        .expect("an answer")
}

fn header<'r>(response: &'r RawResponse, name: &str) -> &'r str {
    response
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header: {:?}", response.headers))
}

fn assert_security_headers(response: &RawResponse) {
    let policy = header(response, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(!policy.contains("unsafe-eval"), "{policy}");
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
    assert_eq!(header(response, "x-frame-options"), "DENY");
    assert_eq!(header(response, "referrer-policy"), "no-referrer");
    // No other page may hold a handle on ours (`window.opener`)...
    assert_eq!(
        header(response, "cross-origin-opener-policy"),
        "same-origin"
    );
    // ...and the page may use no powerful feature it does not need: the
    // camera only for scanning a merchant's code, the position only for
    // sharing a place and the microphone only for voice notes, from this
    // origin.
    let permissions = header(response, "permissions-policy");
    for denied in [
        "midi=()",
        "payment=()",
        "usb=()",
        "serial=()",
        "display-capture=()",
    ] {
        assert!(
            permissions.split(", ").any(|rule| rule == denied),
            "{denied} in {permissions}"
        );
    }
    for allowed in ["camera=(self)", "geolocation=(self)", "microphone=(self)"] {
        assert!(
            permissions.split(", ").any(|rule| rule == allowed),
            "{allowed} in {permissions}"
        );
    }
}

#[tokio::test]
async fn the_page_its_assets_and_client_routes() {
    let app = spawn_app().await;
    let page = get(&app, "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_security_headers(&page);
    assert_eq!(header(&page, "cache-control"), "no-cache");
    let html = String::from_utf8(page.body.clone()).unwrap();
    assert!(html.contains("<html"), "{html}");
    // The page itself keeps the policy: no inline script bodies or styles.
    assert!(!html.contains("style=\""), "inline style in index.html");

    // A client route is the same page.
    let route = get(&app, "/chats/abc").await;
    assert_eq!(route.status, 200);
    assert_eq!(route.body, page.body);
    assert_security_headers(&route);

    // The page's own module, with a JavaScript type (browsers refuse a
    // module of another type under `nosniff`).
    let script = get(&app, "/app.js").await;
    assert_eq!(script.status, 200, "the page loads /app.js");
    assert_eq!(
        script.content_type.as_deref(),
        Some("text/javascript; charset=utf-8")
    );
    assert_security_headers(&script);

    // Revalidation: the ETag answers 304 with no body.
    let etag = header(&page, "etag").to_owned();
    let again = app
        .anonymous()
        .raw_with_headers(Method::GET, "/", None, None, &[("if-none-match", &etag)])
        .await
        .unwrap();
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(header(&again, "etag"), etag);
    assert_security_headers(&again);

    // A missing file is a 404, not the page.
    let missing = get(&app, "/no-such-file.js").await;
    assert_eq!(missing.status, 404);
    assert_security_headers(&missing);
    app.shut_down().await;
}

#[tokio::test]
async fn the_api_keeps_its_problem_404s() {
    let app = spawn_app().await;
    for path in ["/api/v1/nope", "/api/v2/chats", "/api/v1/chats/abc"] {
        let answer = get(&app, path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/problem+json"),
            "{path}"
        );
    }
    // Other methods than GET on a page path are not the client's either.
    let posted = app
        .anonymous()
        .raw(Method::POST, "/chats/abc", Some(b"{}".to_vec()), None)
        .await
        .unwrap();
    assert_eq!(posted.status, 404);
    assert_eq!(
        posted.content_type.as_deref(),
        Some("application/problem+json")
    );
    app.shut_down().await;
}

/// Sends `path` exactly as written (HTTP clients would resolve the dots).
async fn get_raw_path(app: &TestApp, path: &str) -> (u16, String) {
    let address = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("an answer in time")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer}"));
    (status, answer)
}

#[tokio::test]
async fn nothing_outside_the_assets_folder_is_served() {
    let app = spawn_app().await;
    for path in [
        "/../Cargo.toml",
        "/../../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/%2E%2E/%2E%2E/Cargo.toml",
        "/..%2fCargo.toml",
        "/areas/../../src/lib.rs",
        "/..\\Cargo.toml",
        "/.%2e/Cargo.toml",
        "/%2e%2e/src/lib.rs",
    ] {
        let (status, answer) = get_raw_path(&app, path).await;
        assert!(
            status == 404 || status == 400,
            "{path} answered {status}: {answer}"
        );
        assert!(
            !answer.contains("[package]") && !answer.contains("rust_embed"),
            "{path} leaked a file: {answer}"
        );
    }
    app.shut_down().await;
}
