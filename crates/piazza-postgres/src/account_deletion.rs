//! Deleted accounts: the SQL behind `piazza_core::account_deletion`.

use piazza_core::Result;
use piazza_core::account_deletion::{Deletion, Reads, Writes};
use piazza_domain::store::Credentials;
use piazza_domain::{AccountId, ChannelId, ConversationId, DeviceId, MediaId, Timestamp, Username};

use crate::{Db, PgTx};

impl Reads for Db<'_> {
    fn deletion(&mut self, account: AccountId) -> Result<Option<Deletion>> {
        let row = self.0.query_opt(
            "SELECT username, display_name, avatar_media_id, bio, requested_at, erase_at
             FROM account_deletions WHERE account_id = $1",
            &[&account.row()],
        )?;
        Ok(row.map(|row| Deletion {
            account,
            username: Username::from_store(row.get(0)),
            display_name: row.get(1),
            avatar_media_id: row.get::<_, Option<i64>>(2).map(MediaId::from_row),
            bio: row.get::<_, Option<String>>(3).unwrap_or_default(),
            requested_at: Timestamp::from_unix_ms(row.get(4)),
            erase_at: Timestamp::from_unix_ms(row.get(5)),
        }))
    }

    fn deletion_credentials(&mut self, username: &Username) -> Result<Option<Credentials>> {
        let row = self.0.query_opt(
            "SELECT a.id, a.password_hash
             FROM account_deletions d JOIN accounts a ON a.id = d.account_id
             WHERE d.username = $1",
            &[&username.as_str()],
        )?;
        Ok(row.map(|row| Credentials {
            account_id: AccountId::from_row(row.get(0)),
            password_hash: row.get(1),
        }))
    }

    fn money_in_flight(&mut self, account: AccountId) -> Result<bool> {
        let row = self.0.query_one(
            "SELECT EXISTS (SELECT 1 FROM transfers WHERE from_id = $1 AND status = 0)
                 OR EXISTS (SELECT 1 FROM red_packets WHERE sender_id = $1 AND status = 0)
                 OR EXISTS (SELECT 1 FROM orders
                            WHERE buyer_id = $1 AND status IN ('paid', 'shipped'))
                 OR EXISTS (SELECT 1 FROM order_refund_requests r
                            JOIN orders o ON o.id = r.order_id
                            WHERE o.buyer_id = $1 AND r.status = 'requested')",
            &[&account.row()],
        )?;
        Ok(row.get(0))
    }

    fn conversations_to_leave(
        &mut self,
        account: AccountId,
    ) -> Result<Vec<(ConversationId, bool)>> {
        let rows = self.0.query(
            "SELECT m.conversation_id, c.kind = 1 FROM members m
             JOIN conversations c ON c.id = m.conversation_id
             WHERE m.account_id = $1 AND c.kind IN (1, 2) ORDER BY m.conversation_id",
            &[&account.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| (ConversationId::from_row(row.get(0)), row.get(1)))
            .collect())
    }

    fn followed_channels(&mut self, account: AccountId) -> Result<Vec<ChannelId>> {
        let rows = self.0.query(
            "SELECT channel_id FROM channel_follows WHERE account_id = $1 ORDER BY channel_id",
            &[&account.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| ChannelId::from_row(row.get(0)))
            .collect())
    }

    fn is_erased(&mut self, account: AccountId) -> Result<bool> {
        let row = self.0.query_one(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1 AND deleted_at IS NOT NULL
                 AND id NOT IN (SELECT account_id FROM account_deletions))",
            &[&account.row()],
        )?;
        Ok(row.get(0))
    }

    fn is_deleted(&mut self, account: AccountId) -> Result<bool> {
        let row = self.0.query_one(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1 AND deleted_at IS NOT NULL)",
            &[&account.row()],
        )?;
        Ok(row.get(0))
    }
}

impl Writes for PgTx<'_> {
    fn insert_deletion(&mut self, deletion: &Deletion) -> Result<()> {
        let bio = (!deletion.bio.is_empty()).then_some(deletion.bio.as_str());
        self.conn().execute(
            "INSERT INTO account_deletions
                 (account_id, username, display_name, avatar_media_id, bio, requested_at, erase_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &deletion.account.row(),
                &deletion.username.as_str(),
                &deletion.display_name,
                &deletion.avatar_media_id.map(MediaId::row),
                &bio,
                &deletion.requested_at.unix_ms(),
                &deletion.erase_at.unix_ms(),
            ],
        )?;
        Ok(())
    }

    fn delete_deletion(&mut self, account: AccountId) -> Result<()> {
        self.conn().execute(
            "DELETE FROM account_deletions WHERE account_id = $1",
            &[&account.row()],
        )?;
        Ok(())
    }

    fn set_deleted(
        &mut self,
        account: AccountId,
        username: &str,
        deleted_at: Option<Timestamp>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE accounts SET username = $2, deleted_at = $3 WHERE id = $1",
            &[
                &account.row(),
                &username,
                &deleted_at.map(Timestamp::unix_ms),
            ],
        )?;
        Ok(())
    }

    fn deletions_due(&mut self, now: Timestamp, limit: u32) -> Result<Vec<AccountId>> {
        let rows = self.conn().query(
            "SELECT account_id FROM account_deletions WHERE erase_at <= $1
             ORDER BY erase_at, account_id LIMIT $2",
            &[&now.unix_ms(), &i64::from(limit)],
        )?;
        Ok(rows
            .iter()
            .map(|row| AccountId::from_row(row.get(0)))
            .collect())
    }

    fn erase_rows(&mut self, account: AccountId, at: Timestamp) -> Result<Vec<DeviceId>> {
        let id = account.row();
        let revoked = self.conn().query(
            "UPDATE devices SET revoked_at = $2
             WHERE account_id = $1 AND revoked_at IS NULL RETURNING id",
            &[&id, &at.unix_ms()],
        )?;
        for sql in [
            "DELETE FROM contact_requests WHERE from_id = $1 OR to_id = $1",
            "DELETE FROM blocks WHERE account_id = $1 OR blocked_id = $1",
            "DELETE FROM contact_codes WHERE account_id = $1",
            "DELETE FROM shop_staff WHERE account_id = $1",
            "DELETE FROM export_links
             WHERE export_id IN (SELECT id FROM exports WHERE account_id = $1)",
            "DELETE FROM exports WHERE account_id = $1",
            "DELETE FROM account_log WHERE account_id = $1",
            "UPDATE accounts SET password_hash = '!' WHERE id = $1",
        ] {
            self.conn().execute(sql, &[&id])?;
        }
        // No lock on the bytes: an upload of the same ones committing
        // meanwhile may leave a purge queued for bytes it holds, which the
        // claim drops, looking again under the bytes' lock
        // (`piazza_core::media::purges::claim_next`).
        self.conn().execute(
            "UPDATE media SET erased_at = $2 WHERE uploader_id = $1 AND erased_at IS NULL",
            &[&id, &at.unix_ms()],
        )?;
        self.conn().execute(
            "INSERT INTO blob_purges (sha256)
                 SELECT DISTINCT m.sha256 FROM media m
                 WHERE m.uploader_id = $1 AND NOT EXISTS
                     (SELECT 1 FROM media l WHERE l.sha256 = m.sha256 AND l.erased_at IS NULL)
             ON CONFLICT DO NOTHING",
            &[&id],
        )?;
        Ok(revoked
            .iter()
            .map(|row| DeviceId::from_row(row.get(0)))
            .collect())
    }
}
