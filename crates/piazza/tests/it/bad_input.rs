//! Hostile input: every kind of bad request is a 4xx problem+json, never a
//! 5xx, and changes nothing.

use piazza_client::{Client, RawResponse};
use reqwest::Method;

use crate::helpers::*;

async fn raw(client: &Client, method: Method, path: &str, body: Option<&str>) -> RawResponse {
    client
        .raw(
            method,
            path,
            body.map(|b| b.as_bytes().to_vec()),
            body.map(|_| "application/json"),
        )
        .await
        .expect("the server answers")
}

/// Who asks, how, where, with what body, and the status and code expected.
type Case<'a> = (
    &'a Client,
    Method,
    String,
    Option<&'a str>,
    u16,
    &'static str,
);

fn assert_problem_response(response: &RawResponse, status: u16, code: &str, what: &str) {
    assert_eq!(
        response.status,
        status,
        "{what}: {}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(
        response.content_type.as_deref(),
        Some("application/problem+json"),
        "{what}"
    );
    let problem: piazza_api::Problem =
        serde_json::from_slice(&response.body).expect("a problem body");
    assert_eq!(
        (problem.status, problem.code.as_str()),
        (status, code),
        "{what}: {problem:?}"
    );
    assert!(
        !problem.title.is_empty() && !problem.detail.is_empty() && problem.type_.contains(code)
    );
}

#[tokio::test]
async fn bad_input_is_a_4xx_problem_and_changes_nothing() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    ann.client
        .send_message(&conversation, "ok-1", "the only message")
        .await
        .unwrap();
    let (log_before, _) = sync_all(&ann.client, None, 200).await;
    let anonymous = app.anonymous();
    let messages = format!("/api/v1/conversations/{conversation}/messages");
    let read = format!("/api/v1/conversations/{conversation}/read");
    let long_text = "x".repeat(16 * 1024 + 1);
    let long_id = "i".repeat(65);
    let too_long_message = format!(r#"{{"client_msg_id":"a","text":"{long_text}"}}"#);
    let long_id_message = format!(r#"{{"client_msg_id":"{long_id}","text":"hi"}}"#);
    let huge = format!(
        r#"{{"client_msg_id":"a","text":"{}"}}"#,
        "y".repeat(70 * 1024)
    );

    let cases: Vec<Case<'_>> = vec![
        // Accounts.
        (
            &anonymous,
            Method::POST,
            "/api/v1/accounts".to_owned(),
            Some(r#"{"username":"ab","password":"password1"}"#),
            400,
            "invalid_username",
        ),
        (
            &anonymous,
            Method::POST,
            "/api/v1/accounts".to_owned(),
            Some(r#"{"username":"Ann2","password":"password1"}"#),
            400,
            "invalid_username",
        ),
        (
            &anonymous,
            Method::POST,
            "/api/v1/accounts".to_owned(),
            Some(r#"{"username":"ann2","password":"short"}"#),
            400,
            "invalid_password",
        ),
        (
            &anonymous,
            Method::POST,
            "/api/v1/accounts".to_owned(),
            Some(r#"{"username":"ann2","password":"password1","display_name":"a\u0007"}"#),
            400,
            "invalid_display_name",
        ),
        (
            &anonymous,
            Method::POST,
            "/api/v1/accounts".to_owned(),
            Some(r#"{"username":"ann","password":"password1"}"#),
            409,
            "username_taken",
        ),
        (
            &anonymous,
            Method::POST,
            "/api/v1/accounts".to_owned(),
            Some(r#"{"username":"ann2"}"#),
            400,
            "invalid_body",
        ),
        (
            &anonymous,
            Method::POST,
            "/api/v1/accounts".to_owned(),
            Some(r#"{"username":12,"password":"password1"}"#),
            400,
            "invalid_body",
        ),
        (
            &anonymous,
            Method::POST,
            "/api/v1/accounts".to_owned(),
            Some(r#"{"username":"ann2","#),
            400,
            "malformed_json",
        ),
        (
            &anonymous,
            Method::POST,
            "/api/v1/accounts".to_owned(),
            Some("[]"),
            400,
            "invalid_body",
        ),
        (
            &anonymous,
            Method::POST,
            "/api/v1/sessions".to_owned(),
            Some(r#"{"username":"ann","password":"password1","device_name":""}"#),
            400,
            "invalid_device_name",
        ),
        // Authentication.
        (
            &anonymous,
            Method::GET,
            "/api/v1/me".to_owned(),
            None,
            401,
            "unauthorized",
        ),
        (
            &anonymous,
            Method::GET,
            "/api/v1/sync".to_owned(),
            None,
            401,
            "unauthorized",
        ),
        // Messages.
        (
            &ann.client,
            Method::POST,
            messages.clone(),
            Some(r#"{"client_msg_id":"a","text":""}"#),
            400,
            "invalid_text",
        ),
        (
            &ann.client,
            Method::POST,
            messages.clone(),
            Some(r#"{"client_msg_id":"a","text":"   "}"#),
            400,
            "invalid_text",
        ),
        (
            &ann.client,
            Method::POST,
            messages.clone(),
            Some(&too_long_message),
            400,
            "message_too_long",
        ),
        (
            &ann.client,
            Method::POST,
            messages.clone(),
            Some(&long_id_message),
            400,
            "invalid_client_msg_id",
        ),
        (
            &ann.client,
            Method::POST,
            messages.clone(),
            Some(r#"{"client_msg_id":"","text":"hi"}"#),
            400,
            "invalid_client_msg_id",
        ),
        (
            &ann.client,
            Method::POST,
            messages.clone(),
            Some(r#"{"text":"hi"}"#),
            400,
            "invalid_body",
        ),
        (
            &ann.client,
            Method::POST,
            messages.clone(),
            Some(r#"{"client_msg_id":"a","text":null}"#),
            400,
            "invalid_body",
        ),
        (
            &ann.client,
            Method::POST,
            messages.clone(),
            Some("not json at all"),
            400,
            "malformed_json",
        ),
        (
            &ann.client,
            Method::POST,
            messages.clone(),
            Some(&huge),
            413,
            "body_too_large",
        ),
        (
            &ann.client,
            Method::GET,
            format!("{messages}?limit=0"),
            None,
            400,
            "invalid_limit",
        ),
        (
            &ann.client,
            Method::GET,
            format!("{messages}?limit=-1"),
            None,
            400,
            "invalid_query",
        ),
        (
            &ann.client,
            Method::GET,
            format!("{messages}?before=-5"),
            None,
            400,
            "invalid_seq",
        ),
        (
            &ann.client,
            Method::GET,
            format!("{messages}?before=abc"),
            None,
            400,
            "invalid_query",
        ),
        (
            &ann.client,
            Method::POST,
            read.clone(),
            Some(r#"{"seq":-1}"#),
            400,
            "invalid_seq",
        ),
        (
            &ann.client,
            Method::POST,
            read.clone(),
            Some(r#"{"seq":99}"#),
            400,
            "seq_out_of_range",
        ),
        (
            &ann.client,
            Method::POST,
            read.clone(),
            Some(r#"{"seq":1.5}"#),
            400,
            "invalid_body",
        ),
        // Contacts and conversations.
        (
            &ann.client,
            Method::POST,
            "/api/v1/contacts/requests".to_owned(),
            Some(r#"{"to":"bob"}"#),
            409,
            "already_contacts",
        ),
        (
            &ann.client,
            Method::POST,
            "/api/v1/contacts/requests".to_owned(),
            Some(r#"{"to":"NOT A NAME"}"#),
            404,
            "account_not_found",
        ),
        (
            &ann.client,
            Method::POST,
            "/api/v1/conversations".to_owned(),
            Some(r#"{"title":"","members":[]}"#),
            400,
            "invalid_title",
        ),
        (
            &ann.client,
            Method::POST,
            "/api/v1/conversations/direct".to_owned(),
            Some(r#"{"peer":"acct_x"}"#),
            403,
            "not_a_contact",
        ),
        (
            &ann.client,
            Method::DELETE,
            "/api/v1/contacts/garbage".to_owned(),
            None,
            404,
            "not_found",
        ),
        // Sync.
        (
            &ann.client,
            Method::GET,
            "/api/v1/sync?since=v9.1".to_owned(),
            None,
            400,
            "invalid_cursor",
        ),
        (
            &ann.client,
            Method::GET,
            "/api/v1/sync?since=v1.-1".to_owned(),
            None,
            400,
            "invalid_cursor",
        ),
        (
            &ann.client,
            Method::GET,
            "/api/v1/sync?limit=0".to_owned(),
            None,
            400,
            "invalid_limit",
        ),
        (
            &ann.client,
            Method::GET,
            "/api/v1/sync?wait_ms=soon".to_owned(),
            None,
            400,
            "invalid_query",
        ),
        // Routing.
        (
            &ann.client,
            Method::GET,
            "/api/v1/nothing-here".to_owned(),
            None,
            404,
            "not_found",
        ),
        (
            &ann.client,
            Method::DELETE,
            "/api/v1/me".to_owned(),
            None,
            405,
            "method_not_allowed",
        ),
    ];
    for (client, method, path, body, status, code) in cases {
        let response = raw(client, method.clone(), &path, body).await;
        assert_problem_response(
            &response,
            status,
            code,
            &format!("{method} {path} {:?}", body.map(|b| &b[..b.len().min(60)])),
        );
    }
    // A body without its content type.
    let response = ann
        .client
        .raw(
            Method::POST,
            &messages,
            Some(br#"{"client_msg_id":"a","text":"hi"}"#.to_vec()),
            None,
        )
        .await
        .unwrap();
    assert_problem_response(&response, 415, "unsupported_media_type", "no content type");
    // A bad token is a 401 like no token.
    let forged = anonymous.with_token("pz_not-a-real-token");
    assert_problem(&forged.me().await.unwrap_err(), 401, "unauthorized");

    let (log_after, _) = sync_all(&ann.client, None, 200).await;
    assert_eq!(log_after, log_before, "nothing reached the log");
    assert_eq!(message_count(&bob, &conversation).await, 1);
    assert_problem(
        &anonymous.login("ann2", "password1", "x").await.unwrap_err(),
        401,
        "wrong_credentials",
    );
    app.shut_down().await;
}

#[tokio::test]
async fn repeated_failed_logins_are_refused_with_429() {
    let app = spawn_app().await;
    app.signup("ann").await;
    let anonymous = app.anonymous();
    // A wrong password and an unknown user look the same.
    let wrong = anonymous
        .login("ann", "wrong password", "x")
        .await
        .unwrap_err();
    let unknown = anonymous
        .login("nobody", "wrong password", "x")
        .await
        .unwrap_err();
    assert_problem(&wrong, 401, "wrong_credentials");
    assert_problem(&unknown, 401, "wrong_credentials");
    let mut refused = None;
    for attempt in 0..20 {
        match anonymous
            .login("ann", "wrong password", "x")
            .await
            .unwrap_err()
        {
            error if error.status() == Some(429) => {
                refused = Some(attempt);
                break;
            }
            error => assert_problem(&error, 401, "wrong_credentials"),
        }
    }
    assert!(refused.is_some(), "refused after repeated failures");
    let response = anonymous
        .raw(
            Method::POST,
            "/api/v1/sessions",
            Some(
                format!(r#"{{"username":"ann","password":"{PASSWORD}","device_name":"x"}}"#)
                    .into_bytes(),
            ),
            Some("application/json"),
        )
        .await
        .unwrap();
    assert_eq!(
        response.status, 429,
        "even the right password waits out the lock"
    );
    let retry_after: u64 = response
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0);
    app.shut_down().await;
}

/// Requests that hyper's parser refuses before any handler runs: a
/// control byte in a header value, a malformed header name, bytes past
/// ASCII in the path, a `Content-Length` that is no number, too many
/// headers. They are answered with a problem+json like every other bad
/// request (hyper's own answer had no body), and the connection closes.
#[tokio::test]
async fn requests_the_http_parser_refuses_are_problem_json_too() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app().await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut many_headers = b"GET /healthz HTTP/1.1\r\nHost: piazza\r\n".to_vec();
    for n in 0..150 {
        many_headers.extend_from_slice(format!("X-Header-{n}: {n}\r\n").as_bytes());
    }
    many_headers.extend_from_slice(b"\r\n");
    let cases: [(&str, &[u8], u16); 8] = [
        (
            "a control byte in Authorization",
            b"GET /api/v1/me HTTP/1.1\r\nHost: piazza\r\nAuthorization: Bearer \x01abc\r\n\r\n",
            400,
        ),
        (
            "DEL in Idempotency-Key",
            b"POST /api/v1/wallet/topups HTTP/1.1\r\nHost: piazza\r\nIdempotency-Key: a\x7fb\r\n\r\n",
            400,
        ),
        (
            "NUL in a header value",
            b"GET /healthz HTTP/1.1\r\nHost: piazza\r\nX-Any: a\x00b\r\n\r\n",
            400,
        ),
        (
            "a space in a header name",
            b"GET /healthz HTTP/1.1\r\nHost: piazza\r\nX Any: b\r\n\r\n",
            400,
        ),
        (
            "a byte past ASCII in the path",
            b"GET /api/v1/\xff HTTP/1.1\r\nHost: piazza\r\n\r\n",
            400,
        ),
        (
            "a Content-Length that is no number",
            b"POST /api/v1/accounts HTTP/1.1\r\nHost: piazza\r\nContent-Length: abc\r\n\r\n",
            400,
        ),
        ("no request line at all", b"HELLO\r\n\r\n", 400),
        ("150 headers", &many_headers, 431),
    ];
    for (what, request, status) in cases {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("{what}: the server answers and closes"))
            .unwrap_or_else(|error| panic!("{what}: {error}"));
        let answer = String::from_utf8_lossy(&answer);
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{what}: no head in {answer:?}"));
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status} ")),
            "{what}: {head}"
        );
        let head = head.to_ascii_lowercase();
        let headers: Vec<&str> = head.split("\r\n").skip(1).collect();
        for expected in [
            "content-type: application/problem+json",
            "connection: close",
        ] {
            assert!(headers.contains(&expected), "{what}: {head}");
        }
        let problem: piazza_api::Problem = serde_json::from_str(body)
            .unwrap_or_else(|error| panic!("{what}: {error} in {body:?}"));
        assert_eq!(problem.status, status, "{what}");
        assert!(
            !problem.code.is_empty() && !problem.detail.is_empty(),
            "{what}"
        );
    }
    // The server still answers everyone after all that.
    assert_eq!(app.anonymous().health().await.unwrap().status, "ok");
    app.shut_down().await;
}
