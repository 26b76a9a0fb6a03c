//! The data directory's side of media, the same whatever engine keeps
//! the rows or whichever blob store keeps the bytes: uploads are staged
//! here, and [`super::blobs::FsBlobs`] keeps its blobs as files named by
//! their SHA-256 under `<data_dir>/media/`, each written to a temporary
//! file in the same directory, fsynced, renamed into place and the
//! directory fsynced — durable before the row that names them commits, so
//! a row never points at a missing or half-written file. A crash between
//! the two leaves at most an unreferenced file, which the next upload of
//! the same bytes reuses.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use piazza_domain::AccountId;

use crate::engine::Error;

/// The folder under the data directory that holds the files.
pub const MEDIA_DIR: &str = "media";
/// The folder under [`MEDIA_DIR`] where uploads are staged while they
/// arrive: the same file system as the blobs, so keeping one is a rename.
pub const STAGING_DIR: &str = ".staging";

pub fn hex(bytes: &[u8; 32]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(64);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// Creates the folder of `path` (under `root`) if it is missing, and makes
/// each new folder durable: each is an entry in its parent.
pub fn ensure_parent(root: &Path, path: &Path) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("a media file is inside a directory"))?;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    sync_dir(dir.parent().unwrap_or(root))?;
    sync_dir(root)?;
    if let Some(data_dir) = root.parent() {
        sync_dir(data_dir)?;
    }
    Ok(())
}

/// Moves the fsynced file `staged` to `path` (unless a file is there
/// already: a file under its final name was complete when it was renamed
/// there, and its name fixes its bytes) and fsyncs the folder, so the
/// file is there whole after a crash. `staged` is gone afterwards.
pub fn move_durably(root: &Path, staged: &Path, path: &Path) -> std::io::Result<()> {
    if path.is_file() {
        return std::fs::remove_file(staged);
    }
    if let Err(error) = ensure_parent(root, path) {
        let _ = std::fs::remove_file(staged);
        return Err(error);
    }
    if let Err(error) = std::fs::rename(staged, path) {
        let _ = std::fs::remove_file(staged);
        return Err(error);
    }
    sync_dir(path.parent().unwrap_or(root))
}

/// Writes `bytes` as the file `path` (in a directory that exists) so that
/// it is there whole or not at all after a crash: a temporary file beside
/// it, fsynced, renamed into place, and the directory fsynced.
pub fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("a media file is inside a directory"))?;
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("media");
    let temporary = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        sync_dir(dir)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Deletes the files of `staging_dir` last written before `older_than`
/// ago: uploads a crash or a kill cut off (a live upload writes its file
/// as it arrives, and none outlives its deadline). How many it deleted.
pub fn sweep_staging(
    staging_dir: &Path,
    older_than: std::time::Duration,
) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(staging_dir) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        other => other?,
    };
    let mut deleted = 0;
    for entry in entries {
        let entry = entry?;
        let age = entry.metadata()?.modified()?.elapsed().unwrap_or_default();
        if age > older_than && std::fs::remove_file(entry.path()).is_ok() {
            deleted += 1;
        }
    }
    Ok(deleted)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// A failed file operation, as the rules report an engine's failure: the
/// detail is for the log.
pub fn io(error: std::io::Error) -> Error {
    Error::Engine(error.to_string())
}

/// Lets one upload of each account run at a time; the others of that
/// account wait their turn. Entries live only while someone holds or
/// waits for a turn.
#[derive(Default)]
pub struct UploadTurns {
    locks: Arc<Mutex<TurnLocks>>,
}

type TurnLocks = HashMap<AccountId, Arc<tokio::sync::Mutex<()>>>;

/// The turn of one upload; the next upload of the account goes once it
/// is dropped. It owns what it needs, so it can move into the blocking
/// job and the writer job that finish the upload.
pub struct UploadTurn {
    turns: Arc<Mutex<TurnLocks>>,
    account: AccountId,
    lock: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl UploadTurns {
    pub async fn take(&self, account: AccountId) -> UploadTurn {
        let lock = Arc::clone(
            self.locks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(account)
                .or_default(),
        );
        let guard = Arc::clone(&lock).lock_owned().await;
        UploadTurn {
            turns: Arc::clone(&self.locks),
            account,
            lock,
            guard: Some(guard),
        }
    }
}

impl Drop for UploadTurn {
    fn drop(&mut self) {
        self.guard.take();
        let mut locks = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        // The map's reference and ours: nobody else holds or waits.
        if Arc::strong_count(&self.lock) == 2 {
            locks.remove(&self.account);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::sweep_staging;

    #[test]
    fn the_staging_sweep_deletes_only_what_was_left_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let staging = dir.path().join(".staging");
        assert_eq!(
            sweep_staging(&staging, Duration::ZERO).unwrap(),
            0,
            "no dir yet"
        );
        std::fs::create_dir(&staging).unwrap();
        std::fs::write(staging.join("cut-off"), b"half an upload").unwrap();
        assert_eq!(
            sweep_staging(&staging, Duration::from_secs(3600)).unwrap(),
            0
        );
        assert!(
            staging.join("cut-off").exists(),
            "young: it may be in flight"
        );
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            sweep_staging(&staging, Duration::from_millis(10)).unwrap(),
            1
        );
        assert!(!staging.join("cut-off").exists());
    }
}
