#!/usr/bin/env bash
# Scaling of nelloc's encode and decode time with image size and threads: builds `nlc`
# (release), makes test images of 64^2 .. 4096^2 from a validation crop (mirror-tiled, so
# content stays photographic and seamless), runs `nlc bench` on each with 1 and 2 threads and
# writes a markdown table of time per megapixel (flat in size = cost linear in pixels).
#
# Usage: tools/perf-scaling.sh [--max-size N] [--threads "1 2"] [--builtin NAME]
#                              [--runs R] [--out DIR] [--source PNG]
#   --max-size N   skip sizes above N (default 4096; 8192^2, 67 MP, takes minutes per
#                  thread count)
#   --out DIR      work/output directory (default target/perf-scaling); the table is
#                  DIR/scaling.md, raw results DIR/scaling-SIZE-tT.json
#   --source PNG   image to tile (default: Garden.png of the validation crops,
#                  ${NELLOC_VALDATA:-$HOME/.cache/nelloc/validation}, see tools/validation-data.sh)
# Needs python3 with Pillow.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX=4096
THREADS="1 2"
BUILTIN=""
RUNS=1
OUT=target/perf-scaling
VALDATA="${NELLOC_VALDATA:-$HOME/.cache/nelloc/validation}"
SRC="$VALDATA/Garden.png"
while (( $# )); do
  case "$1" in
    --max-size) MAX="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --builtin) BUILTIN="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --source) SRC="$2"; shift 2 ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -f "$SRC" ]] || { echo "source image $SRC not found: run tools/validation-data.sh or pass --source" >&2; exit 1; }

cargo build --release -p nlc
NLC=target/release/nlc
mkdir -p "$OUT"

SIZES=()
for s in 64 256 1024 2048 4096 8192; do
  if (( s <= MAX )); then SIZES+=("$s"); else echo "skipping ${s}x${s} (--max-size $MAX)"; fi
done

python3 - "$SRC" "$OUT" "${SIZES[@]}" <<'PY'
import sys
from PIL import Image, ImageOps
src, out, sizes = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]]
im = Image.open(src)
im = im.convert("L" if im.mode in ("L", "I;16") else "RGB")
w, h = im.size
# 2x2 mirror tile: seamless; repeated as needed.
m = Image.new(im.mode, (2 * w, 2 * h))
m.paste(im, (0, 0)); m.paste(ImageOps.mirror(im), (w, 0))
m.paste(ImageOps.flip(im), (0, h)); m.paste(ImageOps.flip(ImageOps.mirror(im)), (w, h))
for s in sizes:
    path = f"{out}/scale-{s}.png"
    if s <= min(w, h):  # centre crop
        x, y = (w - s) // 2, (h - s) // 2
        img = im.crop((x, y, x + s, y + s))
    else:
        img = Image.new(im.mode, (s, s))
        for y in range(0, s, 2 * h):
            for x in range(0, s, 2 * w):
                img.paste(m, (x, y))
    img.save(path, compress_level=1)
    print(f"{path}: {s}x{s} {img.mode}")
PY

extra=()
[[ -n "$BUILTIN" ]] && extra+=(--builtin "$BUILTIN")
for s in "${SIZES[@]}"; do
  for t in $THREADS; do
    echo "=== ${s}x${s}, $t thread(s) ($(date -u +%H:%M:%S))"
    "$NLC" bench "$OUT/scale-$s.png" --threads "$t" --runs "$RUNS" "${extra[@]}" \
      --json "$OUT/scaling-$s-t$t.json" | sed -n '3,5p'
  done
done

python3 - "$OUT" "${SIZES[@]}" -- $THREADS > "$OUT/scaling.md" <<'PY'
import json, sys
out = sys.argv[1]
i = sys.argv.index("--")
sizes, threads = sys.argv[2:i], sys.argv[i + 1:]
print("| size | pixels | threads | encode s | decode s | encode s/MP | decode s/MP | encode MP/s | decode MP/s | decode peak MiB | raw MiB |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for s in sizes:
    for t in threads:
        r = json.load(open(f"{out}/scaling-{s}-t{t}.json"))
        c = r["configs"][0]
        im = c["images"][0]
        peak = im["decode_peak_kib"]
        print(f"| {s}x{s} | {im['width'] * im['height']} | {t} | {im['encode_s']:.3f} | {im['decode_s']:.3f} "
              f"| {im['encode_s_per_mp']:.3f} | {im['decode_s_per_mp']:.3f} | {im['encode_mps']:.3f} "
              f"| {im['decode_mps']:.3f} | {peak / 1024 if peak else float('nan'):.1f} | {im['raw_bytes'] / 2**20:.2f} |")
PY
cat "$OUT/scaling.md"
echo "wrote $OUT/scaling.md"
