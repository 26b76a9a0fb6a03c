//! Uploaded media's rows: the SQL behind `piazza_core::media` (the files
//! are core's, in the data directory, as on SQLite). `media_usage` holds
//! each account's bytes for its quota.

use piazza_core::Result;
use piazza_core::media::purges::{self, Purge};
use piazza_core::media::{Audience, Reads, Writes};
use piazza_domain::media::{Media, MediaFacts, MediaType, NewMedia};
use piazza_domain::{AccountId, MediaId, Timestamp};
use postgres::Row;

use crate::conn::{Conn, corrupt};
use crate::contacts::lock_accounts;
use crate::{Db, PgTx};

/// The columns `media_from_row` reads.
macro_rules! media_columns {
    () => {
        "id, uploader_id, sha256, content_type, bytes, created_at, name, width, height, duration_ms"
    };
}

fn media_from_row(row: &Row) -> Result<Media> {
    let id: i64 = row.get(0);
    let wrong = |what: &str| corrupt(format!("media {id}: {what}"));
    let content_type: String = row.get(3);
    let sha256: Vec<u8> = row.get(2);
    Ok(Media {
        media_id: MediaId::from_row(id),
        uploader: AccountId::from_row(row.get(1)),
        media_type: MediaType::from_content_type(&content_type)
            .ok_or_else(|| wrong("content type"))?,
        sha256: sha256.try_into().map_err(|_| wrong("sha256"))?,
        bytes: u64::try_from(row.get::<_, i64>(4)).map_err(|_| wrong("size"))?,
        created_at: Timestamp::from_unix_ms(row.get(5)),
        name: row.get(6),
        facts: MediaFacts {
            width: row
                .get::<_, Option<i64>>(7)
                .and_then(|px| u32::try_from(px).ok()),
            height: row
                .get::<_, Option<i64>>(8)
                .and_then(|px| u32::try_from(px).ok()),
            duration_ms: row.get::<_, Option<i64>>(9).map(|ms| ms.max(0) as u64),
        },
    })
}

impl Reads for Db<'_> {
    fn media(&mut self, media: MediaId) -> Result<Option<Media>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                media_columns!(),
                " FROM media WHERE id = $1 AND erased_at IS NULL"
            ),
            &[&media.row()],
        )?;
        row.as_ref().map(media_from_row).transpose()
    }

    fn media_uploader(&mut self, media: MediaId) -> Result<Option<AccountId>> {
        let row = self.0.query_opt(
            "SELECT uploader_id FROM media WHERE id = $1 AND erased_at IS NULL",
            &[&media.row()],
        )?;
        Ok(row.map(|row| AccountId::from_row(row.get(0))))
    }

    fn media_by_content(
        &mut self,
        uploader: AccountId,
        sha256: &[u8; 32],
    ) -> Result<Option<Media>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                media_columns!(),
                " FROM media WHERE uploader_id = $1 AND sha256 = $2"
            ),
            &[&uploader.row(), &&sha256[..]],
        )?;
        row.as_ref().map(media_from_row).transpose()
    }

    fn media_used_bytes(&mut self, account: AccountId) -> Result<u64> {
        used_bytes(self.0, account)
    }

    fn media_audience(&mut self, viewer: AccountId, media: MediaId) -> Result<Audience> {
        let row = self.0.query_one(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE avatar_media_id = $3)
                    OR EXISTS (SELECT 1 FROM conversations WHERE avatar_media_id = $3),
                    EXISTS (
                        SELECT 1 FROM messages m
                        JOIN members mb ON mb.conversation_id = m.conversation_id
                            AND mb.account_id = $2
                        WHERE m.kind IN ('image', 'file', 'voice', 'video') AND m.ref = $1
                          AND m.seq > mb.from_seq)",
            &[&media.to_string(), &viewer.row(), &media.row()],
        )?;
        Ok(Audience {
            current_avatar: row.get(0),
            in_viewers_messages: row.get(1),
        })
    }
}

fn used_bytes(conn: &mut Conn, account: AccountId) -> Result<u64> {
    let row = conn.query_opt(
        "SELECT bytes FROM media_usage WHERE account_id = $1",
        &[&account.row()],
    )?;
    Ok(row.map_or(0, |row| row.get::<_, i64>(0).max(0) as u64))
}

impl Writes for PgTx<'_> {
    fn media_used_bytes_for_update(&mut self, account: AccountId) -> Result<u64> {
        // The account's row, not its usage row: an account's first upload
        // has no usage row to lock yet.
        lock_accounts(self.conn(), &[account])?;
        used_bytes(self.conn(), account)
    }

    fn add_media_usage(&mut self, account: AccountId, bytes: u64) -> Result<()> {
        let bytes = i64::try_from(bytes).map_err(|_| corrupt("a media larger than i64"))?;
        self.conn().execute(
            "INSERT INTO media_usage (account_id, bytes) VALUES ($1, $2)
             ON CONFLICT (account_id) DO UPDATE SET bytes = media_usage.bytes + excluded.bytes",
            &[&account.row(), &bytes],
        )?;
        Ok(())
    }

    fn insert_media(
        &mut self,
        uploader: AccountId,
        media: &NewMedia,
        at: Timestamp,
    ) -> Result<MediaId> {
        let row = self.conn().query_one(
            "INSERT INTO media (uploader_id, sha256, content_type, bytes, created_at,
                                name, width, height, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[
                &uploader.row(),
                &&media.sha256[..],
                &media.media_type.as_mime(),
                &(media.bytes as i64),
                &at.unix_ms(),
                &media.name,
                &media.facts.width.map(i64::from),
                &media.facts.height.map(i64::from),
                &media.facts.duration_ms.map(|ms| ms as i64),
            ],
        )?;
        Ok(MediaId::from_row(row.get(0)))
    }
}

/// The class of the advisory locks on media bytes: "Pm".
const BYTES_LOCK_CLASS: i32 = 0x506d;

/// Locks the bytes hashing to `sha256` until the transaction ends (their
/// hash's first four bytes: two contents that share them only wait for
/// each other). An upload and a sweeper's claim of the same bytes take
/// turns.
fn lock_bytes(tx: &mut PgTx<'_>, sha256: &[u8; 32]) -> Result<()> {
    let key = i32::from_be_bytes([sha256[0], sha256[1], sha256[2], sha256[3]]);
    tx.conn().execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&BYTES_LOCK_CLASS, &key],
    )?;
    Ok(())
}

impl purges::Reads for Db<'_> {
    fn bytes_held(&mut self, sha256: &[u8; 32]) -> Result<bool> {
        let row = self.0.query_one(
            "SELECT EXISTS (SELECT 1 FROM media WHERE sha256 = $1 AND erased_at IS NULL)",
            &[&&sha256[..]],
        )?;
        Ok(row.get(0))
    }

    fn bytes_pinned(&mut self, sha256: &[u8; 32], now: Timestamp) -> Result<bool> {
        let row = self.0.query_one(
            "SELECT EXISTS (SELECT 1 FROM upload_pins WHERE sha256 = $1 AND until > $2)",
            &[&&sha256[..], &now.unix_ms()],
        )?;
        Ok(row.get(0))
    }
}

impl purges::Writes for PgTx<'_> {
    fn blob_purge_for_update(&mut self, sha256: &[u8; 32]) -> Result<Option<Purge>> {
        // The bytes' lock, held to the commit, then fresh looks: what an
        // upload, an erase or another sweeper did with them is seen.
        lock_bytes(self, sha256)?;
        let row = self.conn().query_opt(
            "SELECT claimed_at, retry_at FROM blob_purges WHERE sha256 = $1",
            &[&&sha256[..]],
        )?;
        Ok(row.map(|row| Purge {
            claimed_at: row.get::<_, Option<i64>>(0).map(Timestamp::from_unix_ms),
            retry_at: Timestamp::from_unix_ms(row.get(1)),
        }))
    }

    fn blob_purges_due(
        &mut self,
        now: Timestamp,
        stale_before: Timestamp,
        limit: u32,
    ) -> Result<Vec<[u8; 32]>> {
        let rows = self.conn().query(
            "SELECT sha256 FROM blob_purges
             WHERE (claimed_at IS NULL AND retry_at <= $1) OR claimed_at < $2
             ORDER BY retry_at, sha256 LIMIT $3",
            &[&now.unix_ms(), &stale_before.unix_ms(), &i64::from(limit)],
        )?;
        rows.iter()
            .map(|row| {
                row.get::<_, Vec<u8>>(0)
                    .try_into()
                    .map_err(|_| corrupt("a blob purge's sha256 is not 32 bytes"))
            })
            .collect()
    }

    fn set_blob_purge(&mut self, sha256: &[u8; 32], purge: Purge) -> Result<()> {
        self.conn().execute(
            "UPDATE blob_purges SET claimed_at = $2, retry_at = $3 WHERE sha256 = $1",
            &[
                &&sha256[..],
                &purge.claimed_at.map(Timestamp::unix_ms),
                &purge.retry_at.unix_ms(),
            ],
        )?;
        Ok(())
    }

    fn delete_blob_purge(&mut self, sha256: &[u8; 32]) -> Result<()> {
        self.conn()
            .execute("DELETE FROM blob_purges WHERE sha256 = $1", &[&&sha256[..]])?;
        Ok(())
    }

    fn pin_bytes(&mut self, sha256: &[u8; 32], until: Timestamp) -> Result<()> {
        self.conn().execute(
            "INSERT INTO upload_pins (sha256, until) VALUES ($1, $2)
             ON CONFLICT (sha256) DO UPDATE SET until = GREATEST(upload_pins.until, excluded.until)",
            &[&&sha256[..], &until.unix_ms()],
        )?;
        Ok(())
    }

    fn unpin_bytes(&mut self, sha256: &[u8; 32]) -> Result<()> {
        self.conn()
            .execute("DELETE FROM upload_pins WHERE sha256 = $1", &[&&sha256[..]])?;
        Ok(())
    }
}
