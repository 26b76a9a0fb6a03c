//! The schema's versions, applied in order at start, each once, by
//! whichever process gets there first; a database newer than this binary
//! is refused.

use postgres::Client;

/// Schema 1 is SQLite's schemas 1-16; schema 2 leaves room for hot rows;
/// schema 3 drops the foreign keys of the hot tables; schema 4 is
/// SQLite's 17 (recalled messages), schema 5 its 18 (messages deleted
/// for oneself, reactions). A released one is never edited.
pub const MIGRATIONS: &[&str] = &[
    include_str!("schema_1.sql"),
    include_str!("schema_2.sql"),
    include_str!("schema_3.sql"),
    include_str!("schema_4.sql"),
    include_str!("schema_5.sql"),
    include_str!("schema_6.sql"),
    include_str!("schema_7.sql"),
    include_str!("schema_8.sql"),
    include_str!("schema_9.sql"),
    include_str!("schema_10.sql"),
    include_str!("schema_11.sql"),
    include_str!("schema_12.sql"),
    include_str!("schema_13.sql"),
    include_str!("schema_14.sql"),
    include_str!("schema_15.sql"),
    include_str!("schema_16.sql"),
    include_str!("schema_17.sql"),
    include_str!("schema_18.sql"),
    include_str!("schema_19.sql"),
    include_str!("schema_20.sql"),
    include_str!("schema_21.sql"),
    include_str!("schema_22.sql"),
    include_str!("schema_23.sql"),
    include_str!("schema_24.sql"),
    include_str!("schema_25.sql"),
];

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// An older binary on a database a newer one has migrated. Nothing
    /// about connecting would help: the message says all there is to do.
    #[error(
        "the database is at schema {found}, but this Piazza ({version}) knows schemas up to \
         {known}: a newer Piazza has already upgraded it. Upgrade piazza to the version that \
         upgraded it (or a later one) and start that; an older Piazza must not serve it",
        version = env!("CARGO_PKG_VERSION")
    )]
    Newer { found: i64, known: i64 },
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
}

/// Brings the database up to the newest schema. Several processes may
/// start at once: the table lock makes one migrate while the others wait,
/// then find nothing left to do.
pub fn migrate(client: &mut Client) -> Result<(), MigrateError> {
    create_version_table(client)?;
    let mut tx = client.transaction()?;
    tx.batch_execute("LOCK TABLE piazza_schema IN ACCESS EXCLUSIVE MODE")?;
    let found: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM piazza_schema", &[])?
        .get(0);
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(MigrateError::Newer { found, known });
    }
    for (index, script) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(script)?;
        let version = index as i64 + 1;
        tx.execute(
            "INSERT INTO piazza_schema (version) VALUES ($1)",
            &[&version],
        )?;
        tracing::info!(version, "migrated the PostgreSQL schema");
    }
    tx.commit()?;
    Ok(())
}

/// Made only where it is missing, rather than by `CREATE TABLE IF NOT
/// EXISTS`, whose "already exists, skipping" NOTICE the driver would log
/// at every start. Two processes may create it at the same moment: the
/// loser's CREATE fails, and it finds the table made.
fn create_version_table(client: &mut Client) -> Result<(), postgres::Error> {
    if version_table_exists(client)? {
        return Ok(());
    }
    match client.batch_execute("CREATE TABLE piazza_schema (version BIGINT PRIMARY KEY)") {
        Ok(()) => Ok(()),
        Err(_) if version_table_exists(client)? => Ok(()),
        Err(error) => Err(error),
    }
}

fn version_table_exists(client: &mut Client) -> Result<bool, postgres::Error> {
    Ok(client
        .query_one("SELECT to_regclass('piazza_schema') IS NOT NULL", &[])?
        .get(0))
}

/// The schema version the database is at (0 for an empty one).
pub fn version(client: &mut Client) -> Result<i64, postgres::Error> {
    if !version_table_exists(client)? {
        return Ok(0);
    }
    Ok(client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM piazza_schema", &[])?
        .get(0))
}
