#!/usr/bin/env bash
# Runs every fuzz target for N seconds each (default 20): `bash fuzz/run.sh 60`.
#
# cargo fuzz needs nightly compiler flags (-Zsanitizer, coverage passes);
# on a stable toolchain RUSTC_BOOTSTRAP=1 lets stable rustc take them, so no
# nightly toolchain is installed. New inputs libFuzzer finds go to
# fuzz/target/corpus/<target>, never into the committed seeds in
# fuzz/corpus/<target>. A crash leaves its input in fuzz/artifacts/<target>/
# and makes the script fail after all targets ran; see fuzz/README.md for
# turning it into a regression test.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [seconds per target, default 20]" >&2
  exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

# -a keeps debug assertions and overflow checks on: a broken invariant is a
# finding too. Build once; each `run` below then finds nothing to rebuild.
started=$(date +%s)
cargo fuzz build -a
echo "built the fuzz targets in $(($(date +%s) - started)) s"

failed=()
summary=()
for target in $(cargo fuzz list); do
  work="target/corpus/${target}"
  log="target/logs/${target}.log"
  mkdir -p "$work" "$(dirname "$log")"
  echo "== fuzz ${target} for ${seconds} s"
  # The first corpus directory is where libFuzzer writes; the seeds are
  # only read. A dictionary, where there is one, lends whole tokens.
  dict=()
  if [[ -f "dict/${target}.dict" ]]; then
    dict=("-dict=dict/${target}.dict")
  fi
  if cargo fuzz run -a "$target" "$work" "corpus/${target}" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "${dict[@]}" >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$target")
    tail -n 40 "$log" >&2
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  summary+=("$(printf '%-16s %-6s %12s runs %8s exec/s' "$target" "$status" "${runs:-?}" "${speed:-?}")")
done

echo
echo "== fuzz summary (${seconds} s per target; logs in fuzz/target/logs)"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "failing targets: ${failed[*]}; inputs in fuzz/artifacts/<target>/" >&2
  exit 1
fi
