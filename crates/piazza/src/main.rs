//! `piazza`: the server (`serve`), the command-line client, the load
//! generator (`bench`) and offline admin tools, in one binary.

mod admin;
mod bench;
mod chaos;
mod cli;
mod serve;

use std::process::ExitCode;

/// glibc's malloc keeps freed Argon2 buffers (19 MiB each) pinned in a
/// fragmented heap once its mmap threshold has adapted to them: an idle
/// server grew by ~60 MiB after 200 sign-ups. mimalloc returns them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_e` (its `mimalloc.h`): commit arenas whole up
/// front, and wait before giving freed pages back to the OS.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// With mimalloc's defaults, memory that a fast stream's buffers pass
/// through stays resident: a 200 MiB upload grew the server's peak RSS by
/// 12–20 MiB. Arenas committed as they are used and freed pages given back
/// at once keep it near 5 MiB (`piazza bench media`, BENCHMARKS.md). An
/// operator's own `MIMALLOC_ARENA_EAGER_COMMIT` or `MIMALLOC_PURGE_DELAY`
/// wins. It runs before `main`, from the loader's constructors: an arena
/// is committed as the option says when it is made, and Rust's runtime
/// allocates (making the first) before `main` begins. Nothing here
/// allocates: the variables are read with `getenv`.
extern "C" fn tune_allocator() {
    for (option, variable) in [
        (MI_OPTION_ARENA_EAGER_COMMIT, c"MIMALLOC_ARENA_EAGER_COMMIT"),
        (MI_OPTION_PURGE_DELAY, c"MIMALLOC_PURGE_DELAY"),
    ] {
        // SAFETY: `getenv` of a NUL-terminated name, before any thread
        // exists; then one of mimalloc's documented options set to a
        // documented value, which it takes at any time.
        unsafe {
            if libc::getenv(variable.as_ptr()).is_null() {
                libmimalloc_sys::mi_option_set(option, 0);
            }
        }
    }
}

#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(
    name = "piazza",
    version,
    about = "Piazza: chat, sync and more, in one self-hostable binary"
)]
struct Cli {
    #[command(flatten)]
    client: cli::ClientOpts,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server on an embedded store.
    Serve(serve::ServeArgs),
    /// Checks of a data directory or a PostgreSQL database, and moving a
    /// store from SQLite to PostgreSQL.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Load generators that print throughput, latency and memory.
    Bench(bench::BenchArgs),
    /// SIGKILL the server under a mixed load, restart it, and verify that
    /// nothing acknowledged was lost or doubled.
    Chaos(chaos::ChaosArgs),
    #[command(flatten)]
    Client(cli::ClientCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs what it does; client commands speak through stdout
    // and only log when something is wrong.
    let default_level = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal, not escape codes in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // Blocking threads run store reads and Argon2, both bounded by their
    // own semaphores; this caps the threads (and their malloc arenas) too.
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(64)
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| match cli.command {
            Command::Serve(args) => runtime.block_on(serve::run(args)),
            Command::Admin(command) => admin::run(command, &runtime),
            Command::Bench(args) => runtime.block_on(bench::run(args)),
            Command::Chaos(args) => runtime.block_on(chaos::run(args)),
            Command::Client(command) => runtime.block_on(cli::run(cli.client, command)),
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
