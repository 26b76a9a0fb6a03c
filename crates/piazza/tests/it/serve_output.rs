//! What `piazza serve` tells a person starting it: a few lines that
//! matter on a first start, and one clear sentence when it cannot start.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::helpers::PATIENCE;

/// `piazza serve` with the default log level (no `RUST_LOG`), as a
/// person runs it.
fn serve(data_dir: &std::path::Path, listen: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_piazza"));
    command
        .args([
            "serve",
            "--sandbox-payments",
            "--listen",
            listen,
            "--data-dir",
        ])
        .arg(data_dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn a_first_start_says_where_the_data_is_the_url_and_how_to_stop() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut child = serve(&data_dir, "127.0.0.1:0").spawn().expect("starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    tokio::time::timeout(PATIENCE, stdout.read_line(&mut first))
        .await
        .expect("the first line in time")
        .unwrap();
    let addr = first
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("the first line is {first:?}"))
        .trim_end()
        .to_owned();
    assert_eq!(first, format!("listening on http://{addr}\n"));

    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut lines = Vec::new();
    while !lines
        .iter()
        .any(|line: &String| line.contains("sandbox payments"))
    {
        let line = tokio::time::timeout(PATIENCE, stderr.next_line())
            .await
            .unwrap_or_else(|_| panic!("the start-up lines in time: {lines:#?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("stderr ended: {lines:#?}"));
        lines.push(line);
    }
    // Nothing else follows on its own.
    let more = tokio::time::timeout(Duration::from_millis(500), stderr.next_line()).await;
    assert!(more.is_err(), "more lines: {more:?} after {lines:#?}");

    let text = lines.join("\n");
    assert!(lines.len() <= 3, "{text}");
    let canonical = std::fs::canonicalize(&data_dir).unwrap();
    assert!(text.contains(&canonical.display().to_string()), "{text}");
    assert!(text.contains(&format!("http://{addr}/")), "{text}");
    assert!(text.contains("Ctrl-C"), "{text}");
    assert_eq!(
        text.matches("schema").count(),
        1,
        "one line about the store: {text}"
    );
    assert!(!text.contains("open-file"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes in a pipe: {text}"
    );
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_port_in_use_is_said_once_and_touches_no_data() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut child = serve(&data_dir, &addr).spawn().expect("starts");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("it gives up at once")
        .unwrap();
    assert!(!status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(stderr.matches("already in use").count(), 1, "{stderr}");
    assert_eq!(stderr.matches(&addr).count(), 1, "{stderr}");
    assert!(stderr.contains("--listen"), "{stderr}");
    assert!(!data_dir.exists(), "no data directory was created");
}
