//! Leases: the SQL behind `piazza_core::leases`. Taking one locks its row
//! (made by the schema) until the job's transaction ends.

use piazza_core::Result;
use piazza_core::leases::{Lease, LeaseName, Writes};
use piazza_domain::Timestamp;

use crate::PgTx;

impl Writes for PgTx<'_> {
    fn lease_for_update(&mut self, name: LeaseName) -> Result<Lease> {
        let row = self.conn().query_one(
            "SELECT holder, until_ms FROM leases WHERE name = $1 FOR UPDATE",
            &[&name.as_str()],
        )?;
        Ok(Lease {
            holder: row.get(0),
            until: Timestamp::from_unix_ms(row.get(1)),
        })
    }

    fn store_clock(&mut self) -> Result<Timestamp> {
        let row = self.conn().query_one(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
            &[],
        )?;
        Ok(Timestamp::from_unix_ms(row.get(0)))
    }

    fn set_lease(&mut self, name: LeaseName, lease: &Lease) -> Result<()> {
        self.conn().execute(
            "UPDATE leases SET holder = $2, until_ms = $3 WHERE name = $1",
            &[&name.as_str(), &lease.holder, &lease.until.unix_ms()],
        )?;
        Ok(())
    }
}
