//! `piazza bench connections`: opens many idle WebSockets and reads how much
//! resident memory the server needs per connection. Sockets share tokens
//! (a device may hold several), so the setup costs one account and one
//! log-in per `--per-account` sockets.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use futures_util::future::join_all;
use futures_util::{StreamExt, stream};
use piazza_client::{Client, Socket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::progress;
use super::report::Report;
use super::server::Server;
use super::setup::{self, CONNECTS_IN_FLIGHT_MAX};

#[derive(clap::Args, Debug)]
pub struct ConnectionsArgs {
    /// WebSockets to open and hold
    #[arg(long, default_value_t = 10_000)]
    pub count: usize,
    /// Sockets sharing one account (and its one token)
    #[arg(long, default_value_t = 50)]
    pub per_account: usize,
}

const COUNT_MAX: usize = 100_000;
/// The server caps devices per account at 100, but sockets per device only
/// by its socket limits; this keeps the accounts plausible.
const PER_ACCOUNT_MAX: usize = 10_000;
/// How long the sockets sit idle before the second memory reading, so the
/// server has settled (buffers allocated on the handshake are released).
const IDLE_BEFORE_READING_S: u64 = 2;
/// How long closing all sockets may take.
const CLOSE_WAIT_S: u64 = 10;
/// File descriptors kept free for everything that is not a bench socket.
const SPARE_FILES: u64 = 256;
/// Connection failures described in the report; the rest are counted.
const FAILURES_SHOWN_MAX: usize = 3;

pub async fn run(
    server: &mut Server,
    args: &ConnectionsArgs,
    open_files: u64,
) -> anyhow::Result<Report> {
    validate(args, open_files)?;
    let anonymous = Client::new(server.base_url());
    let account_count = args.count.div_ceil(args.per_account);
    let accounts = setup::create_accounts(&anonymous, account_count).await?;
    server.ensure_alive().await?;
    let rss_before_kib = server.rss_kib();

    let (stop, stop_signal) = watch::channel(false);
    let closed_early = Arc::new(AtomicU64::new(0));
    let clients = (0..args.count).map(|index| accounts[index / args.per_account].device.clone());
    let started = Instant::now();
    let opened = open_and_hold(clients, &stop_signal, &closed_early).await;
    let connect_s = started.elapsed().as_secs_f64();
    let open = opened.holders.len() as u64;

    tokio::time::sleep(Duration::from_secs(IDLE_BEFORE_READING_S)).await;
    server.ensure_alive().await?;
    let rss_after_kib = server.rss_kib();
    let rss_peak_kib = server.peak_rss_kib();
    let closed_early_count = closed_early.load(Ordering::Relaxed);

    stop.send_replace(true);
    let all_closed = join_all(opened.holders);
    if tokio::time::timeout(Duration::from_secs(CLOSE_WAIT_S), all_closed)
        .await
        .is_err()
    {
        eprintln!("warning: not every socket finished closing within {CLOSE_WAIT_S} s");
    }

    let mut report = Report::new("connections");
    report.count("accounts", "accounts", account_count as u64, "");
    report.count("requested", "sockets requested", args.count as u64, "");
    report.count("open", "sockets opened", open, "");
    report.count("failed", "sockets refused or failed", opened.failed, "");
    report.count(
        "closed_early",
        "sockets closed while idle",
        closed_early_count,
        "",
    );
    report.measure("connect_s", "time to open them", connect_s, 2, "s");
    let rate = open as f64 / connect_s.max(f64::EPSILON);
    report.measure("connects_per_s", "connections per second", rate, 0, "/s");
    report.memory_mib("server_rss_before_mib", "server RSS before", rss_before_kib);
    report.memory_mib(
        "server_rss_after_mib",
        "server RSS with sockets open",
        rss_after_kib,
    );
    report.memory_mib("server_rss_peak_mib", "server RSS peak", rss_peak_kib);
    let per_connection = match (rss_before_kib, rss_after_kib) {
        (Some(before), Some(after)) if open > 0 => {
            Some((after as f64 - before as f64) / open as f64)
        }
        _ => None,
    };
    match per_connection {
        Some(kib) => report.measure("kib_per_connection", "memory per connection", kib, 2, "KiB"),
        None => report.text(
            "kib_per_connection",
            "memory per connection",
            "n/a".to_owned(),
        ),
    }

    for failure in &opened.failures {
        eprintln!("note: {failure}");
    }
    if opened.failed > 0 {
        report.fail(format!(
            "{} of {} sockets could not be opened (first: {})",
            opened.failed,
            args.count,
            opened.failures.first().map_or("?", String::as_str)
        ));
    }
    if closed_early_count > 0 {
        report.fail(format!(
            "{closed_early_count} idle sockets were closed by the server"
        ));
    }
    Ok(report)
}

fn validate(args: &ConnectionsArgs, open_files: u64) -> anyhow::Result<()> {
    if args.count == 0 || args.count > COUNT_MAX {
        bail!("--count must be from 1 to {COUNT_MAX}");
    }
    if args.per_account == 0 || args.per_account > PER_ACCOUNT_MAX {
        bail!("--per-account must be from 1 to {PER_ACCOUNT_MAX}");
    }
    let needed = args.count as u64 + SPARE_FILES;
    if open_files < needed {
        bail!(
            "{} sockets need about {needed} open files, but this process may only open \
             {open_files}; raise the hard limit (ulimit -Hn) or open fewer",
            args.count
        );
    }
    Ok(())
}

/// Sockets held open by their own tasks, and what could not be opened.
struct Opened {
    holders: Vec<JoinHandle<()>>,
    failed: u64,
    failures: Vec<String>,
}

/// Opens one socket per client, a bounded number at a time, and hands each
/// to a task that keeps it alive (reading, so pings are answered) until
/// `stop`. A failed connection is counted rather than ending the run: how
/// many the server refuses is itself a result.
async fn open_and_hold(
    clients: impl Iterator<Item = Client>,
    stop: &watch::Receiver<bool>,
    closed_early: &Arc<AtomicU64>,
) -> Opened {
    let (count, _) = clients.size_hint();
    let (status, done) = progress::counting(format!("opening {count} sockets"), count as u64);
    let mut opened = Opened {
        holders: Vec::with_capacity(count),
        failed: 0,
        failures: Vec::new(),
    };
    let mut connecting = stream::iter(clients)
        .map(|client| async move { client.connect_socket().await })
        .buffer_unordered(CONNECTS_IN_FLIGHT_MAX);
    while let Some(connected) = connecting.next().await {
        done.fetch_add(1, Ordering::Relaxed);
        match connected {
            Ok(socket) => {
                let hold = hold(socket, stop.clone(), Arc::clone(closed_early));
                opened.holders.push(tokio::spawn(hold));
            }
            Err(error) => {
                opened.failed += 1;
                if opened.failures.len() < FAILURES_SHOWN_MAX {
                    opened.failures.push(error.to_string());
                }
            }
        }
    }
    status.finish();
    opened
}

/// Keeps one socket open and read until `stop`, then closes it politely.
async fn hold(mut socket: Socket, mut stop: watch::Receiver<bool>, closed_early: Arc<AtomicU64>) {
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            // A close frame or a failure is followed by the end of the
            // stream, which is where it is counted, once.
            next = socket.next() => if next.is_none() {
                closed_early.fetch_add(1, Ordering::Relaxed);
                return;
            },
        }
    }
    let handshake = async {
        if socket.close().await.is_ok() {
            while socket.next().await.is_some() {}
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(CLOSE_WAIT_S), handshake).await;
}
