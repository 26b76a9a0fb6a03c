//! `piazza chaos`: the durability promise, checked under fire.
//!
//! The server runs as a child process on a temporary data directory, or
//! on a fresh PostgreSQL database (`--database-url`), where several
//! processes may serve it at once (`--processes`). Every area that has
//! landed drives its own mixed load through the client crate, spread over
//! every process, and writes down each answer it got. At a moment drawn
//! from the seed one process is killed with SIGKILL, and then:
//!
//! 1. the offline checkers (`admin check`, `admin ledger-check`) run over
//!    what the kill left, before any recovery could tidy it up — with
//!    nobody writing when it was the only process, while the others keep
//!    serving the load when there are several (PostgreSQL's checkers read
//!    one snapshot);
//! 2. the killed process restarts on the same store (with several, under
//!    the others' load, which then stops);
//! 3. each area retries, with the same key or message id, every operation
//!    that was in flight at the kill — through another process when there
//!    are several: it must now be stored exactly once, and a second retry
//!    must replay the first;
//! 4. each area verifies through the API that every acknowledged operation
//!    is there exactly once, and that nothing else is, and that every
//!    conversation's `seq` and every account's log is gapless.
//!
//! A new area implements [`Workload`] in its own module and adds one line
//! to [`setup_areas`]: its operations and its checks, nothing else.
//!
//! The seed fixes the kill points, which process dies, and every random
//! choice of the load; the interleaving of concurrent requests still
//! varies from run to run, so a failure replays with its seed as closely
//! as threads allow.

mod channels;
mod chat;
mod database;
mod media;
mod moments;
mod nats;
mod pay;
mod server;
mod shops;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::future::BoxFuture;
use piazza_client::{Client, ClientError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use server::{ChildServer, DataDir};

/// How long a worker whose write was refused (503) waits before its next
/// step: less than the `Retry-After` a person's client would honour, for
/// a load, but not a spin while the database is down.
const REFUSED_PAUSE_MS: u64 = 50;
/// The most kills one run may ask for.
const KILLS_MAX: u32 = 10_000;
/// The most processes one run may serve from.
const PROCESSES_MAX: u32 = 8;
/// The longest one round may take to reach its kill: a load that stops
/// making progress is a hung server, not a slow one.
const ROUND_PATIENCE_S: u64 = 120;
/// The longest the kill may trail the acknowledgement that triggered it,
/// so kills also land between answers, not only right after one.
const KILL_DELAY_MS_MAX: u64 = 20;

#[derive(clap::Args, Debug)]
pub struct ChaosArgs {
    /// How many times to SIGKILL and restart the server
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=KILLS_MAX as i64))]
    pub kills: u32,
    /// Seeds the kill moments and the load's choices; a failure prints it
    /// (drawn from the clock when not given)
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fewest acknowledged operations between two kills
    #[arg(long, default_value_t = 50)]
    pub acks_min: u64,
    /// Most acknowledged operations between two kills
    #[arg(long, default_value_t = 250)]
    pub acks_max: u64,
    /// Give up (and fail) if the run takes longer than this, in seconds
    #[arg(long, default_value_t = 600)]
    pub time_limit_s: u64,
    /// Keep the data directory (and the PostgreSQL database) when the run
    /// fails, to look at
    #[arg(long)]
    pub keep_data: bool,
    /// Run on PostgreSQL: a URL to a server (postgres://user@host/postgres,
    /// a role that may create databases) where the run makes a fresh
    /// database and drops it after. Without it, SQLite.
    #[arg(long, env = "PIAZZA_CHAOS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// How many `piazza serve` processes share the database, with clients
    /// on each; every kill takes one of them while the others serve on.
    /// More than one needs --database-url
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=PROCESSES_MAX as i64))]
    pub processes: u32,
    /// Cluster mode: join the processes through this many NATS servers,
    /// started here and clustered; every round also kills one of them
    /// (SIGKILL, drawn from the seed) at the kill point and starts it
    /// again once the round is verified. Needs --processes 2 or more
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=NATS_SERVERS_MAX as i64))]
    pub nats_servers: u32,
    /// Restart PostgreSQL too: the run starts a PostgreSQL server of its
    /// own (Debian's postgresql package; as root, run as the postgres
    /// user) instead of using --database-url, and every round stops it
    /// (fast) at the kill point for a second under the others' load; each
    /// process still up must answer a write 503 with Retry-After
    /// meanwhile. Needs --processes 2 or more; --keep-data then keeps the
    /// data directory only (the server and its folder go with the run)
    #[arg(long, conflicts_with = "database_url")]
    pub restart_database: bool,
}

/// The most NATS servers a cluster-mode run may start.
const NATS_SERVERS_MAX: u32 = 5;

/// What became of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server acknowledged a write; the area wrote down what it said.
    Acknowledged,
    /// A read whose answer the area checked.
    Checked,
    /// No answer: the server went away mid-request. The area wrote the
    /// operation down to retry after the restart; this worker stops.
    InFlight,
    /// Nothing to do right now (an empty queue), or the server asked to
    /// slow down (429): nothing was stored, try again shortly.
    Idle,
    /// The store refused the write whole (503: on PostgreSQL, a conflict
    /// that outlasted the writer's retries). It promises nothing was
    /// stored, so the area writes nothing down, and its verification
    /// fails if anything was; the worker goes on.
    Refused,
}

/// One area's load and checks. Each method gets a client for the server
/// of the moment (its address changes on every restart); the area keeps
/// its own accounts' tokens, which survive restarts.
pub trait Workload: Send + Sync {
    /// For progress lines and errors.
    fn name(&self) -> &'static str;
    /// How many concurrent workers call [`Workload::step`].
    fn workers(&self) -> usize;
    /// One operation by worker `worker`. Writes down what was acknowledged
    /// or left in flight; an answer that breaks a promise is an error.
    fn step<'a>(
        &'a self,
        server: &'a Client,
        worker: usize,
        rng: &'a mut StdRng,
    ) -> BoxFuture<'a, anyhow::Result<Outcome>>;
    /// After a restart, before any new load: retries each operation that
    /// was in flight at the kill with its original key, checks a second
    /// retry replays the first, and counts them.
    fn recover<'a>(&'a self, server: &'a Client) -> BoxFuture<'a, anyhow::Result<Recovered>>;
    /// Checks through the API that every acknowledged operation is stored
    /// exactly once, that nothing unacknowledged is, and that every log
    /// and sequence is gapless. Answers how many operations it verified.
    fn verify<'a>(&'a self, server: &'a Client) -> BoxFuture<'a, anyhow::Result<u64>>;
}

/// What one area's retries after a restart found.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recovered {
    /// Operations retried with their original key or message id.
    pub retried: u64,
    /// Of those, the ones the retry found already stored: the kill came
    /// after the commit but before the answer reached the client. Only
    /// counted where the area can tell.
    pub already_stored: u64,
}

impl std::ops::AddAssign for Recovered {
    fn add_assign(&mut self, other: Recovered) {
        self.retried += other.retried;
        self.already_stored += other.already_stored;
    }
}

/// Every area that has landed. A new area adds its line here. Media
/// only with one process: each keeps its files in its own data dir
/// (several need a shared `--media-store`, which this harness does not
/// start).
async fn setup_areas(server: &Client, processes: u32) -> anyhow::Result<Vec<Arc<dyn Workload>>> {
    let mut areas: Vec<Arc<dyn Workload>> = vec![
        Arc::new(chat::Chat::setup(server).await?),
        Arc::new(pay::Pay::setup(server).await?),
        Arc::new(channels::Channels::setup(server).await?),
        Arc::new(moments::Moments::setup(server).await?),
        Arc::new(shops::Shops::setup(server).await?),
    ];
    if processes == 1 {
        areas.push(Arc::new(media::Media::setup(server).await?));
    }
    Ok(areas)
}

pub async fn run(args: ChaosArgs) -> anyhow::Result<()> {
    if args.acks_min == 0 || args.acks_min > args.acks_max {
        bail!("--acks-min must be at least 1 and at most --acks-max");
    }
    if args.restart_database && args.processes < 2 {
        bail!(
            "--restart-database needs --processes 2 or more, to serve while the database is down"
        );
    }
    if args.processes > 1 && args.database_url.is_none() && !args.restart_database {
        bail!(
            "--processes {} needs --database-url: several processes share a \
             PostgreSQL database, never a SQLite file",
            args.processes
        );
    }
    if args.nats_servers > 0 && args.processes < 2 {
        bail!("--nats-servers joins several processes: give --processes 2 or more");
    }
    let seed = args.seed.unwrap_or_else(seed_from_clock);
    let nats = match args.nats_servers {
        0 => None,
        size => Some(nats::NatsCluster::start(size as usize).await?),
    };
    let nats_url = nats.as_ref().map(nats::NatsCluster::urls);
    let postgres = match args.restart_database {
        true => Some(database::start().await?),
        false => None,
    };
    let database_server = match &postgres {
        Some(postgres) => Some(postgres.url()),
        None => args.database_url.clone(),
    };
    let data_dir = DataDir::create(database_server.as_deref(), nats_url.as_deref())?;
    let limit = Duration::from_secs(args.time_limit_s);
    let seeded = run_seeded(&args, seed, &data_dir, nats, postgres.clone());
    let outcome = match tokio::time::timeout(limit, seeded).await {
        Ok(outcome) => outcome,
        Err(_) => Err(anyhow::anyhow!(
            "the run did not finish within --time-limit-s {}",
            args.time_limit_s
        )),
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(error) => {
            if args.keep_data {
                eprintln!("{}", data_dir.keep());
            }
            Err(error.context(format!("chaos failed; replay with --seed {seed}")))
        }
    }
}

/// What the run has counted so far.
#[derive(Default)]
struct Totals {
    acknowledged: u64,
    /// Of those, acknowledged by the other processes while one was down.
    acknowledged_while_down: u64,
    checked: u64,
    refused: u64,
    recovered: Recovered,
    verified_last: u64,
    verified_total: u64,
    restart_ms: Vec<u64>,
    /// How long each round's database restart kept it down.
    database_down_ms: Vec<u64>,
}

async fn run_seeded(
    args: &ChaosArgs,
    seed: u64,
    data_dir: &DataDir,
    nats: Option<nats::NatsCluster>,
    postgres: Option<Arc<piazza_postgres::testing::PrivateServer>>,
) -> anyhow::Result<()> {
    let began = Instant::now();
    let mut engine = match args.processes {
        _ if data_dir.database_url().is_none() => "SQLite".to_owned(),
        1 => "PostgreSQL".to_owned(),
        many => format!("PostgreSQL, {many} processes on one database"),
    };
    if let Some(nats) = &nats {
        engine.push_str(&format!(", joined by {} NATS servers", nats.len()));
    }
    if postgres.is_some() {
        engine.push_str(", PostgreSQL restarted every round");
    }
    println!(
        "chaos: seed {seed}, {} kills, {}..={} acknowledged operations between kills, on {engine}",
        args.kills, args.acks_min, args.acks_max
    );
    let mut servers = Vec::new();
    for process in 0..args.processes as usize {
        servers.push(ChildServer::start(data_dir, process).await?);
    }
    let areas = setup_areas(&Client::new(servers[0].base_url()), args.processes)
        .await
        .context("cannot set the areas up")?;
    let names: Vec<_> = areas.iter().map(|area| area.name()).collect();
    println!("areas: {}", names.join(", "));

    let mut run = Run {
        args,
        data_dir,
        rng: StdRng::seed_from_u64(seed),
        servers,
        nats,
        postgres,
        areas,
        totals: Totals::default(),
    };
    for kill in 1..=args.kills {
        run.round(kill)
            .await
            .with_context(|| format!("round {kill}"))?;
    }
    run.finish().await?;
    run.report(began.elapsed(), seed);
    Ok(())
}

/// A run under way: its servers, its areas and what it has counted.
struct Run<'a> {
    args: &'a ChaosArgs,
    data_dir: &'a DataDir,
    rng: StdRng,
    /// Process `n` serves from `data_dir.data(n)`; the one killed is
    /// replaced by its restart.
    servers: Vec<ChildServer>,
    /// Cluster mode's NATS servers, one of which each round kills.
    nats: Option<nats::NatsCluster>,
    /// The run's own PostgreSQL server, which each round restarts.
    postgres: Option<Arc<piazza_postgres::testing::PrivateServer>>,
    areas: Vec<Arc<dyn Workload>>,
    totals: Totals,
}

impl Run<'_> {
    /// Load on every process until the round's acknowledgements, a kill of
    /// one of them, the checks, its restart, the retries and the
    /// verification.
    async fn round(&mut self, kill: u32) -> anyhow::Result<()> {
        let tally = Arc::new(Tally::default());
        let acks_this_round = self
            .rng
            .random_range(self.args.acks_min..=self.args.acks_max);
        tally.kill_at.store(acks_this_round, Ordering::SeqCst);
        let round_seed: u64 = self.rng.random();
        let mut workers = self.start_load(kill, round_seed, &tally);
        wait_for_kill_point(&tally, &mut workers).await?;
        let delay = self.rng.random_range(0..=KILL_DELAY_MS_MAX);
        // Drawn only when there is a choice, so a seed of a one-process
        // run replays as it did before there could be several.
        let victim = match self.servers.len() {
            1 => 0,
            many => self.rng.random_range(0..many),
        };
        tokio::time::sleep(Duration::from_millis(delay)).await;
        self.servers[victim].kill().await?;
        let bus_victim = match &mut self.nats {
            Some(nats) => {
                let n = self.rng.random_range(0..nats.len());
                nats.kill(n).await?;
                Some(n)
            }
            None => None,
        };
        let acked_at_kill = tally.acknowledged.load(Ordering::SeqCst);
        let database = self.restart_database(victim).await?;
        if self.servers.len() == 1 {
            // Nobody writes now: the checks see exactly what the kill left.
            stop_load(&tally, &mut workers).await?;
            offline_checks(self.data_dir).await?;
            self.restart(victim).await?;
        } else {
            // The others serve on: the checks read a snapshot as they
            // write, and the killed one comes back under their load.
            offline_checks(self.data_dir).await?;
            self.restart(victim).await?;
            stop_load(&tally, &mut workers).await?;
        }
        let acked = tally.acknowledged.load(Ordering::SeqCst);
        self.totals.acknowledged += acked;
        self.totals.acknowledged_while_down += acked - acked_at_kill;
        self.totals.checked += tally.checked.load(Ordering::SeqCst);
        self.totals.refused += tally.refused.load(Ordering::SeqCst);
        let (recovered, verified) = self.recover_and_verify(victim).await?;
        self.totals.recovered += recovered;
        self.totals.verified_last = verified;
        self.totals.verified_total += verified;
        if let (Some(nats), Some(n)) = (&mut self.nats, bus_victim) {
            nats.start_one(n).await?;
        }
        let bus = bus_victim.map_or(String::new(), |n| format!(" and NATS server {n}"));
        let which = match self.servers.len() {
            1 => String::new(),
            _ => format!(
                " of process {victim}{bus} ({} more acknowledged by the others while it was down)",
                thousands(acked - acked_at_kill)
            ),
        };
        println!(
            "kill {kill}/{}{which}{database} after {} acks: restarted in {} ms, retried {} in \
             flight ({} had been stored), verified {} operations",
            self.args.kills,
            thousands(acked_at_kill),
            self.servers[victim].started_in.as_millis(),
            recovered.retried,
            recovered.already_stored,
            thousands(verified),
        );
        Ok(())
    }

    /// With `--restart-database`: restarts PostgreSQL under the load of
    /// every process but `victim` (killed), probing each; says how it went.
    async fn restart_database(&mut self, victim: usize) -> anyhow::Result<String> {
        let Some(postgres) = &self.postgres else {
            return Ok(String::new());
        };
        let alive: Vec<String> = (self.servers.iter().enumerate())
            .filter(|(n, _)| *n != victim)
            .map(|(_, server)| server.base_url().to_owned())
            .collect();
        let restarted = database::restart(postgres, &alive)
            .await
            .context("restarting PostgreSQL")?;
        self.totals
            .database_down_ms
            .push(restarted.down.as_millis() as u64);
        Ok(format!(
            ", PostgreSQL down {} ms ({} processes answered 503 with Retry-After)",
            restarted.down.as_millis(),
            restarted.probed
        ))
    }

    /// Every area's workers, spread over the processes so that each serves
    /// every area's accounts and conversations; the spread turns by one
    /// each round, so every worker meets every process.
    fn start_load(
        &self,
        kill: u32,
        round_seed: u64,
        tally: &Arc<Tally>,
    ) -> JoinSet<anyhow::Result<()>> {
        let clients: Vec<Client> = self
            .servers
            .iter()
            .map(|server| Client::new(server.base_url()))
            .collect();
        let mut workers = JoinSet::new();
        for (area_index, area) in self.areas.iter().enumerate() {
            for worker in 0..area.workers() {
                let worker_seed = round_seed ^ ((area_index as u64) << 32 | worker as u64);
                let process = (area_index + worker + kill as usize) % clients.len();
                workers.spawn(drive(
                    Arc::clone(area),
                    clients[process].clone(),
                    worker,
                    worker_seed,
                    Arc::clone(tally),
                ));
            }
        }
        workers
    }

    async fn restart(&mut self, process: usize) -> anyhow::Result<()> {
        self.servers[process] = ChildServer::start(self.data_dir, process)
            .await
            .with_context(|| format!("restarting process {process}"))?;
        let started_in = self.servers[process].started_in.as_millis() as u64;
        self.totals.restart_ms.push(started_in);
        Ok(())
    }

    /// With the load stopped: every area retries its in-flight operations
    /// (through another process than the one that was killed, when there
    /// is one), then every area verifies through the restarted process.
    /// Recovery first for all, because one area's retry may be another's
    /// evidence (a red packet lands in a conversation).
    async fn recover_and_verify(&self, restarted: usize) -> anyhow::Result<(Recovered, u64)> {
        let retrying = &self.servers[(restarted + 1) % self.servers.len()];
        let retrying = Client::new(retrying.base_url());
        let mut recovered = Recovered::default();
        for area in &self.areas {
            recovered += area
                .recover(&retrying)
                .await
                .with_context(|| format!("{}: retrying what was in flight", area.name()))?;
        }
        let verified = verify_areas(&self.areas, self.servers[restarted].base_url()).await?;
        // The store's own verifier ran through the round (every second on
        // SQLite, see `server.rs`): a false alarm under load would halt
        // money and show here.
        for server in &self.servers {
            Client::new(server.base_url()).health().await.context(
                "/healthz after the round: the store's verifier found damage, \
                 or the server is unwell",
            )?;
        }
        Ok((recovered, verified))
    }

    /// After the last round: with several processes every one of them
    /// must show the same, exact store; then each stops with SIGTERM and
    /// the checkers run over what they left.
    async fn finish(&mut self) -> anyhow::Result<()> {
        if self.servers.len() > 1 {
            for (process, server) in self.servers.iter().enumerate() {
                verify_areas(&self.areas, server.base_url())
                    .await
                    .with_context(|| format!("verifying through process {process} at the end"))?;
            }
        }
        for server in &mut self.servers {
            server.stop().await?;
        }
        offline_checks(self.data_dir)
            .await
            .context("after the last stop")
    }

    fn report(&mut self, elapsed: Duration, seed: u64) {
        let totals = &mut self.totals;
        totals.restart_ms.sort_unstable();
        let median = totals.restart_ms[totals.restart_ms.len() / 2];
        let slowest = totals.restart_ms.last().copied().unwrap_or_default();
        let while_down = match self.servers.len() {
            1 => String::new(),
            2 => format!(
                "{} of them by the other process while one was down; ",
                thousands(totals.acknowledged_while_down)
            ),
            many => format!(
                "{} of them by the other {} processes while one was down; ",
                thousands(totals.acknowledged_while_down),
                many - 1
            ),
        };
        if !totals.database_down_ms.is_empty() {
            totals.database_down_ms.sort_unstable();
            let down = &totals.database_down_ms;
            println!(
                "PostgreSQL restarted {} times, down median {} ms, longest {} ms; every process \
                 still up answered 503 with Retry-After meanwhile",
                down.len(),
                down[down.len() / 2],
                down[down.len() - 1]
            );
        }
        println!(
            "survived {} kills in {:.1} s (seed {seed}): {} operations acknowledged, \
             {while_down}{} refused whole (503) and stored nowhere, {} sync pages checked, \
             {} in flight retried ({} had been stored), \
             {} operations verified after the last restart ({} operation checks in all); \
             restart median {median} ms, slowest {slowest} ms; \
             admin check and ledger-check passed after every kill",
            self.args.kills,
            elapsed.as_secs_f64(),
            thousands(totals.acknowledged),
            thousands(totals.refused),
            thousands(totals.checked),
            thousands(totals.recovered.retried),
            thousands(totals.recovered.already_stored),
            thousands(totals.verified_last),
            thousands(totals.verified_total),
        );
    }
}

/// The counters one round's workers share.
#[derive(Default)]
struct Tally {
    acknowledged: AtomicU64,
    checked: AtomicU64,
    /// Writes the store refused whole (503).
    refused: AtomicU64,
    /// Acknowledgements that end the round.
    kill_at: AtomicU64,
    enough: Notify,
    /// Set once the server is dead: workers stop at their next step.
    stop: AtomicBool,
}

/// One worker: steps until the server stops answering or the round ends.
async fn drive(
    area: Arc<dyn Workload>,
    server: Client,
    worker: usize,
    seed: u64,
    tally: Arc<Tally>,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    while !tally.stop.load(Ordering::SeqCst) {
        let outcome = area
            .step(&server, worker, &mut rng)
            .await
            .with_context(|| format!("{} worker {worker}", area.name()))?;
        match outcome {
            Outcome::Acknowledged => {
                let acked = tally.acknowledged.fetch_add(1, Ordering::SeqCst) + 1;
                if acked == tally.kill_at.load(Ordering::SeqCst) {
                    tally.enough.notify_one();
                }
            }
            Outcome::Checked => {
                tally.checked.fetch_add(1, Ordering::SeqCst);
            }
            Outcome::InFlight => return Ok(()),
            Outcome::Idle => tokio::time::sleep(Duration::from_millis(2)).await,
            Outcome::Refused => {
                tally.refused.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(REFUSED_PAUSE_MS)).await;
            }
        }
    }
    Ok(())
}

/// Until the round has its acknowledgements. A worker that fails fails
/// the run now, and one that ends early means the server died on its own.
async fn wait_for_kill_point(
    tally: &Tally,
    workers: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let progress = async {
        tokio::select! {
            () = tally.enough.notified() => Ok(()),
            Some(ended) = workers.join_next() => {
                ended.context("a load worker panicked")??;
                bail!("a load worker stopped before the kill: did the server die?")
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(ROUND_PATIENCE_S), progress)
        .await
        .with_context(|| format!("the load made no progress within {ROUND_PATIENCE_S} s"))?
}

/// Ends a round's load: every worker stops at its next step (those of a
/// killed process have stopped already), and a worker's failure fails
/// the round.
async fn stop_load(tally: &Tally, workers: &mut JoinSet<anyhow::Result<()>>) -> anyhow::Result<()> {
    tally.stop.store(true, Ordering::SeqCst);
    while let Some(ended) = workers.join_next().await {
        ended.context("a load worker panicked")??;
    }
    Ok(())
}

/// `admin check` and `admin ledger-check` over the store: the data
/// directory's SQLite file, which nobody writes to now, or the PostgreSQL
/// database, read in one snapshot while other processes may be writing.
async fn offline_checks(data_dir: &DataDir) -> anyhow::Result<()> {
    let (report, ledger) = match data_dir.database_url() {
        Some(url) => {
            let url = url.to_owned();
            // The blocking client runs a runtime of its own.
            tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let report = piazza_postgres::integrity::check(&url).context("admin check")?;
                let ledger =
                    piazza_postgres::integrity::check_ledger(&url).context("ledger-check")?;
                Ok((report, ledger))
            })
            .await
            .context("the checks panicked")??
        }
        None => {
            let data = data_dir.data(0);
            let report = piazza_sqlite::integrity::check_data_dir(&data).context("admin check")?;
            let ledger =
                piazza_sqlite::integrity::check_ledger_data_dir(&data).context("ledger-check")?;
            (report, ledger)
        }
    };
    if !report.is_sound() {
        bail!("admin check: {}", report.problems.join("; "));
    }
    if !ledger.is_sound() {
        bail!("ledger-check: {}", ledger.problems.join("; "));
    }
    Ok(())
}

/// Every area verifies through the server at `base_url`; answers how many
/// operations they verified.
async fn verify_areas(areas: &[Arc<dyn Workload>], base_url: &str) -> anyhow::Result<u64> {
    let client = Client::new(base_url);
    let mut verified = 0;
    for area in areas {
        verified += area
            .verify(&client)
            .await
            .with_context(|| format!("{}: verifying", area.name()))?;
    }
    Ok(verified)
}

/// `17163` as `17,163`, for the progress lines.
fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

fn seed_from_clock() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.as_secs() ^ u64::from(now.subsec_nanos())
}

// ------------------------------------------------------- shared by areas

/// The password of every chaos account.
const PASSWORD: &str = "chaos-password-1";

/// One account an area acts as. The token outlives restarts: sessions are
/// durable too.
#[derive(Debug, Clone)]
struct Member {
    name: String,
    account_id: String,
    token: String,
}

impl Member {
    /// Creates and logs in `name`.
    async fn create(server: &Client, name: &str) -> anyhow::Result<Member> {
        server
            .create_account(name, PASSWORD, None)
            .await
            .with_context(|| format!("cannot create {name}"))?;
        let session = server
            .login(name, PASSWORD, "chaos")
            .await
            .with_context(|| format!("cannot log {name} in"))?;
        Ok(Member {
            name: name.to_owned(),
            account_id: session.account_id,
            token: session.token,
        })
    }

    fn on(&self, server: &Client) -> Client {
        server.with_token(self.token.clone())
    }
}

/// Makes every two of `members` contacts.
async fn befriend_all(server: &Client, members: &[Member]) -> anyhow::Result<()> {
    for (index, member) in members.iter().enumerate() {
        for other in &members[index + 1..] {
            let request = member
                .on(server)
                .request_contact(&other.name, None)
                .await
                .with_context(|| format!("{} cannot ask {}", member.name, other.name))?;
            other.on(server).accept_request(&request).await?;
        }
    }
    Ok(())
}

/// How an answer-less call is told from a refused one.
enum Answer<T> {
    Ok(T),
    /// No answer: the server went away.
    Lost,
    /// 429: nothing done, try later.
    Throttled,
    /// 503: refused whole, nothing stored (see [`Outcome::Refused`]).
    Refused,
}

/// Sorts a call's result: a transport failure is a lost answer, a 429 a
/// request to slow down, a 503 a refusal of the whole write, any other
/// refusal an error naming `what`.
fn answer<T>(result: Result<T, ClientError>, what: &str) -> anyhow::Result<Answer<T>> {
    match result {
        Ok(value) => Ok(Answer::Ok(value)),
        Err(ClientError::Transport(_)) => Ok(Answer::Lost),
        Err(error) if error.status() == Some(429) => Ok(Answer::Throttled),
        Err(error) if error.status() == Some(503) => Ok(Answer::Refused),
        Err(error) => Err(anyhow::Error::from(error).context(format!("{what} was refused"))),
    }
}

/// A call made after the restart, with no load running: a 429 is waited
/// out (a bounded number of times), anything else but success is an error.
async fn settled<T, F, Fut>(what: &str, mut call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    const ATTEMPTS_MAX: u32 = 50;
    for _ in 0..ATTEMPTS_MAX {
        match call().await {
            Err(error) if error.status() == Some(429) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            result => return result.with_context(|| format!("{what} failed")),
        }
    }
    bail!("{what} was throttled {ATTEMPTS_MAX} times")
}

/// The position of a sync cursor in its account's log.
fn log_position(cursor: &str) -> anyhow::Result<i64> {
    let cursor = piazza_domain::Cursor::parse(cursor)
        .map_err(|_| anyhow::anyhow!("the server sent a cursor it cannot read back: {cursor:?}"))?;
    Ok(cursor.log_seq().get())
}

/// Reads `member`'s whole log from the start and checks its positions run
/// 1, 2, 3… with no gap; answers its length.
async fn check_log_gapless(server: &Client, member: &Member) -> anyhow::Result<i64> {
    read_log_gapless(server, member, |_| Ok(())).await
}

/// As [`check_log_gapless`], showing `visit` each event in order.
async fn read_log_gapless(
    server: &Client,
    member: &Member,
    mut visit: impl FnMut(&piazza_api::EventView) -> anyhow::Result<()>,
) -> anyhow::Result<i64> {
    /// Pages followed at most: 10 million events.
    const PAGES_MAX: usize = 10_000;
    let client = member.on(server);
    let mut cursor: Option<String> = None;
    let mut expected = 1;
    for _ in 0..PAGES_MAX {
        let page = settled("sync", || {
            client.sync(
                cursor.as_deref(),
                Some(piazza_domain::limits::SYNC_PAGE_LEN_MAX),
                None,
            )
        })
        .await?;
        for event in &page.events {
            let position = log_position(&event.cursor)?;
            if position != expected {
                bail!(
                    "{}'s log has {position} where {expected} belongs",
                    member.name
                );
            }
            visit(event)?;
            expected += 1;
        }
        if !page.has_more {
            return Ok(expected - 1);
        }
        cursor = Some(page.cursor);
    }
    bail!("{}'s log did not end within {PAGES_MAX} pages", member.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(17_163), "17,163");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
