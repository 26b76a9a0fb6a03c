//! Contacts and contact requests: the SQL behind `piazza_core::contacts`.
//! `contact_requests.status` is 0 pending, 1 accepted, 2 declined.
//!
//! Locks: a change between two accounts first locks both account rows,
//! lower id first (`lock_accounts`). A request that does not exist yet has
//! no row to lock, so this is what keeps two processes from each opening
//! a request between the same pair (or one each way) at once, and keeps
//! a contacts count true until its transaction commits. The account rows
//! are locked anyway by the log entries such a change appends, so the
//! lock costs no extra waiting. `FOR NO KEY UPDATE`, as an `UPDATE` of
//! the row takes: inserts that merely reference the account (a message it
//! sends) do not wait for it.

use piazza_core::Result;
use piazza_core::contacts::{Contact, OpenRequest, Reads, RequestParties, RequestStatus, Writes};
use piazza_domain::store::{ContactRequest, OutgoingRequest};
use piazza_domain::{AccountId, ContactRequestId, Greeting, Remark, Timestamp, Username};

use crate::accounts::account_at;
use crate::conn::{Conn, corrupt};
use crate::{Db, PgTx};

impl Reads for Db<'_> {
    fn are_contacts(&mut self, account: AccountId, contact: AccountId) -> Result<bool> {
        if self.0.batch.is_some() {
            return self.0.contact_of(account.row(), contact.row());
        }
        let found = self.0.query_opt(
            "SELECT 1 FROM contacts WHERE account_id = $1 AND contact_id = $2",
            &[&account.row(), &contact.row()],
        )?;
        Ok(found.is_some())
    }

    fn contact_ids(&mut self, account: AccountId) -> Result<Vec<AccountId>> {
        let rows = self.0.query(
            "SELECT contact_id FROM contacts WHERE account_id = $1",
            &[&account.row()],
        )?;
        Ok(rows
            .iter()
            .map(|row| AccountId::from_row(row.get(0)))
            .collect())
    }

    fn contacts(
        &mut self,
        account: AccountId,
        after: Option<&Username>,
        limit: u32,
    ) -> Result<Vec<Contact>> {
        // `COLLATE "C"`: usernames in byte order, as SQLite orders them.
        let rows = self.0.query(
            "SELECT a.id, a.username, a.display_name, a.avatar_media_id, a.bio, c.remark
             FROM contacts c JOIN accounts a ON a.id = c.contact_id
             WHERE c.account_id = $1 AND a.username COLLATE \"C\" > $2
             ORDER BY a.username COLLATE \"C\" LIMIT $3",
            &[
                &account.row(),
                &after.map_or("", Username::as_str),
                &(i64::from(limit) + 1),
            ],
        )?;
        Ok(rows
            .iter()
            .map(|row| Contact {
                account: account_at(row, 0),
                remark: row.get(5),
            })
            .collect())
    }

    fn incoming_requests(
        &mut self,
        account: AccountId,
        before: Option<ContactRequestId>,
        limit: u32,
    ) -> Result<Vec<ContactRequest>> {
        let rows = self.0.query(
            "SELECT r.id, r.greeting, r.created_at, a.id, a.username, a.display_name,
                    a.avatar_media_id, a.bio
             FROM contact_requests r JOIN accounts a ON a.id = r.from_id
             WHERE r.to_id = $1 AND r.status = 0 AND r.id < $2
             ORDER BY r.id DESC LIMIT $3",
            &[
                &account.row(),
                &before.map_or(i64::MAX, ContactRequestId::row),
                &(i64::from(limit) + 1),
            ],
        )?;
        Ok(rows
            .iter()
            .map(|row| ContactRequest {
                request_id: ContactRequestId::from_row(row.get(0)),
                from: account_at(row, 3).to_ref(),
                greeting: row.get(1),
                created_at: Timestamp::from_unix_ms(row.get(2)),
            })
            .collect())
    }

    fn outgoing_requests(
        &mut self,
        account: AccountId,
        before: Option<ContactRequestId>,
        limit: u32,
    ) -> Result<Vec<OutgoingRequest>> {
        let rows = self.0.query(
            "SELECT r.id, r.greeting, r.created_at, a.id, a.username, a.display_name,
                    a.avatar_media_id, a.bio
             FROM contact_requests r JOIN accounts a ON a.id = r.to_id
             WHERE r.from_id = $1 AND r.status IN (0, 2) AND r.id < $2
             ORDER BY r.id DESC LIMIT $3",
            &[
                &account.row(),
                &before.map_or(i64::MAX, ContactRequestId::row),
                &(i64::from(limit) + 1),
            ],
        )?;
        Ok(rows
            .iter()
            .map(|row| OutgoingRequest {
                request_id: ContactRequestId::from_row(row.get(0)),
                to: account_at(row, 3).to_ref(),
                greeting: row.get(1),
                created_at: Timestamp::from_unix_ms(row.get(2)),
            })
            .collect())
    }
}

fn status(code: i64) -> Result<RequestStatus> {
    match code {
        0 => Ok(RequestStatus::Pending),
        1 => Ok(RequestStatus::Accepted),
        2 => Ok(RequestStatus::Declined),
        other => Err(corrupt(format!("contact request status {other}"))),
    }
}

/// Locks the rows of `accounts` until the transaction ends, lower id
/// first, so two transactions locking the same pair cannot deadlock over
/// it. The statements after it see what was committed before it got the
/// locks (READ COMMITTED takes a snapshot per statement).
pub(crate) fn lock_accounts(conn: &mut Conn, accounts: &[AccountId]) -> Result<()> {
    let rows: Vec<i64> = accounts.iter().map(|account| account.row()).collect();
    conn.query(
        "SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
        &[&rows],
    )?;
    Ok(())
}

impl Writes for PgTx<'_> {
    fn request_for_update(&mut self, request: ContactRequestId) -> Result<Option<RequestParties>> {
        let row = self.conn().query_opt(
            "SELECT from_id, to_id, status FROM contact_requests WHERE id = $1 FOR UPDATE",
            &[&request.row()],
        )?;
        row.map(|row| {
            Ok(RequestParties {
                from: AccountId::from_row(row.get(0)),
                to: AccountId::from_row(row.get(1)),
                status: status(row.get(2))?,
            })
        })
        .transpose()
    }

    fn open_request_for_update(
        &mut self,
        from: AccountId,
        to: AccountId,
    ) -> Result<Option<OpenRequest>> {
        lock_accounts(self.conn(), &[from, to])?;
        let row = self.conn().query_opt(
            "SELECT id, greeting, status, declined_at FROM contact_requests
             WHERE from_id = $1 AND to_id = $2 AND status IN (0, 2) FOR UPDATE",
            &[&from.row(), &to.row()],
        )?;
        row.map(|row| {
            Ok(OpenRequest {
                request: ContactRequestId::from_row(row.get(0)),
                greeting: row.get(1),
                status: status(row.get(2))?,
                declined_at: row.get::<_, Option<i64>>(3).map(Timestamp::from_unix_ms),
            })
        })
        .transpose()
    }

    fn contact_count_for_update(&mut self, account: AccountId) -> Result<usize> {
        lock_accounts(self.conn(), &[account])?;
        let count: i64 = self
            .conn()
            .query_one(
                "SELECT COUNT(*) FROM contacts WHERE account_id = $1",
                &[&account.row()],
            )?
            .get(0);
        Ok(count as usize)
    }

    fn insert_request(
        &mut self,
        from: AccountId,
        to: AccountId,
        greeting: &Greeting,
        at: Timestamp,
    ) -> Result<ContactRequestId> {
        let row = self.conn().query_one(
            "INSERT INTO contact_requests (from_id, to_id, greeting, created_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[&from.row(), &to.row(), &greeting.as_str(), &at.unix_ms()],
        )?;
        Ok(ContactRequestId::from_row(row.get(0)))
    }

    fn set_request_greeting(
        &mut self,
        request: ContactRequestId,
        greeting: &Greeting,
        at: Timestamp,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE contact_requests SET greeting = $1, created_at = $2 WHERE id = $3",
            &[&greeting.as_str(), &at.unix_ms(), &request.row()],
        )?;
        Ok(())
    }

    fn reopen_request(&mut self, request: ContactRequestId) -> Result<()> {
        self.conn().execute(
            "UPDATE contact_requests SET status = 0, declined_at = NULL WHERE id = $1",
            &[&request.row()],
        )?;
        Ok(())
    }

    fn mark_request_declined(&mut self, request: ContactRequestId, at: Timestamp) -> Result<()> {
        self.conn().execute(
            "UPDATE contact_requests SET status = 2, declined_at = $1 WHERE id = $2",
            &[&at.unix_ms(), &request.row()],
        )?;
        Ok(())
    }

    fn mark_requests_accepted_between(&mut self, a: AccountId, b: AccountId) -> Result<()> {
        self.conn().execute(
            "UPDATE contact_requests SET status = 1, declined_at = NULL
             WHERE status IN (0, 2)
               AND ((from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id = $1))",
            &[&a.row(), &b.row()],
        )?;
        Ok(())
    }

    fn insert_contact_pair(&mut self, a: AccountId, b: AccountId, at: Timestamp) -> Result<()> {
        self.conn().execute(
            "INSERT INTO contacts (account_id, contact_id, since) VALUES ($1, $2, $3), ($2, $1, $3)",
            &[&a.row(), &b.row(), &at.unix_ms()],
        )?;
        Ok(())
    }

    fn delete_contact_pair(&mut self, a: AccountId, b: AccountId) -> Result<bool> {
        let removed = self.conn().execute(
            "DELETE FROM contacts
             WHERE (account_id = $1 AND contact_id = $2) OR (account_id = $2 AND contact_id = $1)",
            &[&a.row(), &b.row()],
        )?;
        Ok(removed > 0)
    }

    fn contact_remark_for_update(
        &mut self,
        account: AccountId,
        contact: AccountId,
    ) -> Result<Option<Option<String>>> {
        let row = self.conn().query_opt(
            "SELECT remark FROM contacts WHERE account_id = $1 AND contact_id = $2
             FOR NO KEY UPDATE",
            &[&account.row(), &contact.row()],
        )?;
        Ok(row.map(|row| row.get(0)))
    }

    fn set_contact_remark(
        &mut self,
        account: AccountId,
        contact: AccountId,
        remark: Option<&Remark>,
    ) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE contacts SET remark = $3 WHERE account_id = $1 AND contact_id = $2",
            &[&account.row(), &contact.row(), &remark.map(Remark::as_str)],
        )?;
        debug_assert_eq!(changed, 1, "a remark is set only on a contact");
        Ok(())
    }
}
