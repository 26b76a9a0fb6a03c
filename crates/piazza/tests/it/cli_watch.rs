//! `piazza watch` as a person leaves it running: it names people, and it
//! outlives a restart of the server, saying when it lost the server and
//! when it is back, and printing every event once.

use std::process::Stdio;

use piazza_client::Client;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use crate::helpers::{PASSWORD, PATIENCE, start_server_process, start_server_process_on};

/// Signs up and logs in `username` over the API.
async fn account(base: &str, username: &str, display_name: &str) -> (Client, String) {
    let anonymous = Client::new(base);
    anonymous
        .create_account(username, PASSWORD, Some(display_name))
        .await
        .expect("account created");
    let session = anonymous
        .login(username, PASSWORD, "test")
        .await
        .expect("logged in");
    (anonymous.with_token(session.token), session.account_id)
}

/// Lines of a child's output, as they come.
fn lines_of(
    output: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> mpsc::UnboundedReceiver<String> {
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(output).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Waits for a line containing `wanted`, keeping every line read in `seen`.
async fn wait_for(
    lines: &mut mpsc::UnboundedReceiver<String>,
    seen: &mut Vec<String>,
    wanted: &str,
) {
    let patience = PATIENCE * 2;
    let found = tokio::time::timeout(patience, async {
        while let Some(line) = lines.recv().await {
            let hit = line.contains(wanted);
            seen.push(line);
            if hit {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(found, Ok(true)),
        "no line with {wanted:?} within {patience:?}; so far:\n{}",
        seen.join("\n")
    );
}

/// SIGTERM, as a service manager restarts a server, and its exit.
async fn stop(mut server: crate::helpers::ServerProcess) {
    let pid = server.child.id().expect("the server runs");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    tokio::time::timeout(PATIENCE, server.child.wait())
        .await
        .expect("the server stops")
        .unwrap();
}

#[tokio::test]
async fn watch_outlives_a_server_restart_and_prints_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start_server_process(&data, &[]).await;
    let base = server.base.clone();
    let (ann, ann_id) = account(&base, "ann", "Ann Lee").await;
    let (bob, _) = account(&base, "bob", "Bob Chen").await;
    let request = ann.request_contact("bob", Some("hi")).await.unwrap();
    bob.accept_request(&request).await.unwrap();
    let direct = bob.open_direct(&ann_id).await.unwrap();
    bob.send_message(&direct, "m1", "one").await.unwrap();

    let config = dir.path().join("cli.toml");
    let cli = |args: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_piazza"));
        command
            .args(args)
            .env("PIAZZA_CONFIG", &config)
            .env("PIAZZA_SERVER", &base)
            .env("PIAZZA_PASSWORD", PASSWORD)
            .env_remove("PIAZZA_ACCOUNT")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    };
    let login = cli(&["login", "ann"]).output().await.unwrap();
    assert!(login.status.success(), "{login:?}");
    let mut watch = cli(&["watch"]).spawn().expect("watch starts");
    let mut stdout = lines_of(watch.stdout.take().unwrap());
    let mut stderr = lines_of(watch.stderr.take().unwrap());
    let (mut printed, mut said) = (Vec::new(), Vec::new());
    wait_for(&mut stdout, &mut printed, "Bob Chen (@bob): one").await;
    wait_for(&mut stderr, &mut said, "up to date").await;

    // The server restarts on its port and data; meanwhile Bob writes.
    stop(server).await;
    wait_for(&mut stderr, &mut said, "lost the server").await;
    let listen = base.trim_start_matches("http://");
    let server = start_server_process_on(&data, listen, &[]).await;
    bob.send_message(&direct, "m2", "two").await.unwrap();
    wait_for(&mut stderr, &mut said, "reconnected").await;
    wait_for(&mut stdout, &mut printed, "Bob Chen (@bob): two").await;
    bob.send_message(&direct, "m3", "three").await.unwrap();
    wait_for(&mut stdout, &mut printed, "Bob Chen (@bob): three").await;

    watch.kill().await.unwrap();
    // Shown with `--nocapture`: what a person watching saw.
    eprintln!(
        "--- stdout\n{}\n--- stderr\n{}",
        printed.join("\n"),
        said.join("\n")
    );
    for message in ["one", "two", "three"] {
        let wanted = format!("Bob Chen (@bob): {message}");
        let count = printed
            .iter()
            .filter(|line| line.ends_with(&wanted))
            .count();
        assert_eq!(
            count,
            1,
            "{wanted:?} printed {count} times:\n{}",
            printed.join("\n")
        );
    }
    let mut unique = printed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        printed.len(),
        "a line repeated:\n{}",
        printed.join("\n")
    );
    let lost = said
        .iter()
        .filter(|line| line.contains("lost the server"))
        .count();
    assert_eq!(
        lost,
        1,
        "one line for the loss, however many tries:\n{}",
        said.join("\n")
    );
    assert!(
        printed
            .iter()
            .all(|line| !line.contains("acct_") && !line.contains('{')),
        "names, not ids or JSON:\n{}",
        printed.join("\n")
    );
    drop(server);
}
