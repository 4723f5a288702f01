#!/usr/bin/env bash
# The network's own throughput during decoding, isolated with `perf`: builds `nlc` with frame
# pointers, encodes the images, decodes them single-threaded under `perf record -g` (cpu-clock
# sampling), and reads the CPU time inclusive of `nelloc::kernels::forward_batch` (the batched
# network: GEMM kernels, requantisation, residual adds) against all decode time
# (`nelloc::codec::decode_group`). Prints the network's GMAC/s per core and, with --peak, its
# fraction of the int8 peak (`cargo run --release -p nelloc --example int8_peak`), then the
# decode profile: self time by stage (GEMM, requantisation, mixture, symbol search, contexts,
# orchestration, memory copies), as docs/PERFORMANCE.md quotes it.
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
# (The model by its hash: several built-in versions share a name; the MAC/pixel column
# found by its header.)
macs=$(for f in "$OUT"/*.nlc; do
  hash=$("$NLC" info "$f" | sed -n 's/^model: *\([0-9a-f]*\).*$/\1/p')
  dims=$("$NLC" info "$f" | sed -n 's/^dimensions: *//p')
  mpp=$("$NLC" models | awk -F'|' -v h="$hash" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /MAC\/pixel/) col = i }
    index($0, h) { gsub(/ /, "", $col); print $col; exit }')
  echo "$dims $mpp"
done | awk '{split($1,d,"x"); s += d[1]*d[2]*$2} END {printf "%.0f", s}')

perf record -q -F 1999 -g -e cpu-clock -o "$OUT/perf.data" -- bash "$OUT/decode.sh" 2>/dev/null
# nlc's threads (the main one and the workers, named nelloc-*), not the driving shell.
comms=$(perf report -i "$OUT/perf.data" --stdio --no-children --sort comm -g none 2>/dev/null |
  awk '$1 ~ /%$/ && ($NF == "nlc" || $NF ~ /^nelloc-/) {print $NF}' | paste -sd, -)
perf report -i "$OUT/perf.data" --stdio --children --sort symbol -g none --comm "$comms" 2>/dev/null > "$OUT/report.txt"
total_ns=$(sed -n 's/^# Event count (approx.): //p' "$OUT/report.txt" | head -1)
pct() { awk -v s="$1" 'index($0, s) && $1 ~ /%$/ {gsub("%","",$1); print $1; exit}' "$OUT/report.txt"; }
net=$(pct "nelloc::kernels::forward_batch")
dec=$(pct "nelloc::codec::engine::decode_group")
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
perf report -i "$OUT/perf.data" --stdio --no-children --sort symbol -g none --comm "$comms" 2>/dev/null > "$OUT/self.txt"
python3 - "$OUT/self.txt" <<'PY'
import re, sys
# Self time by stage; the first pattern that matches a symbol names its stage.
stages = [
    ("network: GEMM kernels (requantisation fused where the level has it)", r"gemm_"),
    ("network: other requantisation, layer walk", r"requant_|forward_batch|relu_rows|head_rows"),
    ("mixture: symbol search (CDF edges)", r"ChannelDist::search|quantile_function|ChannelDist::edge"),
    ("mixture: per-pixel setup, coupling, posterior", r"PixelDist|ChannelDist|mixture::"),
    ("contexts: network input, predictor bases", r"gather_context|context::bases|neighbours"),
    ("orchestration: wavefront, ANS pops, tiles", r"decode_group|decode_tiles|coder::|constriction|StreamDecoder"),
    ("memory copies and fills", r"memmove|memcpy|memset"),
]
totals = {name: 0.0 for name, _ in stages}
other = 0.0
for line in open(sys.argv[1]):
    m = re.match(r"\s*([0-9.]+)%\s+(.*)$", line)
    if not m:
        continue
    share, sym = float(m.group(1)), m.group(2)
    for name, pat in stages:
        if re.search(pat, sym):
            totals[name] += share
            break
    else:
        other += share
print("| stage (self time, 1 thread) | share of decode |")
print("|---|---|")
for name, _ in stages:
    print(f"| {name} | {totals[name]:.1f}% |")
print(f"| everything else (container, model load, output) | {other:.1f}% |")
PY
echo "(perf report: $OUT/report.txt, $OUT/self.txt)"
