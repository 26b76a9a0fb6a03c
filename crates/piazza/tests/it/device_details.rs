//! What the devices list says of each device: the program and system read
//! from its `User-Agent` (the CLI's own, or a browser's), the raw header
//! cut short, and the address and time of its last use, kept current as
//! it is used and set from the page itself for a QR log-in.

use std::time::{Duration, Instant};

use piazza_api::{
    DeviceClient, DeviceView, LoginRequestCreated, LoginRequestDetails, LoginRequestView,
    SessionCreated,
};
use piazza_client::Client;
use reqwest::Method;

use crate::helpers::*;

const FIREFOX_ON_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0";
const CHROME_ON_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";

fn client(app: &str, system: &str) -> Option<DeviceClient> {
    Some(DeviceClient {
        app: app.to_owned(),
        system: system.to_owned(),
    })
}

/// `client`'s request with a `User-Agent` of its choosing; its JSON answer.
async fn raw_json<T: serde::de::DeserializeOwned>(
    client: &Client,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
    headers: &[(&str, &str)],
) -> T {
    let answer = client
        .raw_with_headers(
            method,
            path,
            body.map(|body| body.to_string().into_bytes()),
            Some("application/json"),
            headers,
        )
        .await
        .unwrap();
    assert!(
        answer.status < 300,
        "{path}: {} {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).unwrap()
}

async fn device(user: &User, device_id: &str) -> DeviceView {
    user.client
        .devices()
        .await
        .unwrap()
        .devices
        .into_iter()
        .find(|device| device.device_id == device_id)
        .expect("the device is listed")
}

/// Logs `username` in from `address` with `user_agent`.
async fn browser_login(
    app: &TestApp,
    username: &str,
    address: &str,
    user_agent: &str,
) -> SessionCreated {
    let browser = Client::from_address(&app.base, address.parse().unwrap());
    let body = serde_json::json!({ "username": username, "password": PASSWORD, "device_name": "Web browser" });
    raw_json(
        &browser,
        Method::POST,
        "/api/v1/sessions",
        Some(body),
        &[("user-agent", user_agent)],
    )
    .await
}

#[tokio::test]
async fn each_device_says_what_it_is_and_where_it_was_last_used() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let browser = browser_login(&app, "ann", "127.0.0.2", FIREFOX_ON_WINDOWS).await;

    // The CLI's own device: its User-Agent names it, and it is this one.
    let cli = device(&ann, &ann.device_id).await;
    assert!(cli.current);
    let cli_agent = cli
        .user_agent
        .as_deref()
        .expect("the CLI sends a User-Agent");
    assert_eq!(cli_agent, piazza_client::user_agent());
    assert!(cli_agent.starts_with("piazza-cli/"), "{cli_agent}");
    assert_eq!(cli.client.as_ref().unwrap().app, "piazza_cli");
    assert_eq!(cli.last_seen_address.as_deref(), Some("127.0.0.1"));

    // The browser: seen as it logged in, from its own address.
    let seen = device(&ann, &browser.device_id).await;
    assert!(!seen.current);
    assert_eq!(seen.user_agent.as_deref(), Some(FIREFOX_ON_WINDOWS));
    assert_eq!(seen.client, client("firefox", "windows"));
    assert_eq!(seen.last_seen_address.as_deref(), Some("127.0.0.2"));

    // The same token used from elsewhere, by another program: the list
    // follows at once (not only once a minute), and says so.
    let moved = Client::from_address(&app.base, "127.0.0.3".parse().unwrap());
    let auth = format!("Bearer {}", browser.token);
    let _: piazza_api::AccountView = raw_json(
        &moved,
        Method::GET,
        "/api/v1/me",
        None,
        &[("user-agent", CHROME_ON_ANDROID), ("authorization", &auth)],
    )
    .await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = device(&ann, &browser.device_id).await;
        if now.last_seen_address.as_deref() == Some("127.0.0.3") {
            assert_eq!(now.user_agent.as_deref(), Some(CHROME_ON_ANDROID));
            assert_eq!(now.client, client("chrome", "android"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the last use was not recorded: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.shut_down().await;
}

#[tokio::test]
async fn a_user_agent_is_kept_short_and_none_is_no_client() {
    let app = spawn_app().await;
    app.signup("ann").await;
    let padded = format!(
        "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 {}",
        "x".repeat(4000)
    );
    let long = browser_login(&app, "ann", "127.0.0.2", &padded).await;
    let ann = app.login("ann", "checker").await;
    let kept = device(&ann, &long.device_id).await;
    let agent = kept.user_agent.unwrap();
    assert_eq!(agent.len(), 256);
    assert!(padded.starts_with(&agent));
    assert_eq!(kept.client, client("chrome", "linux"));

    // No User-Agent at all: nothing to say, and the JSON leaves it out.
    let bare = reqwest::Client::builder().build().unwrap();
    let body =
        serde_json::json!({ "username": "ann", "password": PASSWORD, "device_name": "bare" });
    let session: SessionCreated = bare
        .post(format!("{}/api/v1/sessions", app.base))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = ann.client.devices().await.unwrap();
    let raw = serde_json::to_value(&listed).unwrap();
    let plain = raw["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|device| device["device_id"] == session.device_id.as_str())
        .unwrap();
    assert!(
        plain.get("user_agent").is_none() && plain.get("client").is_none(),
        "{plain}"
    );
    assert_eq!(plain["last_seen_address"], "127.0.0.1");
    app.shut_down().await;
}

#[tokio::test]
async fn a_qr_log_in_is_seen_as_the_page_that_picked_its_token_up() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let page = Client::from_address(&app.base, "127.0.0.3".parse().unwrap());
    let firefox = [("user-agent", FIREFOX_ON_WINDOWS)];
    let request: LoginRequestCreated = raw_json(
        &page,
        Method::POST,
        "/api/v1/login-requests",
        Some(serde_json::json!({ "device_name": "kitchen" })),
        &firefox,
    )
    .await;
    // The approver is told what it is as codes, to word in their language.
    let code = request.qr_payload.rsplit(':').next().unwrap();
    let details: LoginRequestDetails = raw_json(
        &ann.client,
        Method::GET,
        &format!("/api/v1/login-requests/{}/details", request.request_id),
        None,
        &[("x-login-code", code)],
    )
    .await;
    assert_eq!(Some(details.client), client("firefox", "windows"));
    assert_eq!(details.browser, "Firefox on Windows");
    ann.client.approve_login(&request.qr_payload).await.unwrap();
    let approved = ann
        .client
        .devices()
        .await
        .unwrap()
        .devices
        .into_iter()
        .find(|device| device.device_name == "kitchen")
        .unwrap();
    // Approved, not picked up yet: as it asked.
    assert_eq!(approved.last_seen_address.as_deref(), Some("127.0.0.3"));
    assert_eq!(approved.user_agent.as_deref(), Some(FIREFOX_ON_WINDOWS));
    assert_eq!(approved.client, client("firefox", "windows"));

    // Picked up from another address (the page moved networks meanwhile).
    let moved = Client::from_address(&app.base, "127.0.0.4".parse().unwrap());
    let status_path = format!("/api/v1/login-requests/{}", request.request_id);
    let picked: LoginRequestView = raw_json(
        &moved,
        Method::GET,
        &status_path,
        None,
        &[
            ("user-agent", FIREFOX_ON_WINDOWS),
            ("x-login-secret", &request.secret),
        ],
    )
    .await;
    assert!(picked.token.is_some());
    let seen = device(&ann, &approved.device_id).await;
    assert_eq!(seen.user_agent.as_deref(), Some(FIREFOX_ON_WINDOWS));
    assert_eq!(seen.client, client("firefox", "windows"));
    assert_eq!(seen.last_seen_address.as_deref(), Some("127.0.0.4"));
    app.shut_down().await;
}
