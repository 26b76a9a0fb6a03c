//! The web client's tests. The browser tests: the web client in headless
//! Chromium against a real server. This binary builds nothing itself; it
//! makes sure the tools are there (`web-tests/ensure.sh`: the npm
//! packages and Debian's chromium), starts the server on port 0 with a
//! fresh data directory, and runs `node web-tests/run.mjs`, which drives
//! the scenarios and saves their screenshots (and, on failure, traces)
//! under `target/web-tests/`. And the check of the client's modules,
//! without a build step: TypeScript's `checkJs` over their JSDoc types
//! (`crates/piazza-web/jsconfig.json`) and ESLint
//! (`crates/piazza-web/eslint.config.mjs`), both from web-tests' pinned
//! npm packages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use piazza_server::config::{Config, PasswordHashing};

/// The repository root, two levels above this crate.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// Prints what a child process said, so a failure shows it all.
fn print_output(what: &str, output: &Output) {
    println!("---- {what}: {}", output.status);
    println!("{}", String::from_utf8_lossy(&output.stdout));
    println!("{}", String::from_utf8_lossy(&output.stderr));
}

/// Runs `web-tests/ensure.sh` once for the tests of this binary (two at
/// once would both run `npm ci` into the same folder).
fn ensure_tools(repo: &Path) {
    static ENSURED: Mutex<bool> = Mutex::new(false);
    let mut ensured = ENSURED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if *ensured {
        return;
    }
    let ensure = Command::new("sh")
        .arg(repo.join("web-tests/ensure.sh"))
        .output()
        .expect("sh runs web-tests/ensure.sh");
    print_output("web-tests/ensure.sh", &ensure);
    assert!(
        ensure.status.success(),
        "web-tests/ensure.sh could not provide node packages and chromium (see above)"
    );
    *ensured = true;
}

/// `node <web-tests/node_modules/…> args` in `dir`; what it said, and whether it passed.
fn run_node_tool(repo: &Path, tool: &str, args: &[&str], dir: &Path) -> Output {
    let output = Command::new("node")
        .arg(repo.join("web-tests/node_modules").join(tool))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("node runs");
    print_output(tool, &output);
    output
}

#[test]
fn javascript_type_checks_and_lints() {
    let repo = repository();
    ensure_tools(&repo);
    let web = repo.join("crates/piazza-web");
    let typecheck = run_node_tool(
        &repo,
        "typescript/bin/tsc",
        &["-p", "jsconfig.json", "--pretty", "false"],
        &web,
    );
    let lint = run_node_tool(
        &repo,
        "eslint/bin/eslint.js",
        &[
            "--config",
            "eslint.config.mjs",
            "--max-warnings",
            "0",
            "assets",
        ],
        &web,
    );
    assert!(
        typecheck.status.success(),
        "TypeScript (checkJs) finds errors in the web client's modules (see above)"
    );
    assert!(
        lint.status.success(),
        "ESLint finds problems in the web client's modules (see above)"
    );
}

/// `node web-tests/run.mjs` with `args`, saving under `target/web-tests`.
async fn run_scenarios(repo: &Path, args: Vec<String>) -> Output {
    let tests = repo.join("web-tests");
    let out = repo.join("target/web-tests");
    tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(tests.join("run.mjs"))
            .args(args)
            .arg("--out")
            .arg(&out)
            .current_dir(&tests)
            .output()
    })
    .await
    .expect("the node task finishes")
    .expect("node runs web-tests/run.mjs")
}

/// One browser run at a time: two at once on two cores make the
/// scenarios' timeouts a race.
static ONE_BROWSER_RUN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_scenarios_pass() {
    let _one_browser_run = ONE_BROWSER_RUN.lock().await;
    let repo = repository();
    ensure_tools(&repo);

    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().to_path_buf());
    // Argon2 at its cheapest: the browser signs up and logs in many times,
    // and password hashing cost is not what these tests test.
    config.password_hashing = PasswordHashing {
        memory_kib: 1024,
        iterations: 1,
    };
    // The wallet scenarios top up through the sandbox gateway.
    config.sandbox_payments = true;
    // One scenario writes a 10,000-message conversation through the API to
    // test scrolling; the rate limits have their own tests (it/abuse.rs).
    config.limits.requests_per_account_per_s = 100_000;
    config.limits.requests_per_account_burst = 100_000;
    let running = piazza::engines::spawn(config).await.expect("server starts");
    let base_url = format!("http://{}", running.addr);

    let run = run_scenarios(&repo, vec!["--base-url".into(), base_url]).await;
    print_output("node web-tests/run.mjs", &run);
    running.shut_down().await;
    assert!(
        run.status.success(),
        "browser scenarios failed (see above; screenshots and traces in target/web-tests/)"
    );
}

/// A `piazza serve` node of the failover test, on the shared database
/// and NATS.
fn start_node(dir: &Path, database_url: &str, nats_url: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let config = dir.join("piazza.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = {database_url:?}\nnats_url = {nats_url:?}\n\
             [password_hashing]\nmemory_kib = 1024\niterations = 1\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_piazza"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the piazza binary starts");
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    (child, base.trim_start_matches("http://").to_owned())
}

/// Kills `child` and reaps it.
fn stop(child: &mut std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A free loopback port.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The web client behind a load balancer of two nodes (on PostgreSQL and
/// NATS, as the many-nodes tests run them): the node it talks to is
/// killed, and the page goes on through the other
/// (`web-tests/scenarios/cluster.mjs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_fails_over_to_another_node() {
    let _one_browser_run = ONE_BROWSER_RUN.lock().await;
    let repo = repository();
    ensure_tools(&repo);
    let nats_port = free_port();
    let nats_binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .unwrap_or("nats-server");
    let mut nats = Command::new(nats_binary)
        .args(["-a", "127.0.0.1", "-p", &nats_port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("nats-server runs (.ci/nats.sh installs it)");
    let nats_url = format!("nats://127.0.0.1:{nats_port}");
    let database = piazza_postgres::testing::TestDatabase::create();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (first, first_at) = start_node(dirs[0].path(), &database.url, &nats_url);
    let (mut second, second_at) = start_node(dirs[1].path(), &database.url, &nats_url);
    let first = std::sync::Arc::new(Mutex::new(Some(first)));

    // The balancer: each new connection to the first node alive.
    let balancer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", balancer.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = balancer.accept().await {
            let nodes = [first_at.clone(), second_at.clone()];
            tokio::spawn(async move {
                for node in nodes {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&node).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
            });
        }
    });
    // What the scenario calls to kill the first node (SIGKILL).
    let killer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let kill_url = format!("http://{}/", killer.local_addr().unwrap());
    let victim = std::sync::Arc::clone(&first);
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut asked, _)) = killer.accept().await {
            let mut request = [0u8; 1024];
            let _ = asked.read(&mut request).await;
            if let Some(mut node) = victim.lock().unwrap().take() {
                stop(&mut node);
            }
            let _ = asked
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    });

    let args = [
        "--base-url",
        &base_url,
        "--kill-url",
        &kill_url,
        "--only",
        "failover",
    ];
    let run = run_scenarios(&repo, args.map(String::from).to_vec()).await;
    print_output("node web-tests/run.mjs --only failover", &run);
    let spared = first.lock().unwrap().take();
    stop(&mut second);
    stop(&mut nats);
    if let Some(mut node) = spared {
        stop(&mut node);
        panic!("the scenario never had the first node killed");
    }
    assert!(
        run.status.success(),
        "the failover scenario failed (see above; screenshots and traces in target/web-tests/)"
    );
}
