//! `piazza profile`, `piazza password change` and the contact requests
//! both ways, run as a user runs them.

use std::process::Output;

use crate::helpers::*;

/// Runs `piazza <args>` as `account` with its own config file, writing
/// `input` to its standard input (the password is not in the environment).
pub(crate) async fn piazza(
    app: &TestApp,
    config: &std::path::Path,
    account: &str,
    args: &[&str],
    input: &str,
) -> Output {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
        .args(args)
        .env("PIAZZA_CONFIG", config)
        .env("PIAZZA_SERVER", &app.base)
        .env("PIAZZA_ACCOUNT", account)
        .env_remove("PIAZZA_PASSWORD")
        .env_remove("PIAZZA_NEW_PASSWORD")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the piazza binary runs");
    let mut stdin = child.stdin.take().expect("a piped stdin");
    stdin
        .write_all(input.as_bytes())
        .await
        .expect("stdin written");
    drop(stdin);
    child
        .wait_with_output()
        .await
        .expect("the piazza binary ends")
}

/// A new account `name`, logged in by the CLI with its config file in
/// `dir`: the file's path.
pub(crate) async fn cli_account(
    app: &TestApp,
    dir: &std::path::Path,
    name: &str,
) -> std::path::PathBuf {
    let config = dir.join("cli.toml");
    app.anonymous()
        .create_account(name, PASSWORD, None)
        .await
        .unwrap();
    let login = piazza(
        app,
        &config,
        name,
        &["login", name],
        &format!("{PASSWORD}\n"),
    )
    .await;
    stdout_of(&login);
    config
}

pub(crate) fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn the_cli_shows_and_sets_profiles_declines_and_changes_passwords() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    for name in ["ann", "bob"] {
        app.anonymous()
            .create_account(name, PASSWORD, None)
            .await
            .unwrap();
        let login = piazza(
            &app,
            &config,
            name,
            &["login", name],
            &format!("{PASSWORD}\n"),
        )
        .await;
        stdout_of(&login);
    }
    let picture = dir.path().join("me.png");
    std::fs::write(&picture, crate::media::TINY_PNG).unwrap();
    let set = stdout_of(
        &piazza(
            &app,
            &config,
            "ann",
            &[
                "profile",
                "set",
                "--display-name",
                "Ann A.",
                "--bio",
                "likes tea",
                "--avatar",
                picture.to_str().unwrap(),
            ],
            "",
        )
        .await,
    );
    assert!(
        set.contains("Ann A. (@ann)") && set.contains("bio:     likes tea"),
        "{set}"
    );
    assert!(set.contains("avatar:  med_"), "{set}");
    let mine = stdout_of(&piazza(&app, &config, "ann", &["profile"], "").await);
    assert!(
        mine.contains("Ann A. (@ann)") && mine.contains("likes tea"),
        "{mine}"
    );

    // A stranger sees the card; the bio stays hidden.
    let card = stdout_of(&piazza(&app, &config, "bob", &["profile", "ann"], "").await);
    assert!(
        card.contains("Ann A. (@ann)") && !card.contains("likes tea"),
        "{card}"
    );
    assert!(card.contains("what a contact request shows"), "{card}");
    let nobody = piazza(&app, &config, "bob", &["profile", "zed"], "").await;
    assert!(!nobody.status.success());
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("nobody is called zed"));

    stdout_of(
        &piazza(
            &app,
            &config,
            "bob",
            &["contacts", "add", "ann", "--greeting", "hi ann"],
            "",
        )
        .await,
    );
    let waiting = stdout_of(&piazza(&app, &config, "ann", &["contacts", "requests"], "").await);
    assert!(
        waiting.contains("bob asks to be your contact") && waiting.contains("\"hi ann\""),
        "{waiting}"
    );
    let request = waiting
        .split_whitespace()
        .find(|word| word.starts_with("req_"))
        .expect("a request id")
        .trim_end_matches(')')
        .to_owned();
    let sent = stdout_of(&piazza(&app, &config, "bob", &["contacts", "requests"], "").await);
    assert!(
        sent.contains("sent by you") && sent.contains("to Ann A. (@ann)"),
        "{sent}"
    );
    let declined =
        stdout_of(&piazza(&app, &config, "ann", &["contacts", "decline", "bob"], "").await);
    assert!(
        declined.contains(&request) && declined.contains("not told"),
        "{declined}"
    );
    let empty = stdout_of(&piazza(&app, &config, "ann", &["contacts", "requests"], "").await);
    assert!(empty.contains("no contact requests waiting"), "{empty}");
    let still = stdout_of(&piazza(&app, &config, "bob", &["contacts", "requests"], "").await);
    assert!(still.contains(&request), "the sender is not told: {still}");

    // The passwords from stdin, the current one first; the others go.
    let other = app.login("ann", "tablet").await;
    let input = format!("{PASSWORD}\nnew password 2\n");
    let changed = stdout_of(
        &piazza(
            &app,
            &config,
            "ann",
            &["password", "change", "--sign-out-others"],
            &input,
        )
        .await,
    );
    assert!(changed.contains("every other device"), "{changed}");
    assert_problem(&other.client.me().await.unwrap_err(), 401, "unauthorized");
    stdout_of(&piazza(&app, &config, "ann", &["whoami"], "").await);
    app.anonymous()
        .login("ann", "new password 2", "x")
        .await
        .expect("the new password works");
    let wrong = piazza(
        &app,
        &config,
        "ann",
        &["password", "change"],
        "not it\nnew password 3\n",
    )
    .await;
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong_password"));
    app.shut_down().await;
}
