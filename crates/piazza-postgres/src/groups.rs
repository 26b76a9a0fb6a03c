//! Group administration: the SQL behind `piazza_core::groups`. None of it
//! is on a hot path, so every statement runs the job direct (`conn.rs`).
//! A join by invitation locks the conversation's row (`FOR NO KEY
//! UPDATE`, as a membership read for a change does: a row that merely
//! references the conversation does not wait for it), so two joins, or a
//! join and an add, take the group's last place one after the other.

use piazza_core::groups::{
    GroupDetails, Invite, JoinRequest, LockedConversation, MemberRow, Reads, Writes,
};
use piazza_core::{Error, Result};
use piazza_domain::store::TokenHash;
use piazza_domain::{AccountId, ConversationId, InviteId, Seq, Timestamp};
use postgres::Row;

use crate::chat::kind_of;
use crate::{Db, PgTx};

macro_rules! invite_columns {
    () => {
        "id, conversation_id, created_by, created_at, expires_at, revoked_at IS NOT NULL"
    };
}

impl Reads for Db<'_> {
    fn is_admin(&mut self, conversation: ConversationId, account: AccountId) -> Result<bool> {
        let row = self.0.query_opt(
            "SELECT is_admin FROM members WHERE conversation_id = $1 AND account_id = $2",
            &[&conversation.row(), &account.row()],
        )?;
        Ok(row.is_some_and(|row| row.get(0)))
    }

    fn member_rows(&mut self, conversation: ConversationId) -> Result<Vec<MemberRow>> {
        let rows = self.0.query(
            "SELECT account_id, is_admin, joined_at FROM members WHERE conversation_id = $1
             ORDER BY joined_at, account_id",
            &[&conversation.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| MemberRow {
                account: AccountId::from_row(row.get(0)),
                admin: row.get(1),
                joined_at: Timestamp::from_unix_ms(row.get(2)),
            })
            .collect())
    }

    fn group_details(&mut self, conversation: ConversationId) -> Result<GroupDetails> {
        let row = self.0.query_opt(
            "SELECT announcement, announcement_by, announcement_at, join_approval
             FROM conversations WHERE id = $1",
            &[&conversation.row()],
        )?;
        let row = row.ok_or_else(|| Error::missing(conversation))?;
        Ok(GroupDetails {
            announcement: row.get(0),
            announcement_by: row.get::<_, Option<i64>>(1).map(AccountId::from_row),
            announcement_at: row.get::<_, Option<i64>>(2).map(Timestamp::from_unix_ms),
            join_approval: row.get(3),
        })
    }

    fn longest_standing_admin(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<AccountId>> {
        let row = self.0.query_opt(
            "SELECT account_id FROM members WHERE conversation_id = $1 AND is_admin
             ORDER BY joined_at, account_id LIMIT 1",
            &[&conversation.row()],
        )?;
        Ok(row.map(|row| AccountId::from_row(row.get(0))))
    }

    fn invite_by_token(&mut self, token: &TokenHash) -> Result<Option<Invite>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                invite_columns!(),
                " FROM group_invites WHERE token_hash = $1"
            ),
            &[&&token.0[..]],
        )?;
        Ok(row.as_ref().map(invite_of))
    }

    fn invite(&mut self, invite: InviteId) -> Result<Option<Invite>> {
        let row = self.0.query_opt(
            concat!(
                "SELECT ",
                invite_columns!(),
                " FROM group_invites WHERE id = $1"
            ),
            &[&invite.row()],
        )?;
        Ok(row.as_ref().map(invite_of))
    }

    fn live_invite_count(&mut self, conversation: ConversationId, now: Timestamp) -> Result<usize> {
        let row = self.0.query_one(
            "SELECT COUNT(*) FROM group_invites
             WHERE conversation_id = $1 AND expires_at > $2 AND revoked_at IS NULL",
            &[&conversation.row(), &now.unix_ms()],
        )?;
        Ok(usize::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    fn join_requests(&mut self, conversation: ConversationId) -> Result<Vec<JoinRequest>> {
        let rows = self.0.query(
            "SELECT conversation_id, account_id, invite_id, requested_at FROM join_requests
             WHERE conversation_id = $1 ORDER BY requested_at, account_id",
            &[&conversation.row()],
        )?;
        Ok(rows.iter().map(join_request_of).collect())
    }

    fn join_request(
        &mut self,
        conversation: ConversationId,
        account: AccountId,
    ) -> Result<Option<JoinRequest>> {
        let row = self.0.query_opt(
            "SELECT conversation_id, account_id, invite_id, requested_at FROM join_requests
             WHERE conversation_id = $1 AND account_id = $2",
            &[&conversation.row(), &account.row()],
        )?;
        Ok(row.as_ref().map(join_request_of))
    }
}

fn invite_of(row: &Row) -> Invite {
    Invite {
        invite_id: InviteId::from_row(row.get(0)),
        conversation: ConversationId::from_row(row.get(1)),
        created_by: AccountId::from_row(row.get(2)),
        created_at: Timestamp::from_unix_ms(row.get(3)),
        expires_at: Timestamp::from_unix_ms(row.get(4)),
        revoked: row.get(5),
    }
}

fn join_request_of(row: &Row) -> JoinRequest {
    JoinRequest {
        conversation: ConversationId::from_row(row.get(0)),
        account: AccountId::from_row(row.get(1)),
        invite_id: InviteId::from_row(row.get(2)),
        requested_at: Timestamp::from_unix_ms(row.get(3)),
    }
}

impl Writes for PgTx<'_> {
    fn conversation_for_update(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<LockedConversation>> {
        let row = self.conn().query_opt(
            "SELECT kind, owner_id, last_seq FROM conversations WHERE id = $1 FOR NO KEY UPDATE",
            &[&conversation.row()],
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        let last_seq = Seq::new(row.get(2))
            .map_err(|_| Error::Corrupt(format!("{conversation} has a negative last_seq")))?;
        Ok(Some(LockedConversation {
            kind: kind_of(row.get(0))?,
            owner: row.get::<_, Option<i64>>(1).map(AccountId::from_row),
            last_seq,
        }))
    }

    fn set_admin(
        &mut self,
        conversation: ConversationId,
        account: AccountId,
        admin: bool,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE members SET is_admin = $1 WHERE conversation_id = $2 AND account_id = $3",
            &[&admin, &conversation.row(), &account.row()],
        )?;
        Ok(())
    }

    fn set_announcement(
        &mut self,
        conversation: ConversationId,
        text: &str,
        by: Option<AccountId>,
        at: Option<Timestamp>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE conversations SET announcement = $1, announcement_by = $2,
             announcement_at = $3 WHERE id = $4",
            &[
                &text,
                &by.map(AccountId::row),
                &at.map(Timestamp::unix_ms),
                &conversation.row(),
            ],
        )?;
        Ok(())
    }

    fn set_join_approval(&mut self, conversation: ConversationId, on: bool) -> Result<()> {
        self.conn().execute(
            "UPDATE conversations SET join_approval = $1 WHERE id = $2",
            &[&on, &conversation.row()],
        )?;
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
        let row = self.conn().query_one(
            "INSERT INTO group_invites
                 (conversation_id, token_hash, created_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &conversation.row(),
                &&token.0[..],
                &created_by.row(),
                &created_at.unix_ms(),
                &expires_at.unix_ms(),
            ],
        )?;
        Ok(InviteId::from_row(row.get(0)))
    }

    fn revoke_invite(&mut self, invite: InviteId, at: Timestamp) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE group_invites SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[&at.unix_ms(), &invite.row()],
        )?;
        Ok(changed == 1)
    }

    fn insert_join_request(&mut self, request: &JoinRequest) -> Result<bool> {
        let inserted = self.conn().execute(
            "INSERT INTO join_requests (conversation_id, account_id, invite_id, requested_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[
                &request.conversation.row(),
                &request.account.row(),
                &request.invite_id.row(),
                &request.requested_at.unix_ms(),
            ],
        )?;
        Ok(inserted == 1)
    }

    fn delete_join_request(
        &mut self,
        conversation: ConversationId,
        account: AccountId,
    ) -> Result<bool> {
        let deleted = self.conn().execute(
            "DELETE FROM join_requests WHERE conversation_id = $1 AND account_id = $2",
            &[&conversation.row(), &account.row()],
        )?;
        Ok(deleted == 1)
    }
}
