//! The schema's versions, applied in order at start, each once, by
//! whichever process gets there first; a database newer than this binary
//! is refused.

use postgres::Client;

/// Schema 1 is SQLite's schemas 1-16; schema 2 leaves room for hot rows.
/// A released one is never edited.
pub const MIGRATIONS: &[&str] = &[include_str!("schema_1.sql"), include_str!("schema_2.sql")];

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "the database is at schema {found}, newer than this Piazza knows (up to {known}): \
         it was written by a newer version; run that version (or newer), never an older one"
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

/// `CREATE TABLE IF NOT EXISTS` can still fail when two processes create
/// the table at the same moment; the loser finds it made.
fn create_version_table(client: &mut Client) -> Result<(), postgres::Error> {
    let create = "CREATE TABLE IF NOT EXISTS piazza_schema (version BIGINT PRIMARY KEY)";
    match client.batch_execute(create) {
        Ok(()) => Ok(()),
        Err(_) => client.batch_execute(create),
    }
}

/// The schema version the database is at (0 for an empty one).
pub fn version(client: &mut Client) -> Result<i64, postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('piazza_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM piazza_schema", &[])?
        .get(0))
}
