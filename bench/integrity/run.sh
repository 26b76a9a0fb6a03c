#!/usr/bin/env bash
# What the store's integrity checks cost on a large store (RELIABILITY.md,
# "Integrity checks"): makes a store with a conversation and a top-up over
# the API, grows it to SIZE_GIB with rows shaped like real ones
# (inflate.py), then times the start-up check (the server's own log line),
# a background pass (`piazza admin check` and `ledger-check` run the same
# queries) and SQLite's quick_check alone.
#
#   cargo build --release && bash bench/integrity/run.sh 10
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_GIB=${1:-10}
BIN=${PIAZZA_BIN:-./target/release/piazza}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/piazza-integrity.XXXXXX")
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
DATA=$WORK/data

start() {
  RUST_LOG=info "$BIN" serve --sandbox-payments --listen 127.0.0.1:0 --data-dir "$DATA" "$@" \
    > "$WORK/stdout" 2> "$WORK/stderr" &
  SERVER=$!
  # A start-up check of a large store takes minutes from a cold cache.
  for _ in $(seq 1 36000); do
    grep -q '^listening on ' "$WORK/stdout" 2>/dev/null && break
    kill -0 $SERVER 2>/dev/null || { cat "$WORK/stderr"; exit 1; }
    sleep 0.1
  done
  URL=$(sed -n 's/^listening on //p' "$WORK/stdout")
}
stop() { kill -TERM $SERVER; wait $SERVER || true; }

start
python3 - "$URL" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
def call(method, path, body=None, token=None, key=None):
    request = urllib.request.Request(base + path, method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"content-type": "application/json"})
    if token: request.add_header("authorization", "Bearer " + token)
    if key: request.add_header("idempotency-key", key)
    with urllib.request.urlopen(request) as answer:
        text = answer.read()
        return json.loads(text) if text else None
tokens = {}
for name in ("ann", "bob"):
    call("POST", "/api/v1/accounts", {"username": name, "password": name + "-secret-1"})
    tokens[name] = call("POST", "/api/v1/sessions", {"username": name, "password": name + "-secret-1", "device_name": "bench"})
request = call("POST", "/api/v1/contacts/requests", {"to": "bob"}, tokens["ann"]["token"])
call("POST", f"/api/v1/contacts/requests/{request['request_id']}/accept", None, tokens["bob"]["token"])
conversation = call("POST", "/api/v1/conversations/direct", {"peer": tokens["bob"]["account_id"]}, tokens["ann"]["token"])
call("POST", f"/api/v1/conversations/{conversation['conversation_id']}/messages", {"client_msg_id": "m1", "text": "hello"}, tokens["ann"]["token"])
call("POST", "/api/v1/wallet/topups", {"amount_minor": 10000}, tokens["ann"]["token"], "fund")
PY
stop

echo "== growing the store to $SIZE_GIB GiB"
python3 bench/integrity/inflate.py "$DATA/piazza.sqlite3" "$SIZE_GIB" | awk 'NR % 10 == 0'
ls -l "$DATA/piazza.sqlite3"
sync

echo "== start-up check (budget 3600 s so it runs whole), page cache warm"
start --config <(printf '[limits]\nintegrity_start_check_s = 3600\n')
grep 'store checked at start' "$WORK/stderr"
stop
echo "== start-up check, page cache dropped (needs root)"
if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then
  start --config <(printf '[limits]\nintegrity_start_check_s = 3600\n')
  grep 'store checked at start' "$WORK/stderr"
  stop
else
  echo "(skipped: cannot drop the page cache)"
fi
echo "== a background pass: quick_check per table, the log, the ledger"
for check in check ledger-check; do
  started=$(date +%s.%N)
  "$BIN" admin $check --data-dir "$DATA" | tail -1
  echo "$(echo "$(date +%s.%N) - $started" | bc) s admin $check"
done
python3 - "$DATA/piazza.sqlite3" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
started = time.time()
result = db.execute("PRAGMA quick_check").fetchall()
print(f"{time.time() - started:.1f} s quick_check: {result[:1]}")
PY

echo "== chat throughput while the verifier checks without rest, against none"
for round in 1 2 3; do
  for interval in 1 86400; do
    start --config <(printf '[limits]\nconnections_per_address_max = 100000\nintegrity_start_check_s = 0\nintegrity_verify_interval_s = %s\nintegrity_verify_pause_ms = 0\n' $interval)
    printf 'verify every %6s s: ' $interval
    "$BIN" bench --attach "$URL" messaging --duration-s 10 | grep -E 'throughput'
    stop
  done
done
