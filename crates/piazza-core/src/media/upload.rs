//! An upload as it arrives: written to a staged file and hashed chunk by
//! chunk, never held whole in memory, and cut off as soon as it passes
//! its kind's cap (known once its first bytes are sniffed). The staged
//! file is deleted when the upload goes no further (refused, dropped,
//! failed); once kept, the blob store owns its bytes.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use piazza_domain::Rejection;
use piazza_domain::media::{MediaFacts, MediaKind, MediaType};
use sha2::{Digest, Sha256};

use super::files::io;
use super::sniff::{self, SNIFF_BYTES, Sniffed};
use crate::engine::{Error, Result};

/// What one upload of each kind may hold, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadCaps {
    pub picture: u64,
    pub audio: u64,
    pub video: u64,
    pub file: u64,
}

impl UploadCaps {
    pub fn of(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Picture => self.picture,
            MediaKind::Audio => self.audio,
            MediaKind::Video => self.video,
            MediaKind::File => self.file,
        }
    }

    /// The largest cap: no upload of any kind is longer.
    pub fn largest(&self) -> u64 {
        self.picture.max(self.audio).max(self.video).max(self.file)
    }
}

/// The cap that applies to bytes sniffed as `sniffed`. An ISO BMFF or
/// Matroska container may be audio or video, which only its end-to-end
/// read tells: it may be as long as a video until then.
fn cap_of(caps: &UploadCaps, sniffed: Sniffed) -> (u64, &'static str) {
    match sniffed {
        Sniffed::Picture(_) => (caps.picture, "picture"),
        Sniffed::Audio(_) => (caps.audio, "audio file"),
        Sniffed::Container(..) => (caps.video.max(caps.audio), "video"),
        Sniffed::File => (caps.file, "file"),
    }
}

/// An upload written whole to its staged file (fsynced), with what its
/// bytes are.
pub struct Staged {
    pub file: StagedFile,
    pub sha256: [u8; 32],
    pub bytes: u64,
    pub media_type: MediaType,
    pub facts: MediaFacts,
}

/// A staged file, deleted when dropped unless it was handed on.
pub struct StagedFile(Option<PathBuf>);

impl StagedFile {
    pub fn path(&self) -> &Path {
        self.0
            .as_deref()
            .expect("a staged file is there until handed on")
    }

    /// The path, no longer deleted on drop: its new owner moves it.
    pub fn hand_on(mut self) -> PathBuf {
        self.0.take().expect("handed on once")
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The size of the two buffers an upload is copied into on its way to the
/// disk (one filling while the other is written): what an upload holds in
/// memory, however large it is.
const BUFFER_BYTES: usize = 256 * 1024;

/// The staged file and its hash so far, handed to each write in turn.
struct Writing {
    file: std::fs::File,
    hasher: Sha256,
}

impl Writing {
    /// Hashes and writes `buffer`, handing it back emptied. Blocking I/O,
    /// a few hundred KiB: a blocking thread is held for one write, never
    /// while the network is waited for.
    fn write(mut self, mut buffer: Vec<u8>) -> std::io::Result<(Writing, Vec<u8>)> {
        use std::io::Write;
        self.hasher.update(&buffer);
        self.file.write_all(&buffer)?;
        buffer.clear();
        Ok((self, buffer))
    }
}

/// The write in flight, if any: its buffer and the file come back with it.
type InFlight = tokio::task::JoinHandle<std::io::Result<(Writing, Vec<u8>)>>;

/// Waits for the write in flight, and answers the file and a free buffer.
async fn settle(in_flight: InFlight) -> Result<(Writing, Vec<u8>)> {
    in_flight
        .await
        .map_err(|error| Error::Engine(error.to_string()))?
        .map_err(io)
}

/// Writes `body` to a new file in `staging_dir` as it arrives, hashing it,
/// and refuses it (`MediaTooLarge`, the file deleted) as soon as it passes
/// the cap of what its first bytes say it is; then reads its container.
///
/// The network's chunks are copied into one of two buffers; a full one is
/// hashed and written by a short blocking job while the other fills. The
/// chunks are dropped where they were made: handing them to another thread
/// made the allocator (mimalloc) keep pages for each until their thread
/// came back to them, ~20 MiB for a fast 200 MiB upload. No blocking
/// thread waits for the network, so slow uploads hold none.
pub async fn stage<S, E>(staging_dir: &Path, body: S, caps: &UploadCaps) -> Result<Staged>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Send,
    E: std::fmt::Display,
{
    tokio::fs::create_dir_all(staging_dir).await.map_err(io)?;
    let path = staging_dir.join(format!("{:032x}", rand::random::<u128>()));
    let staged = StagedFile(Some(path.clone()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io)?;
    let mut idle = Some(Writing {
        file,
        hasher: Sha256::new(),
    });
    let mut in_flight: Option<InFlight> = None;
    let mut filling = Vec::with_capacity(BUFFER_BYTES);
    let mut spare = Some(Vec::with_capacity(BUFFER_BYTES));
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut sniffed = None;
    let mut bytes = 0u64;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|error| Error::Rejected(Rejection::UploadCut(error.to_string())))?;
        bytes += chunk.len() as u64;
        if sniffed.is_none() {
            let wanted = SNIFF_BYTES.saturating_sub(head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..wanted]);
            if head.len() >= SNIFF_BYTES {
                sniffed = Some(sniff::sniff(&head));
            }
        }
        if let Some(found) = sniffed {
            within_cap(caps, found, bytes)?;
        }
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            let taken = (BUFFER_BYTES - filling.len()).min(rest.len());
            filling.extend_from_slice(&rest[..taken]);
            rest = &rest[taken..];
            if filling.len() == BUFFER_BYTES {
                if let Some(previous) = in_flight.take() {
                    let (writing, emptied) = settle(previous).await?;
                    idle = Some(writing);
                    spare = Some(emptied);
                }
                let full = std::mem::replace(&mut filling, spare.take().expect("a spare buffer"));
                let writing = idle.take().expect("the file is idle");
                in_flight = Some(tokio::task::spawn_blocking(move || writing.write(full)));
            }
        }
    }
    if let Some(previous) = in_flight.take() {
        idle = Some(settle(previous).await?.0);
    }
    let writing = idle.take().expect("the file is idle");
    let sha256 = tokio::task::spawn_blocking(move || -> std::io::Result<[u8; 32]> {
        let (writing, _) = writing.write(filling)?;
        writing.file.sync_all()?;
        Ok(writing.hasher.finalize().into())
    })
    .await
    .map_err(|error| Error::Engine(error.to_string()))?
    .map_err(io)?;
    let sniffed = sniffed.unwrap_or_else(|| sniff::sniff(&head));
    within_cap(caps, sniffed, bytes)?;
    let identified = tokio::task::spawn_blocking(move || sniff::identify(sniffed, &path))
        .await
        .map_err(|error| Error::Engine(error.to_string()))?;
    let (media_type, facts) = identified.map_err(io)?;
    // A container read to its end as audio has the audio cap.
    within_kind_cap(caps, media_type, bytes)?;
    Ok(Staged {
        file: staged,
        sha256,
        bytes,
        media_type,
        facts,
    })
}

fn within_cap(caps: &UploadCaps, sniffed: Sniffed, bytes: u64) -> Result<()> {
    let (max_bytes, kind) = cap_of(caps, sniffed);
    if bytes > max_bytes {
        return Err(Rejection::MediaTooLarge { kind, max_bytes }.into());
    }
    Ok(())
}

fn within_kind_cap(caps: &UploadCaps, media_type: MediaType, bytes: u64) -> Result<()> {
    let kind = media_type.kind();
    let max_bytes = caps.of(kind);
    if bytes > max_bytes {
        let kind = match kind {
            MediaKind::Picture => "picture",
            MediaKind::Audio => "audio file",
            MediaKind::Video => "video",
            MediaKind::File => "file",
        };
        return Err(Rejection::MediaTooLarge { kind, max_bytes }.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPS: UploadCaps = UploadCaps {
        picture: 16,
        audio: 64,
        video: 64,
        file: 10_000,
    };

    fn chunks(parts: &[&[u8]]) -> impl Stream<Item = std::result::Result<Bytes, String>> + Send {
        let parts: Vec<_> = parts
            .iter()
            .map(|part| Ok(Bytes::copy_from_slice(part)))
            .collect();
        futures_util::stream::iter(parts)
    }

    #[tokio::test]
    async fn an_upload_is_hashed_as_it_arrives_and_its_type_read_from_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let staged = stage(dir.path(), chunks(&[b"<html>", b"</html>"]), &CAPS)
            .await
            .unwrap();
        assert_eq!(staged.media_type, MediaType::Binary);
        assert_eq!(staged.bytes, 13);
        let expected: [u8; 32] = Sha256::digest(b"<html></html>").into();
        assert_eq!(staged.sha256, expected);
        assert_eq!(std::fs::read(staged.file.path()).unwrap(), b"<html></html>");
        let path = staged.file.path().to_owned();
        drop(staged);
        assert!(!path.exists(), "dropped, the staged file goes");
    }

    #[tokio::test]
    async fn an_upload_past_its_kinds_cap_is_cut_off_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let picture = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 9]];
        let refused = stage(dir.path(), chunks(&picture), &CAPS).await;
        assert!(matches!(
            refused,
            Err(Error::Rejected(Rejection::MediaTooLarge {
                max_bytes: 16,
                ..
            }))
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // The same length as a file is fine.
        assert!(
            stage(dir.path(), chunks(&[&[1u8; 17]]), &CAPS)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_cut_connection_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let parts: Vec<std::result::Result<Bytes, String>> =
            vec![Ok(Bytes::from_static(b"abc")), Err("reset".to_owned())];
        let refused = stage(dir.path(), futures_util::stream::iter(parts), &CAPS).await;
        assert!(matches!(
            refused,
            Err(Error::Rejected(Rejection::UploadCut(_)))
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
