#!/usr/bin/env bash
# The network's own throughput during decoding, isolated with `perf`: builds `nlc` with frame
# pointers, encodes the images, decodes them single-threaded under `perf record -g` (cpu-clock
# sampling), and reads the CPU time inclusive of `nelloc::kernels::forward_batch` (the batched
# network: GEMM kernels, requantisation, residual adds) against all decode time
# (`nelloc::codec::decode_group`). Prints the network's GMAC/s per core and, with --peak, its
# fraction of the int8 peak (`cargo run --release -p nelloc --example int8_peak`).
#
# Usage: tools/perf-network.sh [--builtin NAME] [--peak GMACS] [--out DIR] IMAGE...
# Needs Linux `perf` with user-space sampling allowed (kernel.perf_event_paranoid <= 2).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILTIN=""
PEAK=""
OUT=target/perf-network
while (( $# )); do
  case "$1" in
    --builtin) BUILTIN="$2"; shift 2 ;;
    --peak) PEAK="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    *) break ;;
  esac
done
(( $# )) || { echo "usage: $0 [--builtin NAME] [--peak GMACS] IMAGE..." >&2; exit 2; }
command -v perf >/dev/null || { echo "perf not found (apt-get install linux-perf)" >&2; exit 1; }

RUSTFLAGS="-C force-frame-pointers=yes" cargo build --release -p nlc --target-dir target/perf-fp
NLC=target/perf-fp/release/nlc
mkdir -p "$OUT"
extra=()
[[ -n "$BUILTIN" ]] && extra+=(--builtin "$BUILTIN")
: > "$OUT/decode.sh"
pixels=0
n=0
for img in "$@"; do
  "$NLC" encode "$img" "$OUT/$n.nlc" --threads 1 -q "${extra[@]}" 2>/dev/null
  echo "\"$PWD/$NLC\" decode \"$OUT/$n.nlc\" \"$OUT/$n.pam\" --threads 1 -q" >> "$OUT/decode.sh"
  n=$((n + 1))
done
# MACs per pixel of the colour model each file uses, and the pixel count.
macs=$(for f in "$OUT"/*.nlc; do
  model=$("$NLC" info "$f" | sed -n 's/^model: *[0-9a-f]* (\(.*\))$/\1/p')
  dims=$("$NLC" info "$f" | sed -n 's/^dimensions: *//p')
  mpp=$("$NLC" models | awk -F'|' -v m="$model" '$2 ~ "^ *"m" *$" {gsub(/ /,"",$6); print $6}')
  echo "$dims $mpp"
done | awk '{split($1,d,"x"); s += d[1]*d[2]*$2} END {printf "%.0f", s}')

perf record -q -F 1999 -g -e cpu-clock -o "$OUT/perf.data" -- bash "$OUT/decode.sh" 2>/dev/null
perf report -i "$OUT/perf.data" --stdio --children --sort symbol -g none --comm nlc 2>/dev/null > "$OUT/report.txt"
total_ns=$(sed -n 's/^# Event count (approx.): //p' "$OUT/report.txt" | head -1)
pct() { awk -v s="$1" 'index($0, s) && $1 ~ /%$/ {gsub("%","",$1); print $1; exit}' "$OUT/report.txt"; }
net=$(pct "nelloc::kernels::forward_batch")
dec=$(pct "nelloc::codec::decode_group")
gemm=$(awk '/gemm_(u8|i16)_(avx2|vnni)/ && $2 ~ /%$/ {gsub("%","",$2); s += $2} END {print s+0}' "$OUT/report.txt")
python3 - "$total_ns" "${net:-0}" "${dec:-0}" "$gemm" "$macs" "${PEAK:-0}" <<'PY'
import sys
total_ns, net, dec, gemm, macs, peak = map(float, sys.argv[1:])
cpu = total_ns / 1e9
print(f"samples: {cpu:.2f} CPU-s in nlc; decode_group {dec:.1f}%, forward_batch (network) {net:.1f}%, "
      f"GEMM kernels (self) {gemm:.1f}%")
print(f"network MACs: {macs / 1e9:.2f} G")
for name, share in (("network (forward_batch, inclusive)", net), ("GEMM kernels only", gemm),
                    ("whole decode (decode_group)", dec)):
    if share > 0:
        g = macs / (cpu * share / 100) / 1e9
        extra = f" = {100 * g / peak:.1f}% of the int8 peak {peak:.1f} GMAC/s" if peak > 0 else ""
        print(f"{name}: {g:.2f} GMAC/s per core{extra}")
PY
echo "(perf report: $OUT/report.txt)"
