//! Log-in by QR code: a page asks, a logged-in device approves, the page
//! picks its new device's token up once; and everything that must not
//! work: wrong secrets and codes, a second approval, expiry, no token.

use piazza_api::{LoginRequestCreated, LoginRequestDetails, LoginRequestView};
use piazza_client::Client;
use piazza_domain::store::{LoginOrigin, LoginRequestId, NewLoginRequest};
use piazza_domain::{DeviceName, Timestamp};
use piazza_server::routes::login_requests::{
    LOGIN_REQUESTS_PER_ADDRESS_MAX, code_hash, qr_payload, secret_hash,
};
use reqwest::Method;

use crate::helpers::*;

fn problem_code(response: &piazza_client::RawResponse) -> String {
    assert_eq!(
        response.content_type.as_deref(),
        Some("application/problem+json"),
        "status {}: {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    let problem: piazza_api::Problem = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(problem.status, response.status);
    problem.code
}

#[tokio::test]
async fn a_page_becomes_a_device_of_the_approving_account_once() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let page = app.anonymous();
    let request = page
        .create_login_request(Some("kitchen browser"))
        .await
        .unwrap();
    assert!(request.qr_payload.starts_with("piazza-login:"));
    assert!(request.qr_payload.contains(&request.request_id));
    assert!(
        !request.qr_payload.contains(&request.secret),
        "the secret stays off the QR code"
    );
    assert!(request.qr_svg.contains("<svg"), "{}", request.qr_svg);

    let pending = page
        .login_request_status(&request.request_id, &request.secret)
        .await
        .unwrap();
    assert_eq!(pending.status, "pending");
    assert_eq!(pending.expires_at.as_deref(), Some(&*request.expires_at));
    assert_eq!(pending.token, None);

    ann.client.approve_login(&request.qr_payload).await.unwrap();
    // The device exists from the approval on, before the page picks it up.
    let devices = ann.client.devices().await.unwrap().devices;
    let new_device = devices
        .iter()
        .find(|device| device.device_name == "kitchen browser")
        .expect("the new device is listed")
        .device_id
        .clone();

    let approved = page
        .login_request_status(&request.request_id, &request.secret)
        .await
        .unwrap();
    assert_eq!(approved.status, "approved");
    assert_eq!(approved.account_id.as_deref(), Some(&*ann.account_id));
    assert_eq!(approved.username.as_deref(), Some("ann"));
    assert_eq!(approved.device_id.as_deref(), Some(&*new_device));
    let token = approved.token.expect("the first read carries the token");
    let browser = page.with_token(token);
    assert_eq!(browser.me().await.unwrap().username, "ann");
    let seen_by_browser = browser.devices().await.unwrap().devices;
    assert!(
        seen_by_browser
            .iter()
            .any(|device| device.device_id == new_device && device.current)
    );

    // Once only: later reads say approved and nothing more.
    let again = page
        .login_request_status(&request.request_id, &request.secret)
        .await
        .unwrap();
    assert_eq!(
        again,
        LoginRequestView {
            status: "approved".into(),
            expires_at: None,
            account_id: None,
            username: None,
            device_id: None,
            token: None,
        }
    );
    // One use: approving again, by anyone, is refused.
    let bob = app.signup("bob").await;
    for approver in [&ann, &bob] {
        let error = approver
            .client
            .approve_login(&request.qr_payload)
            .await
            .unwrap_err();
        assert_problem(&error, 409, "login_request_used");
    }

    // The approver can log the browser out like any device.
    ann.client.revoke_device(&new_device).await.unwrap();
    assert_problem(&browser.me().await.unwrap_err(), 401, "unauthorized");
    app.shut_down().await;
}

const FIREFOX_ON_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0";

/// A page at 127.0.0.3 with Firefox's User-Agent asks to log in, naming
/// its device as it likes.
async fn request_from_firefox(app: &TestApp, device_name: &str) -> LoginRequestCreated {
    let page = Client::from_address(&app.base, "127.0.0.3".parse().unwrap());
    let body = serde_json::json!({ "device_name": device_name }).to_string();
    let answer = page
        .raw_with_headers(
            Method::POST,
            "/api/v1/login-requests",
            Some(body.into_bytes()),
            Some("application/json"),
            &[("user-agent", FIREFOX_ON_WINDOWS)],
        )
        .await
        .unwrap();
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).unwrap()
}

#[tokio::test]
async fn the_approver_sees_what_the_server_saw_not_what_the_page_typed() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let before = Timestamp::now().to_rfc3339();
    let request = request_from_firefox(&app, "Ann's iPhone, safe to approve").await;
    let answer = ann
        .client
        .raw_with_headers(
            Method::GET,
            &format!("/api/v1/login-requests/{}/details", request.request_id),
            None,
            None,
            &[(
                "x-login-code",
                request.qr_payload.rsplit(':').next().unwrap(),
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let text = String::from_utf8_lossy(&answer.body);
    assert!(
        !text.contains("iPhone"),
        "the page's own words are not shown: {text}"
    );
    let details: LoginRequestDetails = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(details.browser, "Firefox on Windows");
    assert_eq!(details.address, "127.0.0.3");
    assert_eq!(details.expires_at, request.expires_at);
    // To the second, RFC 3339 in UTC is fixed-width: text order is time order.
    let seconds = |rfc3339: &str| rfc3339[..19].to_owned();
    let after = Timestamp::now().to_rfc3339();
    assert!((seconds(&before)..=seconds(&after)).contains(&seconds(&details.requested_at)));
    // The client reads them from the scanned payload; any logged-in
    // account holding the code may (the code is the capability).
    let bob = app.signup("bob").await;
    assert_eq!(
        bob.client
            .login_request_details(&request.qr_payload)
            .await
            .unwrap(),
        details
    );
    // Without the code, or without a device, nothing is shown.
    let forged = format!("piazza-login:{}:not-the-code", request.request_id);
    let error = ann.client.login_request_details(&forged).await.unwrap_err();
    assert_problem(&error, 404, "login_request_not_found");
    let error = app
        .anonymous()
        .login_request_details(&request.qr_payload)
        .await
        .unwrap_err();
    assert_problem(&error, 401, "unauthorized");
    // Once approved, the request is used up for review as for approval.
    ann.client.approve_login(&request.qr_payload).await.unwrap();
    let error = bob
        .client
        .login_request_details(&request.qr_payload)
        .await
        .unwrap_err();
    assert_problem(&error, 409, "login_request_used");
    app.shut_down().await;
}

#[tokio::test]
async fn approving_needs_an_explicit_confirmation() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let request = request_from_firefox(&app, "laptop").await;
    let approve = format!("/api/v1/login-requests/{}/approve", request.request_id);
    for body in [
        serde_json::json!({ "qr_payload": request.qr_payload }),
        serde_json::json!({ "qr_payload": request.qr_payload, "confirm": false }),
    ] {
        let answer = ann
            .client
            .raw(
                Method::POST,
                &approve,
                Some(body.to_string().into_bytes()),
                Some("application/json"),
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(problem_code(&answer), "confirmation_required");
    }
    let page = app.anonymous();
    let status = page
        .login_request_status(&request.request_id, &request.secret)
        .await
        .unwrap();
    assert_eq!(status.status, "pending", "nothing was approved");
    assert_eq!(ann.client.devices().await.unwrap().devices.len(), 1);
    let body = serde_json::json!({ "qr_payload": request.qr_payload, "confirm": true });
    let answer = ann
        .client
        .raw(
            Method::POST,
            &approve,
            Some(body.to_string().into_bytes()),
            Some("application/json"),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 204);
    app.shut_down().await;
}

#[tokio::test]
async fn concurrent_polls_hand_the_token_out_once() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let page = app.anonymous();
    let request = page.create_login_request(None).await.unwrap();
    // The code alone, without the prefix, is accepted too.
    let bare = request.qr_payload.trim_start_matches("piazza-login:");
    ann.client.approve_login(bare).await.unwrap();
    let polls = (0..8).map(|_| page.login_request_status(&request.request_id, &request.secret));
    let answers = futures_util::future::join_all(polls).await;
    let tokens: Vec<_> = answers
        .into_iter()
        .map(|answer| answer.unwrap())
        .inspect(|answer| assert_eq!(answer.status, "approved"))
        .filter_map(|answer| answer.token)
        .collect();
    assert_eq!(tokens.len(), 1, "exactly one poll gets the token");
    let browser = page.with_token(tokens[0].clone());
    assert_eq!(browser.me().await.unwrap().username, "ann");
    let names: Vec<_> = ann
        .client
        .devices()
        .await
        .unwrap()
        .devices
        .into_iter()
        .map(|device| device.device_name)
        .collect();
    // Unnamed, the device is named after what the server saw (this
    // client's own User-Agent).
    let kind =
        piazza_server::user_agent::BrowserKind::from_user_agent(&piazza_client::user_agent());
    assert!(names.contains(&format!("{kind} (QR log-in)")), "{names:?}");
    app.shut_down().await;
}

#[tokio::test]
async fn a_device_revoked_before_pick_up_never_gets_a_token() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let page = app.anonymous();
    let request = page.create_login_request(Some("stolen tab")).await.unwrap();
    ann.client.approve_login(&request.qr_payload).await.unwrap();
    // Ann changes her mind (say she scanned a phishing page's code).
    let device = ann
        .client
        .devices()
        .await
        .unwrap()
        .devices
        .into_iter()
        .find(|device| device.device_name == "stolen tab")
        .unwrap();
    ann.client.revoke_device(&device.device_id).await.unwrap();
    let status = page
        .login_request_status(&request.request_id, &request.secret)
        .await
        .unwrap();
    assert_eq!(status.status, "expired");
    assert_eq!(status.token, None);
    app.shut_down().await;
}

#[tokio::test]
async fn wrong_secrets_and_codes_are_unknown_requests() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let page = app.anonymous();
    let request = page.create_login_request(None).await.unwrap();

    let wrong_secret = page
        .login_request_status(&request.request_id, "not-the-secret")
        .await
        .unwrap_err();
    assert_problem(&wrong_secret, 404, "login_request_not_found");
    // The code is not the secret either: seeing the QR code is not enough.
    let code = request.qr_payload.rsplit(':').next().unwrap();
    let code_as_secret = page
        .login_request_status(&request.request_id, code)
        .await
        .unwrap_err();
    assert_problem(&code_as_secret, 404, "login_request_not_found");

    let forged = format!("piazza-login:{}:not-the-code", request.request_id);
    let wrong_code = ann.client.approve_login(&forged).await.unwrap_err();
    assert_problem(&wrong_code, 404, "login_request_not_found");
    let unknown = format!("piazza-login:lr_AAAAAAAAAAAAAAAAAAAAAA:{code}");
    let unknown = ann.client.approve_login(&unknown).await.unwrap_err();
    assert_problem(&unknown, 404, "login_request_not_found");

    // None of that approved anything.
    let still = page
        .login_request_status(&request.request_id, &request.secret)
        .await
        .unwrap();
    assert_eq!(still.status, "pending");
    assert_eq!(still.token, None);
    assert_eq!(ann.client.devices().await.unwrap().devices.len(), 1);

    // Approving needs a logged-in device.
    let anonymous = page.approve_login(&request.qr_payload).await.unwrap_err();
    assert_problem(&anonymous, 401, "unauthorized");
    let revoked = app.login("ann", "soon gone").await;
    ann.client.revoke_device(&revoked.device_id).await.unwrap();
    let error = revoked
        .client
        .approve_login(&request.qr_payload)
        .await
        .unwrap_err();
    assert_problem(&error, 401, "unauthorized");
    app.shut_down().await;
}

#[tokio::test]
async fn an_expired_request_cannot_be_approved() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    // Made in the store with a past expiry, as the route would have made
    // it two minutes ago (the route always gives two minutes).
    let request_id = LoginRequestId::parse("lr_expiredexpiredexpiredx").unwrap();
    let store = &app.running.as_ref().unwrap().app().store;
    let stored = store
        .create_login_request(NewLoginRequest {
            request_id: request_id.clone(),
            code_hash: code_hash("the-code"),
            secret_hash: secret_hash("the-secret"),
            device_name: DeviceName::parse("late browser").unwrap(),
            origin: LoginOrigin {
                browser: "Chrome on Linux".into(),
                address: "127.0.0.1".into(),
                user_agent: None,
            },
            expires_at: Timestamp::from_unix_ms(Timestamp::now().unix_ms() - 1),
        })
        .await
        .unwrap();
    assert!(stored);
    let page = app.anonymous();
    let status = page
        .login_request_status(request_id.as_str(), "the-secret")
        .await
        .unwrap();
    assert_eq!(status.status, "expired");
    assert_eq!(status.token, None);
    let error = ann
        .client
        .approve_login(&qr_payload(&request_id, "the-code"))
        .await
        .unwrap_err();
    assert_problem(&error, 410, "login_request_expired");
    let error = ann
        .client
        .login_request_details(&qr_payload(&request_id, "the-code"))
        .await
        .unwrap_err();
    assert_problem(&error, 410, "login_request_expired");
    assert_eq!(ann.client.devices().await.unwrap().devices.len(), 1);
    app.shut_down().await;
}

/// Who sends, how, where, what body; the status and problem code expected.
type Case<'c> = (
    &'c Client,
    Method,
    String,
    Option<String>,
    u16,
    &'static str,
);

#[tokio::test]
async fn garbage_is_a_problem_not_a_crash() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let request = app.anonymous().create_login_request(None).await.unwrap();
    let approve_path = format!("/api/v1/login-requests/{}/approve", request.request_id);
    let details_path = format!("/api/v1/login-requests/{}/details", request.request_id);
    let other = app.anonymous().create_login_request(None).await.unwrap();
    let json = Some("application/json");
    let anonymous = app.anonymous();
    let body = |text: &str| Some(text.to_owned());
    let cases: Vec<Case<'_>> = vec![
        (
            &ann.client,
            Method::POST,
            approve_path.clone(),
            body("{}"),
            400,
            "invalid_login_code",
        ),
        (
            &ann.client,
            Method::POST,
            approve_path.clone(),
            body(r#"{"qr_payload":"hello"}"#),
            400,
            "invalid_login_code",
        ),
        (
            &ann.client,
            Method::POST,
            approve_path.clone(),
            Some(format!(r#"{{"qr_payload":"{}"}}"#, other.qr_payload)),
            400,
            "invalid_login_code",
        ),
        (
            &ann.client,
            Method::POST,
            approve_path.clone(),
            Some(format!(
                r#"{{"code":"{}","confirm":true}}"#,
                "x".repeat(10_000)
            )),
            404,
            "login_request_not_found",
        ),
        (
            &ann.client,
            Method::POST,
            approve_path.clone(),
            body(r#"{"code":"abc","confirm":"yes"}"#),
            400,
            "invalid_body",
        ),
        (
            &ann.client,
            Method::POST,
            approve_path.clone(),
            body(r#"{"code":"abc"}"#),
            400,
            "confirmation_required",
        ),
        (
            &ann.client,
            Method::GET,
            details_path.clone(),
            None,
            400,
            "missing_login_code",
        ),
        (
            &ann.client,
            Method::GET,
            format!("{details_path}?code={}", "c".repeat(5000)),
            None,
            404,
            "login_request_not_found",
        ),
        (
            &ann.client,
            Method::GET,
            "/api/v1/login-requests/%00%ff/details?code=x".into(),
            None,
            404,
            "login_request_not_found",
        ),
        (
            &anonymous,
            Method::GET,
            format!("{details_path}?code=x"),
            None,
            401,
            "unauthorized",
        ),
        (
            &ann.client,
            Method::POST,
            "/api/v1/login-requests/nope/approve".into(),
            body(r#"{"code":"abc"}"#),
            404,
            "login_request_not_found",
        ),
        (
            &ann.client,
            Method::GET,
            format!("/api/v1/login-requests/{}", request.request_id),
            None,
            400,
            "missing_secret",
        ),
        (
            &ann.client,
            Method::GET,
            "/api/v1/login-requests/%00%ff?secret=x".into(),
            None,
            404,
            "login_request_not_found",
        ),
        (
            &ann.client,
            Method::GET,
            format!(
                "/api/v1/login-requests/{}?secret={}",
                request.request_id,
                "s".repeat(5000)
            ),
            None,
            404,
            "login_request_not_found",
        ),
        (
            &anonymous,
            Method::POST,
            "/api/v1/login-requests".into(),
            body(r#"{"device_name":""}"#),
            400,
            "invalid_device_name",
        ),
    ];
    for (client, method, path, body, status, code) in cases {
        let answer = client
            .raw(
                method.clone(),
                &path,
                body.clone().map(String::into_bytes),
                json,
            )
            .await
            .unwrap();
        assert_eq!(answer.status, status, "{method} {path} {body:?}");
        assert_eq!(problem_code(&answer), code, "{method} {path} {body:?}");
    }
    // Not JSON at all.
    let answer = ann
        .client
        .raw(
            Method::POST,
            &approve_path,
            Some(b"code=abc".to_vec()),
            Some("application/x-www-form-urlencoded"),
        )
        .await
        .unwrap();
    assert!((400..500).contains(&answer.status), "{}", answer.status);
    problem_code(&answer);
    // Still pending after all that.
    let status = app
        .anonymous()
        .login_request_status(&request.request_id, &request.secret)
        .await
        .unwrap();
    assert_eq!(status.status, "pending");
    app.shut_down().await;
}

#[tokio::test]
async fn creation_is_rate_limited_per_address() {
    let app = spawn_app().await;
    let page = app.anonymous();
    for _ in 0..LOGIN_REQUESTS_PER_ADDRESS_MAX {
        page.create_login_request(None).await.unwrap();
    }
    let refused = page
        .raw(
            Method::POST,
            "/api/v1/login-requests",
            Some(b"{}".to_vec()),
            Some("application/json"),
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 429);
    assert_eq!(problem_code(&refused), "too_many_login_requests");
    let retry_after: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    app.shut_down().await;
}

#[tokio::test]
async fn the_cli_shows_the_request_and_approves_only_on_yes() {
    let app = spawn_app().await;
    app.signup("ann").await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    // Runs the binary with `stdin` as its standard input.
    let run = |args: Vec<String>, stdin: &'static str| {
        let config = config.clone();
        let server = app.base.clone();
        async move {
            let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
                .args(args)
                .env("PIAZZA_CONFIG", config)
                .env("PIAZZA_SERVER", server)
                .env("PIAZZA_ACCOUNT", "ann")
                .env("PIAZZA_PASSWORD", PASSWORD)
                .env("RUST_LOG", "warn")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the piazza binary runs");
            let mut input = child.stdin.take().unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut input, stdin.as_bytes())
                .await
                .unwrap();
            drop(input);
            child.wait_with_output().await.unwrap()
        }
    };
    let login = run(vec!["login".into(), "ann".into()], "").await;
    assert!(login.status.success(), "{login:?}");
    let request = request_from_firefox(&app, "phishing page").await;
    let approve = || vec!["approve-login".to_owned(), request.qr_payload.clone()];
    // It shows the browser, address and time, and "no" changes nothing.
    for answer in ["n\n", "", "approve\n"] {
        let refused = run(approve(), answer).await;
        assert!(!refused.status.success(), "{refused:?}");
        let shown = String::from_utf8_lossy(&refused.stdout);
        assert!(shown.contains("Firefox on Windows"), "{shown}");
        assert!(shown.contains("127.0.0.3"), "{shown}");
        assert!(!shown.contains("phishing"), "{shown}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("not approved"));
    }
    let page = app.anonymous();
    let status = page
        .login_request_status(&request.request_id, &request.secret)
        .await
        .unwrap();
    assert_eq!(status.status, "pending");

    let approved = run(approve(), "y\n").await;
    assert!(approved.status.success(), "{approved:?}");
    let status = page
        .login_request_status(&request.request_id, &request.secret)
        .await
        .unwrap();
    assert_eq!(status.username.as_deref(), Some("ann"));
    assert!(status.token.is_some());
    // A second approval fails with the server's reason.
    let mut again = approve();
    again.push("--yes".into());
    let again = run(again, "").await;
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("login_request_used"), "{stderr}");
    // `--yes` approves without asking.
    let other = request_from_firefox(&app, "laptop").await;
    let yes = run(
        vec![
            "approve-login".into(),
            other.qr_payload.clone(),
            "--yes".into(),
        ],
        "",
    )
    .await;
    assert!(yes.status.success(), "{yes:?}");
    app.shut_down().await;
}

#[tokio::test]
async fn the_endpoints_are_in_the_openapi_document() {
    let app = spawn_app().await;
    let answer = app
        .anonymous()
        .raw(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .unwrap();
    let document: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let paths = &document["paths"];
    assert!(paths["/api/v1/login-requests"]["post"].is_object());
    assert!(paths["/api/v1/login-requests/{id}"]["get"].is_object());
    assert!(paths["/api/v1/login-requests/{id}/approve"]["post"].is_object());
    assert!(paths["/api/v1/login-requests/{id}/details"]["get"].is_object());
    app.shut_down().await;
}
