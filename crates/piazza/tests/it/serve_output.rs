//! What `piazza serve` tells a person starting it: a few lines that
//! matter on a first start, and one clear sentence when it cannot start.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::helpers::{PATIENCE, process_database};

/// `piazza serve` with the default log level (no `RUST_LOG`), as a
/// person runs it; on PostgreSQL when the suite runs there.
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
        .env_remove("PIAZZA_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(url) = process_database(data_dir) {
        command.args(["--database-url", &url]);
    }
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
    // On PostgreSQL the data dir is made at the first upload.
    let canonical = std::fs::canonicalize(dir.path()).unwrap().join("data");
    assert!(text.contains(&format!("http://{addr}/")), "{text}");
    assert!(text.contains("Ctrl-C"), "{text}");
    match process_database(&data_dir) {
        Some(url) => {
            // Where the data is, without the password; where media goes.
            let shown = piazza_postgres::redacted(&url);
            assert!(text.contains(&format!("data in {shown} ")), "{text}");
            assert!(shown.contains(":***@") && !text.contains(&url), "{text}");
            let media = canonical.join(piazza_core::media::files::MEDIA_DIR);
            assert!(text.contains(&media.display().to_string()), "{text}");
            // The database was cloned migrated: nothing to say about it,
            // and none of PostgreSQL's notices.
            assert!(!text.contains("schema"), "{text}");
            assert!(!text.contains("NOTICE"), "{text}");
        }
        None => {
            assert!(text.contains(&canonical.display().to_string()), "{text}");
            assert_eq!(
                text.matches("schema").count(),
                1,
                "one line about the store: {text}"
            );
        }
    }
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

/// An older Piazza on a database a newer one has migrated is refused with
/// what to do (upgrade), not with advice about connecting, and changes
/// nothing.
#[test]
fn an_older_piazza_on_a_newer_postgres_database_is_told_to_upgrade() {
    let database = piazza_postgres::testing::TestDatabase::create();
    let newer = piazza_postgres::migrations::MIGRATIONS.len() as i64 + 1;
    // A plain test, outside any runtime: the blocking client may run here.
    let mut client = postgres::Client::connect(&database.url, postgres::NoTls).unwrap();
    let mut schema = |insert: Option<i64>| -> i64 {
        if let Some(version) = insert {
            let sql = "INSERT INTO piazza_schema (version) VALUES ($1)";
            client.execute(sql, &[&version]).unwrap();
        }
        let sql = "SELECT MAX(version) FROM piazza_schema";
        client.query_one(sql, &[]).unwrap().get(0)
    };
    assert_eq!(schema(Some(newer)), newer);
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &database.url,
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("RUST_LOG")
        .output()
        .expect("the piazza binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(output.stdout.is_empty(), "it never listened: {stderr}");
    assert!(
        stderr.contains(&format!("the database is at schema {newer}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("Upgrade piazza"),
        "says what to do: {stderr}"
    );
    assert!(!stderr.contains("Check that PostgreSQL"), "{stderr}");
    assert!(!stderr.contains("NOTICE"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert_eq!(schema(None), newer, "the newer schema is left as it was");
}
