//! `piazza chaos`, CI-sized: ten SIGKILLs of the real server under the
//! mixed load of every area, each followed by the offline checkers, a
//! restart, the retry of what was in flight and the full verification.
//! The 100-kill run and its figures are in RELIABILITY.md.

use std::process::{Command, Output};

/// Fixed, so a failure here replays with `piazza chaos --seed 20261125`.
const SEED: &str = "20261125";

fn chaos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_piazza"))
        .arg("chaos")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the piazza binary runs")
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
        stdout.contains("survived 10 kills") && stdout.contains(SEED),
        "{stdout}"
    );
}

#[test]
fn a_failed_run_names_its_seed_and_exits_non_zero() {
    // No run fits in no time: the limit itself is the failure.
    let output = chaos(&["--kills", "1", "--seed", "77", "--time-limit-s", "0"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("--seed 77"), "{stderr}");
}
