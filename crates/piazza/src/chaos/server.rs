//! The server under fault: this same binary's `serve`, run as a child on a
//! data directory (or a PostgreSQL database) that outlives it, so it can
//! be killed with SIGKILL and started again on what the kill left behind.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use piazza_postgres::redacted;
use piazza_postgres::testing::TestDatabase;
use tokio::process::{Child, Command};

use crate::bench::server::{read_listening_line, serve_command};

/// The child's config. Password and PIN hashing are made cheap because
/// every transfer, packet and payment checks a PIN, and the load is about
/// the store, not Argon2. The sandbox gateway lets the wallets be topped
/// up. Tails of a few dozen entries make nearly every batch move log
/// entries and statement lines into their main B-trees, so the kills land
/// in the middle of moves too. The store's verifier checks every second,
/// so its passes run against the writer and across the kills (a false
/// alarm fails the round's `/healthz`). Every client of the load comes
/// from one address, and while the database is down (`--restart-database`)
/// a request whose token cannot be looked up counts as anonymous: the
/// address's allowance is raised so that the probes of that moment are
/// answered by the store, not by the rate limiter. The keys must match the
/// server's config exactly: it refuses unknown ones.
const CHAOS_CONFIG_TOML: &str = "\
sandbox_payments = true

[password_hashing]
memory_kib = 1024
iterations = 1

[limits]
tail_keep = 48
tail_move_max = 32
integrity_verify_interval_s = 1
integrity_verify_pause_ms = 0
anonymous_requests_per_address_per_s = 100000
anonymous_requests_per_address_burst = 100000
";

/// How long the last server may take to stop after SIGTERM.
const STOP_TIMEOUT_S: u64 = 10;

/// Where the children keep their store and config; it survives every
/// kill. On SQLite the store is the data directory; on PostgreSQL it is a
/// database made for this run, which every process shares (each keeps
/// its own data directory, for media).
pub struct DataDir {
    /// Removed when the run ends, unless the run asked to keep it.
    directory: tempfile::TempDir,
    /// Dropped when the run ends, unless the run asked to keep it.
    database: Option<TestDatabase>,
}

impl DataDir {
    /// A fresh directory; with `database_server` (a PostgreSQL URL, as a
    /// role that may create databases), a fresh database on that server;
    /// with `nats_url`, every process joins the others through it.
    pub fn create(
        database_server: Option<&str>,
        nats_url: Option<&str>,
    ) -> anyhow::Result<DataDir> {
        let directory = tempfile::Builder::new()
            .prefix("piazza-chaos-")
            .tempdir()
            .context("cannot create a temporary directory for the server")?;
        // As the bench's: cloned from a migrated template; a server that
        // cannot be reached panics with what to do about it.
        let database = database_server.map(TestDatabase::create_on);
        let mut config = String::new();
        if let Some(database) = &database {
            // Top-level keys come before any table.
            config.push_str(&format!("database_url = {:?}\n", database.url));
        }
        if let Some(nats_url) = nats_url {
            config.push_str(&format!("nats_url = {nats_url:?}\n"));
        }
        config.push_str(CHAOS_CONFIG_TOML);
        let path = directory.path().join("chaos.toml");
        std::fs::write(&path, config)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(DataDir {
            directory,
            database,
        })
    }

    /// The data directory of process `process` (0 for a single server),
    /// as given to `serve --data-dir` and, on SQLite, to the offline
    /// checks.
    pub fn data(&self, process: usize) -> PathBuf {
        match process {
            0 => self.directory.path().join("data"),
            other => self.directory.path().join(format!("data-{other}")),
        }
    }

    /// The PostgreSQL database every process serves from, if any.
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(|database| database.url.as_str())
    }

    fn config(&self) -> PathBuf {
        self.directory.path().join("chaos.toml")
    }

    /// Keeps the directory (and the database) for a look after a failed
    /// run, and says where they are.
    pub fn keep(self) -> String {
        let mut kept = format!(
            "the data directory is kept in {}",
            self.directory.keep().display()
        );
        if let Some(database) = self.database {
            match database.keep() {
                Ok(url) => kept.push_str(&format!(", the database at {}", redacted(&url))),
                Err(error) => kept.push_str(&format!(" (the database could not be kept: {error})")),
            }
        }
        kept
    }
}

/// One life of the server, from start to kill.
pub struct ChildServer {
    child: Child,
    base_url: String,
    /// From spawning the process to its `listening on` line: how long
    /// opening (and, after a kill, recovering) the store took.
    pub started_in: Duration,
}

impl ChildServer {
    /// Starts `piazza serve` as process `process` of the run on a free
    /// loopback port and waits until it says where it listens.
    pub async fn start(data_dir: &DataDir, process: usize) -> anyhow::Result<ChildServer> {
        let began = Instant::now();
        let mut child = serve_command(&data_dir.data(process), &data_dir.config())?
            .spawn()
            .context("cannot start the server process")?;
        let base_url = read_listening_line(&mut child).await?;
        Ok(ChildServer {
            child,
            base_url,
            started_in: began.elapsed(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// SIGKILL: no shutdown hook runs, nothing is flushed; whatever was
    /// not committed is gone. Fails if the server had already died, which
    /// would be the real news.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the server died before it was killed ({status})");
        }
        self.child.start_kill().context("cannot kill the server")?;
        self.child.wait().await.context("cannot reap the server")?;
        Ok(())
    }

    /// SIGTERM, as a deployment stops it; the exit must be clean.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the server died before it was stopped ({status})");
        }
        let pid = self.child.id().context("the server has no pid")?;
        let signalled = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await
            .context("cannot run kill -TERM")?;
        if !signalled.success() {
            bail!("kill -TERM {pid} failed ({signalled})");
        }
        let waited = tokio::time::timeout(Duration::from_secs(STOP_TIMEOUT_S), self.child.wait());
        let status: ExitStatus = match waited.await {
            Ok(status) => status?,
            Err(_) => {
                self.child.kill().await.ok();
                bail!("the server did not stop within {STOP_TIMEOUT_S} s of SIGTERM");
            }
        };
        if !status.success() {
            bail!("the server did not exit cleanly on SIGTERM ({status})");
        }
        Ok(())
    }
}
