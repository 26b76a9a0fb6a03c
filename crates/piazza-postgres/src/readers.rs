//! The read connections: a pool, each connection used by one blocking
//! task at a time, opened on first use and dropped when it breaks.

use std::sync::{Arc, Mutex};

use piazza_core::engine::{Done, ReadJob};
use piazza_core::{Error, Result};
use tokio::sync::Semaphore;

use crate::Db;
use crate::conn::Conn;

pub struct Readers {
    url: String,
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
}

impl Readers {
    /// Opens the `count` connections now: a server whose every file
    /// descriptor is taken by a flood of clients must still read (its
    /// health check above all), and a new connection would need one.
    pub fn open(url: String, count: usize) -> Result<Readers> {
        let idle = (0..count)
            .map(|_| Conn::connect(&url).map_err(crate::conn::error))
            .collect::<Result<Vec<_>>>()?;
        Ok(Readers {
            url,
            idle: Mutex::new(idle),
            permits: Semaphore::new(count),
        })
    }

    pub async fn read(self: &Arc<Self>, job: ReadJob) -> Result<Done> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Engine("the readers have stopped".into()))?;
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut conn = readers.take()?;
            let done = job(&mut Db(&mut conn));
            if !conn.is_closed() {
                readers.idle.lock().expect("readers lock").push(conn);
            }
            done
        })
        .await
        .map_err(|error| Error::Engine(format!("a read failed: {error}")))?
    }

    /// The database answers a read connection.
    pub async fn ping(self: &Arc<Self>) -> Result<()> {
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut conn = readers.take()?;
            conn.query_one("SELECT 1", &[])?;
            readers.idle.lock().expect("readers lock").push(conn);
            Ok(())
        })
        .await
        .map_err(|error| Error::Engine(format!("a read failed: {error}")))?
    }

    fn take(&self) -> Result<Conn> {
        if let Some(conn) = self.idle.lock().expect("readers lock").pop() {
            return Ok(conn);
        }
        Conn::connect(&self.url).map_err(crate::conn::error)
    }
}

impl Drop for Readers {
    /// A connection's client owns a small runtime, which may not be
    /// dropped inside async code (where the last engine handle may go):
    /// the idle connections are closed on a thread of their own.
    fn drop(&mut self) {
        let idle = std::mem::take(&mut *self.idle.lock().expect("readers lock"));
        if !idle.is_empty() {
            std::thread::spawn(move || drop(idle));
        }
    }
}
