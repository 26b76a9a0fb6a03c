//! Wrong passwords (issue 11, item 4): guessing is stopped per (username,
//! address) and per address, and only paced per username (addresses the
//! owner logged in from are exempt), so nobody can lock an account's
//! owner out by guessing at its password. Every client
//! here connects from its own loopback address (127.0.0.x), which is the
//! address the server sees.

use std::net::{IpAddr, Ipv4Addr};

use piazza_client::{Client, RawResponse};
use reqwest::Method;

use crate::helpers::*;

const WRONG: &str = "not the password";

/// A client whose requests come from 127.0.0.`last`.
fn from(app: &TestApp, last: u8) -> Client {
    Client::from_address(&app.base, IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
}

/// One `POST /api/v1/sessions`, as it was answered.
async fn attempt(client: &Client, username: &str, password: &str) -> RawResponse {
    let body = serde_json::json!({
        "username": username,
        "password": password,
        "device_name": "guess",
    });
    client
        .raw(
            Method::POST,
            "/api/v1/sessions",
            Some(body.to_string().into_bytes()),
            Some("application/json"),
        )
        .await
        .expect("the server answers")
}

/// The `Retry-After` of a 429 `too_many_login_attempts`, in seconds.
fn refused_for(response: &RawResponse) -> u64 {
    assert_eq!(
        response.status,
        429,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let problem: piazza_api::Problem = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(problem.code, "too_many_login_attempts");
    response.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The right password from a clean address logs in.
async fn owner_logs_in(client: &Client, username: &str) {
    let answer = attempt(client, username, PASSWORD).await;
    assert_eq!(
        answer.status,
        201,
        "the owner is refused: {}",
        String::from_utf8_lossy(&answer.body)
    );
}

#[tokio::test]
async fn a_guesser_at_one_address_cannot_lock_the_owner_out() {
    let app = spawn_app().await;
    app.signup("ann").await;
    let attacker = from(&app, 2);
    let ann_laptop = from(&app, 1);
    for _ in 0..10 {
        assert_eq!(attempt(&attacker, "ann", WRONG).await.status, 401);
    }
    owner_logs_in(&ann_laptop, "ann").await;
    // 200 guesses in all: the attacker is stopped, ann is not.
    let mut refused = 0;
    for _ in 10..200 {
        let answer = attempt(&attacker, "ann", WRONG).await;
        if answer.status == 429 {
            refused += 1;
        }
    }
    assert_eq!(refused, 190, "every guess past the tenth is refused");
    owner_logs_in(&ann_laptop, "ann").await;
    app.shut_down().await;
}

#[tokio::test]
async fn guessing_from_one_address_is_stopped() {
    let app = spawn_app().await;
    app.signup("ann").await;
    let attacker = from(&app, 2);
    for _ in 0..10 {
        assert_eq!(attempt(&attacker, "ann", WRONG).await.status, 401);
    }
    let wait = refused_for(&attempt(&attacker, "ann", WRONG).await);
    assert!(wait > 60, "a lock of the pair, not a pause: {wait} s");
    // Even the right password: a guesser never learns it guessed right.
    refused_for(&attempt(&attacker, "ann", PASSWORD).await);

    // Spraying many usernames from one address meets the address's limit.
    let sprayer = from(&app, 3);
    for n in 0..100 {
        let answer = attempt(&sprayer, &format!("user{n}"), WRONG).await;
        assert_eq!(answer.status, 401, "guess {n}");
    }
    refused_for(&attempt(&sprayer, "someone_else", WRONG).await);
    // Neither limit touches ann at her own address.
    owner_logs_in(&from(&app, 1), "ann").await;
    app.shut_down().await;
}

#[tokio::test]
async fn many_addresses_guessing_one_username_are_slowed_but_the_owner_gets_in() {
    // A pause longer than the test takes, so the count is exact on a slow
    // machine too (by default it is 1 s, doubling up to 5 s).
    let app = spawn_app_with(|config| {
        config.limits.login_backoff_first_ms = 20_000;
        config.limits.login_backoff_max_ms = 20_000;
    })
    .await;
    app.signup("ann").await;
    let attackers: Vec<Client> = (10..30).map(|last| from(&app, last)).collect();
    let ann_phone = from(&app, 1);
    let (mut answered, mut refused) = (0, 0);
    let mut longest_wait = 0;
    for round in 0..5 {
        for attacker in &attackers {
            let answer = attempt(attacker, "ann", WRONG).await;
            if answer.status == 429 {
                refused += 1;
                longest_wait = longest_wait.max(refused_for(&answer));
            } else {
                assert_eq!(answer.status, 401, "round {round}");
                answered += 1;
            }
        }
        owner_logs_in(&ann_phone, "ann").await;
    }
    // 100 guesses from 20 addresses, none past its own limit of 10: past
    // the first 50 failures, every address but ann's (she logged in from
    // hers) shares one pace: one guess a pause, for an address that was
    // told to wait and came back.
    assert_eq!((answered, refused), (51, 49));
    assert!(
        (1..=20).contains(&longest_wait),
        "a pause, not a lock: {longest_wait} s"
    );
    // A fresh address is paced too: spreading guesses over more addresses
    // gains nothing.
    let fresh = from(&app, 99);
    let wait = refused_for(&attempt(&fresh, "ann", WRONG).await);
    assert!((1..=20).contains(&wait), "{wait} s");
    owner_logs_in(&ann_phone, "ann").await;
    app.shut_down().await;
}

#[tokio::test]
async fn a_logged_in_device_approves_a_qr_login_while_the_username_is_under_attack() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    // The browser that wants in sits at the attacked address itself.
    let browser_address = from(&app, 2);
    for _ in 0..10 {
        attempt(&browser_address, "ann", WRONG).await;
    }
    for last in 10..70 {
        attempt(&from(&app, last), "ann", WRONG).await;
    }
    refused_for(&attempt(&browser_address, "ann", PASSWORD).await);

    let request = browser_address.create_login_request(None).await.unwrap();
    ann.client.approve_login(&request.qr_payload).await.unwrap();
    let status = browser_address
        .login_request_status(&request.request_id, &request.secret)
        .await
        .unwrap();
    let token = status.token.expect("the page picks its session up");
    let browser = browser_address.with_token(token);
    assert_eq!(browser.me().await.unwrap().username, "ann");
    app.shut_down().await;
}

/// One `POST /api/v1/sessions` with `X-Forwarded-For: forwarded_for`.
async fn attempt_for(client: &Client, forwarded_for: &str, password: &str) -> RawResponse {
    let body = serde_json::json!({
        "username": "ann",
        "password": password,
        "device_name": "guess",
    });
    client
        .raw_with_headers(
            Method::POST,
            "/api/v1/sessions",
            Some(body.to_string().into_bytes()),
            Some("application/json"),
            &[("x-forwarded-for", forwarded_for)],
        )
        .await
        .expect("the server answers")
}

/// Behind a load balancer every client comes from its address: with the
/// balancer in `trusted_proxies`, the limits count the client it names in
/// `X-Forwarded-For`; from anyone else the header changes nothing.
#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_counted() {
    let app = spawn_app_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    app.signup("ann").await;
    let proxy = from(&app, 1);
    for _ in 0..10 {
        assert_eq!(attempt_for(&proxy, "203.0.113.1", WRONG).await.status, 401);
    }
    refused_for(&attempt_for(&proxy, "203.0.113.1", WRONG).await);
    // Another client behind the same proxy is someone else.
    assert_eq!(attempt_for(&proxy, "203.0.113.2", WRONG).await.status, 401);
    // A client claiming to be the last one is named by the proxy as what
    // it is (the proxy appends the address it saw).
    let appended = "203.0.113.1, 203.0.113.3";
    assert_eq!(attempt_for(&proxy, appended, WRONG).await.status, 401);

    // Not a proxy of ours: its header is ignored, its own address counts.
    let stranger = from(&app, 2);
    for n in 0..10 {
        let claimed = format!("198.51.100.{n}");
        assert_eq!(attempt_for(&stranger, &claimed, WRONG).await.status, 401);
    }
    refused_for(&attempt_for(&stranger, "198.51.100.99", WRONG).await);
    app.shut_down().await;
}
