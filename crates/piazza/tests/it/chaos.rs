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
    let database_chosen = args.contains(&"--database-url") || args.contains(&"--restart-database");
    if on_postgres() && !database_chosen {
        // The run makes its own database on the suite's server.
        command.args(["--database-url", &piazza_postgres::testing::server_url()]);
    }
    command.output().expect("the piazza binary runs")
}

/// Runs `piazza chaos` with `args`, which must succeed with one progress
/// line per kill of `kills`: answers what it printed, and those lines.
fn chaos_kills(args: &[&str], kills: usize) -> (String, Vec<String>) {
    let output = chaos(args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    let lines: Vec<String> = stdout
        .lines()
        .filter(|line| line.starts_with("kill "))
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), kills, "one progress line per kill: {stdout}");
    assert!(
        stdout.contains(&format!("survived {kills} kills")) && stdout.contains(SEED),
        "{stdout}"
    );
    (stdout, lines)
}

/// It takes 5 to 9 s in a debug build; the time limit only bounds a
/// hang while the rest of the suite competes for the cores.
#[test]
fn ten_kills_under_load_lose_and_repeat_nothing() {
    let args = ["--kills", "10", "--seed", SEED, "--time-limit-s", "90"];
    let (stdout, _) = chaos_kills(&args, 10);
    assert!(
        stdout.contains("areas: chat, pay, channels, moments, shops, media"),
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
    let (stdout, kills) = chaos_kills(
        &[
            &[
                "--processes",
                "2",
                "--database-url",
                &server,
                "--kills",
                "5",
            ],
            SHORT_ROUNDS,
        ]
        .concat(),
        5,
    );
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

/// Rounds of 20 to 60 acknowledgements, within two minutes.
const SHORT_ROUNDS: &[&str] = &[
    "--acks-min",
    "20",
    "--acks-max",
    "60",
    "--seed",
    SEED,
    "--time-limit-s",
    "120",
];

/// Cluster mode: three processes joined by three NATS servers, on a
/// PostgreSQL server of the run's own; each round SIGKILLs one process
/// and one NATS server, both drawn from the seed, and restarts
/// PostgreSQL, under load, and starts them again. While the database is
/// down the other processes answer 503 with `Retry-After`. The same
/// checks as ever.
#[test]
fn a_node_and_a_nats_server_killed_and_postgres_restarted_each_round_lose_and_repeat_nothing() {
    let cluster = "--processes 3 --nats-servers 3 --restart-database --kills 3";
    let args: Vec<&str> = cluster
        .split(' ')
        .chain(SHORT_ROUNDS.iter().copied())
        .collect();
    let (stdout, kills) = chaos_kills(&args, 3);
    assert!(
        stdout.lines().next().is_some_and(|line| {
            line.ends_with("joined by 3 NATS servers, PostgreSQL restarted every round")
        }),
        "{stdout}"
    );
    assert!(
        kills.iter().all(|line| line.contains(" and NATS server ")
            && line.contains("(2 processes answered 503 with Retry-After)")),
        "each names the NATS server it killed and the database's restart: {stdout}"
    );
    assert!(stdout.contains("PostgreSQL restarted 3 times"), "{stdout}");
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
