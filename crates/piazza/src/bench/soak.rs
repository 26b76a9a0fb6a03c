//! `piazza bench soak`: many WebSockets held open for minutes while a
//! steady trickle of messages flows between random pairs of them. What it
//! proves is endurance rather than speed: the server's memory stays flat,
//! no socket is dropped (so pings and pongs keep idle sockets alive past
//! the idle timeout), and every acknowledged message reaches its peer's
//! socket exactly once.
//!
//! Accounts come in direct pairs, one socket each. One scheduler picks a
//! random pair and direction per tick and sends over the sender's socket;
//! every socket's reader checks acks and deliveries against one ledger of
//! all messages sent. Every `--sample-s` seconds the server's RSS is read
//! from `/proc` and a progress line printed; at the end the memory trend is
//! fitted by least squares over the samples after the warm-up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::future::join_all;
use hdrhistogram::Histogram;
use piazza_api::{ClientFrame, EventView, ServerFrame};
use piazza_client::{Client, ClientError, Incoming, SocketReceiver, SocketSender};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::progress;
use super::report::Report;
use super::server::Server;
use super::setup;

#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// WebSockets to hold open, one per account, accounts in direct pairs
    /// (an even number)
    #[arg(long, default_value_t = 10_000)]
    pub sockets: usize,
    /// How long to hold them open while messages trickle
    #[arg(long, default_value_t = 600)]
    pub duration_s: u64,
    /// Messages per second, all sockets together, between random pairs
    #[arg(long, default_value_t = 200)]
    pub rate: u64,
    /// Seconds between two readings of the server's memory
    #[arg(long, default_value_t = 30)]
    pub sample_s: u64,
    /// Readings before this are left out of the memory trend: the server's
    /// allocator and the store's caches settle first
    #[arg(long, default_value_t = 60)]
    pub warmup_s: u64,
}

const SOCKETS_MAX: usize = 100_000;
const DURATION_S_MAX: u64 = 24 * 3600;
const RATE_MAX: u64 = 100_000;
const SAMPLE_S_MAX: u64 = 3600;
/// Messages in one run, at most: bounds the ledger, one entry each.
const MESSAGES_MAX: u64 = 50_000_000;
/// Memory counts as flat when its trend grows less than this share of the
/// starting RSS (in thousandths) over `FLAT_WINDOW_MIN` minutes.
const FLAT_PER_MILLE: u64 = 10;
const FLAT_WINDOW_MIN: u64 = 10;
/// How long acknowledged messages may take to reach the peer after sending
/// stops, before the missing ones count as lost.
const DELIVERY_WAIT_S: u64 = 10;
const DELIVERY_POLL_MS: u64 = 50;
/// How long closing one socket may take.
const CLOSE_WAIT_MS: u64 = 5000;
/// Latencies above this are recorded as this (microseconds).
const LATENCY_US_MAX: u64 = 600_000_000;
/// Error details kept for the report; the rest are only counted.
const NOTES_MAX: usize = 5;

pub async fn run(server: &mut Server, args: &SoakArgs) -> anyhow::Result<Report> {
    validate(args)?;
    let anonymous = Client::new(server.base_url());
    let accounts = setup::create_accounts(&anonymous, args.sockets).await?;
    let conversations = setup::pair_up(&accounts).await?;
    let sockets = {
        let count = accounts.len();
        let (status, done) = progress::counting(format!("opening {count} sockets"), count as u64);
        let sockets =
            setup::connect_sockets(accounts.iter().map(|a| a.device.clone()), &done).await;
        status.finish();
        sockets?
    };
    server.ensure_alive().await?;

    let origin = Instant::now();
    let ledger = Arc::new(Ledger::new(origin));
    let (stop, stop_signal) = watch::channel(false);
    let mut senders = Vec::with_capacity(sockets.len());
    let mut readers = Vec::with_capacity(sockets.len());
    for (index, socket) in sockets.into_iter().enumerate() {
        let (sender, receiver) = socket.split();
        senders.push(tokio::sync::Mutex::new(sender));
        let reader = Reader {
            index,
            account_id: accounts[index].account_id.clone(),
            ledger: Arc::clone(&ledger),
        };
        readers.push(tokio::spawn(reader.run(receiver, stop_signal.clone())));
    }
    let senders = Arc::new(senders);

    let end = origin + Duration::from_secs(args.duration_s);
    let scheduler = tokio::spawn(schedule(
        args.rate,
        end,
        Arc::new(conversations),
        Arc::clone(&senders),
        Arc::clone(&ledger),
    ));
    let samples = match sample_until(server, args, &ledger, end).await {
        Ok(samples) => samples,
        Err(error) => {
            scheduler.abort();
            return Err(error);
        }
    };
    let in_flight = scheduler.await.context("the scheduler panicked")?;
    join_all(in_flight).await;
    server.ensure_alive().await?;
    wait_for_delivery(&ledger).await;
    let peak_kib = server.peak_rss_kib();

    stop.send_replace(true);
    let receivers: Vec<SocketReceiver> = join_all(readers)
        .await
        .into_iter()
        .map(|joined| joined.context("a socket reader panicked"))
        .collect::<anyhow::Result<_>>()?;
    let senders = Arc::try_unwrap(senders)
        .map_err(|_| anyhow::anyhow!("a send task outlived the run"))?
        .into_iter()
        .map(tokio::sync::Mutex::into_inner);
    close_sockets(senders.zip(receivers)).await;

    print_samples(&samples);
    Ok(report(args, &ledger, &samples, peak_kib))
}

fn validate(args: &SoakArgs) -> anyhow::Result<()> {
    if args.sockets < 2 || !args.sockets.is_multiple_of(2) || args.sockets > SOCKETS_MAX {
        bail!("--sockets must be even, from 2 to {SOCKETS_MAX}");
    }
    if args.duration_s == 0 || args.duration_s > DURATION_S_MAX {
        bail!("--duration-s must be from 1 to {DURATION_S_MAX}");
    }
    if args.rate == 0 || args.rate > RATE_MAX {
        bail!("--rate must be from 1 to {RATE_MAX}");
    }
    if args.rate.saturating_mul(args.duration_s) > MESSAGES_MAX {
        bail!("--rate × --duration-s must be at most {MESSAGES_MAX} messages");
    }
    if args.sample_s == 0 || args.sample_s > SAMPLE_S_MAX {
        bail!("--sample-s must be from 1 to {SAMPLE_S_MAX}");
    }
    if args.warmup_s >= args.duration_s {
        bail!("--warmup-s must be shorter than --duration-s");
    }
    Ok(())
}

// ------------------------------------------------------------------ ledger

/// Every message of the run, indexed by its number (its `client_msg_id` is
/// `s<number>`), and the tallies, under one lock: at a trickle's rate the
/// lock is never contended for long.
struct Ledger {
    origin: Instant,
    state: Mutex<LedgerState>,
    /// Sockets that ended before the bench closed them.
    disconnects: AtomicU64,
}

struct LedgerState {
    messages: Vec<Entry>,
    sent: u64,
    acked: u64,
    delivered: u64,
    doubled: u64,
    errors: u64,
    latencies: Histogram<u64>,
    notes: Vec<String>,
}

struct Entry {
    from: u32,
    to: u32,
    /// When it was due, in microseconds since `origin`.
    due_us: u64,
    /// The send reached the socket (a failed send is an error instead).
    sent: bool,
    acked: bool,
    deliveries: u32,
}

impl Ledger {
    fn new(origin: Instant) -> Ledger {
        Ledger {
            origin,
            state: Mutex::new(LedgerState {
                messages: Vec::new(),
                sent: 0,
                acked: 0,
                delivered: 0,
                doubled: 0,
                errors: 0,
                latencies: Histogram::new_with_bounds(1, LATENCY_US_MAX, 3)
                    .expect("the latency bounds are valid"),
                notes: Vec::new(),
            }),
            disconnects: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LedgerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn micros_now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Acknowledged messages not yet seen by their peer, plus sends not yet
    /// acknowledged.
    fn outstanding(&self) -> u64 {
        let state = self.lock();
        let unacked = state.sent.saturating_sub(state.acked);
        let undelivered = state.acked.saturating_sub(state.delivered);
        unacked + undelivered
    }
}

impl LedgerState {
    fn error(&mut self, note: String) {
        self.errors += 1;
        self.note(note);
    }

    fn note(&mut self, note: String) {
        if self.notes.len() < NOTES_MAX {
            self.notes.push(note);
        }
    }
}

fn message_id(number: usize) -> String {
    format!("s{number}")
}

fn message_number(client_msg_id: &str) -> Option<usize> {
    client_msg_id.strip_prefix('s')?.parse().ok()
}

// ----------------------------------------------------------------- sending

/// Sends `rate` messages a second until `end`, each from a random member of
/// a random pair to the other, and answers the send tasks still running.
async fn schedule(
    rate: u64,
    end: Instant,
    conversations: Arc<Vec<String>>,
    senders: Arc<Vec<tokio::sync::Mutex<SocketSender>>>,
    ledger: Arc<Ledger>,
) -> Vec<JoinHandle<()>> {
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    // From the run's origin, so `rate × duration` messages are offered
    // however long the sockets took to be split and read.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::from_std(ledger.origin), period);
    // Behind schedule, catch up, so the offered rate is the one asked for;
    // sends carry their due time, so the wait shows up as latency.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let end = tokio::time::Instant::from_std(end);
    let pairs = conversations.len() as u64;
    let mut in_flight: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let due = tokio::select! {
            due = ticks.tick() => due,
            _ = tokio::time::sleep_until(end) => break,
        };
        if due >= end {
            break;
        }
        let pair = rand::random::<u64>() % pairs;
        let from = (pair * 2 + rand::random::<u64>() % 2) as usize;
        let due_us = u64::try_from(
            due.into_std()
                .saturating_duration_since(ledger.origin)
                .as_micros(),
        )
        .unwrap_or(u64::MAX);
        let number = {
            let mut state = ledger.lock();
            state.messages.push(Entry {
                from: from as u32,
                to: (from ^ 1) as u32,
                due_us,
                sent: false,
                acked: false,
                deliveries: 0,
            });
            state.messages.len() - 1
        };
        let frame = ClientFrame::Send {
            conversation_id: conversations[pair as usize].clone(),
            client_msg_id: message_id(number),
            message: piazza_api::MessageContent::text(format!("soak {number}")),
        };
        let senders = Arc::clone(&senders);
        let ledger = Arc::clone(&ledger);
        // Finished sends are dropped as we go, so the list stays short.
        in_flight.retain(|task| !task.is_finished());
        in_flight.push(tokio::spawn(async move {
            let sent = senders[from].lock().await.send(&frame).await;
            let mut state = ledger.lock();
            match sent {
                Ok(()) => {
                    state.sent += 1;
                    state.messages[number].sent = true;
                }
                Err(error) => state.error(format!("socket {from}: send failed: {error}")),
            }
        }));
    }
    in_flight
}

// ----------------------------------------------------------------- reading

/// Reads one socket until told to stop: acks of its own sends, its peer's
/// messages (checked against the ledger), errors.
struct Reader {
    index: usize,
    account_id: String,
    ledger: Arc<Ledger>,
}

impl Reader {
    async fn run(
        self,
        mut socket: SocketReceiver,
        mut stop: watch::Receiver<bool>,
    ) -> SocketReceiver {
        loop {
            let next = tokio::select! {
                _ = stop.changed() => break,
                next = socket.next() => next,
            };
            let ended = match next {
                Some(Ok(Incoming::Event(event))) => {
                    self.event(&event);
                    None
                }
                Some(Ok(Incoming::Frame(frame))) => {
                    self.frame(frame);
                    None
                }
                Some(Ok(Incoming::Ephemeral(_))) => None,
                Some(Ok(Incoming::Closed { code, reason })) => {
                    Some(format!("closed by the server: {code} {reason}"))
                }
                Some(Err(ClientError::Decode(detail))) => {
                    let note = format!("socket {}: undecodable message: {detail}", self.index);
                    self.ledger.lock().error(note);
                    None
                }
                Some(Err(error)) => Some(format!("failed: {error}")),
                None => Some("ended without a close frame".to_owned()),
            };
            if let Some(why) = ended {
                self.ledger.disconnects.fetch_add(1, Ordering::Relaxed);
                self.ledger
                    .lock()
                    .note(format!("socket {}: {why}", self.index));
                break;
            }
        }
        socket
    }

    fn frame(&self, frame: ServerFrame) {
        let mut guard = self.ledger.lock();
        let state = &mut *guard;
        match frame {
            ServerFrame::Ack { client_msg_id, .. } => {
                let entry = message_number(&client_msg_id)
                    .and_then(|number| state.messages.get_mut(number))
                    .filter(|entry| entry.from as usize == self.index);
                match entry {
                    Some(entry) if !entry.acked => {
                        entry.acked = true;
                        state.acked += 1;
                    }
                    Some(_) => state.error(format!(
                        "socket {}: {client_msg_id} acknowledged twice",
                        self.index
                    )),
                    None => state.error(format!(
                        "socket {}: ack for a send it did not make: {client_msg_id:?}",
                        self.index
                    )),
                }
            }
            ServerFrame::Error { code, detail, .. } => {
                state.error(format!(
                    "socket {}: error frame {code}: {detail}",
                    self.index
                ));
            }
            _ => {}
        }
    }

    /// Counts and times a message from the peer; this account's own echoes
    /// and other events are not what is checked.
    fn event(&self, event: &EventView) {
        if event.type_ != "message.new" || field(event, "sender") == Some(self.account_id.as_str())
        {
            return;
        }
        let arrived_us = self.ledger.micros_now();
        let mut guard = self.ledger.lock();
        let state = &mut *guard;
        let number = field(event, "client_msg_id").and_then(message_number);
        let entry = number
            .and_then(|number| state.messages.get_mut(number))
            .filter(|entry| entry.to as usize == self.index);
        let Some(entry) = entry else {
            let note = format!(
                "socket {}: a message the bench did not send to it: {:?}",
                self.index,
                field(event, "client_msg_id")
            );
            return state.error(note);
        };
        entry.deliveries += 1;
        let (first, due_us) = (entry.deliveries == 1, entry.due_us);
        if first {
            state.delivered += 1;
            let latency_us = arrived_us.saturating_sub(due_us).max(1);
            state.latencies.saturating_record(latency_us);
        } else {
            state.doubled += 1;
        }
    }
}

fn field<'event>(event: &'event EventView, name: &str) -> Option<&'event str> {
    event.fields.get(name).and_then(serde_json::Value::as_str)
}

// ---------------------------------------------------------------- sampling

/// One reading of the server and of the tallies.
#[derive(Debug, Clone, Copy)]
struct Sample {
    elapsed_s: u64,
    rss_kib: Option<u64>,
    open: u64,
    sent: u64,
    acked: u64,
    delivered: u64,
    errors: u64,
}

/// Reads the server every `sample_s` from now until `end` (and once at
/// `end`), printing a progress line for each reading.
async fn sample_until(
    server: &mut Server,
    args: &SoakArgs,
    ledger: &Ledger,
    end: Instant,
) -> anyhow::Result<Vec<Sample>> {
    let period = Duration::from_secs(args.sample_s);
    let mut samples = Vec::new();
    let mut next = ledger.origin;
    loop {
        let now = Instant::now();
        if now < next {
            tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
        }
        server.ensure_alive().await?;
        let sample = {
            let state = ledger.lock();
            Sample {
                elapsed_s: ledger.origin.elapsed().as_secs(),
                rss_kib: server.rss_kib(),
                open: (args.sockets as u64)
                    .saturating_sub(ledger.disconnects.load(Ordering::Relaxed)),
                sent: state.sent,
                acked: state.acked,
                delivered: state.delivered,
                errors: state.errors,
            }
        };
        eprintln!(
            "soak… {:>4}/{} s  rss {}  sockets {}  sent {}  acked {}  delivered {}  errors {}",
            sample.elapsed_s,
            args.duration_s,
            sample.rss_kib.map_or("n/a".to_owned(), |kib| format!(
                "{:.1} MiB",
                kib as f64 / 1024.0
            )),
            sample.open,
            sample.sent,
            sample.acked,
            sample.delivered,
            sample.errors,
        );
        samples.push(sample);
        if next >= end {
            return Ok(samples);
        }
        next = (next + period).min(end);
    }
}

fn print_samples(samples: &[Sample]) {
    eprintln!("samples (t s: server RSS MiB):");
    let line: Vec<String> = samples
        .iter()
        .map(|sample| match sample.rss_kib {
            Some(kib) => format!("{}: {:.1}", sample.elapsed_s, kib as f64 / 1024.0),
            None => format!("{}: n/a", sample.elapsed_s),
        })
        .collect();
    eprintln!("  {}", line.join(" · "));
}

/// Waits, boundedly, until every send is acknowledged and delivered.
async fn wait_for_delivery(ledger: &Arc<Ledger>) {
    let ledger = Arc::clone(ledger);
    progress::wait_until_none(
        "waiting for the last deliveries",
        Duration::from_secs(DELIVERY_WAIT_S),
        Duration::from_millis(DELIVERY_POLL_MS),
        move || ledger.outstanding(),
    )
    .await;
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

// ------------------------------------------------------------------ memory

/// The memory trend over the steady state.
#[derive(Debug, PartialEq)]
struct Trend {
    start_kib: u64,
    min_kib: u64,
    max_kib: u64,
    /// The mean of the middle two for an even count.
    median_kib: u64,
    /// Least-squares slope, KiB per minute.
    slope_kib_per_min: f64,
    flat: bool,
}

/// Fits the samples taken at or after `warmup_s`; None with fewer than two
/// readings (a server whose memory cannot be read, or too short a run).
fn trend(samples: &[Sample], warmup_s: u64) -> Option<Trend> {
    let points: Vec<(f64, u64)> = samples
        .iter()
        .filter(|sample| sample.elapsed_s >= warmup_s)
        .filter_map(|sample| Some((sample.elapsed_s as f64 / 60.0, sample.rss_kib?)))
        .collect();
    if points.len() < 2 {
        return None;
    }
    let count = points.len() as f64;
    let mean_t = points.iter().map(|(t, _)| t).sum::<f64>() / count;
    let mean_kib = points.iter().map(|&(_, kib)| kib as f64).sum::<f64>() / count;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for &(t, kib) in &points {
        covariance += (t - mean_t) * (kib as f64 - mean_kib);
        variance += (t - mean_t) * (t - mean_t);
    }
    if variance <= 0.0 {
        return None;
    }
    let slope_kib_per_min = covariance / variance;
    let mut sorted: Vec<u64> = points.iter().map(|&(_, kib)| kib).collect();
    sorted.sort_unstable();
    let start_kib = points[0].1;
    let allowed_kib = (start_kib * FLAT_PER_MILLE / 1000) as f64;
    Some(Trend {
        start_kib,
        min_kib: sorted[0],
        median_kib: (sorted[(sorted.len() - 1) / 2] + sorted[sorted.len() / 2]) / 2,
        max_kib: sorted[sorted.len() - 1],
        slope_kib_per_min,
        flat: slope_kib_per_min * (FLAT_WINDOW_MIN as f64) < allowed_kib,
    })
}

// ------------------------------------------------------------------ report

fn report(args: &SoakArgs, ledger: &Ledger, samples: &[Sample], peak_kib: Option<u64>) -> Report {
    let state = ledger.lock();
    let disconnects = ledger.disconnects.load(Ordering::Relaxed);
    let unacked = state
        .messages
        .iter()
        .filter(|entry| entry.sent && !entry.acked)
        .count() as u64;
    let lost = state
        .messages
        .iter()
        .filter(|entry| entry.acked && entry.deliveries == 0)
        .count() as u64;
    let latency_ms = |quantile: f64| state.latencies.value_at_quantile(quantile) as f64 / 1000.0;

    let mut report = Report::new("soak");
    report.count(
        "sockets",
        "sockets (one per account)",
        args.sockets as u64,
        "",
    );
    report.count("duration_s", "held open for", args.duration_s, "s");
    report.count("rate_per_s", "target rate", args.rate, "msg/s");
    report.count("samples", "memory readings", samples.len() as u64, "");
    report.count("sent", "messages sent", state.sent, "");
    report.count("acked", "messages acked", state.acked, "");
    report.count("delivered", "delivered to the peer", state.delivered, "");
    report.measure(
        "latency_p50_ms",
        "send→deliver p50",
        latency_ms(0.5),
        2,
        "ms",
    );
    report.measure(
        "latency_p99_ms",
        "send→deliver p99",
        latency_ms(0.99),
        2,
        "ms",
    );
    report.measure(
        "latency_max_ms",
        "send→deliver max",
        latency_ms(1.0),
        2,
        "ms",
    );
    report.count("errors", "errors", state.errors, "");
    report.count("disconnects", "sockets dropped", disconnects, "");
    report.count("unacked", "sent, never acked", unacked, "");
    report.count("lost", "lost (acked, never delivered)", lost, "");
    report.count("doubled", "delivered twice", state.doubled, "");

    let trend = trend(samples, args.warmup_s);
    let kib = |pick: fn(&Trend) -> u64| trend.as_ref().map(pick);
    report.count("warmup_s", "memory trend from", args.warmup_s, "s");
    report.memory_mib(
        "rss_start_mib",
        "server RSS at start of trend",
        kib(|t| t.start_kib),
    );
    report.memory_mib("rss_min_mib", "server RSS min", kib(|t| t.min_kib));
    report.memory_mib("rss_median_mib", "server RSS median", kib(|t| t.median_kib));
    report.memory_mib("rss_max_mib", "server RSS max", kib(|t| t.max_kib));
    report.memory_mib("rss_peak_mib", "server RSS peak (VmHWM)", peak_kib);
    match &trend {
        Some(trend) => {
            report.measure(
                "rss_slope_kib_per_min",
                "server RSS slope",
                trend.slope_kib_per_min,
                1,
                "KiB/min",
            );
            let verdict = if trend.flat { "flat" } else { "GROWING" };
            report.text(
                "memory",
                "memory (slope < 1% of start per 10 min)",
                verdict.to_owned(),
            );
        }
        None => report.text("memory", "memory verdict", "n/a".to_owned()),
    }

    for note in &state.notes {
        eprintln!("note: {note}");
    }
    if state.errors > 0 {
        report.fail(format!("{} errors", state.errors));
    }
    if disconnects > 0 {
        report.fail(format!("{disconnects} sockets were dropped"));
    }
    if unacked > 0 {
        report.fail(format!("{unacked} sends were never acknowledged"));
    }
    if lost > 0 {
        report.fail(format!(
            "{lost} acknowledged messages never reached the peer (waited {DELIVERY_WAIT_S} s)"
        ));
    }
    if state.doubled > 0 {
        report.fail(format!("{} messages reached the peer twice", state.doubled));
    }
    if state.delivered == 0 {
        report.fail("no message was delivered".to_owned());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(elapsed_s: u64, rss_kib: u64) -> Sample {
        Sample {
            elapsed_s,
            rss_kib: Some(rss_kib),
            open: 0,
            sent: 0,
            acked: 0,
            delivered: 0,
            errors: 0,
        }
    }

    #[test]
    fn message_ids_round_trip_and_strangers_are_refused() {
        assert_eq!(message_number(&message_id(42)), Some(42));
        assert_eq!(message_number("m42"), None);
        assert_eq!(message_number("s"), None);
        assert_eq!(message_number("s-1"), None);
    }

    #[test]
    fn the_trend_skips_the_warm_up_and_fits_a_line() {
        // 1,000 KiB a minute after a warm-up spike that must not count.
        let samples = [
            sample(0, 50_000),
            sample(60, 100_000),
            sample(120, 101_000),
            sample(180, 102_000),
            sample(240, 103_000),
        ];
        let trend = trend(&samples, 60).expect("enough readings");
        assert!((trend.slope_kib_per_min - 1000.0).abs() < 1e-6);
        assert_eq!(
            (
                trend.start_kib,
                trend.min_kib,
                trend.median_kib,
                trend.max_kib
            ),
            (100_000, 100_000, 101_500, 103_000)
        );
        // 10,000 KiB in 10 minutes is 10% of the start: growing.
        assert!(!trend.flat);
    }

    #[test]
    fn noise_without_growth_is_flat() {
        let samples = [
            sample(60, 100_000),
            sample(90, 100_400),
            sample(120, 99_800),
            sample(150, 100_200),
            sample(180, 99_900),
        ];
        let trend = trend(&samples, 60).expect("enough readings");
        assert!(trend.flat, "{trend:?}");
    }

    #[test]
    fn too_few_readings_give_no_trend() {
        assert_eq!(trend(&[sample(60, 1)], 60), None);
        assert_eq!(trend(&[sample(0, 1), sample(30, 2)], 60), None);
    }
}
