//! Deleted accounts: the SQL behind `piazza_core::account_deletion`.

use piazza_core::Result;
use piazza_core::account_deletion::{Deletion, Reads, Writes};
use piazza_domain::store::Credentials;
use piazza_domain::{AccountId, ChannelId, ConversationId, DeviceId, MediaId, Timestamp, Username};
use rusqlite::{OptionalExtension, params};

use crate::engine::{Db, Sql};
use crate::writer::WriteCtx;

impl Reads for Db<'_> {
    fn deletion(&mut self, account: AccountId) -> Result<Option<Deletion>> {
        self.0
            .prepare_cached(
                "SELECT username, display_name, avatar_media_id, bio, requested_at, erase_at
                 FROM account_deletions WHERE account_id = ?1",
            )
            .sql()?
            .query_row([account.row()], |row| {
                Ok(Deletion {
                    account,
                    username: Username::from_store(row.get(0)?),
                    display_name: row.get(1)?,
                    avatar_media_id: row.get::<_, Option<i64>>(2)?.map(MediaId::from_row),
                    bio: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    requested_at: Timestamp::from_unix_ms(row.get(4)?),
                    erase_at: Timestamp::from_unix_ms(row.get(5)?),
                })
            })
            .optional()
            .sql()
    }

    fn deletion_credentials(&mut self, username: &Username) -> Result<Option<Credentials>> {
        self.0
            .prepare_cached(
                "SELECT a.id, a.password_hash
                 FROM account_deletions d JOIN accounts a ON a.id = d.account_id
                 WHERE d.username = ?1",
            )
            .sql()?
            .query_row([username.as_str()], |row| {
                Ok(Credentials {
                    account_id: AccountId::from_row(row.get(0)?),
                    password_hash: row.get(1)?,
                })
            })
            .optional()
            .sql()
    }

    fn money_in_flight(&mut self, account: AccountId) -> Result<bool> {
        self.money_in_flight_here(account)
    }

    fn conversations_to_leave(
        &mut self,
        account: AccountId,
    ) -> Result<Vec<(ConversationId, bool)>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT m.conversation_id, c.kind = 1 FROM members m
                 JOIN conversations c ON c.id = m.conversation_id
                 WHERE m.account_id = ?1 AND c.kind IN (1, 2) ORDER BY m.conversation_id",
            )
            .sql()?;
        let rows = statement
            .query_map([account.row()], |row| {
                Ok((ConversationId::from_row(row.get(0)?), row.get(1)?))
            })
            .sql()?;
        rows.collect::<rusqlite::Result<_>>().sql()
    }

    fn followed_channels(&mut self, account: AccountId) -> Result<Vec<ChannelId>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT channel_id FROM channel_follows WHERE account_id = ?1 ORDER BY channel_id",
            )
            .sql()?;
        let rows = statement
            .query_map([account.row()], |row| Ok(ChannelId::from_row(row.get(0)?)))
            .sql()?;
        rows.collect::<rusqlite::Result<_>>().sql()
    }

    fn is_erased(&mut self, account: AccountId) -> Result<bool> {
        self.0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?1 AND deleted_at IS NOT NULL
                     AND id NOT IN (SELECT account_id FROM account_deletions))",
            )
            .sql()?
            .query_row([account.row()], |row| row.get(0))
            .sql()
    }

    fn is_deleted(&mut self, account: AccountId) -> Result<bool> {
        self.0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?1 AND deleted_at IS NOT NULL)",
            )
            .sql()?
            .query_row([account.row()], |row| row.get(0))
            .sql()
    }
}

impl Db<'_> {
    fn money_in_flight_here(&mut self, account: AccountId) -> Result<bool> {
        self.0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM transfers WHERE from_id = ?1 AND status = 0)
                     OR EXISTS (SELECT 1 FROM red_packets WHERE sender_id = ?1 AND status = 0)
                     OR EXISTS (SELECT 1 FROM orders
                                WHERE buyer_id = ?1 AND status IN ('paid', 'shipped'))
                     OR EXISTS (SELECT 1 FROM order_refund_requests r
                                JOIN orders o ON o.id = r.order_id
                                WHERE o.buyer_id = ?1 AND r.status = 'requested')",
            )
            .sql()?
            .query_row([account.row()], |row| row.get(0))
            .sql()
    }
}

impl Writes for WriteCtx<'_> {
    fn insert_deletion(&mut self, deletion: &Deletion) -> Result<()> {
        let bio = (!deletion.bio.is_empty()).then_some(deletion.bio.as_str());
        self.conn
            .prepare_cached(
                "INSERT INTO account_deletions
                     (account_id, username, display_name, avatar_media_id, bio, requested_at,
                      erase_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .sql()?
            .execute(params![
                deletion.account.row(),
                deletion.username.as_str(),
                deletion.display_name,
                deletion.avatar_media_id.map(MediaId::row),
                bio,
                deletion.requested_at.unix_ms(),
                deletion.erase_at.unix_ms(),
            ])
            .sql()?;
        Ok(())
    }

    fn delete_deletion(&mut self, account: AccountId) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM account_deletions WHERE account_id = ?1")
            .sql()?
            .execute([account.row()])
            .sql()?;
        Ok(())
    }

    fn set_deleted(
        &mut self,
        account: AccountId,
        username: &str,
        deleted_at: Option<Timestamp>,
    ) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE accounts SET username = ?2, deleted_at = ?3 WHERE id = ?1")
            .sql()?
            .execute(params![
                account.row(),
                username,
                deleted_at.map(Timestamp::unix_ms)
            ])
            .sql()?;
        Ok(())
    }

    fn deletions_due(&mut self, now: Timestamp, limit: u32) -> Result<Vec<AccountId>> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT account_id FROM account_deletions WHERE erase_at <= ?1
                 ORDER BY erase_at, account_id LIMIT ?2",
            )
            .sql()?;
        let rows = statement
            .query_map(params![now.unix_ms(), limit], |row| {
                Ok(AccountId::from_row(row.get(0)?))
            })
            .sql()?;
        rows.collect::<rusqlite::Result<_>>().sql()
    }

    fn erase_rows(&mut self, account: AccountId, at: Timestamp) -> Result<Vec<DeviceId>> {
        let revoked = {
            let mut statement = self
                .conn
                .prepare_cached(
                    "UPDATE devices SET revoked_at = ?2
                     WHERE account_id = ?1 AND revoked_at IS NULL RETURNING id",
                )
                .sql()?;
            let rows = statement
                .query_map(params![account.row(), at.unix_ms()], |row| {
                    Ok(DeviceId::from_row(row.get(0)?))
                })
                .sql()?;
            rows.collect::<rusqlite::Result<Vec<_>>>().sql()?
        };
        self.conn
            .execute_batch(&format!(
                "DELETE FROM contact_requests WHERE from_id = {id} OR to_id = {id};
                 DELETE FROM blocks WHERE account_id = {id} OR blocked_id = {id};
                 DELETE FROM contact_codes WHERE account_id = {id};
                 DELETE FROM shop_staff WHERE account_id = {id};
                 DELETE FROM export_links
                     WHERE export_id IN (SELECT id FROM exports WHERE account_id = {id});
                 DELETE FROM exports WHERE account_id = {id};
                 DELETE FROM account_log WHERE account_id = {id};
                 DELETE FROM account_log_tail WHERE account_id = {id};
                 UPDATE media SET erased_at = {at} WHERE uploader_id = {id} AND erased_at IS NULL;
                 INSERT INTO blob_purges (sha256)
                     SELECT DISTINCT m.sha256 FROM media m
                     WHERE m.uploader_id = {id} AND NOT EXISTS
                         (SELECT 1 FROM media l WHERE l.sha256 = m.sha256 AND l.erased_at IS NULL)
                     ON CONFLICT DO NOTHING;
                 UPDATE accounts SET password_hash = '!' WHERE id = {id};",
                id = account.row(),
                at = at.unix_ms(),
            ))
            .sql()?;
        self.removed_from(crate::tails::ACCOUNT_LOG);
        Ok(revoked)
    }
}
