//! `piazza admin …`: checks run against a data directory (offline) or a
//! PostgreSQL database (while servers run: the checks read one snapshot),
//! the move of a store from SQLite to PostgreSQL, and a cluster's status.

pub(crate) mod backup;
mod migrate_store;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Verify the store's invariants: gapless conversation seqs and
    /// account logs, no dangling log entries. Exits 1 on any violation.
    Check {
        #[arg(long, env = "PIAZZA_DATA_DIR", default_value = "./piazza-data")]
        data_dir: PathBuf,
        /// Check this PostgreSQL database instead of the data dir's SQLite.
        #[arg(long, env = "PIAZZA_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Re-verify the ledger from its postings: each transaction sums to
    /// zero, each balance is the sum of its postings, no wallet is
    /// negative, no posting is orphaned. Exits 1 on any violation.
    LedgerCheck {
        #[arg(long, env = "PIAZZA_DATA_DIR", default_value = "./piazza-data")]
        data_dir: PathBuf,
        /// Check this PostgreSQL database instead of the data dir's SQLite.
        #[arg(long, env = "PIAZZA_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Print the OpenAPI document of this build (what the server serves at
    /// /api/v1/openapi.json), as docs/openapi.json keeps it:
    /// `piazza admin openapi > docs/openapi.json`
    Openapi,
    /// Copy a whole server's store (accounts, devices, contacts,
    /// conversations, messages, logs, the ledger, idempotency keys, media
    /// rows, …) from SQLite in a data directory into an empty PostgreSQL
    /// database, in one transaction, then verify it there (row counts,
    /// gapless logs and conversations, the ledger) before it is kept.
    /// Exits 1, keeping nothing, on any mismatch. Stop the server first;
    /// media files stay in the data directory.
    MigrateStore(migrate_store::MigrateStoreArgs),
    /// Back up a SQLite server's data directory, while it runs, into one
    /// archive: its store as one moment of it, and every media file.
    /// Writes take no pause. Restore it with `piazza admin restore`.
    /// (On PostgreSQL, back up the database with its own tools: see
    /// DEPLOYMENT.md.)
    Backup(backup::BackupArgs),
    /// Restore an archive of `piazza admin backup` into a new data
    /// directory, checking every byte against the archive's manifest and
    /// then the store's invariants and ledger (as `check` and
    /// `ledger-check`). Exits 1, restoring nothing, on any mismatch.
    Restore(backup::RestoreArgs),
    /// Show how far search's index has come: a server indexes new
    /// messages moments after they are stored, and an upgraded one its
    /// whole history in the background, oldest first, resuming where it
    /// stopped after a restart. Safe while the server runs.
    SearchStatus {
        #[arg(long, default_value = "./piazza-data")]
        data_dir: PathBuf,
        /// Read this PostgreSQL database instead of the data dir's SQLite.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Show a cluster of nodes: each node alive (heard on the NATS bus
    /// within a few seconds) with where it listens, since when and its
    /// sockets; the NATS server reached; the database's health. Exits 1
    /// when NATS or the database cannot be reached.
    ClusterStatus {
        /// The cluster's NATS servers, as the nodes' `--nats-url`.
        #[arg(long, env = "PIAZZA_NATS_URL")]
        nats_url: String,
        /// The cluster's database, as the nodes' `--database-url`.
        #[arg(long, env = "PIAZZA_DATABASE_URL")]
        database_url: Option<String>,
        /// How long to listen for the nodes (each tells every 2 s).
        #[arg(long, default_value_t = 3)]
        listen_s: u64,
    },
}

/// Runs `command` on this thread: the checks' PostgreSQL client runs a
/// runtime of its own, which may not start inside `runtime`'s. Only
/// migrate-store, backup and restore use `runtime`, for their progress
/// lines.
pub fn run(command: AdminCommand, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    match command {
        AdminCommand::MigrateStore(args) => runtime.block_on(migrate_store::run(args)),
        AdminCommand::Backup(args) => runtime.block_on(backup::backup(args)),
        AdminCommand::Restore(args) => runtime.block_on(backup::restore(args)),
        AdminCommand::SearchStatus {
            data_dir,
            database_url,
        } => search_status(&data_dir, database_url.as_deref()),
        AdminCommand::Openapi => {
            print!("{}", piazza_server::openapi::pretty_json());
            Ok(())
        }
        AdminCommand::ClusterStatus {
            nats_url,
            database_url,
            listen_s,
        } => cluster_status(&nats_url, database_url.as_deref(), listen_s, runtime),
        AdminCommand::Check {
            data_dir,
            database_url,
        } => {
            let report = match &database_url {
                Some(url) => piazza_postgres::integrity::check(url).with_context(|| {
                    format!(
                        "cannot read the database at {}",
                        piazza_postgres::redacted(url)
                    )
                })?,
                None => piazza_sqlite::integrity::check_data_dir(&data_dir)
                    .with_context(|| format!("cannot read the store in {}", data_dir.display()))?,
            };
            print_check(report)
        }
        AdminCommand::LedgerCheck {
            data_dir,
            database_url,
        } => {
            let report = match &database_url {
                Some(url) => piazza_postgres::integrity::check_ledger(url).with_context(|| {
                    format!(
                        "cannot read the database at {}",
                        piazza_postgres::redacted(url)
                    )
                })?,
                None => piazza_sqlite::integrity::check_ledger_data_dir(&data_dir)
                    .with_context(|| format!("cannot read the store in {}", data_dir.display()))?,
            };
            print_ledger_check(report)
        }
    }
}

/// Prints `admin check`'s report; an error when it found violations.
fn print_check(report: piazza_core::integrity::Report) -> anyhow::Result<()> {
    println!(
        "accounts {} · conversations {} · messages {} · log entries {}",
        report.accounts, report.conversations, report.messages, report.log_entries
    );
    if report.is_sound() {
        println!("ok: every conversation and every log is gapless");
        Ok(())
    } else {
        for problem in &report.problems {
            println!("violation: {problem}");
        }
        anyhow::bail!("{} invariant violations", report.problems.len())
    }
}

/// Prints `admin ledger-check`'s report; an error when it found violations.
fn print_ledger_check(report: piazza_core::integrity::LedgerReport) -> anyhow::Result<()> {
    println!(
        "ledger accounts {} · transactions {} · postings {}",
        report.accounts, report.transactions, report.postings
    );
    if report.is_sound() {
        println!("ok: every transaction balances and every balance is its postings' sum");
        Ok(())
    } else {
        for problem in &report.problems {
            println!("violation: {problem}");
        }
        anyhow::bail!("{} ledger invariant violations", report.problems.len())
    }
}

/// `piazza admin cluster-status`: the nodes heard on the bus, the bus,
/// and the database.
fn search_status(data_dir: &std::path::Path, database_url: Option<&str>) -> anyhow::Result<()> {
    let (through, newest, waiting) = match database_url {
        Some(url) => piazza_postgres::integrity::search_progress(url)
            .with_context(|| format!("cannot read {}", piazza_postgres::redacted(url)))?,
        None => piazza_sqlite::integrity::search_progress(data_dir)
            .with_context(|| format!("cannot read the store in {}", data_dir.display()))?,
    };
    match waiting {
        0 => println!("search index: up to date (every message through id {newest})"),
        _ => println!(
            "search index: {waiting} messages to index (indexed through id {through} of {newest}); \
             the server's indexer is at work while a node runs"
        ),
    }
    Ok(())
}

fn cluster_status(
    nats_url: &str,
    database_url: Option<&str>,
    listen_s: u64,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    use piazza_server::cluster;

    let urls = cluster::parse_urls(nats_url).map_err(anyhow::Error::msg)?;
    eprintln!("listening on the bus for {listen_s} s…");
    let survey = runtime.block_on(cluster::survey(urls, Duration::from_secs(listen_s.max(1))));
    let mut failures = Vec::new();
    match &survey {
        Ok(survey) => {
            if let Some((name, version)) = &survey.server {
                println!("nats: ok, reached {name} (nats-server {version})");
            }
            println!("nodes alive: {}", survey.nodes.len());
            let now = piazza_domain::Timestamp::now().unix_ms();
            for node in &survey.nodes {
                let about = &node.about;
                let up_s = now.saturating_sub(about.started_at_ms) / 1000;
                println!(
                    "  node {:016x}  {}  piazza {}  up {}  sockets {}  accounts online {}",
                    node.node,
                    about.listen,
                    about.version,
                    duration_text(up_s),
                    about.sockets,
                    node.accounts
                );
            }
        }
        Err(error) => {
            println!("nats: DOWN: {error}");
            failures.push("NATS");
        }
    }
    if let Some(url) = database_url {
        match piazza_postgres::integrity::health(url) {
            Ok(health) => {
                let schema = match health.schema == health.schema_expected {
                    true => format!("schema {}", health.schema),
                    false => format!(
                        "schema {} (this build expects {}: start a node of this build to migrate)",
                        health.schema, health.schema_expected
                    ),
                };
                println!(
                    "database: ok, {} · {schema} · {} connections · round trip {:.1} ms",
                    health.server.split(" on ").next().unwrap_or(&health.server),
                    health.connections,
                    health.round_trip.as_secs_f64() * 1000.0
                );
                let now = piazza_domain::Timestamp::now().unix_ms();
                for (name, holder, until_ms) in &health.leases {
                    match *until_ms > now && !holder.is_empty() {
                        true => println!(
                            "  lease {name}: held by node {holder} for {:.1} s more",
                            (until_ms - now) as f64 / 1000.0
                        ),
                        false => println!("  lease {name}: free"),
                    }
                }
                if let Ok((through, newest, waiting)) =
                    piazza_postgres::integrity::search_progress(url)
                {
                    println!(
                        "  search index: {waiting} messages to index (through id {through} of {newest})"
                    );
                }
            }
            Err(error) => {
                println!(
                    "database: DOWN: cannot reach {}: {error}",
                    piazza_postgres::redacted(url)
                );
                failures.push("the database");
            }
        }
    }
    match failures.is_empty() {
        true => Ok(()),
        false => anyhow::bail!("{} unreachable", failures.join(" and ")),
    }
}

/// `3 d 4 h`, `5 h 6 min`, `7 min`, `8 s`.
fn duration_text(seconds: i64) -> String {
    let (d, h, m) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (d, h, m) {
        (d, h, _) if d > 0 => format!("{d} d {h} h"),
        (_, h, m) if h > 0 => format!("{h} h {m} min"),
        (_, _, m) if m > 0 => format!("{m} min"),
        _ => format!("{seconds} s"),
    }
}
