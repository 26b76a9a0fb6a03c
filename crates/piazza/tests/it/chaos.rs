//! `piazza chaos`, CI-sized: ten SIGKILLs of the real server under the
//! mixed load of every area, each followed by the offline checkers, a
//! restart, the retry of what was in flight and the full verification —
//! on the suite's engine (`--database-url` when it runs on PostgreSQL);
//! and one of two processes on one PostgreSQL database killed under load
//! while the other serves on. The long runs and their figures are in
//! RELIABILITY.md.

use std::process::{Command, Output};

use crate::helpers::on_postgres;

/// Fixed, so a failure here replays with `piazza chaos --seed 20261125`.
const SEED: &str = "20261125";

/// Runs `piazza chaos` with `args`, on PostgreSQL when the suite does.
fn chaos(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_piazza"));
    command.arg("chaos").args(args).env("RUST_LOG", "warn");
    if on_postgres() && !args.contains(&"--database-url") {
        // The run makes its own database on the suite's server.
        command.args(["--database-url", &piazza_postgres::testing::server_url()]);
    }
    command.output().expect("the piazza binary runs")
}

/// It takes 5 to 9 s in a debug build; the time limit only bounds a
/// hang while the rest of the suite competes for the cores.
#[test]
fn ten_kills_under_load_lose_and_repeat_nothing() {
    let output = chaos(&["--kills", "10", "--seed", SEED, "--time-limit-s", "90"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    let kills = stdout
        .lines()
        .filter(|line| line.starts_with("kill "))
        .count();
    assert_eq!(kills, 10, "one progress line per kill: {stdout}");
    assert!(
        stdout.contains("areas: chat, pay, channels, moments, shops, media"),
        "{stdout}"
    );
    assert!(
        stdout.contains("survived 10 kills") && stdout.contains(SEED),
        "{stdout}"
    );
    let engine = if on_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    assert!(
        stdout
            .lines()
            .next()
            .is_some_and(|line| line.ends_with(engine)),
        "the run is on {engine}: {stdout}"
    );
}

/// Two `piazza serve` processes on one PostgreSQL database (whichever
/// engine the rest of the suite runs on), chat and pay clients on both,
/// the same accounts and conversations; five times one of them, drawn
/// from the seed, is SIGKILLed under load while the other serves on, and
/// restarted. Every acknowledged message and money movement is there
/// once, seqs and logs gapless, statements and balances exact, through
/// either process, and the checkers pass after each kill. About 17 s in
/// a debug build.
#[test]
fn one_of_two_processes_killed_under_load_loses_and_repeats_nothing() {
    let server = piazza_postgres::testing::server_url();
    let output = chaos(&[
        "--processes",
        "2",
        "--database-url",
        &server,
        "--kills",
        "5",
        "--acks-min",
        "20",
        "--acks-max",
        "60",
        "--seed",
        SEED,
        "--time-limit-s",
        "120",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    let kills: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("kill "))
        .collect();
    assert_eq!(kills.len(), 5, "one progress line per kill: {stdout}");
    assert!(
        kills.iter().all(|line| line.contains(" of process ")),
        "each names the process it killed: {stdout}"
    );
    let summary = stdout
        .lines()
        .find(|line| line.starts_with("survived 5 kills"))
        .unwrap_or_else(|| panic!("a summary: {stdout}"));
    // The other process kept acknowledging while one was down.
    let while_down: u64 = summary
        .split(" of them by the other process while one was down")
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|count| count.replace(',', "").parse().ok())
        .unwrap_or_else(|| panic!("a count of what the survivor acknowledged: {summary}"));
    assert!(while_down > 0, "{summary}");
}

/// Cluster mode: three processes joined by three NATS servers; each
/// round SIGKILLs one process and one NATS server, both drawn from the
/// seed, under load, and starts them again. The same checks as ever.
#[test]
fn a_node_and_a_nats_server_killed_each_round_lose_and_repeat_nothing() {
    let server = piazza_postgres::testing::server_url();
    let output = chaos(&[
        "--processes",
        "3",
        "--nats-servers",
        "3",
        "--database-url",
        &server,
        "--kills",
        "3",
        "--acks-min",
        "20",
        "--acks-max",
        "60",
        "--seed",
        SEED,
        "--time-limit-s",
        "120",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        stdout
            .lines()
            .next()
            .is_some_and(|line| line.ends_with("joined by 3 NATS servers")),
        "{stdout}"
    );
    let kills: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("kill "))
        .collect();
    assert_eq!(kills.len(), 3, "one progress line per kill: {stdout}");
    assert!(
        kills.iter().all(|line| line.contains(" and NATS server ")),
        "each names the NATS server it killed: {stdout}"
    );
    assert!(stdout.contains("survived 3 kills"), "{stdout}");
}

#[test]
fn a_failed_run_names_its_seed_and_exits_non_zero() {
    // No run fits in no time: the limit itself is the failure.
    let output = chaos(&["--kills", "1", "--seed", "77", "--time-limit-s", "0"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("--seed 77"), "{stderr}");
}

#[test]
fn several_processes_need_postgresql() {
    let output = Command::new(env!("CARGO_BIN_EXE_piazza"))
        .args(["chaos", "--processes", "2", "--kills", "1"])
        .env_remove("PIAZZA_CHAOS_DATABASE_URL")
        .output()
        .expect("the piazza binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("needs --database-url"), "{stderr}");
}
