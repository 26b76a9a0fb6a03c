//! `piazza admin …`: checks run against a data directory (offline) or a
//! PostgreSQL database (while servers run: the checks read one snapshot),
//! and the move of a store from SQLite to PostgreSQL.

mod migrate_store;

use std::path::PathBuf;

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
}

/// Runs `command` on this thread: the checks' PostgreSQL client runs a
/// runtime of its own, which may not start inside `runtime`'s. Only
/// migrate-store uses `runtime`, for its progress line.
pub fn run(command: AdminCommand, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    match command {
        AdminCommand::MigrateStore(args) => runtime.block_on(migrate_store::run(args)),
        AdminCommand::Openapi => {
            print!("{}", piazza_server::openapi::pretty_json());
            Ok(())
        }
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
    }
}
