//! Tests of the client against tiny stand-in servers on loopback: they
//! check what goes on the wire and how answers are classified, without the
//! real Piazza server.

use futures_util::{SinkExt, StreamExt};
use piazza_api::{ClientFrame, ServerFrame};
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::*;

/// One HTTP exchange as the stand-in server saw it.
struct Seen {
    head: String,
    body: Vec<u8>,
}

/// Serves exactly one request with a canned answer and reports what it
/// received.
async fn serve_once(
    status_line: &str,
    content_type: &str,
    body: &str,
) -> (Client, JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let answer = format!(
        "HTTP/1.1 {status_line}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-test: yes\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let server = tokio::spawn(async move {
        let (mut connection, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        let head_end = loop {
            let read = connection.read(&mut buffer).await.unwrap();
            assert!(read > 0, "client closed before sending a request");
            received.extend_from_slice(&buffer[..read]);
            if let Some(at) = received.windows(4).position(|window| window == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8(received[..head_end].to_vec()).unwrap();
        let content_length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().unwrap())
            })
            .unwrap_or(0);
        while received.len() < head_end + content_length {
            let read = connection.read(&mut buffer).await.unwrap();
            received.extend_from_slice(&buffer[..read]);
        }
        connection.write_all(answer.as_bytes()).await.unwrap();
        Seen {
            head,
            body: received[head_end..].to_vec(),
        }
    });
    (Client::new(&base_url), server)
}

#[test]
fn path_segments_are_percent_encoded() {
    assert_eq!(encode_segment("c_01HXYZ-a.b~c"), "c_01HXYZ-a.b~c");
    assert_eq!(encode_segment("a/b?c#d"), "a%2Fb%3Fc%23d");
    assert_eq!(encode_segment("é "), "%C3%A9%20");
}

#[test]
fn with_token_keeps_the_server_and_sets_the_token() {
    let anonymous = Client::new("http://127.0.0.1:8080/");
    assert_eq!(anonymous.token(), None);
    let alice = anonymous.with_token("secret");
    assert_eq!(alice.token(), Some("secret"));
    assert_eq!(alice.base_url(), "http://127.0.0.1:8080");
    assert_eq!(anonymous.token(), None);
    assert!(!format!("{alice:?}").contains("secret"));
}

#[tokio::test]
async fn a_new_message_is_201_and_a_replay_is_200() {
    let body = r#"{"message_id":"m1","seq":4,"sent_at":"2025-01-01T00:00:00Z"}"#;
    for (status_line, replayed) in [("201 Created", false), ("200 OK", true)] {
        let (client, server) = serve_once(status_line, "application/json", body).await;
        let client = client.with_token("tok");
        let (sent, was_replayed) = client.send_message("c/1", "cm-1", "hello").await.unwrap();
        assert_eq!(sent.seq, 4);
        assert_eq!(was_replayed, replayed);

        let seen = server.await.unwrap();
        assert!(
            seen.head
                .starts_with("POST /api/v1/conversations/c%2F1/messages HTTP/1.1\r\n"),
            "{}",
            seen.head
        );
        assert!(
            seen.head
                .to_ascii_lowercase()
                .contains("authorization: bearer tok\r\n")
        );
        let sent_body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
        assert_eq!(
            sent_body,
            serde_json::json!({"client_msg_id": "cm-1", "text": "hello"})
        );
    }
}

#[tokio::test]
async fn a_problem_answer_is_an_api_error() {
    let problem = r#"{"type":"about:blank","title":"Conflict","status":409,"detail":"taken","code":"username_taken"}"#;
    let (client, server) = serve_once("409 Conflict", "application/problem+json", problem).await;
    let error = client
        .create_account("alice", "password1", None)
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(409));
    assert_eq!(error.code(), Some("username_taken"));
    let seen = server.await.unwrap();
    assert!(!seen.head.to_ascii_lowercase().contains("authorization"));
    let sent_body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        sent_body,
        serde_json::json!({"username": "alice", "password": "password1"})
    );
}

#[tokio::test]
async fn a_malformed_success_body_is_a_decode_error() {
    let (client, server) = serve_once("200 OK", "application/json", r#"{"nope":1}"#).await;
    let error = client.me().await.unwrap_err();
    assert!(matches!(error, ClientError::Decode(_)), "{error:?}");
    server.await.unwrap();
}

#[tokio::test]
async fn sync_and_history_send_their_query() {
    let page = r#"{"events":[],"cursor":"v1.0","has_more":false}"#;
    let (client, server) = serve_once("200 OK", "application/json", page).await;
    let page = client
        .sync(Some("v1.a+b"), Some(50), Some(0))
        .await
        .unwrap();
    assert_eq!(page.cursor, "v1.0");
    let seen = server.await.unwrap();
    assert!(
        seen.head
            .starts_with("GET /api/v1/sync?since=v1.a%2Bb&limit=50&wait_ms=0 HTTP/1.1"),
        "{}",
        seen.head
    );

    let page = r#"{"messages":[],"has_more":false}"#;
    let (client, server) = serve_once("200 OK", "application/json", page).await;
    client.history("c1", Some(10), None).await.unwrap();
    let seen = server.await.unwrap();
    assert!(
        seen.head
            .starts_with("GET /api/v1/conversations/c1/messages?before=10 HTTP/1.1"),
        "{}",
        seen.head
    );
}

#[tokio::test]
async fn raw_returns_any_status_with_its_headers() {
    let (client, server) = serve_once("413 Payload Too Large", "text/plain", "too big").await;
    let answer = client
        .with_token("tok")
        .raw(
            Method::POST,
            "/api/v1/accounts",
            Some(b"{not json".to_vec()),
            Some("application/json"),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 413);
    assert_eq!(answer.content_type.as_deref(), Some("text/plain"));
    assert_eq!(answer.body, b"too big");
    assert_eq!(answer.headers["x-test"], "yes");
    let seen = server.await.unwrap();
    assert_eq!(seen.body, b"{not json");
    let head = seen.head.to_ascii_lowercase();
    assert!(head.contains("content-type: application/json\r\n"));
    assert!(head.contains("authorization: bearer tok\r\n"));
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    // Bind and drop to find a port where nothing listens.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::new(&format!("http://{address}"));
    assert!(matches!(
        client.health().await,
        Err(ClientError::Transport(_))
    ));
    assert!(matches!(
        client.connect_socket().await,
        Err(ClientError::Transport(_))
    ));
}

#[tokio::test]
async fn a_refused_upgrade_is_an_api_error() {
    let problem = r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"bad token","code":"unauthorized"}"#;
    let (client, server) =
        serve_once("401 Unauthorized", "application/problem+json", problem).await;
    let error = client
        .with_token("revoked")
        .connect_socket()
        .await
        .err()
        .unwrap();
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.code(), Some("unauthorized"));
    let seen = server.await.unwrap();
    assert!(seen.head.starts_with("GET /api/v1/ws HTTP/1.1"));
}

/// A WebSocket stand-in that checks the token, sends `messages`, then closes.
async fn serve_websocket(messages: Vec<Message>) -> (Client, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (connection, _) = listener.accept().await.unwrap();
        #[expect(
            clippy::result_large_err,
            reason = "the callback's type is tungstenite's"
        )]
        let check_token = |request: &Request, response: Response| {
            assert_eq!(request.uri().path(), "/api/v1/ws");
            assert_eq!(request.headers()["authorization"], "Bearer tok");
            Ok(response)
        };
        let mut socket = tokio_tungstenite::accept_hdr_async(connection, check_token)
            .await
            .unwrap();
        // Read what the client sends first, so the test can check it.
        let mut received = Vec::new();
        if let Some(Ok(Message::Text(text))) = socket.next().await {
            received.push(text.to_string());
        }
        for message in messages {
            socket.send(message).await.unwrap();
        }
        // Keep reading to the end, so pongs are recorded and the close
        // handshake completes from this side too.
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Pong(payload) = message {
                received.push(format!("pong {payload:?}"));
            }
        }
        received
    });
    (Client::new(&base_url).with_token("tok"), server)
}

#[tokio::test]
async fn the_socket_sorts_messages_and_reports_the_close_once() {
    let event = r#"{"cursor":"v1.1","type":"contact.added","at":"t","contact":{"username":"bob"}}"#;
    let (client, server) = serve_websocket(vec![
        Message::text(event),
        Message::Ping(b"p".to_vec().into()),
        Message::text(r#"{"op":"synced","cursor":"v1.1"}"#),
        Message::Close(Some(CloseFrame {
            code: CloseCode::Away,
            reason: "restarting".into(),
        })),
    ])
    .await;

    let mut socket = client.connect_socket().await.unwrap();
    socket
        .send(&ClientFrame::Sync { since: None })
        .await
        .unwrap();

    let Some(Ok(Incoming::Event(received))) = socket.next().await else {
        panic!("expected the event first");
    };
    assert_eq!(received.type_, "contact.added");
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Incoming::Frame(ServerFrame::Synced {
            cursor: "v1.1".to_owned()
        })
    );
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Incoming::Closed {
            code: 1001,
            reason: "restarting".to_owned()
        }
    );
    assert!(socket.next().await.is_none());
    assert!(socket.next().await.is_none());

    let received = server.await.unwrap();
    assert_eq!(received[0], r#"{"op":"sync","since":null}"#);
    assert!(
        received.iter().any(|line| line.starts_with("pong")),
        "{received:?}"
    );
}

#[tokio::test]
async fn the_split_halves_send_and_receive_independently() {
    let ack = r#"{"op":"ack","client_msg_id":"cm","message_id":"m","seq":1,"conversation_id":"c","sent_at":"t"}"#;
    let (client, server) = serve_websocket(vec![Message::text(ack)]).await;
    let (mut sender, mut receiver) = client.connect_socket().await.unwrap().split();

    let frame = ClientFrame::Send {
        conversation_id: "c".to_owned(),
        client_msg_id: "cm".to_owned(),
        message: piazza_api::MessageContent::text("hi".to_owned()),
    };
    sender.send(&frame).await.unwrap();
    let Some(Ok(Incoming::Frame(ServerFrame::Ack { seq, .. }))) = receiver.next().await else {
        panic!("expected an ack");
    };
    assert_eq!(seq, 1);

    sender.close().await.unwrap();
    // The server answers the close; the receiver sees it end.
    while let Some(incoming) = receiver.next().await {
        assert!(
            matches!(incoming, Ok(Incoming::Closed { .. })),
            "{incoming:?}"
        );
    }
    let received = server.await.unwrap();
    let sent: serde_json::Value = serde_json::from_str(&received[0]).unwrap();
    assert_eq!(sent["op"], "send");
    assert_eq!(sent["text"], "hi");
}

#[test]
fn an_idempotency_key_is_what_the_server_accepts() {
    assert_eq!(
        IdempotencyKey::parse("retry-1").map(|key| key.to_string()),
        Some("retry-1".to_owned())
    );
    assert_eq!(IdempotencyKey::parse(""), None);
    assert_eq!(IdempotencyKey::parse("has space"), None);
    assert_eq!(IdempotencyKey::parse("é"), None);
    assert!(IdempotencyKey::parse(&"k".repeat(255)).is_some());
    assert_eq!(IdempotencyKey::parse(&"k".repeat(256)), None);
}

#[tokio::test]
async fn a_transfer_sends_its_key_and_body() {
    let answer = r#"{"transfer_id":"trf_1","status":"pending"}"#;
    let (client, server) = serve_once("201 Created", "application/json", answer).await;
    let key = IdempotencyKey::parse("key-42").unwrap();
    let sent = client
        .with_token("tok")
        .send_transfer(&key, "acc_b", 1234, "246810", Some("lunch"))
        .await
        .unwrap();
    assert_eq!(sent.transfer_id, "trf_1");
    let seen = server.await.unwrap();
    assert!(
        seen.head.starts_with("POST /api/v1/transfers HTTP/1.1\r\n"),
        "{}",
        seen.head
    );
    let head = seen.head.to_ascii_lowercase();
    assert!(head.contains("idempotency-key: key-42\r\n"), "{head}");
    assert!(head.contains("authorization: bearer tok\r\n"), "{head}");
    let sent_body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        sent_body,
        serde_json::json!({"to": "acc_b", "amount_minor": 1234, "pin": "246810", "note": "lunch"})
    );
}

#[tokio::test]
async fn a_refused_payment_carries_the_problem_code() {
    let problem = r#"{"type":"about:blank","title":"Conflict","status":409,"detail":"not enough","code":"insufficient_funds"}"#;
    let (client, server) = serve_once("409 Conflict", "application/problem+json", problem).await;
    let key = IdempotencyKey::parse("key-43").unwrap();
    let error = client
        .pay(&key, "000201...", Some(500), "246810")
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("insufficient_funds"));
    let seen = server.await.unwrap();
    assert!(seen.head.starts_with("POST /api/v1/payments HTTP/1.1\r\n"));
    assert!(
        seen.head
            .to_ascii_lowercase()
            .contains("idempotency-key: key-43\r\n")
    );
    let sent_body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        sent_body,
        serde_json::json!({"qr_payload": "000201...", "amount_minor": 500, "pin": "246810"})
    );
}

#[tokio::test]
async fn a_merchant_qr_asks_for_the_format_and_amount() {
    let (client, server) = serve_once("200 OK", "image/svg+xml", "<svg/>").await;
    let image = client
        .merchant_qr_image("mch/1", Some(250), QrImageFormat::Svg)
        .await
        .unwrap();
    assert_eq!(image, b"<svg/>");
    let seen = server.await.unwrap();
    assert!(
        seen.head.starts_with(
            "GET /api/v1/merchants/mch%2F1/qr?format=svg&amount_minor=250 HTTP/1.1\r\n"
        ),
        "{}",
        seen.head
    );
}

// ------------------------------------------------------------ failing over

/// An address where nothing listens: connecting to it is refused.
async fn dead_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    address
}

/// An address that takes one connection, reads the request's first bytes
/// and hangs up without answering: a node dying with the request in hand.
async fn dying_address() -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut connection, _) = listener.accept().await.unwrap();
        let mut buffer = [0u8; 64];
        let _ = connection.read(&mut buffer).await;
    });
    (address, server)
}

#[test]
fn a_url_moves_to_the_next_address_whatever_the_addresses_share() {
    for (addresses, url, expected) in [
        (
            "http://a:80,http://a:8080",
            "http://a/api/v1/me?x=1",
            "http://a:8080/api/v1/me?x=1",
        ),
        (
            "http://a:8080,http://a:80",
            "http://a:8080/api/v1/me",
            "http://a/api/v1/me",
        ),
        ("http://a:1,http://a:10", "http://a:1/x", "http://a:10/x"),
        (
            "http://A:1/piazza,http://b:2",
            "http://a:1/piazza/x",
            "http://b:2/x",
        ),
        ("http://a:1,http://b:2/p/", "http://a:1/x", "http://b:2/p/x"),
    ] {
        let client = Client::new(addresses);
        let url = reqwest::Url::parse(url).unwrap();
        assert_eq!(
            client.rebased(&url).unwrap().as_str(),
            expected,
            "{addresses}"
        );
    }
    let client = Client::new("http://a:1,http://b:2");
    let elsewhere = reqwest::Url::parse("http://c:3/x").unwrap();
    assert!(client.rebased(&elsewhere).is_err());
}

#[test]
fn several_addresses_are_read_from_one_comma_separated_string() {
    let client = Client::new(" http://a:1/ ,http://b:2,, ");
    assert_eq!(
        client.addresses().collect::<Vec<_>>(),
        ["http://a:1", "http://b:2"]
    );
    assert_eq!(client.base_url(), "http://a:1");
}

#[tokio::test]
async fn a_node_that_refuses_is_left_for_the_next_by_every_clone() {
    let body = r#"{"message_id":"m1","seq":4,"sent_at":"2025-01-01T00:00:00Z"}"#;
    let (live, server) = serve_once("201 Created", "application/json", body).await;
    let client = Client::new(&format!("{},{}", dead_address().await, live.base_url()));
    let alice = client.with_token("tok");
    let (sent, _) = alice.send_message("c1", "cm-1", "hello").await.unwrap();
    assert_eq!(sent.seq, 4);
    assert!(
        server
            .await
            .unwrap()
            .head
            .starts_with("POST /api/v1/conversations/c1/messages ")
    );
    assert_eq!(client.base_url(), live.base_url(), "the clone moved too");
}

#[tokio::test]
async fn a_request_lost_on_the_way_is_repeated_elsewhere_only_when_harmless() {
    // A message is idempotent by its client_msg_id: sent again.
    let body = r#"{"message_id":"m1","seq":4,"sent_at":"2025-01-01T00:00:00Z"}"#;
    let (dying, _) = dying_address().await;
    let (live, server) = serve_once("200 OK", "application/json", body).await;
    let alice = Client::new(&format!("{dying},{}", live.base_url())).with_token("tok");
    let (_, replayed) = alice.send_message("c1", "cm-1", "hello").await.unwrap();
    assert!(replayed);
    let seen = server.await.unwrap();
    assert!(seen.head.contains("/messages "), "{}", seen.head);

    // Creating an account is not: the error is the caller's to judge.
    let (dying, _) = dying_address().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let untouched = format!("http://{}", listener.local_addr().unwrap());
    let anonymous = Client::new(&format!("{dying},{untouched}"));
    let error = anonymous
        .create_account("ann", "pw", None)
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Transport(_)), "{error:?}");
    let knocked = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
    assert!(knocked.is_err(), "the account was not asked for twice");
}
