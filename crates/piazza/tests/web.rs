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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_scenarios_pass() {
    let repo = repository();
    let tests = repo.join("web-tests");
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

    let out = repo.join("target/web-tests");
    let run = {
        let tests = tests.clone();
        tokio::task::spawn_blocking(move || {
            Command::new("node")
                .arg(tests.join("run.mjs"))
                .arg("--base-url")
                .arg(&base_url)
                .arg("--out")
                .arg(&out)
                .current_dir(&tests)
                .output()
        })
        .await
        .expect("the node task finishes")
        .expect("node runs web-tests/run.mjs")
    };
    print_output("node web-tests/run.mjs", &run);
    running.shut_down().await;
    assert!(
        run.status.success(),
        "browser scenarios failed (see above; screenshots and traces in target/web-tests/)"
    );
}
