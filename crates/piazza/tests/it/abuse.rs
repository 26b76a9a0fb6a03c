//! Abuse limits (issue 5, item 5): every limit a hostile or broken client
//! meets, each with a test. Those tested elsewhere are listed here so the
//! list is complete in one place:
//!
//! | limit | test |
//! |---|---|
//! | requests per account (429 + `Retry-After`) | [`an_account_past_its_request_rate_is_told_when_to_retry`] |
//! | profile and group changes per account (each fans out to many logs) | [`profile_and_group_changes_are_limited_per_account`] |
//! | anonymous requests per address, bad tokens included | [`anonymous_requests_are_limited_per_address`], [`every_route_without_a_token_is_charged_to_its_address`] |
//! | request body cap (413) | `bad_input::bad_input_is_a_4xx_problem_and_changes_nothing` |
//! | WebSocket frame cap | [`a_websocket_frame_past_the_cap_ends_the_socket`] |
//! | WebSocket frames per second, and a sustained excess closed (1008) | [`a_socket_past_its_frame_rate_is_refused_then_closed`], [`a_flood_that_lets_the_bucket_refill_is_still_closed`], [`a_socket_at_its_frame_rate_is_never_closed`] |
//! | WebSockets per account | [`sockets_per_account_are_capped`] |
//! | slow request head (slowloris), idle keep-alive | [`a_slow_request_head_is_cut_off`] |
//! | connections per address and in all, oldest idle shed first | `connections::an_address_past_its_cap_loses_its_oldest_idle_connections`, `connections::past_the_total_cap_the_oldest_idle_go_and_busy_ones_stay`, `connections::a_flood_of_half_sent_requests_leaves_the_server_to_everyone_else` |
//! | request heads hyper refuses (problem+json 400/431) | `bad_input::requests_the_http_parser_refuses_are_problem_json_too` |
//! | media kept per account (507) | `media::each_account_has_a_storage_quota`, `media::racing_uploads_do_not_pass_the_quota` |
//! | slow request body | [`a_slow_body_is_cut_by_the_request_timeout`] |
//! | pagination caps, `/sync` at 200 too | [`pages_are_capped`]; `bad_input` (`limit=0`, `-1`) |
//! | group size | [`a_group_is_capped_at_500_members`] |
//! | red-packet shares | [`red_packet_shares_are_capped`] |
//! | red-packet total | `pay_rules::a_red_packet_above_the_configured_cap_is_refused` |
//! | wrong passwords: per (username, address), per address, per-username backoff | `password_attempts::*`, `bad_input::repeated_failed_logins_are_refused_with_429` |
//! | QR log-in requests per address | `login_requests::creation_is_rate_limited_per_address` |
//! | payment PIN attempts | `wallet::withdrawal_needs_the_pin_and_five_wrong_ones_lock_it`, `pay_rules::the_pin_lock_out_follows_the_config`, `pay_concurrency::wrong_pins_racing_each_other_lock_after_exactly_five` |
//! | passwords on `PUT /wallet/pin` (counted with log-ins) | `pay_pin::wrong_passwords_on_the_pin_are_limited_like_log_in`, `pay_pin::a_log_in_lock_blocks_setting_the_pin` |
//! | payment codes without the PIN (per-device window) | `pay_codes::a_code_needs_the_pin_or_one_entered_lately_on_that_device` |
//! | collections without confirmation per buyer and day | `pay_codes::collections_without_confirmation_are_capped_per_day`, `pay_codes::racing_collections_cannot_both_slip_under_the_cap` |
//! | money held during a forgotten PIN's reset | `pay_pin::a_forgotten_pin_is_reset_after_a_wait_that_holds_the_money` |
//! | what a wallet may hold; the money inside the ledger | `wallet::top_ups_past_what_a_wallet_may_hold_are_refused_not_503`, `wallet::the_wallet_cap_counts_the_balance_and_spares_replays`; `piazza-sqlite` `wallet::tests::the_money_inside_is_bounded_by_a_refusal_not_an_overflow` |
//! | CORS closed, `nosniff` on API answers | [`cors_is_closed_and_api_answers_are_nosniff`] |

use std::time::{Duration, Instant};

use piazza_api::{ClientFrame, ServerFrame};
use piazza_client::{Client, Incoming, RawResponse};
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;
use crate::wallet::{PIN, call, set_pin, top_up};

async fn get(client: &Client, path: &str, headers: &[(&str, &str)]) -> RawResponse {
    client
        .raw_with_headers(Method::GET, path, None, None, headers)
        .await
        .expect("the server answers")
}

/// A 429 `rate_limited` problem with a `Retry-After` of whole seconds.
fn assert_rate_limited(response: &RawResponse, what: &str) -> u64 {
    assert_eq!(
        response.status,
        429,
        "{what}: {}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(
        response.content_type.as_deref(),
        Some("application/problem+json"),
        "{what}"
    );
    let problem: piazza_api::Problem = serde_json::from_slice(&response.body).expect("a problem");
    assert_eq!(problem.code, "rate_limited", "{what}");
    let retry_after: u64 = response
        .headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("whole seconds");
    assert!(retry_after >= 1, "{what}: Retry-After {retry_after}");
    retry_after
}

/// Calls `path` until it is refused; panics if `tries` calls all pass.
async fn until_refused(client: &Client, path: &str, tries: usize) -> (usize, RawResponse) {
    for attempt in 0..tries {
        let response = get(client, path, &[]).await;
        if response.status == 429 {
            return (attempt, response);
        }
        assert_eq!(
            response.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&response.body)
        );
    }
    panic!("{tries} calls of {path} were never refused");
}

/// A profile change is logged to every contact (a group's to every
/// member), so each has a small per-account rate of its own: past it the
/// change is refused with 429 and changes nothing, while the account's
/// other calls, and other accounts' changes, go on.
#[tokio::test]
async fn profile_and_group_changes_are_limited_per_account() {
    let app = spawn_app_with(|config| config.limits.profile_changes_per_account_per_min = 3).await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    befriend(&ann, &bob).await;
    let group = ann
        .client
        .create_group("tea", std::slice::from_ref(&bob.account_id))
        .await
        .unwrap();
    let patch = |client: &Client, path: String, body: serde_json::Value| {
        let client = client.clone();
        async move {
            client
                .raw(
                    Method::PATCH,
                    &path,
                    Some(body.to_string().into_bytes()),
                    Some("application/json"),
                )
                .await
                .expect("the server answers")
        }
    };
    for n in 0..3 {
        let name = json!({"display_name": format!("Ann {n}")});
        let answer = patch(&ann.client, "/api/v1/me".into(), name).await;
        assert_eq!(answer.status, 200, "change {n}");
    }
    let refused = patch(
        &ann.client,
        "/api/v1/me".into(),
        json!({"display_name": "Ann 3"}),
    )
    .await;
    let retry_after = assert_rate_limited(&refused, "a fourth profile change");
    assert!(
        retry_after <= 20,
        "a slot frees within a third of a minute: {retry_after}"
    );
    assert_eq!(
        ann.client.me().await.unwrap().display_name,
        "Ann 2",
        "nothing changed"
    );
    let by_bob = patch(&bob.client, "/api/v1/me".into(), json!({"bio": "hi"})).await;
    assert_eq!(by_bob.status, 200, "another account's bucket is its own");

    let group_path = format!("/api/v1/conversations/{group}");
    for n in 0..3 {
        let title = json!({"title": format!("tea {n}")});
        let answer = patch(&ann.client, group_path.clone(), title).await;
        assert_eq!(answer.status, 204, "group change {n}: a bucket of its own");
    }
    let refused = patch(&ann.client, group_path, json!({"title": "tea 3"})).await;
    assert_rate_limited(&refused, "a fourth group change");
    app.shut_down().await;
}

#[tokio::test]
async fn an_account_past_its_request_rate_is_told_when_to_retry() {
    let app = spawn_app_with(|config| {
        config.limits.requests_per_account_per_s = 1;
        config.limits.requests_per_account_burst = 5;
    })
    .await;
    let ann = app.signup("ann").await;
    let ann_phone = app.login("ann", "phone").await;
    let bob = app.signup("bob").await;

    let (passed, refused) = until_refused(&ann.client, "/api/v1/me", 50).await;
    assert!(
        passed >= 5,
        "the burst of 5 passes before any refusal ({passed})"
    );
    let retry_after = assert_rate_limited(&refused, "ann past her burst");
    // The bucket is the account's, not the device's; other accounts have
    // their own.
    assert_rate_limited(
        &get(&ann_phone.client, "/api/v1/me", &[]).await,
        "ann's other device",
    );
    assert_eq!(get(&bob.client, "/api/v1/me", &[]).await.status, 200);
    // A socket upgrade is a request too.
    assert_problem(
        &ann.client.connect_socket().await.err().expect("refused"),
        429,
        "rate_limited",
    );
    // After the wait it was told, the account may call again.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(get(&ann.client, "/api/v1/me", &[]).await.status, 200);
    app.shut_down().await;
}

#[tokio::test]
async fn anonymous_requests_are_limited_per_address() {
    let app = spawn_app_with(|config| {
        config.limits.anonymous_requests_per_address_per_s = 1;
        config.limits.anonymous_requests_per_address_burst = 6;
    })
    .await;
    // Sign-up and log-in are anonymous: two tokens.
    let ann = app.signup("ann").await;
    let anonymous = app.anonymous();
    let (_, refused) = until_refused(&anonymous, "/healthz", 50).await;
    assert_rate_limited(&refused, "anonymous past the burst");
    assert_rate_limited(&get(&anonymous, "/", &[]).await, "a web page");
    // A logged-in account has its own allowance, from the same address.
    assert_eq!(get(&ann.client, "/api/v1/me", &[]).await.status, 200);
    // A made-up token is anonymous: guessing tokens is limited too...
    let guesser = anonymous.clone().with_token("pz_made-up".to_owned());
    assert_rate_limited(&get(&guesser, "/api/v1/me", &[]).await, "a bad token");
    assert_problem(
        &guesser.connect_socket().await.err().expect("refused"),
        429,
        "rate_limited",
    );
    // ...and a token on a route that needs none buys nothing.
    let signup = guesser
        .raw(
            Method::POST,
            "/api/v1/accounts",
            Some(br#"{"username":"eve","password":"long enough pw"}"#.to_vec()),
            Some("application/json"),
        )
        .await
        .unwrap();
    assert_rate_limited(&signup, "a sign-up with a made-up token");
    assert_problem(
        &ann.client
            .login("eve", "long enough pw", "x")
            .await
            .unwrap_err(),
        429,
        "rate_limited",
    );
    app.shut_down().await;
}

#[tokio::test]
async fn a_websocket_frame_past_the_cap_ends_the_socket() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    let (mut socket, _) = live_socket(&ann).await;
    let huge = "x".repeat(piazza_domain::limits::WEBSOCKET_FRAME_BYTES_MAX + 1);
    let frame = json!({ "op": "send", "conversation_id": conversation,
                        "client_msg_id": "huge", "text": huge });
    // The write itself may fail if the server has already hung up.
    let _ = socket.send_text(&frame.to_string()).await;
    loop {
        match tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("the socket ends in time")
        {
            Some(Ok(Incoming::Frame(ServerFrame::Ack { .. }))) => {
                panic!("the huge frame was stored")
            }
            Some(Ok(Incoming::Closed { .. })) | Some(Err(_)) | None => break,
            Some(Ok(_)) => continue,
        }
    }
    assert_eq!(
        message_count(&ann, &conversation).await,
        0,
        "nothing stored"
    );
    app.shut_down().await;
}

#[tokio::test]
async fn a_socket_past_its_frame_rate_is_refused_then_closed() {
    let app = spawn_app_with(|config| {
        config.limits.socket_messages_per_s = 1;
        config.limits.socket_messages_burst = 3;
        config.limits.socket_refusals_max = 3;
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    // The replay's `sync` frame takes one token of the three.
    let (mut socket, _) = live_socket(&ann).await;
    for n in 0..20 {
        let frame = ClientFrame::Send {
            conversation_id: conversation.clone(),
            client_msg_id: format!("flood-{n}"),
            message: piazza_api::MessageContent::text(format!("flood {n}")),
        };
        if socket.send(&frame).await.is_err() {
            break;
        }
    }
    let (mut acked, mut refused) = (0, Vec::new());
    let closed = loop {
        match tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("an answer in time")
        {
            Some(Ok(Incoming::Frame(ServerFrame::Ack { .. }))) => acked += 1,
            Some(Ok(Incoming::Frame(ServerFrame::Error {
                client_msg_id,
                code,
                status,
                ..
            }))) => {
                assert_eq!((status, code.as_str()), (429, "rate_limited"));
                refused.push(client_msg_id.expect("the refused send is named"));
            }
            Some(Ok(Incoming::Closed { code, .. })) => break code,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(closed, 1008, "closed as a policy violation");
    assert_eq!(refused.len(), 3, "a burst of refusals, then the close");
    // The sends before the first refusal were taken and acked before the
    // close, none after it.
    let taken: usize = refused[0]
        .strip_prefix("flood-")
        .and_then(|n| n.parse().ok())
        .expect("a flood id");
    assert!(
        (2..=4).contains(&taken),
        "about the burst was taken: {taken}"
    );
    assert_eq!(acked, taken);
    assert_eq!(message_count(&bob, &conversation).await, taken);
    app.shut_down().await;
}

/// What a socket answered to a stream of sends, in the order it came.
#[derive(Debug, Default)]
struct Answers {
    /// The numbers of the sends acked and refused (`rate_limited`).
    acked: Vec<usize>,
    refused: Vec<usize>,
    /// The close code, if the server closed the socket.
    closed: Option<u16>,
}

/// Sends numbered messages over `socket` in phases of (count, frames per
/// second), while reading every answer, until all are answered or the
/// server closes the socket.
async fn send_paced(
    socket: piazza_client::Socket,
    conversation: &str,
    phases: &[(usize, u64)],
) -> Answers {
    let (mut sender, mut receiver) = socket.split();
    let conversation = conversation.to_owned();
    let phases = phases.to_vec();
    let count: usize = phases.iter().map(|(count, _)| count).sum();
    let sending = tokio::spawn(async move {
        let mut n = 0;
        for (count, per_s) in phases {
            // Each frame one period after the one before, the first too.
            let period = Duration::from_micros(1_000_000 / per_s);
            let mut pace = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for _ in 0..count {
                pace.tick().await;
                let frame = ClientFrame::Send {
                    conversation_id: conversation.clone(),
                    client_msg_id: format!("s-{n}"),
                    message: piazza_api::MessageContent::text(format!("paced {n}")),
                };
                n += 1;
                if sender.send(&frame).await.is_err() {
                    return;
                }
            }
        }
    });
    let number = |id: &str| -> usize {
        id.strip_prefix("s-")
            .and_then(|n| n.parse().ok())
            .expect("a send id")
    };
    let mut answers = Answers::default();
    while answers.acked.len() + answers.refused.len() < count {
        match tokio::time::timeout(PATIENCE, receiver.next())
            .await
            .expect("an answer in time")
        {
            Some(Ok(Incoming::Frame(ServerFrame::Ack { client_msg_id, .. }))) => {
                answers.acked.push(number(&client_msg_id));
            }
            Some(Ok(Incoming::Frame(ServerFrame::Error {
                client_msg_id,
                code,
                status,
                ..
            }))) => {
                assert_eq!((status, code.as_str()), (429, "rate_limited"));
                let refused = client_msg_id.expect("the refused send is named");
                answers.refused.push(number(&refused));
            }
            Some(Ok(Incoming::Closed { code, .. })) => {
                answers.closed = Some(code);
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected an answer or a close frame, got {other:?}"),
        }
    }
    sending.abort();
    answers
}

/// The flood the outside review sent: faster than the rate, so most frames
/// are refused, but the bucket refills in between, so a frame is taken now
/// and then. Counting refusals "in a row" restarted at every taken frame
/// and the socket was never closed; a sustained excess closes it.
#[tokio::test]
async fn a_flood_that_lets_the_bucket_refill_is_still_closed() {
    let app = spawn_app_with(|config| {
        config.limits.socket_messages_per_s = 100;
        config.limits.socket_messages_burst = 10;
        config.limits.socket_refusals_max = 20;
        config.limits.socket_refusals_window_s = 10;
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    let (socket, _) = live_socket(&ann).await;
    // 250 frames a second against 100 allowed: about three refused for
    // every two taken, for up to 4 s.
    let answers = send_paced(socket, &conversation, &[(1_000, 250)]).await;
    assert_eq!(
        answers.closed,
        Some(1008),
        "closed as a policy violation: {answers:?}"
    );
    let refused = answers.refused.len();
    assert!(
        (20..=22).contains(&refused),
        "closed after about `socket_refusals_max` refusals, not {refused}"
    );
    // The flood was interleaved: frames were taken after refusals began.
    let first_refused = answers.refused[0];
    assert!(
        answers.acked.iter().any(|&n| n > first_refused),
        "the bucket refilled during the flood: {answers:?}"
    );
    app.shut_down().await;
}

/// Sending at the rate, after a burst past it, is never closed: refusals
/// are forgiven as the window passes.
#[tokio::test]
async fn a_socket_at_its_frame_rate_is_never_closed() {
    let app = spawn_app_with(|config| {
        config.limits.socket_messages_per_s = 50;
        config.limits.socket_messages_burst = 5;
        config.limits.socket_refusals_max = 10;
        config.limits.socket_refusals_window_s = 1;
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    let (socket, _) = live_socket(&ann).await;
    // Well past the rate for a moment (some refusals, fewer than the
    // cap), then for three windows just under the rate.
    let answers = send_paced(socket, &conversation, &[(12, 1_000), (120, 40)]).await;
    assert_eq!(answers.closed, None, "{answers:?}");
    let refused = answers.refused.len();
    assert!(
        (1..10).contains(&refused),
        "the burst was refused in part: {answers:?}"
    );
    assert!(
        answers.refused.iter().all(|&n| n < 12),
        "nothing at the rate is refused: {answers:?}"
    );
    app.shut_down().await;
}

#[tokio::test]
async fn sockets_per_account_are_capped() {
    let app = spawn_app_with(|config| config.limits.sockets_per_account_max = 2).await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let _first = ann.client.connect_socket().await.expect("first socket");
    let _second = ann.client.connect_socket().await.expect("second socket");
    assert_problem(
        &ann.client.connect_socket().await.err().expect("refused"),
        503,
        "too_many_sockets",
    );
    let _bobs = bob.client.connect_socket().await.expect("bob has his own");
    app.shut_down().await;
}

/// Reads until the server closes the connection; what it sent, and when.
async fn read_to_end(stream: &mut TcpStream) -> (String, Instant) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
            .await
            .expect("the server closes the connection in time")
        {
            Ok(0) | Err(_) => return (String::from_utf8_lossy(&received).into(), Instant::now()),
            Ok(read) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off() {
    let app = spawn_app_with(|config| config.limits.header_read_timeout_s = 1).await;
    let address = app.base.trim_start_matches("http://").to_owned();

    // Half a request head, and then nothing (slowloris).
    let mut slow = TcpStream::connect(&address).await.unwrap();
    let started = Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: piazza\r\nX-Slow: ")
        .await
        .unwrap();
    let (_, closed_at) = read_to_end(&mut slow).await;
    let held = closed_at - started;
    assert!(
        held >= Duration::from_millis(900) && held < Duration::from_secs(5),
        "closed after {held:?}"
    );

    // A kept-alive connection left idle ends the same way, after its answer.
    let mut idle = TcpStream::connect(&address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: piazza\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_to_end(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    app.shut_down().await;
}

#[tokio::test]
async fn a_slow_body_is_cut_by_the_request_timeout() {
    let app = spawn_app_with(|config| config.limits.request_timeout_s = 1).await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&address).await.unwrap();
    let started = Instant::now();
    slow.write_all(
        b"POST /api/v1/accounts HTTP/1.1\r\nHost: piazza\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\":",
    )
    .await
    .unwrap();
    let mut buffer = [0u8; 4096];
    let read = tokio::time::timeout(PATIENCE, slow.read(&mut buffer))
        .await
        .expect("an answer in time")
        .expect("an answer");
    let answer = String::from_utf8_lossy(&buffer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    app.shut_down().await;
}

/// Pages are capped by clamping: asking for more than the cap gets the
/// cap and `has_more`, never an unbounded answer.
#[tokio::test]
async fn pages_are_capped() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    let cap = piazza_domain::limits::PAGE_LEN_MAX as usize;
    for n in 0..cap + 5 {
        ann.client
            .send_message(&conversation, &format!("m{n}"), "hello")
            .await
            .expect("sent");
    }
    for asked in [cap + 1, 1_000_000] {
        let page = ann
            .client
            .history(&conversation, None, Some(asked as u32))
            .await
            .expect("a page");
        assert_eq!(page.messages.len(), cap, "asked for {asked}");
        assert!(page.has_more);
    }
    // `/sync` is a list like the others: api-v1 caps every `limit` at 200.
    for asked in [cap as u32 + 1, 1_000, u32::MAX] {
        let page = ann
            .client
            .sync(None, Some(asked), None)
            .await
            .expect("a sync page");
        assert_eq!(page.events.len(), cap, "sync asked for {asked}");
        assert!(page.has_more);
    }
    app.shut_down().await;
}

#[tokio::test]
async fn a_group_is_capped_at_500_members() {
    let app = spawn_app().await;
    let ann = app.signup("ann").await;
    let members = |count: usize| -> Vec<String> {
        (0..count).map(|n| format!("acct_{}", 1_000 + n)).collect()
    };
    let max = piazza_domain::limits::GROUP_MEMBERS_MAX;
    assert_eq!(max, 500, "api-v1 promises 500");
    // The owner is a member too.
    assert_problem(
        &ann.client
            .create_group("crowd", &members(max))
            .await
            .unwrap_err(),
        409,
        "group_full",
    );
    // At the cap the size is fine; these members are just not contacts.
    assert_problem(
        &ann.client
            .create_group("crowd", &members(max - 1))
            .await
            .unwrap_err(),
        403,
        "not_a_contact",
    );
    app.shut_down().await;
}

#[tokio::test]
async fn red_packet_shares_are_capped() {
    let app = spawn_app_with(|config| config.sandbox_payments = true).await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    set_pin(&ann).await;
    let (status, body) = top_up(&ann, 10_000, "fund").await;
    assert_eq!(status, 201, "{body}");
    for (count, status) in [(0, 400), (101, 400), (100, 201)] {
        let answer = call(
            &ann.client,
            Method::POST,
            "/api/v1/red-packets",
            Some(
                json!({ "conversation_id": conversation, "total_minor": 1_000,
                         "count": count, "mode": "lucky", "pin": PIN }),
            ),
            Some(&format!("rp-{count}")),
        )
        .await;
        assert_eq!(answer.0, status, "{count} shares: {}", answer.1);
    }
    app.shut_down().await;
}

#[tokio::test]
async fn cors_is_closed_and_api_answers_are_nosniff() {
    let app = spawn_app_with(|config| {
        config.limits.requests_per_account_per_s = 1;
        config.limits.requests_per_account_burst = 20;
    })
    .await;
    let ann = app.signup("ann").await;
    let origin = [("Origin", "https://elsewhere.example")];
    let preflight = ann
        .client
        .raw_with_headers(
            Method::OPTIONS,
            "/api/v1/me",
            None,
            None,
            &[
                ("Origin", "https://elsewhere.example"),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "authorization"),
            ],
        )
        .await
        .unwrap();
    assert!(
        !(200..300).contains(&preflight.status),
        "a preflight is not approved: {}",
        preflight.status
    );
    let answers = [
        preflight,
        get(&ann.client, "/api/v1/me", &origin).await,
        get(
            &ann.client,
            "/api/v1/conversations/conv_1/messages",
            &origin,
        )
        .await,
        get(&ann.client, "/api/v1/nothing-here", &origin).await,
        get(&app.anonymous(), "/api/v1/me", &origin).await,
        get(&ann.client, "/api/v1/openapi.json", &origin).await,
        get(&ann.client, "/healthz", &origin).await,
        until_refused(&ann.client, "/api/v1/me", 100).await.1,
    ];
    for answer in &answers {
        let cors: Vec<_> = answer
            .headers
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{} carries {cors:?}", answer.status);
        assert_eq!(
            answer
                .headers
                .get("x-content-type-options")
                .map(|value| value.to_str().unwrap()),
            Some("nosniff"),
            "a {} answer",
            answer.status
        );
    }
    app.shut_down().await;
}

/// A route that needs no token but is missing from the server's list of
/// them would let a made-up token dodge the address's limit.
#[tokio::test]
async fn every_route_without_a_token_is_charged_to_its_address() {
    let app = spawn_app().await;
    let document = get(&app.anonymous(), "/api/v1/openapi.json", &[]).await;
    let document: serde_json::Value = serde_json::from_slice(&document.body).expect("JSON");
    let paths = document["paths"].as_object().expect("paths");
    let mut anonymous = Vec::new();
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            if operation.get("security").is_none() {
                anonymous.push(format!("{method} {path}"));
                assert!(
                    piazza_server::rate_limit::ANONYMOUS_ROUTES.contains(&path.as_str()),
                    "{method} {path} takes no token but is not in `ANONYMOUS_ROUTES`"
                );
            }
        }
    }
    assert!(anonymous.len() >= 4, "{anonymous:?}");
    app.shut_down().await;
}
