#!/bin/sh
# The PostgreSQL baseline for `piazza bench ledger`: a plain double-entry
# transfer (bench/pg/transfer.sql) driven by pgbench against the local
# PostgreSQL, durable (synchronous_commit must be on, and is checked).
#
# Usage: bench/pg/run.sh [clients] [seconds] [accounts]
# Environment: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres),
# BENCH_DB (piazza_bench, created if missing and rebuilt on every run).
set -eu

clients=${1:-64}
seconds=${2:-10}
accounts=${3:-10000}
here=$(cd "$(dirname "$0")" && pwd)
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
db=${BENCH_DB:-piazza_bench}

command -v pgbench >/dev/null || {
    echo "pgbench is missing: install Debian's postgresql-client (or postgresql-contrib)" >&2
    exit 1
}

if [ "$(psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    createdb "$db"
fi

synchronous_commit=$(psql -d "$db" -Atc 'SHOW synchronous_commit')
fsync=$(psql -d "$db" -Atc 'SHOW fsync')
echo "server: $(psql -d "$db" -Atc 'SHOW server_version'), synchronous_commit=$synchronous_commit, fsync=$fsync, wal_sync_method=$(psql -d "$db" -Atc 'SHOW wal_sync_method')"
if [ "$synchronous_commit" != on ] || [ "$fsync" != on ]; then
    echo "refusing to measure: commits would not be durable" >&2
    exit 1
fi

psql -q -v ON_ERROR_STOP=1 -d "$db" -f "$here/schema.sql"
# Balances large enough that no random transfer is ever refused.
psql -q -v ON_ERROR_STOP=1 -d "$db" -c \
    "INSERT INTO accounts (id, balance) SELECT g, 1000000000000 FROM generate_series(1, $accounts) g"
psql -q -d "$db" -c 'VACUUM ANALYZE'
total_before=$(psql -d "$db" -Atc 'SELECT sum(balance) FROM accounts')

echo "pgbench: $clients clients, 2 threads, $seconds s, $accounts accounts"
pgbench -n -f "$here/transfer.sql" -D accounts="$accounts" -c "$clients" -j 2 -T "$seconds" -r "$db"

# The ledger must still balance: money only moved, and every transfer's
# postings sum to zero.
total_after=$(psql -d "$db" -Atc 'SELECT sum(balance) FROM accounts')
unbalanced=$(psql -d "$db" -Atc 'SELECT count(*) FROM (SELECT transfer_id FROM postings GROUP BY transfer_id HAVING sum(amount) <> 0) t')
transfers=$(psql -d "$db" -Atc 'SELECT count(*) FROM transfers')
echo "check: $transfers transfers, balances sum $total_after (was $total_before), unbalanced transfers $unbalanced"
if [ "$total_after" != "$total_before" ] || [ "$unbalanced" != 0 ]; then
    echo "the ledger does not balance" >&2
    exit 1
fi
