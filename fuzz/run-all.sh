#!/usr/bin/env bash
# Runs every fuzz target in turn for SECONDS each (default 600), niced, from the seed
# corpora (fuzz/seeds.sh), logging to fuzz/logs/<target>.log; prints per target the
# executions, rate, coverage at start and end, and any crash/timeout/oom artifacts.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); RUSTC_BOOTSTRAP=1 lets a stable
# toolchain accept the -Z flags it passes (sanitizer, coverage instrumentation).
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(container decode structured roundtrip model abi)
fuzz/seeds.sh
mkdir -p fuzz/logs
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  log=fuzz/logs/$t.log
  nice -n 10 cargo fuzz run "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  start=$(grep -m1 'INITED' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  echo "$t: rc $rc, ${execs:-?} execs, ${rate:-?}/s, start [$start], end [$(echo "$last" | grep -o 'cov: [0-9]* ft: [0-9]*')], corpus $(ls "fuzz/corpus/$t" | wc -l)"
  ls "fuzz/artifacts/$t" 2>/dev/null | sed "s/^/  artifact: /"
done
