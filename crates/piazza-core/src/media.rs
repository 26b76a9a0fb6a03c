//! Uploaded media: their bytes (`blobs.rs`: the data dir, or an
//! S3-compatible bucket), how an upload arrives (`upload.rs`: streamed to a
//! staged file, hashed, capped by kind) and what it is (`sniff.rs`,
//! `probe.rs`: from its bytes, never its declared type), what is served of
//! a picture (`pictures.rs`, `clean.rs`: no metadata, upright, a preview
//! and a thumbnail), their rows, each account's quota, and who may read a
//! media.
//!
//! Each account's media are counted in a usage figure for its quota: the
//! same bytes again are the same row and count once, and the write job
//! that inserts a row adds its bytes there, refusing the row past the
//! quota. The quota is also checked before the file is written, so a
//! refused upload leaves no file; one upload of an account at a time
//! ([`files::UploadTurns`]) keeps that first check true until the row
//! commits.

pub mod blobs;
pub mod clean;
pub mod files;
pub mod pictures;
pub mod probe;
pub mod purges;
pub mod sniff;
pub mod upload;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use piazza_domain::media::{Media, MediaKind, MediaStored, MediaType, NewMedia};
use piazza_domain::store::StoreResult;
use piazza_domain::{AccountId, MediaId, Rejection, Timestamp};

use crate::Core;
use crate::engine::{Read, Result, Tx};
use blobs::{BlobStore, BlobStream};
use pictures::Variant;
use upload::UploadCaps;

/// Pictures decoded at once, at most: each decodes a picture of up to
/// `pictures::DECODE_BYTES_MAX` on a core.
const PICTURES_IN_FLIGHT_MAX: usize = 2;

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

/// What of a media is read: the media itself (a picture cleaned of its
/// metadata), or a picture's preview or thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Original,
    Preview,
    Thumbnail,
}

/// What is served for a read: where its bytes are, what they are, and how
/// a browser must take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub media: Media,
    pub key: String,
    /// What the served bytes are (a picture's preview may be a JPEG of a
    /// PNG); `Binary` for a file, which is only ever an attachment.
    pub media_type: MediaType,
    pub size: u64,
    /// Names these exact bytes: the content's hash and the variant.
    pub etag: String,
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
    purges::settle_upload(tx, &media.sha256)?;
    if let Some(earlier) = tx.reads().media_by_content(uploader, &media.sha256)? {
        return Ok(MediaStored {
            media: earlier,
            replayed: true,
        });
    }
    let bytes = media.bytes;
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
            name: media.name.clone(),
            facts: media.facts,
            created_at: now,
        },
        replayed: false,
    })
}

/// The media if `viewer` may read it as `reading`: its uploader, or a
/// member of a conversation whose media message showing it is in their
/// view (sent after they joined, not recalled), or one who may see a
/// Moments post showing it. Its thumbnail and
/// preview, too, to any account while it is an account's or a group's
/// current avatar (avatars are shown wherever a person or a group
/// appears, to strangers asking to be contacts too); the whole picture of
/// an avatar is not. The same for a channel's avatar or an article's
/// cover, which public pages show anyway (an article card in a chat shows
/// its cover's thumbnail). Anyone else learns
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
    let as_avatar = reading != Reading::Original && audience.current_avatar;
    if as_avatar
        || audience.in_viewers_messages
        || crate::moments::shows_media(read, viewer, media, Timestamp::now())?
        || (reading != Reading::Original && read.is_channel_media(media)?)
        || (reading != Reading::Original && read.is_shop_media(media)?)
    {
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

/// `media` if `account` uploaded it (a message shows one's own uploads);
/// `MediaNotFound` otherwise, as for an id that does not exist.
pub fn own_media_row(read: &mut dyn Read, account: AccountId, media: MediaId) -> Result<Media> {
    match read.media(media)? {
        Some(found) if found.uploader == account => Ok(found),
        _ => Err(Rejection::MediaNotFound.into()),
    }
}

/// Where media bytes live, and what paces the work on them.
pub(crate) struct MediaFiles {
    blobs: Arc<dyn BlobStore>,
    /// Where uploads are staged while they arrive.
    staging: PathBuf,
    /// One upload at a time per account.
    uploads: files::UploadTurns,
    /// Pictures being decoded at once. Shared with the blocking job that
    /// holds a permit, so a dropped request does not free its slot while
    /// the decode goes on.
    picture_turns: Arc<tokio::sync::Semaphore>,
}

impl MediaFiles {
    /// Blobs in `blobs` (or, by default, under `<data_dir>/media`), uploads
    /// staged under `<data_dir>/media/.staging`.
    pub(crate) fn new(data_dir: &Path, blobs: Option<Arc<dyn BlobStore>>) -> MediaFiles {
        let dir = data_dir.join(files::MEDIA_DIR);
        MediaFiles {
            blobs: blobs.unwrap_or_else(|| Arc::new(blobs::FsBlobs::new(dir.clone()))),
            staging: dir.join(files::STAGING_DIR),
            uploads: files::UploadTurns::default(),
            picture_turns: Arc::new(tokio::sync::Semaphore::new(PICTURES_IN_FLIGHT_MAX)),
        }
    }
}

/// What an upload is told besides its bytes.
#[derive(Debug, Clone)]
pub struct UploadRules {
    pub caps: UploadCaps,
    pub quota_bytes: u64,
}

impl Core {
    /// Deletes staged uploads not written to for `older_than` (at least
    /// an upload's deadline): what uploads cut off by a crash left behind.
    pub async fn sweep_staged_uploads(&self, older_than: std::time::Duration) -> Result<usize> {
        let staging = self.media.staging.clone();
        tokio::task::spawn_blocking(move || files::sweep_staging(&staging, older_than))
            .await
            .map_err(|error| crate::Error::Engine(format!("the staging sweep failed: {error}")))?
            .map_err(|error| crate::Error::Engine(format!("cannot sweep staged uploads: {error}")))
    }

    /// Keeps an upload of `uploader`'s as it arrives (`body`): streamed to
    /// a staged file and hashed, refused as soon as it passes its kind's
    /// cap, its type read from its bytes (`declared`, if a picture, audio
    /// or video, must fit it: `MediaTypeMismatch`). The bytes are durable
    /// in the blob store before its row commits, so a row never names
    /// missing bytes. The same bytes again from the same account answer
    /// the first media (`replayed`); the account's media, each content
    /// counted once, may not pass the quota (`MediaQuotaExceeded`, and
    /// nothing is kept for the refusal).
    pub async fn upload_media<S, E>(
        &self,
        uploader: AccountId,
        declared: Option<MediaType>,
        name: Option<String>,
        body: S,
        rules: &UploadRules,
    ) -> StoreResult<MediaStored>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        // One upload of an account at a time: the quota read below still
        // holds when the row commits (where the write job checks it
        // again). The turn moves into the write job, whose answer hands it
        // back once the row has committed: a request dropped meanwhile
        // does not free it while its row waits.
        let turn = self.media.uploads.take(uploader).await;
        let staged = upload::stage(&self.media.staging, body, &rules.caps).await?;
        if let Some(declared) = declared
            && !sniff::declared_fits(declared, staged.media_type)
        {
            return Err(Rejection::MediaTypeMismatch {
                declared: declared.as_mime(),
                found: staged.media_type.as_mime(),
            }
            .into());
        }
        if staged.bytes == 0 {
            return Err(Rejection::EmptyUpload.into());
        }
        let quota_bytes = rules.quota_bytes;
        let sha256 = staged.sha256;
        let (kept_already, used_bytes) = self
            .read(move |read| {
                let kept_already = read.media_by_content(uploader, &sha256)?.is_some();
                Ok((kept_already, read.media_used_bytes(uploader)?))
            })
            .await?;
        if !kept_already {
            within_quota(used_bytes, staged.bytes, quota_bytes)?;
        }
        let key = blobs::key(&staged.sha256);
        let new = NewMedia {
            media_type: staged.media_type,
            sha256: staged.sha256,
            bytes: staged.bytes,
            name,
            facts: staged.facts,
        };
        // Pinned before they are stored: no purge of the same bytes (an
        // erased account's) deletes them under this upload.
        let sha256 = new.sha256;
        self.write(move |tx| purges::pin_upload(tx, &sha256))
            .await?;
        // The staged file's guard stays armed until the blob store has it:
        // a request dropped meanwhile deletes it.
        let keeping = self.media.blobs.keep(&key, staged.file.path()).await;
        staged.file.hand_on();
        keeping.map_err(files::io)?;
        let turn = Arc::new(turn);
        let (stored, _turn) = self
            .write(move |tx| {
                insert(tx, uploader, &new, quota_bytes).map(|stored| (stored, Arc::clone(&turn)))
            })
            .await?;
        if !stored.replayed && stored.media.media_type.kind() == MediaKind::Picture {
            self.prepare_pictures(stored.media.clone(), rules.caps.picture);
        }
        Ok(stored)
    }

    /// Deletes from the blob store the bytes of up to `limit` purges (see
    /// [`purges`]): each claimed, its keys deleted, then finished; one
    /// whose deletes fail is released to be tried again later. Answers
    /// how many were claimed.
    pub async fn purge_erased_blobs(&self, limit: u32) -> StoreResult<usize> {
        let mut done = 0;
        while done < limit as usize {
            let Some(claim) = self.write(purges::claim_next).await? else {
                break;
            };
            done += 1;
            let deletes = async {
                let mut deleted = Ok(());
                for key in pictures::all_keys(&claim.sha256) {
                    deleted = deleted.and(self.media.blobs.delete(&key).await);
                }
                deleted
            };
            let limit = std::time::Duration::from_millis(purges::DELETES_MAX_MS);
            let deleted = tokio::time::timeout(limit, deletes)
                .await
                .unwrap_or_else(|_| Err(std::io::Error::other("the deletes took too long")));
            if let Err(error) = deleted {
                tracing::warn!(%error, "deleting an erased media's bytes failed; tried again in an hour");
                self.write(move |tx| purges::release(tx, claim)).await?;
                continue;
            }
            self.write(move |tx| purges::finish(tx, claim)).await?;
        }
        Ok(done)
    }

    /// Makes what is served of a new picture in the background, so its
    /// first viewers wait for nothing; a failure here is only a decode
    /// more on first view.
    fn prepare_pictures(&self, media: Media, picture_bytes_max: u64) {
        let core = self.clone();
        tokio::spawn(async move {
            for variant in Variant::ALL {
                if let Err(error) = core.derived(&media, variant, picture_bytes_max).await {
                    tracing::debug!(%error, media = %media.media_id, "a picture's variant was not made ahead");
                }
            }
        });
    }

    async fn derived(
        &self,
        media: &Media,
        variant: Variant,
        picture_bytes_max: u64,
    ) -> StoreResult<pictures::Derived> {
        let blobs = &*self.media.blobs;
        let turns = &self.media.picture_turns;
        Ok(pictures::get_or_make(blobs, media, variant, picture_bytes_max, turns).await?)
    }

    /// What `viewer` is served of `media` as `reading`: for its uploader
    /// or a member who can see a message showing it (and an avatar's
    /// preview and thumbnail for anyone); `MediaNotFound` for anyone else,
    /// as for an unknown id. A picture is served cleaned of its metadata
    /// and upright; its preview and thumbnail are made on first use.
    /// `ImageUndecodable` for the preview or thumbnail of what is not a
    /// picture the decoder takes.
    pub async fn media_served(
        &self,
        viewer: AccountId,
        media: MediaId,
        reading: Reading,
        picture_bytes_max: u64,
    ) -> StoreResult<Served> {
        let found = self
            .read(move |read| visible(read, viewer, media, reading))
            .await?;
        self.serve_media(found, reading, picture_bytes_max).await
    }

    /// What a public page shows of `media` (its preview or thumbnail, to
    /// anyone) if `shown` says the media is one a public page shows;
    /// anything else, the whole picture included, is `MediaNotFound`, as
    /// an unknown id. The channels' and the shops' pages each have theirs.
    pub(crate) async fn public_media_served(
        &self,
        media: MediaId,
        reading: Reading,
        picture_bytes_max: u64,
        shown: fn(&mut dyn Read, MediaId) -> Result<bool>,
    ) -> StoreResult<Served> {
        if reading == Reading::Original {
            return Err(Rejection::MediaNotFound.into());
        }
        let found = self
            .read(move |read| {
                if !shown(read, media)? {
                    return Err(Rejection::MediaNotFound.into());
                }
                Ok(read.media(media)?.ok_or(Rejection::MediaNotFound)?)
            })
            .await?;
        self.serve_media(found, reading, picture_bytes_max).await
    }

    /// What is served of `found`, which the caller may be shown, as
    /// `reading` (see [`Core::media_served`]).
    pub(crate) async fn serve_media(
        &self,
        found: Media,
        reading: Reading,
        picture_bytes_max: u64,
    ) -> StoreResult<Served> {
        let hex = files::hex(&found.sha256);
        let variant = match reading {
            Reading::Original if found.media_type.kind() != MediaKind::Picture => {
                return Ok(Served {
                    key: blobs::key(&found.sha256),
                    media_type: found.media_type,
                    size: found.bytes,
                    etag: format!("\"{hex}\""),
                    media: found,
                });
            }
            Reading::Original => Variant::Clean,
            Reading::Preview => Variant::Preview,
            Reading::Thumbnail => Variant::Thumbnail,
        };
        let derived = self.derived(&found, variant, picture_bytes_max).await?;
        Ok(Served {
            key: derived.key,
            media_type: derived.media_type,
            size: derived.size,
            etag: format!("\"{hex}-{variant:?}\"").to_lowercase(),
            media: found,
        })
    }

    /// The bytes of `range` (inside it) of what [`Core::media_served`]
    /// answered, as they are read from the blob store.
    pub async fn media_bytes(&self, served: &Served, range: Range<u64>) -> StoreResult<BlobStream> {
        if range.end > served.size || range.start > range.end {
            return Err(crate::Error::Corrupt(format!(
                "a range {range:?} outside the {} bytes of {}",
                served.size, served.media.media_id
            ))
            .into());
        }
        Ok(self
            .media
            .blobs
            .read(&served.key, range)
            .await
            .map_err(files::io)?)
    }

    /// Where media bytes are kept, for the start line.
    pub fn media_store(&self) -> String {
        self.media.blobs.describe()
    }
}
