//! Uploaded media's rows: the SQL behind `piazza_core::media` (the files
//! themselves are core's, the same for every engine). `media_usage` holds
//! each account's bytes for its quota, one row read instead of a sum.

use piazza_core::media::purges::{self, Purge};
use piazza_core::media::{Audience, Reads, Writes};
use piazza_domain::media::{Media, MediaFacts, MediaType, NewMedia};
use piazza_domain::{AccountId, MediaId, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::engine::{Db, Sql};
use crate::error::{Error, Result};
use crate::writer::WriteCtx;

impl Reads for Db<'_> {
    fn media(&mut self, media: MediaId) -> piazza_core::Result<Option<Media>> {
        Ok(load(self.0, media)?)
    }

    fn media_uploader(&mut self, media: MediaId) -> piazza_core::Result<Option<AccountId>> {
        let uploader: Option<i64> = self
            .0
            .prepare_cached("SELECT uploader_id FROM media WHERE id = ?1 AND erased_at IS NULL")
            .sql()?
            .query_row([media.row()], |row| row.get(0))
            .optional()
            .sql()?;
        Ok(uploader.map(AccountId::from_row))
    }

    fn media_by_content(
        &mut self,
        uploader: AccountId,
        sha256: &[u8; 32],
    ) -> piazza_core::Result<Option<Media>> {
        Ok(self
            .0
            .prepare_cached(&format!(
                "SELECT {MEDIA_COLUMNS} FROM media WHERE uploader_id = ?1 AND sha256 = ?2"
            ))
            .sql()?
            .query_row(params![uploader.row(), &sha256[..]], |row| {
                Ok(media_from_row(row))
            })
            .optional()
            .sql()?
            .transpose()?)
    }

    fn media_used_bytes(&mut self, account: AccountId) -> piazza_core::Result<u64> {
        used_bytes(self.0, account)
    }

    fn media_audience(
        &mut self,
        viewer: AccountId,
        media: MediaId,
    ) -> piazza_core::Result<Audience> {
        let (current_avatar, in_viewers_messages) = self
            .0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM accounts WHERE avatar_media_id = ?3)
                        OR EXISTS (SELECT 1 FROM conversations WHERE avatar_media_id = ?3),
                        EXISTS (
                            SELECT 1 FROM messages m
                            JOIN members mb ON mb.conversation_id = m.conversation_id
                                AND mb.account_id = ?2
                            WHERE m.kind IN ('image', 'file', 'voice', 'video') AND m.ref = ?1
                              AND m.seq > mb.from_seq)",
            )
            .sql()?
            .query_row(
                params![media.to_string(), viewer.row(), media.row()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .sql()?;
        Ok(Audience {
            current_avatar,
            in_viewers_messages,
        })
    }
}

fn used_bytes(conn: &Connection, account: AccountId) -> piazza_core::Result<u64> {
    let used: Option<i64> = conn
        .prepare_cached("SELECT bytes FROM media_usage WHERE account_id = ?1")
        .sql()?
        .query_row([account.row()], |row| row.get(0))
        .optional()
        .sql()?;
    Ok(used.map_or(0, |used| used.max(0) as u64))
}

// The single writer holds the only write transaction: what it reads stays
// as read until it commits, so the `_for_update` reads need no locks.
impl Writes for WriteCtx<'_> {
    fn media_used_bytes_for_update(&mut self, account: AccountId) -> piazza_core::Result<u64> {
        used_bytes(self.conn, account)
    }

    fn add_media_usage(&mut self, account: AccountId, bytes: u64) -> piazza_core::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO media_usage (account_id, bytes) VALUES (?1, ?2)
                 ON CONFLICT (account_id) DO UPDATE SET bytes = bytes + excluded.bytes",
            )
            .sql()?
            .execute(params![account.row(), bytes as i64])
            .sql()?;
        Ok(())
    }

    fn insert_media(
        &mut self,
        uploader: AccountId,
        media: &NewMedia,
        at: Timestamp,
    ) -> piazza_core::Result<MediaId> {
        self.conn
            .prepare_cached(
                "INSERT INTO media (uploader_id, sha256, content_type, bytes, created_at,
                                    name, width, height, duration_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .sql()?
            .execute(params![
                uploader.row(),
                &media.sha256[..],
                media.media_type.as_mime(),
                media.bytes as i64,
                at.unix_ms(),
                media.name,
                media.facts.width,
                media.facts.height,
                media.facts.duration_ms.map(|ms| ms as i64),
            ])
            .sql()?;
        Ok(MediaId::from_row(self.conn.last_insert_rowid()))
    }
}

const MEDIA_COLUMNS: &str =
    "id, uploader_id, sha256, content_type, bytes, created_at, name, width, height, duration_ms";

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
        name: row.get(6)?,
        facts: MediaFacts {
            width: row.get(7)?,
            height: row.get(8)?,
            duration_ms: row.get::<_, Option<i64>>(9)?.map(|ms| ms.max(0) as u64),
        },
    })
}

fn load(conn: &Connection, media: MediaId) -> Result<Option<Media>> {
    conn.prepare_cached(&format!(
        "SELECT {MEDIA_COLUMNS} FROM media WHERE id = ?1 AND erased_at IS NULL"
    ))?
    .query_row([media.row()], |row| Ok(media_from_row(row)))
    .optional()?
    .transpose()
}

impl purges::Reads for Db<'_> {
    fn bytes_held(&mut self, sha256: &[u8; 32]) -> piazza_core::Result<bool> {
        self.0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM media WHERE sha256 = ?1 AND erased_at IS NULL)",
            )
            .sql()?
            .query_row([&sha256[..]], |row| row.get(0))
            .sql()
    }

    fn bytes_pinned(&mut self, sha256: &[u8; 32], now: Timestamp) -> piazza_core::Result<bool> {
        self.0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM upload_pins WHERE sha256 = ?1 AND until > ?2)",
            )
            .sql()?
            .query_row(params![&sha256[..], now.unix_ms()], |row| row.get(0))
            .sql()
    }
}

// The one writer: nothing runs between a look and a change, so the bytes
// need no lock.
impl purges::Writes for WriteCtx<'_> {
    fn blob_purge_for_update(&mut self, sha256: &[u8; 32]) -> piazza_core::Result<Option<Purge>> {
        self.conn
            .prepare_cached("SELECT claimed_at, retry_at FROM blob_purges WHERE sha256 = ?1")
            .sql()?
            .query_row([&sha256[..]], |row| {
                Ok(Purge {
                    claimed_at: row.get::<_, Option<i64>>(0)?.map(Timestamp::from_unix_ms),
                    retry_at: Timestamp::from_unix_ms(row.get(1)?),
                })
            })
            .optional()
            .sql()
    }

    fn blob_purges_due(
        &mut self,
        now: Timestamp,
        stale_before: Timestamp,
        limit: u32,
    ) -> piazza_core::Result<Vec<[u8; 32]>> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT sha256 FROM blob_purges
                 WHERE (claimed_at IS NULL AND retry_at <= ?1) OR claimed_at < ?2
                 ORDER BY retry_at, sha256 LIMIT ?3",
            )
            .sql()?;
        let rows = statement
            .query_map(
                params![now.unix_ms(), stale_before.unix_ms(), limit],
                |row| row.get::<_, Vec<u8>>(0),
            )
            .sql()?;
        rows.map(|row| {
            row.sql()?.try_into().map_err(|_| {
                piazza_core::Error::Corrupt("a blob purge's sha256 is not 32 bytes".into())
            })
        })
        .collect()
    }

    fn set_blob_purge(&mut self, sha256: &[u8; 32], purge: Purge) -> piazza_core::Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE blob_purges SET claimed_at = ?2, retry_at = ?3 WHERE sha256 = ?1",
            )
            .sql()?
            .execute(params![
                &sha256[..],
                purge.claimed_at.map(Timestamp::unix_ms),
                purge.retry_at.unix_ms()
            ])
            .sql()?;
        Ok(())
    }

    fn delete_blob_purge(&mut self, sha256: &[u8; 32]) -> piazza_core::Result<()> {
        self.conn
            .prepare_cached("DELETE FROM blob_purges WHERE sha256 = ?1")
            .sql()?
            .execute([&sha256[..]])
            .sql()?;
        Ok(())
    }

    fn pin_bytes(&mut self, sha256: &[u8; 32], until: Timestamp) -> piazza_core::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO upload_pins (sha256, until) VALUES (?1, ?2)
                 ON CONFLICT (sha256) DO UPDATE SET until = max(until, excluded.until)",
            )
            .sql()?
            .execute(params![&sha256[..], until.unix_ms()])
            .sql()?;
        Ok(())
    }

    fn unpin_bytes(&mut self, sha256: &[u8; 32]) -> piazza_core::Result<()> {
        self.conn
            .prepare_cached("DELETE FROM upload_pins WHERE sha256 = ?1")
            .sql()?
            .execute([&sha256[..]])
            .sql()?;
        Ok(())
    }
}
