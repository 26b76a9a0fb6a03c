//! Uploaded images in the store. The bytes are files named by their
//! SHA-256 under `<data_dir>/media/`, written to a temporary file in the
//! same directory, fsynced, renamed into place and the directory fsynced:
//! durable before the `media` row that names them commits, so a row never
//! points at a missing or half-written file. A crash between the two leaves
//! at most an unreferenced file, which the next upload of the same bytes
//! reuses. Who may read a media is decided by SQL here, in one read: its
//! uploader, or a member who can see an image message showing it.
//!
//! Each account's media are counted in `media_usage` for its quota: the
//! same bytes again are the same row and count once, and the writer job
//! that inserts a row adds its bytes there, refusing the row past the
//! quota. The quota is also checked before the file is written, so a
//! refused upload leaves no file; one upload of an account at a time
//! ([`UploadTurns`]) keeps that first check true until the row commits.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use piazza_domain::event::ConversationKind;
use piazza_domain::media::{Media, MediaStored, MediaType, NewMedia};
use piazza_domain::store::Sent;
use piazza_domain::{
    AccountId, ClientMsgId, ConversationId, MediaId, MessageText, Rejection, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::{Error, Result};
use crate::writer::WriteCtx;
use crate::{reads, writes};

/// The folder under the data directory that holds the files.
pub const MEDIA_DIR: &str = "media";

/// The `kind` of an image message.
pub const IMAGE_KIND: &str = "image";

/// Where the file of the bytes hashing to `sha256` lives: sharded by the
/// first two hex digits so no directory grows past a few thousand entries
/// per million files.
pub fn file_path(media_dir: &Path, sha256: &[u8; 32]) -> PathBuf {
    let hex = hex(sha256);
    media_dir.join(&hex[..2]).join(hex)
}

pub fn hex(bytes: &[u8; 32]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(64);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// Makes the file for `media` durable (unless it already is: a file under
/// its final name was complete when it was renamed there). Blocking I/O;
/// run it off the async threads.
pub fn write_file(media_dir: &Path, media: &NewMedia) -> Result<()> {
    let path = file_path(media_dir, &media.sha256);
    if path.is_file() {
        return Ok(());
    }
    let dir = path
        .parent()
        .ok_or_else(|| Error::Corrupt("media path".into()))?;
    let created = !dir.is_dir();
    std::fs::create_dir_all(dir)?;
    if created {
        // New directories must themselves survive a crash: each is an
        // entry in its parent.
        sync_dir(media_dir)?;
        if let Some(data_dir) = media_dir.parent() {
            sync_dir(data_dir)?;
        }
    }
    Ok(write_durably(&path, &media.bytes)?)
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

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Reads the bytes of a stored media. Blocking I/O.
pub fn read_file(media_dir: &Path, media: &Media) -> Result<Vec<u8>> {
    let bytes = std::fs::read(file_path(media_dir, &media.sha256))?;
    if bytes.len() as u64 != media.bytes {
        return Err(Error::Corrupt(format!(
            "{} holds {} bytes, its row says {}",
            media.media_id,
            bytes.len(),
            media.bytes
        )));
    }
    Ok(bytes)
}

const MEDIA_COLUMNS: &str = "id, uploader_id, sha256, content_type, bytes, created_at";

fn media_from_row(row: &Row<'_>) -> Result<Media> {
    let content_type: String = row.get(3)?;
    let sha256: Vec<u8> = row.get(2)?;
    let id: i64 = row.get(0)?;
    let corrupt = |what: &str| Error::Corrupt(format!("media {id}: {what}"));
    Ok(Media {
        media_id: MediaId::from_row(id),
        uploader: AccountId::from_row(row.get(1)?),
        media_type: MediaType::from_content_type(&content_type)
            .ok_or_else(|| corrupt("content type"))?,
        sha256: sha256.try_into().map_err(|_| corrupt("sha256"))?,
        bytes: u64::try_from(row.get::<_, i64>(4)?).map_err(|_| corrupt("size"))?,
        created_at: Timestamp::from_unix_ms(row.get(5)?),
    })
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

/// What an account keeps, as far as one new upload is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub used_bytes: u64,
    /// The account already keeps these very bytes: the upload answers
    /// that media and adds nothing.
    pub kept_already: bool,
}

/// The account's media bytes, and whether it keeps `sha256` already.
pub fn usage(conn: &Connection, account: AccountId, sha256: &[u8; 32]) -> Result<Usage> {
    let used_bytes = used_bytes(conn, account)?;
    let kept_already = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM media WHERE uploader_id = ?1 AND sha256 = ?2)",
        )?
        .query_row(params![account.row(), &sha256[..]], |row| row.get(0))?;
    Ok(Usage {
        used_bytes,
        kept_already,
    })
}

fn used_bytes(conn: &Connection, account: AccountId) -> Result<u64> {
    let used: Option<i64> = conn
        .prepare_cached("SELECT bytes FROM media_usage WHERE account_id = ?1")?
        .query_row([account.row()], |row| row.get(0))
        .optional()?;
    Ok(used.map_or(0, |used| used.max(0) as u64))
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
    ctx: &mut WriteCtx<'_>,
    uploader: AccountId,
    media: NewMedia,
    quota: u64,
) -> Result<MediaStored> {
    let earlier = ctx
        .conn
        .prepare_cached(&format!(
            "SELECT {MEDIA_COLUMNS} FROM media WHERE uploader_id = ?1 AND sha256 = ?2"
        ))?
        .query_row(params![uploader.row(), &media.sha256[..]], |row| {
            Ok(media_from_row(row))
        })
        .optional()?
        .transpose()?;
    if let Some(media) = earlier {
        return Ok(MediaStored {
            media,
            replayed: true,
        });
    }
    let bytes = media.bytes.len() as u64;
    within_quota(used_bytes(ctx.conn, uploader)?, bytes, quota)?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO media_usage (account_id, bytes) VALUES (?1, ?2)
             ON CONFLICT (account_id) DO UPDATE SET bytes = bytes + excluded.bytes",
        )?
        .execute(params![uploader.row(), bytes as i64])?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO media (uploader_id, sha256, content_type, bytes, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            uploader.row(),
            &media.sha256[..],
            media.media_type.as_mime(),
            bytes as i64,
            ctx.now.unix_ms()
        ])?;
    Ok(MediaStored {
        media: Media {
            media_id: MediaId::from_row(ctx.conn.last_insert_rowid()),
            uploader,
            media_type: media.media_type,
            sha256: media.sha256,
            bytes,
            created_at: ctx.now,
        },
        replayed: false,
    })
}

fn load(conn: &Connection, media: MediaId) -> Result<Option<Media>> {
    conn.prepare_cached(&format!("SELECT {MEDIA_COLUMNS} FROM media WHERE id = ?1"))?
        .query_row([media.row()], |row| Ok(media_from_row(row)))
        .optional()?
        .transpose()
}

/// What of a media is read: the original bytes as uploaded (EXIF and
/// all), or its thumbnail (re-encoded, with nothing of the original's
/// metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Original,
    Thumbnail,
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
    conn: &Connection,
    viewer: AccountId,
    media: MediaId,
    reading: Reading,
) -> Result<Media> {
    let found = load(conn, media)?.ok_or(Rejection::MediaNotFound)?;
    if found.uploader == viewer {
        return Ok(found);
    }
    let shown: bool = conn
        .prepare_cached(
            "SELECT (?4 AND (EXISTS (SELECT 1 FROM accounts WHERE avatar_media_id = ?3)
                     OR EXISTS (SELECT 1 FROM conversations WHERE avatar_media_id = ?3)))
                 OR EXISTS (
                 SELECT 1 FROM messages m
                 JOIN members mb ON mb.conversation_id = m.conversation_id
                     AND mb.account_id = ?2
                 WHERE m.kind = 'image' AND m.ref = ?1 AND m.seq > mb.from_seq)",
        )?
        .query_row(
            params![
                media.to_string(),
                viewer.row(),
                media.row(),
                reading == Reading::Thumbnail
            ],
            |row| row.get(0),
        )?;
    if shown {
        Ok(found)
    } else {
        Err(Rejection::MediaNotFound.into())
    }
}

/// Sends an image message: `media` must be the sender's own; the rest is
/// `writes::send_message`'s rules (a retry with the same `client_msg_id`,
/// conversation, caption and media replays the first answer).
pub fn send_image(
    ctx: &mut WriteCtx<'_>,
    sender: AccountId,
    conversation: ConversationId,
    client_msg_id: ClientMsgId,
    caption: MessageText,
    media: MediaId,
) -> Result<Sent> {
    let reference = media.to_string();
    if let Some(earlier) = reads::message_by_client_id(ctx.conn, sender, &client_msg_id)? {
        let same = earlier.conversation_id == conversation
            && earlier.text == caption
            && earlier.kind.as_deref() == Some(IMAGE_KIND)
            && earlier.reference.as_deref() == Some(reference.as_str());
        if same {
            return Ok(Sent {
                message: Arc::new(earlier),
                replayed: true,
            });
        }
        return Err(Rejection::ClientMsgIdReused.into());
    }
    match load(ctx.conn, media)? {
        Some(found) if found.uploader == sender => {}
        _ => return Err(Rejection::MediaNotFound.into()),
    }
    let found = reads::membership(ctx.conn, sender, conversation)?.ok_or(Rejection::NotAMember)?;
    let members = reads::member_ids(ctx.conn, conversation)?;
    if found.kind == ConversationKind::Direct {
        let peer = members.iter().copied().find(|member| *member != sender);
        match peer {
            Some(peer) if reads::are_contacts(ctx.conn, sender, peer)? => {}
            _ => return Err(Rejection::NotAContact.into()),
        }
    }
    let message = writes::append_message(
        ctx,
        sender,
        conversation,
        found.last_seq,
        members,
        client_msg_id,
        caption,
        Some((IMAGE_KIND, reference)),
    )?;
    Ok(Sent {
        message,
        replayed: false,
    })
}
