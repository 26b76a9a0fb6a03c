//! `piazza admin backup` and `restore`: a running SQLite server's whole
//! data directory — its store, as one moment of it, and its media files —
//! as one archive, and back.
//!
//! The archive is a plain tar, so an operator can list it with `tar -tvf`:
//! `piazza.sqlite3`, then `media/ab/ab12…` as the data directory holds
//! them, then `piazza-backup.json`, the manifest (the database's SHA-256
//! and the media's count and bytes). The manifest comes last, so an
//! archive cut short has none and is refused whole; the archive is
//! written as `FILE.partial` and renamed only once it is complete.
//!
//! The store is copied first and the media files after: a media file is
//! durable before the row naming it commits, and none is ever deleted, so
//! every file the copied store names is on disk when the files are read.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bench::progress::StatusLine;

const DATABASE: &str = piazza_sqlite::DATABASE_FILE;
const MANIFEST: &str = "piazza-backup.json";
const MEDIA: &str = piazza_core::media::files::MEDIA_DIR;
const FORMAT: &str = "piazza-backup";
const FORMAT_VERSION: u32 = 1;
/// A manifest is a few hundred bytes; one past this is not ours.
const MANIFEST_BYTES_MAX: u64 = 64 * 1024;

#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// The data directory of the server to back up (it may be running).
    #[arg(long, env = "PIAZZA_DATA_DIR", default_value = "./piazza-data")]
    pub data_dir: PathBuf,
    /// The archive to write; it must not exist yet.
    #[arg(long)]
    pub to: PathBuf,
    /// Write the archive at most this fast (MiB/s), to leave the disk and
    /// the CPU to the server; 0, as fast as they allow.
    #[arg(long, default_value_t = 0)]
    pub max_mib_s: u64,
}

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// An archive written by `piazza admin backup`.
    #[arg(long)]
    pub from: PathBuf,
    /// Where to restore it: a directory that does not exist yet, or is
    /// empty. Serve it afterwards with `piazza serve --data-dir DIR`.
    #[arg(long)]
    pub data_dir: PathBuf,
}

/// What an archive holds, written last into it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Manifest {
    format: String,
    version: u32,
    /// The Piazza that wrote it.
    piazza: String,
    made_at: String,
    /// The store's schema version: a Piazza restores what it can serve.
    schema: i64,
    database_bytes: u64,
    database_sha256: String,
    media_files: u64,
    media_bytes: u64,
}

/// What the status line shows.
#[derive(Default)]
struct Progress {
    stage: Mutex<&'static str>,
    done: AtomicU64,
    total: AtomicU64,
}

impl Progress {
    fn start(&self, stage: &'static str, total: u64) {
        *self.stage.lock().expect("progress lock") = stage;
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    fn line(&self) -> String {
        let stage = *self.stage.lock().expect("progress lock");
        let done = self.done.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed);
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        format!("{stage}… {} of {} ({percent}%)", bytes(done), bytes(total))
    }
}

/// Runs `work` off the runtime's threads with a status line showing
/// `progress` meanwhile.
async fn with_progress<T: Send + 'static>(
    work: impl FnOnce(&Progress) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let progress = Arc::new(Progress::default());
    let status = StatusLine::start({
        let progress = Arc::clone(&progress);
        move || progress.line()
    });
    let done = tokio::task::spawn_blocking({
        let progress = Arc::clone(&progress);
        move || work(&progress)
    })
    .await
    .context("the work stopped")?;
    status.finish();
    done
}

pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    ensure!(
        !args.to.exists(),
        "{} exists already: name a new file for the backup",
        args.to.display()
    );
    let manifest = with_progress(move |progress| write_archive(&args, progress)).await?;
    println!(
        "backed up: the store ({}, schema {}) and {} media files ({}) in {:.1} s",
        bytes(manifest.database_bytes),
        manifest.schema,
        manifest.media_files,
        bytes(manifest.media_bytes),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Writes the archive beside `args.to` and renames it there once whole;
/// nothing is left behind on failure.
fn write_archive(args: &BackupArgs, progress: &Progress) -> anyhow::Result<Manifest> {
    // Named for this run alone: another backup to the same file never
    // writes, or cleans up, this one's.
    let run = format!("{:08x}", rand::random::<u32>());
    let partial = with_suffix(&args.to, &format!(".partial-{run}"));
    let copy = with_suffix(&args.to, &format!(".store-{run}.partial"));
    let written = write_partial(args, &partial, &copy, progress);
    for file in [
        copy.clone(),
        with_suffix(&copy, "-wal"),
        with_suffix(&copy, "-shm"),
    ] {
        let _ = std::fs::remove_file(file);
    }
    match written {
        Ok(manifest) => {
            std::fs::rename(&partial, &args.to)?;
            sync_parent(&args.to)?;
            Ok(manifest)
        }
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

fn write_partial(
    args: &BackupArgs,
    partial: &Path,
    copy: &Path,
    progress: &Progress,
) -> anyhow::Result<Manifest> {
    let data_dir = &args.data_dir;
    ensure!(
        data_dir.join(DATABASE).is_file(),
        "{} holds no Piazza store ({DATABASE}): name the server's --data-dir",
        data_dir.display()
    );
    progress.start("copying the store", 0);
    // The copy is written as the archive is: synced every 64 MiB and no
    // faster than asked.
    let started = Instant::now();
    let mut synced = 0;
    let snapshot = piazza_sqlite::backup::snapshot(data_dir, copy, &mut |copied| {
        let bytes = copied.pages * copied.page_bytes;
        progress
            .total
            .store(copied.of * copied.page_bytes, Ordering::Relaxed);
        progress.done.store(bytes, Ordering::Relaxed);
        if bytes.saturating_sub(synced) >= SYNC_EVERY_BYTES {
            if let Err(error) = File::open(copy).and_then(|file| file.sync_data()) {
                tracing::warn!(%error, "cannot sync the store's copy");
            }
            synced = bytes;
        }
        pace(started, bytes, args.max_mib_s * 1024 * 1024);
    })
    .with_context(|| format!("cannot copy the store in {}", data_dir.display()))?;
    let media = media_files(&data_dir.join(MEDIA))?;
    let media_bytes = media.iter().map(|(_, size)| size).sum();
    progress.start("archiving", snapshot.bytes + media_bytes);
    let file = File::create_new(partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let paced = Paced {
        file,
        unsynced: 0,
        written: 0,
        started: Instant::now(),
        bytes_per_s: args.max_mib_s * 1024 * 1024,
    };
    let mut archive = tar::Builder::new(io::BufWriter::with_capacity(1 << 20, paced));
    let mut hashed = Hashing::new(File::open(copy)?, progress);
    append(&mut archive, DATABASE, snapshot.bytes, &mut hashed)?;
    let database_sha256 = hex(&hashed.hash.expect("hashed").finalize());
    for (name, size) in &media {
        // A media file's name is its hash already: restore checks it.
        let file = File::open(data_dir.join(MEDIA).join(name))?;
        let mut counted = Hashing::counting(file, progress);
        append(
            &mut archive,
            &format!("{MEDIA}/{name}"),
            *size,
            &mut counted,
        )?;
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        version: FORMAT_VERSION,
        piazza: env!("CARGO_PKG_VERSION").to_owned(),
        made_at: piazza_domain::Timestamp::now().to_rfc3339(),
        schema: snapshot.schema,
        database_bytes: snapshot.bytes,
        database_sha256,
        media_files: media.len() as u64,
        media_bytes,
    };
    let text = serde_json::to_vec_pretty(&manifest)?;
    append(
        &mut archive,
        MANIFEST,
        text.len() as u64,
        &mut text.as_slice(),
    )?;
    let paced = archive
        .into_inner()?
        .into_inner()
        .map_err(|error| error.into_error())?;
    paced.file.sync_all()?;
    Ok(manifest)
}

/// Appends `size` bytes read from `reader` as the file `name`; a reader
/// that gives fewer (a file cut short under the copy) fails it, as tar
/// itself would pad the entry and go on.
fn append(
    archive: &mut tar::Builder<impl Write>,
    name: &str,
    size: u64,
    reader: &mut impl Read,
) -> anyhow::Result<()> {
    let mut counted = Counted {
        inner: reader.take(size),
        read: 0,
    };
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(piazza_domain::Timestamp::now().unix_ms().max(0) as u64 / 1000);
    header.set_entry_type(tar::EntryType::Regular);
    archive
        .append_data(&mut header, name, &mut counted)
        .with_context(|| format!("cannot archive {name}"))?;
    ensure!(
        counted.read == size,
        "{name} held {} bytes where {size} were listed: it changed during the backup",
        counted.read
    );
    Ok(())
}

/// A reader that counts what it gives.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.read += read as u64;
        Ok(read)
    }
}

/// The media files under `dir` as (path below it, size), in name order:
/// the blobs' two-letter folders and their files, not what is staged or
/// half-written (names beginning with a dot).
fn media_files(dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let mut files = Vec::new();
    let shards = match std::fs::read_dir(dir) {
        Ok(shards) => shards,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(files),
        Err(error) => return Err(error).context(format!("cannot list {}", dir.display())),
    };
    for shard in shards {
        let shard = shard?;
        let shard_name = shard.file_name().to_string_lossy().into_owned();
        if !shard.file_type()?.is_dir() || !is_shard(&shard_name) {
            continue;
        }
        for blob in std::fs::read_dir(shard.path())? {
            let blob = blob?;
            let name = blob.file_name().to_string_lossy().into_owned();
            if blob.file_type()?.is_file() && is_blob(&shard_name, &name) {
                files.push((format!("{shard_name}/{name}"), blob.metadata()?.len()));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn is_shard(name: &str) -> bool {
    name.len() == 2
        && name
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A blob's name in `shard`: its SHA-256 in lower-case hex, beginning with
/// the shard's two letters, and for a derived picture a suffix
/// (`.thumb`).
fn is_blob(shard: &str, name: &str) -> bool {
    let (hash, suffix) = name.split_at(name.len().min(64));
    hash.len() == 64
        && hash.starts_with(shard)
        && hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && (suffix.is_empty()
            || suffix.strip_prefix('.').is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            }))
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let target = args.data_dir.clone();
    ensure!(
        is_missing_or_empty(&target)?,
        "{} is not empty: restore into a new directory (a restore never mixes with a store)",
        target.display()
    );
    let manifest =
        with_progress(move |progress| unpack(&args.from, &args.data_dir, progress)).await?;
    println!(
        "restored into {}: the store ({}, schema {}, backed up {}) and {} media files ({}) in {:.1} s",
        target.display(),
        bytes(manifest.database_bytes),
        manifest.schema,
        manifest.made_at,
        manifest.media_files,
        bytes(manifest.media_bytes),
        started.elapsed().as_secs_f64()
    );
    let current = piazza_sqlite::current_schema();
    if manifest.schema < current {
        println!(
            "the store is at schema {} and this Piazza serves schema {current}: `piazza serve \
             --data-dir {}` migrates it as it starts; run `piazza admin check` after",
            manifest.schema,
            target.display()
        );
        return Ok(());
    }
    super::print_check(
        piazza_sqlite::integrity::check_data_dir(&target)
            .context("cannot read the restored store")?,
    )?;
    super::print_ledger_check(
        piazza_sqlite::integrity::check_ledger_data_dir(&target)
            .context("cannot read the restored store")?,
    )
}

/// Whether `dir` is missing, or empty but for what a restore stopped
/// midway left (`.restoring-…`, removed here).
fn is_missing_or_empty(dir: &Path) -> anyhow::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry?;
                if !entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".restoring-")
                {
                    return Ok(false);
                }
                std::fs::remove_dir_all(entry.path())?;
            }
            Ok(true)
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(error) => Err(error).context(format!("cannot read {}", dir.display())),
    }
}

/// Unpacks `from` into a hidden directory inside `data_dir` (made if
/// missing; the same file system, so a mount point works), checks it
/// against its manifest, and only then moves what it holds up into
/// `data_dir`. On failure nothing is left: not the hidden directory, nor
/// `data_dir` if this made it.
fn unpack(from: &Path, data_dir: &Path, progress: &Progress) -> anyhow::Result<Manifest> {
    let file = File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
    progress.start("restoring", file.metadata()?.len());
    let made = !data_dir.exists();
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let partial = data_dir.join(format!(".restoring-{:08x}", rand::random::<u32>()));
    std::fs::create_dir(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let unpacked = unpack_into(file, &partial, progress).with_context(|| {
        format!(
            "{} is not a whole Piazza backup; nothing was restored",
            from.display()
        )
    });
    let moved = unpacked.and_then(|manifest| {
        // The store last: its presence says the restore is whole.
        for name in [MEDIA, DATABASE] {
            let from = partial.join(name);
            if from.exists() {
                std::fs::rename(&from, data_dir.join(name))?;
            }
        }
        std::fs::remove_dir(&partial)?;
        File::open(data_dir)?.sync_all()?;
        if made {
            sync_parent(data_dir)?;
        }
        Ok(manifest)
    });
    if moved.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
        if made {
            let _ = std::fs::remove_dir_all(data_dir);
        } else {
            let _ = std::fs::remove_dir_all(data_dir.join(MEDIA));
        }
    }
    moved
}

/// What the entries read so far held.
#[derive(Default)]
struct Unpacked {
    manifest: Option<Manifest>,
    database: Option<(u64, String)>,
    media_files: u64,
    media_bytes: u64,
}

fn unpack_into(file: File, dir: &Path, progress: &Progress) -> anyhow::Result<Manifest> {
    let mut archive = tar::Archive::new(io::BufReader::with_capacity(1 << 20, file));
    let mut seen = Unpacked::default();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        ensure!(
            entry.header().entry_type() == tar::EntryType::Regular,
            "it holds {path}, which is not a plain file"
        );
        ensure!(
            seen.manifest.is_none(),
            "it holds {path} after its manifest"
        );
        if path == MANIFEST {
            ensure!(
                entry.size() <= MANIFEST_BYTES_MAX,
                "its manifest is too long"
            );
            let mut text = Vec::new();
            entry.read_to_end(&mut text)?;
            seen.manifest =
                Some(serde_json::from_slice(&text).context("its manifest is unreadable")?);
        } else if path == DATABASE {
            ensure!(seen.database.is_none(), "it holds two stores");
            let (size, hash) = copy_out(&mut entry, &dir.join(DATABASE), progress)?;
            seen.database = Some((size, hex(&hash)));
        } else if let Some((shard, name)) = media_path(&path) {
            let (size, hash) = copy_out(
                &mut entry,
                &dir.join(MEDIA).join(shard).join(name),
                progress,
            )?;
            ensure!(
                name.len() != 64 || hex(&hash) == name,
                "media file {path} does not hold the bytes its name promises"
            );
            seen.media_files += 1;
            seen.media_bytes += size;
        } else {
            bail!("it holds {path}, which no Piazza backup has");
        }
    }
    let manifest = seen
        .manifest
        .take()
        .context("it ends before its manifest: it was cut short")?;
    check_against(&manifest, &seen)?;
    for folder in [dir.join(MEDIA), dir.to_path_buf()] {
        if folder.exists() {
            File::open(&folder)?.sync_all()?;
        }
    }
    Ok(manifest)
}

fn check_against(manifest: &Manifest, seen: &Unpacked) -> anyhow::Result<()> {
    ensure!(
        manifest.format == FORMAT && manifest.version == FORMAT_VERSION,
        "its manifest is of format {} version {}, not {FORMAT} version {FORMAT_VERSION}",
        manifest.format,
        manifest.version
    );
    let current = piazza_sqlite::current_schema();
    ensure!(
        manifest.schema <= current,
        "it holds a store at schema {}, newer than this Piazza ({}, schema {current}): restore it \
         with the Piazza that made it ({})",
        manifest.schema,
        env!("CARGO_PKG_VERSION"),
        manifest.piazza
    );
    let Some((size, hash)) = &seen.database else {
        bail!("it holds no store");
    };
    ensure!(
        *size == manifest.database_bytes && *hash == manifest.database_sha256,
        "its store is not the one its manifest describes (damaged in storage or in transit)"
    );
    ensure!(
        seen.media_files == manifest.media_files && seen.media_bytes == manifest.media_bytes,
        "it holds {} media files ({} bytes) where its manifest says {} ({} bytes)",
        seen.media_files,
        seen.media_bytes,
        manifest.media_files,
        manifest.media_bytes
    );
    Ok(())
}

/// `media/ab/ab12…` as its shard and name, if it is a blob's path.
fn media_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(MEDIA)?.strip_prefix('/')?;
    let (shard, name) = rest.split_once('/')?;
    (is_shard(shard) && is_blob(shard, name)).then_some((shard, name))
}

/// Writes `entry` as the new file `path` (fsynced), returning its size
/// and SHA-256.
fn copy_out(
    entry: &mut impl Read,
    path: &Path,
    progress: &Progress,
) -> anyhow::Result<(u64, [u8; 32])> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file =
        File::create_new(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut hashed = Hashing::new(entry, progress);
    let size = io::copy(&mut hashed, &mut file)?;
    file.sync_all()?;
    Ok((size, hashed.hash.expect("hashed").finalize().into()))
}

/// A reader that counts what it reads as progress, and hashes it unless
/// made by `counting`.
struct Hashing<'p, R> {
    inner: R,
    hash: Option<Sha256>,
    progress: &'p Progress,
}

impl<'p, R: Read> Hashing<'p, R> {
    fn new(inner: R, progress: &'p Progress) -> Self {
        Hashing {
            inner,
            hash: Some(Sha256::new()),
            progress,
        }
    }

    fn counting(inner: R, progress: &'p Progress) -> Self {
        Hashing {
            inner,
            hash: None,
            progress,
        }
    }
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        if let Some(hash) = &mut self.hash {
            hash.update(&buf[..read]);
        }
        self.progress.done.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

/// Bytes written to the archive between two syncs of it.
const SYNC_EVERY_BYTES: u64 = 64 * 1024 * 1024;

/// The archive's file, synced every [`SYNC_EVERY_BYTES`] (the kernel
/// would otherwise gather gigabytes of it to write back at once, and the
/// server's own commits, each waiting on its fsync, would wait behind
/// them) and written no faster than `bytes_per_s` (unless 0).
struct Paced {
    file: File,
    unsynced: u64,
    written: u64,
    started: Instant,
    bytes_per_s: u64,
}

impl Write for Paced {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.file.write(buf)?;
        self.unsynced += written as u64;
        self.written += written as u64;
        if self.unsynced >= SYNC_EVERY_BYTES {
            self.file.sync_data()?;
            self.unsynced = 0;
        }
        pace(self.started, self.written, self.bytes_per_s);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Sleeps until `bytes` written since `started` are no faster than
/// `bytes_per_s` (0: never).
fn pace(started: Instant, bytes: u64, bytes_per_s: u64) {
    if bytes_per_s == 0 {
        return;
    }
    let due = std::time::Duration::from_secs_f64(bytes as f64 / bytes_per_s as f64);
    if let Some(ahead) = due.checked_sub(started.elapsed()) {
        std::thread::sleep(ahead);
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes a rename into `path`'s folder durable.
fn sync_parent(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(64), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

fn bytes(count: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    match count {
        0..1024 => format!("{count} B"),
        1024..1_048_576 => format!("{:.1} KiB", count as f64 / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", count as f64 / MIB),
        _ => format!("{:.2} GiB", count as f64 / MIB / 1024.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_blob_names_are_media() {
        let hash = "ab".to_owned() + &"0".repeat(62);
        assert!(is_blob("ab", &hash));
        assert!(is_blob("ab", &format!("{hash}.thumb")));
        assert!(!is_blob("cd", &hash), "in another shard");
        assert!(!is_blob("ab", &format!(".{hash}.0123.tmp")), "half-written");
        assert!(!is_blob("ab", &format!("{hash}.")));
        assert!(!is_blob("ab", &format!("{hash}./../x")));
        assert!(!is_blob("ab", &hash.to_uppercase()));
        assert_eq!(
            media_path(&format!("media/ab/{hash}")),
            Some(("ab", hash.as_str()))
        );
        for hostile in [
            format!("media/ab/../../{hash}"),
            format!("/media/ab/{hash}"),
            format!("media/.staging/{hash}"),
            format!("media/ab/{hash}/x"),
        ] {
            assert_eq!(media_path(&hostile), None, "{hostile}");
        }
    }
}
