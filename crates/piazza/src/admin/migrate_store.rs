//! `piazza admin migrate-store --from <data dir> --to postgres://…`: a
//! whole server's store, from SQLite in its data directory into an empty
//! PostgreSQL database, verified there before it is kept.
//!
//! It lives in the binary because the binary is the one crate that knows
//! both engines; neither engine crate may depend on the other. What only
//! one engine knows stays in it: SQLite's tails and its compact log
//! entries (`piazza_sqlite::export`), PostgreSQL's schema
//! (`piazza_postgres::migrations`) and the form it keeps an event in
//! (`piazza_postgres::encode_log_event`). The tables have the same names
//! and columns on both (`schema_1.sql` says so), so the columns copied are
//! read from the target's catalog, and a table the target has that this
//! file does not list stops the copy before it starts.
//!
//! All or nothing: the source is read in one snapshot (one read
//! transaction) and the target written in one transaction, each table by
//! one binary `COPY`, then verified (`verify.rs`) inside that same
//! transaction. A failure or a mismatch rolls everything back, leaving the
//! target as empty as it was, so the command can simply be run again. A
//! resumable copy would need to know which rows a half-done run left,
//! which a database this size (one machine's SQLite) does not need.

mod verify;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use piazza_postgres::migrations;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{NoTls, Transaction};
use rusqlite::Connection;

use crate::bench::progress::StatusLine;

use verify::Copied;
pub use verify::Report;

/// Every table, in an order that inserts what a row points at before the
/// row: parents first. `accounts.avatar_media_id` points at `media`, which
/// points at `accounts`; the accounts go in without their avatars, which
/// are set once the media are in (`set_avatars`), so no constraint has to
/// be deferred or switched off.
const TABLES: &[&str] = &[
    "accounts",
    "blocks",
    "devices",
    "contact_requests",
    "contacts",
    "contact_codes",
    "media",
    "media_usage",
    // After media: a deleted account's own avatar, kept to give back.
    "account_deletions",
    "exports",
    "export_links",
    // Bytes an erased account's media held, still to delete; uploads
    // storing bytes.
    "blob_purges",
    "upload_pins",
    "moments",
    "moment_media",
    "moment_audience",
    "moment_inbox",
    "moment_likes",
    "moment_comments",
    "moment_privacy",
    "channels",
    "channel_editors",
    "channel_follows",
    "articles",
    "article_reads",
    "article_likes",
    "article_comments",
    "channel_fanouts",
    "conversations",
    "members",
    "group_invites",
    "join_requests",
    "messages",
    "hidden_messages",
    "message_reactions",
    "mentions",
    "account_log",
    "ledger_accounts",
    "ledger_transactions",
    "ledger_postings",
    "idempotency_keys",
    "payment_pins",
    "transfers",
    "red_packets",
    "red_packet_claims",
    "merchants",
    "payments",
    "refunds",
    "payment_codes",
    "collections_without_confirmation",
    "login_requests",
    // After media (logos, pictures) and merchants (each shop's takings).
    "shops",
    "products",
    "product_media",
    "variants",
    "cart_items",
    "orders",
    "order_items",
    "order_refund_requests",
    "shop_staff",
];

/// The target's own bookkeeping, not copied: its schema version, the
/// leases its schema made (who sweeps is decided afresh by the nodes that
/// start on it), and search's index, derived from the messages, which the
/// target's indexer makes again from its first message.
const NOT_COPIED: &[&str] = &[
    "piazza_schema",
    "leases",
    "search_postings",
    "search_terms",
    "search_progress",
    "search_documents",
];

/// Avatars set per statement once the media are in.
const AVATARS_PER_UPDATE: usize = 10_000;

#[derive(clap::Args, Debug)]
pub struct MigrateStoreArgs {
    /// The data directory of the SQLite store to copy. Stop its server
    /// first: what it writes after the copy's snapshot is not copied.
    #[arg(long)]
    pub from: PathBuf,
    /// The PostgreSQL database to copy into (`postgres://user@host/db`):
    /// one holding no rows, as `createdb` makes it; its schema is migrated
    /// here.
    #[arg(long)]
    pub to: String,
}

/// Copies, verifies, and prints the report; an error (a non-zero exit)
/// when the target was not empty, the copy failed or the verification
/// found a mismatch.
pub async fn run(args: MigrateStoreArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.to.starts_with("postgres://") || args.to.starts_with("postgresql://"),
        "`--to` must be a postgres:// URL, such as postgres://piazza@127.0.0.1/piazza"
    );
    let target = piazza_postgres::redacted(&args.to);
    let progress = Arc::new(Progress::default());
    let status = StatusLine::start({
        let progress = Arc::clone(&progress);
        move || progress.line()
    });
    // The `postgres` client runs a runtime of its own, which may not be
    // started on a thread that drives this one's tasks.
    let copied = tokio::task::spawn_blocking({
        let progress = Arc::clone(&progress);
        move || copy_store(&args.from, &args.to, &progress).map(|report| (report, args.from))
    })
    .await
    .context("the copy stopped")?;
    status.finish();
    let (report, from) = copied?;
    report.print(&from.display().to_string(), &target);
    if !report.is_sound() {
        bail!(
            "the copy did not verify ({} mismatches, listed above): nothing was kept on the \
             target, which is as empty as before",
            report.problems.len()
        );
    }
    println!(
        "media files stay in {}: PostgreSQL mode keeps them in the data directory too, so serve \
         with the same one: piazza serve --data-dir {} --database-url {target}",
        from.join("media").display(),
        from.display()
    );
    Ok(())
}

/// What the status line shows: the stage, and the rows copied.
#[derive(Default)]
struct Progress {
    stage: Mutex<Stage>,
    done: AtomicU64,
    total: AtomicU64,
}

#[derive(Default, Clone, Copy)]
enum Stage {
    #[default]
    Opening,
    Copying(&'static str),
    Verifying,
    Done,
}

impl Progress {
    fn set(&self, stage: Stage) {
        *self.stage.lock().expect("progress lock") = stage;
    }

    fn line(&self) -> String {
        let stage = *self.stage.lock().expect("progress lock");
        let (done, total) = (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        );
        match stage {
            Stage::Opening => "migrate-store: opening the source and the target…".to_owned(),
            Stage::Copying(table) => format!("copying rows… {done}/{total} ({table})"),
            Stage::Verifying => format!("copied {done}/{total} rows; verifying on the target…"),
            Stage::Done => format!("copied {done}/{total} rows and checked them"),
        }
    }
}

/// The copy, in one target transaction kept only if verified.
fn copy_store(from: &Path, url: &str, progress: &Progress) -> anyhow::Result<Report> {
    let source = piazza_sqlite::export::open(from)
        .with_context(|| format!("cannot read the SQLite store in {}", from.display()))?;
    // One snapshot: the counts and the rows copied are of one moment.
    source.execute_batch("BEGIN")?;
    let mut client = postgres::Client::connect(url, NoTls)
        .with_context(|| format!("cannot connect to {}", piazza_postgres::redacted(url)))?;
    migrations::migrate(&mut client).context("cannot migrate the target's schema")?;
    let mut tx = client.transaction()?;
    let tables = target_tables(&mut tx)?;
    refuse_rows(&mut tx)?;
    let mut counts = Vec::with_capacity(tables.len());
    for table in &tables {
        counts.push(source_count(&source, table.name)?);
    }
    progress.total.store(counts.iter().sum(), Ordering::Relaxed);
    let mut avatars = Vec::new();
    let mut copied = Vec::with_capacity(tables.len());
    for (table, source_rows) in tables.iter().zip(counts) {
        progress.set(Stage::Copying(table.name));
        let rows = copy_table(&source, &mut tx, table, progress, &mut avatars)
            .with_context(|| format!("cannot copy table {}", table.name))?;
        copied.push(Copied {
            table: table.name,
            source: source_rows,
            copied: rows,
        });
    }
    set_avatars(&mut tx, &avatars)?;
    advance_identities(&mut tx)?;
    progress.set(Stage::Verifying);
    let report = verify::verify(&mut tx, copied)?;
    progress.set(Stage::Done);
    if !report.is_sound() {
        // Dropping `tx` rolls the copy back.
        return Ok(report);
    }
    tx.commit().context("cannot commit the copy")?;
    // Statistics for the planner now, rather than whenever autovacuum
    // notices a million new rows: the first server's queries need them.
    client
        .batch_execute("ANALYZE")
        .context("cannot analyze the target")?;
    Ok(report)
}

/// A table to copy, with the target's columns in the target's order.
struct Table {
    name: &'static str,
    columns: Vec<Column>,
}

struct Column {
    name: String,
    kind: Kind,
}

/// The column types the schema uses; another stops the copy before it
/// starts rather than copying it wrong.
#[derive(Clone, Copy)]
enum Kind {
    Integer,
    Text,
    Bytes,
    /// SQLite keeps a flag as 0 or 1.
    Boolean,
}

impl Kind {
    fn sql_type(self) -> Type {
        match self {
            Kind::Integer => Type::INT8,
            Kind::Text => Type::TEXT,
            Kind::Bytes => Type::BYTEA,
            Kind::Boolean => Type::BOOL,
        }
    }
}

/// The target's tables and columns, from its catalog: exactly `TABLES`
/// and its own schema table, or the copy would leave a table behind.
fn target_tables(tx: &mut Transaction<'_>) -> anyhow::Result<Vec<Table>> {
    let rows = tx.query(
        "SELECT table_name::text, column_name::text, data_type::text
         FROM information_schema.columns
         WHERE table_schema = current_schema()
         ORDER BY table_name, ordinal_position",
        &[],
    )?;
    let mut tables: Vec<Table> = TABLES
        .iter()
        .map(|&name| Table {
            name,
            columns: Vec::new(),
        })
        .collect();
    for row in rows {
        let (table, column, data_type): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        if NOT_COPIED.contains(&table.as_str()) {
            continue;
        }
        let Some(entry) = tables.iter_mut().find(|entry| entry.name == table) else {
            bail!("the target has a table `{table}` that this migrate-store does not copy");
        };
        let kind = match data_type.as_str() {
            "bigint" => Kind::Integer,
            "text" => Kind::Text,
            "bytea" => Kind::Bytes,
            "boolean" => Kind::Boolean,
            other => bail!("{table}.{column} is of type {other}, which migrate-store cannot copy"),
        };
        entry.columns.push(Column { name: column, kind });
    }
    if let Some(missing) = tables.iter().find(|table| table.columns.is_empty()) {
        bail!(
            "the target has no table `{}`: is it a Piazza database?",
            missing.name
        );
    }
    Ok(tables)
}

/// Locks every table against writers until the copy commits, then
/// refuses a target that already holds rows: the copy keeps the source's
/// ids, which would collide with (or silently join) rows already there.
fn refuse_rows(tx: &mut Transaction<'_>) -> anyhow::Result<()> {
    tx.batch_execute(&format!(
        "LOCK TABLE {} IN EXCLUSIVE MODE",
        TABLES.join(", ")
    ))?;
    let mut holding = Vec::new();
    for table in TABLES {
        let any: bool = tx
            .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[])?
            .get(0);
        if any {
            holding.push(*table);
        }
    }
    if !holding.is_empty() {
        bail!(
            "the target is not empty (rows in {}); migrate-store copies into an empty database \
             only: create a new one (createdb) and pass its URL",
            holding.join(", ")
        );
    }
    Ok(())
}

fn source_count(source: &Connection, table: &str) -> anyhow::Result<u64> {
    let sql = format!(
        "SELECT COUNT(*) FROM {}",
        piazza_sqlite::export::all_rows(table)
    );
    let rows: i64 = source
        .query_row(&sql, [], |row| row.get(0))
        .with_context(|| format!("cannot count the source's {table}"))?;
    Ok(rows as u64)
}

/// Copies every row of `table`, main and tail, in one binary `COPY`.
/// Accounts go in without their avatars (kept in `avatars` for later);
/// log entries go in whole, as the target keeps them.
fn copy_table(
    source: &Connection,
    tx: &mut Transaction<'_>,
    table: &Table,
    progress: &Progress,
    avatars: &mut Vec<(i64, i64)>,
) -> anyhow::Result<u64> {
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let list = names.join(", ");
    let from = piazza_sqlite::export::all_rows(table.name);
    let mut select = source.prepare(&format!("SELECT {list} FROM {from}"))?;
    let types: Vec<Type> = table.columns.iter().map(|c| c.kind.sql_type()).collect();
    let copy = tx.copy_in(&format!("COPY {} ({list}) FROM STDIN BINARY", table.name))?;
    let mut writer = BinaryCopyInWriter::new(copy, &types);
    let adjust = Adjust::for_table(table.name, &names);
    let mut rows = select.query([])?;
    let mut copied = 0;
    while let Some(row) = rows.next()? {
        let mut cells = table
            .columns
            .iter()
            .enumerate()
            .map(|(index, column)| Cell::read(row, index, column))
            .collect::<anyhow::Result<Vec<_>>>()?;
        adjust.apply(source, &mut cells, avatars)?;
        let values: Vec<&(dyn ToSql + Sync)> = cells.iter().map(Cell::as_sql).collect();
        writer.write(&values)?;
        copied += 1;
        progress.done.fetch_add(1, Ordering::Relaxed);
    }
    let written = writer.finish()?;
    anyhow::ensure!(
        written == copied,
        "{copied} rows sent but {written} written"
    );
    Ok(copied)
}

/// One value of a row, typed as its target column.
enum Cell {
    Integer(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Boolean(Option<bool>),
}

impl Cell {
    /// Reads column `index` as `column`'s type: SQLite would hand back
    /// whatever a row holds, and a value of another type is damage to
    /// report, not to convert.
    fn read(row: &rusqlite::Row<'_>, index: usize, column: &Column) -> anyhow::Result<Cell> {
        let cell = match column.kind {
            Kind::Integer => row.get(index).map(Cell::Integer),
            Kind::Text => row.get(index).map(Cell::Text),
            Kind::Bytes => row.get(index).map(Cell::Bytes),
            Kind::Boolean => row.get(index).map(Cell::Boolean),
        };
        cell.with_context(|| format!("column {}", column.name))
    }

    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Cell::Integer(value) => value,
            Cell::Text(value) => value,
            Cell::Bytes(value) => value,
            Cell::Boolean(value) => value,
        }
    }
}

/// What a table's rows need on the way: nothing, the avatar held back
/// (accounts), or the log entry's event made whole (account_log).
enum Adjust {
    None,
    HoldAvatar { id: usize, avatar: usize },
    WholeEvent { data: usize },
}

impl Adjust {
    fn for_table(table: &str, columns: &[&str]) -> Adjust {
        let at = |name: &str| columns.iter().position(|column| *column == name);
        match (table, at("id"), at("avatar_media_id"), at("data")) {
            ("accounts", Some(id), Some(avatar), _) => Adjust::HoldAvatar { id, avatar },
            ("account_log", _, _, Some(data)) => Adjust::WholeEvent { data },
            _ => Adjust::None,
        }
    }

    fn apply(
        &self,
        source: &Connection,
        cells: &mut [Cell],
        avatars: &mut Vec<(i64, i64)>,
    ) -> anyhow::Result<()> {
        match *self {
            Adjust::None => {}
            Adjust::HoldAvatar { id, avatar } => {
                if let (Cell::Integer(Some(account)), Cell::Integer(Some(media))) =
                    (&cells[id], &cells[avatar])
                {
                    avatars.push((*account, *media));
                    cells[avatar] = Cell::Integer(None);
                }
            }
            Adjust::WholeEvent { data } => {
                if let Cell::Text(Some(kept)) = &cells[data] {
                    let event = piazza_sqlite::export::log_event(source, kept)?;
                    let whole = piazza_postgres::encode_log_event(&event)?;
                    cells[data] = Cell::Text(Some(whole));
                }
            }
        }
        Ok(())
    }
}

/// Gives the accounts their avatars back, now that the media are in.
fn set_avatars(tx: &mut Transaction<'_>, avatars: &[(i64, i64)]) -> anyhow::Result<()> {
    for chunk in avatars.chunks(AVATARS_PER_UPDATE) {
        let (ids, media): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
        tx.execute(
            "UPDATE accounts SET avatar_media_id = given.media
             FROM unnest($1::bigint[], $2::bigint[]) AS given (id, media)
             WHERE accounts.id = given.id",
            &[&ids, &media],
        )
        .context("cannot set the accounts' avatars")?;
    }
    Ok(())
}

/// Moves each identity column's sequence past the largest id copied, so
/// the next row the server inserts takes a new id. An empty table's
/// sequence is left at its start (`setval` of NULL does nothing).
fn advance_identities(tx: &mut Transaction<'_>) -> anyhow::Result<()> {
    let identities = tx.query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
        &[],
    )?;
    for row in identities {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        tx.query_one(
            &format!("SELECT setval(pg_get_serial_sequence($1, $2), max({column})) FROM {table}"),
            &[&table, &column],
        )
        .with_context(|| format!("cannot advance {table}.{column}'s sequence"))?;
    }
    Ok(())
}
