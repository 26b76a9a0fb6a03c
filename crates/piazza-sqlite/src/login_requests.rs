//! QR log-in requests: the SQL behind `piazza_core::login_requests`.

use piazza_core::Result;
use piazza_core::login_requests::{Approval, ByCode, BySecret, Reads, Writes};
use piazza_domain::store::{DeviceSeen, LoginOrigin, LoginRequestId, NewLoginRequest, TokenHash};
use piazza_domain::{AccountId, DeviceId, Timestamp, Username};
use rusqlite::{Connection, OptionalExtension, params};

use crate::engine::{Db, Sql};
use crate::writer::WriteCtx;

impl Reads for Db<'_> {
    fn login_request_by_code(
        &mut self,
        request: &LoginRequestId,
        code_hash: &TokenHash,
    ) -> Result<Option<ByCode>> {
        by_code(self.0, request, code_hash)
    }

    fn login_request_by_secret(
        &mut self,
        request: &LoginRequestId,
        secret_hash: &TokenHash,
    ) -> Result<Option<BySecret>> {
        by_secret(self.0, request, secret_hash)
    }
}

fn by_code(
    conn: &Connection,
    request: &LoginRequestId,
    code_hash: &TokenHash,
) -> Result<Option<ByCode>> {
    conn.prepare_cached(
        "SELECT created_at, expires_at, approved_at, device_name, browser, address, user_agent
         FROM login_requests WHERE id = ?1 AND code_hash = ?2",
    )
    .sql()?
    .query_row(params![request.as_str(), &code_hash.0[..]], |row| {
        Ok(ByCode {
            requested_at: Timestamp::from_unix_ms(row.get(0)?),
            expires_at: Timestamp::from_unix_ms(row.get(1)?),
            approved: row.get::<_, Option<i64>>(2)?.is_some(),
            device_name: row.get(3)?,
            origin: LoginOrigin {
                browser: row.get(4)?,
                address: row.get(5)?,
                user_agent: row.get(6)?,
            },
        })
    })
    .optional()
    .sql()
}

fn by_secret(
    conn: &Connection,
    request: &LoginRequestId,
    secret_hash: &TokenHash,
) -> Result<Option<BySecret>> {
    type Found = (
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<i64>,
    );
    let found: Option<Found> = conn
        .prepare_cached(
            "SELECT r.expires_at, r.account_id, r.device_id, r.delivered_at,
                    a.username, d.revoked_at
             FROM login_requests r
             LEFT JOIN accounts a ON a.id = r.account_id
             LEFT JOIN devices d ON d.id = r.device_id
             WHERE r.id = ?1 AND r.secret_hash = ?2",
        )
        .sql()?
        .query_row(params![request.as_str(), &secret_hash.0[..]], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ))
        })
        .optional()
        .sql()?;
    Ok(found.map(
        |(expires_at, account, device, delivered_at, username, revoked_at)| BySecret {
            expires_at: Timestamp::from_unix_ms(expires_at),
            approval: match (account, device, username) {
                (Some(account), Some(device), Some(username)) => Some(Approval {
                    account: AccountId::from_row(account),
                    username: Username::from_store(username),
                    device: DeviceId::from_row(device),
                    device_revoked: revoked_at.is_some(),
                    token_delivered: delivered_at.is_some(),
                }),
                _ => None,
            },
        },
    ))
}

// The single writer holds the only write transaction: what it reads stays
// as read until it commits, so the `_for_update` reads need no locks.
impl Writes for WriteCtx<'_> {
    fn purge_login_requests(&mut self, before: Timestamp, limit: u32) -> Result<()> {
        self.conn
            .prepare_cached(
                "DELETE FROM login_requests WHERE id IN
                   (SELECT id FROM login_requests WHERE expires_at < ?1 LIMIT ?2)",
            )
            .sql()?
            .execute(params![before.unix_ms(), limit])
            .sql()?;
        Ok(())
    }

    fn live_login_request_count(&mut self, now: Timestamp) -> Result<usize> {
        let live: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM login_requests WHERE expires_at > ?1")
            .sql()?
            .query_row([now.unix_ms()], |row| row.get(0))
            .sql()?;
        Ok(live as usize)
    }

    fn insert_login_request(&mut self, request: &NewLoginRequest, at: Timestamp) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO login_requests
                   (id, code_hash, secret_hash, device_name, created_at, expires_at, browser,
                    address, user_agent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .sql()?
            .execute(params![
                request.request_id.as_str(),
                &request.code_hash.0[..],
                &request.secret_hash.0[..],
                request.device_name.as_str(),
                at.unix_ms(),
                request.expires_at.unix_ms(),
                request.origin.browser,
                request.origin.address,
                request.origin.user_agent,
            ])
            .sql()?;
        Ok(())
    }

    fn login_request_by_code_for_update(
        &mut self,
        request: &LoginRequestId,
        code_hash: &TokenHash,
    ) -> Result<Option<ByCode>> {
        by_code(self.conn, request, code_hash)
    }

    fn login_request_by_secret_for_update(
        &mut self,
        request: &LoginRequestId,
        secret_hash: &TokenHash,
    ) -> Result<Option<BySecret>> {
        by_secret(self.conn, request, secret_hash)
    }

    fn mark_login_request_approved(
        &mut self,
        request: &LoginRequestId,
        account: AccountId,
        device: DeviceId,
        at: Timestamp,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE login_requests SET account_id = ?1, device_id = ?2, approved_at = ?3
                 WHERE id = ?4",
            )
            .sql()?
            .execute(params![
                account.row(),
                device.row(),
                at.unix_ms(),
                request.as_str()
            ])
            .sql()?;
        Ok(())
    }

    fn mark_login_token_delivered(
        &mut self,
        request: &LoginRequestId,
        at: Timestamp,
    ) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE login_requests SET delivered_at = ?1 WHERE id = ?2")
            .sql()?
            .execute(params![at.unix_ms(), request.as_str()])
            .sql()?;
        Ok(())
    }

    fn replace_device_token(
        &mut self,
        device: DeviceId,
        token_hash: &TokenHash,
        seen: &DeviceSeen,
        at: Timestamp,
    ) -> Result<bool> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE devices SET token_hash = ?1, last_seen_at = ?2, user_agent = ?3,
                        last_seen_address = ?4
                 WHERE id = ?5 AND revoked_at IS NULL",
            )
            .sql()?
            .execute(params![
                &token_hash.0[..],
                at.unix_ms(),
                seen.user_agent,
                seen.address,
                device.row()
            ])
            .sql()?;
        Ok(changed == 1)
    }
}
