//! Connections (issue 11, item 5): a flood of idle or half-sent
//! connections cannot take the server away from everyone else. Each
//! client address holds at most `connections_per_address_max` connections,
//! the server at most what its open-file limit leaves after the store's
//! files; past either, the oldest idle connections are closed first, and
//! a connection with a request in flight or an upgraded WebSocket never is.

use std::net::SocketAddr;
use std::time::Duration;

use piazza_api::{ClientFrame, ServerFrame};
use piazza_client::{Client, Incoming, Socket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;

use crate::helpers::*;

/// How fast a client must be served while a flood is on: a server that
/// stopped accepting would never answer, and one that answers takes
/// milliseconds alone (about 0.1 s with the flood's shedding), but the
/// suite shares two cores with its own PostgreSQL rerun, which now runs
/// two writers per engine; one second was missed there once.
const PROMPTLY: Duration = Duration::from_secs(3);

/// The start of a request head that never ends (slowloris).
const HALF_SENT: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: piazza\r\nX-Half: ";

/// A connection to `server` from `from` (Linux answers every 127.x.y.z on
/// its loopback, so a test can be many client addresses) that sent half a
/// request head; `None` if it could not connect in time.
async fn half_sent(from: [u8; 4], server: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::from((from, 0))).ok()?;
    let mut stream = tokio::time::timeout(PATIENCE, socket.connect(server))
        .await
        .ok()?
        .ok()?;
    stream.write_all(HALF_SENT).await.ok()?;
    Some(stream)
}

/// Watches each stream and reports its index once the server closed it.
fn report_closes(streams: Vec<TcpStream>) -> mpsc::UnboundedReceiver<usize> {
    let (closed, reports) = mpsc::unbounded_channel();
    for (index, mut stream) in streams.into_iter().enumerate() {
        let closed = closed.clone();
        tokio::spawn(async move {
            let mut buffer = [0u8; 256];
            while let Ok(1..) = stream.read(&mut buffer).await {}
            let _ = closed.send(index);
        });
    }
    reports
}

/// The indices of the first `count` streams the server closes, in order.
async fn first_closed(reports: &mut mpsc::UnboundedReceiver<usize>, count: usize) -> Vec<usize> {
    let mut closed = Vec::with_capacity(count);
    while closed.len() < count {
        let index = tokio::time::timeout(PATIENCE, reports.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} connections closed in time", closed.len()))
            .expect("a watcher per stream");
        closed.push(index);
    }
    closed
}

fn server_address(base: &str) -> SocketAddr {
    base.trim_start_matches("http://")
        .parse()
        .expect("an address")
}

/// Sends one message over `socket` and waits for its ack.
async fn send_over(socket: &mut Socket, conversation: &str, client_msg_id: &str) {
    let frame = ClientFrame::Send {
        conversation_id: conversation.to_owned(),
        client_msg_id: client_msg_id.to_owned(),
        message: piazza_api::MessageContent::text("still here".to_owned()),
    };
    socket.send(&frame).await.expect("the socket takes a frame");
    loop {
        match socket.next().await {
            Some(Ok(Incoming::Frame(ServerFrame::Ack {
                client_msg_id: acked,
                ..
            }))) if acked == client_msg_id => {
                return;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected an ack, got {other:?}"),
        }
    }
}

/// The outside review's attack on the real binary, with its open-file
/// limit lowered so that exhaustion is real: 1,100 half-sent requests from
/// eleven addresses held every descriptor, and for ~30 s (the header
/// timeout) no new client was accepted.
#[tokio::test]
async fn a_flood_of_half_sent_requests_leaves_the_server_to_everyone_else() {
    // The test itself holds the flood's 1,100 sockets.
    rlimit::increase_nofile_limit(4096).expect("the test's own open-file limit");
    let dir = tempfile::tempdir().unwrap();
    let server = start_server_process_with_open_files(&dir.path().join("data"), 512).await;
    let address = server_address(&server.base);
    let anonymous = Client::new(&server.base);
    let mut tokens = Vec::new();
    for name in ["ann", "bob"] {
        anonymous
            .create_account(name, PASSWORD, None)
            .await
            .unwrap();
        tokens.push(
            anonymous
                .login(name, PASSWORD, "phone")
                .await
                .unwrap()
                .token,
        );
    }
    let ann = Client::new(&server.base).with_token(tokens[0].clone());
    let bob = Client::new(&server.base).with_token(tokens[1].clone());
    let request = ann.request_contact("bob", None).await.unwrap();
    bob.accept_request(&request).await.unwrap();
    let conversation = ann
        .open_direct(&bob.me().await.unwrap().account_id)
        .await
        .unwrap();
    let mut socket = ann.connect_socket().await.expect("ann's socket");

    let mut flood = Vec::new();
    for n in 0..1_100u32 {
        let from = [127, 0, 0, 2 + (n % 11) as u8];
        match half_sent(from, address).await {
            Some(stream) => flood.push(stream),
            None => break,
        }
    }
    let flooded = flood.len();
    let mut closes = report_closes(flood);
    // The server holds what fits of the flood and sheds the rest, oldest
    // first (the old server held all it could and stopped accepting).
    let closed = first_closed(&mut closes, flooded.saturating_sub(512)).await;
    assert!(closed.contains(&0), "the oldest half-sent request is shed");

    // While the flood holds on, a new client is served at once...
    let newcomer = Client::new(&server.base);
    let health = tokio::time::timeout(PROMPTLY, newcomer.health()).await;
    assert!(
        matches!(&health, Ok(Ok(answer)) if answer.status == "ok"),
        "a new client after {flooded} half-sent requests: {health:?}"
    );
    let session = tokio::time::timeout(PROMPTLY, newcomer.login("bob", PASSWORD, "laptop")).await;
    assert!(matches!(session, Ok(Ok(_))), "a new log-in: {session:?}");
    // ...and so are the clients that were there before: a WebSocket...
    tokio::time::timeout(
        PROMPTLY,
        send_over(&mut socket, &conversation, "during-flood"),
    )
    .await
    .expect("ann's socket is served during the flood");
    // ...and a kept-alive HTTP client.
    let history = tokio::time::timeout(PROMPTLY, bob.history(&conversation, None, None)).await;
    assert!(
        matches!(&history, Ok(Ok(page)) if page.messages.len() == 1),
        "bob's client: {history:?}"
    );
    assert!(flooded >= 1_000, "the whole flood connected: {flooded}");
}

/// One address past its cap loses its own oldest idle connections, not
/// anyone else's, and a connection that completes its head is served.
#[tokio::test]
async fn an_address_past_its_cap_loses_its_oldest_idle_connections() {
    let app = spawn_app_with(|config| config.limits.connections_per_address_max = 8).await;
    let address = server_address(&app.base);
    let mut flood = Vec::new();
    for _ in 0..20 {
        flood.push(half_sent([127, 0, 0, 2], address).await.expect("connected"));
    }
    let mut survivors = flood.split_off(12);
    let mut closes = report_closes(flood);
    let mut closed = first_closed(&mut closes, 12).await;
    closed.sort_unstable();
    assert_eq!(closed, (0..12).collect::<Vec<_>>(), "the oldest twelve");
    // Another address is untouched by that one's cap.
    let health = tokio::time::timeout(PROMPTLY, app.anonymous().health()).await;
    assert!(matches!(health, Ok(Ok(_))), "{health:?}");
    // The eight newest were kept: one finishes its request and is served.
    let last = survivors.last_mut().unwrap();
    last.write_all(b"1\r\n\r\n").await.unwrap();
    let mut answer = [0u8; 12];
    last.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    app.shut_down().await;
}

/// Past the whole server's cap, the oldest idle connections go, wherever
/// they come from; a WebSocket and a request in flight (a long-poll) are
/// never idle, so they stay however old they are.
#[tokio::test]
async fn past_the_total_cap_the_oldest_idle_go_and_busy_ones_stay() {
    let app = spawn_app_with(|config| config.limits.connections_max = 12).await;
    let address = server_address(&app.base);
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let conversation = befriend(&ann, &bob).await;
    let (mut socket, _) = live_socket(&ann).await;
    let cursor = sync_all(&bob.client, None, 200).await.1;
    let waiting = {
        let bob = bob.client.clone();
        tokio::spawn(async move { bob.sync(Some(&cursor), None, Some(20_000)).await })
    };
    let mut flood = Vec::new();
    for n in 0..30u8 {
        flood.push(
            half_sent([127, 0, 1, n + 1], address)
                .await
                .expect("connected"),
        );
    }
    let mut closes = report_closes(flood);
    let closed = first_closed(&mut closes, 20).await;
    assert!(
        closed.iter().all(|&index| index < 25),
        "oldest first: {closed:?}"
    );
    send_over(&mut socket, &conversation, "past-the-cap").await;
    let woken = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("the long-poll answers")
        .unwrap()
        .expect("a sync page");
    assert_eq!(woken.events.len(), 1, "{woken:?}");
    app.shut_down().await;
}
