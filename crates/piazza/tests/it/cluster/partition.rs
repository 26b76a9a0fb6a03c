//! Cutting a node off from NATS but not from the database, as a network
//! partition does. Where the machine allows it (root, with iproute2) the
//! node runs in a network namespace of its own, made here, and the cut
//! blackholes its route to NATS; elsewhere it talks to NATS through a TCP
//! proxy that stops forwarding. Either way its open connections stay open
//! and nothing is reset: packets just stop arriving. (In the namespace a
//! new connection to NATS is refused at once by the node's own kernel,
//! as with a route lost, where the proxy leaves it hanging.)

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use crate::helpers::{
    ServerProcess, start_server_process_in_netns_on_database, start_server_process_on_database,
};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A node's way to NATS, which the test cuts and mends.
pub(super) enum Cut {
    Island(Island),
    Proxy(Proxy),
}

impl Cut {
    /// Prepares the way to the NATS server at `nats_port` for a node on
    /// the database at `database_url`.
    pub(super) async fn prepare(nats_port: u16, database_url: &str) -> Cut {
        match Island::make(nats_port, database_url).await {
            Ok(island) => Cut::Island(island),
            Err(why) => {
                eprintln!("no network namespace here ({why}): the node is cut off by a proxy");
                let nats = SocketAddr::from((LOOPBACK, nats_port));
                Cut::Proxy(Proxy::between(LOOPBACK, nats).await)
            }
        }
    }

    /// Starts the node that will be cut off, with `data_dir`.
    pub(super) async fn start_node(
        &self,
        data_dir: &std::path::Path,
        database_url: &str,
    ) -> ServerProcess {
        match self {
            Cut::Island(island) => {
                let nats = format!("nats://{}:{}", island.nats_address, island.nats.port);
                let database = &island.database_url;
                let listen = format!("{}:0", island.node_address);
                start_server_process_in_netns_on_database(
                    &island.name,
                    data_dir,
                    database,
                    &listen,
                    &["--nats-url", &nats],
                )
                .await
            }
            Cut::Proxy(proxy) => {
                let nats = format!("nats://127.0.0.1:{}", proxy.port);
                start_server_process_on_database(data_dir, database_url, &["--nats-url", &nats])
                    .await
            }
        }
    }

    pub(super) fn cut(&self) {
        match self {
            Cut::Island(island) => island.route("add"),
            Cut::Proxy(proxy) => proxy.cut(),
        }
    }

    pub(super) fn mend(&self) {
        match self {
            Cut::Island(island) => island.route("del"),
            Cut::Proxy(proxy) => proxy.mend(),
        }
    }
}

/// A network namespace joined to this one by a veth pair. This side has
/// two addresses, one forwarded to the database and one to NATS; the
/// node's side has one. Its names and its /29 (in 198.18.0.0/15, kept for
/// benchmarking networks) come from the process id.
pub(super) struct Island {
    name: String,
    node_address: Ipv4Addr,
    nats_address: Ipv4Addr,
    nats: Proxy,
    _database: Proxy,
    /// The database's URL through its forward.
    database_url: String,
    _made: Cleanup,
}

impl Island {
    async fn make(nats_port: u16, database_url: &str) -> Result<Island, String> {
        let (database, rewrite) = on_loopback(database_url)
            .ok_or("the database is not on this machine's loopback, which the forward needs")?;
        sweep_leftovers();
        let pid = std::process::id();
        let base = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + (pid % 16_384) * 8;
        let [database_address, nats_address, node_address] =
            [1, 2, 3].map(|n| Ipv4Addr::from(base + n));
        let name = format!("piazza{pid}");
        let (host_side, node_side) = (format!("pzh{pid}"), format!("pzn{pid}"));
        ip(&["netns", "add", &name])?;
        // From here on, dropping `made` takes it all down again.
        let made = Cleanup {
            name: name.clone(),
            host_side: host_side.clone(),
        };
        ip(&[
            "link", "add", &host_side, "type", "veth", "peer", "name", &node_side,
        ])?;
        ip(&["link", "set", &node_side, "netns", &name])?;
        for address in [database_address, nats_address] {
            ip(&["addr", "add", &format!("{address}/29"), "dev", &host_side])?;
        }
        ip(&["link", "set", &host_side, "up"])?;
        ip(&[
            "-n",
            &name,
            "addr",
            "add",
            &format!("{node_address}/29"),
            "dev",
            &node_side,
        ])?;
        ip(&["-n", &name, "link", "set", &node_side, "up"])?;
        ip(&["-n", &name, "link", "set", "lo", "up"])?;
        // Strict reverse-path filtering drops what arrives from an address
        // the namespace has no route back to: with the blackhole, the cut
        // stops packets both ways, not only the node's own.
        let strict = [
            "net.ipv4.conf.all.rp_filter=1".to_owned(),
            format!("net.ipv4.conf.{node_side}.rp_filter=1"),
        ];
        let mut sysctl = vec!["netns", "exec", &name, "sysctl", "-q", "-w"];
        sysctl.extend(strict.iter().map(String::as_str));
        ip(&sysctl)?;
        let nats =
            Proxy::between(nats_address.into(), SocketAddr::from((LOOPBACK, nats_port))).await;
        let database = Proxy::between(database_address.into(), database).await;
        let database_url = rewrite(SocketAddr::from((database_address, database.port)));
        Ok(Island {
            name,
            node_address,
            nats_address,
            nats,
            _database: database,
            database_url,
            _made: made,
        })
    }

    /// Adds or deletes (`change`) the blackhole route to NATS in the node's
    /// namespace: what the node sends there is dropped, and so is what
    /// comes from there (reverse-path filtering).
    fn route(&self, change: &str) {
        let nats = format!("{}/32", self.nats_address);
        ip(&["-n", &self.name, "route", change, "blackhole", &nats]).unwrap();
    }
}

/// Deletes a namespace and this side's end of its veth pair (which takes
/// the other end with it), ignoring what is already gone.
struct Cleanup {
    name: String,
    host_side: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.host_side]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Deletes the namespaces (and this side's veth ends) of earlier runs
/// whose process is gone: a run killed never dropped its `Island`.
fn sweep_leftovers() {
    let Ok(listed) = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
    else {
        return;
    };
    for line in String::from_utf8_lossy(&listed.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(pid) = name.strip_prefix("piazza") else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            drop(Cleanup {
                name: name.to_owned(),
                host_side: format!("pzh{pid}"),
            });
        }
    }
}

/// Runs `ip` with `args`; what it said when it failed.
fn ip(args: &[&str]) -> Result<(), String> {
    let output = std::process::Command::new("ip")
        .args(args)
        .output()
        .map_err(|error| format!("ip: {error}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    ))
}

/// Points a database URL at another address.
type Rewrite = Box<dyn Fn(SocketAddr) -> String>;

/// Where a `postgres://user:password@host:port/database` URL points, if
/// on loopback (a node in a namespace cannot reach this one's loopback),
/// and how to point it elsewhere.
fn on_loopback(url: &str) -> Option<(SocketAddr, Rewrite)> {
    let (before, rest) = url.split_once('@')?;
    let (host_port, after) = rest.split_once('/')?;
    let target = host_port
        .to_socket_addrs()
        .ok()?
        .find(|a| a.ip().is_loopback())?;
    let (before, after) = (before.to_owned(), after.to_owned());
    Some((target, Box::new(move |to| format!("{before}@{to}/{after}"))))
}

/// A TCP proxy on `listen` in front of `target` that the test can cut as
/// a network partition does: every connection stays open, nothing is
/// reset, and nothing crosses until it is mended (then what waited
/// crosses).
pub(super) struct Proxy {
    port: u16,
    open: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    async fn between(listen: IpAddr, target: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind((listen, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (open, _) = tokio::sync::watch::channel(true);
        let gate = open.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                    continue;
                };
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                tokio::spawn(pipe(in_read, out_write, gate.subscribe()));
                tokio::spawn(pipe(out_read, in_write, gate.subscribe()));
            }
        });
        Proxy { port, open }
    }

    fn cut(&self) {
        self.open.send_replace(false);
    }

    fn mend(&self) {
        self.open.send_replace(true);
    }
}

/// Copies `from` to `to` while the gate is open; holds (reads nothing)
/// while it is shut.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut gate: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if gate.wait_for(|open| *open).await.is_err() {
            return;
        }
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            _ = gate.wait_for(|open| !*open) => continue,
        };
        let Ok(n @ 1..) = read else { return };
        if gate.wait_for(|open| *open).await.is_err() || to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
