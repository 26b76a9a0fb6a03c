//! `piazza serve`: the whole server on an embedded store.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use piazza_domain::money::Currency;
use piazza_server::StartError;
use piazza_server::config::{Config, Limits, PasswordHashing};
use serde::Deserialize;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "PIAZZA_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Where to serve `/metrics` (Prometheus), on a listener of its own:
    /// an address, a bare port (on 127.0.0.1), or `off` (the default).
    /// The public listener never answers `/metrics`.
    #[arg(long, env = "PIAZZA_METRICS_LISTEN")]
    pub metrics_listen: Option<MetricsListen>,
    /// Where the store lives; created and migrated on first run.
    #[arg(long, env = "PIAZZA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep everything in this PostgreSQL database instead of SQLite in
    /// the data dir (`postgres://user:password@host:5432/piazza`); media
    /// files stay in the data dir. Several `piazza serve` processes may
    /// share one database.
    #[arg(long, env = "PIAZZA_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Join the other nodes on the same database through these NATS
    /// servers (`nats://127.0.0.1:4222[,nats://…]`), so a device on any
    /// node hears what is sent on any other, live. Needs `--database-url`.
    #[arg(long, env = "PIAZZA_NATS_URL")]
    pub nats_url: Option<String>,
    /// Keep media bytes in an S3-compatible bucket, `s3://bucket[/prefix]`,
    /// instead of files in the data dir; reached with the standard `AWS_*`
    /// environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP=true` for plain HTTP).
    #[arg(long, env = "PIAZZA_MEDIA_STORE")]
    pub media_store: Option<String>,
    /// Where the world reaches this server, such as https://piazza.example:
    /// the channels' public pages and Atom feeds then link absolutely, as
    /// link previews and feed readers want. Leave it out for relative links.
    #[arg(long, env = "PIAZZA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// A TOML file with `listen`, `data_dir`, `[limits]` and
    /// `[password_hashing]`; flags and environment variables win over it.
    #[arg(long, env = "PIAZZA_CONFIG_FILE")]
    pub config: Option<PathBuf>,
    /// Run the built-in sandbox payment gateway: top-ups and withdrawals
    /// succeed at once with no real money. Never on a real deployment.
    #[arg(long, env = "PIAZZA_SANDBOX_PAYMENTS", value_parser = clap::builder::BoolishValueParser::new())]
    pub sandbox_payments: bool,
}

/// Where `/metrics` is served: `off`, a port on loopback, or an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsListen {
    Off,
    At(SocketAddr),
}

impl std::str::FromStr for MetricsListen {
    type Err = String;

    fn from_str(text: &str) -> Result<MetricsListen, String> {
        if text == "off" {
            return Ok(MetricsListen::Off);
        }
        if let Ok(port) = text.parse::<u16>() {
            return Ok(MetricsListen::At(SocketAddr::from(([127, 0, 0, 1], port))));
        }
        text.parse().map(MetricsListen::At).map_err(|_| {
            format!("{text:?} is not `off`, a port or an address such as 127.0.0.1:9464")
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    /// As `--metrics-listen`.
    metrics_listen: Option<String>,
    data_dir: Option<PathBuf>,
    /// As `--database-url`.
    database_url: Option<String>,
    /// As `--nats-url`.
    nats_url: Option<String>,
    /// As `--media-store`.
    media_store: Option<String>,
    /// As `--public-url`.
    public_url: Option<String>,
    /// The proxies and load balancers in front of the server (addresses
    /// or networks, `10.0.0.0/8`), whose `X-Forwarded-For` is believed.
    #[serde(default)]
    trusted_proxies: Vec<String>,
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
    /// Whether this node indexes messages for search (default true). A
    /// node with it off still answers searches, from what the others
    /// indexed.
    search_index: Option<bool>,
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
    config.database_url = args.database_url.clone().or(file.database_url);
    config.nats_url = args.nats_url.clone().or(file.nats_url);
    anyhow::ensure!(
        config.nats_url.is_none() || config.database_url.is_some(),
        "`--nats-url` joins nodes that share one PostgreSQL database: give `--database-url` too \
         (a node on SQLite is the only node of its data)"
    );
    config.media_store = args.media_store.clone().or(file.media_store);
    if let Some(url) = &config.media_store {
        anyhow::ensure!(
            url.starts_with("s3://"),
            "`--media-store` must be an s3:// URL, such as s3://piazza-media (leave it out to keep \
             media files in the data dir)"
        );
    }
    config.trusted_proxies = (file.trusted_proxies.iter())
        .map(|text| {
            text.parse()
                .map_err(|problem| anyhow::anyhow!("`trusted_proxies`: {problem}"))
        })
        .collect::<anyhow::Result<_>>()?;
    config.search_indexing = file.search_index.unwrap_or(true);
    config.public_url = match args.public_url.clone().or(file.public_url) {
        Some(url) => Some(public_url(&url)?),
        None => None,
    };
    if let Some(url) = &config.database_url {
        anyhow::ensure!(
            url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "`--database-url` must be a postgres:// URL, such as postgres://piazza@127.0.0.1/piazza"
        );
    }
    let metrics_listen = match (args.metrics_listen, &file.metrics_listen) {
        (Some(flag), _) => flag,
        (None, Some(text)) => text.parse().map_err(|problem| {
            anyhow::anyhow!("`metrics_listen`: {problem} (in the config file)")
        })?,
        (None, None) => MetricsListen::Off,
    };
    config.metrics_listen = match metrics_listen {
        MetricsListen::Off => None,
        MetricsListen::At(addr) => Some(addr),
    };
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
    let config = config(&args)?;
    let open_files = raise_open_file_limit();
    if let Some(warning) = open_files.and_then(|open| too_few_open_files(&config.limits, open)) {
        tracing::warn!("{warning}");
    }
    let running = piazza::engines::spawn(config.clone())
        .await
        .map_err(|error| start_failure(error, &config))?;
    // The first line on stdout, exactly, so scripts and tests can read the port.
    println!("listening on http://{}", running.addr);
    use std::io::Write;
    std::io::stdout().flush().ok();
    // What a first start needs to know, on stderr with the logs (a script
    // that reads the first line of stdout and closes it must not make a
    // later line fail).
    tracing::info!(
        "serving the API and the web client at http://{}/ with {}; Ctrl-C stops it",
        running.addr,
        where_the_data_is(&config)
    );
    if config.sandbox_payments {
        tracing::info!("sandbox payments: top-ups and withdrawals move play money");
    }
    shutdown_signal().await;
    tracing::info!("shutting down: closing sockets and finishing in-flight commits");
    running.shut_down().await;
    tracing::info!("stopped");
    Ok(())
}

/// Where the data lives, for the start line: the data dir, or the
/// database (its URL without the password) and the data dir's media files
/// (on PostgreSQL the folder is made at the first upload).
fn where_the_data_is(config: &Config) -> String {
    let data_dir = std::fs::canonicalize(&config.data_dir)
        .or_else(|_| std::path::absolute(&config.data_dir))
        .unwrap_or(config.data_dir.clone());
    let media = match &config.media_store {
        Some(url) => format!("media in {url}"),
        None => format!(
            "media files in {}",
            data_dir
                .join(piazza_core::media::files::MEDIA_DIR)
                .display()
        ),
    };
    match (&config.database_url, &config.media_store) {
        (Some(url), _) => format!("the data in {} and {media}", piazza_postgres::redacted(url)),
        (None, Some(_)) => format!("the data in {} and {media}", data_dir.display()),
        (None, None) => format!("the data in {}", data_dir.display()),
    }
}

/// Why the server did not start, and what to do about it, said once. A
/// store that cannot be opened is most likely damaged, not busy: the
/// message says how to check it and restore it, and nothing about ports.
fn start_failure(error: StartError, config: &Config) -> anyhow::Error {
    let dir = config.data_dir.display();
    match &error {
        // What to do depends on what went wrong, which the engine's opener
        // knew and said (`engines::opener`).
        StartError::Store(_) if config.database_url.is_some() => {
            anyhow::anyhow!("the server could not start: {error}")
        }
        StartError::Store(_) => anyhow::anyhow!(
            "the server could not start: {error}\nCheck the store with `piazza admin check --data-dir {dir}` \
             (and `piazza admin ledger-check --data-dir {dir}`); if it is damaged, stop every \
             process using it and restore the whole data directory from your latest backup"
        ),
        StartError::MediaStore(_) => anyhow::anyhow!(
            "the server could not start: {error}\nCheck `--media-store` and the AWS_* environment \
             (endpoint, region, keys)"
        ),
        StartError::Bus(_) => anyhow::anyhow!(
            "the server could not start: {error}\nCheck `--nats-url` (nats://host:4222, \
             comma-separated for a NATS cluster)"
        ),
        StartError::Listen { addr, source } => listen_failure(*addr, source, "--listen"),
        StartError::MetricsListen { addr, source } => {
            listen_failure(*addr, source, "--metrics-listen")
        }
    }
}

/// One sentence for an address the server cannot listen on: what is
/// wrong and what to do, for the commonest causes.
fn listen_failure(addr: SocketAddr, source: &std::io::Error, flag: &str) -> anyhow::Error {
    let other_port = SocketAddr::new(addr.ip(), addr.port().wrapping_add(1).max(1));
    match source.kind() {
        std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
            "{addr} is already in use (is Piazza already running?): stop what listens there, \
             or pass another address such as `{flag} {other_port}`"
        ),
        std::io::ErrorKind::PermissionDenied => anyhow::anyhow!(
            "not allowed to listen on {addr} (ports below 1024 need privileges): \
             pass another address such as `{flag} {}`",
            SocketAddr::new(addr.ip(), 8080)
        ),
        std::io::ErrorKind::AddrNotAvailable => anyhow::anyhow!(
            "{addr} is not an address of this machine: pass one that is, \
             such as `{flag} 127.0.0.1:{}`",
            addr.port()
        ),
        _ => anyhow::anyhow!(
            "cannot listen on {addr} ({source}): pass another address with `{flag}`"
        ),
    }
}

/// Each connection is a file descriptor, and the server caps its
/// connections to fit the open-file limit (`Limits::fit_to_open_files`):
/// the soft limit is raised to the hard one, which is what the operator
/// (or systemd's `LimitNOFILE`) allowed. Returns the limit now in force.
#[cfg(unix)]
fn raise_open_file_limit() -> Option<u64> {
    let before = rlimit::Resource::NOFILE.get();
    match (before, rlimit::increase_nofile_limit(u64::MAX)) {
        (Ok((soft_before, hard)), Ok(soft)) => {
            tracing::debug!(
                soft_before,
                soft,
                hard,
                "open-file limit raised to its hard limit"
            );
            Some(soft)
        }
        (Err(error), _) | (_, Err(error)) => {
            tracing::warn!(%error, "cannot read or raise the open-file limit");
            None
        }
    }
}

#[cfg(not(unix))]
fn raise_open_file_limit() -> Option<u64> {
    None
}

/// WebSockets below which a server is short of them whatever it was
/// configured for: a few hundred people online.
const SOCKETS_TOO_FEW: usize = 1000;

/// A warning when `open_files` holds fewer WebSockets than the server is
/// configured for, and that is worth an operator's attention: the caps
/// were set in the config file (they differ from the defaults), or what
/// is left is below [`SOCKETS_TOO_FEW`]. A default configuration on a
/// machine whose limit holds thousands says nothing.
fn too_few_open_files(limits: &Limits, open_files: u64) -> Option<String> {
    let mut fitted = limits.clone();
    fitted.fit_to_open_files(open_files);
    let defaults = Limits::default();
    let configured = limits.sockets_max != defaults.sockets_max
        || limits.connections_max != defaults.connections_max;
    let short = fitted.sockets_max < limits.sockets_max;
    (short && (configured || fitted.sockets_max < SOCKETS_TOO_FEW)).then(|| {
        format!(
            "the open-file limit ({open_files}) leaves room for {} WebSockets and {} connections, \
             fewer than the {} and {} configured: raise the hard limit (`ulimit -Hn`, systemd's \
             `LimitNOFILE=`) and start again",
            fitted.sockets_max, fitted.connections_max, limits.sockets_max, limits.connections_max
        )
    })
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

    #[test]
    fn the_open_file_warning_comes_only_when_the_limit_is_really_too_low() {
        let defaults = Limits::default();
        // A default configuration with room for thousands: nothing to say.
        assert_eq!(too_few_open_files(&defaults, 20_000), None);
        assert_eq!(too_few_open_files(&defaults, 1 << 20), None);
        // A few hundred sockets is too few for any server.
        let warning = too_few_open_files(&defaults, 1024).expect("a warning");
        assert!(warning.contains("ulimit -Hn"), "{warning}");
        // Caps set in the config file above what the limit holds.
        let asked = limits("[limits]\nsockets_max = 100000\nconnections_max = 200000\n");
        let warning = too_few_open_files(&asked, 20_000).expect("a warning");
        assert!(warning.contains("100000"), "{warning}");
        assert_eq!(too_few_open_files(&asked, 1 << 20), None);
        // Caps set below what the limit holds are no problem.
        let small = limits("[limits]\nsockets_max = 500\nconnections_max = 1000\n");
        assert_eq!(too_few_open_files(&small, 20_000), None);
    }

    #[test]
    fn a_port_in_use_is_said_once_with_what_to_do() {
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let source = std::io::Error::from(std::io::ErrorKind::AddrInUse);
        let message = start_failure(
            StartError::Listen { addr, source },
            &Config::new(addr, "data".into()),
        )
        .to_string();
        assert_eq!(message.matches("127.0.0.1:8080").count(), 1, "{message}");
        assert!(message.contains("--listen 127.0.0.1:8081"), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }
}

/// `--public-url` checked: an http(s) address with a host and nothing a
/// link could not hold as it is (no query, fragment, space, quote or angle
/// bracket), without its trailing slashes.
fn public_url(text: &str) -> anyhow::Result<String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let plain =
        !text.contains(|c: char| c.is_whitespace() || c.is_control() || "?#\"'<>\\`".contains(c));
    match rest {
        Some(rest) if plain && !rest.starts_with('/') && !rest.is_empty() => {
            Ok(text.trim_end_matches('/').to_owned())
        }
        _ => anyhow::bail!(
            "`--public-url` {text:?} must be an http:// or https:// address such as \
             https://piazza.example, with no query or fragment"
        ),
    }
}

#[cfg(test)]
mod public_url_tests {
    use super::public_url;

    #[test]
    fn an_address_is_kept_without_its_trailing_slash() {
        assert_eq!(
            public_url("https://piazza.example/").unwrap(),
            "https://piazza.example"
        );
        assert_eq!(
            public_url("http://10.0.0.2:8080/chat").unwrap(),
            "http://10.0.0.2:8080/chat"
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "piazza.example",
            "ftp://piazza.example",
            "https://",
            "https:///path",
            "https://piazza.example/?x=1",
            "https://piazza.example/#top",
            "https://pi\"azza.example",
            "https://piazza.example/<script>",
            "https://piazza example",
        ] {
            assert!(public_url(bad).is_err(), "{bad}");
        }
    }
}
