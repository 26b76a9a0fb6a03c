//! `piazza bench group`: a full group (500 members, every one online)
//! takes 50 messages a second (25,000 deliveries a second) from a few of
//! its members for a while. Each message carries the time it was sent;
//! every member's socket notes when it arrived. The figure is the time
//! from a send to its *last* member's socket, p50 and p99 over the
//! messages: what the slowest phone in the group waits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use piazza_api::{ClientFrame, MessageContent};
use piazza_client::{Incoming, SocketReceiver, SocketSender};

use super::progress;
use super::report::Report;
use super::server::Server;
use super::setup;

#[derive(clap::Args, Debug)]
pub struct GroupArgs {
    /// Members of the group, all online
    #[arg(long, default_value_t = 500)]
    pub members: usize,
    /// Messages a second into the group
    #[arg(long, default_value_t = 50)]
    pub rate: u32,
    /// Seconds of sending
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
}

/// Members that send, in turn.
const SENDERS: usize = 5;
/// How long the sockets are read after the last send.
const DRAIN: Duration = Duration::from_secs(3);
/// The target p99 from a send to its last member, from issue 14.
const TARGET_P99_MS: f64 = 150.0;

/// When each message (by its number) reached each socket, in µs since the
/// run's start: the latest arrival so far, and how many arrived.
type Arrivals = Arc<Mutex<HashMap<u64, (u64, u32)>>>;

pub async fn run(server: &mut Server, args: &GroupArgs) -> anyhow::Result<Report> {
    let max = piazza_domain::limits::GROUP_MEMBERS_MAX;
    if args.members <= SENDERS || args.members > max {
        bail!("--members must be from {} to {max}", SENDERS + 1);
    }
    if args.rate == 0 || args.rate > 10_000 || args.seconds == 0 || args.seconds > 3600 {
        bail!("--rate must be from 1 to 10000 and --seconds from 1 to 3600");
    }
    let anonymous = piazza_client::Client::new(server.base_url());
    let (accounts, group) = setup::full_group(&anonymous, args.members, "Bench group").await?;
    let sockets = setup::open_sockets(&accounts).await;

    let started = Instant::now();
    let arrivals: Arrivals = Arc::default();
    let mut senders = Vec::new();
    let mut readers = Vec::new();
    for (index, socket) in sockets?.into_iter().enumerate() {
        let (sender, receiver) = socket.split();
        let arrivals = Arc::clone(&arrivals);
        readers.push(tokio::spawn(note_arrivals(receiver, started, arrivals)));
        if index < SENDERS {
            senders.push(sender);
        }
    }
    let sent = send_at_rate(senders, &group, args, started).await?;
    tokio::time::sleep(DRAIN).await;
    for reader in readers {
        reader.abort();
    }
    server.ensure_alive().await?;

    let arrivals = arrivals.lock().expect("arrivals").clone();
    let mut to_last = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let (mut complete, mut deliveries) = (0u64, 0u64);
    for (number, sent_at_us) in &sent {
        let Some((last_us, count)) = arrivals.get(number) else {
            continue;
        };
        deliveries += u64::from(*count);
        if *count as usize == args.members {
            complete += 1;
            to_last.record(last_us.saturating_sub(*sent_at_us).max(1))?;
        }
    }
    let ms = |quantile: f64| to_last.value_at_quantile(quantile) as f64 / 1000.0;
    let mut report = Report::new("group");
    report.count("members", "members, all online", args.members as u64, "");
    report.count("sent", "messages sent", sent.len() as u64, "");
    report.count("complete", "messages every member got", complete, "");
    let per_s = deliveries as f64 / args.seconds as f64;
    report.measure("deliveries_per_s", "deliveries per second", per_s, 0, "/s");
    report.measure(
        "to_last_p50_ms",
        "send to last member, p50",
        ms(0.5),
        1,
        "ms",
    );
    report.measure(
        "to_last_p99_ms",
        "send to last member, p99",
        ms(0.99),
        1,
        "ms",
    );
    report.measure(
        "to_last_max_ms",
        "send to last member, max",
        ms(1.0),
        1,
        "ms",
    );
    report.memory_mib("server_rss_end_mib", "server RSS at end", server.rss_kib());
    if complete < sent.len() as u64 {
        report.fail(format!(
            "{} of {} messages missed a member",
            sent.len() as u64 - complete,
            sent.len()
        ));
    }
    if ms(0.99) > TARGET_P99_MS {
        eprintln!("note: the p99 is past the {TARGET_P99_MS} ms target");
    }
    Ok(report)
}

/// Sends `args.rate` messages a second for `args.seconds`, the senders in
/// turn, each numbered and stamped with its send time; answers each
/// number's send time in µs since `started`.
async fn send_at_rate(
    mut senders: Vec<SocketSender>,
    group: &str,
    args: &GroupArgs,
    started: Instant,
) -> anyhow::Result<Vec<(u64, u64)>> {
    let total = u64::from(args.rate) * args.seconds;
    let every = Duration::from_secs(1) / args.rate;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = Vec::with_capacity(total as usize);
    let status = progress::StatusLine::start(move || format!("sending {total} messages…"));
    for number in 0..total {
        ticks.tick().await;
        let sent_at_us = started.elapsed().as_micros() as u64;
        let frame = ClientFrame::Send {
            conversation_id: group.to_owned(),
            client_msg_id: format!("g-{number}"),
            message: MessageContent::text(format!("{number} {sent_at_us}")),
        };
        let sender = &mut senders[number as usize % SENDERS];
        sender
            .send(&frame)
            .await
            .context("a send could not be written")?;
        sent.push((number, sent_at_us));
    }
    status.finish();
    Ok(sent)
}

/// Notes when each bench message reaches this socket.
async fn note_arrivals(mut receiver: SocketReceiver, started: Instant, arrivals: Arrivals) {
    while let Some(incoming) = receiver.next().await {
        let Ok(Incoming::Event(event)) = incoming else {
            continue;
        };
        if event.type_ != "message.new" {
            continue;
        }
        let at_us = started.elapsed().as_micros() as u64;
        let number = event
            .fields
            .get("text")
            .and_then(|text| text.as_str())
            .and_then(|text| {
                text.split_once(' ')
                    .and_then(|(number, _)| number.parse::<u64>().ok())
            });
        if let Some(number) = number {
            let mut arrivals = arrivals.lock().expect("arrivals");
            let entry = arrivals.entry(number).or_insert((0, 0));
            entry.0 = entry.0.max(at_us);
            entry.1 += 1;
        }
    }
}
