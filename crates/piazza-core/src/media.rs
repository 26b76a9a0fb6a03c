//! Uploaded images: their files (`files.rs`, the same for every engine),
//! their thumbnails (`thumbnails.rs`), their rows, each account's quota,
//! and who may read a media.
//!
//! Each account's media are counted in a usage figure for its quota: the
//! same bytes again are the same row and count once, and the write job
//! that inserts a row adds its bytes there, refusing the row past the
//! quota. The quota is also checked before the file is written, so a
//! refused upload leaves no file; one upload of an account at a time
//! ([`files::UploadTurns`]) keeps that first check true until the row
//! commits.

pub mod files;
pub mod thumbnails;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use piazza_domain::media::{Media, MediaStored, NewMedia, Thumbnail};
use piazza_domain::store::StoreResult;
use piazza_domain::{AccountId, MediaId, Rejection, StoreError, Timestamp};

use crate::Core;
use crate::engine::{Read, Result, Tx};

/// Thumbnails made at once, at most: each decodes a picture of up to
/// `thumbnails::DECODE_BYTES_MAX` on a core.
const THUMBNAILS_IN_FLIGHT_MAX: usize = 2;

/// Who, besides its uploader, may be shown a media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audience {
    /// It is an account's or a group's current avatar.
    pub current_avatar: bool,
    /// The viewer is a member of a conversation with an image message
    /// showing it, sent after they joined.
    pub in_viewers_messages: bool,
}

/// The queries of this area, as every engine answers them.
pub trait Reads {
    fn media(&mut self, media: MediaId) -> Result<Option<Media>>;
    /// Who uploaded `media`, if it exists.
    fn media_uploader(&mut self, media: MediaId) -> Result<Option<AccountId>>;
    /// `uploader`'s media with these bytes (at most one: the engine keeps
    /// one row per account and content).
    fn media_by_content(&mut self, uploader: AccountId, sha256: &[u8; 32])
    -> Result<Option<Media>>;
    /// The bytes of `account`'s media, each content counted once.
    fn media_used_bytes(&mut self, account: AccountId) -> Result<u64>;
    /// Who may be shown `media` besides its uploader, as `viewer` asks,
    /// answered from one snapshot.
    fn media_audience(&mut self, viewer: AccountId, media: MediaId) -> Result<Audience>;
}

/// The changes of this area, inside an engine's transaction.
pub trait Writes {
    /// As [`Reads::media_used_bytes`]. The engine must keep the account's
    /// media (its usage and its rows) from changing under this transaction
    /// until it commits (PostgreSQL: lock the account's row, since its
    /// usage row may not exist yet).
    fn media_used_bytes_for_update(&mut self, account: AccountId) -> Result<u64>;
    /// Adds `bytes` to `account`'s usage.
    fn add_media_usage(&mut self, account: AccountId, bytes: u64) -> Result<()>;
    /// A new media row for an upload whose file is durable.
    fn insert_media(
        &mut self,
        uploader: AccountId,
        media: &NewMedia,
        at: Timestamp,
    ) -> Result<MediaId>;
}

/// What of a media is read: the original bytes as uploaded (EXIF and
/// all), or its thumbnail (re-encoded, with nothing of the original's
/// metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Original,
    Thumbnail,
}

/// `MediaQuotaExceeded` unless `adding` more bytes keeps `used` within
/// `quota`.
pub fn within_quota(used: u64, adding: u64, quota: u64) -> Result<()> {
    if used.saturating_add(adding) > quota {
        return Err(Rejection::MediaQuotaExceeded {
            quota_bytes: quota,
            used_bytes: used,
        }
        .into());
    }
    Ok(())
}

/// Records an upload whose file is already durable; the same bytes again
/// from the same account answer the first row. A new row past the
/// account's `quota` is refused.
pub fn insert(
    tx: &mut dyn Tx,
    uploader: AccountId,
    media: &NewMedia,
    quota: u64,
) -> Result<MediaStored> {
    // Locked first, so that an upload of the same bytes racing this one
    // (from another process) is either seen here or waits for this one.
    let used = tx.media_used_bytes_for_update(uploader)?;
    if let Some(earlier) = tx.reads().media_by_content(uploader, &media.sha256)? {
        return Ok(MediaStored {
            media: earlier,
            replayed: true,
        });
    }
    let bytes = media.bytes.len() as u64;
    within_quota(used, bytes, quota)?;
    tx.add_media_usage(uploader, bytes)?;
    let now = tx.now();
    let media_id = tx.insert_media(uploader, media, now)?;
    Ok(MediaStored {
        media: Media {
            media_id,
            uploader,
            media_type: media.media_type,
            sha256: media.sha256,
            bytes,
            created_at: now,
        },
        replayed: false,
    })
}

/// The media if `viewer` may read it as `reading`: its uploader, or a
/// member of a conversation whose image message showing it is in their
/// view (sent after they joined). Its thumbnail, too, to any account
/// while it is an account's or a group's current avatar (avatars are
/// shown wherever a person or a group appears, to strangers asking to be
/// contacts too); the original of an avatar is not, since it may carry
/// the uploader's EXIF (where a photo was taken). Anyone else learns
/// nothing, not even that it exists.
pub fn visible(
    read: &mut dyn Read,
    viewer: AccountId,
    media: MediaId,
    reading: Reading,
) -> Result<Media> {
    let found = read.media(media)?.ok_or(Rejection::MediaNotFound)?;
    if found.uploader == viewer {
        return Ok(found);
    }
    let audience = read.media_audience(viewer, media)?;
    let as_avatar = reading == Reading::Thumbnail && audience.current_avatar;
    if as_avatar || audience.in_viewers_messages {
        Ok(found)
    } else {
        Err(Rejection::MediaNotFound.into())
    }
}

/// `media` if `account` uploaded it (an avatar must be one's own);
/// `MediaNotFound` otherwise, as for an id that does not exist.
pub fn own_media(read: &mut dyn Read, account: AccountId, media: MediaId) -> Result<MediaId> {
    match read.media_uploader(media)? {
        Some(uploader) if uploader == account => Ok(media),
        _ => Err(Rejection::MediaNotFound.into()),
    }
}

/// Where the media files live, and what paces the work on them.
pub(crate) struct MediaFiles {
    dir: PathBuf,
    /// One upload at a time per account.
    uploads: files::UploadTurns,
    /// Thumbnails being made at once. Shared with the blocking job that
    /// holds a permit, so a dropped request does not free its slot while
    /// the decode goes on.
    thumbnail_turns: Arc<tokio::sync::Semaphore>,
}

impl MediaFiles {
    /// The files under `<data_dir>/media`, created on first upload.
    pub(crate) fn in_data_dir(data_dir: &Path) -> MediaFiles {
        MediaFiles {
            dir: data_dir.join(files::MEDIA_DIR),
            uploads: files::UploadTurns::default(),
            thumbnail_turns: Arc::new(tokio::sync::Semaphore::new(THUMBNAILS_IN_FLIGHT_MAX)),
        }
    }
}

/// Runs `work` on a blocking thread once `turns` has a permit for it. The
/// permit moves into the blocking job and is freed when the work ends, not
/// when the caller stops waiting: a request dropped meanwhile (a timeout,
/// a disconnect) cannot free its slot while its work goes on.
async fn blocking_with_turn<T, F>(turns: &Arc<tokio::sync::Semaphore>, work: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let turn = Arc::clone(turns)
        .acquire_owned()
        .await
        .map_err(|error| StoreError::Unavailable(error.to_string()))?;
    blocking(move || {
        let _turn = turn;
        work()
    })
    .await
}

/// Runs `work` on a blocking thread.
async fn blocking<T, F>(work: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| StoreError::Unavailable(error.to_string()))
}

impl Core {
    /// Keeps an upload of `uploader`'s: the bytes are durable (written,
    /// fsynced, renamed into place) before its row commits, so a row never
    /// names a missing file. The same bytes again from the same account
    /// answer the first media (`replayed`). The account's media, each
    /// content counted once, may not pass `quota_bytes`
    /// (`MediaQuotaExceeded`, and no file is written for the refusal).
    pub async fn put_media(
        &self,
        uploader: AccountId,
        upload: NewMedia,
        quota_bytes: u64,
    ) -> StoreResult<MediaStored> {
        // The quota is checked before the file is written, so a refused
        // upload leaves nothing on disk; with one upload of the account at
        // a time, the check still holds when the row commits (where the
        // write job checks it again).
        // The turn moves into the blocking write and then into the write
        // job, whose answer hands it back once the row has committed (a
        // dropped answer drops it then): a request dropped meanwhile (a
        // timeout, a disconnect) does not free it while its file is being
        // written or its row waits, and the next upload's quota check
        // reads the committed row.
        let turn = self.media.uploads.take(uploader).await;
        let sha256 = upload.sha256;
        let (kept_already, used_bytes) = self
            .read(move |read| {
                let kept_already = read.media_by_content(uploader, &sha256)?.is_some();
                Ok((kept_already, read.media_used_bytes(uploader)?))
            })
            .await?;
        if !kept_already {
            within_quota(used_bytes, upload.bytes.len() as u64, quota_bytes)?;
        }
        let media_dir = self.media.dir.clone();
        let (turn, written) = blocking(move || {
            let written = files::write_file(&media_dir, &upload);
            (turn, written.map(|()| upload))
        })
        .await?;
        let upload = written.map_err(files::io)?;
        // Every attempt's answer holds the turn; a refused one drops it
        // with the job, as it changed nothing.
        let turn = Arc::new(turn);
        let (stored, _turn) = self
            .write(move |tx| {
                insert(tx, uploader, &upload, quota_bytes).map(|stored| (stored, Arc::clone(&turn)))
            })
            .await?;
        Ok(stored)
    }

    /// A media and its original bytes (EXIF and all), for its uploader or
    /// a member who can see a message showing it; `MediaNotFound` for
    /// anyone else, as for an unknown id. Being an avatar does not make
    /// the original readable: others read an avatar's thumbnail.
    pub async fn media(&self, viewer: AccountId, media: MediaId) -> StoreResult<(Media, Vec<u8>)> {
        let found = self
            .read(move |read| visible(read, viewer, media, Reading::Original))
            .await?;
        let media_dir = self.media.dir.clone();
        let bytes =
            blocking(move || files::read_file(&media_dir, &found).map(|bytes| (found, bytes)))
                .await??;
        Ok(bytes)
    }

    /// A small picture of a media (at most `media::THUMBNAIL_EDGE_PX_MAX`
    /// on its long side), re-encoded with none of the original's
    /// metadata, for whoever may read the media and for any account while
    /// it is an account's or a group's current avatar: made on first use
    /// and kept beside the original. `ImageUndecodable` when the bytes
    /// are not a picture the decoder takes within its limits.
    pub async fn media_thumbnail(
        &self,
        viewer: AccountId,
        media: MediaId,
    ) -> StoreResult<Thumbnail> {
        let found = self
            .read(move |read| visible(read, viewer, media, Reading::Thumbnail))
            .await?;
        let media_dir = self.media.dir.clone();
        let thumbnail = blocking_with_turn(&self.media.thumbnail_turns, move || {
            thumbnails::get_or_make(&media_dir, &found)
        })
        .await??;
        Ok(thumbnail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dropped_request_keeps_its_turn_until_its_blocking_work_ends() {
        let turns = Arc::new(tokio::sync::Semaphore::new(1));
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
        let (ended_tx, ended_rx) = tokio::sync::oneshot::channel::<()>();
        let request = tokio::spawn({
            let turns = Arc::clone(&turns);
            async move {
                blocking_with_turn(&turns, move || {
                    started_tx.send(()).unwrap();
                    finish_rx.recv().unwrap();
                    ended_tx.send(()).unwrap();
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        // The request goes away (a timeout, a disconnect); its work does not.
        request.abort();
        assert!(request.await.unwrap_err().is_cancelled());
        assert_eq!(
            turns.available_permits(),
            0,
            "the work still holds its turn"
        );
        finish_tx.send(()).unwrap();
        ended_rx.await.unwrap();
        let freed = tokio::time::timeout(std::time::Duration::from_secs(5), turns.acquire()).await;
        assert!(freed.is_ok(), "the turn is freed once the work ends");
    }
}
