//! A consistent copy of a running server's store, for `piazza admin
//! backup`: SQLite's online backup, page by page, from one read
//! transaction held for the whole copy.
//!
//! Holding the transaction is what makes the copy one moment of the
//! store. SQLite's backup otherwise restarts whenever another process
//! commits between two steps, which under a steady write load is always:
//! a copy of a busy server would never end. In WAL mode a reader blocks
//! no writer; the cost is that checkpoints cannot pass the copy's
//! snapshot, so the WAL grows until the copy ends (and is copied back
//! afterwards, as after any long read).

use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// Pages copied per step: 16 MiB at the default 4 KiB page, so progress
/// is told often and a step's cost stays small (a few in the unit test,
/// which needs many steps of a small store).
const PAGES_PER_STEP: i32 = if cfg!(test) { 16 } else { 4096 };

/// How far a copy has come, in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub pages: u64,
    pub of: u64,
    pub page_bytes: u64,
}

/// What the copy holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// The schema version (`PRAGMA user_version`) of the copy.
    pub schema: i64,
    pub bytes: u64,
}

/// Copies the store of `data_dir`, as it is at one moment, to the new
/// file `to` (fsynced before this returns), calling `progress` after each
/// step. The store must be at the schema this version writes.
pub fn snapshot(data_dir: &Path, to: &Path, progress: &mut dyn FnMut(Copied)) -> Result<Snapshot> {
    let source = crate::integrity::open_current(data_dir)?;
    source.busy_timeout(Duration::from_secs(30))?;
    // The read transaction every step reads from: it begins at the first
    // read, here, and ends with the copy.
    source.execute_batch("BEGIN")?;
    let schema: i64 = source.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let mut target = Connection::open_with_flags(
        to,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )?;
    // The copy is fsynced once, whole, below; a half-written one is
    // thrown away by the caller, so it needs no journal of its own.
    target.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
    copy_pages(&source, &mut target, progress)?;
    drop(target);
    source.execute_batch("COMMIT")?;
    // The copy's header says WAL, as the store's does: a connection that
    // may write, closed last, leaves no `-wal` or `-shm` file beside it.
    let copied = {
        let copy = Connection::open(to)?;
        copy.query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))?
    };
    let file = std::fs::File::open(to)?;
    file.sync_all()?;
    if copied != schema {
        return Err(Error::Corrupt(format!(
            "the copy reads schema {copied}, the store {schema}"
        )));
    }
    Ok(Snapshot {
        schema,
        bytes: file.metadata()?.len(),
    })
}

fn copy_pages(
    source: &Connection,
    target: &mut Connection,
    progress: &mut dyn FnMut(Copied),
) -> Result<()> {
    let page_bytes: i64 = source.query_row("PRAGMA page_size", [], |row| row.get(0))?;
    let backup = Backup::new(source, target)?;
    loop {
        let step = backup.step(PAGES_PER_STEP)?;
        let at = backup.progress();
        progress(Copied {
            pages: (at.pagecount - at.remaining) as u64,
            of: at.pagecount as u64,
            page_bytes: page_bytes as u64,
        });
        match step {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            // The source is only read, in a transaction this copy holds,
            // and the target is this copy's own new file: a lock here
            // is something else holding the file; wait and try again.
            StepResult::Busy | StepResult::Locked => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                return Err(Error::Corrupt(
                    "SQLite's backup answered an unknown step".into(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy taken while another connection commits is the store as it
    /// was when the copy began, and it ends: the held read transaction
    /// keeps the backup from restarting at every commit.
    #[test]
    fn a_copy_under_commits_is_one_moment_and_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::DATABASE_FILE);
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB);",
            )
            .unwrap();
        writer
            .execute_batch(
                "WITH RECURSIVE n(id) AS (SELECT 0 UNION ALL SELECT id + 1 FROM n WHERE id < 1999)
                 INSERT INTO t SELECT id, zeroblob(500) FROM n;",
            )
            .unwrap();
        let version = crate::MIGRATIONS.len() as i64;
        writer
            .execute_batch(&format!("PRAGMA user_version = {version}"))
            .unwrap();
        let to = dir.path().join("copy.sqlite3");
        let (mut steps, mut next) = (0, 2_000);
        let snapshot = snapshot(dir.path(), &to, &mut |copied| {
            assert!(copied.pages <= copied.of);
            steps += 1;
            // Another connection commits between every two steps.
            writer
                .execute("INSERT INTO t VALUES (?1, zeroblob(500))", [next])
                .unwrap();
            next += 1;
        })
        .unwrap();
        assert!(steps > 1, "the copy was made in several steps");
        assert_eq!(snapshot.schema, version);
        for leftover in ["copy.sqlite3-wal", "copy.sqlite3-shm"] {
            assert!(!dir.path().join(leftover).exists(), "{leftover} is left");
        }
        let copy = Connection::open(&to).unwrap();
        let rows: i64 = copy
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 2_000, "the copy is the store when it began");
        let ok: String = copy
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        drop(copy);
        for leftover in ["copy.sqlite3-wal", "copy.sqlite3-shm"] {
            assert!(!dir.path().join(leftover).exists(), "{leftover}");
        }
    }
}
