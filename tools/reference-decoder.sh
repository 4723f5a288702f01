#!/usr/bin/env bash
# Decodes a few golden .nlc files with the independent Python decoder written from
# docs/FORMAT.md alone (tools/nlc_reference_decode.py) and compares every pixel with the
# reference image. Exits non-zero on any mismatch or error. Needs python3 (numpy, Pillow:
# installed with pip only if missing); no Rust build needed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import numpy, PIL' 2>/dev/null; then
    "$PY" -m pip install --quiet numpy pillow
fi

# fixtures/golden/expected/*.png are the Rust decoder's output (`nlc decode`) for the
# synthetic goldens, which have no source image in fixtures/photos/.
MODELS=(--model fixtures/models/test-rgb.safetensors --model fixtures/models/test-gray.safetensors)
# golden file                                  reference image
CASES=(
    "fixtures/golden/dune_77x53.nlc             fixtures/photos/dune_77x53.png"       # RGB, 6 tiles incl. partial ones
    "fixtures/golden/wood_gray_64x64.nlc        fixtures/photos/wood_gray_64x64.png"  # Gray8, 4 tiles
    "fixtures/golden/rgba-varying-alpha-21x14.nlc fixtures/golden/expected/rgba-varying-alpha-21x14.png" # RGBA coded alpha
    "fixtures/golden/graya-varying-15x11.nlc    fixtures/golden/expected/graya-varying-15x11.png"        # GrayA coded alpha
    "fixtures/golden/rgba-const-alpha-19x13.nlc fixtures/golden/expected/rgba-const-alpha-19x13.png"     # constant alpha
)

fail=0
for c in "${CASES[@]}"; do
    read -r nlc ref <<<"$c"
    if ! "$PY" tools/nlc_reference_decode.py "$nlc" --check "$ref" "${MODELS[@]}"; then
        echo "FAIL: $nlc" >&2
        fail=1
    fi
done
if [ "$fail" -ne 0 ]; then
    echo "reference decoder: mismatch (docs/FORMAT.md and crates/nelloc disagree)" >&2
    exit 1
fi
echo "reference decoder: all files bit-exact"
