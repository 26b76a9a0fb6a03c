//! Group administration: the SQL behind `piazza_core::groups`. The
//! writer is SQLite's only one, so what a job reads cannot move before it
//! commits: `conversation_for_update` needs no lock of its own.

use piazza_core::Result;
use piazza_core::groups::{
    GroupDetails, Invite, JoinRequest, LockedConversation, MemberRow, Reads, Writes,
};
use piazza_domain::store::TokenHash;
use piazza_domain::{AccountId, ConversationId, InviteId, Seq, Timestamp};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::engine::{Db, Sql};
use crate::writer::WriteCtx;

const INVITE_COLUMNS: &str =
    "id, conversation_id, created_by, created_at, expires_at, revoked_at IS NOT NULL";

impl Reads for Db<'_> {
    fn is_admin(&mut self, conversation: ConversationId, account: AccountId) -> Result<bool> {
        let found: Option<bool> = self
            .0
            .prepare_cached(
                "SELECT is_admin FROM members WHERE conversation_id = ?1 AND account_id = ?2",
            )
            .sql()?
            .query_row([conversation.row(), account.row()], |row| row.get(0))
            .optional()
            .sql()?;
        Ok(found.unwrap_or(false))
    }

    fn member_rows(&mut self, conversation: ConversationId) -> Result<Vec<MemberRow>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT account_id, is_admin, joined_at FROM members WHERE conversation_id = ?1
                 ORDER BY joined_at, account_id",
            )
            .sql()?;
        let rows = statement
            .query_map([conversation.row()], |row| {
                Ok(MemberRow {
                    account: AccountId::from_row(row.get(0)?),
                    admin: row.get(1)?,
                    joined_at: Timestamp::from_unix_ms(row.get(2)?),
                })
            })
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }

    fn group_details(&mut self, conversation: ConversationId) -> Result<GroupDetails> {
        self.0
            .prepare_cached(
                "SELECT announcement, announcement_by, announcement_at, join_approval
                 FROM conversations WHERE id = ?1",
            )
            .sql()?
            .query_row([conversation.row()], |row| {
                Ok(GroupDetails {
                    announcement: row.get(0)?,
                    announcement_by: row.get::<_, Option<i64>>(1)?.map(AccountId::from_row),
                    announcement_at: row.get::<_, Option<i64>>(2)?.map(Timestamp::from_unix_ms),
                    join_approval: row.get(3)?,
                })
            })
            .sql()
    }

    fn longest_standing_admin(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<AccountId>> {
        let found: Option<i64> = self
            .0
            .prepare_cached(
                "SELECT account_id FROM members WHERE conversation_id = ?1 AND is_admin = 1
                 ORDER BY joined_at, account_id LIMIT 1",
            )
            .sql()?
            .query_row([conversation.row()], |row| row.get(0))
            .optional()
            .sql()?;
        Ok(found.map(AccountId::from_row))
    }

    fn invite_by_token(&mut self, token: &TokenHash) -> Result<Option<Invite>> {
        let sql = format!("SELECT {INVITE_COLUMNS} FROM group_invites WHERE token_hash = ?1");
        one_invite(self.0, &sql, &&token.0[..])
    }

    fn invite(&mut self, invite: InviteId) -> Result<Option<Invite>> {
        let sql = format!("SELECT {INVITE_COLUMNS} FROM group_invites WHERE id = ?1");
        one_invite(self.0, &sql, &invite.row())
    }

    fn live_invite_count(&mut self, conversation: ConversationId, now: Timestamp) -> Result<usize> {
        let count: i64 = self
            .0
            .prepare_cached(
                "SELECT COUNT(*) FROM group_invites
                 WHERE conversation_id = ?1 AND expires_at > ?2 AND revoked_at IS NULL",
            )
            .sql()?
            .query_row([conversation.row(), now.unix_ms()], |row| row.get(0))
            .sql()?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    fn join_requests(&mut self, conversation: ConversationId) -> Result<Vec<JoinRequest>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT conversation_id, account_id, invite_id, requested_at FROM join_requests
                 WHERE conversation_id = ?1 ORDER BY requested_at, account_id",
            )
            .sql()?;
        let rows = statement
            .query_map([conversation.row()], join_request_of)
            .sql()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql()
    }

    fn join_request(
        &mut self,
        conversation: ConversationId,
        account: AccountId,
    ) -> Result<Option<JoinRequest>> {
        self.0
            .prepare_cached(
                "SELECT conversation_id, account_id, invite_id, requested_at FROM join_requests
                 WHERE conversation_id = ?1 AND account_id = ?2",
            )
            .sql()?
            .query_row([conversation.row(), account.row()], join_request_of)
            .optional()
            .sql()
    }
}

fn one_invite(conn: &Connection, sql: &str, key: &dyn rusqlite::ToSql) -> Result<Option<Invite>> {
    conn.prepare_cached(sql)
        .sql()?
        .query_row([key], |row| {
            Ok(Invite {
                invite_id: InviteId::from_row(row.get(0)?),
                conversation: ConversationId::from_row(row.get(1)?),
                created_by: AccountId::from_row(row.get(2)?),
                created_at: Timestamp::from_unix_ms(row.get(3)?),
                expires_at: Timestamp::from_unix_ms(row.get(4)?),
                revoked: row.get(5)?,
            })
        })
        .optional()
        .sql()
}

fn join_request_of(row: &Row<'_>) -> rusqlite::Result<JoinRequest> {
    Ok(JoinRequest {
        conversation: ConversationId::from_row(row.get(0)?),
        account: AccountId::from_row(row.get(1)?),
        invite_id: InviteId::from_row(row.get(2)?),
        requested_at: Timestamp::from_unix_ms(row.get(3)?),
    })
}

impl Writes for WriteCtx<'_> {
    fn conversation_for_update(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<LockedConversation>> {
        let found: Option<(i64, Option<i64>, i64)> = self
            .conn
            .prepare_cached("SELECT kind, owner_id, last_seq FROM conversations WHERE id = ?1")
            .sql()?
            .query_row([conversation.row()], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()
            .sql()?;
        let Some((kind, owner, last_seq)) = found else {
            return Ok(None);
        };
        Ok(Some(LockedConversation {
            kind: crate::reads::kind_from_row(kind)?,
            owner: owner.map(AccountId::from_row),
            last_seq: Seq::new(last_seq).map_err(|_| {
                piazza_core::Error::Corrupt(format!("{conversation} has a negative last_seq"))
            })?,
        }))
    }

    fn set_admin(
        &mut self,
        conversation: ConversationId,
        account: AccountId,
        admin: bool,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE members SET is_admin = ?1 WHERE conversation_id = ?2 AND account_id = ?3",
            )
            .sql()?
            .execute(params![admin, conversation.row(), account.row()])
            .sql()?;
        Ok(())
    }

    fn set_announcement(
        &mut self,
        conversation: ConversationId,
        text: &str,
        by: Option<AccountId>,
        at: Option<Timestamp>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE conversations SET announcement = ?1, announcement_by = ?2,
                 announcement_at = ?3 WHERE id = ?4",
            )
            .sql()?
            .execute(params![
                text,
                by.map(AccountId::row),
                at.map(Timestamp::unix_ms),
                conversation.row()
            ])
            .sql()?;
        Ok(())
    }

    fn set_join_approval(&mut self, conversation: ConversationId, on: bool) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE conversations SET join_approval = ?1 WHERE id = ?2")
            .sql()?
            .execute(params![on, conversation.row()])
            .sql()?;
        Ok(())
    }

    fn insert_invite(
        &mut self,
        conversation: ConversationId,
        token: &TokenHash,
        created_by: AccountId,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<InviteId> {
        self.conn
            .prepare_cached(
                "INSERT INTO group_invites
                     (conversation_id, token_hash, created_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .sql()?
            .execute(params![
                conversation.row(),
                &token.0[..],
                created_by.row(),
                created_at.unix_ms(),
                expires_at.unix_ms()
            ])
            .sql()?;
        Ok(InviteId::from_row(self.conn.last_insert_rowid()))
    }

    fn revoke_invite(&mut self, invite: InviteId, at: Timestamp) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE group_invites SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            )
            .sql()?
            .execute([at.unix_ms(), invite.row()])
            .sql()?;
        Ok(changed == 1)
    }

    fn insert_join_request(&mut self, request: &JoinRequest) -> Result<bool> {
        let inserted = self
            .conn
            .prepare_cached(
                "INSERT INTO join_requests (conversation_id, account_id, invite_id, requested_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            )
            .sql()?
            .execute([
                request.conversation.row(),
                request.account.row(),
                request.invite_id.row(),
                request.requested_at.unix_ms(),
            ])
            .sql()?;
        Ok(inserted == 1)
    }

    fn delete_join_request(
        &mut self,
        conversation: ConversationId,
        account: AccountId,
    ) -> Result<bool> {
        let deleted = self
            .conn
            .prepare_cached(
                "DELETE FROM join_requests WHERE conversation_id = ?1 AND account_id = ?2",
            )
            .sql()?
            .execute([conversation.row(), account.row()])
            .sql()?;
        Ok(deleted == 1)
    }
}
