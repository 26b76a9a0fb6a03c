#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 with a role
# `piazza_test` (password `piazza_test`, may create databases), which the
# tests use: installs Debian's postgresql if it is missing, starts the
# cluster if it is stopped. Safe to run again.
#
# Needs root (apt-get, pg_ctlcluster, runuser): run it as root, or as a
# user who may sudo, and it runs itself again under sudo.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "$0 needs root: run it as root (there is no sudo here)" >&2
    exit 1
  fi
  exec sudo bash "$0" "$@"
fi

if ! command -v pg_ctlcluster >/dev/null; then
  apt-get update && apt-get install -y --no-install-recommends postgresql
fi
version="$(ls /etc/postgresql | sort -V | tail -n 1)"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.2
done
pg_isready -h 127.0.0.1 -p 5432

as_postgres() { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(as_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = 'piazza_test'")" != "1" ]; then
  as_postgres -c "CREATE ROLE piazza_test LOGIN CREATEDB PASSWORD 'piazza_test'"
fi
# Tests run in parallel, each Piazza process holding a writer, its
# readers and a verifier: PostgreSQL's default of 100 connections is
# soon taken.
if [ "$(as_postgres -c "SHOW max_connections")" -lt 400 ]; then
  as_postgres -c "ALTER SYSTEM SET max_connections = 400"
  pg_ctlcluster --skip-systemctl-redirect "$version" main restart
  for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 0.2
  done
fi
echo "PostgreSQL $version answers on 127.0.0.1:5432 (role piazza_test)"
