//! The README's tour, run from README.md itself, so the two cannot drift.
//!
//! The convention (also written, for editors, in a comment above the tour):
//!
//! - `<!-- tour: server -->` before a fenced block: its first command is
//!   how the tour starts the server; the test starts the built binary with
//!   the same `serve` flags (and its own port, data directory and cheap
//!   password hashing).
//! - `<!-- tour -->` before a fenced block: its lines are the tour, run in
//!   order, each with `sh -c` and the built `piazza` first on `PATH`,
//!   `PIAZZA_SERVER` and `PIAZZA_CONFIG` pointing at the test's server and
//!   a temporary file, and one line `y` on standard input. A comment line
//!   is skipped; a `cargo …` line is skipped (the binary under test is the
//!   one cargo built for it); `export NAME=…` and `cd …` carry over to the
//!   lines after them, as in one terminal.
//! - A placeholder `<…>` is filled from what the tour printed so far, by
//!   the rule [`PLACEHOLDERS`] gives it; one without a rule fails the test.
//! - Every id a line names (`req_1`, `trf_1`, `mer_1`, in its command or
//!   its trailing comment) must have been printed by that line or an
//!   earlier one: the README's ids are those a fresh server hands out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::helpers::start_server_process;

/// How a placeholder is filled.
#[derive(Debug, Clone, Copy)]
enum Fill {
    /// The `qr_payload` of a QR log-in the test asks for through the API,
    /// as a browser would (the CLI tour has no browser).
    LoginRequest,
    /// The latest line printed that is exactly 18 digits (a payment code).
    PaymentCode,
}

/// Every placeholder the tour may use. Add a rule here to add one.
const PLACEHOLDERS: &[(&str, Fill)] = &[
    ("<the text under the QR code>", Fill::LoginRequest),
    ("<the 18-digit code>", Fill::PaymentCode),
];

/// The prefixes of the ids the server hands out.
const ID_PREFIXES: &[&str] = &[
    "acct", "dev", "req", "conv", "msg", "trf", "rpk", "mer", "pay", "rfd", "top", "wd", "med",
    "lrq", "shop", "prd", "var", "ord",
];

/// How long one line of the tour may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// The tour as the README has it.
#[derive(Debug, Default)]
struct Tour {
    /// The flags after `serve` in the server block.
    serve_flags: Vec<String>,
    /// The lines to run, with their line numbers in README.md.
    lines: Vec<(usize, String)>,
}

/// Reads the marked blocks out of the README.
fn parse_tour(markdown: &str) -> Tour {
    let mut tour = Tour::default();
    let mut lines = markdown
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line));
    while let Some((number, line)) = lines.next() {
        let marker = line.trim();
        let server = marker == "<!-- tour: server -->";
        if !server && marker != "<!-- tour -->" {
            continue;
        }
        let fence = lines.next().map(|(_, line)| line.trim());
        assert_eq!(
            fence,
            Some("```sh"),
            "README.md:{number}: a tour marker must be followed by a ```sh block"
        );
        let block: Vec<(usize, String)> = lines
            .by_ref()
            .take_while(|(_, line)| line.trim() != "```")
            .map(|(number, line)| (number, line.trim().to_owned()))
            .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
            .collect();
        if server {
            let (number, command) = block.first().expect("the server block has a command");
            let words: Vec<&str> = command.split_whitespace().collect();
            let at = words
                .iter()
                .position(|word| *word == "serve")
                .unwrap_or_else(|| panic!("README.md:{number}: the server block runs no `serve`"));
            tour.serve_flags = words[at + 1..]
                .iter()
                .map(|word| word.to_string())
                .collect();
        } else {
            tour.lines.extend(block);
        }
    }
    tour
}

/// What the tour's terminal has: where it is and what it exported.
struct Terminal {
    cwd: PathBuf,
    env: BTreeMap<String, String>,
    /// Everything printed so far, line by line, stdout and stderr.
    printed: Vec<String>,
}

impl Terminal {
    fn new(scratch: &Path, server: &str) -> Terminal {
        let binary = PathBuf::from(env!("CARGO_BIN_EXE_piazza"));
        let bin_dir = binary.parent().expect("the binary's directory");
        let path = std::env::var("PATH").unwrap_or_default();
        let home = scratch.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let env = BTreeMap::from([
            ("PATH".to_owned(), format!("{}:{path}", bin_dir.display())),
            ("HOME".to_owned(), home.display().to_string()),
            ("TMPDIR".to_owned(), scratch.display().to_string()),
            ("PIAZZA_SERVER".to_owned(), server.to_owned()),
            (
                "PIAZZA_CONFIG".to_owned(),
                scratch.join("cli.toml").display().to_string(),
            ),
        ]);
        Terminal {
            cwd: scratch.to_path_buf(),
            env,
            printed: Vec::new(),
        }
    }

    /// `sh -c line` in this terminal: its exit status, stdout and stderr.
    async fn sh(&self, line: &str) -> (std::process::ExitStatus, String, String) {
        let mut command = tokio::process::Command::new("sh");
        command.arg("-c").arg(line).current_dir(&self.cwd);
        // The developer's own settings must not leak into the tour.
        for (name, _) in std::env::vars() {
            if name.starts_with("PIAZZA_") || name == "RUST_LOG" || name == "XDG_CONFIG_HOME" {
                command.env_remove(name);
            }
        }
        let mut child = command
            .envs(&self.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("sh runs");
        let mut stdin = child.stdin.take().unwrap();
        // A person answers `y` where a command asks (approve-login).
        let _ = stdin.write_all(b"y\n").await;
        drop(stdin);
        let output = tokio::time::timeout(STEP_TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("`{line}` did not end within {STEP_TIMEOUT:?}"))
            .expect("sh ends");
        (
            output.status,
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// The value of `name` after running an `export` line.
    async fn export(&mut self, line: &str) {
        let name = line
            .trim_start_matches("export ")
            .split('=')
            .next()
            .unwrap()
            .trim()
            .to_owned();
        let (status, value, stderr) = self
            .sh(&format!("set -e\n{line}\nprintf '%s' \"${name}\""))
            .await;
        assert!(status.success(), "`{line}` failed: {stderr}");
        self.env.insert(name, value);
    }

    async fn cd(&mut self, line: &str) {
        let (status, cwd, stderr) = self.sh(&format!("set -e\n{line}\npwd")).await;
        assert!(status.success(), "`{line}` failed: {stderr}");
        self.cwd = PathBuf::from(cwd.trim());
    }
}

/// `line` with its placeholders filled from what the tour printed.
async fn fill_placeholders(line: &str, number: usize, printed: &[String], server: &str) -> String {
    let mut filled = line.to_owned();
    while let Some(start) = filled.find("<the ") {
        let end = start
            + filled[start..]
                .find('>')
                .unwrap_or_else(|| panic!("README.md:{number}: an unclosed placeholder"));
        let placeholder = filled[start..=end].to_owned();
        let fill = PLACEHOLDERS
            .iter()
            .find(|(known, _)| *known == placeholder)
            .map(|(_, fill)| *fill)
            .unwrap_or_else(|| {
                panic!("README.md:{number}: no rule fills {placeholder}; add one to PLACEHOLDERS in tour.rs")
            });
        let value = match fill {
            Fill::LoginRequest => {
                piazza_client::Client::new(server)
                    .create_login_request(Some("tour browser"))
                    .await
                    .expect("a QR log-in request")
                    .qr_payload
            }
            Fill::PaymentCode => printed
                .iter()
                .rev()
                .map(|line| line.trim())
                .find(|line| line.len() == 18 && line.bytes().all(|byte| byte.is_ascii_digit()))
                .unwrap_or_else(|| {
                    panic!("README.md:{number}: {placeholder}, but no earlier line printed one")
                })
                .to_owned(),
        };
        filled.replace_range(start..=end, &value);
    }
    filled
}

/// The ids (`trf_1`) a line names.
fn ids_in(line: &str) -> Vec<String> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| {
            word.split_once('_').is_some_and(|(prefix, number)| {
                ID_PREFIXES.contains(&prefix)
                    && !number.is_empty()
                    && number.bytes().all(|byte| byte.is_ascii_digit())
            })
        })
        .map(str::to_owned)
        .collect()
}

fn was_printed(id: &str, printed: &[String]) -> bool {
    printed
        .iter()
        .any(|line| ids_in(line).iter().any(|seen| seen == id))
}

#[tokio::test]
async fn the_readme_tour_works_as_written() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md is readable");
    let tour = parse_tour(&readme);
    assert!(
        tour.serve_flags
            .iter()
            .any(|flag| flag == "--sandbox-payments"),
        "the tour's server runs with --sandbox-payments: {:?}",
        tour.serve_flags
    );
    assert!(
        tour.lines.len() >= 30,
        "the tour was found: {:#?}",
        tour.lines
    );

    let scratch = tempfile::tempdir().expect("temp dir");
    let flags: Vec<&str> = tour.serve_flags.iter().map(String::as_str).collect();
    let server = start_server_process(&scratch.path().join("data"), &flags).await;
    let mut terminal = Terminal::new(scratch.path(), &server.base);
    let mut ran = 0;
    for (number, line) in &tour.lines {
        if line.starts_with("cargo ") {
            continue;
        }
        if line.starts_with("export ") {
            terminal.export(line).await;
            continue;
        }
        if line.starts_with("cd ") {
            terminal.cd(line).await;
            continue;
        }
        let command = fill_placeholders(line, *number, &terminal.printed, &server.base).await;
        let (status, stdout, stderr) = terminal.sh(&command).await;
        assert!(
            status.success(),
            "the tour fails at README.md:{number}:\n  {line}\nran as\n  {command}\n{status}\n\
             --- stdout\n{stdout}--- stderr\n{stderr}"
        );
        // Shown with `--nocapture`: the tour as a reader sees it.
        eprintln!("$ {command}\n{stdout}{stderr}");
        terminal.printed.extend(stdout.lines().map(str::to_owned));
        terminal.printed.extend(stderr.lines().map(str::to_owned));
        for id in ids_in(line) {
            assert!(
                was_printed(&id, &terminal.printed),
                "README.md:{number} names {id}, which no line of the tour printed so far:\n  {line}\n\
                 --- this line printed\n{stdout}{stderr}"
            );
        }
        ran += 1;
    }
    assert!(ran >= 30, "only {ran} lines ran");
}

#[test]
fn the_tour_convention_reads_blocks_placeholders_and_ids() {
    let markdown = "intro\n\n<!-- tour: server -->\n```sh\ncargo run -- serve --sandbox-payments\n# listening\n```\n\
                    ```sh\nnot part of it\n```\n<!-- tour -->\n```sh\n# a comment\nexport A=1\n\n\
                    piazza transfer accept trf_12   # from req_3\n```\n";
    let tour = parse_tour(markdown);
    assert_eq!(tour.serve_flags, ["--sandbox-payments"]);
    assert_eq!(
        tour.lines,
        [
            (14, "export A=1".to_owned()),
            (
                16,
                "piazza transfer accept trf_12   # from req_3".to_owned()
            )
        ]
    );
    assert_eq!(ids_in(&tour.lines[1].1), ["trf_12", "req_3"]);
    assert!(ids_in("pay_ my_1 pay_x").is_empty());
    assert!(was_printed(
        "pay_2",
        &["payment pay_2, completed".to_owned()]
    ));
    assert!(!was_printed("pay_2", &["payment pay_21".to_owned()]));
}
