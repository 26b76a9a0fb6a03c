//! `piazza serve`: the whole server on an embedded store.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use piazza_domain::money::Currency;
use piazza_server::config::{Config, Limits, PasswordHashing};
use serde::Deserialize;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "PIAZZA_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Where the store lives; created and migrated on first run.
    #[arg(long, env = "PIAZZA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A TOML file with `listen`, `data_dir`, `[limits]` and
    /// `[password_hashing]`; flags and environment variables win over it.
    #[arg(long, env = "PIAZZA_CONFIG_FILE")]
    pub config: Option<PathBuf>,
    /// Run the built-in sandbox payment gateway: top-ups and withdrawals
    /// succeed at once with no real money. Never on a real deployment.
    #[arg(long, env = "PIAZZA_SANDBOX_PAYMENTS", value_parser = clap::builder::BoolishValueParser::new())]
    pub sandbox_payments: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    password_hashing: PasswordHashing,
    /// The ISO 4217 code of the deployment's one currency (default CNY).
    currency: Option<String>,
    #[serde(default)]
    sandbox_payments: bool,
    /// Seconds a chat transfer waits to be accepted (default 86400).
    transfer_expiry_s: Option<u64>,
    /// Seconds a red packet may be claimed (default 86400).
    red_packet_expiry_s: Option<u64>,
    /// The largest payment-code collection completed without the buyer's
    /// confirmation, in minor units (default 50000).
    collect_without_pin_max_minor: Option<i64>,
}

pub fn config(args: &ServeArgs) -> anyhow::Result<Config> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            toml::from_str::<FileConfig>(&text)
                .with_context(|| format!("config file {} is not valid", path.display()))?
        }
        None => FileConfig::default(),
    };
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let data_dir = args
        .data_dir
        .clone()
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("./piazza-data"));
    let mut config = Config::new(listen, data_dir);
    file.limits
        .check()
        .map_err(|problem| anyhow::anyhow!("{problem} (in the config file)"))?;
    config.limits = file.limits;
    config.password_hashing = file.password_hashing;
    if let Some(currency) = &file.currency {
        config.currency = Currency::parse(currency)
            .with_context(|| format!("`currency = {currency:?}` is not an ISO 4217 code"))?;
    }
    config.sandbox_payments = args.sandbox_payments || file.sandbox_payments;
    if let Some(expiry) = file.transfer_expiry_s {
        anyhow::ensure!(expiry > 0, "`transfer_expiry_s` must be at least 1");
        config.transfer_expiry_s = expiry;
    }
    if let Some(expiry) = file.red_packet_expiry_s {
        anyhow::ensure!(expiry > 0, "`red_packet_expiry_s` must be at least 1");
        config.red_packet_expiry_s = expiry;
    }
    if let Some(max) = file.collect_without_pin_max_minor {
        anyhow::ensure!(
            max >= 0,
            "`collect_without_pin_max_minor` must not be negative"
        );
        config.collect_without_pin_max_minor = max;
    }
    Ok(config)
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = config(&args)?;
    fit_sockets_to_fd_limit(&mut config);
    let running = piazza_server::spawn(config.clone()).await.with_context(
        || "the server could not start (is another process using the port or the data directory?)",
    )?;
    // The first line on stdout, exactly, so scripts and tests can read the port.
    println!("listening on http://{}", running.addr);
    use std::io::Write;
    std::io::stdout().flush().ok();
    tracing::info!(addr = %running.addr, data_dir = %config.data_dir.display(), "serving");
    shutdown_signal().await;
    tracing::info!("shutting down: closing sockets and finishing in-flight commits");
    running.shut_down().await;
    tracing::info!("stopped");
    Ok(())
}

/// File descriptors kept for everything that is not a WebSocket: the
/// store's files, plain HTTP connections, the listener.
const FDS_SPARE: u64 = 1024;

/// Each socket is a file descriptor: ask for enough of them, and if the
/// system gives fewer, lower the socket limit to what fits, so the server
/// refuses the extra sockets cleanly (503) instead of failing to accept.
fn fit_sockets_to_fd_limit(config: &mut piazza_server::config::Config) {
    let wanted = config.limits.sockets_max as u64 + FDS_SPARE;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(got) if got < wanted => {
            let fits = got.saturating_sub(FDS_SPARE).max(1) as usize;
            tracing::info!(
                sockets_max = fits,
                open_file_limit = got,
                "the open-file limit caps WebSockets; raise it (ulimit -n) for more"
            );
            config.limits.sockets_max = fits;
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(toml_text: &str) -> Limits {
        toml::from_str::<FileConfig>(toml_text)
            .expect("the file parses")
            .limits
    }

    #[test]
    fn the_log_in_limits_are_read_and_checked() {
        let read = limits(
            "[limits]\n\
             login_failures_per_username_address_max = 3\n\
             login_failures_per_address_max = 30\n\
             login_backoff_after_username_failures = 20\n\
             login_backoff_first_ms = 500\n\
             login_backoff_max_ms = 2000\n",
        );
        assert_eq!(read.login_failures_per_username_address_max, 3);
        assert_eq!(read.login_backoff_after_username_failures, 20);
        assert_eq!(read.login_backoff_max_ms, 2000);
        read.check().unwrap();
        // The old name of the per-username threshold still works.
        let old = limits("[limits]\nlogin_failures_per_username_max = 7\n");
        assert_eq!(old.login_backoff_after_username_failures, 7);
        let backwards = limits("[limits]\nlogin_backoff_first_ms = 9000\n");
        assert!(
            backwards
                .check()
                .unwrap_err()
                .contains("login_backoff_first_ms")
        );
        let zero = limits("[limits]\nlogin_failures_per_username_address_max = 0\n");
        assert!(zero.check().is_err());
    }
}
