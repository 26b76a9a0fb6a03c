//! `piazza bench catchup`: the lost-phone case at scale. A sends B a long
//! run of messages; then B, on a brand-new device, rebuilds its whole log
//! from scratch: once over `GET /api/v1/sync`, page by page, and once over a
//! WebSocket replay. Both must return every message, in `seq` order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use piazza_api::{ClientFrame, EventView, ServerFrame};
use piazza_client::{Client, ClientError, Incoming, SocketReceiver};
use tokio::sync::{Semaphore, watch};

use super::progress::StatusLine;
use super::report::Report;
use super::server::Server;
use super::setup::{self, Account};

#[derive(clap::Args, Debug)]
pub struct CatchupArgs {
    /// Messages A sends to B, which B's new device then pulls back
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
}

const EVENTS_MAX: u64 = 10_000_000;
/// Sends in flight on A's socket, as the server allows at most.
const SEND_WINDOW: usize = 256;
/// Events asked for per sync page; the server's maximum.
const SYNC_PAGE_LEN: u32 = piazza_domain::limits::SYNC_PAGE_LEN_MAX;
/// Time allowed for each phase: a fixed margin plus a floor rate well below
/// anything a healthy server does, so only a stuck run hits it.
const PHASE_MARGIN_S: u64 = 60;
const SEND_RATE_FLOOR_PER_S: u64 = 100;
const PULL_RATE_FLOOR_PER_S: u64 = 1000;
/// Events in B's log besides the messages (the contact request, the
/// contact, the conversation), with room to spare.
const OTHER_EVENTS_MAX: u64 = 1000;
/// How long closing A's socket may take.
const CLOSE_WAIT_MS: u64 = 2000;

pub async fn run(server: &mut Server, args: &CatchupArgs) -> anyhow::Result<Report> {
    if args.events == 0 || args.events > EVENTS_MAX {
        bail!("--events must be from 1 to {EVENTS_MAX}");
    }
    let anonymous = Client::new(server.base_url());
    let accounts = setup::create_accounts(&anonymous, 2).await?;
    let conversation_id = setup::pair_up(&accounts).await?.remove(0);
    let (a, b) = (&accounts[0], &accounts[1]);

    let sent = send_all(a, &conversation_id, args.events).await?;
    server.ensure_alive().await?;

    let log_len_max = sent.acked + OTHER_EVENTS_MAX;
    let http_device = setup::new_device(&anonymous, b, "catchup over http").await?;
    let over_http = pull_over_http(&http_device, &conversation_id, log_len_max).await?;
    let socket_device = setup::new_device(&anonymous, b, "catchup over socket").await?;
    let over_socket = pull_over_socket(&socket_device, &conversation_id, log_len_max).await?;
    server.ensure_alive().await?;

    let mut report = Report::new("catchup");
    report.count("messages", "messages sent", args.events, "");
    report.count("acked", "messages acked", sent.acked, "");
    report.measure("send_s", "time to send them", sent.seconds, 2, "s");
    report.measure(
        "send_per_s",
        "send rate",
        per_second(sent.acked, sent.seconds),
        0,
        "msg/s",
    );
    report.count("http_events", "events over HTTP sync", over_http.events, "");
    report.count("http_messages", "of which messages", over_http.messages, "");
    report.count("http_pages", "pages", over_http.pages, "");
    report.measure("http_s", "time over HTTP", over_http.seconds, 2, "s");
    let http_rate = per_second(over_http.events, over_http.seconds);
    report.measure(
        "http_events_per_s",
        "HTTP catch-up rate",
        http_rate,
        0,
        "events/s",
    );
    report.count(
        "socket_events",
        "events over WebSocket sync",
        over_socket.events,
        "",
    );
    report.count(
        "socket_messages",
        "of which messages",
        over_socket.messages,
        "",
    );
    report.measure(
        "socket_s",
        "time over WebSocket",
        over_socket.seconds,
        2,
        "s",
    );
    let socket_rate = per_second(over_socket.events, over_socket.seconds);
    report.measure(
        "socket_events_per_s",
        "WebSocket catch-up rate",
        socket_rate,
        0,
        "events/s",
    );
    report.memory_mib("server_rss_end_mib", "server RSS at end", server.rss_kib());
    report.memory_mib(
        "server_rss_peak_mib",
        "server RSS peak",
        server.peak_rss_kib(),
    );

    if let Some(problem) = &sent.first_problem {
        eprintln!("note: {problem}");
    }
    if sent.acked < args.events {
        report.fail(format!(
            "only {} of {} messages were acknowledged ({} errors)",
            sent.acked, args.events, sent.errors
        ));
    }
    for (how, pulled) in [("HTTP", &over_http), ("WebSocket", &over_socket)] {
        if pulled.messages < sent.acked {
            report.fail(format!(
                "{how} sync returned {} messages, but {} were acknowledged",
                pulled.messages, sent.acked
            ));
        }
        if pulled.order_faults > 0 {
            report.fail(format!(
                "{how} sync returned {} messages out of seq order (a gap or a repeat)",
                pulled.order_faults
            ));
        }
    }
    Ok(report)
}

fn per_second(count: u64, seconds: f64) -> f64 {
    count as f64 / seconds.max(f64::EPSILON)
}

fn phase_deadline(count: u64, floor_per_s: u64) -> Instant {
    Instant::now() + Duration::from_secs(PHASE_MARGIN_S + count / floor_per_s)
}

// ------------------------------------------------------------------ sending

struct Sending {
    acked: u64,
    errors: u64,
    first_problem: Option<String>,
    seconds: f64,
}

/// Sends `count` messages over one socket, pipelined, and waits for every
/// ack. The socket is read all along: its acks free window slots, and its
/// own echoes must be drained or the server would drop it as too slow.
async fn send_all(sender: &Account, conversation_id: &str, count: u64) -> anyhow::Result<Sending> {
    let deadline = tokio::time::Instant::from_std(phase_deadline(count, SEND_RATE_FLOOR_PER_S));
    let (mut outgoing, incoming) = sender.device.connect_socket().await?.split();
    let window = Arc::new(Semaphore::new(SEND_WINDOW));
    let acks = Arc::new(AckTally::default());
    let (stop, stop_signal) = watch::channel(false);
    let reader = tokio::spawn(read_acks(
        incoming,
        Arc::clone(&window),
        Arc::clone(&acks),
        stop_signal,
    ));
    let status = StatusLine::start({
        let acks = Arc::clone(&acks);
        move || {
            format!(
                "sending {count} messages… {count_acked}/{count} acked",
                count_acked = acks.acked.load(Ordering::Relaxed)
            )
        }
    });

    let started = Instant::now();
    for number in 0..count {
        let permit = tokio::select! {
            permit = window.acquire() => permit,
            _ = tokio::time::sleep_until(deadline) => break,
        };
        // Closed: the socket is gone and the reader has said why.
        let Ok(permit) = permit else { break };
        permit.forget();
        let frame = ClientFrame::Send {
            conversation_id: conversation_id.to_owned(),
            client_msg_id: format!("c{number}"),
            message: piazza_api::MessageContent::text(format!("catch-up message {number}")),
        };
        if let Err(error) = outgoing.send(&frame).await {
            acks.note(format!("send failed: {error}"));
            break;
        }
    }
    let all = u32::try_from(SEND_WINDOW).expect("the window fits in u32");
    let _ = tokio::time::timeout_at(deadline, window.acquire_many(all)).await;
    let seconds = started.elapsed().as_secs_f64();
    status.finish();

    stop.send_replace(true);
    let mut incoming = reader.await.context("the ack reader panicked")?;
    let handshake = async {
        let _ = outgoing.close().await;
        while incoming.next().await.is_some() {}
    };
    let _ = tokio::time::timeout(Duration::from_millis(CLOSE_WAIT_MS), handshake).await;

    let first_problem = acks
        .first_problem
        .lock()
        .ok()
        .and_then(|problem| problem.clone());
    Ok(Sending {
        acked: acks.acked.load(Ordering::Relaxed),
        errors: acks.errors.load(Ordering::Relaxed),
        first_problem,
        seconds,
    })
}

#[derive(Default)]
struct AckTally {
    acked: AtomicU64,
    errors: AtomicU64,
    first_problem: Mutex<Option<String>>,
}

impl AckTally {
    fn note(&self, problem: String) {
        if let Ok(mut first) = self.first_problem.lock() {
            first.get_or_insert(problem);
        }
    }
}

/// Counts acks and errors, freeing a window slot for each, until `stop`;
/// closes the window if the socket ends so the sender stops waiting.
async fn read_acks(
    mut incoming: SocketReceiver,
    window: Arc<Semaphore>,
    acks: Arc<AckTally>,
    mut stop: watch::Receiver<bool>,
) -> SocketReceiver {
    loop {
        let next = tokio::select! {
            _ = stop.changed() => break,
            next = incoming.next() => next,
        };
        match next {
            Some(Ok(Incoming::Frame(ServerFrame::Ack { .. }))) => {
                acks.acked.fetch_add(1, Ordering::Relaxed);
                window.add_permits(1);
            }
            Some(Ok(Incoming::Frame(ServerFrame::Error {
                client_msg_id,
                code,
                detail,
                ..
            }))) => {
                acks.errors.fetch_add(1, Ordering::Relaxed);
                acks.note(format!("error frame {code}: {detail}"));
                if client_msg_id.is_some() {
                    window.add_permits(1);
                }
            }
            Some(Ok(Incoming::Closed { code, reason })) => {
                acks.note(format!("the server closed A's socket: {code} {reason}"));
                window.close();
                break;
            }
            Some(Ok(_)) | Some(Err(ClientError::Decode(_))) => {}
            Some(Err(error)) => {
                acks.note(format!("A's socket failed: {error}"));
                window.close();
                break;
            }
            None => {
                acks.note("A's socket ended".to_owned());
                window.close();
                break;
            }
        }
    }
    incoming
}

// ------------------------------------------------------------------ pulling

/// What a catch-up returned.
#[derive(Default)]
struct Pulled {
    events: u64,
    /// `message.new` events of the bench's conversation.
    messages: u64,
    /// Messages whose seq was not one past the previous one.
    order_faults: u64,
    last_seq: Option<i64>,
    pages: u64,
    seconds: f64,
}

impl Pulled {
    fn add(&mut self, event: &EventView, conversation_id: &str) {
        self.events += 1;
        let in_conversation = event
            .fields
            .get("conversation_id")
            .and_then(|id| id.as_str())
            == Some(conversation_id);
        if event.type_ != "message.new" || !in_conversation {
            return;
        }
        self.messages += 1;
        let seq = event.fields.get("seq").and_then(serde_json::Value::as_i64);
        let in_order = match (self.last_seq, seq) {
            (None, Some(_)) => true,
            (Some(last), Some(seq)) => seq == last + 1,
            (_, None) => false,
        };
        if !in_order {
            self.order_faults += 1;
        }
        self.last_seq = seq.or(self.last_seq);
    }
}

/// `GET /api/v1/sync` from the beginning, following `cursor` until
/// `has_more` is false.
async fn pull_over_http(
    device: &Client,
    conversation_id: &str,
    log_len_max: u64,
) -> anyhow::Result<Pulled> {
    let deadline = phase_deadline(log_len_max, PULL_RATE_FLOOR_PER_S);
    let fetched = Arc::new(AtomicU64::new(0));
    let status = StatusLine::start({
        let fetched = Arc::clone(&fetched);
        move || {
            format!(
                "catching up over HTTP… {} events",
                fetched.load(Ordering::Relaxed)
            )
        }
    });
    let mut pulled = Pulled::default();
    let mut since: Option<String> = None;
    let started = Instant::now();
    // Every page but the last holds at least one event, so this many pages
    // cover any log the bench could have made.
    let mut complete = false;
    for _ in 0..=log_len_max {
        if Instant::now() > deadline {
            bail!(
                "HTTP catch-up did not finish in time ({} events so far)",
                pulled.events
            );
        }
        let page = device
            .sync(since.as_deref(), Some(SYNC_PAGE_LEN), None)
            .await
            .context("sync page failed")?;
        pulled.pages += 1;
        for event in &page.events {
            pulled.add(event, conversation_id);
        }
        fetched.store(pulled.events, Ordering::Relaxed);
        since = Some(page.cursor);
        if !page.has_more {
            complete = true;
            break;
        }
    }
    pulled.seconds = started.elapsed().as_secs_f64();
    status.finish();
    if !complete {
        bail!("HTTP catch-up still had more after {} pages", pulled.pages);
    }
    Ok(pulled)
}

/// `{"op":"sync"}` without `since` on a new socket, counting events until
/// the `synced` frame.
async fn pull_over_socket(
    device: &Client,
    conversation_id: &str,
    log_len_max: u64,
) -> anyhow::Result<Pulled> {
    let deadline =
        tokio::time::Instant::from_std(phase_deadline(log_len_max, PULL_RATE_FLOOR_PER_S));
    let fetched = Arc::new(AtomicU64::new(0));
    let status = StatusLine::start({
        let fetched = Arc::clone(&fetched);
        move || {
            format!(
                "catching up over a WebSocket… {} events",
                fetched.load(Ordering::Relaxed)
            )
        }
    });
    let mut socket = device.connect_socket().await?;
    let mut pulled = Pulled::default();
    let started = Instant::now();
    socket.send(&ClientFrame::Sync { since: None }).await?;
    let mut synced = false;
    for _ in 0..=log_len_max {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .with_context(|| {
                format!("no synced frame in time ({} events so far)", pulled.events)
            })?;
        match next.context("the socket ended before the synced frame")?? {
            Incoming::Event(event) => {
                pulled.add(&event, conversation_id);
                if pulled.events.is_multiple_of(u64::from(SYNC_PAGE_LEN)) {
                    fetched.store(pulled.events, Ordering::Relaxed);
                }
            }
            Incoming::Frame(ServerFrame::Synced { .. }) => {
                synced = true;
                break;
            }
            Incoming::Frame(ServerFrame::Error { code, detail, .. }) => {
                bail!("the server refused the replay: {code}: {detail}")
            }
            Incoming::Frame(_) | Incoming::Ephemeral(_) => {}
            Incoming::Closed { code, reason } => {
                bail!("the server closed the socket during the replay: {code} {reason}")
            }
        }
    }
    pulled.seconds = started.elapsed().as_secs_f64();
    fetched.store(pulled.events, Ordering::Relaxed);
    status.finish();
    if !synced {
        bail!("the replay sent more than {log_len_max} events without finishing");
    }
    let _ = tokio::time::timeout(Duration::from_millis(CLOSE_WAIT_MS), async {
        if socket.close().await.is_ok() {
            while socket.next().await.is_some() {}
        }
    })
    .await;
    Ok(pulled)
}
