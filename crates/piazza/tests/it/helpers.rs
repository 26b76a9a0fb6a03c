//! `spawn_app()` and the few steps every test repeats.

use std::time::Duration;

use piazza_api::{EventView, ServerFrame};
use piazza_client::{Client, ClientError, Incoming, Socket};
use piazza_server::Running;
use piazza_server::config::{Config, PasswordHashing};
use tempfile::TempDir;

pub const PASSWORD: &str = "correct horse battery";
/// How long a test waits for something that should arrive at once.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct TestApp {
    pub base: String,
    pub running: Option<Running>,
    /// The PostgreSQL database of this test, when the suite runs on
    /// PostgreSQL (dropped after the server; fields drop in order).
    _database: Option<piazza_postgres::testing::TestDatabase>,
    /// Kept so the data directory lives as long as the server.
    _dir: TempDir,
}

/// The engine this run of the suite uses: `PIAZZA_TEST_ENGINE=postgres`
/// runs it on PostgreSQL (see `engines.rs`), otherwise SQLite.
pub fn on_postgres() -> bool {
    std::env::var("PIAZZA_TEST_ENGINE").is_ok_and(|engine| engine == "postgres")
}

/// On PostgreSQL, the database of each data dir a test used, by dir.
static DATABASES: std::sync::Mutex<Option<std::collections::HashMap<std::path::PathBuf, String>>> =
    std::sync::Mutex::new(None);

/// On PostgreSQL, the database of the servers started on `data_dir`: one
/// per data dir, kept for the life of the test process, so a restarted
/// server finds what its predecessor wrote.
pub fn process_database(data_dir: &std::path::Path) -> Option<String> {
    let mut databases = DATABASES.lock().unwrap();
    let databases = databases.get_or_insert_with(Default::default);
    if let Some(url) = databases.get(data_dir) {
        return Some(url.clone());
    }
    if !on_postgres() {
        return None;
    }
    let url = databases.entry(data_dir.to_path_buf()).or_insert_with(|| {
        // Dropped with the process's other stale databases by the next
        // run (`testing::TestDatabase::create`).
        let database = piazza_postgres::testing::TestDatabase::create();
        let url = database.url.clone();
        std::mem::forget(database);
        url
    });
    Some(url.clone())
}

/// Remembers `url` as the database of `data_dir` (see `process_database`).
fn register_database(data_dir: &std::path::Path, url: &str) {
    let mut databases = DATABASES.lock().unwrap();
    let databases = databases.get_or_insert_with(Default::default);
    databases.insert(data_dir.to_path_buf(), url.to_owned());
}

/// A fresh database for a server of this test, when on PostgreSQL.
pub fn test_database(config: &mut Config) -> Option<piazza_postgres::testing::TestDatabase> {
    if !on_postgres() {
        return None;
    }
    let database = piazza_postgres::testing::TestDatabase::create();
    register_database(&config.data_dir, &database.url);
    config.database_url = Some(database.url.clone());
    Some(database)
}

/// Argon2 at its cheapest: the cost is not what these tests test.
pub fn cheap_hashing() -> PasswordHashing {
    PasswordHashing {
        memory_kib: 1024,
        iterations: 1,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server with some of its configuration changed (usually a limit).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path().to_path_buf());
    config.password_hashing = cheap_hashing();
    // Every client of a test connects from 127.0.0.1, hundreds of users
    // behind one address; a test of the per-address cap sets its own.
    config.limits.connections_per_address_max = 100_000;
    let database = test_database(&mut config);
    adjust(&mut config);
    let running = piazza::engines::spawn(config).await.expect("server starts");
    TestApp {
        base: format!("http://{}", running.addr),
        running: Some(running),
        _database: database,
        _dir: dir,
    }
}

/// A logged-in account.
#[derive(Clone)]
pub struct User {
    pub account_id: String,
    pub username: String,
    pub device_id: String,
    pub client: Client,
}

impl TestApp {
    /// A server running in another process at `base`, with its data in
    /// `dir` (it stops when its process does).
    pub fn elsewhere(base: String, dir: TempDir) -> TestApp {
        TestApp {
            base,
            running: None,
            _database: None,
            _dir: dir,
        }
    }

    /// Where the server keeps its store, for the offline checks.
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Where the admin commands find the store: `--database-url` on
    /// PostgreSQL, else `--data-dir`.
    pub fn store_args(&self) -> Vec<String> {
        match &self._database {
            Some(database) => vec!["--database-url".into(), database.url.clone()],
            None => vec!["--data-dir".into(), self.data_dir().display().to_string()],
        }
    }

    pub fn anonymous(&self) -> Client {
        Client::new(&self.base)
    }

    pub async fn signup(&self, username: &str) -> User {
        self.anonymous()
            .create_account(username, PASSWORD, None)
            .await
            .expect("account created");
        self.login(username, "first device").await
    }

    /// Another device of an existing account.
    pub async fn login(&self, username: &str, device_name: &str) -> User {
        let session = self
            .anonymous()
            .login(username, PASSWORD, device_name)
            .await
            .expect("logged in");
        User {
            account_id: session.account_id,
            username: username.to_owned(),
            device_id: session.device_id,
            client: self.anonymous().with_token(session.token),
        }
    }

    pub async fn shut_down(mut self) {
        if let Some(running) = self.running.take() {
            running.shut_down().await;
        }
    }
}

/// Makes `a` and `b` contacts and returns their direct conversation.
/// Accounts named `names`, the first the others' contact and the owner of
/// a group `title` they are all in (its id returned).
pub async fn group_of(app: &TestApp, title: &str, names: &[&str]) -> (Vec<User>, String) {
    let mut users = Vec::new();
    for name in names {
        users.push(app.signup(name).await);
    }
    for member in &users[1..] {
        befriend(&users[0], member).await;
    }
    let ids: Vec<String> = users[1..].iter().map(|u| u.account_id.clone()).collect();
    let conversation = users[0]
        .client
        .create_group(title, &ids)
        .await
        .expect("group created");
    (users, conversation)
}

pub async fn befriend(a: &User, b: &User) -> String {
    let request = a
        .client
        .request_contact(&b.username, Some("hello"))
        .await
        .expect("request sent");
    b.client
        .accept_request(&request)
        .await
        .expect("request accepted");
    a.client
        .open_direct(&b.account_id)
        .await
        .expect("direct conversation")
}

pub fn assert_problem(error: &ClientError, status: u16, code: &str) {
    match error {
        ClientError::Api {
            status: got,
            problem,
        } => {
            assert_eq!(
                (*got, problem.code.as_str()),
                (status, code),
                "problem: {problem:?}"
            );
            assert_eq!(problem.status, status);
        }
        other => panic!("expected a {status} {code} problem, got {other:?}"),
    }
}

/// The next event on a socket, skipping server frames.
pub async fn next_event(socket: &mut Socket) -> EventView {
    loop {
        match tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("an event in time")
        {
            Some(Ok(Incoming::Event(event))) => return event,
            Some(Ok(Incoming::Frame(_) | Incoming::Ephemeral(_))) => continue,
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

/// The next event of one type, skipping others.
pub async fn next_of_type(socket: &mut Socket, type_: &str) -> EventView {
    loop {
        let event = next_event(socket).await;
        if event.type_ == type_ {
            return event;
        }
    }
}

/// Opens a socket, replays from the start and returns it once live.
pub async fn live_socket(user: &User) -> (Socket, Vec<EventView>) {
    let mut socket = user.client.connect_socket().await.expect("socket");
    socket
        .send(&piazza_api::ClientFrame::Sync { since: None })
        .await
        .expect("sync sent");
    let mut replayed = Vec::new();
    loop {
        match tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("replay in time")
        {
            Some(Ok(Incoming::Event(event))) => replayed.push(event),
            Some(Ok(Incoming::Frame(ServerFrame::Synced { .. }))) => return (socket, replayed),
            Some(Ok(Incoming::Frame(_) | Incoming::Ephemeral(_))) => {}
            other => panic!("socket ended during replay: {other:?}"),
        }
    }
}

/// Pulls an account's whole log over HTTP from `since`, page by page.
pub async fn sync_all(client: &Client, since: Option<&str>, page: u32) -> (Vec<EventView>, String) {
    let mut cursor = since.map(str::to_owned);
    let mut events = Vec::new();
    for _ in 0..100_000 {
        let answer = client
            .sync(cursor.as_deref(), Some(page), None)
            .await
            .expect("sync page");
        events.extend(answer.events);
        cursor = Some(answer.cursor);
        if !answer.has_more {
            return (events, cursor.unwrap());
        }
    }
    panic!("sync did not end");
}

pub fn field<'e>(event: &'e EventView, name: &str) -> &'e serde_json::Value {
    event
        .fields
        .get(name)
        .unwrap_or_else(|| panic!("event {} has no `{name}`: {event:?}", event.type_))
}

pub fn text_of(event: &EventView) -> &str {
    field(event, "text").as_str().expect("text is a string")
}

/// The position a cursor names, for tests that check ordering.
pub fn position(cursor: &str) -> i64 {
    piazza_domain::Cursor::parse(cursor)
        .expect("a cursor")
        .log_seq()
        .get()
}

/// How many messages of a conversation `user` can see (up to one page).
pub async fn message_count(user: &User, conversation: &str) -> usize {
    user.client
        .history(conversation, None, Some(200))
        .await
        .expect("history")
        .messages
        .len()
}

/// Stops the server but keeps its data directory, so the offline checks
/// can run over a store nobody is writing to.
pub async fn stop_keeping_data(app: &mut TestApp) {
    if let Some(running) = app.running.take() {
        running.shut_down().await;
    }
}

/// Runs `piazza admin <check> --data-dir <dir>` with the real binary and
/// panics with its output unless it exits 0.
pub fn admin_check_passes(check: &str, data_dir: &std::path::Path) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_piazza"));
    command.args(["admin", check, "--data-dir"]).arg(data_dir);
    if let Some(url) = process_database(data_dir) {
        command.args(["--database-url", &url]);
    }
    let output = command.output().expect("the piazza binary runs");
    assert!(
        output.status.success(),
        "`piazza admin {check}` failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `piazza admin check` and `ledger-check` on the PostgreSQL database at
/// `url`, with the real binary; panics with the output of one that fails.
pub fn admin_checks_pass_on_database(url: &str) {
    for check in ["check", "ledger-check"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_piazza"))
            .args(["admin", check, "--database-url", url])
            .output()
            .expect("the piazza binary runs");
        assert!(
            output.status.success(),
            "`piazza admin {check}` failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// `admin check`'s report over the store of the servers started on
/// `data_dir`: its SQLite file, or its PostgreSQL database when the suite
/// runs there. Panics if the store cannot be read.
pub fn integrity_report(data_dir: &std::path::Path) -> piazza_core::integrity::Report {
    match process_database(data_dir) {
        // The blocking client runs a runtime of its own: not on this
        // test's runtime thread.
        Some(url) => std::thread::spawn(move || piazza_postgres::integrity::check(&url))
            .join()
            .expect("the check does not panic")
            .expect("the database can be read"),
        None => piazza_sqlite::integrity::check_data_dir(data_dir).expect("the store can be read"),
    }
}

/// Every line of the caller's wallet statement, newest first, read page
/// by page (at most 1000 pages, so a server that never ends fails).
pub async fn statement_entries(client: &Client) -> Vec<serde_json::Value> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/wallet/statement?limit=200&cursor={cursor}"),
            None => "/api/v1/wallet/statement?limit=200".to_owned(),
        };
        let answer = client
            .raw_with_headers(reqwest::Method::GET, &path, None, None, &[])
            .await
            .expect("the server answers");
        assert_eq!(answer.status, 200, "statement page");
        let page: serde_json::Value =
            serde_json::from_slice(&answer.body).expect("a JSON statement");
        entries.extend(page["entries"].as_array().expect("entries").iter().cloned());
        match page["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return entries,
        }
    }
    panic!("the statement did not end");
}

/// The real `piazza` binary serving a data directory as a child process,
/// so a test can SIGKILL it and start another on what it left.
pub struct ServerProcess {
    pub child: tokio::process::Child,
    pub base: String,
}

/// Starts `piazza serve` (cheap hashing, any port, `extra_args` added) on
/// `data_dir` and waits for its `listening on` line.
pub async fn start_server_process(
    data_dir: &std::path::Path,
    extra_args: &[&str],
) -> ServerProcess {
    start_server_process_on(data_dir, "127.0.0.1:0", extra_args).await
}

/// `start_server_process` on the PostgreSQL database at `url`, whichever
/// engine the suite runs on (several processes may share one database).
pub async fn start_server_process_on_database(
    data_dir: &std::path::Path,
    url: &str,
    extra_args: &[&str],
) -> ServerProcess {
    register_database(data_dir, url);
    start_server_process(data_dir, extra_args).await
}

/// `start_server_process` listening on `listen` (to restart a server on
/// the port it had).
pub async fn start_server_process_on(
    data_dir: &std::path::Path,
    listen: &str,
    extra_args: &[&str],
) -> ServerProcess {
    let command = tokio::process::Command::new(server_binary());
    spawn_server_process(command, data_dir, listen, extra_args).await
}

/// `start_server_process_on_database` in the network namespace `netns`
/// (run by `ip netns exec`), listening on `listen`.
pub async fn start_server_process_in_netns_on_database(
    netns: &str,
    data_dir: &std::path::Path,
    url: &str,
    listen: &str,
    extra_args: &[&str],
) -> ServerProcess {
    register_database(data_dir, url);
    let mut command = tokio::process::Command::new("ip");
    command.args(["netns", "exec", netns]).arg(server_binary());
    spawn_server_process(command, data_dir, listen, extra_args).await
}

/// The `piazza` binary server processes run: this build's, or the one
/// `PIAZZA_TEST_SERVER_BIN` names (a release build, to time the cluster
/// tests' figures on the servers as shipped).
fn server_binary() -> std::path::PathBuf {
    std::env::var_os("PIAZZA_TEST_SERVER_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_piazza").into(), Into::into)
}

/// `start_server_process` with the server's open-file limit, soft and
/// hard, lowered to `open_files_max` (by the shell's `ulimit`), so that a
/// test can run it out of file descriptors for real.
pub async fn start_server_process_with_open_files(
    data_dir: &std::path::Path,
    open_files_max: u64,
) -> ServerProcess {
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -n {open_files_max} && exec \"$@\""))
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_piazza"));
    spawn_server_process(command, data_dir, "127.0.0.1:0", &[]).await
}

/// Adds the `serve` arguments to `command` (the binary, or something that
/// runs it), starts it and waits for its `listening on` line.
async fn spawn_server_process(
    mut command: tokio::process::Command,
    data_dir: &std::path::Path,
    listen: &str,
    extra_args: &[&str],
) -> ServerProcess {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let config = data_dir.with_extension("toml");
    let database = match process_database(data_dir) {
        Some(url) => format!("database_url = {url:?}\n"),
        None => String::new(),
    };
    std::fs::write(
        &config,
        format!("{database}[password_hashing]\nmemory_kib = 1024\niterations = 1\n"),
    )
    .unwrap();
    let mut child = command
        .args(["serve", "--listen", listen])
        .args(extra_args)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the piazza binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    tokio::time::timeout(PATIENCE, BufReader::new(stdout).read_line(&mut first))
        .await
        .expect("the server says where it listens")
        .unwrap();
    let address = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    ServerProcess {
        child,
        base: address.to_owned(),
    }
}

/// The code `socket` is closed with, within five seconds; what comes
/// before the close frame is passed over.
pub async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("closed within seconds")
        {
            Some(Ok(Incoming::Closed { code, .. })) => return code,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}
