//! `piazza bench`: a load generator that drives a Piazza server through its
//! public API only, the way real clients do, and prints numbers.
//!
//! By default each run starts its own server as a child process (this same
//! binary, `serve`) on a fresh temporary data directory, so runs do not
//! disturb each other and the server's memory can be read from `/proc`.
//! Three scenarios:
//!
//! - `messaging`: pairs of contacts send to each other over WebSockets;
//!   throughput, end-to-end latency, and a check that nothing acknowledged
//!   was lost or doubled.
//! - `connections`: many idle WebSockets; the server's memory per socket.
//! - `catchup`: a brand-new device rebuilds a long log, over HTTP and over
//!   a WebSocket.
//! - `ledger`: durable money transfers per second, over HTTP and straight
//!   into the store, then a check that the ledger still balances.
//! - `red-packet`: every member of a full group claims one hot red packet
//!   at once; claims per second, and the shares adding up exactly.
//! - `soak`: many WebSockets held open for minutes while a trickle of
//!   messages flows; the server's memory trend, nothing dropped or lost.
//! - `feed`: one account whose 500 contacts posted 20 times each, with
//!   likes and comments among them, reads its Moments feed; the first
//!   page's latency.
//! - `channel`: publishing to channels of 1,000 and 1,000,000 followers
//!   side by side, the time until every online follower is told, and the
//!   subscriptions feed of an account following 500 channels.
//!
//! Every loop here is bounded in count and in time, and all traffic goes
//! to a loopback address.

mod backup;
mod catchup;
mod channel;
mod connections;
mod conversation_list;
mod drive;
mod export;
mod feed;
mod group;
mod ledger;
mod media;
mod messaging;
mod money;
pub(crate) mod progress;
mod red_packet;
mod report;
mod search;
pub(crate) mod server;
mod setup;
mod shop;
mod soak;
mod typing;

pub use catchup::CatchupArgs;
pub use connections::ConnectionsArgs;
pub use ledger::LedgerArgs;
pub use messaging::MessagingArgs;
pub use red_packet::RedPacketArgs;
pub use soak::SoakArgs;

use anyhow::bail;

use report::Output;
use server::{Server, SpawnOptions};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
    /// Print JSON instead of a table
    #[arg(long, global = true)]
    pub json: bool,
    /// Load a server already running at this URL instead of starting one
    /// (its RSS is read only if --server-pid is given)
    // Not `--server`: the client commands' global `--server` has a default,
    // so through it "not given" (start our own) could not be told apart.
    #[arg(long = "attach", id = "attach", value_name = "URL", global = true)]
    pub server: Option<String>,
    /// The process id of the server given with --attach, to read its memory use
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// Run on PostgreSQL: a URL to a server (postgres://user@host/postgres,
    /// a role that may create databases) where the bench makes a fresh
    /// database for the run and drops it after. Without it, SQLite.
    #[arg(long, global = true, env = "PIAZZA_BENCH_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Pairs of contacts send to each other over WebSockets: throughput,
    /// end-to-end latency, and nothing lost.
    Messaging(MessagingArgs),
    /// Many idle WebSockets: the server's memory per connection.
    Connections(ConnectionsArgs),
    /// A new device pulls a long log from scratch, over HTTP and a WebSocket.
    Catchup(CatchupArgs),
    /// Durable money transfers per second, over HTTP and in the store.
    Ledger(LedgerArgs),
    /// Every member of a group claims one red packet at once.
    RedPacket(RedPacketArgs),
    /// Many WebSockets held open for minutes with a trickle of messages:
    /// memory flat, nothing dropped or lost.
    Soak(SoakArgs),
    /// One account in thousands of conversations lists its first page.
    ConversationList(conversation_list::ConversationListArgs),
    /// Every member of a full group types at once: typing events per
    /// second through the hub, nothing written.
    Typing(typing::TypingArgs),
    /// One large file up and down, streamed: throughput, and the server's
    /// peak memory growth.
    Media(media::MediaArgs),
    /// A full group, all online, takes 50 messages a second: the time
    /// from a send to its last member.
    Group(group::GroupArgs),
    /// One account with hundreds of contacts who post to Moments reads
    /// its feed's first page.
    Feed(feed::FeedArgs),
    /// Publishing to channels of 1,000 and 1,000,000 followers: the
    /// publish's latency, the time until every online follower is told,
    /// and the subscriptions feed of an account following 500 channels.
    Channel(channel::ChannelArgs),
    /// One account's conversations hold a million messages: indexing
    /// them, the index's size, and the p50/p99 of one-word, two-word and
    /// Chinese searches.
    Search(search::SearchArgs),
    /// Orders placed and paid per second, on one hot variant and on
    /// 10,000, with nothing oversold.
    Shop(shop::ShopArgs),
    /// `admin backup` of a large SQLite server (millions of messages,
    /// gigabytes of media) while senders post messages: the backup's time
    /// and rate, and messages per second during it against a quiet window.
    Backup(backup::BackupArgs),
    /// The export of an account with 100,000 messages and 1 GiB of media:
    /// its time, and how far the server's memory grows while it downloads.
    Export(export::ExportArgs),
}

impl BenchCommand {
    /// File descriptors this process needs: one per socket, plus room for
    /// the HTTP pool, the child's pipes and the runtime.
    fn open_files_wanted(&self) -> u64 {
        const SLACK: u64 = 1024;
        let sockets = match self {
            BenchCommand::Messaging(args) => args.accounts as u64,
            BenchCommand::Connections(args) => args.count as u64,
            BenchCommand::Catchup(_) => 2,
            BenchCommand::Ledger(args) => args.connections as u64,
            BenchCommand::RedPacket(args) => args.members as u64,
            BenchCommand::Soak(args) => args.sockets as u64,
            BenchCommand::ConversationList(_) => 64,
            BenchCommand::Typing(args) => args.members as u64,
            BenchCommand::Group(args) => args.members as u64,
            BenchCommand::Media(_) => 16,
            BenchCommand::Feed(_) => 64,
            BenchCommand::Channel(args) => args.online as u64 + 64,
            BenchCommand::Search(_) => 64,
            BenchCommand::Backup(args) => args.senders as u64 + 64,
            BenchCommand::Export(_) => 128,
            BenchCommand::Shop(args) => args.connections as u64,
        };
        sockets + SLACK
    }

    /// How a spawned server must run for this bench.
    fn spawn_options(&self) -> SpawnOptions {
        match self {
            BenchCommand::Ledger(args) => SpawnOptions {
                sandbox_payments: true,
                production_hashing: args.production_hashing,
                ..SpawnOptions::default()
            },
            BenchCommand::RedPacket(_) | BenchCommand::Shop(_) => SpawnOptions {
                sandbox_payments: true,
                ..SpawnOptions::default()
            },
            BenchCommand::Messaging(args) => SpawnOptions {
                no_search_index: args.no_search_index,
                ..SpawnOptions::default()
            },
            // Millions of messages written into the store would keep the
            // indexer busy through both windows.
            BenchCommand::Backup(_) => SpawnOptions {
                no_search_index: true,
                ..SpawnOptions::default()
            },
            _ => SpawnOptions::default(),
        }
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let output = if args.json {
        Output::Json
    } else {
        Output::Table
    };
    if args.server_pid.is_some() && args.server.is_none() {
        bail!("--server-pid only makes sense with --attach");
    }
    if let BenchCommand::Messaging(messaging) = &args.command {
        messaging::validate(messaging)?;
    }
    if let BenchCommand::Backup(backup) = &args.command {
        backup::validate(backup)?;
        if args.server.is_some() || args.database_url.is_some() {
            bail!(
                "bench backup fills the SQLite store of a server it starts: drop --attach and --database-url"
            );
        }
    }
    if let BenchCommand::Export(export) = &args.command {
        export::validate(export)?;
    }
    if let BenchCommand::Search(search) = &args.command {
        search::validate(search)?;
        if args.server.is_some() {
            bail!(
                "bench search writes messages into the store of a server it starts: drop --attach"
            );
        }
    }
    if let BenchCommand::Channel(channel) = &args.command {
        channel::validate(channel)?;
        if args.server.is_some() {
            bail!(
                "bench channel writes followers into the store of a server it starts: drop --attach"
            );
        }
    }
    if let BenchCommand::Messaging(messaging) = &args.command
        && messaging.processes > 1
        && (args.server.is_some() || args.database_url.is_none())
    {
        bail!(
            "--processes starts its own servers on one PostgreSQL database: give \
             --database-url, not --attach"
        );
    }
    let open_files_wanted = args.command.open_files_wanted();
    let open_files = raise_open_file_limit(open_files_wanted);

    // Fresh for the run, dropped after it (`None` on SQLite).
    let database = args
        .database_url
        .as_deref()
        .map(piazza_postgres::testing::TestDatabase::create_on);
    let database_url = database.as_ref().map(|database| database.url.clone());
    let nats_url = match &args.command {
        BenchCommand::Messaging(messaging) => messaging.nats_url.clone(),
        _ => None,
    };
    let mut server = match &args.server {
        Some(url) => Server::attach(url, args.server_pid)?,
        None => {
            let mut options = args.command.spawn_options();
            options.database_url = database_url.clone();
            options.nats_url = nats_url.clone();
            Server::spawn(options).await?
        }
    };
    eprintln!("server: {}", server.base_url());
    let mut others = Vec::new();
    if let BenchCommand::Messaging(messaging) = &args.command
        && messaging.processes > 1
    {
        for _ in 1..messaging.processes {
            let mut options = args.command.spawn_options();
            options.database_url = database_url.clone();
            options.nats_url = nats_url.clone();
            let other = Server::spawn(options).await?;
            eprintln!("server: {}", other.base_url());
            others.push(other);
        }
    }

    let outcome = match &args.command {
        BenchCommand::Messaging(args) => {
            messaging::run(&mut server, &mut others, args, database_url.as_deref()).await
        }
        BenchCommand::Connections(args) => connections::run(&mut server, args, open_files).await,
        BenchCommand::Catchup(args) => catchup::run(&mut server, args).await,
        BenchCommand::Ledger(args) => ledger::run(&mut server, args, database_url.clone()).await,
        BenchCommand::RedPacket(args) => {
            red_packet::run(&mut server, args, database_url.as_deref()).await
        }
        BenchCommand::Soak(args) => soak::run(&mut server, args).await,
        BenchCommand::ConversationList(args) => conversation_list::run(&mut server, args).await,
        BenchCommand::Typing(args) => typing::run(&mut server, args).await,
        BenchCommand::Group(args) => group::run(&mut server, args).await,
        BenchCommand::Media(args) => media::run(&mut server, args).await,
        BenchCommand::Feed(args) => feed::run(&mut server, args).await,
        BenchCommand::Channel(args) => {
            channel::run(&mut server, args, database_url.as_deref()).await
        }
        BenchCommand::Shop(args) => shop::run(&mut server, args, database_url.clone()).await,
        BenchCommand::Search(args) => search::run(&mut server, args, database_url.as_deref()).await,
        BenchCommand::Backup(args) => backup::run(&mut server, args).await,
        BenchCommand::Export(args) => export::run(&mut server, args).await,
    };
    // Stop the server whatever happened, so a failed run leaves no process
    // and no temporary directory behind; then report the first failure.
    let mut stopped = Ok(());
    for other in others {
        stopped = stopped.and(other.shut_down().await);
    }
    let stopped = server.shut_down().await.and(stopped);
    let report = outcome?;
    report.print(output)?;
    stopped?;
    report.verdict()
}

/// Raises this process's open-file limit towards `wanted` and returns what
/// it got, so a bench that needs more sockets than that can say so plainly.
fn raise_open_file_limit(wanted: u64) -> u64 {
    match rlimit::increase_nofile_limit(wanted) {
        Ok(got) => {
            if got < wanted {
                eprintln!("warning: the open-file limit is {got}, below the {wanted} wanted");
            }
            got
        }
        Err(error) => {
            eprintln!("warning: cannot raise the open-file limit: {error}");
            // Go on with whatever the limit is; if even that is unknown,
            // let the sockets themselves fail with their own error.
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _hard)| soft)
                .unwrap_or(u64::MAX)
        }
    }
}
