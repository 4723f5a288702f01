#!/usr/bin/env bash
# Every measurement of docs/PERFORMANCE.md in one go (about 10-15 minutes on 2 cores; run it
# on an otherwise idle machine):
#   1. int8 multiply-add peak of the kernel's instruction mix (examples/int8_peak.rs)
#   2. `nlc bench` on the validation crops with threads 1 and 2, peers in the 1-thread run;
#      the grey crops with the `gray` model; the `fast` model too when it is built in
#   3. the network's own throughput under perf (tools/perf-network.sh), if perf works
#   3b. tile sizes 64..768 on the colour crops (2 threads)
#   4. the size scaling table (tools/perf-scaling.sh; --max-size to skip 4096^2)
#   5. the bpsp vs decode speed plot (tools/perf-plot.py -> docs/perf-tradeoff.png)
# Results: target/perf-report/ (JSON, markdown, logs).
#
# Usage: tools/perf-report.sh [--max-size N] [--runs R] [--skip-scaling] [--skip-perf]
set -euo pipefail
cd "$(dirname "$0")/.."
MAX=4096
RUNS=2
SCALING=1
PERF=1
while (( $# )); do
  case "$1" in
    --max-size) MAX="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --skip-scaling) SCALING=0; shift ;;
    --skip-perf) PERF=0; shift ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
VALDATA="${NELLOC_VALDATA:-$HOME/.cache/nelloc/validation}"
OUT=target/perf-report
mkdir -p "$OUT"
log() { echo "=== [$(date -u +%H:%M:%S)] $*"; }

log "machine"
{ lscpu | grep -E "Model name|^CPU\(s\)|Thread|Hypervisor|MHz"; uptime; echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo " + uncommitted changes in crates/")"; } | tee "$OUT/machine.txt"

log "build"
cargo build --release -p nlc
cargo build --release -p nelloc --example int8_peak
NLC=target/release/nlc
$NLC models | tee "$OUT/models.md"

log "int8 peak"
target/release/examples/int8_peak 0.5 | tee "$OUT/int8_peak.md"
PEAK=$(sed -n 's/^PEAK_GMACS_PER_CORE=//p' "$OUT/int8_peak.md")
peak=()
[[ "$PEAK" =~ ^[0-9.]+$ ]] && peak=(--peak-gmacs "$PEAK")

RGB=("$VALDATA"/*.png)
GRAY=("$VALDATA"/gray/*.png)
bench() { # name, then nlc bench arguments
  local name="$1"; shift
  log "nlc bench $name"
  $NLC bench --runs "$RUNS" "${peak[@]}" --json "$OUT/$name.json" "$@" | tee "$OUT/$name.md"
}
bench rgb-default-t1 "${RGB[@]}" --builtin default --threads 1 --peers
bench rgb-default-t2 "${RGB[@]}" --builtin default --threads 2
if $NLC models | grep -q '^| fast |'; then
  bench rgb-fast-t1 "${RGB[@]}" --builtin fast --threads 1
  bench rgb-fast-t2 "${RGB[@]}" --builtin fast --threads 2
fi
bench gray-t1 "${GRAY[@]}" --builtin gray --threads 1 --peers
bench gray-t2 "${GRAY[@]}" --builtin gray --threads 2
# Tile size: compression cost of tiling vs speed (one tile = the whole 768x512 crop).
log "nlc bench tiles"
$NLC bench "${RGB[@]}" --builtin default --threads 2 --runs 1 --tile-size 64 --tile-size 128 \
  --tile-size 256 --tile-size 512 --tile-size 768 --json "$OUT/tiles.json" | tee "$OUT/tiles.md"

if (( PERF )); then
  log "network throughput under perf"
  tools/perf-network.sh --peak "${PEAK:-0}" --out "$OUT/perf-network" "${RGB[@]}" \
    | tee "$OUT/perf-network.md" || echo "perf-network failed (perf unavailable?)"
fi

if (( SCALING )); then
  log "scaling"
  tools/perf-scaling.sh --max-size "$MAX" --out "$OUT/scaling" | tee "$OUT/scaling.log"
fi

log "plot"
python3 tools/perf-plot.py "$OUT"/rgb-*.json "$OUT"/gray-*.json -o docs/perf-tradeoff.png
log "done: $OUT"
