//! Profiles and passwords: the SQL behind `piazza_core::profiles`.

use piazza_core::Result;
use piazza_core::profiles::{Reads, Relation, Writes};
use piazza_domain::store::Account;
use piazza_domain::{AccountId, DeviceId, MediaId, Timestamp};

use crate::accounts::{account_at, account_columns};
use crate::{Db, PgTx};

impl Reads for Db<'_> {
    fn password_hash(&mut self, account: AccountId) -> Result<Option<String>> {
        let row = self.0.query_opt(
            "SELECT password_hash FROM accounts WHERE id = $1",
            &[&account.row()],
        )?;
        Ok(row.map(|row| row.get(0)))
    }

    fn relation(&mut self, viewer: AccountId, account: AccountId) -> Result<Relation> {
        let row = self.0.query_one(
            "SELECT
                 EXISTS (SELECT 1 FROM contacts WHERE account_id = $1 AND contact_id = $2),
                 EXISTS (SELECT 1 FROM members mine JOIN members theirs
                             ON theirs.conversation_id = mine.conversation_id
                         WHERE mine.account_id = $1 AND theirs.account_id = $2),
                 EXISTS (SELECT 1 FROM contact_requests
                         WHERE ((from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id = $1))
                           AND status IN (0, 2))",
            &[&viewer.row(), &account.row()],
        )?;
        Ok(Relation {
            is_contact: row.get(0),
            shares_conversation: row.get(1),
            has_open_request: row.get(2),
        })
    }
}

impl Writes for PgTx<'_> {
    fn account_for_update(&mut self, account: AccountId) -> Result<Option<Account>> {
        let row = self.conn().query_opt(
            concat!(
                "SELECT ",
                account_columns!(),
                " FROM accounts WHERE id = $1 FOR NO KEY UPDATE"
            ),
            &[&account.row()],
        )?;
        Ok(row.map(|row| account_at(&row, 0)))
    }

    fn password_hash_for_update(&mut self, account: AccountId) -> Result<Option<String>> {
        let row = self.conn().query_opt(
            "SELECT password_hash FROM accounts WHERE id = $1 FOR NO KEY UPDATE",
            &[&account.row()],
        )?;
        Ok(row.map(|row| row.get(0)))
    }

    fn live_device_for_update(&mut self, account: AccountId, device: DeviceId) -> Result<bool> {
        // Locked, the row is read again as last committed: a revocation
        // that committed while this waited leaves it out.
        let row = self.conn().query_opt(
            "SELECT 1 FROM devices WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL
             FOR NO KEY UPDATE",
            &[&device.row(), &account.row()],
        )?;
        Ok(row.is_some())
    }

    fn set_profile(&mut self, profile: &Account) -> Result<()> {
        let bio = (!profile.bio.is_empty()).then_some(profile.bio.as_str());
        self.conn().execute(
            "UPDATE accounts SET display_name = $1, avatar_media_id = $2, bio = $3 WHERE id = $4",
            &[
                &profile.display_name,
                &profile.avatar_media_id.map(MediaId::row),
                &bio,
                &profile.account_id.row(),
            ],
        )?;
        Ok(())
    }

    fn set_password_hash(&mut self, account: AccountId, password_hash: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE accounts SET password_hash = $1 WHERE id = $2",
            &[&password_hash, &account.row()],
        )?;
        Ok(())
    }

    fn revoke_other_devices(
        &mut self,
        account: AccountId,
        kept: DeviceId,
        at: Timestamp,
    ) -> Result<Vec<DeviceId>> {
        let rows = self.conn().query(
            "UPDATE devices SET revoked_at = $1
             WHERE account_id = $2 AND revoked_at IS NULL AND id <> $3
             RETURNING id",
            &[&at.unix_ms(), &account.row(), &kept.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| DeviceId::from_row(row.get(0)))
            .collect())
    }
}
