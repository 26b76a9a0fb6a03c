//! PostgreSQL as an engine of `piazza-core`: `piazza serve --database-url
//! postgres://…`. Write jobs run in group-committed batches on writer
//! threads (`writer.rs`), a batch's look-ups fetched and its writes made
//! a few statements at a time (`batch.rs`), read jobs on a pool
//! (`readers.rs`). Correctness
//! rests on rows, not on one process: sequences are handed out under row
//! locks (`log.rs`), so several Piazza processes may share one database.
//! Each area's data access is in the file of its area.
//!
//! The driver is `postgres`, the synchronous face of `tokio-postgres`:
//! the rules are synchronous functions run by writer threads, as on
//! SQLite, so a blocking client on those threads is the simplest fit.

mod account_deletion;
mod accounts;
mod batch;
pub mod bench_seed;
mod blocks;
mod channels;
mod chat;
mod conn;
mod contact_codes;
mod contacts;
mod exports;
mod groups;
pub mod integrity;
mod leases;
mod log;
mod login_requests;
mod media;
mod merchants;
pub mod migrations;
mod moments;
mod presence;
mod profiles;
mod readers;
mod red_packets;
mod search;
mod shops;
pub mod testing;
mod transfers;
mod verifier;
mod wallet;
mod writer;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use piazza_core::engine::{Committed, Done, Engine, Lane, ReadJob, WriteJob};
use piazza_domain::store::{NoticeSink, PinPolicy};

pub use conn::Conn;
pub use log::encode as encode_log_event;
pub use migrations::MigrateError;
pub use verifier::{Health, VerifyOptions};
pub use writer::{PgTx, WriterLimits};

/// A connection as the rules' reads see it: a reader's, or a writer's
/// inside its transaction.
pub struct Db<'c>(pub &'c mut Conn);

#[derive(Debug, Clone, Copy)]
pub struct PostgresOptions {
    pub writer: WriterLimits,
    pub reader_count: usize,
    pub pin_policy: PinPolicy,
    /// The start-up check and the background verifier (`verifier.rs`).
    pub verify: VerifyOptions,
}

impl Default for PostgresOptions {
    fn default() -> PostgresOptions {
        PostgresOptions {
            writer: WriterLimits::default(),
            reader_count: 8,
            pin_policy: PinPolicy::default(),
            verify: VerifyOptions::default(),
        }
    }
}

/// Why the engine could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        source: postgres::Error,
    },
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    #[error("cannot open the read connections: {0}")]
    Readers(String),
    /// The start-up check found damage (`verifier.rs`).
    #[error(
        "the database is damaged: {0}. Stop every Piazza process using it and restore it from a \
         backup; `piazza admin check --database-url …` and `piazza admin ledger-check \
         --database-url …` list every problem"
    )]
    Damaged(String),
    #[error("cannot check the database at start: {0}")]
    Check(postgres::Error),
    #[error("cannot start the verifier: {0}")]
    Verifier(std::io::Error),
}

pub struct PostgresEngine {
    writers: writer::Writers,
    readers: Arc<readers::Readers>,
    health: Arc<Health>,
    verifier: verifier::Verifier,
}

impl PostgresEngine {
    /// Connects, migrates the schema, checks the ledger, and starts the
    /// writers and the verifier.
    pub fn open(
        url: &str,
        options: PostgresOptions,
        sink: Arc<dyn NoticeSink>,
    ) -> Result<PostgresEngine, OpenError> {
        let connect = || {
            Conn::connect(url).map_err(|source| OpenError::Connect {
                url: redacted(url),
                source,
            })
        };
        let mut first = connect()?;
        migrations::migrate(first.client())?;
        let (health, verifier) = verify(url, options.verify)?;
        let mut conns = vec![first];
        while conns.len() < options.writer.writers.max(1) {
            conns.push(connect()?);
        }
        let writers = writer::Writers::start(
            conns,
            url.to_owned(),
            sink,
            options.writer,
            options.pin_policy,
            Arc::clone(&health),
        );
        let readers = readers::Readers::open(url.to_owned(), options.reader_count.max(1))
            .map_err(|error| OpenError::Readers(error.to_string()))?;
        let readers = Arc::new(readers);
        Ok(PostgresEngine {
            writers,
            readers,
            health,
            verifier,
        })
    }
}

/// The start-up check, on the connection the verifier then keeps, and
/// the verifier: at once if the check ran out of time.
fn verify(
    url: &str,
    options: VerifyOptions,
) -> Result<(Arc<Health>, verifier::Verifier), OpenError> {
    let mut client =
        postgres::Client::connect(url, postgres::NoTls).map_err(|source| OpenError::Connect {
            url: redacted(url),
            source,
        })?;
    let started = std::time::Instant::now();
    let checked = verifier::check_at_start(&mut client, options.start_budget)?;
    // A complete check says nothing an operator needs at every start.
    if checked == verifier::StartCheck::Complete {
        tracing::debug!(?checked, elapsed = ?started.elapsed(), "database checked at start");
    } else {
        tracing::info!(?checked, elapsed = ?started.elapsed(), "database checked at start");
    }
    let health = Arc::new(Health::default());
    metrics::gauge!("piazza_postgres_damaged").set(0.0);
    let first_pass_now = checked == verifier::StartCheck::Cut;
    let verifier = verifier::Verifier::start(
        client,
        url.to_owned(),
        Arc::clone(&health),
        options,
        first_pass_now,
    )
    .map_err(OpenError::Verifier)?;
    Ok((health, verifier))
}

/// `url` without its password, for messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Engine for PostgresEngine {
    fn queue(&self, lane: Lane, job: WriteJob) -> BoxFuture<'_, piazza_core::Result<Committed>> {
        Box::pin(self.writers.queue(lane, job))
    }

    fn read(&self, job: ReadJob) -> BoxFuture<'_, piazza_core::Result<Done>> {
        Box::pin(self.readers.read(job))
    }

    fn check_health(&self) -> BoxFuture<'_, piazza_core::Result<()>> {
        Box::pin(async move {
            if let Some(damage) = self.health.damage() {
                return Err(piazza_core::Error::Engine(format!(
                    "the database is damaged ({damage}); money is halted"
                )));
            }
            if !self.writers.is_running() {
                return Err(piazza_core::Error::Engine(
                    "the writers have stopped".into(),
                ));
            }
            self.readers.ping().await
        })
    }

    fn money_halted(&self) -> bool {
        self.health.money_halted()
    }

    /// A session read is a round trip; a batch checks its writes'
    /// remembered sessions in one look-up.
    fn remembers_sessions(&self) -> bool {
        true
    }

    fn has_lanes(&self) -> bool {
        self.writers.count() > 1
    }

    fn shut_down(&self) {
        self.writers.shut_down();
        self.verifier.stop();
    }
}
