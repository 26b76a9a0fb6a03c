//! Fresh databases for tests: each test gets its own, cloned from a
//! migrated template database on the local server, so the suite runs in
//! parallel and no test sees another's rows.
//!
//! The server is `PIAZZA_TEST_POSTGRES_URL` (default
//! `postgres://piazza_test:piazza_test@127.0.0.1:5432/postgres`, the role
//! `.ci/postgres.sh` makes, which may create databases). A test that cannot reach it fails: it is never skipped.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};

use postgres::{Client, NoTls};

use crate::migrations::{self, MIGRATIONS};

mod private;
pub use private::PrivateServer;

/// The server tests use, as a URL to its maintenance database.
pub fn server_url() -> String {
    std::env::var("PIAZZA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://piazza_test:piazza_test@127.0.0.1:5432/postgres".to_owned())
}

/// A database of one test, dropped with it.
pub struct TestDatabase {
    pub url: String,
    name: String,
    server: String,
}

impl TestDatabase {
    /// A new database at the newest schema, empty. Callable from async
    /// code: the blocking client runs on a thread of its own.
    pub fn create() -> TestDatabase {
        TestDatabase::create_on(&server_url())
    }

    /// As [`TestDatabase::create`], on the server at `server` (a URL to
    /// any database of it, as a role that may create databases).
    pub fn create_on(server: &str) -> TestDatabase {
        let server = server.to_owned();
        std::thread::spawn(move || TestDatabase::create_here(server))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    /// A new database with no schema at all, as `createdb` makes one: a
    /// restore's target.
    pub fn create_bare() -> TestDatabase {
        let server = server_url();
        std::thread::spawn(move || TestDatabase::create_from(server, "template0".to_owned()))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    fn create_here(server: String) -> TestDatabase {
        let mut admin = connect(&server);
        let template = template(&mut admin, &server);
        drop(admin);
        TestDatabase::create_from(server, template)
    }

    fn create_from(server: String, template: String) -> TestDatabase {
        let mut admin = connect(&server);
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "piazza_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            nanos()
        );
        let create = format!("CREATE DATABASE {name} TEMPLATE {template}");
        // Cloning waits for nobody to be connected to the template; another
        // process may be cloning it at the same moment.
        let mut tries = 0;
        while let Err(error) = admin.batch_execute(&create) {
            tries += 1;
            assert!(
                tries < 50,
                "cannot create test database {name}: {}",
                detail(&error)
            );
            std::thread::sleep(std::time::Duration::from_millis(20 * tries));
        }
        TestDatabase {
            url: with_database(&server, &name),
            name,
            server,
        }
    }
}

impl TestDatabase {
    /// Keeps the database after this value is gone, for a look after a
    /// failed run: renamed out of the `piazza_test_` names that the next
    /// run's sweep of ended processes drops. Its sessions (servers killed
    /// a moment ago) are ended first, as a rename needs none. Answers the
    /// URL it is kept at.
    pub fn keep(self) -> Result<String, String> {
        let kept = self.name.replacen("piazza_test_", "piazza_kept_", 1);
        let (server, name) = (self.server.clone(), self.name.clone());
        let renamed = std::thread::spawn({
            let kept = kept.clone();
            move || -> Result<(), postgres::Error> {
                let mut admin = Client::connect(&server, NoTls)?;
                let rename = format!("ALTER DATABASE {name} RENAME TO {kept}");
                // An ended session may take a moment to leave.
                let mut tries = 0;
                loop {
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                        &[&name],
                    )?;
                    match admin.batch_execute(&rename) {
                        Err(_) if tries < 50 => tries += 1,
                        renamed => return renamed,
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
        })
        .join()
        .map_err(|_| "the rename panicked".to_owned())?;
        let url = with_database(&self.server, &kept);
        match renamed {
            Ok(()) => {
                // Its name is gone: nothing for `Drop` to drop.
                std::mem::forget(self);
                Ok(url)
            }
            Err(error) => Err(detail(&error)),
        }
    }
}

impl Drop for TestDatabase {
    /// On a thread of its own, as `create`: drops run inside async code.
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            if let Ok(mut admin) = Client::connect(&server, NoTls) {
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = admin.batch_execute(&drop);
            }
        });
        let _ = dropped.join();
    }
}

fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap_or_else(|error| {
        panic!(
            "the tests need PostgreSQL at {url} ({error}): run `bash .ci/postgres.sh` \
             as root or as a user who may sudo (it installs and starts it and makes the \
             piazza_test role), or set PIAZZA_TEST_POSTGRES_URL"
        )
    })
}

/// The migrated template for this binary's schema, made once per server:
/// its name carries a hash of the migrations, so a changed schema gets a
/// new one. Made under a temporary name and renamed, so a half-made one
/// is never cloned.
fn template(admin: &mut Client, server: &str) -> String {
    let mut hasher = DefaultHasher::new();
    MIGRATIONS.hash(&mut hasher);
    let name = format!("piazza_template_{:016x}", hasher.finish());
    drop_stale(admin);
    if exists(admin, &name) {
        return name;
    }
    let making = format!("{name}_{}_{}", std::process::id(), nanos());
    admin
        .batch_execute(&format!("CREATE DATABASE {making}"))
        .expect("create a template database");
    {
        let mut client = connect(&with_database(server, &making));
        migrations::migrate(&mut client).expect("migrate the template database");
    }
    // A template may be cloned by any role that may create databases,
    // whoever made it.
    let renamed = admin.batch_execute(&format!(
        "ALTER DATABASE {making} RENAME TO {name}; ALTER DATABASE {name} IS_TEMPLATE true"
    ));
    if renamed.is_err() {
        // Another process made it first.
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {making} WITH (FORCE)"));
        assert!(
            exists(admin, &name),
            "template {name} was neither made nor found"
        );
    }
    name
}

/// Drops the test databases of processes that have ended (a test that
/// kept its database for the life of its process, or one that crashed).
fn drop_stale(admin: &mut Client) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(rows) = admin.query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'piazza\\_test\\_%'",
            &[],
        ) else {
            return;
        };
        for row in rows {
            let name: String = row.get(0);
            let pid = name
                .split('_')
                .nth(2)
                .and_then(|pid| pid.parse::<u32>().ok());
            let alive =
                pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
            if !alive {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    });
}

/// What PostgreSQL said, beyond `db error`.
fn detail(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => error.to_string(),
    }
}

fn exists(admin: &mut Client, name: &str) -> bool {
    admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .expect("list databases")
        .is_some()
}

/// `server` with its database part replaced by `database`.
pub fn with_database(server: &str, database: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server, String::new()),
    };
    let authority_end = base.find("://").map_or(0, |scheme| scheme + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    format!("{base}/{database}{query}")
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos())
}

/// A notice sink that drops everything: tests of the rules alone.
pub struct Nobody;

impl piazza_domain::store::NoticeSink for Nobody {
    fn notify(&self, _: Vec<piazza_domain::event::Notice>) {}
}

/// The rules over a new engine on `url`, as one Piazza process runs them:
/// two calls on one database are two processes sharing it.
pub async fn open_core(url: &str, data_dir: &std::path::Path) -> piazza_core::Core {
    open_core_telling(url, data_dir, std::sync::Arc::new(Nobody)).await
}

/// As [`open_core`], telling `sink` what each commit made visible.
pub async fn open_core_telling(
    url: &str,
    data_dir: &std::path::Path,
    sink: std::sync::Arc<dyn piazza_domain::store::NoticeSink>,
) -> piazza_core::Core {
    let url = url.to_owned();
    let open = move || crate::PostgresEngine::open(&url, crate::PostgresOptions::default(), sink);
    let engine = tokio::task::spawn_blocking(open)
        .await
        .expect("opening does not panic")
        .unwrap_or_else(|error| panic!("cannot open the engine: {error}"));
    piazza_core::Core::new(std::sync::Arc::new(engine), data_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `piazza chaos --keep-data` keeps a failed run's database this way:
    /// past the sessions still open on it, under a name the sweep of ended
    /// processes' databases leaves alone.
    #[test]
    fn a_kept_database_outlives_its_value_and_its_sessions() {
        let database = TestDatabase::create();
        let old_url = database.url.clone();
        let _session = connect(&old_url);
        let kept = database.keep().expect("the database is kept");
        let name = kept.rsplit('/').next().unwrap().to_owned();
        assert!(name.starts_with("piazza_kept_"), "{kept}");
        let mut admin = connect(&server_url());
        assert!(exists(&mut admin, &name), "{name} is there");
        let mut client = connect(&kept);
        let migrated: i64 = client
            .query_one("SELECT COUNT(*) FROM accounts", &[])
            .expect("the kept database has the schema")
            .get(0);
        assert_eq!(migrated, 0);
        drop(client);
        admin
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .expect("the kept database is dropped by hand");
    }
}
