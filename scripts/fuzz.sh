#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for N seconds each (default 300), one after the other,
# and prints per target the executions, exec/s, corpus size and crashes. Not part of the tests.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Needs `cargo install cargo-fuzz --locked` and a nightly toolchain. Builds with one job
# (CARGO_BUILD_JOBS, default 1). New corpus entries go to fuzz/target/corpus-work/<target>;
# the committed seeds in fuzz/corpus/<target> are only read. Crashes land in fuzz/artifacts/.
set -uo pipefail

secs="${1:-300}"
shift || true
cd "$(dirname "$0")/../fuzz" || exit 2
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build || exit 2

failed=0
summary=()
for t in "${targets[@]}"; do
  work="target/corpus-work/$t"
  log="target/fuzz-$t.log"
  mkdir -p "$work" "corpus/$t" "artifacts/$t"
  extra=()
  [ -f "dict/$t.dict" ] && extra+=("-dict=dict/$t.dict")
  # Tokens past the verifier's 4096-byte cap must be reachable too.
  [ "$t" = tokens ] && extra+=("-max_len=8192")
  echo "== $t: ${secs}s"
  cargo +nightly fuzz run "$t" "$work" "corpus/$t" -- \
    -max_total_time="$secs" -print_final_stats=1 "${extra[@]}" >"$log" 2>&1
  rc=$?
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | awk '{print $2}')
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | tail -1 | awk '{print $2}')
  corp=$(grep -oE 'corp: [0-9]+/[0-9.]+[a-zA-Z]*' "$log" | tail -1 | awk '{print $2}')
  crashes=$(grep -c 'Test unit written to' "$log")
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=1
    grep -E 'panicked|ERROR: libFuzzer|Test unit written to' "$log" | head -5
  fi
  line="$t: seconds=$secs executions=${execs:-?} exec/s=${rate:-?} corpus=${corp:-?} crashes=$crashes exit=$rc (log fuzz/$log)"
  echo "$line"
  summary+=("$line")
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
