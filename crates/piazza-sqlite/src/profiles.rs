//! Profiles and passwords: the SQL behind `piazza_core::profiles`. (A
//! group's title and picture are chat's: `chat.rs`.)

use piazza_core::profiles::{Reads, Relation, Writes};
use piazza_domain::store::Account;
use piazza_domain::{AccountId, DeviceId, MediaId, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use crate::engine::{Db, Sql};
use crate::reads;
use crate::writer::WriteCtx;

impl Reads for Db<'_> {
    fn password_hash(&mut self, account: AccountId) -> piazza_core::Result<Option<String>> {
        password_hash(self.0, account)
    }

    fn relation(&mut self, viewer: AccountId, account: AccountId) -> piazza_core::Result<Relation> {
        let (is_contact, shares_conversation, has_open_request) = self
            .0
            .prepare_cached(
                "SELECT
                     EXISTS (SELECT 1 FROM contacts WHERE account_id = ?1 AND contact_id = ?2),
                     EXISTS (SELECT 1 FROM members mine JOIN members theirs
                                 ON theirs.conversation_id = mine.conversation_id
                             WHERE mine.account_id = ?1 AND theirs.account_id = ?2),
                     EXISTS (SELECT 1 FROM contact_requests
                             WHERE ((from_id = ?1 AND to_id = ?2) OR (from_id = ?2 AND to_id = ?1))
                               AND status IN (0, 2))",
            )
            .sql()?
            .query_row([viewer.row(), account.row()], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .sql()?;
        Ok(Relation {
            is_contact,
            shares_conversation,
            has_open_request,
        })
    }
}

fn password_hash(conn: &Connection, account: AccountId) -> piazza_core::Result<Option<String>> {
    conn.prepare_cached("SELECT password_hash FROM accounts WHERE id = ?1")
        .sql()?
        .query_row([account.row()], |row| row.get(0))
        .optional()
        .sql()
}

// The single writer holds the only write transaction: what it reads stays
// as read until it commits, so the `_for_update` reads need no locks.
impl Writes for WriteCtx<'_> {
    fn account_for_update(&mut self, account: AccountId) -> piazza_core::Result<Option<Account>> {
        Ok(reads::find_account(self.conn, account)?)
    }

    fn password_hash_for_update(
        &mut self,
        account: AccountId,
    ) -> piazza_core::Result<Option<String>> {
        password_hash(self.conn, account)
    }

    fn live_device_for_update(
        &mut self,
        account: AccountId,
        device: DeviceId,
    ) -> piazza_core::Result<bool> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM devices
                                WHERE id = ?1 AND account_id = ?2 AND revoked_at IS NULL)",
            )
            .sql()?
            .query_row([device.row(), account.row()], |row| row.get(0))
            .sql()
    }

    fn set_profile(&mut self, profile: &Account) -> piazza_core::Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE accounts SET display_name = ?1, avatar_media_id = ?2, bio = ?3 WHERE id = ?4",
            )
            .sql()?
            .execute(params![
                profile.display_name,
                profile.avatar_media_id.map(MediaId::row),
                (!profile.bio.is_empty()).then_some(profile.bio.as_str()),
                profile.account_id.row()
            ])
            .sql()?;
        Ok(())
    }

    fn set_password_hash(
        &mut self,
        account: AccountId,
        password_hash: &str,
    ) -> piazza_core::Result<()> {
        self.conn
            .prepare_cached("UPDATE accounts SET password_hash = ?1 WHERE id = ?2")
            .sql()?
            .execute(params![password_hash, account.row()])
            .sql()?;
        Ok(())
    }

    fn revoke_other_devices(
        &mut self,
        account: AccountId,
        kept: DeviceId,
        at: Timestamp,
    ) -> piazza_core::Result<Vec<DeviceId>> {
        let revoked = self
            .conn
            .prepare_cached(
                "SELECT id FROM devices WHERE account_id = ?1 AND revoked_at IS NULL AND id <> ?2",
            )
            .sql()?
            .query_map([account.row(), kept.row()], |row| {
                Ok(DeviceId::from_row(row.get(0)?))
            })
            .sql()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .sql()?;
        self.conn
            .prepare_cached(
                "UPDATE devices SET revoked_at = ?1
                 WHERE account_id = ?2 AND revoked_at IS NULL AND id <> ?3",
            )
            .sql()?
            .execute(params![at.unix_ms(), account.row(), kept.row()])
            .sql()?;
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use piazza_domain::store::{OtherDevices, TokenHash};
    use piazza_domain::{Rejection, StoreError};

    use crate::reads;
    use crate::test_support::{Nobody, account, core, device};
    use crate::{SqliteStore, StoreOptions};

    /// The route checks the token, then runs Argon2 on the old password
    /// (a second or so) before the store commits: a device signed out in
    /// between must not change the password, nor sign the others out.
    #[tokio::test]
    async fn a_device_signed_out_meanwhile_cannot_change_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(dir.path(), StoreOptions::default(), Arc::new(Nobody)).unwrap(),
        );
        let core = core(&store, dir.path());
        let ann = account(&store, "ann").await;
        let mut devices = Vec::new();
        for (n, name) in ["laptop", "phone"].into_iter().enumerate() {
            let _ = name;
            let device = device(&store, ann, TokenHash([u8::try_from(n).unwrap(); 32])).await;
            devices.push(device);
        }
        let (stolen, phone) = (devices[0], devices[1]);
        // The thief's request has checked the old password; meanwhile the
        // owner signs that device out from the phone.
        store
            .writer
            .run(move |ctx| Ok(piazza_core::accounts::revoke_device(ctx, ann, stolen)?))
            .await
            .unwrap();
        let refused = core
            .change_password(ann, stolen, "x".into(), "new".into(), OtherDevices::SignOut)
            .await;
        assert!(
            matches!(
                refused,
                Err(StoreError::Rejected(Rejection::DeviceSignedOut))
            ),
            "{refused:?}"
        );
        assert_eq!(core.password_hash(ann).await.unwrap(), "x");
        let live = store
            .readers
            .read(move |conn| reads::devices(conn, ann, None, 10));
        assert_eq!(
            live.await
                .unwrap()
                .iter()
                .map(|d| d.device_id)
                .collect::<Vec<_>>(),
            [phone],
            "the phone is still signed in"
        );
    }
}
