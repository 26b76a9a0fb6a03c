//! Three `piazza serve` nodes on one PostgreSQL database and a cluster of
//! three NATS servers, all started here: what is sent on one node reaches
//! a device on another live; with NATS wholly down devices still converge
//! (their sockets catch up from the database), and live delivery returns
//! by itself with NATS; a revocation on one node closes the device's
//! socket on another.

use std::time::{Duration, Instant};

use piazza_api::ClientFrame;
use piazza_client::{Client, Incoming, Socket};
use piazza_postgres::testing::TestDatabase;
use tokio::task::JoinHandle;

mod partition;

use crate::helpers::{
    PASSWORD, ServerProcess, User, admin_checks_pass_on_database, close_code, live_socket,
    position, start_server_process_on_database, text_of,
};

/// A NATS server of the test's cluster: its client and route ports.
struct NatsServer {
    port: u16,
    route_port: u16,
    child: Option<std::process::Child>,
    log: std::path::PathBuf,
}

/// NATS servers clustered with each other, on loopback ports of their own.
pub(crate) struct NatsCluster {
    servers: Vec<NatsServer>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The NATS server binary: on the PATH, or where Debian's package puts it.
fn nats_server() -> std::path::PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let candidate = std::path::Path::new(dir).join("nats-server");
        if candidate.exists() {
            return candidate;
        }
    }
    let debian = std::path::PathBuf::from("/usr/sbin/nats-server");
    assert!(
        debian.exists(),
        "nats-server is missing: install Debian's nats-server package (.ci/nats.sh does)"
    );
    debian
}

impl NatsCluster {
    pub(crate) async fn start(size: usize) -> NatsCluster {
        let dir = tempfile::tempdir().unwrap();
        let servers = (0..size)
            .map(|n| NatsServer {
                port: free_port(),
                route_port: free_port(),
                child: None,
                log: dir.path().join(format!("nats-{n}.log")),
            })
            .collect();
        let mut cluster = NatsCluster { servers, _dir: dir };
        cluster.start_all().await;
        cluster
    }

    async fn start_all(&mut self) {
        let routes: Vec<String> = self
            .servers
            .iter()
            .map(|s| format!("nats://127.0.0.1:{}", s.route_port))
            .collect();
        for (n, server) in self.servers.iter_mut().enumerate() {
            if server.child.is_some() {
                continue; // still running
            }
            let child = std::process::Command::new(nats_server())
                .args(["-a", "127.0.0.1", "-p", &server.port.to_string()])
                .args(["-n", &format!("piazza-test-{n}")])
                .args(["--cluster_name", "piazza-test"])
                .args([
                    "--cluster",
                    &format!("nats://127.0.0.1:{}", server.route_port),
                ])
                .args(["--routes", &routes.join(",")])
                .arg("-l")
                .arg(&server.log)
                .spawn()
                .expect("nats-server starts");
            server.child = Some(child);
        }
        for server in &self.servers {
            let deadline = Instant::now() + Duration::from_secs(10);
            while tokio::net::TcpStream::connect(("127.0.0.1", server.port))
                .await
                .is_err()
            {
                assert!(
                    Instant::now() < deadline,
                    "nats on {} did not start",
                    server.port
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// Kills server `n` (SIGKILL).
    fn kill(&mut self, n: usize) {
        if let Some(mut child) = self.servers[n].child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Kills every server at once (SIGKILL: no goodbye to the clients).
    fn kill_all(&mut self) {
        for n in 0..self.servers.len() {
            self.kill(n);
        }
    }

    /// Every server's address, `first`'s first.
    pub(crate) fn urls_from(&self, first: usize) -> String {
        let n = self.servers.len();
        (0..n)
            .map(|i| format!("nats://127.0.0.1:{}", self.servers[(first + i) % n].port))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// `name`'s device on `node`.
pub(crate) async fn device(node: &ServerProcess, name: &str, account_id: &str) -> User {
    let session = Client::new(&node.base)
        .login(name, PASSWORD, "device")
        .await
        .unwrap();
    User {
        account_id: account_id.to_owned(),
        username: name.to_owned(),
        device_id: session.device_id,
        client: Client::new(&node.base).with_token(session.token),
    }
}

/// The next message event on `socket` and how long it took to come;
/// panics past `limit`.
async fn next_message(socket: &mut Socket, limit: Duration) -> (String, Duration) {
    let start = Instant::now();
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(Incoming::Event(event)))) if event.type_ == "message.new" => {
                return (text_of(&event).to_owned(), start.elapsed());
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the socket ended: {other:?}"),
            Err(_) => panic!("no message within {limit:?}"),
        }
    }
}

/// The next ephemeral event of `type_` on `socket`, within `limit`.
async fn next_ephemeral(socket: &mut Socket, type_: &str, limit: Duration) {
    let start = Instant::now();
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(Incoming::Ephemeral(fields)))) if fields["type"] == type_ => return,
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("the socket ended: {other:?}"),
            Err(_) => panic!("no {type_} within {limit:?}"),
        }
    }
}

/// [`until_message`], noting the presence events that go by (their
/// `online`) in `presence`.
async fn until_message_noting(
    socket: &mut Socket,
    text: &str,
    limit: Duration,
    presence: &mut Vec<bool>,
) {
    let start = Instant::now();
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(Incoming::Event(event))))
                if event.type_ == "message.new" && text_of(&event) == text =>
            {
                return;
            }
            Ok(Some(Ok(Incoming::Ephemeral(fields)))) if fields["type"] == "presence" => {
                presence.push(fields["online"] == true);
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no {text:?} within {limit:?}: {other:?}"),
        }
    }
}

/// Waits for the message `text` on `socket` (others go by), answering how
/// long it took; panics past `limit`.
async fn until_message(socket: &mut Socket, text: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let left = limit.saturating_sub(start.elapsed());
        if next_message(socket, left).await.0 == text {
            return start.elapsed();
        }
    }
}

/// Waits for a presence event saying `online` on `socket`, within `limit`.
async fn next_presence(socket: &mut Socket, online: bool, limit: Duration) {
    let start = Instant::now();
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(Incoming::Ephemeral(fields))))
                if fields["type"] == "presence" && fields["online"] == online =>
            {
                return;
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no presence online={online} within {limit:?}: {other:?}"),
        }
    }
}

/// Runs `piazza admin cluster-status`: whether it succeeded, and what it said.
async fn cluster_status(nats_urls: &str, database_url: &str) -> (bool, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
        .args(["admin", "cluster-status", "--nats-url", nats_urls])
        .args(["--database-url", database_url])
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

async fn send(user: &User, conversation: &str, text: &str) {
    user.client
        .send_message(conversation, &text.replace(' ', "-"), text)
        .await
        .unwrap();
}

#[tokio::test]
async fn three_nodes_hear_each_other_live_and_converge_without_nats() {
    let mut nats = NatsCluster::start(3).await;
    let database = TestDatabase::create();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut nodes = Vec::new();
    for (n, dir) in dirs.iter().enumerate() {
        let urls = nats.urls_from(n);
        nodes.push(
            start_server_process_on_database(dir.path(), &database.url, &["--nats-url", &urls])
                .await,
        );
    }
    let anonymous = Client::new(&nodes[0].base);
    let ann_id = anonymous
        .create_account("ann", PASSWORD, None)
        .await
        .unwrap()
        .account_id;
    let bob_id = anonymous
        .create_account("bob", PASSWORD, None)
        .await
        .unwrap()
        .account_id;
    let ann = device(&nodes[0], "ann", &ann_id).await;
    let bob = device(&nodes[1], "bob", &bob_id).await;
    let bob_elsewhere = device(&nodes[2], "bob", &bob_id).await;
    let request = ann.client.request_contact("bob", None).await.unwrap();
    bob.client.accept_request(&request).await.unwrap();
    let direct = ann.client.open_direct(&bob_id).await.unwrap();
    let (mut ann_socket, _) = live_socket(&ann).await;
    let (mut bob_socket, _) = live_socket(&bob).await;
    let (mut elsewhere_socket, _) = live_socket(&bob_elsewhere).await;

    // Sent on node 0, heard on nodes 1 and 2 as it happens.
    send(&ann, &direct, "across").await;
    let (text, took) = next_message(&mut bob_socket, Duration::from_secs(2)).await;
    assert_eq!(text, "across");
    assert_eq!(
        next_message(&mut elsewhere_socket, Duration::from_secs(2))
            .await
            .0,
        "across"
    );
    eprintln!("node 0 → node 1: {took:?}");
    // Typing crosses nodes too (it is never stored).
    ann_socket
        .send(&ClientFrame::Typing {
            conversation_id: direct.clone(),
        })
        .await
        .unwrap();
    next_ephemeral(&mut bob_socket, "typing", Duration::from_secs(2)).await;

    // `admin cluster-status` hears every node, and finds the database.
    let (status, out) = cluster_status(&nats.urls_from(0), &database.url).await;
    assert!(status, "cluster-status succeeds: {out}");
    assert!(out.contains("nats: ok"), "{out}");
    assert!(out.contains("nodes alive: 3"), "{out}");
    for node in &nodes {
        let listen = node.base.trim_start_matches("http://");
        assert!(out.contains(listen), "{listen} is listed: {out}");
    }
    assert!(out.contains("database: ok"), "{out}");
    // One node sweeps, and it is one of the three.
    let sweeper = out
        .lines()
        .find_map(|line| line.trim().strip_prefix("lease sweeper: held by node "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the sweeper's lease is held: {out}"));
    assert!(
        out.contains(&format!("node {sweeper}  ")),
        "held by a node alive: {out}"
    );

    // Presence: ann's socket is on node 0, bob asks node 1.
    let online = |list: piazza_api::PresenceList| list.presence.iter().any(|p| p.online);
    assert!(
        online(bob.client.presence().await.unwrap()),
        "ann is online, seen from another node"
    );
    // A second socket of ann's on node 2 closing leaves her online (her
    // first is still open on node 0), so bob is told nothing; the last
    // one closing tells bob on node 1 she went offline.
    let ann_elsewhere = device(&nodes[2], "ann", &ann_id).await;
    let (mut second, _) = live_socket(&ann_elsewhere).await;
    second.close().await.unwrap();
    let quiet = Instant::now() + Duration::from_millis(500);
    while let Ok(next) = tokio::time::timeout_at(quiet.into(), bob_socket.next()).await {
        if let Some(Ok(Incoming::Ephemeral(fields))) = next {
            assert!(
                fields["type"] != "presence" || fields["online"] != false,
                "no offline while ann's first socket is open: {fields:?}"
            );
        }
    }
    assert!(
        online(bob.client.presence().await.unwrap()),
        "still online through node 0"
    );
    ann_socket.close().await.unwrap();
    let start = Instant::now();
    loop {
        let left = Duration::from_secs(3).saturating_sub(start.elapsed());
        match tokio::time::timeout(left, bob_socket.next()).await {
            Ok(Some(Ok(Incoming::Ephemeral(fields)))) if fields["type"] == "presence" => {
                if fields["online"] == false {
                    break;
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no offline presence across nodes: {other:?}"),
        }
    }
    assert!(
        !online(bob.client.presence().await.unwrap()),
        "offline everywhere"
    );

    // NATS wholly down: the message is still heard, from the database.
    nats.kill_all();
    send(&ann, &direct, "nats is down").await;
    let (text, took) = next_message(&mut bob_socket, Duration::from_secs(5)).await;
    assert_eq!(text, "nats is down");
    let (status, out) = cluster_status(&nats.urls_from(0), &database.url).await;
    assert!(
        !status && out.contains("nats: DOWN") && out.contains("database: ok"),
        "{out}"
    );
    eprintln!("node 0 → node 1 with NATS down: {took:?}");
    assert_eq!(
        next_message(&mut elsewhere_socket, Duration::from_secs(5))
            .await
            .0,
        "nats is down"
    );

    // NATS back: live again by itself.
    nats.start_all().await;
    let quick = Duration::from_millis(250);
    let n = crosses_live(&ann.client, &direct, &mut bob_socket, "back", 5, quick).await;

    // A device revoked through node 1 is closed on node 2 within a second.
    bob.client
        .revoke_device(&bob_elsewhere.device_id)
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        match tokio::time::timeout(Duration::from_secs(1), elsewhere_socket.next()).await {
            Ok(Some(Ok(Incoming::Closed { code, .. }))) => {
                assert_eq!(code, 4001, "closed as revoked");
                break;
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("the revoked socket was not closed in time: {other:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "closed within a second"
        );
    }

    // A node killed says no goodbye: with ann's only socket on node 2,
    // bob on node 1 is told she went offline once node 2 has been silent
    // for the others' patience (six seconds, then the next look).
    let ann_on_two = device(&nodes[2], "ann", &ann_id).await;
    let (_ann_on_two_socket, _) = live_socket(&ann_on_two).await;
    next_presence(&mut bob_socket, true, Duration::from_secs(3)).await;
    nodes[2].child.kill().await.unwrap();
    let killed = Instant::now();
    next_presence(&mut bob_socket, false, Duration::from_secs(12)).await;
    eprintln!("offline told {:?} after node 2 died", killed.elapsed());

    // Every device of bob holds the same history: nothing lost, nothing doubled.
    let on_one = bob.client.history(&direct, None, Some(200)).await.unwrap();
    let on_zero = ann.client.history(&direct, None, Some(200)).await.unwrap();
    let seqs = |page: &piazza_api::MessagePage| -> Vec<i64> {
        page.messages.iter().map(|m| m.seq).collect()
    };
    assert_eq!(seqs(&on_one), seqs(&on_zero));
    assert_eq!(on_one.messages.len(), 2 + n, "every message once");
}

/// Messages each member sends to the group while a node dies.
const SENDS: usize = 40;

/// `name`'s session token, taken on `node`.
async fn token(node: &str, name: &str) -> String {
    Client::new(node)
        .login(name, PASSWORD, "device")
        .await
        .unwrap()
        .token
}

/// Every node's address, `home`'s first: a client of the cluster that
/// starts on `home` and moves on when it cannot reach a node.
fn cluster_client(nodes: &[String], home: usize, token: String) -> Client {
    let n = nodes.len();
    let addresses: Vec<&str> = (0..n).map(|i| nodes[(home + i) % n].as_str()).collect();
    Client::new(&addresses.join(",")).with_token(token)
}

/// How a member sends: how many messages, and the pause after each.
#[derive(Clone, Copy)]
struct Load {
    sends: usize,
    pause: Duration,
}

/// Sends `load.sends` messages to `group` through a client of the cluster
/// that starts on `nodes[home]`: the client itself moves on to another node
/// when one dies, sending a message again there (it is idempotent by its
/// `client_msg_id`). Answers the seq of each acknowledged send.
async fn send_through_any(
    nodes: Vec<String>,
    home: usize,
    token: String,
    group: String,
    u: usize,
    load: Load,
) -> Vec<i64> {
    let client = cluster_client(&nodes, home, token);
    let mut acked = Vec::new();
    for n in 0..load.sends {
        tokio::time::sleep(load.pause).await;
        let id = format!("u{u}-{n}");
        // A 503 (a node busy past its patience) is sent again, same id.
        let sent = loop {
            match client.send_message(&group, &id, &id).await {
                Ok((sent, _)) => break sent,
                Err(error) if error.status() == Some(503) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("send {id}: {error}"),
            }
        };
        acked.push(sent.seq);
    }
    acked
}

/// Reads `group`'s messages from a socket on `nodes[home]` until it has
/// seen `total` of them (and every other event, in order); when its node dies, reconnects (the client picks
/// a node that answers) and syncs from its cursor. Answers the seqs seen (each once) and how
/// long each reconnection took to be live again.
async fn read_through_any(
    nodes: Vec<String>,
    home: usize,
    token: String,
    group: String,
    total: usize,
) -> (Vec<i64>, Vec<Duration>) {
    let client = cluster_client(&nodes, home, token);
    let mut cursor: Option<String> = None;
    let mut seen = std::collections::BTreeSet::new();
    let mut reconnects = Vec::new();
    let mut lost: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(60) + nats_outage();
    while seen.len() < total {
        assert!(
            Instant::now() < deadline,
            "only {} of {total} messages seen",
            seen.len()
        );
        let Ok(mut socket) = client.connect_socket().await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        if socket
            .send(&ClientFrame::Sync {
                since: cursor.clone(),
            })
            .await
            .is_err()
        {
            continue;
        }
        let mut synced = false;
        loop {
            let next = tokio::time::timeout(Duration::from_secs(5), socket.next()).await;
            match next {
                Ok(Some(Ok(Incoming::Event(event)))) => {
                    // In the log's order, each position once, across
                    // every node the device was on: never a gap, never a
                    // position again. Before `synced` a push may come
                    // ahead of the replay (which repeats it): skipped.
                    let at = position(&event.cursor);
                    let before = cursor.as_deref().map_or(0, position);
                    if !synced && at != before + 1 {
                        continue;
                    }
                    assert_eq!(at, before + 1, "the next position, after {before}");
                    cursor = Some(event.cursor.clone());
                    if event.type_ == "message.new" && event.fields["conversation_id"] == group {
                        assert!(
                            seen.insert(event.fields["seq"].as_i64().unwrap()),
                            "a message twice"
                        );
                    }
                }
                Ok(Some(Ok(Incoming::Frame(piazza_api::ServerFrame::Synced { cursor: at })))) => {
                    let before = cursor.as_deref().map_or(0, position);
                    assert_eq!(before, position(&at), "synced where the replay ended");
                    synced = true;
                    if let Some(since) = lost.take() {
                        reconnects.push(since.elapsed());
                    }
                }
                Ok(Some(Ok(_))) => {}
                // The node died (or a quiet spell): go on elsewhere.
                _ => break,
            }
            if seen.len() >= total {
                break;
            }
        }
        if seen.len() < total {
            lost.get_or_insert_with(Instant::now);
        }
    }
    (seen.into_iter().collect(), reconnects)
}

/// Three nodes on one database and the NATS servers of `nats`, six members
/// of one group with a session each, two on each node.
struct Storm {
    processes: Vec<ServerProcess>,
    nodes: Vec<String>,
    tokens: Vec<String>,
    group: String,
    database: TestDatabase,
    _dirs: Vec<tempfile::TempDir>,
}

impl Storm {
    async fn start(nats: &NatsCluster) -> Storm {
        let database = TestDatabase::create();
        let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut processes = Vec::new();
        for (n, dir) in dirs.iter().enumerate() {
            let urls = nats.urls_from(n);
            processes.push(
                start_server_process_on_database(dir.path(), &database.url, &["--nats-url", &urls])
                    .await,
            );
        }
        let nodes: Vec<String> = processes.iter().map(|p| p.base.clone()).collect();
        let names = ["ann", "bob", "cat", "dan", "eve", "fay"];
        let anonymous = Client::new(&nodes[0]);
        let mut ids = Vec::new();
        for name in names {
            ids.push(
                anonymous
                    .create_account(name, PASSWORD, None)
                    .await
                    .unwrap()
                    .account_id,
            );
        }
        let mut tokens = Vec::new();
        for (u, name) in names.iter().enumerate() {
            tokens.push(token(&nodes[u % 3], name).await);
        }
        let ann = Client::new(&nodes[0]).with_token(tokens[0].clone());
        for (u, name) in names.iter().enumerate().skip(1) {
            let request = ann.request_contact(name, None).await.unwrap();
            Client::new(&nodes[u % 3])
                .with_token(tokens[u].clone())
                .accept_request(&request)
                .await
                .unwrap();
        }
        let group = ann.create_group("a storm", &ids[1..]).await.unwrap();
        Storm {
            processes,
            nodes,
            tokens,
            group,
            database,
            _dirs: dirs,
        }
    }

    /// Every member reads from a socket on its node and, once the readers
    /// are in, sends `load`: the senders' and readers' tasks.
    async fn rage(&self, load: Load) -> (Vec<JoinHandle<Vec<i64>>>, Vec<JoinHandle<Seen>>) {
        let total = self.tokens.len() * load.sends;
        let mut readers = Vec::new();
        for (u, token) in self.tokens.iter().enumerate() {
            readers.push(tokio::spawn(read_through_any(
                self.nodes.clone(),
                u % 3,
                token.clone(),
                self.group.clone(),
                total,
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut senders = Vec::new();
        for (u, token) in self.tokens.iter().enumerate() {
            senders.push(tokio::spawn(send_through_any(
                self.nodes.clone(),
                u % 3,
                token.clone(),
                self.group.clone(),
                u,
                load,
            )));
        }
        (senders, readers)
    }

    /// Waits for the storm to end; checks every send was acknowledged
    /// once, gapless, and seen by every device; answers how long each
    /// device that had to move took to be live again.
    async fn settle(
        &self,
        senders: Vec<JoinHandle<Vec<i64>>>,
        readers: Vec<JoinHandle<Seen>>,
    ) -> Vec<Duration> {
        let mut acked = Vec::new();
        for sender in senders {
            acked.extend(sender.await.unwrap());
        }
        acked.sort_unstable();
        assert_eq!(
            acked,
            (1..=acked.len() as i64).collect::<Vec<_>>(),
            "every send acknowledged once, gapless"
        );
        let mut reconnects = Vec::new();
        for reader in readers {
            let (seen, took) = reader.await.unwrap();
            assert_eq!(seen, acked, "every device saw every acknowledged message");
            reconnects.extend(took);
        }
        admin_checks_pass_on_database(&self.database.url);
        reconnects.sort();
        reconnects
    }
}

/// What a reader saw: the seqs, and how long each move took.
type Seen = (Vec<i64>, Vec<Duration>);

#[tokio::test]
async fn a_node_killed_under_load_loses_nothing_and_its_clients_go_on_elsewhere() {
    let nats = NatsCluster::start(1).await;
    let mut storm = Storm::start(&nats).await;
    let load = Load {
        sends: SENDS,
        pause: Duration::ZERO,
    };
    let (senders, readers) = storm.rage(load).await;
    // Node 2 dies mid-storm, with no goodbye to anyone.
    tokio::time::sleep(Duration::from_millis(400)).await;
    storm.processes[2].child.kill().await.unwrap();
    let reconnects = storm.settle(senders, readers).await;
    assert!(!reconnects.is_empty(), "node 2's devices moved");
    eprintln!("live again on another node after the kill: {reconnects:?}");
}

/// Waits until messages cross nodes live: ann, on node 0, writes to bob
/// on node 1 (see [`crosses_live`]).
async fn live_across(storm: &Storm, tag: &str) {
    let ann = Client::new(&storm.nodes[0]).with_token(storm.tokens[0].clone());
    let bob = Client::new(&storm.nodes[1]).with_token(storm.tokens[1].clone());
    let bob_id = bob.me().await.unwrap().account_id;
    let direct = ann.open_direct(&bob_id).await.unwrap();
    let mut socket = bob.connect_socket().await.unwrap();
    let quick = Duration::from_millis(300);
    crosses_live(&ann, &direct, &mut socket, tag, 3, quick).await;
}

/// Sends from `from` into `conversation` until `in_a_row` messages in a
/// row each reach `socket` within `quick`: a catch-up from the store comes
/// once a second at most, so those came by the bus. Answers how many it
/// sent; panics past 20 s.
async fn crosses_live(
    from: &Client,
    conversation: &str,
    socket: &mut Socket,
    tag: &str,
    in_a_row: usize,
    quick: Duration,
) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut quick_ones = 0;
    let mut n = 0;
    while quick_ones < in_a_row {
        assert!(
            Instant::now() < deadline,
            "{tag}: messages do not cross nodes live"
        );
        n += 1;
        let text = format!("{tag}-{n}");
        from.send_message(conversation, &text, &text).await.unwrap();
        let took = until_message(socket, &text, Duration::from_secs(5)).await;
        quick_ones = if took < quick { quick_ones + 1 } else { 0 };
    }
    n
}

/// How long NATS is wholly down in the outage test: `PIAZZA_NATS_OUTAGE_S`
/// (30 for the figure), 3 in CI.
fn nats_outage() -> Duration {
    let seconds = std::env::var("PIAZZA_NATS_OUTAGE_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    Duration::from_secs(seconds)
}

#[tokio::test]
async fn nats_servers_lost_under_load_lose_nothing_and_live_delivery_returns() {
    let mut nats = NatsCluster::start(3).await;
    let storm = Storm::start(&nats).await;
    let outage = nats_outage();
    // Each member sends every 20 ms, from before the first loss to after
    // the whole cluster is back.
    let pause = Duration::from_millis(20);
    let sends = ((outage + Duration::from_secs(4)).as_millis() / pause.as_millis()) as usize;
    let (senders, readers) = storm.rage(Load { sends, pause }).await;

    // One NATS server dies: the nodes on it move to the others, and
    // messages still cross nodes by the bus, not only by catch-ups.
    tokio::time::sleep(Duration::from_millis(500)).await;
    nats.kill(0);
    live_across(&storm, "one-down").await;
    // Then the whole of NATS, for the outage.
    tokio::time::sleep(Duration::from_millis(500)).await;
    nats.kill_all();
    eprintln!("NATS wholly down for {outage:?}");
    tokio::time::sleep(outage).await;
    nats.start_all().await;
    let reconnects = storm.settle(senders, readers).await;
    assert!(
        reconnects.is_empty(),
        "no device lost its socket: {reconnects:?}"
    );

    live_across(&storm, "after").await;
}

#[tokio::test]
async fn a_node_cut_off_from_nats_but_not_the_database_keeps_its_devices_converging() {
    let nats = NatsCluster::start(1).await;
    let database = TestDatabase::create();
    let partition = partition::Cut::prepare(nats.servers[0].port, &database.url).await;
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let urls = nats.urls_from(0);
    let nodes = [
        start_server_process_on_database(dirs[0].path(), &database.url, &["--nats-url", &urls])
            .await,
        partition.start_node(dirs[1].path(), &database.url).await,
    ];
    let anonymous = Client::new(&nodes[0].base);
    let mut ids = Vec::new();
    for name in ["ann", "bob"] {
        ids.push(
            anonymous
                .create_account(name, PASSWORD, None)
                .await
                .unwrap()
                .account_id,
        );
    }
    let ann = device(&nodes[0], "ann", &ids[0]).await;
    let bob = device(&nodes[1], "bob", &ids[1]).await;
    let request = ann.client.request_contact("bob", None).await.unwrap();
    bob.client.accept_request(&request).await.unwrap();
    let direct = ann.client.open_direct(&ids[1]).await.unwrap();
    let (mut ann_socket, _) = live_socket(&ann).await;
    let (mut bob_socket, _) = live_socket(&bob).await;
    send(&ann, &direct, "before").await;
    assert_eq!(
        next_message(&mut bob_socket, Duration::from_secs(2))
            .await
            .0,
        "before"
    );

    // Node 1 is cut off from NATS, silently; both still reach the database.
    partition.cut();
    let cut = Instant::now();
    // What node 0 commits reaches node 1's device (node 1 gives up its
    // silent bus within seconds and reads the store once a second)...
    send(&ann, &direct, "to the island").await;
    let took = until_message(&mut bob_socket, "to the island", Duration::from_secs(15)).await;
    eprintln!("node 0 → cut-off node 1: {took:?}");
    // ...and what node 1 commits reaches node 0's device (node 0 hears
    // node 1 no more, and reads the store once a second for a while).
    send(&bob, &direct, "from the island").await;
    let took = until_message(&mut ann_socket, "from the island", Duration::from_secs(15)).await;
    eprintln!("cut-off node 1 → node 0: {took:?}");
    // Later messages too, while the partition lasts (node 0 reads the
    // store once a second from when it has not heard node 1 for 6 s).
    let mut presence = Vec::new();
    for n in 0..3 {
        let from_bob = format!("still cut off {n} bob");
        send(&bob, &direct, &from_bob).await;
        until_message_noting(
            &mut ann_socket,
            &from_bob,
            Duration::from_secs(12),
            &mut presence,
        )
        .await;
        let from_ann = format!("still cut off {n} ann");
        send(&ann, &direct, &from_ann).await;
        until_message(&mut bob_socket, &from_ann, Duration::from_secs(12)).await;
    }
    eprintln!("converging {:?} into the partition", cut.elapsed());

    // Node 0 has long stopped hearing node 1, so ann is told bob went
    // offline; the partition heals, node 1 is heard again, and ann is
    // told bob is online, and messages cross by the bus again.
    if !presence.contains(&false) {
        next_presence(&mut ann_socket, false, Duration::from_secs(10)).await;
    }
    partition.mend();
    let mended = Instant::now();
    next_presence(&mut ann_socket, true, Duration::from_secs(15)).await;
    eprintln!(
        "bob online again {:?} after the partition healed",
        mended.elapsed()
    );
    let quick = Duration::from_millis(300);
    crosses_live(&bob.client, &direct, &mut ann_socket, "healed", 3, quick).await;
}

/// Wrong passwords from one address, spread over three nodes, share one
/// count (the news crosses the bus): the eleventh is refused on every
/// node, where each node alone would have allowed ten.
#[tokio::test]
async fn wrong_passwords_spread_over_nodes_share_one_limit() {
    let nats = NatsCluster::start(1).await;
    let database = TestDatabase::create();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let urls = nats.urls_from(0);
    let mut nodes = Vec::new();
    for dir in &dirs {
        let args = ["--nats-url", urls.as_str()];
        nodes.push(start_server_process_on_database(dir.path(), &database.url, &args).await);
    }
    let clients: Vec<Client> = nodes.iter().map(|node| Client::new(&node.base)).collect();
    clients[0]
        .create_account("ann", PASSWORD, None)
        .await
        .unwrap();
    // Every node on the bus: each has told its holdings.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cluster_status(&urls, &database.url)
        .await
        .1
        .contains("nodes alive: 3")
    {
        assert!(
            Instant::now() < deadline,
            "the nodes never all joined the bus"
        );
    }
    for n in 0..10 {
        let refused = clients[n % 3].login("ann", "wrong-password", "guess").await;
        let status = refused.err().and_then(|error| error.status());
        assert_eq!(status, Some(401), "guess {n} is checked");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for client in &clients {
        let refused = client
            .login("ann", "wrong-password", "guess")
            .await
            .unwrap_err();
        assert_eq!(refused.status(), Some(429), "{refused}");
        assert_eq!(refused.code(), Some("too_many_login_attempts"));
    }
}

/// Deleting an account and taking one's data away, across two nodes: an
/// account deleted through one node is signed out on the other at once,
/// its socket there closed, and shown deleted to a contact there; an
/// export asked for on one node, its link made there, downloads whole
/// from the other.
#[tokio::test]
async fn deleting_and_exporting_cross_nodes() {
    let nats = NatsCluster::start(1).await;
    let database = TestDatabase::create();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let urls = nats.urls_from(0);
    let mut nodes = Vec::new();
    for dir in &dirs {
        let args = ["--nats-url", urls.as_str()];
        nodes.push(start_server_process_on_database(dir.path(), &database.url, &args).await);
    }
    let anonymous = Client::new(&nodes[0].base);
    let mut ids = Vec::new();
    for name in ["ann", "bob"] {
        ids.push(
            anonymous
                .create_account(name, PASSWORD, None)
                .await
                .unwrap()
                .account_id,
        );
    }
    let ann_there = device(&nodes[1], "ann", &ids[0]).await;
    let bob_here = device(&nodes[0], "bob", &ids[1]).await;
    let bob_there = device(&nodes[1], "bob", &ids[1]).await;
    let chat = crate::helpers::befriend(&ann_there, &bob_here).await;
    send(&bob_here, &chat, "before I go").await;

    // The export: asked for and linked on one node, downloaded from the other.
    let asked = bob_here.client.start_export().await.unwrap();
    let link = bob_here.client.export_link(&asked.export_id).await.unwrap();
    let zip = reqwest::get(format!("{}{}", nodes[1].base, link.url))
        .await
        .unwrap();
    assert_eq!(zip.status(), 200);
    let files = crate::exports::files(&zip.bytes().await.unwrap());
    let events = String::from_utf8(files["events.jsonl"].clone()).unwrap();
    assert!(events.contains("before I go"));

    // Deleted through node 0: its device on node 1 is signed out, its
    // socket there closed as signed out, within seconds.
    let (mut socket, _) = live_socket(&bob_there).await;
    bob_here.client.delete_account(PASSWORD).await.unwrap();
    let closed = close_code(&mut socket).await;
    assert_eq!(closed, 4001);
    let refused = bob_there.client.me().await.unwrap_err();
    assert_eq!(refused.status(), Some(401));
    let seen = ann_there.client.profile(&ids[1]).await.unwrap();
    assert_eq!(seen.display_name, "Deleted account");
    assert_ne!(seen.username, "bob");
}
