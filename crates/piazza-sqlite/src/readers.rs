//! Read-only connections. WAL lets them read the last committed state while
//! the writer writes, so a reader never waits for a commit. Reads run on
//! tokio's blocking threads; the semaphore bounds how many run at once.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

pub struct Readers {
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    pub fn open(path: &Path, count: usize) -> Result<Arc<Readers>> {
        assert!(count > 0);
        let mut idle = Vec::with_capacity(count);
        for _ in 0..count {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.set_prepared_statement_cache_capacity(64);
            idle.push(conn);
        }
        Ok(Arc::new(Readers {
            idle: Mutex::new(idle),
            permits: Semaphore::new(count),
        }))
    }

    pub async fn read<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::WriterGone)?;
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let lease = Lease::take(&readers);
            work(
                lease
                    .conn
                    .as_ref()
                    .expect("a lease holds its connection until dropped"),
            )
        })
        .await
        .map_err(|error| Error::Corrupt(format!("a read panicked: {error}")))?
    }
}

/// A connection out of the pool; it goes back when dropped, also when the
/// read panics, so a permit always finds an idle connection.
struct Lease<'r> {
    readers: &'r Readers,
    conn: Option<Connection>,
}

impl<'r> Lease<'r> {
    fn take(readers: &'r Readers) -> Lease<'r> {
        let conn = readers
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        assert!(
            conn.is_some(),
            "a permit always comes with an idle connection"
        );
        Lease { readers, conn }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(conn);
        }
    }
}
