#!/usr/bin/env bash
# Regenerate the model-vs-peers table on the validation crops, in one run:
# nlc (Rust integer engine, real coded size) with every model in crates/nelloc/models/,
# cjxl -d 0 -e 7 and cwebp -lossless -z 9 (+ oxipng -o 2 if installed), roundtrips verified;
# gray models vs cjxl -d 0 -e 7 on the gray crops.  Writes training/logs/eval.md.
# Usage: training/eval.sh [--models FILE...] [--no-peers] [--jobs N] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [[ $(id -u) != 0 ]] && SUDO="sudo"
need=()
command -v cjxl >/dev/null && command -v djxl >/dev/null || need+=(libjxl-tools)
command -v cwebp >/dev/null && command -v dwebp >/dev/null || need+=(webp)
if (( ${#need[@]} )); then
  $SUDO apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi
bash tools/validation-data.sh >/dev/null
# (re)build the CLI unless NELLOC_EVAL_NO_BUILD is set and a binary exists
if [[ -z ${NELLOC_EVAL_NO_BUILD:-} || ! -x target/release/nlc ]]; then cargo build --release -q -p nlc; fi
exec "${PYTHON:-python3}" training/eval.py "$@"
