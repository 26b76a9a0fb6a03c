//! `piazza`: the server (`serve`), the command-line client, the load
//! generator (`bench`) and offline admin tools, in one binary.

mod admin;
mod serve;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(
    name = "piazza",
    version,
    about = "Piazza: chat, sync and more, in one self-hostable binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server on an embedded store.
    Serve(serve::ServeArgs),
    /// Offline tools for a data directory.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Admin(command) => admin::run(command),
    }
}
