//! Leases: the SQL behind `piazza_core::leases`. The one writer makes a
//! row read in a job the job's until it commits.

use piazza_core::Result;
use piazza_core::leases::{Lease, LeaseName, Writes};
use piazza_domain::Timestamp;

use crate::engine::Sql;
use crate::writer::WriteCtx;

impl Writes for WriteCtx<'_> {
    fn lease_for_update(&mut self, name: LeaseName) -> Result<Lease> {
        self.conn
            .prepare_cached("SELECT holder, until_ms FROM leases WHERE name = ?1")
            .sql()?
            .query_row([name.as_str()], |row| {
                Ok(Lease {
                    holder: row.get(0)?,
                    until: Timestamp::from_unix_ms(row.get(1)?),
                })
            })
            .sql()
    }

    /// SQLite's store is one machine's: its clock is this one.
    fn store_clock(&mut self) -> Result<Timestamp> {
        Ok(Timestamp::now())
    }

    fn set_lease(&mut self, name: LeaseName, lease: &Lease) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE leases SET holder = ?2, until_ms = ?3 WHERE name = ?1")
            .sql()?
            .execute(rusqlite::params![
                name.as_str(),
                lease.holder,
                lease.until.unix_ms()
            ])
            .sql()?;
        Ok(())
    }
}
