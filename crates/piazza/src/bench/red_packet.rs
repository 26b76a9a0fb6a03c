//! `piazza bench red-packet`: one hot red packet, claimed by every member
//! of a group at once, the way a packet dropped into a busy group chat is.
//!
//! The group is as large as the group limit allows (its members created
//! and added through the API). For each packet — `shares` shares, mode
//! lucky — every member, the sender included, sends one claim at the same
//! moment over an already open keep-alive connection. Only `shares` claims
//! can win; the rest are answered 409 `red_packet_empty`. Per packet the
//! bench measures, from the first claim sent to the last answer, the
//! successful claims per second and all answers per second, and checks
//! that at most `shares` claims won and that their amounts add up to the
//! total exactly, as the packet itself also says. The figures printed are
//! medians over the packets; latencies are over every claim.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::future::join_all;
use hdrhistogram::Histogram;
use piazza_client::Client;
use piazza_domain::limits::GROUP_MEMBERS_MAX;
use piazza_domain::red_packet::RED_PACKET_SHARES_MAX;
use reqwest::Method;
use serde_json::json;
use tokio::sync::Barrier;

use super::ledger::check_ledger;
use super::money;
use super::report::Report;
use super::server::Server;
use super::setup::{self, Account};

#[derive(clap::Args, Debug)]
pub struct RedPacketArgs {
    /// Members of the group, the sender included
    #[arg(long, default_value_t = GROUP_MEMBERS_MAX)]
    pub members: usize,
    /// Packets sent one after another, each claimed by every member at once
    #[arg(long, default_value_t = 5)]
    pub packets: usize,
    /// Shares in each packet
    #[arg(long, default_value_t = RED_PACKET_SHARES_MAX)]
    pub shares: u32,
    /// Each packet's total, in minor units
    #[arg(long, default_value_t = 10_000)]
    pub total_minor: i64,
}

const PACKETS_MAX: usize = 1000;
/// A packet's total, at most (100 000.00 in a two-decimal currency).
const TOTAL_MINOR_MAX: i64 = 10_000_000;
/// Latencies above this are recorded as this (microseconds).
const LATENCY_US_MAX: u64 = 600_000_000;
/// Error details kept for the report; the rest are only counted.
const NOTES_MAX: usize = 5;
/// The answer to a claim on a packet with no share left.
const EMPTY: &str = "409 red_packet_empty";

pub async fn run(
    server: &mut Server,
    args: &RedPacketArgs,
    database_url: Option<&str>,
) -> anyhow::Result<Report> {
    validate(args)?;
    let anonymous = Client::new(server.base_url());
    let (accounts, conversation) =
        setup::full_group(&anonymous, args.members, "Bench red packets").await?;
    let owner = &accounts[0];
    let packets = i64::try_from(args.packets)?;
    money::fund(owner, args.total_minor.saturating_mul(packets)).await?;
    warm_connections(&accounts).await?;
    server.ensure_alive().await?;

    let accounts = Arc::new(accounts);
    let tag = format!("{:08x}", rand::random::<u32>());
    let mut rounds = Vec::with_capacity(args.packets);
    let mut notes = Vec::new();
    for number in 0..args.packets {
        let packet = send_packet(
            &accounts[0],
            &conversation,
            args,
            &format!("{tag}-{number}"),
        )
        .await?;
        let round = claim_all(&accounts, &packet).await?;
        let problems = verify(&accounts[0], &packet, args, &round).await?;
        eprintln!(
            "packet {}/{}: {} claims won in {:.1} ms, {} answers",
            number + 1,
            args.packets,
            round.won,
            round.span.as_secs_f64() * 1000.0,
            round.answers
        );
        for problem in problems {
            if notes.len() < NOTES_MAX {
                notes.push(format!("packet {number}: {problem}"));
            }
        }
        rounds.push(round);
    }
    server.ensure_alive().await?;
    let mut report = report(args, &rounds, &notes);
    match server.stop().await? {
        Some(data_dir) => check_ledger(
            &mut report,
            ("ledger_check", "ledger-check"),
            &data_dir,
            database_url,
        ),
        None => report.text(
            "ledger_check",
            "ledger-check",
            "not run: the server is not this run's".to_owned(),
        ),
    }
    Ok(report)
}

fn validate(args: &RedPacketArgs) -> anyhow::Result<()> {
    if args.members < 2 || args.members > GROUP_MEMBERS_MAX {
        bail!("--members must be from 2 to {GROUP_MEMBERS_MAX} (the group limit)");
    }
    if args.packets == 0 || args.packets > PACKETS_MAX {
        bail!("--packets must be from 1 to {PACKETS_MAX}");
    }
    if args.shares == 0 || args.shares > RED_PACKET_SHARES_MAX {
        bail!("--shares must be from 1 to {RED_PACKET_SHARES_MAX}");
    }
    if args.total_minor < i64::from(args.shares) || args.total_minor > TOTAL_MINOR_MAX {
        bail!("--total-minor must be from --shares to {TOTAL_MINOR_MAX}");
    }
    Ok(())
}

/// One cheap call per member, all at once, so that the connection pool
/// holds an open connection per member before the first packet: the
/// claims then measure the server, not TCP handshakes.
async fn warm_connections(accounts: &[Account]) -> anyhow::Result<()> {
    let answers = join_all(accounts.iter().map(|a| money::balance(&a.device))).await;
    answers.into_iter().collect::<anyhow::Result<Vec<i64>>>()?;
    Ok(())
}

async fn send_packet(
    owner: &Account,
    conversation: &str,
    args: &RedPacketArgs,
    key: &str,
) -> anyhow::Result<String> {
    let body = json!({
        "conversation_id": conversation,
        "total_minor": args.total_minor,
        "count": args.shares,
        "mode": "lucky",
        "pin": money::PIN,
    });
    let key = format!("red-packet-{key}");
    let answer = money::call(
        &owner.device,
        Method::POST,
        "/api/v1/red-packets",
        Some(&body),
        Some(&key),
    )
    .await?;
    match answer.body["red_packet_id"].as_str() {
        Some(id) if answer.status == 201 => Ok(id.to_owned()),
        _ => bail!("sending a red packet answered {}", answer.code()),
    }
}

/// What one packet's claims came to.
struct Round {
    /// From the first claim sent to the last answer.
    span: Duration,
    /// From the first claim sent to the last winning answer: how long the
    /// packet took to empty.
    to_empty: Duration,
    answers: u64,
    won: u64,
    /// The sum of the winning claims' amounts.
    won_minor: i64,
    empty: u64,
    /// Answers other than a share or `red_packet_empty`, and lost calls.
    errors: Vec<String>,
    latencies: Histogram<u64>,
}

/// Every member claims `packet` at once: each task waits at a barrier, so
/// the claims leave together rather than in spawning order.
async fn claim_all(accounts: &Arc<Vec<Account>>, packet: &str) -> anyhow::Result<Round> {
    let barrier = Arc::new(Barrier::new(accounts.len()));
    let path = Arc::new(format!("/api/v1/red-packets/{packet}/claim"));
    let tasks = (0..accounts.len()).map(|index| {
        let (accounts, barrier, path) = (
            Arc::clone(accounts),
            Arc::clone(&barrier),
            Arc::clone(&path),
        );
        tokio::spawn(async move {
            barrier.wait().await;
            let sent = Instant::now();
            let answer =
                money::call(&accounts[index].device, Method::POST, &path, None, None).await;
            (sent, Instant::now(), answer)
        })
    });
    let claims = join_all(tasks).await;
    let mut round = Round {
        span: Duration::ZERO,
        to_empty: Duration::ZERO,
        answers: 0,
        won: 0,
        won_minor: 0,
        empty: 0,
        errors: Vec::new(),
        latencies: Histogram::new_with_bounds(1, LATENCY_US_MAX, 3)
            .expect("the latency bounds are valid"),
    };
    let (mut first, mut last) = (None::<Instant>, None::<Instant>);
    let mut last_won = None::<Instant>;
    for claim in claims {
        let (sent, answered, answer) = claim.context("a claim task panicked")?;
        first = Some(first.map_or(sent, |first| first.min(sent)));
        last = Some(last.map_or(answered, |last| last.max(answered)));
        let micros = u64::try_from(answered.duration_since(sent).as_micros()).unwrap_or(u64::MAX);
        match answer {
            Ok(answer) => {
                round.answers += 1;
                round.latencies.saturating_record(micros.max(1));
                match answer.body["amount_minor"].as_i64() {
                    Some(amount) if answer.status == 200 => {
                        round.won += 1;
                        last_won = Some(last_won.map_or(answered, |last| last.max(answered)));
                        round.won_minor = round.won_minor.saturating_add(amount);
                    }
                    _ if answer.code() == EMPTY => round.empty += 1,
                    _ => round
                        .errors
                        .push(format!("a claim answered {}", answer.code())),
                }
            }
            Err(error) => round
                .errors
                .push(format!("a claim got no answer: {error:#}")),
        }
    }
    if let (Some(first), Some(last)) = (first, last) {
        round.span = last.duration_since(first);
        round.to_empty = last_won.map_or(Duration::ZERO, |won| won.duration_since(first));
    }
    Ok(round)
}

/// The packet's rules, checked from the claims' answers and from the
/// packet as the server shows it afterwards. Returns what is wrong.
async fn verify(
    owner: &Account,
    packet: &str,
    args: &RedPacketArgs,
    round: &Round,
) -> anyhow::Result<Vec<String>> {
    let mut problems = round.errors.clone();
    let winners_expected = u64::from(args.shares).min(args.members as u64);
    if round.won > u64::from(args.shares) {
        problems.push(format!("{} claims won {} shares", round.won, args.shares));
    } else if round.won < winners_expected && round.errors.is_empty() {
        problems.push(format!(
            "only {} of {winners_expected} shares were won, with members to spare",
            round.won
        ));
    }
    let all_claimed = round.won == u64::from(args.shares);
    if all_claimed && round.won_minor != args.total_minor {
        problems.push(format!(
            "the shares add up to {}, not the total {}",
            round.won_minor, args.total_minor
        ));
    }
    let path = format!("/api/v1/red-packets/{packet}");
    let view = money::call(&owner.device, Method::GET, &path, None, None).await?;
    if view.status != 200 {
        bail!("reading red packet {packet} answered {}", view.code());
    }
    let claims = view.body["claims"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let claimed_minor: i64 = claims
        .iter()
        .filter_map(|claim| claim["amount_minor"].as_i64())
        .sum();
    if claims.len() as u64 != round.won || claimed_minor != round.won_minor {
        problems.push(format!(
            "the packet shows {} claims for {claimed_minor}, the answers {} for {}",
            claims.len(),
            round.won,
            round.won_minor
        ));
    }
    let remaining = view.body["remaining_shares"].as_u64();
    if remaining != Some(u64::from(args.shares) - round.won.min(u64::from(args.shares))) {
        problems.push(format!("the packet shows {remaining:?} shares remaining"));
    }
    Ok(problems)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        len if len % 2 == 1 => values[len / 2],
        len => (values[len / 2 - 1] + values[len / 2]) / 2.0,
    }
}

fn per_second(count: u64, span: Duration) -> f64 {
    let seconds = span.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

fn report(args: &RedPacketArgs, rounds: &[Round], notes: &[String]) -> Report {
    let mut latencies = Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, 3)
        .expect("the latency bounds are valid");
    for round in rounds {
        latencies
            .add(&round.latencies)
            .expect("histograms with the same bounds add up");
    }
    let latency_ms = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    let won: u64 = rounds.iter().map(|round| round.won).sum();
    let answers: u64 = rounds.iter().map(|round| round.answers).sum();
    let empty: u64 = rounds.iter().map(|round| round.empty).sum();
    let errors: usize = rounds.iter().map(|round| round.errors.len()).sum();
    let claims_per_s = median(rounds.iter().map(|r| per_second(r.won, r.span)).collect());
    let answers_per_s = median(
        rounds
            .iter()
            .map(|r| per_second(r.answers, r.span))
            .collect(),
    );
    let span_ms = median(
        rounds
            .iter()
            .map(|r| r.span.as_secs_f64() * 1000.0)
            .collect(),
    );
    let to_empty_per_s = median(
        rounds
            .iter()
            .map(|r| per_second(r.won, r.to_empty))
            .collect(),
    );
    let best = rounds
        .iter()
        .map(|r| per_second(r.won, r.span))
        .fold(0.0, f64::max);

    let mut report = Report::new("red-packet");
    report.count(
        "members",
        "group members (all claim)",
        args.members as u64,
        "",
    );
    report.count("packets", "packets", args.packets as u64, "");
    report.count("shares", "shares per packet", u64::from(args.shares), "");
    report.count(
        "total_minor",
        "total per packet",
        args.total_minor as u64,
        "minor units",
    );
    report.count("claims_won", "claims won", won, "");
    report.count(
        "claims_empty",
        "claims answered red_packet_empty",
        empty,
        "",
    );
    report.count("answers", "answers", answers, "");
    report.measure(
        "span_ms",
        "first claim to last answer, median",
        span_ms,
        1,
        "ms",
    );
    report.measure(
        "claims_per_s",
        "claims won/s on one packet, median",
        claims_per_s,
        0,
        "claims/s",
    );
    report.measure(
        "claims_per_s_best",
        "claims won/s, best packet",
        best,
        0,
        "claims/s",
    );
    report.measure(
        "claims_per_s_to_empty",
        "claims won/s until the packet is empty, median",
        to_empty_per_s,
        0,
        "claims/s",
    );
    report.measure(
        "answers_per_s",
        "all answers/s on one packet, median",
        answers_per_s,
        0,
        "answers/s",
    );
    report.measure(
        "latency_p50_ms",
        "claim latency p50",
        latency_ms(0.5),
        2,
        "ms",
    );
    report.measure(
        "latency_p99_ms",
        "claim latency p99",
        latency_ms(0.99),
        2,
        "ms",
    );
    report.measure(
        "latency_max_ms",
        "claim latency max",
        latency_ms(1.0),
        2,
        "ms",
    );
    report.count("errors", "errors", errors as u64, "");
    for note in notes {
        eprintln!("note: {note}");
    }
    if !notes.is_empty() {
        report.fail(format!(
            "{} packets broke a rule; first: {}",
            notes.len(),
            notes[0]
        ));
    }
    if won == 0 {
        report.fail("no claim won a share".to_owned());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }

    #[test]
    fn a_packet_cannot_have_more_shares_than_the_rules_allow() {
        let args = RedPacketArgs {
            members: 10,
            packets: 1,
            shares: RED_PACKET_SHARES_MAX + 1,
            total_minor: 10_000,
        };
        assert!(validate(&args).is_err());
        let args = RedPacketArgs {
            shares: 10,
            total_minor: 9,
            ..args
        };
        assert!(validate(&args).is_err());
        let args = RedPacketArgs {
            total_minor: 10,
            ..args
        };
        assert!(validate(&args).is_ok());
    }
}
