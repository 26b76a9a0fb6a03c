//! Piazza Pay's durability promise: `kill -9` during a storm of transfers,
//! red packets, claims and merchant payments loses no acknowledged
//! operation and repeats none. The real binary runs as a child process;
//! every answer the storm got is written down, and after the last restart
//! the wallets, statements, packets and transfers must account for each
//! acknowledged operation exactly once, a replay of any of them must
//! answer as the first time without moving money, and `ledger-check`
//! must pass — also over the data left by each kill, before the restart.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use piazza_client::{Client, RawResponse};
use piazza_domain::ledger::OperationKind;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::helpers::*;
use crate::wallet::{PIN, call};

/// Seeds the kill moments and the storm's amounts and decisions.
const SEED: u64 = 0x9a7_c0ffee;
const KILLS: usize = 3;
/// Acknowledged operations between two kills: the kill lands somewhere
/// in this range, drawn from [`SEED`].
const ACKS_BETWEEN_KILLS: std::ops::Range<usize> = 150..450;
/// The longest a round may take to reach its kill.
const ROUND_PATIENCE: Duration = Duration::from_secs(60);
/// The storm's accounts; all are contacts of one another and in one group.
const USERS: [&str; 4] = ["ann", "bob", "cat", "dan"];
/// Who pays the merchant during the storm.
const PAYERS: [usize; 2] = [0, 2];
/// What each storm account is topped up with, in minor units: far more
/// than the storm spends, so no send is refused for want of money.
const FUND_MINOR: i64 = 10_000_000;
const SHARES: usize = 3;

/// Like `wallet::call`, but a request the server never answered (it was
/// killed) is `None` rather than a panic.
async fn try_call(
    client: &Client,
    method: Method,
    path: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> Option<(u16, Value)> {
    let headers: Vec<(&str, &str)> = key
        .map(|key| ("Idempotency-Key", key))
        .into_iter()
        .collect();
    let body = body.map(|body| body.to_string().into_bytes());
    let content_type = body.as_ref().map(|_| "application/json");
    let RawResponse { status, body, .. } = client
        .raw_with_headers(method, path, body, content_type, &headers)
        .await
        .ok()?;
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).expect("a JSON answer")
    };
    Some((status, body))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Transfer { to: usize },
    Packet,
    Payment,
}

/// A money movement sent with an idempotency key: all it takes to send
/// it again.
#[derive(Debug, Clone)]
struct Op {
    user: usize,
    kind: Kind,
    amount: i64,
    path: &'static str,
    body: Value,
    key: String,
}

impl Op {
    fn id(answer: &Value, kind: Kind) -> String {
        let field = match kind {
            Kind::Transfer { .. } => "transfer_id",
            Kind::Packet => "red_packet_id",
            Kind::Payment => "payment_id",
        };
        answer[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {answer}"))
            .to_owned()
    }
}

/// Everything the storm was told, across all rounds.
#[derive(Default)]
struct Book {
    /// Keyed sends answered 201, with the answer, and the round they were
    /// sent in.
    acked: Vec<(Op, (u16, Value), usize)>,
    /// Keyed sends the server never answered: they may or may not be
    /// stored, and are retried with the same key after the restart.
    uncertain: Vec<Op>,
    /// Accepts and declines answered 200: transfer id → status.
    decided: HashMap<String, String>,
    /// Transfers waiting for (or whose decision never got) an answer:
    /// transfer id, recipient, `accept` or `decline`.
    to_decide: VecDeque<(String, usize, &'static str)>,
    /// Claims answered 200: (packet, claimer) → share.
    claims: HashMap<(String, usize), i64>,
    /// Acknowledgements so far, and how many end the round.
    acks: usize,
    kill_at: usize,
}

impl Book {
    fn ack(&mut self, enough: &Notify) {
        self.acks += 1;
        if self.acks == self.kill_at {
            enough.notify_one();
        }
    }
}

/// The status a transfer has once `decision` was made.
fn decided(decision: &str) -> &'static str {
    match decision {
        "accept" => "accepted",
        _ => "declined",
    }
}

/// What every storm task shares.
#[derive(Clone)]
struct Storm {
    clients: Arc<Vec<Client>>,
    ids: Arc<Vec<String>>,
    group: Arc<String>,
    payload: Arc<String>,
    book: Arc<Mutex<Book>>,
    enough: Arc<Notify>,
    killed: Arc<AtomicBool>,
    round: usize,
}

impl Storm {
    /// Sends a keyed operation and writes down what became of it: the
    /// answer's body, or `None` once the server stopped answering.
    async fn send(&self, op: Op) -> Option<Value> {
        let answer = try_call(
            &self.clients[op.user],
            Method::POST,
            op.path,
            Some(&op.body),
            Some(&op.key),
        )
        .await;
        let mut book = self.book.lock().unwrap();
        match answer {
            Some(answer) if answer.0 == 201 => {
                let body = answer.1.clone();
                book.acked.push((op, answer, self.round));
                book.ack(&self.enough);
                Some(body)
            }
            Some(answer) => panic!("{} {} was refused: {answer:?}", op.path, op.key),
            None => {
                book.uncertain.push(op);
                None
            }
        }
    }

    /// One sender: transfers to the others in turn.
    async fn transfers(self, user: usize) {
        let mut rng = StdRng::seed_from_u64(SEED ^ (self.round * 16 + user) as u64);
        for n in 0.. {
            let to = (user + 1 + n % (USERS.len() - 1)) % USERS.len();
            let amount = rng.random_range(1..=500);
            let op = Op {
                user,
                kind: Kind::Transfer { to },
                amount,
                path: "/api/v1/transfers",
                body: json!({ "to": self.ids[to], "amount_minor": amount, "pin": PIN, "note": "storm" }),
                key: format!("r{}-t{user}-{n}", self.round),
            };
            let Some(answer) = self.send(op).await else {
                return;
            };
            let decision = if rng.random_range(0..10) < 7 {
                "accept"
            } else {
                "decline"
            };
            let id = Op::id(&answer, Kind::Transfer { to });
            self.book
                .lock()
                .unwrap()
                .to_decide
                .push_back((id, to, decision));
        }
    }

    /// The recipients' side: accepts and declines whatever arrived.
    async fn decisions(self) {
        while !self.killed.load(Ordering::SeqCst) {
            let next = self.book.lock().unwrap().to_decide.pop_front();
            let Some((id, to, decision)) = next else {
                tokio::time::sleep(Duration::from_millis(2)).await;
                continue;
            };
            let path = format!("/api/v1/transfers/{id}/{decision}");
            let answer = try_call(&self.clients[to], Method::POST, &path, None, None).await;
            let mut book = self.book.lock().unwrap();
            match answer {
                Some((200, body)) => {
                    assert_eq!(body["status"], decided(decision), "{path}");
                    book.decided.insert(id, decided(decision).to_owned());
                    book.ack(&self.enough);
                }
                Some(answer) => panic!("{path} was refused: {answer:?}"),
                None => {
                    // Maybe decided, maybe not: decided again after the restart.
                    book.to_decide.push_front((id, to, decision));
                    return;
                }
            }
        }
    }

    /// Red packets into the group, each claimed at once by the three who
    /// did not send it.
    async fn packets(self) {
        let mut rng = StdRng::seed_from_u64(SEED ^ (self.round * 16 + 8) as u64);
        for n in 0.. {
            let user = n % USERS.len();
            let total = rng.random_range(SHARES as i64..=3_000);
            let op = Op {
                user,
                kind: Kind::Packet,
                amount: total,
                path: "/api/v1/red-packets",
                body: json!({
                    "conversation_id": *self.group, "total_minor": total, "count": SHARES,
                    "mode": "lucky", "pin": PIN, "greeting": "storm",
                }),
                key: format!("r{}-p{n}", self.round),
            };
            let Some(answer) = self.send(op).await else {
                return;
            };
            let packet = Op::id(&answer, Kind::Packet);
            let claimers = (0..USERS.len()).filter(|claimer| *claimer != user);
            let path = format!("/api/v1/red-packets/{packet}/claim");
            let (clients, path) = (&self.clients, &path);
            let answers = join_all(claimers.map(|claimer| async move {
                let answer = try_call(&clients[claimer], Method::POST, path, None, None).await;
                (claimer, answer)
            }))
            .await;
            let mut book = self.book.lock().unwrap();
            let mut lost = false;
            for (claimer, answer) in answers {
                match answer {
                    Some((200, body)) => {
                        let share = body["amount_minor"].as_i64().expect("a share");
                        assert!(share >= 1, "{path}: {body}");
                        book.claims.insert((packet.clone(), claimer), share);
                        book.ack(&self.enough);
                    }
                    Some(answer) => panic!("{path} was refused: {answer:?}"),
                    None => lost = true,
                }
            }
            if lost {
                return;
            }
        }
    }

    /// One buyer paying the merchant by its static code.
    async fn payments(self, user: usize) {
        let mut rng = StdRng::seed_from_u64(SEED ^ (self.round * 16 + 12 + user) as u64);
        for n in 0.. {
            let amount = rng.random_range(1..=800);
            let op = Op {
                user,
                kind: Kind::Payment,
                amount,
                path: "/api/v1/payments",
                body: json!({ "qr_payload": *self.payload, "amount_minor": amount, "pin": PIN }),
                key: format!("r{}-m{user}-{n}", self.round),
            };
            if self.send(op).await.is_none() {
                return;
            }
        }
    }
}

fn clients(base: &str, tokens: &[String]) -> Arc<Vec<Client>> {
    Arc::new(
        tokens
            .iter()
            .map(|token| Client::new(base).with_token(token.clone()))
            .collect(),
    )
}

async fn ok(client: &Client, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, body) = call(client, method, path, body, None).await;
    assert!((200..300).contains(&status), "{path}: {status} {body}");
    body
}

/// Every balance that money can move between: the storm's wallets and
/// the merchant's settlement account.
async fn balances(clients: &[Client], shop: &Client, merchant: &str) -> Vec<i64> {
    let mut all = Vec::new();
    for client in clients {
        all.push(
            ok(client, Method::GET, "/api/v1/wallet", None).await["balance_minor"]
                .as_i64()
                .unwrap(),
        );
    }
    let path = format!("/api/v1/merchants/{merchant}");
    all.push(
        ok(shop, Method::GET, &path, None).await["balance_minor"]
            .as_i64()
            .unwrap(),
    );
    all
}

#[tokio::test]
async fn kill_9_during_a_payment_storm_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut server = start_server_process(&data_dir, &["--sandbox-payments"]).await;
    let mut rng = StdRng::seed_from_u64(SEED);

    // The storm's accounts, each with a PIN, money, every other as a
    // contact, all in one group; and a merchant owned by a fifth.
    let anonymous = Client::new(&server.base);
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for name in USERS.iter().chain(&["shop"]) {
        anonymous
            .create_account(name, PASSWORD, None)
            .await
            .unwrap();
        let session = anonymous.login(name, PASSWORD, "storm").await.unwrap();
        tokens.push(session.token);
        ids.push(session.account_id);
    }
    let shop_token = tokens.pop().unwrap();
    ids.pop();
    let users = clients(&server.base, &tokens);
    for (index, client) in users.iter().enumerate() {
        let pin = json!({ "pin": PIN, "password": PASSWORD });
        ok(client, Method::PUT, "/api/v1/wallet/pin", Some(pin)).await;
        let (status, body) = call(
            client,
            Method::POST,
            "/api/v1/wallet/topups",
            Some(json!({ "amount_minor": FUND_MINOR })),
            Some("fund"),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        for (other, name) in USERS.iter().enumerate().skip(index + 1) {
            let request = client.request_contact(name, None).await.unwrap();
            users[other].accept_request(&request).await.unwrap();
        }
    }
    let group = users[0]
        .create_group("storm", &ids[1..])
        .await
        .expect("group created");
    let shop = Client::new(&server.base).with_token(shop_token.clone());
    let merchant = ok(
        &shop,
        Method::POST,
        "/api/v1/merchants",
        Some(json!({ "name": "Night Market", "city": "Taipei" })),
    )
    .await["merchant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let qr_path = format!("/api/v1/merchants/{merchant}/qr?format=payload");
    let payload = ok(&shop, Method::GET, &qr_path, None).await["payload"]
        .as_str()
        .unwrap()
        .to_owned();

    let book: Arc<Mutex<Book>> = Arc::default();
    let (ids, group, payload) = (Arc::new(ids), Arc::new(group), Arc::new(payload));
    for round in 0..KILLS {
        let storm = Storm {
            clients: clients(&server.base, &tokens),
            ids: Arc::clone(&ids),
            group: Arc::clone(&group),
            payload: Arc::clone(&payload),
            book: Arc::clone(&book),
            enough: Arc::new(Notify::new()),
            killed: Arc::new(AtomicBool::new(false)),
            round,
        };
        {
            let mut book = book.lock().unwrap();
            book.kill_at = book.acks + rng.random_range(ACKS_BETWEEN_KILLS);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for user in 0..USERS.len() {
            tasks.spawn(storm.clone().transfers(user));
        }
        for user in PAYERS {
            tasks.spawn(storm.clone().payments(user));
        }
        tasks.spawn(storm.clone().packets());
        // Two deciders, so decisions race each other as well as the sends.
        tasks.spawn(storm.clone().decisions());
        tasks.spawn(storm.clone().decisions());
        // Until enough was acknowledged; a storm task that fails fails the
        // test now rather than at the timeout.
        let progress = async {
            tokio::select! {
                () = storm.enough.notified() => {}
                Some(ended) = tasks.join_next() => match ended {
                    Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                    other => panic!("a storm task ended before the kill: {other:?}"),
                },
            }
        };
        tokio::time::timeout(ROUND_PATIENCE, progress)
            .await
            .expect("the storm makes progress");
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..20))).await;
        server.child.start_kill().unwrap(); // SIGKILL
        server.child.wait().await.unwrap();
        storm.killed.store(true, Ordering::SeqCst);
        tasks.join_all().await;
        // What the kill left behind balances before any recovery runs.
        admin_check_passes("ledger-check", &data_dir);
        server = start_server_process(&data_dir, &["--sandbox-payments"]).await;
    }

    // The load has stopped; the last server runs on the same data.
    let users = clients(&server.base, &tokens);
    let shop = Client::new(&server.base).with_token(shop_token);
    let mut book = std::mem::take(&mut *book.lock().unwrap());
    let uncertain = std::mem::take(&mut book.uncertain);
    let acked_before_retries = book.acked.len();
    eprintln!(
        "payment storm: {} sends, {} decisions and {} claims acknowledged over {KILLS} kills; \
         {} sends were in flight at a kill, {} transfers were left to decide",
        acked_before_retries,
        book.decided.len(),
        book.claims.len(),
        uncertain.len(),
        book.to_decide.len(),
    );
    assert!(
        acked_before_retries >= KILLS * ACKS_BETWEEN_KILLS.start / 2,
        "the storm did something: {acked_before_retries}"
    );
    // In flight at a kill: retried with the same key and body, each is
    // stored now, and a second retry replays the first. A retry either
    // finds the send already stored (the answer was lost, the money had
    // moved) or stores it now: nothing in between, nothing twice.
    let mut stored_before_the_kill = 0;
    for op in &uncertain {
        let client = &users[op.user];
        let wallet = |client| async move {
            ok(client, Method::GET, "/api/v1/wallet", None).await["balance_minor"]
                .as_i64()
                .unwrap()
        };
        let before = wallet(client).await;
        let retried = call(
            client,
            Method::POST,
            op.path,
            Some(op.body.clone()),
            Some(&op.key),
        )
        .await;
        assert_eq!(retried.0, 201, "{} {}: {}", op.path, op.key, retried.1);
        let again = call(
            client,
            Method::POST,
            op.path,
            Some(op.body.clone()),
            Some(&op.key),
        )
        .await;
        assert_eq!(again, retried, "{} {}", op.path, op.key);
        match before - wallet(client).await {
            0 => stored_before_the_kill += 1,
            moved => assert_eq!(moved, op.amount, "{} {}", op.path, op.key),
        }
        book.acked.push((op.clone(), retried, KILLS));
    }
    eprintln!(
        "payment storm: of {} sends in flight at a kill, {stored_before_the_kill} had been stored",
        uncertain.len()
    );

    // Every acknowledged operation has its own id: two keys never made
    // one, and one key never made two.
    let mut seen_ids = HashSet::new();
    for (op, answer, _) in &book.acked {
        let id = Op::id(&answer.1, op.kind);
        assert!(seen_ids.insert(id.clone()), "{id} answered two keys");
    }

    // Transfers: each is there with its amount and ends, once, as decided.
    let pending: HashMap<String, (usize, &str)> = book
        .to_decide
        .iter()
        .map(|(id, to, decision)| (id.clone(), (*to, *decision)))
        .collect();
    let mut statuses: HashMap<String, String> = HashMap::new();
    for (op, answer, _) in &book.acked {
        let Kind::Transfer { to } = op.kind else {
            continue;
        };
        let id = Op::id(&answer.1, op.kind);
        let path = format!("/api/v1/transfers/{id}");
        let seen = ok(&users[op.user], Method::GET, &path, None).await;
        assert_eq!(seen["amount_minor"], op.amount, "{path}");
        assert_eq!(seen["from"], ids[op.user].as_str(), "{path}");
        assert_eq!(seen["to"], ids[to].as_str(), "{path}");
        let status = match book.decided.get(&id) {
            Some(decided) => {
                assert_eq!(&seen["status"], decided, "{path}: the decision stuck");
                decided.clone()
            }
            None => {
                // Never decided, or decided with no answer: (re)decide now.
                let decision = pending.get(&id).map_or("accept", |(_, decision)| decision);
                let path = format!("/api/v1/transfers/{id}/{decision}");
                let answer = ok(&users[to], Method::POST, &path, None).await;
                assert_eq!(answer["status"], decided(decision), "{path}");
                decided(decision).to_owned()
            }
        };
        statuses.insert(id, status);
    }

    // Red packets: every share claimed once, each acknowledged claim
    // among them with its amount, the total paid out exactly.
    for (op, answer, _) in &book.acked {
        if op.kind != Kind::Packet {
            continue;
        }
        let packet = Op::id(&answer.1, op.kind);
        let path = format!("/api/v1/red-packets/{packet}/claim");
        for claimer in (0..USERS.len()).filter(|claimer| *claimer != op.user) {
            let share = ok(&users[claimer], Method::POST, &path, None).await["amount_minor"]
                .as_i64()
                .unwrap();
            let acked = book
                .claims
                .entry((packet.clone(), claimer))
                .or_insert(share);
            assert_eq!(*acked, share, "{path}: an acknowledged share changed");
        }
        let view = ok(
            &users[op.user],
            Method::GET,
            &format!("/api/v1/red-packets/{packet}"),
            None,
        )
        .await;
        let claims = view["claims"].as_array().unwrap();
        assert_eq!(claims.len(), SHARES, "{view}");
        let mut total = 0;
        for claim in claims {
            let claimer = ids
                .iter()
                .position(|id| claim["account_id"] == id.as_str())
                .unwrap_or_else(|| panic!("a claim by a stranger: {view}"));
            let share = claim["amount_minor"].as_i64().unwrap();
            assert_eq!(book.claims[&(packet.clone(), claimer)], share, "{view}");
            total += share;
        }
        assert_eq!(total, op.amount, "{packet} pays out its total exactly");
        assert_eq!(view["remaining_shares"], 0, "{view}");
    }

    // The statements hold each of those operations once, and nothing else.
    let mut expected: Vec<BTreeMap<&str, Vec<i64>>> =
        vec![BTreeMap::from([("topup", vec![FUND_MINOR])]); USERS.len()];
    let mut paid_to_merchant = 0;
    for (op, answer, _) in &book.acked {
        match op.kind {
            Kind::Transfer { to } => {
                let lines = &mut expected[op.user];
                lines.entry("transfer_sent").or_default().push(-op.amount);
                let id = Op::id(&answer.1, op.kind);
                if statuses[&id] == "accepted" {
                    expected[to]
                        .entry("transfer_accepted")
                        .or_default()
                        .push(op.amount);
                } else {
                    lines
                        .entry("transfer_declined")
                        .or_default()
                        .push(op.amount);
                }
            }
            Kind::Packet => expected[op.user]
                .entry("red_packet_created")
                .or_default()
                .push(-op.amount),
            Kind::Payment => {
                paid_to_merchant += op.amount;
                expected[op.user]
                    .entry("merchant_payment")
                    .or_default()
                    .push(-op.amount);
            }
        }
    }
    for ((_, claimer), share) in &book.claims {
        expected[*claimer]
            .entry("red_packet_claimed")
            .or_default()
            .push(*share);
    }
    let before_replays = balances(&users, &shop, &merchant).await;
    assert_eq!(
        before_replays[USERS.len()],
        paid_to_merchant,
        "the merchant's takings"
    );
    for (user, mut lines) in expected.into_iter().enumerate() {
        let entries = statement_entries(&users[user]).await;
        let mut found: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        let mut after = 0;
        for entry in entries.iter().rev() {
            let amount = entry["amount_minor"].as_i64().unwrap();
            let kind = OperationKind::ALL
                .into_iter()
                .map(OperationKind::as_str)
                .find(|kind| entry["kind"] == *kind)
                .unwrap_or_else(|| panic!("a line of no known kind: {entry}"));
            found.entry(kind).or_default().push(amount);
            after += amount;
            assert_eq!(entry["balance_after_minor"], after, "{entry}");
            assert!(after >= 0, "{} went negative: {entry}", USERS[user]);
        }
        for amounts in lines.values_mut().chain(found.values_mut()) {
            amounts.sort_unstable();
        }
        assert_eq!(found, lines, "{}'s statement", USERS[user]);
        assert_eq!(after, before_replays[user], "{}'s balance", USERS[user]);
    }

    // Replays after the crashes: every acknowledged send, with its key and
    // body, answers as it did the first time and moves nothing.
    for (op, first, _) in &book.acked {
        let again = call(
            &users[op.user],
            Method::POST,
            op.path,
            Some(op.body.clone()),
            Some(&op.key),
        )
        .await;
        assert_eq!(&again, first, "{} {} replayed", op.path, op.key);
    }
    // The same keys with another body are refused, and move nothing.
    for kind in [Kind::Transfer { to: 1 }, Kind::Packet, Kind::Payment] {
        let (op, _, _) = book
            .acked
            .iter()
            .find(|(op, _, round)| {
                *round == 0 && std::mem::discriminant(&op.kind) == std::mem::discriminant(&kind)
            })
            .unwrap_or_else(|| panic!("no {kind:?} in the first round"));
        let mut body = op.body.clone();
        let field = if kind == Kind::Packet {
            "total_minor"
        } else {
            "amount_minor"
        };
        body[field] = json!(op.amount + 1);
        let reused = call(
            &users[op.user],
            Method::POST,
            op.path,
            Some(body),
            Some(&op.key),
        )
        .await;
        assert_eq!(reused.0, 422, "{} {}: {}", op.path, op.key, reused.1);
        assert_eq!(reused.1["code"], "idempotency_key_reused", "{}", reused.1);
    }
    assert_eq!(
        balances(&users, &shop, &merchant).await,
        before_replays,
        "replays moved money"
    );

    // A graceful stop, then the offline checkers agree.
    let pid = server.child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(
        server.child.wait().await.unwrap().success(),
        "SIGTERM stops it cleanly"
    );
    admin_check_passes("ledger-check", &data_dir);
    admin_check_passes("check", &data_dir);
}
