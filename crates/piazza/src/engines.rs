//! The storage engine a configuration asks for: PostgreSQL when it names a
//! database URL, otherwise SQLite in the data directory.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use piazza_core::Engine;
use piazza_domain::store::NoticeSink;
use piazza_postgres::{PostgresEngine, PostgresOptions};
use piazza_server::config::{Config, Limits};
use piazza_server::{OpenEngine, Running, StartError};
use piazza_sqlite::{
    SqliteEngine, SqliteStore, StoreOptions, TailLimits, VerifyOptions, WriterLimits,
};

/// Starts the server on the engine `config` asks for.
pub async fn spawn(config: Config) -> Result<Running, StartError> {
    let open = opener(&config);
    piazza_server::spawn(config, open).await
}

/// How the server will open the engine `config` asks for.
pub fn opener(config: &Config) -> OpenEngine {
    let data_dir = config.data_dir.clone();
    let limits = config.limits.clone();
    match config.database_url.clone() {
        Some(url) => Box::new(move |sink| {
            open_postgres(&url, &limits, sink).map_err(|error| postgres_failure(&url, &error))
        }),
        None => Box::new(move |sink| {
            open_sqlite(&data_dir, &limits, sink)
                .map_err(|error| format!("in {}: {error}", data_dir.display()))
        }),
    }
}

/// Where and why PostgreSQL could not be opened, and what to do. Most
/// failures are about reaching the database; a database newer than this
/// binary, or a damaged one, says in its own words what to do instead.
fn postgres_failure(url: &str, error: &piazza_postgres::OpenError) -> String {
    use piazza_postgres::{MigrateError, OpenError};
    let at = piazza_postgres::redacted(url);
    match error {
        OpenError::Migrate(MigrateError::Newer { .. }) | OpenError::Damaged(_) => {
            format!("at {at}: {error}")
        }
        _ => format!(
            "at {at}: {error}\nCheck that PostgreSQL runs and answers at that address, and that \
             the URL's user may connect to its database and create tables in it"
        ),
    }
}

/// The PostgreSQL database at `url`, migrated on first use.
pub fn open_postgres(
    url: &str,
    limits: &Limits,
    sink: Arc<dyn NoticeSink>,
) -> Result<Arc<dyn Engine>, piazza_postgres::OpenError> {
    let options = PostgresOptions {
        pin_policy: limits.pin_policy(),
        writer: piazza_postgres::WriterLimits {
            queue_len_max: limits.writer_queue_len_max,
            writers: limits.postgres_writers,
            ..piazza_postgres::WriterLimits::default()
        },
        // The same settings as SQLite's; PostgreSQL has no pages of its own
        // to check between tables, so nothing to rest for.
        verify: piazza_postgres::VerifyOptions {
            start_budget: Duration::from_secs(limits.integrity_start_check_s),
            interval: Duration::from_secs(limits.integrity_verify_interval_s),
        },
        ..PostgresOptions::default()
    };
    Ok(Arc::new(PostgresEngine::open(url, options, sink)?))
}

/// The SQLite store in `data_dir`, created and migrated on first use.
pub fn open_sqlite(
    data_dir: &Path,
    limits: &Limits,
    sink: Arc<dyn NoticeSink>,
) -> Result<Arc<dyn Engine>, piazza_sqlite::Error> {
    let store = SqliteStore::open(data_dir, sqlite_options(limits), sink)?;
    Ok(Arc::new(SqliteEngine(Arc::new(store))))
}

/// The SQLite engine's settings, from the server's limits.
pub fn sqlite_options(limits: &Limits) -> StoreOptions {
    StoreOptions {
        pin_policy: limits.pin_policy(),
        writer_cache_kib: limits.writer_cache_mib.saturating_mul(1024),
        verify: VerifyOptions {
            start_budget: Duration::from_secs(limits.integrity_start_check_s),
            interval: Duration::from_secs(limits.integrity_verify_interval_s),
            pause: Duration::from_millis(limits.integrity_verify_pause_ms),
        },
        writer: WriterLimits {
            queue_len_max: limits.writer_queue_len_max,
            checkpoint_frames: WriterLimits::checkpoint_frames_for_mib(limits.wal_checkpoint_mib),
            tails: TailLimits {
                keep: limits.tail_keep,
                move_max: limits.tail_move_max,
            },
            ..WriterLimits::default()
        },
        ..StoreOptions::default()
    }
}
