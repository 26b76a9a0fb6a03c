//! `piazza bench messaging`: pairs of contacts send to each other over their
//! WebSockets, flat out or at a set rate. Each message's text is the time it
//! was sent, so the peer's socket can measure end-to-end latency (send →
//! commit → push) on the same clock. After the run every acknowledged
//! message must have reached the peer exactly once.
//!
//! Each account has one socket, split in two tasks: a sender that keeps up
//! to `window` sends unacknowledged, and a receiver that reads acks (which
//! free window slots), the peer's messages (latency) and its own echoes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::future::join_all;
use hdrhistogram::Histogram;
use piazza_api::{ClientFrame, EventView, ServerFrame};
use piazza_client::{Client, ClientError, Incoming, SocketReceiver, SocketSender};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::progress::{self, StatusLine};
use super::report::Report;
use super::server::Server;
use super::setup;

#[derive(clap::Args, Debug)]
pub struct MessagingArgs {
    /// Accounts taking part, in direct pairs (an even number)
    #[arg(long, default_value_t = 200)]
    pub accounts: usize,
    /// How long to measure, after the warm-up
    #[arg(long, default_value_t = 10)]
    pub duration_s: u64,
    /// Messages per second, all senders together; 0 sends flat out
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Unacknowledged sends each socket may have in flight
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    /// Traffic before measuring starts, so caches and pools are warm
    #[arg(long, default_value_t = 2)]
    pub warmup_s: u64,
    /// `piazza serve` processes on the one PostgreSQL database
    /// (--database-url), each serving whole pairs: their sends commit
    /// through different processes into one database, whose sequences and
    /// logs are then checked
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// Join the --processes through these NATS servers (as `serve
    /// --nats-url`) and open each pair's second socket on the next
    /// process, so every message is sent on one node and heard on another
    #[arg(long)]
    pub nats_url: Option<String>,
    /// Only each pair's first account sends; the second only listens.
    /// With --nats-url the senders are on one node and their receivers on
    /// the next, and no two nodes' writers ever write one conversation
    #[arg(long)]
    pub one_way: bool,
    /// Spawned servers do not index messages for search: the baseline
    /// that indexing's cost is measured against.
    #[arg(long)]
    pub no_search_index: bool,
}

const ACCOUNTS_MAX: usize = 20_000;
const DURATION_S_MAX: u64 = 3600;
const WARMUP_S_MAX: u64 = 600;
/// The server stops reading a socket with this many sends awaiting commit;
/// a larger window would only queue in TCP buffers.
const WINDOW_MAX: usize = 256;
const RATE_MAX: u64 = 10_000_000;
const PROCESSES_MAX: usize = 8;
/// Sends per socket in one run, at most; also bounds the bitmaps of
/// message numbers, which are indexed by it.
const SENDS_PER_SOCKET_MAX: u64 = 50_000_000;
/// How long the last sends may take to be acknowledged after sending stops.
const ACK_WAIT_S: u64 = 10;
/// How long acknowledged messages may take to reach the peer after sending
/// stops, before the missing ones count as lost.
const DELIVERY_WAIT_S: u64 = 10;
/// How often the delivery wait looks at the tallies.
const DELIVERY_POLL_MS: u64 = 20;
/// How long catching up one socket that ended early may take.
const RECOVERY_WAIT_S: u64 = 60;
/// Events asked for per page when catching up; the server's maximum.
const RECOVERY_PAGE_LEN: u32 = 1000;
/// How long closing one socket may take.
const CLOSE_WAIT_MS: u64 = 2000;
/// Latencies above this are recorded as this (microseconds).
const LATENCY_US_MAX: u64 = 600_000_000;
/// Error details kept for the report; the rest are only counted.
const NOTES_MAX: usize = 5;

pub async fn run(
    server: &mut Server,
    others: &mut [Server],
    args: &MessagingArgs,
    database_url: Option<&str>,
) -> anyhow::Result<Report> {
    validate(args)?;
    // Each process's accounts come in whole pairs, one block per process:
    // a peer's messages reach its socket live only from its own process.
    let per_process = args.accounts / (1 + others.len());
    let mut accounts = Vec::with_capacity(args.accounts);
    for each in std::iter::once(&*server).chain(others.iter()) {
        let anonymous = Client::new(each.base_url());
        accounts.extend(setup::create_accounts(&anonymous, per_process).await?);
    }
    let conversations = setup::pair_up(&accounts).await?;
    if args.nats_url.is_some() {
        move_peers_to_the_next_process(&mut accounts, server, others);
    }
    let sockets = setup::open_sockets(&accounts).await?;
    server.ensure_alive().await?;
    for other in others.iter_mut() {
        other.ensure_alive().await?;
    }
    let rss_start_kib = server.rss_kib();

    let plan = Arc::new(Plan::new(args));
    let tallies = Arc::new(Tallies::new(args.accounts));
    let (stop, stop_signal) = watch::channel(false);
    let mut senders = Vec::with_capacity(args.accounts);
    let mut receivers = Vec::with_capacity(args.accounts);
    for (index, socket) in sockets.into_iter().enumerate() {
        let (socket_sender, socket_receiver) = socket.split();
        let window = Arc::new(Semaphore::new(args.window));
        let receiver = Receiver::new(
            index,
            accounts[peer_of(index)].account_id.clone(),
            Arc::clone(&window),
            Arc::clone(&plan),
            Arc::clone(&tallies),
        );
        receivers.push(tokio::spawn(
            receiver.run(socket_receiver, stop_signal.clone()),
        ));
        let sender = Sender {
            index,
            conversation_id: conversations[index / 2].clone(),
            window,
            plan: Arc::clone(&plan),
            tallies: Arc::clone(&tallies),
        };
        senders.push(tokio::spawn(sender.run(socket_sender)));
    }

    let status = running_status(&plan, &tallies);
    let senders = join_tasks(senders).await?;
    status.finish();
    server.ensure_alive().await?;
    for other in others.iter_mut() {
        other.ensure_alive().await?;
    }
    wait_for_delivery(&tallies).await;
    stop.send_replace(true);
    let receivers = join_tasks(receivers).await?;
    let (mut received, receiver_sockets): (Vec<Received>, Vec<SocketReceiver>) =
        receivers.into_iter().unzip();
    let recovered = recover_by_sync(&accounts, &mut received).await?;
    let memory = Memory {
        start_kib: rss_start_kib,
        end_kib: server.rss_kib(),
        peak_kib: server.peak_rss_kib(),
    };

    let sent_measured = senders.iter().map(|sent| sent.measured).sum();
    let sender_sockets = senders.into_iter().map(|sent| sent.socket);
    close_sockets(sender_sockets.zip(receiver_sockets)).await;
    let delivery = Delivery {
        sent_measured,
        received: &received,
        recovered,
    };
    let mut report = report(args, &delivery, &tallies, &memory);
    report.count("processes", "server processes", args.processes as u64, "");
    report.count(
        "one_way",
        "one-way pairs (1: yes)",
        u64::from(args.one_way),
        "",
    );
    if let Some(url) = database_url {
        check_database(&mut report, url);
    }
    Ok(report)
}

/// Gives each pair's second account a device on the next process (the
/// same session: any node answers any token), so its socket hears there
/// what its peer sends on its own.
fn move_peers_to_the_next_process(
    accounts: &mut [setup::Account],
    server: &Server,
    others: &[Server],
) {
    let bases: Vec<&str> = std::iter::once(server.base_url())
        .chain(others.iter().map(Server::base_url))
        .collect();
    let per_process = accounts.len() / bases.len();
    for (index, account) in accounts.iter_mut().enumerate() {
        if index % 2 == 1 {
            let next = bases[(index / per_process + 1) % bases.len()];
            let token = account
                .device
                .token()
                .expect("a bench device is logged in")
                .to_owned();
            account.device = Client::new(next).with_token(token);
        }
    }
}

/// `admin check` on the run's PostgreSQL database: every conversation's
/// seqs and every log gapless, whichever processes wrote them.
fn check_database(report: &mut Report, url: &str) {
    // The synchronous client runs its own runtime: not on this one's.
    let found = tokio::task::block_in_place(|| piazza_postgres::integrity::check(url));
    let verdict = match found {
        Ok(found) if found.is_sound() => format!(
            "ok: {} messages, {} log entries",
            found.messages, found.log_entries
        ),
        Ok(found) => {
            let text = format!("{} PROBLEMS: {:?}", found.problems.len(), found.problems);
            report.fail(format!("database_check: {text}"));
            text
        }
        Err(error) => {
            let text = format!("unreadable: {error}");
            report.fail(format!("database_check: {text}"));
            text
        }
    };
    report.text(
        "database_check",
        "admin check (gapless seqs and logs)",
        verdict,
    );
}

pub(super) fn validate(args: &MessagingArgs) -> anyhow::Result<()> {
    if args.accounts < 2 || !args.accounts.is_multiple_of(2) || args.accounts > ACCOUNTS_MAX {
        bail!("--accounts must be even, from 2 to {ACCOUNTS_MAX}");
    }
    if args.duration_s == 0 || args.duration_s > DURATION_S_MAX {
        bail!("--duration-s must be from 1 to {DURATION_S_MAX}");
    }
    if args.warmup_s > WARMUP_S_MAX {
        bail!("--warmup-s must be at most {WARMUP_S_MAX}");
    }
    if args.window == 0 || args.window > WINDOW_MAX {
        bail!("--window must be from 1 to {WINDOW_MAX}");
    }
    if args.rate > RATE_MAX {
        bail!("--rate must be at most {RATE_MAX} (0 sends flat out)");
    }
    if args.processes == 0 || args.processes > PROCESSES_MAX {
        bail!("--processes must be from 1 to {PROCESSES_MAX}");
    }
    if args.nats_url.is_some() && args.processes < 2 {
        bail!("--nats-url joins several processes: give --processes 2 or more");
    }
    if !args.accounts.is_multiple_of(2 * args.processes) {
        bail!(
            "--accounts must be a multiple of twice --processes: each process serves whole pairs"
        );
    }
    Ok(())
}

/// Accounts `2k` and `2k + 1` are each other's peer.
fn peer_of(index: usize) -> usize {
    index ^ 1
}

// ------------------------------------------------------------------ timing

/// When to send and what to measure, shared by every task. Times travel in
/// message texts as microseconds since `origin`, one clock for all.
struct Plan {
    origin: Instant,
    /// Messages sent from here on are measured...
    measure_from_us: u64,
    /// ...until here, when sending stops.
    end_us: u64,
    end: Instant,
    window: usize,
    /// The time between two sends of one socket, at a set rate.
    pacing_period: Option<Duration>,
    accounts: usize,
    one_way: bool,
}

impl Plan {
    fn new(args: &MessagingArgs) -> Plan {
        let origin = Instant::now();
        let measure_from = Duration::from_secs(args.warmup_s);
        let end = measure_from + Duration::from_secs(args.duration_s);
        // Each sending socket sends its share of the total rate at an even
        // pace.
        let senders = if args.one_way {
            args.accounts / 2
        } else {
            args.accounts
        };
        let pacing_period =
            (args.rate > 0).then(|| Duration::from_secs_f64(senders as f64 / args.rate as f64));
        Plan {
            origin,
            measure_from_us: micros(measure_from),
            end_us: micros(end),
            end: origin + end,
            window: args.window,
            pacing_period,
            accounts: args.accounts,
            one_way: args.one_way,
        }
    }

    /// Whether socket `index` sends (with --one-way, a pair's first only).
    fn sends(&self, index: usize) -> bool {
        !self.one_way || index.is_multiple_of(2)
    }

    fn micros_at(&self, instant: Instant) -> u64 {
        micros(instant.saturating_duration_since(self.origin))
    }

    fn is_measured(&self, sent_at_us: u64) -> bool {
        (self.measure_from_us..self.end_us).contains(&sent_at_us)
    }

    /// A pacing clock for sender `index`, its first tick offset by its share
    /// of one period so the senders do not all fire together.
    fn pacing(&self, index: usize) -> Option<tokio::time::Interval> {
        let period = self.pacing_period?;
        let offset = period.mul_f64(index as f64 / self.accounts as f64);
        let start = tokio::time::Instant::from_std(self.origin + offset);
        let mut interval = tokio::time::interval_at(start, period);
        // Behind schedule (a full window, a slow timer for tiny periods),
        // catch up, so the offered rate is the one asked for. Sends carry
        // their due time, so waiting shows up as latency instead of being
        // hidden.
        interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
        Some(interval)
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

// ------------------------------------------------------------------ tallies

/// Live counters, read by the progress line and the delivery wait.
struct Tallies {
    accounts: Vec<AccountTally>,
    error_frames: AtomicU64,
    closes: AtomicU64,
    notes: Mutex<Vec<String>>,
}

#[derive(Default)]
struct AccountTally {
    sent: AtomicU64,
    acked: AtomicU64,
    /// Distinct messages from the peer.
    received_from_peer: AtomicU64,
    /// The socket ended before the bench closed it.
    socket_ended: AtomicBool,
}

impl Tallies {
    fn new(accounts: usize) -> Tallies {
        Tallies {
            accounts: (0..accounts).map(|_| AccountTally::default()).collect(),
            error_frames: AtomicU64::new(0),
            closes: AtomicU64::new(0),
            notes: Mutex::new(Vec::new()),
        }
    }

    fn total(&self, field: impl Fn(&AccountTally) -> &AtomicU64) -> u64 {
        self.accounts
            .iter()
            .map(|tally| field(tally).load(Ordering::Relaxed))
            .sum()
    }

    /// Acknowledged messages whose peer has not seen them yet, by count.
    /// A peer whose socket has ended will not see more; it is caught up by
    /// sync afterwards instead.
    fn undelivered(&self) -> u64 {
        (0..self.accounts.len())
            .filter(|&index| {
                let peer = &self.accounts[peer_of(index)];
                !peer.socket_ended.load(Ordering::Relaxed)
            })
            .map(|index| {
                let acked = self.accounts[index].acked.load(Ordering::Relaxed);
                let received = &self.accounts[peer_of(index)].received_from_peer;
                acked.saturating_sub(received.load(Ordering::Relaxed))
            })
            .sum()
    }

    /// Keeps the first few error details for the report.
    fn note(&self, note: String) {
        let mut notes = self
            .notes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if notes.len() < NOTES_MAX {
            notes.push(note);
        }
    }
}

fn running_status(plan: &Arc<Plan>, tallies: &Arc<Tallies>) -> StatusLine {
    let plan = Arc::clone(plan);
    let tallies = Arc::clone(tallies);
    StatusLine::start(move || {
        let elapsed = plan.origin.elapsed().as_secs_f64();
        let total = plan.end_us as f64 / 1e6;
        format!(
            "messaging… {:.1}/{total:.0} s, sent {}, acked {}, received {}",
            elapsed.min(total),
            tallies.total(|t| &t.sent),
            tallies.total(|t| &t.acked),
            tallies.total(|t| &t.received_from_peer),
        )
    })
}

/// Waits, boundedly, until every acknowledged message has been counted at
/// its peer. What is still missing afterwards is lost.
async fn wait_for_delivery(tallies: &Arc<Tallies>) {
    let tallies = Arc::clone(tallies);
    progress::wait_until_none(
        "waiting for delivery",
        Duration::from_secs(DELIVERY_WAIT_S),
        Duration::from_millis(DELIVERY_POLL_MS),
        move || tallies.undelivered(),
    )
    .await;
}

// ------------------------------------------------------------------ sending

struct Sender {
    index: usize,
    conversation_id: String,
    /// One permit per send that may be in flight; the receiver returns a
    /// permit for every ack or error, and closes it when the socket ends.
    window: Arc<Semaphore>,
    plan: Arc<Plan>,
    tallies: Arc<Tallies>,
}

struct Sent {
    socket: SocketSender,
    /// Sends made in the measurement window.
    measured: u64,
}

impl Sender {
    async fn run(self, mut socket: SocketSender) -> Sent {
        let mut pacing = self.plan.pacing(self.index);
        let end = tokio::time::Instant::from_std(self.plan.end);
        let mut measured = 0;
        let sends = if self.plan.sends(self.index) {
            SENDS_PER_SOCKET_MAX
        } else {
            0
        };
        for number in 0..sends {
            // At a set rate the message is due at its tick; flat out, now.
            let due = match &mut pacing {
                Some(interval) => tokio::select! {
                    tick = interval.tick() => Some(tick.into_std()),
                    _ = tokio::time::sleep_until(end) => break,
                },
                None => None,
            };
            let permit = tokio::select! {
                permit = self.window.acquire() => permit,
                _ = tokio::time::sleep_until(end) => break,
            };
            // A closed window means the socket is gone; the receiver has
            // already counted that.
            let Ok(permit) = permit else { break };
            let now = Instant::now();
            if now >= self.plan.end {
                break;
            }
            permit.forget();
            let sent_at_us = self.plan.micros_at(due.unwrap_or(now));
            let frame = ClientFrame::Send {
                conversation_id: self.conversation_id.clone(),
                client_msg_id: message_id(number),
                message: piazza_api::MessageContent::text(sent_at_us.to_string()),
            };
            if let Err(error) = socket.send(&frame).await {
                self.tallies
                    .note(format!("socket {}: send failed: {error}", self.index));
                break;
            }
            self.tallies.accounts[self.index]
                .sent
                .fetch_add(1, Ordering::Relaxed);
            if self.plan.is_measured(sent_at_us) {
                measured += 1;
            }
        }
        // Every permit back means every send was answered; after the wait
        // the acked count is final.
        let all = u32::try_from(self.plan.window).unwrap_or(u32::MAX);
        let answered = self.window.acquire_many(all);
        let _ = tokio::time::timeout(Duration::from_secs(ACK_WAIT_S), answered).await;
        Sent { socket, measured }
    }
}

/// The `client_msg_id` of a socket's `number`th send; unique per account,
/// which is what idempotency is keyed by.
fn message_id(number: u64) -> String {
    format!("m{number}")
}

fn message_number(client_msg_id: &str) -> Option<u64> {
    let number: u64 = client_msg_id.strip_prefix('m')?.parse().ok()?;
    (number < SENDS_PER_SOCKET_MAX).then_some(number)
}

// ---------------------------------------------------------------- receiving

struct Receiver {
    index: usize,
    peer_account_id: String,
    window: Arc<Semaphore>,
    plan: Arc<Plan>,
    tallies: Arc<Tallies>,
    received: Received,
}

/// What one socket saw, for the final accounting.
struct Received {
    /// Microseconds from send to arrival, for measured messages.
    latencies: Histogram<u64>,
    /// This socket's own sends that were acknowledged, by number.
    acked: NumberSet,
    /// The peer's messages that arrived, by number.
    from_peer: NumberSet,
    duplicates: u64,
    measured: u64,
    /// The last event's cursor, from where a sync can continue.
    cursor: Option<String>,
    ended_early: bool,
}

enum Flow {
    Continue,
    Stop,
}

impl Receiver {
    fn new(
        index: usize,
        peer_account_id: String,
        window: Arc<Semaphore>,
        plan: Arc<Plan>,
        tallies: Arc<Tallies>,
    ) -> Receiver {
        let latencies =
            Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("the latency bounds are valid");
        Receiver {
            index,
            peer_account_id,
            window,
            plan,
            tallies,
            received: Received {
                latencies,
                acked: NumberSet::default(),
                from_peer: NumberSet::default(),
                duplicates: 0,
                measured: 0,
                cursor: None,
                ended_early: false,
            },
        }
    }

    /// Reads until told to stop or until the socket ends.
    async fn run(
        mut self,
        mut socket: SocketReceiver,
        mut stop: watch::Receiver<bool>,
    ) -> (Received, SocketReceiver) {
        loop {
            let next = tokio::select! {
                _ = stop.changed() => break,
                next = socket.next() => next,
            };
            let flow = match next {
                Some(Ok(incoming)) => self.handle(incoming),
                Some(Err(ClientError::Decode(detail))) => {
                    self.error(format!("undecodable message: {detail}"));
                    Flow::Continue
                }
                Some(Err(error)) => self.ended(format!("failed: {error}")),
                None => self.ended("ended without a close frame".to_owned()),
            };
            if let Flow::Stop = flow {
                break;
            }
        }
        (self.received, socket)
    }

    fn handle(&mut self, incoming: Incoming) -> Flow {
        match incoming {
            Incoming::Event(event) => {
                self.event(&event);
                self.received.cursor = Some(event.cursor);
            }
            Incoming::Frame(ServerFrame::Ack { client_msg_id, .. }) => self.ack(&client_msg_id),
            Incoming::Frame(ServerFrame::Error {
                client_msg_id,
                code,
                detail,
                ..
            }) => {
                // An error answers a send as an ack would: the slot is free.
                if client_msg_id.is_some() {
                    self.window.add_permits(1);
                }
                self.error(format!("error frame {code}: {detail}"));
            }
            Incoming::Frame(ServerFrame::Synced { .. } | ServerFrame::Pong) => {}
            Incoming::Ephemeral(_) => {}
            Incoming::Closed { code, reason } => {
                return self.ended(format!("closed by the server: {code} {reason}"));
            }
        }
        Flow::Continue
    }

    fn ack(&mut self, client_msg_id: &str) {
        self.window.add_permits(1);
        let Some(number) = message_number(client_msg_id) else {
            return self.error(format!(
                "ack for an unknown client_msg_id {client_msg_id:?}"
            ));
        };
        if self.received.acked.insert(number) {
            self.tallies.accounts[self.index]
                .acked
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts and times the peer's messages; this account's own echoes and
    /// other events are not what is measured.
    fn event(&mut self, event: &EventView) {
        let arrived_at_us = self.plan.micros_at(Instant::now());
        let (number, sent_at_us) = match peer_message(event, &self.peer_account_id) {
            PeerMessage::Bench { number, sent_at_us } => (number, sent_at_us),
            PeerMessage::Stranger => {
                let note = "a message from the peer that the bench did not send";
                return self.error(note.to_owned());
            }
            PeerMessage::NotOne => return,
        };
        if !self.received.from_peer.insert(number) {
            self.received.duplicates += 1;
            return;
        }
        self.tallies.accounts[self.index]
            .received_from_peer
            .fetch_add(1, Ordering::Relaxed);
        if self.plan.is_measured(sent_at_us) {
            let latency_us = arrived_at_us.saturating_sub(sent_at_us).max(1);
            self.received.latencies.saturating_record(latency_us);
            self.received.measured += 1;
        }
    }

    fn error(&mut self, note: String) {
        self.tallies.error_frames.fetch_add(1, Ordering::Relaxed);
        self.tallies.note(format!("socket {}: {note}", self.index));
    }

    /// The socket is over before the bench ended it: no more acks will come,
    /// so the sender must not wait for them.
    fn ended(&mut self, note: String) -> Flow {
        self.window.close();
        self.received.ended_early = true;
        self.tallies.accounts[self.index]
            .socket_ended
            .store(true, Ordering::Relaxed);
        self.tallies.closes.fetch_add(1, Ordering::Relaxed);
        self.tallies.note(format!("socket {}: {note}", self.index));
        Flow::Stop
    }
}

/// What an event is to the bench.
enum PeerMessage {
    /// A message the peer sent in this run: its number and send time.
    Bench { number: u64, sent_at_us: u64 },
    /// A message from the peer that does not look like the bench's.
    Stranger,
    /// Not a message from the peer: an echo of our own, or another event.
    NotOne,
}

fn peer_message(event: &EventView, peer_account_id: &str) -> PeerMessage {
    if event.type_ != "message.new" || field(event, "sender") != Some(peer_account_id) {
        return PeerMessage::NotOne;
    }
    let number = field(event, "client_msg_id").and_then(message_number);
    let sent_at_us = field(event, "text").and_then(|text| text.parse::<u64>().ok());
    match (number, sent_at_us) {
        (Some(number), Some(sent_at_us)) => PeerMessage::Bench { number, sent_at_us },
        _ => PeerMessage::Stranger,
    }
}

fn field<'event>(event: &'event EventView, name: &str) -> Option<&'event str> {
    event.fields.get(name).and_then(serde_json::Value::as_str)
}

/// A set of message numbers, which are small and dense: a bitmap.
#[derive(Default)]
struct NumberSet {
    words: Vec<u64>,
}

impl NumberSet {
    /// Adds `number`; false when it was already there.
    fn insert(&mut self, number: u64) -> bool {
        let (word, bit) = ((number / 64) as usize, number % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let fresh = self.words[word] & (1 << bit) == 0;
        self.words[word] |= 1 << bit;
        fresh
    }

    fn len(&self) -> u64 {
        self.words
            .iter()
            .map(|word| u64::from(word.count_ones()))
            .sum()
    }

    fn contains(&self, number: u64) -> bool {
        let (word, bit) = ((number / 64) as usize, number % 64);
        self.words
            .get(word)
            .is_some_and(|word| word & (1 << bit) != 0)
    }

    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.words.iter().enumerate().flat_map(|(index, &word)| {
            (0..64)
                .filter(move |bit| word & (1 << bit) != 0)
                .map(move |bit| index as u64 * 64 + bit)
        })
    }
}

// ----------------------------------------------------------------- recovery

/// A socket can end early for a legitimate reason: the server drops a
/// device whose queue is full and expects it to catch up by sync. Without
/// this, the peer's later messages would look lost. As a real client would,
/// each such account pulls its log over HTTP from the last cursor its
/// socket saw; what turns up there was delivered, not lost. Returns how
/// many messages were found this way.
async fn recover_by_sync(
    accounts: &[setup::Account],
    received: &mut [Received],
) -> anyhow::Result<u64> {
    let mut recovered = 0;
    for (index, socket) in received.iter_mut().enumerate() {
        if !socket.ended_early {
            continue;
        }
        let peer_account_id = &accounts[peer_of(index)].account_id;
        let device = &accounts[index].device;
        let deadline = Instant::now() + Duration::from_secs(RECOVERY_WAIT_S);
        let mut since = socket.cursor.clone();
        // Each page but the last has at least one event, and the log holds
        // one event per send of either peer, plus a few others.
        let pages_max = socket.acked.len() + socket.from_peer.len() + 1000;
        for _ in 0..pages_max {
            if Instant::now() > deadline {
                bail!("catching up socket {index} by sync took over {RECOVERY_WAIT_S} s");
            }
            let page = device
                .sync(since.as_deref(), Some(RECOVERY_PAGE_LEN), None)
                .await
                .with_context(|| format!("cannot catch up socket {index} by sync"))?;
            for event in &page.events {
                if let PeerMessage::Bench { number, .. } = peer_message(event, peer_account_id) {
                    if socket.from_peer.insert(number) {
                        recovered += 1;
                    } else {
                        socket.duplicates += 1;
                    }
                }
            }
            since = Some(page.cursor);
            if !page.has_more {
                break;
            }
        }
    }
    Ok(recovered)
}

// ------------------------------------------------------------------ the end

async fn join_tasks<T>(tasks: Vec<JoinHandle<T>>) -> anyhow::Result<Vec<T>> {
    join_all(tasks)
        .await
        .into_iter()
        .map(|joined| joined.context("a bench task panicked"))
        .collect()
}

/// Closes every socket with a close handshake, all at once, each bounded.
async fn close_sockets(sockets: impl IntoIterator<Item = (SocketSender, SocketReceiver)>) {
    let closing = sockets
        .into_iter()
        .map(|(mut sender, mut receiver)| async move {
            let handshake = async {
                let _ = sender.close().await;
                while receiver.next().await.is_some() {}
            };
            let _ = tokio::time::timeout(Duration::from_millis(CLOSE_WAIT_MS), handshake).await;
        });
    join_all(closing).await;
}

// ------------------------------------------------------------------ report

/// The server's resident memory around the run, when it can be read.
struct Memory {
    start_kib: Option<u64>,
    end_kib: Option<u64>,
    peak_kib: Option<u64>,
}

/// How the messages fared, once every socket is done.
struct Delivery<'run> {
    /// Sends in the measurement window.
    sent_measured: u64,
    received: &'run [Received],
    /// Found by sync for sockets that ended early.
    recovered: u64,
}

fn report(args: &MessagingArgs, delivery: &Delivery, tallies: &Tallies, memory: &Memory) -> Report {
    let received = delivery.received;
    let mut latencies = Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, 3)
        .expect("the latency bounds are valid");
    for socket in received {
        latencies
            .add(&socket.latencies)
            .expect("histograms with the same bounds add up");
    }
    let latency_ms = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    let received_measured: u64 = received.iter().map(|socket| socket.measured).sum();
    let duplicates: u64 = received.iter().map(|socket| socket.duplicates).sum();
    let lost = count_lost(received);
    let accounts = args.accounts as u64;
    let throughput = received_measured as f64 / args.duration_s as f64;
    let closes = tallies.closes.load(Ordering::Relaxed);
    let errors = tallies.error_frames.load(Ordering::Relaxed);

    let mut report = Report::new("messaging");
    report.count("accounts", "accounts", accounts, "");
    report.count("conversations", "direct conversations", accounts / 2, "");
    report.count(
        "rate_target_per_s",
        "target rate (0: flat out)",
        args.rate,
        "msg/s",
    );
    report.count("window", "window per socket", args.window as u64, "sends");
    report.count("warmup_s", "warm-up", args.warmup_s, "s");
    report.count("duration_s", "measured for", args.duration_s, "s");
    report.count("sent", "messages sent", tallies.total(|t| &t.sent), "");
    report.count("acked", "messages acked", tallies.total(|t| &t.acked), "");
    let received_total = tallies.total(|t| &t.received_from_peer);
    report.count("received", "received live by peer", received_total, "");
    report.count(
        "sent_measured",
        "sent after warm-up",
        delivery.sent_measured,
        "",
    );
    report.count(
        "received_measured",
        "of those, received",
        received_measured,
        "",
    );
    report.measure("throughput_per_s", "throughput", throughput, 0, "msg/s");
    report.measure("latency_p50_ms", "latency p50", latency_ms(0.5), 2, "ms");
    report.measure("latency_p90_ms", "latency p90", latency_ms(0.9), 2, "ms");
    report.measure("latency_p99_ms", "latency p99", latency_ms(0.99), 2, "ms");
    report.measure(
        "latency_p999_ms",
        "latency p99.9",
        latency_ms(0.999),
        2,
        "ms",
    );
    report.measure("latency_max_ms", "latency max", latency_ms(1.0), 2, "ms");
    report.count("lost", "lost (acked, never received)", lost, "");
    report.count("duplicates", "received twice", duplicates, "");
    report.count("errors", "errors", errors, "");
    report.count("closes", "sockets closed early", closes, "");
    report.count(
        "recovered",
        "recovered by sync after a close",
        delivery.recovered,
        "",
    );
    report.memory_mib(
        "server_rss_start_mib",
        "server RSS at start",
        memory.start_kib,
    );
    report.memory_mib("server_rss_end_mib", "server RSS at end", memory.end_kib);
    report.memory_mib("server_rss_peak_mib", "server RSS peak", memory.peak_kib);

    let notes = tallies
        .notes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for note in notes.iter() {
        eprintln!("note: {note}");
    }
    if lost > 0 {
        report.fail(format!(
            "{lost} acknowledged messages never reached the peer \
             (waited {DELIVERY_WAIT_S} s, then caught up by sync)"
        ));
    }
    if duplicates > 0 {
        report.fail(format!("{duplicates} messages reached the peer twice"));
    }
    if received_measured == 0 {
        report.fail("no message was delivered after the warm-up".to_owned());
    }
    report
}

/// Messages acknowledged to their sender that the peer never saw, counted
/// one by one rather than by totals, so a duplicate cannot hide a loss.
fn count_lost(received: &[Received]) -> u64 {
    (0..received.len())
        .map(|index| {
            let peer = &received[peer_of(index)].from_peer;
            let sent = &received[index].acked;
            sent.iter().filter(|&number| !peer.contains(number)).count() as u64
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_set_remembers_what_it_holds() {
        let mut set = NumberSet::default();
        assert!(set.insert(0));
        assert!(set.insert(64));
        assert!(set.insert(1000));
        assert!(!set.insert(64));
        assert!(set.contains(1000));
        assert!(!set.contains(999));
        assert!(!set.contains(1_000_000));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 64, 1000]);
    }

    #[test]
    fn message_ids_round_trip_and_strangers_are_refused() {
        assert_eq!(message_number(&message_id(42)), Some(42));
        assert_eq!(message_number("x42"), None);
        assert_eq!(message_number("m"), None);
        assert_eq!(message_number(&message_id(SENDS_PER_SOCKET_MAX)), None);
    }

    #[test]
    fn peers_come_in_pairs() {
        assert_eq!(
            (peer_of(0), peer_of(1), peer_of(6), peer_of(7)),
            (1, 0, 7, 6)
        );
    }
}
