//! Piazza Pay under contention: two hundred members racing for red
//! packets, spenders racing for the last of a balance, and one
//! idempotency key sent many times at once. Each race is judged by the
//! answers, then by the wallets and statements, then by `ledger-check`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use piazza_client::Client;
use piazza_domain::limits::GROUP_MEMBERS_MAX;
use piazza_domain::red_packet::RED_PACKET_SHARES_MAX;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::{Barrier, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::helpers::*;
use crate::wallet::{
    PIN, assert_code, assert_ledger_sound, balance, call, sandbox, set_pin, top_up,
};

/// Members racing for the packets: twice what one packet can hold, so
/// half of them must be turned away from each.
const CLAIMERS: usize = 200;
// The owner and every claimer fit in one group (500 members at most), so
// all 200 race for the same packets rather than for several smaller ones.
const _: () = assert!(CLAIMERS < GROUP_MEMBERS_MAX);
/// Sign-ups and contact requests in flight at once while building the crowd.
const SETUP_IN_FLIGHT: usize = 16;
/// The server's default cap on one red packet's total.
fn red_packet_total_max_minor() -> i64 {
    piazza_server::config::Limits::default().red_packet_total_max_minor
}
/// What the packet sender starts with, in minor units.
const FUND_MINOR: i64 = 1_000_000;

/// Signs `username` up and makes them a contact of `owner`.
async fn join_crowd(anonymous: Client, owner: User, username: String) -> User {
    anonymous
        .create_account(&username, PASSWORD, None)
        .await
        .expect("account created");
    let session = anonymous
        .login(&username, PASSWORD, "first device")
        .await
        .expect("logged in");
    let member = User {
        account_id: session.account_id,
        username,
        device_id: session.device_id,
        client: anonymous.with_token(session.token),
    };
    befriend(&owner, &member).await;
    member
}

/// `owner` with a PIN and [`FUND_MINOR`], in one group with `size` members
/// who are all the owner's contacts.
async fn crowd(app: &TestApp, size: usize) -> (User, Vec<User>, String) {
    let owner = app.signup("owner").await;
    set_pin(&owner).await;
    let funded = top_up(&owner, FUND_MINOR, "fund").await;
    assert_eq!(funded.0, 201, "{}", funded.1);
    let gate = Arc::new(Semaphore::new(SETUP_IN_FLIGHT));
    let mut joining = JoinSet::new();
    for index in 0..size {
        let (anonymous, owner, gate) = (app.anonymous(), owner.clone(), Arc::clone(&gate));
        joining.spawn(async move {
            let _permit = gate.acquire().await.expect("the gate stays open");
            (
                index,
                join_crowd(anonymous, owner, format!("member{index}")).await,
            )
        });
    }
    let mut members: Vec<(usize, User)> = joining.join_all().await.into_iter().collect::<Vec<_>>();
    members.sort_by_key(|(index, _)| *index);
    let members: Vec<User> = members.into_iter().map(|(_, member)| member).collect();
    let ids: Vec<String> = members.iter().map(|m| m.account_id.clone()).collect();
    let conversation = owner
        .client
        .create_group("Crowd", &ids)
        .await
        .expect("group created");
    (owner, members, conversation)
}

async fn send_packet(
    owner: &User,
    conversation: &str,
    total: i64,
    count: u32,
    mode: &str,
) -> String {
    let answer = call(
        &owner.client,
        Method::POST,
        "/api/v1/red-packets",
        Some(json!({
            "conversation_id": conversation,
            "total_minor": total,
            "count": count,
            "mode": mode,
            "pin": PIN,
        })),
        Some(&format!("packet-{mode}-{total}-{count}")),
    )
    .await;
    assert_eq!(answer.0, 201, "{}", answer.1);
    answer.1["red_packet_id"].as_str().unwrap().to_owned()
}

async fn claim(user: &User, packet: &str) -> (u16, Value) {
    call(
        &user.client,
        Method::POST,
        &format!("/api/v1/red-packets/{packet}/claim"),
        None,
        None,
    )
    .await
}

/// Every user claims every packet, all released at one moment by a
/// barrier once each has its connection open. Answers by user, then by
/// packet.
async fn claim_race(users: &[User], packets: &[String]) -> Vec<Vec<(u16, Value)>> {
    let barrier = Arc::new(Barrier::new(users.len()));
    let mut racers = JoinSet::new();
    for (index, user) in users.iter().cloned().enumerate() {
        let barrier = Arc::clone(&barrier);
        let packets = packets.to_vec();
        racers.spawn(async move {
            balance(&user).await; // the connection is open before the race
            barrier.wait().await;
            let answers = join_all(packets.iter().map(|packet| claim(&user, packet))).await;
            (index, answers)
        });
    }
    let mut answers = vec![Vec::new(); users.len()];
    for (index, got) in racers.join_all().await {
        answers[index] = got;
    }
    answers
}

/// The amounts of the statement lines of one kind, sorted.
fn amounts_of(entries: &[Value], kind: &str) -> Vec<i64> {
    let mut amounts: Vec<i64> = entries
        .iter()
        .filter(|entry| entry["kind"] == kind)
        .map(|entry| entry["amount_minor"].as_i64().expect("an integer amount"))
        .collect();
    amounts.sort_unstable();
    amounts
}

/// Newest first, each line's balance is the previous line's plus its
/// amount, never below zero, and the newest one is the wallet's balance.
fn assert_statement_adds_up(entries: &[Value], balance: i64) {
    let mut after = 0;
    for entry in entries.iter().rev() {
        after += entry["amount_minor"].as_i64().unwrap();
        assert_eq!(entry["balance_after_minor"], after, "{entry}");
        assert!(after >= 0, "the wallet went negative: {entry}");
    }
    assert_eq!(after, balance);
}

#[tokio::test]
async fn two_hundred_members_racing_for_packets_never_over_claim_or_under_pay() {
    let mut app = sandbox().await;
    let (owner, members, conversation) = crowd(&app, CLAIMERS).await;
    // A full lucky packet, a full equal one, and one with exactly a minor
    // unit per share, so no draw has anything to spare.
    let specs: [(i64, u32, &str); 3] = [
        (red_packet_total_max_minor(), RED_PACKET_SHARES_MAX, "lucky"),
        (10_000, RED_PACKET_SHARES_MAX, "equal"),
        (7, 7, "lucky"),
    ];
    let mut packets = Vec::new();
    for (total, count, mode) in specs {
        packets.push(send_packet(&owner, &conversation, total, count, mode).await);
    }
    let sent: i64 = specs.iter().map(|(total, _, _)| total).sum();
    assert_eq!(balance(&owner).await, FUND_MINOR - sent);

    let answers = claim_race(&members, &packets).await;

    let mut won: HashMap<&str, Vec<i64>> = HashMap::new();
    for (index, (packet, (total, count, mode))) in packets.iter().zip(specs).enumerate() {
        let mut shares: HashMap<String, i64> = HashMap::new();
        for (member, answers) in members.iter().zip(&answers) {
            let answer = &answers[index];
            if answer.0 == 200 {
                let amount = answer.1["amount_minor"].as_i64().expect("a share");
                assert!(amount >= 1, "no one gets zero: {packet}");
                if mode == "equal" {
                    assert_eq!(amount, total / i64::from(count));
                }
                assert_eq!(shares.insert(member.account_id.clone(), amount), None);
                won.entry(&member.account_id).or_default().push(amount);
            } else {
                assert_code(answer, 409, "red_packet_empty");
            }
        }
        let winners = CLAIMERS.min(count as usize);
        assert_eq!(shares.len(), winners, "{packet}: one winner per share");
        assert_eq!(
            shares.values().sum::<i64>(),
            total,
            "{packet}: the shares add up to the total"
        );

        let (status, seen) = call(
            &members[0].client,
            Method::GET,
            &format!("/api/v1/red-packets/{packet}"),
            None,
            None,
        )
        .await;
        assert_eq!(status, 200, "{seen}");
        let claims = seen["claims"].as_array().expect("claims");
        assert_eq!(claims.len(), winners, "{seen}");
        let recorded: HashMap<String, i64> = claims
            .iter()
            .map(|claim| {
                (
                    claim["account_id"].as_str().unwrap().to_owned(),
                    claim["amount_minor"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            recorded, shares,
            "{packet}: the packet agrees with the answers"
        );
        assert_eq!(seen["remaining_shares"], 0);
        assert_eq!(seen["status"], "empty");
    }

    // Claiming again after the race: the same share, or still empty.
    for (member, answers) in members.iter().zip(&answers).take(20) {
        for (packet, first) in packets.iter().zip(answers) {
            let again = claim(member, packet).await;
            if first.0 == 200 {
                assert_eq!(&again, first);
            } else {
                assert_code(&again, 409, "red_packet_empty");
            }
        }
    }

    // Every wallet holds what its owner won, once, and nothing else.
    let mut checking = JoinSet::new();
    for member in members.iter().cloned() {
        let mut expected = won
            .get(member.account_id.as_str())
            .cloned()
            .unwrap_or_default();
        expected.sort_unstable();
        checking.spawn(async move {
            let entries = statement_entries(&member.client).await;
            let balance = balance(&member).await;
            assert_eq!(
                amounts_of(&entries, "red_packet_claimed"),
                expected,
                "{}'s statement",
                member.username
            );
            assert_eq!(entries.len(), expected.len(), "{}", member.username);
            assert_eq!(balance, expected.iter().sum::<i64>(), "{}", member.username);
            assert_statement_adds_up(&entries, balance);
        });
    }
    checking.join_all().await;
    let entries = statement_entries(&owner.client).await;
    let mut totals: Vec<i64> = specs.iter().map(|(total, _, _)| -total).collect();
    totals.sort_unstable();
    assert_eq!(amounts_of(&entries, "red_packet_created"), totals);
    assert_statement_adds_up(&entries, FUND_MINOR - sent);

    assert_ledger_sound(&app);
    stop_keeping_data(&mut app).await;
    admin_check_passes("ledger-check", app.data_dir());
    admin_check_passes("check", app.data_dir());
}

#[tokio::test]
async fn one_member_claiming_ten_times_at_once_gets_one_share() {
    let mut app = sandbox().await;
    let (owner, members, conversation) = crowd(&app, 3).await;
    let packet = send_packet(&owner, &conversation, 900, 3, "lucky").await;
    // Two members each claim ten times at once, the twenty interleaved.
    let tries = (0..20).map(|attempt| claim(&members[attempt % 2], &packet));
    let answers = join_all(tries).await;
    let mut shares = Vec::new();
    for (index, member) in members.iter().take(2).enumerate() {
        let mine: Vec<&(u16, Value)> = answers.iter().skip(index).step_by(2).collect();
        assert_eq!(mine[0].0, 200, "{}", mine[0].1);
        assert!(
            mine.iter().all(|answer| answer == &mine[0]),
            "every try answers the same share: {mine:?}"
        );
        let share = mine[0].1["amount_minor"].as_i64().unwrap();
        assert_eq!(balance(member).await, share, "paid once");
        let entries = statement_entries(&member.client).await;
        assert_eq!(amounts_of(&entries, "red_packet_claimed"), [share]);
        shares.push(share);
    }
    let (status, seen) = call(
        &owner.client,
        Method::GET,
        &format!("/api/v1/red-packets/{packet}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["claims"].as_array().unwrap().len(), 2, "{seen}");
    assert_eq!(seen["remaining_shares"], 1);
    assert_eq!(seen["status"], "open");
    // The last share is whatever the two left, to the minor unit.
    let last = claim(&members[2], &packet).await;
    assert_eq!(last.0, 200, "{}", last.1);
    assert_eq!(
        last.1["amount_minor"].as_i64().unwrap(),
        900 - shares.iter().sum::<i64>()
    );
    assert_ledger_sound(&app);
    stop_keeping_data(&mut app).await;
    admin_check_passes("ledger-check", app.data_dir());
}

/// Rounds of each race for the last balance.
const ROUNDS: usize = 20;

async fn withdraw(user: &User, amount: i64, key: &str) -> (u16, Value) {
    call(
        &user.client,
        Method::POST,
        "/api/v1/wallet/withdrawals",
        Some(json!({ "amount_minor": amount, "pin": PIN })),
        Some(key),
    )
    .await
}

async fn transfer(from: &User, to: &User, amount: i64, key: &str) -> (u16, Value) {
    call(
        &from.client,
        Method::POST,
        "/api/v1/transfers",
        Some(json!({ "to": to.account_id, "amount_minor": amount, "pin": PIN })),
        Some(key),
    )
    .await
}

/// Of answers to spenders racing for the same money, exactly one went
/// through (its index is returned) and the rest found the money gone.
fn one_winner(answers: &[&(u16, Value)]) -> usize {
    let winners: Vec<usize> = (0..answers.len())
        .filter(|index| answers[*index].0 == 201)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one spender wins: {answers:?}");
    for (index, answer) in answers.iter().enumerate() {
        if index != winners[0] {
            assert_code(answer, 409, "insufficient_funds");
        }
    }
    winners[0]
}

#[tokio::test]
async fn spenders_racing_for_the_last_balance_never_both_succeed() {
    let mut app = sandbox().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let cat = app.signup("cat").await;
    befriend(&ann, &bob).await;
    befriend(&ann, &cat).await;
    let group = ann
        .client
        .create_group("Race", &[bob.account_id.clone(), cat.account_id.clone()])
        .await
        .expect("group created");
    set_pin(&ann).await;
    let mut rng = StdRng::seed_from_u64(0x5eed_0b41);
    let mut withdrawn = Vec::new();
    let mut received: HashMap<&str, i64> = HashMap::new();

    for round in 0..ROUNDS {
        let amount = rng.random_range(1..=100_000);
        assert_eq!(top_up(&ann, amount, &format!("tw{round}")).await.0, 201);
        let keys = [format!("wa{round}"), format!("wb{round}")];
        let (a, b) = tokio::join!(
            withdraw(&ann, amount, &keys[0]),
            withdraw(&ann, amount, &keys[1]),
        );
        let winner = [&a, &b][one_winner(&[&a, &b])];
        assert_eq!(winner.1["balance_minor"], 0, "{}", winner.1);
        assert_eq!(balance(&ann).await, 0, "round {round}");
        withdrawn.push(-amount);
    }

    for round in 0..ROUNDS {
        let amount = rng.random_range(1..=100_000);
        assert_eq!(top_up(&ann, amount, &format!("tt{round}")).await.0, 201);
        let keys = [format!("ta{round}"), format!("tb{round}")];
        let (a, b) = tokio::join!(
            transfer(&ann, &bob, amount, &keys[0]),
            transfer(&ann, &cat, amount, &keys[1]),
        );
        let winner = one_winner(&[&a, &b]);
        assert_eq!(balance(&ann).await, 0, "round {round}");
        let (answer, to) = [(&a, &bob), (&b, &cat)][winner];
        let id = answer.1["transfer_id"].as_str().unwrap();
        let accepted = call(
            &to.client,
            Method::POST,
            &format!("/api/v1/transfers/{id}/accept"),
            None,
            None,
        )
        .await;
        assert_eq!(accepted.0, 200, "{}", accepted.1);
        *received.entry(&to.account_id).or_default() += amount;
    }

    // Three kinds of spending at once: a withdrawal, a transfer and a red
    // packet, each for everything there is.
    let mut packets = 0;
    for round in 0..ROUNDS / 2 {
        let amount = rng.random_range(2..=red_packet_total_max_minor());
        assert_eq!(top_up(&ann, amount, &format!("tm{round}")).await.0, 201);
        let keys = [
            format!("wm{round}"),
            format!("xm{round}"),
            format!("pm{round}"),
        ];
        let packet = call(
            &ann.client,
            Method::POST,
            "/api/v1/red-packets",
            Some(json!({
                "conversation_id": group,
                "total_minor": amount,
                "count": 2,
                "mode": "lucky",
                "pin": PIN,
            })),
            Some(&keys[2]),
        );
        let (a, b, c) = tokio::join!(
            withdraw(&ann, amount, &keys[0]),
            transfer(&ann, &bob, amount, &keys[1]),
            packet,
        );
        match one_winner(&[&a, &b, &c]) {
            0 => withdrawn.push(-amount),
            1 => {
                let id = b.1["transfer_id"].as_str().unwrap();
                let declined = call(
                    &bob.client,
                    Method::POST,
                    &format!("/api/v1/transfers/{id}/decline"),
                    None,
                    None,
                )
                .await;
                assert_eq!(declined.0, 200, "{}", declined.1);
                // Declined money comes back; spend it so the next round
                // starts from zero again.
                assert_eq!(withdraw(&ann, amount, &format!("back{round}")).await.0, 201);
                withdrawn.push(-amount);
            }
            _ => packets += 1,
        }
        assert_eq!(balance(&ann).await, 0, "round {round}");
    }

    let entries = statement_entries(&ann.client).await;
    assert_statement_adds_up(&entries, 0);
    withdrawn.sort_unstable();
    assert_eq!(amounts_of(&entries, "withdrawal"), withdrawn);
    assert_eq!(amounts_of(&entries, "red_packet_created").len(), packets);
    for to in [&bob, &cat] {
        let got = received.get(to.account_id.as_str()).copied().unwrap_or(0);
        assert_eq!(balance(to).await, got, "{}", to.username);
    }
    assert_ledger_sound(&app);
    stop_keeping_data(&mut app).await;
    admin_check_passes("ledger-check", app.data_dir());
}

/// One money movement and what it does to the caller's balance.
struct Case {
    path: String,
    body: Value,
    /// The field that holds the amount, so another body can differ in it.
    amount_field: &'static str,
    /// The change to the caller's balance: the body's amount, signed.
    sign: i64,
}

impl Case {
    fn delta(&self) -> i64 {
        self.sign * self.body[self.amount_field].as_i64().unwrap()
    }

    fn other_body(&self) -> Value {
        let mut body = self.body.clone();
        body[self.amount_field] = json!(body[self.amount_field].as_i64().unwrap() + 1);
        body
    }
}

/// Sends each of `bodies` with the same `key`, all released at once.
async fn all_at_once(user: &User, path: &str, bodies: &[Value], key: &str) -> Vec<(u16, Value)> {
    let barrier = Arc::new(Barrier::new(bodies.len()));
    let sends = bodies.iter().map(|body| {
        let (user, barrier) = (user.clone(), Arc::clone(&barrier));
        let (path, body, key) = (path.to_owned(), body.clone(), key.to_owned());
        tokio::spawn(async move {
            barrier.wait().await;
            call(&user.client, Method::POST, &path, Some(body), Some(&key)).await
        })
    });
    join_all(sends)
        .await
        .into_iter()
        .map(|answer| answer.expect("sender"))
        .collect()
}

#[tokio::test]
async fn one_key_sent_ten_times_at_once_moves_the_money_once() {
    let mut app = sandbox().await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    let shop = app.signup("shop").await;
    let direct = befriend(&ann, &bob).await;
    let group = ann
        .client
        .create_group("Once", std::slice::from_ref(&bob.account_id))
        .await
        .expect("group created");
    set_pin(&ann).await;
    assert_eq!(top_up(&ann, 100_000, "fund").await.0, 201);
    let merchant = call(
        &shop.client,
        Method::POST,
        "/api/v1/merchants",
        Some(json!({ "name": "Tea House", "city": "Hangzhou" })),
        None,
    )
    .await;
    assert_eq!(merchant.0, 201, "{}", merchant.1);
    let merchant = merchant.1["merchant_id"].as_str().unwrap().to_owned();
    let (status, qr) = call(
        &shop.client,
        Method::GET,
        &format!("/api/v1/merchants/{merchant}/qr?format=payload"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{qr}");
    let payload = qr["payload"].as_str().unwrap().to_owned();

    let cases = [
        Case {
            path: "/api/v1/wallet/topups".into(),
            body: json!({ "amount_minor": 1_111 }),
            amount_field: "amount_minor",
            sign: 1,
        },
        Case {
            path: "/api/v1/wallet/withdrawals".into(),
            body: json!({ "amount_minor": 2_222, "pin": PIN }),
            amount_field: "amount_minor",
            sign: -1,
        },
        Case {
            path: "/api/v1/transfers".into(),
            body: json!({ "to": bob.account_id, "amount_minor": 3_333, "pin": PIN, "note": "once" }),
            amount_field: "amount_minor",
            sign: -1,
        },
        Case {
            path: "/api/v1/red-packets".into(),
            body: json!({
                "conversation_id": group, "total_minor": 4_444, "count": 2,
                "mode": "lucky", "pin": PIN,
            }),
            amount_field: "total_minor",
            sign: -1,
        },
        Case {
            path: "/api/v1/payments".into(),
            body: json!({ "qr_payload": payload, "amount_minor": 5_555, "pin": PIN }),
            amount_field: "amount_minor",
            sign: -1,
        },
    ];
    let mut paid_to_merchant = 0;
    for (index, case) in cases.iter().enumerate() {
        // The same key and body, ten at once.
        let before = balance(&ann).await;
        let lines = statement_entries(&ann.client).await.len();
        let key = format!("same-{index}");
        let answers = all_at_once(&ann, &case.path, &vec![case.body.clone(); 10], &key).await;
        assert_eq!(answers[0].0, 201, "{}: {}", case.path, answers[0].1);
        assert!(
            answers.iter().all(|answer| answer == &answers[0]),
            "{}: every answer is the first: {answers:?}",
            case.path
        );
        assert_eq!(balance(&ann).await, before + case.delta(), "{}", case.path);
        assert_eq!(statement_entries(&ann.client).await.len(), lines + 1);

        // The same key with two bodies at once: one body wins every one of
        // its tries, the other is refused every time.
        let before = balance(&ann).await;
        let (first, other) = (case.body.clone(), case.other_body());
        let bodies: Vec<Value> = (0..10)
            .map(|n| {
                if n % 2 == 0 {
                    first.clone()
                } else {
                    other.clone()
                }
            })
            .collect();
        let key = format!("mixed-{index}");
        let answers = all_at_once(&ann, &case.path, &bodies, &key).await;
        let winner = answers.iter().position(|answer| answer.0 == 201);
        let winner = winner.unwrap_or_else(|| panic!("{}: no try won: {answers:?}", case.path));
        for (n, answer) in answers.iter().enumerate() {
            if n % 2 == winner % 2 {
                assert_eq!(answer, &answers[winner], "{}", case.path);
            } else {
                assert_code(answer, 422, "idempotency_key_reused");
            }
        }
        let won_with = &bodies[winner];
        let won_amount = won_with[case.amount_field].as_i64().unwrap();
        if case.path == "/api/v1/payments" {
            paid_to_merchant = case.body[case.amount_field].as_i64().unwrap() + won_amount;
        }
        assert_eq!(
            balance(&ann).await,
            before + case.sign * won_amount,
            "{}: the money moved once",
            case.path
        );
        // Replayed later, alone: still the winner's answer.
        assert_eq!(
            call(
                &ann.client,
                Method::POST,
                &case.path,
                Some(won_with.clone()),
                Some(&key)
            )
            .await,
            answers[winner]
        );
    }
    // One transfer message per transfer, not one per try.
    assert_eq!(message_count(&bob, &direct).await, 2);
    let (status, seen) = call(
        &shop.client,
        Method::GET,
        &format!("/api/v1/merchants/{merchant}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["balance_minor"], paid_to_merchant);
    assert_ledger_sound(&app);
    stop_keeping_data(&mut app).await;
    admin_check_passes("ledger-check", app.data_dir());
}

/// Claims and accepts fired this far apart straddle the expiry moment.
const STAGGER: Duration = Duration::from_millis(8);
/// Racers per expiry race; the first fires this many staggers before it.
const EXPIRY_RACERS: u32 = 30;

/// When racer `index` fires: spread evenly around `expiry`.
fn fire_at(expiry: Instant, index: u32) -> Instant {
    expiry - STAGGER * (EXPIRY_RACERS / 2) + STAGGER * index
}

#[tokio::test]
async fn claims_racing_the_expiry_refund_pay_out_the_total_exactly_once() {
    let mut app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.red_packet_expiry_s = 1;
    })
    .await;
    let (owner, members, conversation) = crowd(&app, EXPIRY_RACERS as usize).await;
    let sent_at = Instant::now();
    let packet = send_packet(&owner, &conversation, 3_000, EXPIRY_RACERS, "lucky").await;
    let expiry = sent_at + Duration::from_secs(1);
    let racers = members.iter().cloned().zip(0..).map(|(member, index)| {
        let packet = packet.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(fire_at(expiry, index)).await;
            (claim(&member, &packet).await, member)
        })
    });
    let mut shares: HashMap<String, i64> = HashMap::new();
    let mut late = 0;
    for racer in join_all(racers).await {
        let (answer, member) = racer.expect("claimer");
        match answer.0 {
            200 => {
                shares.insert(
                    member.account_id,
                    answer.1["amount_minor"].as_i64().unwrap(),
                );
            }
            _ => {
                assert_code(&answer, 410, "red_packet_expired");
                late += 1;
            }
        }
    }
    // The sweeper refunds the rest within a second of the expiry.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let entries = statement_entries(&owner.client).await;
    let refunded: i64 = amounts_of(&entries, "red_packet_refunded").iter().sum();
    let claimed: i64 = shares.values().sum();
    assert_eq!(
        claimed + refunded,
        3_000,
        "{} claimed {claimed}, {late} came late, {refunded} went back",
        shares.len()
    );
    assert!(
        amounts_of(&entries, "red_packet_refunded").len() <= 1,
        "refunded once"
    );
    assert_eq!(balance(&owner).await, FUND_MINOR - claimed);
    let (status, seen) = call(
        &owner.client,
        Method::GET,
        &format!("/api/v1/red-packets/{packet}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{seen}");
    let recorded: HashMap<String, i64> = seen["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|claim| {
            (
                claim["account_id"].as_str().unwrap().to_owned(),
                claim["amount_minor"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(recorded, shares, "the packet agrees with the answers");
    for member in &members {
        let expected = shares.get(&member.account_id).copied().unwrap_or(0);
        assert_eq!(balance(member).await, expected, "{}", member.username);
    }
    assert_ledger_sound(&app);
    stop_keeping_data(&mut app).await;
    admin_check_passes("ledger-check", app.data_dir());
}

#[tokio::test]
async fn accepts_racing_the_expiry_return_settle_each_transfer_once() {
    let mut app = spawn_app_with(|config| {
        config.sandbox_payments = true;
        config.transfer_expiry_s = 1;
    })
    .await;
    let ann = app.signup("ann").await;
    let bob = app.signup("bob").await;
    befriend(&ann, &bob).await;
    set_pin(&ann).await;
    assert_eq!(top_up(&ann, FUND_MINOR, "fund").await.0, 201);
    // All sent at once, so they expire together.
    let sent_at = Instant::now();
    let keys: Vec<String> = (0..EXPIRY_RACERS).map(|n| format!("x{n}")).collect();
    let sent = join_all(
        keys.iter()
            .zip(0..)
            .map(|(key, n)| transfer(&ann, &bob, 100 + i64::from(n), key)),
    )
    .await;
    let expiry = sent_at + Duration::from_secs(1);
    let racers = sent.iter().zip(0..).map(|(answer, index)| {
        assert_eq!(answer.0, 201, "{}", answer.1);
        let id = answer.1["transfer_id"].as_str().unwrap().to_owned();
        let bob = bob.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(fire_at(expiry, index)).await;
            let path = format!("/api/v1/transfers/{id}/accept");
            (id, call(&bob.client, Method::POST, &path, None, None).await)
        })
    });
    let answers: Vec<(String, (u16, Value))> = join_all(racers)
        .await
        .into_iter()
        .map(|racer| racer.expect("accepter"))
        .collect();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut accepted = 0;
    let mut total = 0;
    for (id, answer) in &answers {
        let (_, seen) = call(
            &ann.client,
            Method::GET,
            &format!("/api/v1/transfers/{id}"),
            None,
            None,
        )
        .await;
        let amount = seen["amount_minor"].as_i64().unwrap();
        total += amount;
        if answer.0 == 200 {
            assert_eq!(answer.1["status"], "accepted");
            assert_eq!(
                seen["status"], "accepted",
                "{id}: an accepted transfer stays so"
            );
            accepted += amount;
        } else {
            assert_code(answer, 409, "transfer_not_pending");
            assert_eq!(
                seen["status"], "returned",
                "{id}: a refused accept means returned"
            );
        }
    }
    assert_eq!(balance(&bob).await, accepted);
    assert_eq!(balance(&ann).await, FUND_MINOR - accepted);
    let entries = statement_entries(&ann.client).await;
    assert_eq!(
        amounts_of(&entries, "transfer_sent").iter().sum::<i64>(),
        -total
    );
    assert_eq!(
        amounts_of(&entries, "transfer_expired").iter().sum::<i64>(),
        total - accepted,
        "each unaccepted transfer came back once"
    );
    assert_ledger_sound(&app);
    stop_keeping_data(&mut app).await;
    admin_check_passes("ledger-check", app.data_dir());
}

#[tokio::test]
async fn wrong_pins_racing_each_other_lock_after_exactly_five() {
    let app = sandbox().await;
    let ann = app.signup("ann").await;
    set_pin(&ann).await;
    assert_eq!(top_up(&ann, 5_000, "fund").await.0, 201);
    // Forty guesses at once, each verified before any lock was written:
    // the writer still counts only five of them.
    let guesses = (0..40).map(|n| {
        let ann = ann.clone();
        tokio::spawn(async move {
            let body = json!({ "amount_minor": 100, "pin": format!("{:06}", 900_000 + n) });
            let key = format!("guess{n}");
            let path = "/api/v1/wallet/withdrawals";
            call(&ann.client, Method::POST, path, Some(body), Some(&key)).await
        })
    });
    let mut wrong = 0;
    for answer in join_all(guesses).await {
        let answer = answer.expect("guesser");
        if answer.0 == 403 {
            assert_code(&answer, 403, "wrong_pin");
            wrong += 1;
        } else {
            assert_code(&answer, 423, "pin_locked");
        }
    }
    assert_eq!(
        wrong,
        piazza_domain::limits::PIN_ATTEMPTS_MAX,
        "guesses judged before the lock"
    );
    // Locked now, even for the right PIN, and nothing moved.
    assert_code(&withdraw(&ann, 100, "right").await, 423, "pin_locked");
    assert_eq!(balance(&ann).await, 5_000);
    assert_ledger_sound(&app);
}
