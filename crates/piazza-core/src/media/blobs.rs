//! Where media bytes live, behind one interface: a folder of the data
//! directory by default ([`FsBlobs`]), or an S3-compatible bucket by
//! config ([`S3Blobs`], through the `object_store` crate). A blob is named
//! by a key derived from its content's SHA-256 (`ab/ab12…`, and its
//! derived pictures `ab/ab12….thumb`, …), so the same bytes are kept once
//! whoever uploads them, and a blob never changes under its key.
//!
//! Uploads are staged first in a local file (their hash, which names them,
//! is known only at their end); [`BlobStore::keep`] then makes the staged
//! file the blob. Reads stream: nothing here holds a whole media in
//! memory except [`BlobStore::read_all`], which callers use only for
//! pictures (capped at `limits.media_bytes_max`).

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::files;

/// A blob's bytes as they are read.
pub type BlobStream = BoxStream<'static, io::Result<Bytes>>;

/// Where media bytes live. Every method is safe to call from several
/// processes at once: a key's bytes are fixed by the key, so two writers
/// of one key write the same bytes.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Makes the bytes of the local file `staged` (fsynced by its writer)
    /// the blob `key`, durably, unless the blob exists already; the
    /// staged file is gone afterwards either way.
    async fn keep(&self, key: &str, staged: &Path) -> io::Result<()>;
    /// Keeps `bytes` as the blob `key` (a derived picture; small).
    async fn keep_bytes(&self, key: &str, bytes: Vec<u8>) -> io::Result<()>;
    /// The blob's length, or `None` if there is no such blob.
    async fn size(&self, key: &str) -> io::Result<Option<u64>>;
    /// The bytes of `range` (inside the blob) as a stream.
    async fn read(&self, key: &str, range: Range<u64>) -> io::Result<BlobStream>;
    /// Deletes the blob `key`; a key with no blob is already deleted.
    async fn delete(&self, key: &str) -> io::Result<()>;
    /// The whole blob, or `None` if there is none; refused past `max`
    /// bytes, so a caller's memory stays bounded.
    async fn read_all(&self, key: &str, max: u64) -> io::Result<Option<Vec<u8>>> {
        let Some(size) = self.size(key).await? else {
            return Ok(None);
        };
        if size > max {
            return Err(io::Error::other(format!(
                "blob {key} holds {size} bytes, past the {max} read whole"
            )));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        let mut stream = self.read(key, 0..size).await?;
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk?);
        }
        Ok(Some(bytes))
    }
    /// What the start line and `admin` say of where media are.
    fn describe(&self) -> String;
}

/// The key of the bytes hashing to `sha256`: sharded by the first two hex
/// digits, as the data dir's folders always were.
pub fn key(sha256: &[u8; 32]) -> String {
    let hex = files::hex(sha256);
    format!("{}/{hex}", &hex[..2])
}

/// The blobs as files under a folder of the data directory, each made
/// durable (fsynced, renamed into place, the folder fsynced) before the
/// row naming it commits.
pub struct FsBlobs {
    dir: PathBuf,
}

impl FsBlobs {
    pub fn new(dir: PathBuf) -> FsBlobs {
        FsBlobs { dir }
    }

    fn path(&self, key: &str) -> PathBuf {
        debug_assert!(!key.contains(".."), "keys are made here, never given");
        self.dir.join(key)
    }
}

#[async_trait::async_trait]
impl BlobStore for FsBlobs {
    async fn keep(&self, key: &str, staged: &Path) -> io::Result<()> {
        let (dir, path, staged) = (self.dir.clone(), self.path(key), staged.to_owned());
        blocking(move || files::move_durably(&dir, &staged, &path)).await
    }

    async fn keep_bytes(&self, key: &str, bytes: Vec<u8>) -> io::Result<()> {
        let (dir, path) = (self.dir.clone(), self.path(key));
        blocking(move || {
            files::ensure_parent(&dir, &path)?;
            files::write_durably(&path, &bytes)
        })
        .await
    }

    async fn size(&self, key: &str) -> io::Result<Option<u64>> {
        match tokio::fs::metadata(self.path(key)).await {
            Ok(metadata) => Ok(Some(metadata.len())),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn read(&self, key: &str, range: Range<u64>) -> io::Result<BlobStream> {
        let mut file = tokio::fs::File::open(self.path(key)).await?;
        file.seek(io::SeekFrom::Start(range.start)).await?;
        let limited = file.take(range.end - range.start);
        // 64 KiB reads: few system calls, little memory per download.
        Ok(tokio_util::io::ReaderStream::with_capacity(limited, 64 * 1024).boxed())
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    fn describe(&self) -> String {
        format!("media files in {}", self.dir.display())
    }
}

/// The blobs as objects of an S3-compatible bucket. An object is whole
/// once its PUT (or its multipart upload's completion) is acknowledged,
/// so a row names it only after that.
pub struct S3Blobs {
    store: Box<dyn ObjectStore>,
    describe: String,
}

/// A staged file past this goes up in parts of this size, two at a
/// time: what an upload holds in memory stays near three parts.
const PART_BYTES: usize = 8 * 1024 * 1024;

impl S3Blobs {
    pub fn new(store: Box<dyn ObjectStore>, describe: String) -> S3Blobs {
        S3Blobs { store, describe }
    }

    /// The bucket (and optional prefix) of `url`,
    /// `s3://bucket[/prefix][?endpoint=…&region=…&allow_http=true]`,
    /// reached as the standard `AWS_*` environment says (endpoint, region,
    /// keys, `AWS_ALLOW_HTTP` for a local server) and then the URL's
    /// options, which never carry secrets. `skip_signature=true` sends
    /// unsigned requests, for a local test server only.
    pub fn from_url(url: &str) -> Result<S3Blobs, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("a media store is `s3://bucket[/prefix]`, not `{url}`"))?;
        let (location, options) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() {
            return Err(format!("`{url}` names no bucket"));
        }
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        for option in options.split('&').filter(|option| !option.is_empty()) {
            let (key, value) = option.split_once('=').unwrap_or((option, ""));
            let yes = value == "true";
            builder = match key {
                "endpoint" => builder.with_endpoint(value),
                "region" => builder.with_region(value),
                "allow_http" => builder.with_allow_http(yes),
                "skip_signature" => builder.with_skip_signature(yes),
                _ => {
                    return Err(format!(
                        "`{key}` is not a media store option: use endpoint, region, allow_http \
                         or skip_signature (keys come from AWS_ACCESS_KEY_ID and \
                         AWS_SECRET_ACCESS_KEY)"
                    ));
                }
            };
        }
        let store = builder
            .build()
            .map_err(|error| format!("cannot reach the media bucket `{bucket}`: {error}"))?;
        let prefix = prefix.trim_matches('/');
        let store: Box<dyn ObjectStore> = if prefix.is_empty() {
            Box::new(store)
        } else {
            Box::new(object_store::prefix::PrefixStore::new(store, prefix))
        };
        let shown = url.split_once('?').map_or(url, |(shown, _)| shown);
        Ok(S3Blobs::new(store, format!("media in {shown}")))
    }
}

fn object_error(error: object_store::Error) -> io::Error {
    match error {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, error),
        error => io::Error::other(error),
    }
}

#[async_trait::async_trait]
impl BlobStore for S3Blobs {
    async fn keep(&self, key: &str, staged: &Path) -> io::Result<()> {
        let result = self.upload(key, staged).await;
        let _ = tokio::fs::remove_file(staged).await;
        result
    }

    async fn keep_bytes(&self, key: &str, bytes: Vec<u8>) -> io::Result<()> {
        self.store
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await
            .map_err(object_error)?;
        Ok(())
    }

    async fn size(&self, key: &str) -> io::Result<Option<u64>> {
        match self.store.head(&ObjectPath::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            // S3 answers 403, not 404, for a missing key to a caller that
            // may not list the bucket; a key that is there but unreadable
            // fails on its reads instead.
            Err(
                object_store::Error::NotFound { .. } | object_store::Error::PermissionDenied { .. },
            ) => Ok(None),
            Err(error) => Err(object_error(error)),
        }
    }

    async fn read(&self, key: &str, range: Range<u64>) -> io::Result<BlobStream> {
        if range.is_empty() {
            return Ok(futures_util::stream::empty().boxed());
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        let got = self
            .store
            .get_opts(&ObjectPath::from(key), options)
            .await
            .map_err(object_error)?;
        Ok(got.into_stream().map_err(object_error).boxed())
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Err(error @ object_store::Error::NotFound { .. }) => {
                tracing::debug!(%error, "a blob to delete was not there");
                Ok(())
            }
            other => other.map_err(object_error),
        }
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

impl S3Blobs {
    /// Uploads the staged file whether or not the key holds it already
    /// (the same bytes): skipping the upload would answer an account that
    /// someone else had uploaded them in a fraction of the time.
    async fn upload(&self, key: &str, staged: &Path) -> io::Result<()> {
        let path = ObjectPath::from(key);
        let mut file = tokio::fs::File::open(staged).await?;
        let length = file.metadata().await?.len();
        if length <= PART_BYTES as u64 {
            let mut bytes = Vec::with_capacity(length as usize);
            file.read_to_end(&mut bytes).await?;
            return self.keep_bytes(key, bytes).await;
        }
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(object_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        match Self::write_parts(&mut file, &mut writer).await {
            Ok(()) => {
                writer.finish().await.map_err(object_error)?;
                Ok(())
            }
            Err(error) => {
                // S3 keeps (and bills) the parts of an upload nobody ends.
                let _ = writer.abort().await;
                Err(error)
            }
        }
    }

    async fn write_parts(
        file: &mut tokio::fs::File,
        writer: &mut WriteMultipart,
    ) -> io::Result<()> {
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let read = file.read(&mut buffer).await?;
            if read == 0 {
                return Ok(());
            }
            writer.wait_for_capacity(2).await.map_err(object_error)?;
            writer.write(&buffer[..read]);
        }
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_range(blobs: &dyn BlobStore, key: &str, range: Range<u64>) -> Vec<u8> {
        let mut stream = blobs.read(key, range).await.unwrap();
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn a_staged_file_becomes_a_blob_once_and_reads_in_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::new(dir.path().join("media"));
        let staged = dir.path().join("staged");
        std::fs::write(&staged, b"hello, blobs").unwrap();
        blobs.keep("ab/abcd", &staged).await.unwrap();
        assert!(!staged.exists(), "the staged file moved");
        assert_eq!(blobs.size("ab/abcd").await.unwrap(), Some(12));
        assert_eq!(read_range(&blobs, "ab/abcd", 7..12).await, b"blobs");
        assert_eq!(blobs.size("ab/none").await.unwrap(), None);
        // The same content staged again leaves the kept blob as it was.
        std::fs::write(&staged, b"hello, blobs").unwrap();
        blobs.keep("ab/abcd", &staged).await.unwrap();
        assert!(!staged.exists());
        let all = blobs.read_all("ab/abcd", 100).await.unwrap().unwrap();
        assert_eq!(all, b"hello, blobs");
        assert!(blobs.read_all("ab/abcd", 5).await.is_err(), "past the cap");
    }
}
