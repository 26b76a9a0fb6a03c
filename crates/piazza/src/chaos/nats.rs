//! The NATS servers of a cluster-mode run (`--nats-servers`): started
//! here, clustered with each other on free loopback ports, killed and
//! started again by the rounds.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// How long a NATS server may take to listen.
const START_PATIENCE: Duration = Duration::from_secs(10);

struct NatsServer {
    port: u16,
    route_port: u16,
    child: Option<Child>,
}

/// NATS servers routed to each other: one cluster.
pub struct NatsCluster {
    binary: PathBuf,
    servers: Vec<NatsServer>,
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// `nats-server` on the PATH, or where Debian's package puts it.
fn nats_binary() -> anyhow::Result<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.exists());
    found.context("nats-server is missing: install Debian's nats-server package (.ci/nats.sh does)")
}

impl NatsCluster {
    pub async fn start(size: usize) -> anyhow::Result<NatsCluster> {
        let mut servers = Vec::with_capacity(size);
        for _ in 0..size {
            servers.push(NatsServer {
                port: free_port()?,
                route_port: free_port()?,
                child: None,
            });
        }
        let mut cluster = NatsCluster {
            binary: nats_binary()?,
            servers,
        };
        for n in 0..size {
            cluster.start_one(n).await?;
        }
        Ok(cluster)
    }

    /// Every server's client address, comma-separated (`--nats-url`).
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self
            .servers
            .iter()
            .map(|server| format!("nats://127.0.0.1:{}", server.port))
            .collect();
        urls.join(",")
    }

    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Starts server `n` (again), routed to the others.
    pub async fn start_one(&mut self, n: usize) -> anyhow::Result<()> {
        let routes: Vec<String> = self
            .servers
            .iter()
            .map(|server| format!("nats://127.0.0.1:{}", server.route_port))
            .collect();
        let server = &mut self.servers[n];
        if server.child.is_some() {
            bail!("NATS server {n} is already running");
        }
        let child = Command::new(&self.binary)
            .args(["-a", "127.0.0.1", "-p", &server.port.to_string()])
            .args([
                "-n",
                &format!("piazza-chaos-{n}"),
                "--cluster_name",
                "piazza-chaos",
            ])
            .args([
                "--cluster",
                &format!("nats://127.0.0.1:{}", server.route_port),
            ])
            .args(["--routes", &routes.join(",")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start nats-server")?;
        let port = server.port;
        let child = server.child.insert(child);
        let deadline = Instant::now() + START_PATIENCE;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Some(status) = child.try_wait()? {
                bail!("NATS server {n} exited at start ({status}): is port {port} taken?");
            }
            if Instant::now() > deadline {
                bail!("NATS server {n} did not listen within {START_PATIENCE:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// SIGKILL to server `n`: its clients are cut off without a word.
    pub async fn kill(&mut self, n: usize) -> anyhow::Result<()> {
        let mut child = self.servers[n]
            .child
            .take()
            .with_context(|| format!("NATS server {n} is not running"))?;
        if let Some(status) = child.try_wait()? {
            bail!("NATS server {n} died before it was killed ({status})");
        }
        child.start_kill().context("cannot kill a NATS server")?;
        child.wait().await.context("cannot reap a NATS server")?;
        Ok(())
    }
}
