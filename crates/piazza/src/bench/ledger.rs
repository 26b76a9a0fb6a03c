//! `piazza bench ledger`: durable chat transfers per second, measured two
//! ways, each followed by checks that no money appeared or vanished.
//!
//! - End to end (`http`): accounts in pairs of contacts, each posting
//!   `POST /api/v1/transfers` to its peer back to back over keep-alive
//!   HTTP, a fresh `Idempotency-Key` per call. A 201 comes only after the
//!   server's group commit has fsynced the transfer, so every counted one
//!   is durable. Each call also authenticates its bearer token and checks
//!   the payment PIN (Argon2, unless the server remembers a verified PIN).
//! - Engine (`engine`): the same transfers handed straight to a
//!   `SqliteStore` opened in this process, from many tasks at once, so the
//!   group-commit writer batches them. No HTTP, no auth, no PIN hashing:
//!   what the store itself makes durable per second, the figure to set
//!   against TigerBeetle or a plain PostgreSQL transaction.
//!
//! A transfer moves its amount from the sender's wallet into the
//! transfer's in-flight account and posts a message in the direct
//! conversation. Nobody accepts during the bench, so afterwards the
//! wallets plus the amounts in flight must equal the top-ups exactly; then
//! the ledger's postings are re-verified offline (`admin ledger-check`).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use piazza_client::Client;
use piazza_core::Core;
use piazza_domain::Username;
use piazza_domain::money::{AmountMinor, Currency, Money};
use piazza_domain::store::{
    IdempotencyKey, Idempotent, NoticeSink, PinChange, PinCheck, TransferRequest,
};
use piazza_domain::{AccountId, DisplayName, Greeting, Notice, StoreError, Timestamp};
use reqwest::Method;
use serde_json::json;

use super::drive::{Keys, Outcome, Plan, Tally, drive_all, report_phase};
use super::money;
use super::progress;
use super::report::Report;
use super::server::Server;
use super::setup;

#[derive(clap::Args, Debug)]
pub struct LedgerArgs {
    /// Concurrent HTTP senders, each an account paying its pair (even)
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// How long to measure each phase, after its warm-up
    #[arg(long, default_value_t = 10)]
    pub duration_s: u64,
    /// Transfers before measuring starts, in each phase
    #[arg(long, default_value_t = 2)]
    pub warmup_s: u64,
    /// End a phase once this many transfers were measured (0: the whole
    /// duration)
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    /// Concurrent senders driving the store in-process, for the engine
    /// figure (even)
    #[arg(long, default_value_t = 512)]
    pub engine_tasks: usize,
    /// Engines the engine phase opens on the one PostgreSQL database, each
    /// with its own connections and writers, as separate `piazza serve`
    /// processes have: a pair's two senders go through different ones,
    /// so every transfer's rows are contended across them
    #[arg(long, default_value_t = 1)]
    pub engines: usize,
    /// Which measurements to make
    #[arg(long, value_enum, default_value_t = Phases::Both)]
    pub phases: Phases,
    /// Give the spawned server production Argon2 cost (19 MiB, 2 passes)
    /// for passwords and PINs instead of the bench's cheap one
    #[arg(long)]
    pub production_hashing: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phases {
    /// The engine, then end to end over HTTP
    Both,
    /// End to end over HTTP only
    Http,
    /// The store in-process only
    Engine,
}

impl Phases {
    pub(super) fn http(self) -> bool {
        matches!(self, Phases::Both | Phases::Http)
    }

    pub(super) fn engine(self) -> bool {
        matches!(self, Phases::Both | Phases::Engine)
    }
}

const CONNECTIONS_MAX: usize = 10_000;
const ENGINE_TASKS_MAX: usize = 20_000;
const DURATION_S_MAX: u64 = 3600;
const WARMUP_S_MAX: u64 = 600;
/// Every transfer moves the smallest amount, so a top-up lasts.
const AMOUNT_MINOR: i64 = 1;
/// Each sender's top-up: more than any run can spend at one minor unit
/// per transfer, so no transfer is refused for want of money, and within
/// what a wallet may hold after a top-up (`limits.wallet_balance_max_minor`).
pub(super) const TOP_UP_MINOR: i64 = 100_000_000_000;
/// Setup calls in flight at once (accounts, pairings, top-ups).
const SETUP_IN_FLIGHT_MAX: usize = 32;

pub async fn run(
    server: &mut Server,
    args: &LedgerArgs,
    database_url: Option<String>,
) -> anyhow::Result<Report> {
    validate(args)?;
    let mut report = Report::new("ledger");
    report.count(
        "amount_minor",
        "amount per transfer",
        AMOUNT_MINOR as u64,
        "minor units",
    );
    report.count("warmup_s", "warm-up per phase", args.warmup_s, "s");
    report.count(
        "duration_s",
        "measured for, per phase",
        args.duration_s,
        "s",
    );
    // The engine first: its store must be the first SQLite use in this
    // process, or SQLite's memory statistics stay on and slow the writer
    // (`SqliteStore::open` can only turn them off before that).
    if args.phases.engine() {
        engine_phase(args, database_url.clone(), &mut report).await?;
    }
    if args.phases.http() {
        http_phase(server, args, database_url.as_deref(), &mut report).await?;
    }
    Ok(report)
}

fn validate(args: &LedgerArgs) -> anyhow::Result<()> {
    let even = |count: usize, max: usize| count >= 2 && count.is_multiple_of(2) && count <= max;
    if !even(args.connections, CONNECTIONS_MAX) {
        bail!("--connections must be even, from 2 to {CONNECTIONS_MAX}");
    }
    if !even(args.engine_tasks, ENGINE_TASKS_MAX) {
        bail!("--engine-tasks must be even, from 2 to {ENGINE_TASKS_MAX}");
    }
    if args.duration_s == 0 || args.duration_s > DURATION_S_MAX {
        bail!("--duration-s must be from 1 to {DURATION_S_MAX}");
    }
    if args.warmup_s > WARMUP_S_MAX {
        bail!("--warmup-s must be at most {WARMUP_S_MAX}");
    }
    if args.engines == 0 || args.engines > ENGINES_MAX {
        bail!("--engines must be from 1 to {ENGINES_MAX}");
    }
    if args.production_hashing && !args.phases.http() {
        bail!("--production-hashing only changes the HTTP phase");
    }
    Ok(())
}

/// Engines the engine phase may open at once.
const ENGINES_MAX: usize = 8;

/// Senders `2k` and `2k + 1` pay each other.
fn peer_of(index: usize) -> usize {
    index ^ 1
}

/// Wallets plus money in flight against the top-ups: exact when every
/// call had a definite answer.
fn check_conservation(
    report: &mut Report,
    (key, label): (&'static str, &'static str),
    wallets_minor: i64,
    tally: &Tally,
    senders: usize,
) {
    let topped_up = TOP_UP_MINOR.saturating_mul(senders as i64);
    let in_flight = AMOUNT_MINOR.saturating_mul(i64::try_from(tally.done).unwrap_or(i64::MAX));
    let held = wallets_minor.saturating_add(in_flight);
    let verdict = if held == topped_up {
        "ok: wallets + in flight = top-ups".to_owned()
    } else if tally.unknown > 0 {
        format!("inexact: {} calls without an answer", tally.unknown)
    } else {
        let text = format!("MISMATCH: wallets + in flight {held} ≠ top-ups {topped_up}");
        report.fail(format!("{key}: {text}"));
        text
    };
    report.text(key, label, verdict);
}

/// `admin ledger-check` over a stopped store: its PostgreSQL database
/// if it ran on one, else its data directory.
pub(super) fn check_ledger(
    report: &mut Report,
    (key, label): (&'static str, &'static str),
    data_dir: &Path,
    database_url: Option<&str>,
) {
    let found = match database_url {
        // The synchronous client runs its own runtime: not on this one's.
        Some(url) => tokio::task::block_in_place(|| piazza_postgres::integrity::check_ledger(url))
            .map_err(|e| e.to_string()),
        None => {
            piazza_sqlite::integrity::check_ledger_data_dir(data_dir).map_err(|e| e.to_string())
        }
    };
    let verdict = match found {
        Ok(ledger) if ledger.is_sound() => format!(
            "ok: {} transactions, {} postings",
            ledger.transactions, ledger.postings
        ),
        Ok(ledger) => {
            let text = format!(
                "{} VIOLATIONS: {:?}",
                ledger.problems.len(),
                ledger.problems
            );
            report.fail(format!("{key}: {text}"));
            text
        }
        Err(error) => {
            let text = format!("unreadable: {error}");
            report.fail(format!("{key}: {text}"));
            text
        }
    };
    report.text(key, label, verdict);
}

// --------------------------------------------------------------------- HTTP

async fn http_phase(
    server: &mut Server,
    args: &LedgerArgs,
    database_url: Option<&str>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let anonymous = Client::new(server.base_url());
    let accounts = setup::create_accounts(&anonymous, args.connections).await?;
    let accounts = Arc::new(accounts);
    fund_all(&accounts).await?;
    pair_contacts(&accounts).await?;
    server.ensure_alive().await?;

    let plan = Arc::new(Plan::new(args.warmup_s, args.duration_s, args.count));
    let tag = format!("{:08x}", rand::random::<u32>());
    let senders = Arc::clone(&accounts);
    let tally = drive_all(
        "transfers over HTTP",
        &plan,
        args.connections,
        move |index, number| {
            let senders = Arc::clone(&senders);
            let key = format!("ledger-{tag}-{index}-{number}");
            async move {
                let body = json!({
                    "to": senders[peer_of(index)].account_id,
                    "amount_minor": AMOUNT_MINOR,
                    "pin": money::PIN,
                });
                let path = "/api/v1/transfers";
                let device = &senders[index].device;
                match money::call(device, Method::POST, path, Some(&body), Some(&key)).await {
                    Ok(answer) if answer.status == 201 => Outcome::Done,
                    Ok(answer) if answer.status < 500 => Outcome::Refused(answer.code()),
                    Ok(answer) => Outcome::Unknown(answer.code()),
                    Err(error) => Outcome::Unknown(format!("{error:#}")),
                }
            }
        },
    )
    .await?;
    server.ensure_alive().await?;

    let hashing = if args.production_hashing {
        "production (19 MiB, 2 passes)"
    } else {
        "bench (1 MiB, 1 pass)"
    };
    report.text(
        "http_pin_hashing",
        "HTTP: Argon2 cost of the server",
        hashing.to_owned(),
    );
    report_phase(report, &HTTP_KEYS, args.connections, &plan, &tally);
    let wallets = stream::iter(accounts.iter())
        .map(|account| money::balance(&account.device))
        .buffered(SETUP_IN_FLIGHT_MAX)
        .try_fold(0i64, |sum, balance| async move {
            Ok(sum.saturating_add(balance))
        })
        .await?;
    check_conservation(
        report,
        ("http_money_conserved", "HTTP: money conserved"),
        wallets,
        &tally,
        args.connections,
    );
    match server.stop().await? {
        Some(data_dir) => check_ledger(report, HTTP_LEDGER_CHECK, &data_dir, database_url),
        None => report.text(
            HTTP_LEDGER_CHECK.0,
            HTTP_LEDGER_CHECK.1,
            "not run: the server is not this run's".to_owned(),
        ),
    }
    Ok(())
}

const HTTP_LEDGER_CHECK: (&str, &str) = ("http_ledger_check", "HTTP: ledger-check");

const HTTP_KEYS: Keys = Keys {
    unit: "transfers",
    rate: "transfers/s",
    senders: ("http_connections", "HTTP: senders (connections)"),
    done: ("http_transfers", "HTTP: transfers done (201)"),
    measured: ("http_transfers_measured", "HTTP: of those, measured"),
    window: ("http_window_s", "HTTP: measured window"),
    throughput: ("http_transfers_per_s", "HTTP: durable transfers/s"),
    p50: ("http_latency_p50_ms", "HTTP: latency p50"),
    p99: ("http_latency_p99_ms", "HTTP: latency p99"),
    p999: ("http_latency_p999_ms", "HTTP: latency p99.9"),
    max: ("http_latency_max_ms", "HTTP: latency max"),
    refused: ("http_refused", "HTTP: refused"),
    unknown: ("http_unanswered", "HTTP: without a definite answer"),
};

/// A PIN and a top-up for every account.
async fn fund_all(accounts: &[setup::Account]) -> anyhow::Result<()> {
    let count = accounts.len();
    let (status, done) = progress::counting(format!("funding {count} wallets"), count as u64);
    let funded = stream::iter(accounts)
        .map(|account| {
            let done = Arc::clone(&done);
            async move {
                money::fund(account, TOP_UP_MINOR).await?;
                done.fetch_add(1, Ordering::Relaxed);
                anyhow::Ok(())
            }
        })
        .buffered(SETUP_IN_FLIGHT_MAX)
        .try_collect::<Vec<()>>()
        .await;
    status.finish();
    funded.map(drop)
}

/// Accounts `2k` and `2k + 1` become contacts (a transfer needs it).
async fn pair_contacts(accounts: &[setup::Account]) -> anyhow::Result<()> {
    let pairs = accounts.len() / 2;
    let (status, done) = progress::counting(format!("pairing {pairs} contacts"), pairs as u64);
    let paired = stream::iter(accounts.chunks_exact(2))
        .map(|pair| {
            let done = Arc::clone(&done);
            async move {
                setup::befriend_only(&pair[0], &pair[1]).await?;
                done.fetch_add(1, Ordering::Relaxed);
                anyhow::Ok(())
            }
        })
        .buffered(SETUP_IN_FLIGHT_MAX)
        .try_collect::<Vec<()>>()
        .await;
    status.finish();
    paired.map(drop)
}

// ------------------------------------------------------------------- engine

/// The engine phase has no one to notify.
struct Nobody;

impl NoticeSink for Nobody {
    fn notify(&self, _: Vec<Notice>) {}
}

async fn engine_phase(
    args: &LedgerArgs,
    database_url: Option<String>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let directory = tempfile::Builder::new()
        .prefix("piazza-bench-engine-")
        .tempdir()
        .context("cannot create a temporary directory for the store")?;
    let stores = open_engines(args.engines, database_url.as_deref(), directory.path()).await?;
    report.count(
        "engine_engines",
        "engine: engines on the one database",
        stores.len() as u64,
        "",
    );
    let store = Arc::clone(&stores[0]);
    let accounts = Arc::new(engine_accounts(&store, args.engine_tasks).await?);

    let plan = Arc::new(Plan::new(args.warmup_s, args.duration_s, args.count));
    let currency = Currency::CNY;
    let money = Money::new(AmountMinor::positive(AMOUNT_MINOR)?, currency);
    // Far enough that the (absent) sweeper could never return one.
    let expires_at = Timestamp::from_unix_ms(Timestamp::now().unix_ms() + 86_400_000);
    let (driven_stores, senders) = (Arc::new(stores.clone()), Arc::clone(&accounts));
    let (written_before, started) = (bytes_written(), Instant::now());
    let tally = drive_all(
        "transfers in the store",
        &plan,
        args.engine_tasks,
        move |index, number| {
            // A pair's senders (2k, 2k + 1) go through different engines.
            let store = Arc::clone(&driven_stores[index % driven_stores.len()]);
            let senders = Arc::clone(&senders);
            async move {
                let Some(key) = IdempotencyKey::parse(&format!("engine-{index}-{number}")) else {
                    return Outcome::Refused("bad idempotency key".to_owned());
                };
                let request = Idempotent {
                    key,
                    request_hash: [0; 32],
                };
                let transfer = TransferRequest {
                    to: senders[peer_of(index)],
                    money,
                    note: None,
                    expires_at,
                };
                let sent = store
                    .send_transfer(senders[index], request, transfer, PinCheck::Verified)
                    .await;
                match sent {
                    Ok(_) => Outcome::Done,
                    Err(StoreError::Rejected(rejection)) => {
                        Outcome::Refused(format!("{rejection:?}"))
                    }
                    Err(error) => Outcome::Unknown(error.to_string()),
                }
            }
        },
    )
    .await?;

    report_phase(report, &ENGINE_KEYS, args.engine_tasks, &plan, &tally);
    report_disk_writes(report, written_before, started, tally.done);
    let mut wallets = 0i64;
    for account in accounts.iter() {
        let balance = store.wallet_balance(*account, currency).await?;
        wallets = wallets.saturating_add(balance);
    }
    check_conservation(
        report,
        ("engine_money_conserved", "engine: money conserved"),
        wallets,
        &tally,
        args.engine_tasks,
    );
    for store in &stores {
        store.shut_down();
    }
    drop((store, stores));
    let key = ("engine_ledger_check", "engine: ledger-check");
    check_ledger(report, key, directory.path(), database_url.as_deref());
    Ok(())
}

/// The stores of the engine phase: SQLite in `directory`, or
/// `engines` engines on the PostgreSQL database at `url`.
pub(super) async fn open_engines(
    engines: usize,
    url: Option<&str>,
    directory: &Path,
) -> anyhow::Result<Vec<Arc<Core>>> {
    let limits = piazza_server::config::Limits::default();
    let Some(url) = url else {
        if engines > 1 {
            bail!("--engines takes a PostgreSQL database (--database-url)");
        }
        let engine = piazza::engines::open_sqlite(directory, &limits, Arc::new(Nobody))
            .context("cannot open a store for the engine phase")?;
        return Ok(vec![Arc::new(Core::new(engine, directory))]);
    };
    let mut stores = Vec::with_capacity(engines);
    for _ in 0..engines {
        let (url, limits) = (url.to_owned(), limits.clone());
        let open = move || piazza::engines::open_postgres(&url, &limits, Arc::new(Nobody));
        let engine = tokio::task::spawn_blocking(open)
            .await?
            .context("cannot open PostgreSQL")?;
        stores.push(Arc::new(Core::new(engine, directory)));
    }
    Ok(stores)
}

/// Bytes this process has had written to disk so far (Linux), WAL and
/// checkpoints included: in the engine phase that is the store's writing.
fn bytes_written() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines()
        .find_map(|line| line.strip_prefix("write_bytes:"))
        .and_then(|value| value.trim().parse().ok())
}

/// What the store wrote per transfer over the engine phase (warm-up
/// included): with the writer waiting on the disk, this divides the
/// disk's bandwidth into transfers per second (BENCHMARKS.md).
fn report_disk_writes(report: &mut Report, before: Option<u64>, started: Instant, done: u64) {
    let (Some(before), Some(after)) = (before, bytes_written()) else {
        report.text(
            "engine_written_per_transfer_kb",
            "engine: disk written per transfer",
            "unknown (no /proc/self/io)".to_owned(),
        );
        return;
    };
    let written = after.saturating_sub(before) as f64;
    let seconds = started.elapsed().as_secs_f64().max(f64::EPSILON);
    report.measure(
        "engine_written_per_transfer_kb",
        "engine: disk written per transfer (WAL and checkpoints)",
        written / done.max(1) as f64 / 1000.0,
        1,
        "KB",
    );
    report.measure(
        "engine_written_mb_per_s",
        "engine: disk write rate",
        written / seconds / 1e6,
        0,
        "MB/s",
    );
}

const ENGINE_KEYS: Keys = Keys {
    unit: "transfers",
    rate: "transfers/s",
    senders: ("engine_tasks", "engine: senders (tasks)"),
    done: ("engine_transfers", "engine: transfers done"),
    measured: ("engine_transfers_measured", "engine: of those, measured"),
    window: ("engine_window_s", "engine: measured window"),
    throughput: (
        "engine_transfers_per_s",
        "engine: durable transfers/s through the writer, no HTTP",
    ),
    p50: ("engine_latency_p50_ms", "engine: latency p50"),
    p99: ("engine_latency_p99_ms", "engine: latency p99"),
    p999: ("engine_latency_p999_ms", "engine: latency p99.9"),
    max: ("engine_latency_max_ms", "engine: latency max"),
    refused: ("engine_refused", "engine: refused"),
    unknown: ("engine_unanswered", "engine: without a definite answer"),
};

/// `count` accounts straight in the store, each with a PIN and a top-up,
/// in pairs of contacts.
pub(super) async fn engine_accounts(
    store: &Arc<Core>,
    count: usize,
) -> anyhow::Result<Vec<AccountId>> {
    let (status, done) =
        progress::counting(format!("creating {count} store accounts"), count as u64);
    let currency = Currency::CNY;
    let top_up = Money::new(AmountMinor::positive(TOP_UP_MINOR)?, currency);
    let created = stream::iter(0..count)
        .map(|index| {
            let (store, done) = (Arc::clone(store), Arc::clone(&done));
            async move {
                let username = Username::parse(&format!("engine{index}"))?;
                let display_name = DisplayName::from_username(&username);
                // Nobody logs in: the password hash is never checked.
                let account = store
                    .create_account(username.clone(), display_name, "unused".to_owned())
                    .await?;
                let id = account.account_id;
                store
                    .set_pin(
                        id,
                        PinChange::WithPassword {
                            pin_hash: "unused".to_owned(),
                            reset_effective_at: Timestamp::now(),
                        },
                    )
                    .await?;
                let key = IdempotencyKey::parse(&format!("fund-{index}"))
                    .context("a valid idempotency key")?;
                let request = Idempotent {
                    key,
                    request_hash: [0; 32],
                };
                store
                    .top_up(id, request, top_up, "sandbox".to_owned())
                    .await?;
                done.fetch_add(1, Ordering::Relaxed);
                anyhow::Ok((username, id))
            }
        })
        .buffered(SETUP_IN_FLIGHT_MAX)
        .try_collect::<Vec<_>>()
        .await;
    status.finish();
    let created = created?;
    let greeting = Greeting::parse("")?;
    stream::iter(created.chunks_exact(2))
        .map(|pair| {
            let (store, greeting) = (Arc::clone(store), greeting.clone());
            async move {
                let request = store
                    .request_contact(pair[0].1, pair[1].0.clone(), greeting)
                    .await?;
                store.accept_request(pair[1].1, request).await?;
                anyhow::Ok(())
            }
        })
        .buffered(SETUP_IN_FLIGHT_MAX)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(created.into_iter().map(|(_, id)| id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(count: u64) -> LedgerArgs {
        LedgerArgs {
            connections: 2,
            duration_s: 10,
            warmup_s: 0,
            count,
            engine_tasks: 2,
            engines: 1,
            phases: Phases::Engine,
            production_hashing: false,
        }
    }

    #[test]
    fn odd_senders_are_refused() {
        let mut odd = args(0);
        odd.engine_tasks = 3;
        assert!(validate(&odd).is_err());
        assert!(validate(&args(0)).is_ok());
    }

    #[test]
    fn a_mismatch_fails_the_run_unless_answers_were_lost() {
        let mut tally = Tally::new();
        tally.done = 5;
        let exact = 2 * TOP_UP_MINOR - 5 * AMOUNT_MINOR;
        let mut report = Report::new("t");
        check_conservation(&mut report, ("k", "k"), exact, &tally, 2);
        assert!(report.verdict().is_ok());
        let mut report = Report::new("t");
        check_conservation(&mut report, ("k", "k"), exact - 1, &tally, 2);
        assert!(report.verdict().is_err());
        tally.unknown = 1;
        let mut report = Report::new("t");
        check_conservation(&mut report, ("k", "k"), exact - 1, &tally, 2);
        assert!(report.verdict().is_ok());
    }

    #[test]
    fn senders_pay_their_pair() {
        assert_eq!((peer_of(0), peer_of(1), peer_of(4)), (1, 0, 5));
    }
}
