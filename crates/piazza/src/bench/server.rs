//! The server under test: a child process started for this run, or one the
//! user already runs (`--attach`). Either way the bench only talks to it
//! over HTTP and reads its memory from `/proc`.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use piazza_client::Client;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The config of a spawned server. Password hashing is made cheap so that
/// creating thousands of accounts takes seconds, and the socket, connection
/// and log-in limits are lifted because the bench is one client with many
/// sockets and many log-ins from one address (the open-file limit still
/// caps connections); so are the request and frame rates,
/// which the bench exists to push past any production setting. The keys
/// must match the server's config exactly: it refuses unknown ones.
const BENCH_CONFIG_TOML: &str = "\
[password_hashing]
memory_kib = 1024
iterations = 1

[limits]
sockets_max = 100000
sockets_per_account_max = 100000
login_failures_per_address_max = 1000000
requests_per_account_per_s = 1000000
requests_per_account_burst = 1000000
anonymous_requests_per_address_per_s = 1000000
anonymous_requests_per_address_burst = 1000000
socket_messages_per_s = 1000000
socket_messages_burst = 1000000
connections_per_address_max = 1000000
connections_max = 1000000
";

/// The Argon2 cost of a deployment (the server's defaults), for runs that
/// must pay what a real PIN check costs rather than the cheap bench cost.
const PRODUCTION_HASHING_TOML: &str = "\
[password_hashing]
memory_kib = 19456
iterations = 2
";

/// What a spawned server runs with beyond the bench config.
#[derive(Debug, Clone, Default)]
pub struct SpawnOptions {
    /// The PostgreSQL database to run on; `None`, SQLite.
    pub database_url: Option<String>,
    /// The sandbox payment gateway, so the money benches can top up.
    pub sandbox_payments: bool,
    /// Production Argon2 cost for passwords and payment PINs instead of
    /// the bench's cheap one.
    pub production_hashing: bool,
    /// The NATS servers that join it to the run's other processes.
    pub nats_url: Option<String>,
    /// The server does not index messages for search.
    pub no_search_index: bool,
}

impl SpawnOptions {
    /// The config file's text. Top-level keys come before any table.
    fn config_toml(&self) -> String {
        let mut toml = format!("sandbox_payments = {}\n", self.sandbox_payments);
        if let Some(url) = &self.database_url {
            toml.push_str(&format!("database_url = {url:?}\n"));
        }
        if let Some(url) = &self.nats_url {
            toml.push_str(&format!("nats_url = {url:?}\n"));
        }
        if self.no_search_index {
            toml.push_str("search_index = false\n");
        }
        if self.production_hashing {
            let limits = BENCH_CONFIG_TOML
                .split_once("[limits]")
                .map_or("", |(_, limits)| limits);
            toml.push_str(PRODUCTION_HASHING_TOML);
            toml.push_str("\n[limits]");
            toml.push_str(limits);
        } else {
            toml.push_str(BENCH_CONFIG_TOML);
        }
        toml
    }
}

/// What the server prints first on stdout, followed by its address.
const LISTENING_PREFIX: &str = "listening on ";
/// How long a spawned server may take to open its store and listen.
const START_TIMEOUT_S: u64 = 60;
/// How long a spawned server may take to shut down after SIGTERM before
/// it is killed.
const STOP_TIMEOUT_S: u64 = 10;

pub struct Server {
    base_url: String,
    /// Whose memory to read, when known.
    pid: Option<u32>,
    client: Client,
    spawned: Option<Spawned>,
}

/// A server this run started. The child is declared before the directory
/// so that, should this be dropped without `shut_down`, the process is
/// killed before its data directory is removed.
struct Spawned {
    child: Child,
    directory: TempDir,
    /// Stopped on purpose by `stop`; its directory is still there.
    stopped: bool,
}

impl Server {
    /// Starts `piazza serve` on a free loopback port with a fresh data
    /// directory, and waits for it to say where it listens.
    pub async fn spawn(options: SpawnOptions) -> anyhow::Result<Server> {
        let directory = tempfile::Builder::new()
            .prefix("piazza-bench-")
            .tempdir()
            .context("cannot create a temporary directory for the server")?;
        let config_path = directory.path().join("bench.toml");
        std::fs::write(&config_path, options.config_toml())
            .with_context(|| format!("cannot write {}", config_path.display()))?;
        let data_dir = directory.path().join("data");

        let mut child = serve_command(&data_dir, &config_path)?
            .spawn()
            .context("cannot start the server process")?;
        let pid = child.id();
        let base_url = read_listening_line(&mut child).await?;
        Ok(Server {
            client: Client::new(&base_url),
            base_url,
            pid,
            spawned: Some(Spawned {
                child,
                directory,
                stopped: false,
            }),
        })
    }

    /// Uses a server that is already running. Only loopback addresses are
    /// accepted: a load generator pointed at someone else's server by a
    /// typo is a denial of service.
    pub fn attach(base_url: &str, pid: Option<u32>) -> anyhow::Result<Server> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        if !is_loopback_url(&base_url) {
            bail!(
                "--attach {base_url:?} is not a loopback http:// address; \
                 the bench only loads servers on this machine (http://127.0.0.1:PORT)"
            );
        }
        if let Some(pid) = pid
            && read_status_kib(pid, "VmRSS:").is_none()
        {
            bail!("--server-pid {pid}: cannot read /proc/{pid}/status");
        }
        Ok(Server {
            client: Client::new(&base_url),
            base_url,
            pid,
            spawned: None,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The server's process id, when known.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The server's resident memory now, in KiB, when its pid is known.
    pub fn rss_kib(&self) -> Option<u64> {
        read_status_kib(self.pid?, "VmRSS:")
    }

    /// The most resident memory the server has had since it started, in
    /// KiB: catches peaks between the bench's own readings.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        read_status_kib(self.pid?, "VmHWM:")
    }

    /// Fails with a clear message when the server has gone away: a child
    /// that exited, or a server that no longer answers its health check.
    pub async fn ensure_alive(&mut self) -> anyhow::Result<()> {
        if let Some(spawned) = &mut self.spawned {
            if spawned.stopped {
                bail!("the server was already stopped");
            }
            if let Some(status) = spawned.child.try_wait()? {
                bail!("the server exited during the bench ({status})");
            }
            return Ok(());
        }
        self.client
            .health()
            .await
            .with_context(|| format!("the server at {} stopped answering", self.base_url))?;
        Ok(())
    }

    /// Stops a spawned server now, as `shut_down` would, but keeps its data
    /// directory until `shut_down`, and answers it so the store can be
    /// checked offline. None for a server given with `--attach`, which is
    /// left running.
    pub async fn stop(&mut self) -> anyhow::Result<Option<PathBuf>> {
        let Some(spawned) = &mut self.spawned else {
            return Ok(None);
        };
        let data_dir = spawned.directory.path().join("data");
        if spawned.stopped {
            return Ok(Some(data_dir));
        }
        if let Some(status) = spawned.child.try_wait()? {
            bail!("the server exited during the bench ({status})");
        }
        spawned.stopped = true;
        let status = terminate(&mut spawned.child).await?;
        if !status.success() {
            eprintln!("warning: the server did not exit cleanly ({status})");
        }
        Ok(Some(data_dir))
    }

    /// Starts a server `stop` stopped again on the same store and config.
    /// It listens on a new port: clients made before must be made anew
    /// against `base_url` (their sessions are still valid).
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        let spawned = self
            .spawned
            .as_mut()
            .context("only a server this run started can be started again")?;
        if !spawned.stopped {
            bail!("the server is still running");
        }
        let data_dir = spawned.directory.path().join("data");
        let config_path = spawned.directory.path().join("bench.toml");
        let mut child = serve_command(&data_dir, &config_path)?
            .spawn()
            .context("cannot start the server process again")?;
        let base_url = read_listening_line(&mut child).await?;
        self.pid = child.id();
        self.client = Client::new(&base_url);
        self.base_url = base_url;
        spawned.child = child;
        spawned.stopped = false;
        Ok(())
    }

    /// Stops a spawned server gracefully (SIGTERM, then a kill if it does
    /// not stop in time) and removes its data directory. A server given
    /// with `--attach` is left running.
    pub async fn shut_down(mut self) -> anyhow::Result<()> {
        let Some(Spawned {
            mut child,
            directory,
            stopped,
        }) = self.spawned.take()
        else {
            return Ok(());
        };
        if stopped {
            return Ok(());
        }
        // A server that already died is the news, not the shutdown.
        if let Some(status) = child.try_wait()? {
            drop(directory);
            bail!("the server exited during the bench ({status})");
        }
        let status = terminate(&mut child).await;
        drop(directory);
        match status? {
            status if status.success() => Ok(()),
            status => {
                eprintln!("warning: the server did not exit cleanly ({status})");
                Ok(())
            }
        }
    }
}

pub(crate) fn serve_command(data_dir: &Path, config_path: &Path) -> anyhow::Result<Command> {
    let executable = std::env::current_exe().context("cannot find the piazza executable")?;
    let mut command = Command::new(executable);
    command
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // If the bench itself fails or is interrupted, the server goes too.
        .kill_on_drop(true);
    // The server's info log would drown the bench's progress lines; its
    // warnings and errors are worth seeing. An explicit RUST_LOG wins.
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "warn");
    }
    Ok(command)
}

/// Reads the child's first stdout line, `listening on http://<addr>`, and
/// returns the base URL. The rest of stdout is drained in the background so
/// a later line can never block the server on a full pipe.
pub(crate) async fn read_listening_line(child: &mut Child) -> anyhow::Result<String> {
    let stdout = child
        .stdout
        .take()
        .context("the server's stdout is not piped")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(START_TIMEOUT_S), lines.next_line())
        .await
        .with_context(|| format!("the server did not start listening within {START_TIMEOUT_S} s"))?
        .context("cannot read the server's stdout")?;
    let Some(line) = first else {
        let status = child.wait().await?;
        bail!("the server exited before listening ({status}); see its log above");
    };
    let base_url = line
        .strip_prefix(LISTENING_PREFIX)
        .filter(|url| url.starts_with("http://"))
        .with_context(|| format!("unexpected first line from the server: {line:?}"))?
        .to_owned();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(base_url)
}

/// SIGTERM, so the server finishes in-flight commits and closes sockets
/// the way it would in production; a kill only if that takes too long.
async fn terminate(child: &mut Child) -> anyhow::Result<ExitStatus> {
    if let Some(pid) = child.id() {
        let signalled = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await;
        if !matches!(signalled, Ok(status) if status.success()) {
            child.kill().await.context("cannot stop the server")?;
        }
    }
    match tokio::time::timeout(Duration::from_secs(STOP_TIMEOUT_S), child.wait()).await {
        Ok(status) => Ok(status?),
        Err(_) => {
            eprintln!("warning: the server did not stop within {STOP_TIMEOUT_S} s; killing it");
            child.kill().await.context("cannot kill the server")?;
            Ok(child.wait().await?)
        }
    }
}

/// A `kB` field of `/proc/<pid>/status`, such as `VmRSS:`.
pub(crate) fn read_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _port)| host),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_servers_are_accepted() {
        assert!(is_loopback_url("http://127.0.0.1:8080"));
        assert!(is_loopback_url("http://127.0.0.2:1/"));
        assert!(is_loopback_url("http://localhost:8080"));
        assert!(is_loopback_url("http://[::1]:8080"));
        assert!(!is_loopback_url("http://10.0.0.1:8080"));
        assert!(!is_loopback_url("http://example.org"));
        assert!(!is_loopback_url("https://127.0.0.1:8080"));
        assert!(!is_loopback_url("127.0.0.1:8080"));
    }

    #[test]
    fn spawn_options_make_a_config_with_every_table_once() {
        for production_hashing in [false, true] {
            let options = SpawnOptions {
                sandbox_payments: true,
                production_hashing,
                database_url: None,
                nats_url: Some("nats://127.0.0.1:4222".to_owned()),
                no_search_index: true,
            };
            let toml = options.config_toml();
            let parsed: toml::Table = toml::from_str(&toml).expect("valid TOML");
            assert_eq!(parsed["sandbox_payments"].as_bool(), Some(true));
            assert_eq!(parsed["nats_url"].as_str(), Some("nats://127.0.0.1:4222"));
            let memory = parsed["password_hashing"]["memory_kib"].as_integer();
            assert_eq!(memory, Some(if production_hashing { 19456 } else { 1024 }));
            assert_eq!(parsed["limits"]["sockets_max"].as_integer(), Some(100_000));
        }
    }

    #[test]
    fn this_process_has_a_resident_size() {
        let rss = read_status_kib(std::process::id(), "VmRSS:");
        assert!(rss.is_some_and(|kib| kib > 0), "{rss:?}");
    }
}
