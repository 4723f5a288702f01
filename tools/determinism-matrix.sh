#!/usr/bin/env bash
# The determinism matrix on real (larger) images through `nlc`: every SIMD level
# (NELLOC_SIMD), 1/2/8 threads, several tile sizes and mode sets must write identical
# files, and each file must decode to the input's pixels with 1 and 8 threads.
# crates/nelloc/tests/determinism.rs is the small in-process version that CI runs.
# Usage: tools/determinism-matrix.sh [IMAGE...]   (default: the photos in fixtures/)
set -euo pipefail
cd "$(dirname "$0")/.."
# NLC=path/to/nlc uses an existing binary instead of building the release one.
if [ -z "${NLC:-}" ]; then
  cargo build --release -q -p nlc
fi
nlc=${NLC:-${CARGO_TARGET_DIR:-target}/release/nlc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ $# -gt 0 ] || set -- fixtures/photos/*.png
cells=0
for img in "$@"; do
  for tile in 64 256 1024; do
    for modes in neural all; do
      ref=""
      for simd in scalar avx2 best; do
        for threads in 1 2 8; do
          out="$tmp/$simd-$threads.nlc"
          NELLOC_SIMD=$simd $nlc encode -q --no-verify --modes $modes --tile-size $tile \
            --threads $threads "$img" "$out" 2>/dev/null
          if [ -z "$ref" ]; then ref=$out; cp "$out" "$tmp/ref.nlc"; ref="$tmp/ref.nlc"; fi
          cmp -s "$ref" "$out" || { echo "DIFFER: $img tile $tile $modes simd $simd threads $threads"; exit 1; }
          cells=$((cells + 1))
        done
      done
      for simd in scalar best; do
        for threads in 1 8; do
          NELLOC_SIMD=$simd $nlc decode -q --threads $threads "$ref" "$tmp/back.pam"
          $nlc encode -q --no-verify --modes $modes --tile-size $tile "$tmp/back.pam" "$tmp/again.nlc" 2>/dev/null
          cmp -s "$ref" "$tmp/again.nlc" || { echo "DECODE DIFFERS: $img tile $tile simd $simd threads $threads"; exit 1; }
        done
      done
      rm -f "$tmp/ref.nlc"
    done
  done
  echo "ok: $img"
done
echo "determinism matrix: $cells encodes identical, every decode re-encodes to the same bytes"
