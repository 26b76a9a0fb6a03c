//! A PostgreSQL server of its own for a test or a chaos run that stops
//! and starts it, troubling no other test: in a temporary folder, on a
//! loopback port of its own, trusting local connections, with the
//! newest server binaries Debian's packages installed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A private PostgreSQL server, stopped (immediately) when dropped.
pub struct PrivateServer {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

/// The newest PostgreSQL server binaries under /usr/lib/postgresql.
fn postgres_bin() -> Result<PathBuf, String> {
    let installed = std::fs::read_dir("/usr/lib/postgresql").map_err(|error| {
        format!("PostgreSQL's server is not installed ({error}): .ci/postgres.sh installs it")
    })?;
    let mut versions: Vec<PathBuf> = installed
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    versions.sort_by_key(|bin| {
        let version = bin.parent().and_then(Path::file_name);
        version.and_then(|v| v.to_str()?.parse::<u32>().ok())
    });
    versions
        .pop()
        .ok_or_else(|| "no PostgreSQL server under /usr/lib/postgresql".to_owned())
}

/// Runs a PostgreSQL tool as the `postgres` user when this is root (the
/// server refuses to run as root), as this user otherwise.
fn as_owner(program: &Path) -> Command {
    let running_as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"));
    if running_as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// A free loopback port below the ephemeral range (32768 up, Linux's
/// default): the server keeps it across restarts, and while it is down
/// no one's `bind(0)` takes it meanwhile.
fn quiet_port() -> Result<u16, String> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos())
        ^ std::process::id();
    for n in 0..200u32 {
        let port = 20_000 + (seed.wrapping_add(n.wrapping_mul(7_919)) % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free port between 20000 and 32000 for PostgreSQL".into())
}

fn run(mut command: Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|error| format!("{what}: {error}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

impl PrivateServer {
    /// Makes a cluster (initdb) and starts it.
    pub fn start() -> Result<PrivateServer, String> {
        let bin = postgres_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("piazza-postgres-")
            .tempdir()
            .map_err(|error| format!("cannot make a folder for PostgreSQL: {error}"))?;
        let data = dir.path().join("data");
        // The postgres user must reach and own the folder.
        let mut chmod = Command::new("chmod");
        chmod.arg("0777").arg(dir.path());
        run(chmod, "chmod")?;
        let mut initdb = as_owner(&bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "piazza", "--no-sync"]);
        run(initdb, "initdb")?;
        let port = quiet_port()?;
        let server = PrivateServer {
            bin,
            data,
            port,
            _dir: dir,
        };
        server.start_again()?;
        Ok(server)
    }

    /// A URL to its maintenance database, as a role that may create
    /// databases.
    pub fn url(&self) -> String {
        format!("postgres://piazza@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again, after [`PrivateServer::stop`]) and waits
    /// until it accepts connections.
    pub fn start_again(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.data.display()
        );
        let mut start = as_owner(&self.bin.join("pg_ctl"));
        start
            .arg("-D")
            .arg(&self.data)
            .args(["-o", &options, "-l"])
            .arg(self.data.join("log"))
            .args(["-w", "start"]);
        run(start, "pg_ctl start")
    }

    /// Stops the server and waits until it has. `fast`: open transactions
    /// are rolled back and every connection is cut, as in a real restart
    /// or a failover.
    pub fn stop(&self, mode: &str) -> Result<(), String> {
        let mut stop = as_owner(&self.bin.join("pg_ctl"));
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", mode, "-w", "stop"]);
        run(stop, "pg_ctl stop")
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self.stop("immediate");
    }
}
