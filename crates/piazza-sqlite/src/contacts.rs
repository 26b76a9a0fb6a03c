//! Contacts and contact requests: the SQL behind `piazza_core::contacts`.
//! `contact_requests.status` is 0 pending, 1 accepted, 2 declined.

use piazza_core::Result;
use piazza_core::contacts::{Contact, OpenRequest, Reads, RequestParties, RequestStatus, Writes};
use piazza_domain::store::{ContactRequest, OutgoingRequest};
use piazza_domain::{AccountId, ContactRequestId, Greeting, Remark, Timestamp, Username};
use rusqlite::{OptionalExtension, params};

use crate::engine::{Db, Sql};
use crate::error::Error;
use crate::reads;
use crate::writer::WriteCtx;

impl Reads for Db<'_> {
    fn are_contacts(&mut self, account: AccountId, contact: AccountId) -> Result<bool> {
        Ok(reads::are_contacts(self.0, account, contact)?)
    }

    fn contact_ids(&mut self, account: AccountId) -> Result<Vec<AccountId>> {
        let mut statement = self
            .0
            .prepare_cached("SELECT contact_id FROM contacts WHERE account_id = ?1")
            .sql()?;
        statement
            .query_map([account.row()], |row| Ok(AccountId::from_row(row.get(0)?)))
            .sql()?
            .collect::<rusqlite::Result<_>>()
            .sql()
    }

    fn contacts(
        &mut self,
        account: AccountId,
        after: Option<&Username>,
        limit: u32,
    ) -> Result<Vec<Contact>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT a.id, a.username, a.display_name, a.avatar_media_id, a.bio, c.remark
                 FROM contacts c JOIN accounts a ON a.id = c.contact_id
                 WHERE c.account_id = ?1 AND a.username > ?2 ORDER BY a.username LIMIT ?3",
            )
            .sql()?;
        let after = after.map_or("", Username::as_str);
        statement
            .query_map(params![account.row(), after, i64::from(limit) + 1], |row| {
                Ok(Contact {
                    account: reads::account_at(row, 0)?,
                    remark: row.get(5)?,
                })
            })
            .sql()?
            .collect::<rusqlite::Result<_>>()
            .sql()
    }

    fn incoming_requests(
        &mut self,
        account: AccountId,
        before: Option<ContactRequestId>,
        limit: u32,
    ) -> Result<Vec<ContactRequest>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT r.id, r.greeting, r.created_at, a.id, a.username, a.display_name,
                        a.avatar_media_id, a.bio
                 FROM contact_requests r JOIN accounts a ON a.id = r.from_id
                 WHERE r.to_id = ?1 AND r.status = 0 AND r.id < ?2 ORDER BY r.id DESC LIMIT ?3",
            )
            .sql()?;
        let before = before.map_or(i64::MAX, ContactRequestId::row);
        statement
            .query_map(
                params![account.row(), before, i64::from(limit) + 1],
                |row| {
                    Ok(ContactRequest {
                        request_id: ContactRequestId::from_row(row.get(0)?),
                        from: reads::account_at(row, 3)?.to_ref(),
                        greeting: row.get(1)?,
                        created_at: Timestamp::from_unix_ms(row.get(2)?),
                    })
                },
            )
            .sql()?
            .collect::<rusqlite::Result<_>>()
            .sql()
    }

    fn outgoing_requests(
        &mut self,
        account: AccountId,
        before: Option<ContactRequestId>,
        limit: u32,
    ) -> Result<Vec<OutgoingRequest>> {
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT r.id, r.greeting, r.created_at, a.id, a.username, a.display_name,
                        a.avatar_media_id, a.bio
                 FROM contact_requests r JOIN accounts a ON a.id = r.to_id
                 WHERE r.from_id = ?1 AND r.status IN (0, 2) AND r.id < ?2
                 ORDER BY r.id DESC LIMIT ?3",
            )
            .sql()?;
        let before = before.map_or(i64::MAX, ContactRequestId::row);
        statement
            .query_map(
                params![account.row(), before, i64::from(limit) + 1],
                |row| {
                    Ok(OutgoingRequest {
                        request_id: ContactRequestId::from_row(row.get(0)?),
                        to: reads::account_at(row, 3)?.to_ref(),
                        greeting: row.get(1)?,
                        created_at: Timestamp::from_unix_ms(row.get(2)?),
                    })
                },
            )
            .sql()?
            .collect::<rusqlite::Result<_>>()
            .sql()
    }
}

fn status(code: i64) -> Result<RequestStatus> {
    match code {
        0 => Ok(RequestStatus::Pending),
        1 => Ok(RequestStatus::Accepted),
        2 => Ok(RequestStatus::Declined),
        other => Err(Error::Corrupt(format!("contact request status {other}")).into()),
    }
}

// The single writer holds the only write transaction: what it reads stays
// as read until it commits, so the `_for_update` reads need no locks.
impl Writes for WriteCtx<'_> {
    fn request_for_update(&mut self, request: ContactRequestId) -> Result<Option<RequestParties>> {
        let found: Option<(i64, i64, i64)> = self
            .conn
            .prepare_cached("SELECT from_id, to_id, status FROM contact_requests WHERE id = ?1")
            .sql()?
            .query_row([request.row()], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()
            .sql()?;
        found
            .map(|(from, to, code)| {
                Ok(RequestParties {
                    from: AccountId::from_row(from),
                    to: AccountId::from_row(to),
                    status: status(code)?,
                })
            })
            .transpose()
    }

    fn open_request_for_update(
        &mut self,
        from: AccountId,
        to: AccountId,
    ) -> Result<Option<OpenRequest>> {
        type Found = (i64, String, i64, Option<i64>);
        let found: Option<Found> = self
            .conn
            .prepare_cached(
                "SELECT id, greeting, status, declined_at FROM contact_requests
                 WHERE from_id = ?1 AND to_id = ?2 AND status IN (0, 2)",
            )
            .sql()?
            .query_row([from.row(), to.row()], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .optional()
            .sql()?;
        found
            .map(|(id, greeting, code, declined_at)| {
                Ok(OpenRequest {
                    request: ContactRequestId::from_row(id),
                    greeting,
                    status: status(code)?,
                    declined_at: declined_at.map(Timestamp::from_unix_ms),
                })
            })
            .transpose()
    }

    fn contact_count_for_update(&mut self, account: AccountId) -> Result<usize> {
        Ok(reads::contact_count(self.conn, account)?)
    }

    fn insert_request(
        &mut self,
        from: AccountId,
        to: AccountId,
        greeting: &Greeting,
        at: Timestamp,
    ) -> Result<ContactRequestId> {
        let row: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO contact_requests (from_id, to_id, greeting, created_at)
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
            )
            .sql()?
            .query_row(
                params![from.row(), to.row(), greeting.as_str(), at.unix_ms()],
                |row| row.get(0),
            )
            .sql()?;
        Ok(ContactRequestId::from_row(row))
    }

    fn set_request_greeting(
        &mut self,
        request: ContactRequestId,
        greeting: &Greeting,
        at: Timestamp,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE contact_requests SET greeting = ?1, created_at = ?2 WHERE id = ?3",
            )
            .sql()?
            .execute(params![greeting.as_str(), at.unix_ms(), request.row()])
            .sql()?;
        Ok(())
    }

    fn reopen_request(&mut self, request: ContactRequestId) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE contact_requests SET status = 0, declined_at = NULL WHERE id = ?1",
            )
            .sql()?
            .execute([request.row()])
            .sql()?;
        Ok(())
    }

    fn mark_request_declined(&mut self, request: ContactRequestId, at: Timestamp) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE contact_requests SET status = 2, declined_at = ?1 WHERE id = ?2",
            )
            .sql()?
            .execute(params![at.unix_ms(), request.row()])
            .sql()?;
        Ok(())
    }

    fn mark_requests_accepted_between(&mut self, a: AccountId, b: AccountId) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE contact_requests SET status = 1, declined_at = NULL
                 WHERE status IN (0, 2)
                   AND ((from_id = ?1 AND to_id = ?2) OR (from_id = ?2 AND to_id = ?1))",
            )
            .sql()?
            .execute([a.row(), b.row()])
            .sql()?;
        Ok(())
    }

    fn insert_contact_pair(&mut self, a: AccountId, b: AccountId, at: Timestamp) -> Result<()> {
        let mut insert = self
            .conn
            .prepare_cached(
                "INSERT INTO contacts (account_id, contact_id, since) VALUES (?1, ?2, ?3)",
            )
            .sql()?;
        insert
            .execute(params![a.row(), b.row(), at.unix_ms()])
            .sql()?;
        insert
            .execute(params![b.row(), a.row(), at.unix_ms()])
            .sql()?;
        Ok(())
    }

    fn delete_contact_pair(&mut self, a: AccountId, b: AccountId) -> Result<bool> {
        let removed = self
            .conn
            .prepare_cached(
                "DELETE FROM contacts
                 WHERE (account_id = ?1 AND contact_id = ?2) OR (account_id = ?2 AND contact_id = ?1)",
            )
            .sql()?
            .execute([a.row(), b.row()])
            .sql()?;
        Ok(removed > 0)
    }

    fn contact_remark_for_update(
        &mut self,
        account: AccountId,
        contact: AccountId,
    ) -> Result<Option<Option<String>>> {
        // The writer is SQLite's only one: what it reads stays put.
        self.conn
            .prepare_cached("SELECT remark FROM contacts WHERE account_id = ?1 AND contact_id = ?2")
            .sql()?
            .query_row([account.row(), contact.row()], |row| row.get(0))
            .optional()
            .sql()
    }

    fn set_contact_remark(
        &mut self,
        account: AccountId,
        contact: AccountId,
        remark: Option<&Remark>,
    ) -> Result<()> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE contacts SET remark = ?3 WHERE account_id = ?1 AND contact_id = ?2",
            )
            .sql()?
            .execute(params![
                account.row(),
                contact.row(),
                remark.map(Remark::as_str)
            ])
            .sql()?;
        debug_assert_eq!(changed, 1, "a remark is set only on a contact");
        Ok(())
    }
}
