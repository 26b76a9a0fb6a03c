//! QR log-in requests: the SQL behind `piazza_core::login_requests`.

use piazza_core::Result;
use piazza_core::login_requests::{Approval, ByCode, BySecret, Reads, Writes};
use piazza_domain::store::{DeviceSeen, LoginOrigin, LoginRequestId, NewLoginRequest, TokenHash};
use piazza_domain::{AccountId, DeviceId, Timestamp, Username};
use postgres::Row;

use crate::{Db, PgTx};

impl Reads for Db<'_> {
    fn login_request_by_code(
        &mut self,
        request: &LoginRequestId,
        code_hash: &TokenHash,
    ) -> Result<Option<ByCode>> {
        let row = self.0.query_opt(
            "SELECT created_at, expires_at, approved_at, device_name, browser, address, user_agent
             FROM login_requests WHERE id = $1 AND code_hash = $2",
            &[&request.as_str(), &&code_hash.0[..]],
        )?;
        Ok(row.as_ref().map(by_code))
    }

    fn login_request_by_secret(
        &mut self,
        request: &LoginRequestId,
        secret_hash: &TokenHash,
    ) -> Result<Option<BySecret>> {
        let row = self.0.query_opt(
            "SELECT r.expires_at, r.account_id, r.device_id, r.delivered_at,
                    a.username, d.revoked_at
             FROM login_requests r
             LEFT JOIN accounts a ON a.id = r.account_id
             LEFT JOIN devices d ON d.id = r.device_id
             WHERE r.id = $1 AND r.secret_hash = $2",
            &[&request.as_str(), &&secret_hash.0[..]],
        )?;
        Ok(row.as_ref().map(by_secret))
    }
}

fn by_code(row: &Row) -> ByCode {
    ByCode {
        requested_at: Timestamp::from_unix_ms(row.get(0)),
        expires_at: Timestamp::from_unix_ms(row.get(1)),
        approved: row.get::<_, Option<i64>>(2).is_some(),
        device_name: row.get(3),
        origin: LoginOrigin {
            browser: row.get(4),
            address: row.get(5),
            user_agent: row.get(6),
        },
    }
}

/// A request from `r.expires_at, r.account_id, r.device_id,
/// r.delivered_at, a.username, d.revoked_at`.
fn by_secret(row: &Row) -> BySecret {
    let account: Option<i64> = row.get(1);
    let device: Option<i64> = row.get(2);
    let username: Option<String> = row.get(4);
    BySecret {
        expires_at: Timestamp::from_unix_ms(row.get(0)),
        approval: match (account, device, username) {
            (Some(account), Some(device), Some(username)) => Some(Approval {
                account: AccountId::from_row(account),
                username: Username::from_store(username),
                device: DeviceId::from_row(device),
                device_revoked: row.get::<_, Option<i64>>(5).is_some(),
                token_delivered: row.get::<_, Option<i64>>(3).is_some(),
            }),
            _ => None,
        },
    }
}

impl Writes for PgTx<'_> {
    fn purge_login_requests(&mut self, before: Timestamp, limit: u32) -> Result<()> {
        self.conn().execute(
            "DELETE FROM login_requests WHERE id IN
               (SELECT id FROM login_requests WHERE expires_at < $1 LIMIT $2)",
            &[&before.unix_ms(), &i64::from(limit)],
        )?;
        Ok(())
    }

    fn live_login_request_count(&mut self, now: Timestamp) -> Result<usize> {
        let live: i64 = self
            .conn()
            .query_one(
                "SELECT COUNT(*) FROM login_requests WHERE expires_at > $1",
                &[&now.unix_ms()],
            )?
            .get(0);
        Ok(live as usize)
    }

    fn insert_login_request(&mut self, request: &NewLoginRequest, at: Timestamp) -> Result<()> {
        self.conn().execute(
            "INSERT INTO login_requests
               (id, code_hash, secret_hash, device_name, created_at, expires_at, browser,
                address, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &request.request_id.as_str(),
                &&request.code_hash.0[..],
                &&request.secret_hash.0[..],
                &request.device_name.as_str(),
                &at.unix_ms(),
                &request.expires_at.unix_ms(),
                &request.origin.browser,
                &request.origin.address,
                &request.origin.user_agent,
            ],
        )?;
        Ok(())
    }

    fn login_request_by_code_for_update(
        &mut self,
        request: &LoginRequestId,
        code_hash: &TokenHash,
    ) -> Result<Option<ByCode>> {
        let row = self.conn().query_opt(
            "SELECT created_at, expires_at, approved_at, device_name, browser, address, user_agent
             FROM login_requests WHERE id = $1 AND code_hash = $2 FOR UPDATE",
            &[&request.as_str(), &&code_hash.0[..]],
        )?;
        Ok(row.as_ref().map(by_code))
    }

    fn login_request_by_secret_for_update(
        &mut self,
        request: &LoginRequestId,
        secret_hash: &TokenHash,
    ) -> Result<Option<BySecret>> {
        // The request's row first: once it is locked, the joined rows are
        // read as committed after any approval or pick-up it waited for.
        let locked = self.conn().query_opt(
            "SELECT 1 FROM login_requests WHERE id = $1 AND secret_hash = $2 FOR UPDATE",
            &[&request.as_str(), &&secret_hash.0[..]],
        )?;
        if locked.is_none() {
            return Ok(None);
        }
        self.db.login_request_by_secret(request, secret_hash)
    }

    fn mark_login_request_approved(
        &mut self,
        request: &LoginRequestId,
        account: AccountId,
        device: DeviceId,
        at: Timestamp,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE login_requests SET account_id = $1, device_id = $2, approved_at = $3
             WHERE id = $4",
            &[
                &account.row(),
                &device.row(),
                &at.unix_ms(),
                &request.as_str(),
            ],
        )?;
        Ok(())
    }

    fn mark_login_token_delivered(
        &mut self,
        request: &LoginRequestId,
        at: Timestamp,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE login_requests SET delivered_at = $1 WHERE id = $2",
            &[&at.unix_ms(), &request.as_str()],
        )?;
        Ok(())
    }

    fn replace_device_token(
        &mut self,
        device: DeviceId,
        token_hash: &TokenHash,
        seen: &DeviceSeen,
        at: Timestamp,
    ) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE devices SET token_hash = $1, last_seen_at = $2, user_agent = $3,
                    last_seen_address = $4
             WHERE id = $5 AND revoked_at IS NULL",
            &[
                &&token_hash.0[..],
                &at.unix_ms(),
                &seen.user_agent,
                &seen.address,
                &device.row(),
            ],
        )?;
        Ok(changed == 1)
    }
}
