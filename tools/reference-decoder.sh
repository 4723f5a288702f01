#!/usr/bin/env bash
# Decodes golden .nlc files with the independent Python decoder written from
# docs/FORMAT.md alone (tools/nlc_reference_decode.py) and compares every pixel with the
# reference image; decodes every fixtures/golden/pred/ file and every tile-mode golden
# (fixtures/golden/modes/), adapted-head and compact-container goldens
# (fixtures/golden/adapted/, fixtures/golden/compact/), embedded-model goldens
# (fixtures/golden/embedded/) and the previews of
# fixtures/golden/preview/; checks the
# conformance vectors. Exits non-zero on any mismatch or error. Needs python3 (numpy, Pillow:
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

# Predictor-relative models (nelloc.arch "mean_base", FORMAT.md sections 4 and 6): the same
# source images coded with the frozen test models test-rgb-pred / test-gray-pred (the gray
# one is also the alpha model of the GrayA/RGBA files).
PRED_MODELS=(--model fixtures/models/test-rgb-pred.safetensors --model fixtures/models/test-gray-pred.safetensors)
PRED_CASES=(
    "fixtures/golden/pred/dune_77x53.nlc             fixtures/photos/dune_77x53.png"
    "fixtures/golden/pred/wood_gray_64x64.nlc        fixtures/photos/wood_gray_64x64.png"
    "fixtures/golden/pred/rgba-varying-alpha-21x14.nlc fixtures/golden/expected/rgba-varying-alpha-21x14.png"
    "fixtures/golden/pred/graya-varying-15x11.nlc    fixtures/golden/expected/graya-varying-15x11.png"
    "fixtures/golden/pred/rgba-const-alpha-19x13.nlc fixtures/golden/expected/rgba-const-alpha-19x13.png"
)

fail=0
run_cases() {  # run_cases MODEL-ARGS... -- CASE...
    local models=()
    while [ "$1" != "--" ]; do models+=("$1"); shift; done
    shift
    local c nlc ref
    for c in "$@"; do
        read -r nlc ref <<<"$c"
        if ! "$PY" tools/nlc_reference_decode.py "$nlc" --check "$ref" "${models[@]}"; then
            echo "FAIL: $nlc" >&2
            fail=1
        fi
    done
}
run_cases "${MODELS[@]}" -- "${CASES[@]}"
run_cases "${PRED_MODELS[@]}" -- "${PRED_CASES[@]}"

# Tile modes (container versions 2 and 3, FORMAT.md section 8): constant, PNG-style, palette, context and
# neural tiles and plane groups mixed, two files without any neural tile (no model named).
for nlc in fixtures/golden/modes/*.nlc; do
    run_cases "${MODELS[@]}" -- "$nlc fixtures/golden/modes/expected/$(basename "$nlc" .nlc).png"
done

# Adapted heads (container version 4, FORMAT.md section 9): ADPT chunks for colour and
# alpha, absolute and predictor-relative models, among constant tiles.
for nlc in fixtures/golden/adapted/*.nlc; do
    run_cases "${MODELS[@]}" "${PRED_MODELS[@]}" -- "$nlc fixtures/golden/adapted/expected/$(basename "$nlc" .nlc).png"
done

# Embedded previews (FORMAT.md section 10): the image decodes as if the PRVW chunk were
# absent; the preview decodes bit-exactly and is the encoder's rule applied to the image.
for nlc in fixtures/golden/preview/*.nlc; do
    name=$(basename "$nlc" .nlc)
    run_cases "${MODELS[@]}" -- "$nlc fixtures/golden/preview/expected/$name.png"
    if ! "$PY" tools/nlc_reference_decode.py "$nlc" --preview \
            --check "fixtures/golden/preview/expected/$name.preview.png" \
            --preview-source "fixtures/golden/preview/expected/$name.png" "${MODELS[@]}"; then
        echo "FAIL: $nlc (preview)" >&2
        fail=1
    fi
done

# The compact container (version 5, FORMAT.md section 11): one-tile images whose models
# are named by built-in index (test-rgb and test-gray are copies of the built-in
# default-v1 and gray-v1; gray-v3 is the library's own file), by hash prefix (the
# predictor-relative test models) or not at all; coded and constant alpha; XMP and ADPT
# chunks.
COMPACT_MODELS=("${MODELS[@]}" "${PRED_MODELS[@]}" --model crates/nelloc/models/gray-v3.safetensors)
for nlc in fixtures/golden/compact/*.nlc; do
    run_cases "${COMPACT_MODELS[@]}" -- "$nlc fixtures/golden/compact/expected/$(basename "$nlc" .nlc).png"
done

# Models that travel with the files (versions 6 and 7, FORMAT.md section 12): streams that
# embed their models (MODL chunks: compact and tiled, colour and alpha, with an adapted
# head) decode with no --model at all; the 4-byte model reference (kind 4, "-short") with
# the predictor-relative test models.
for nlc in fixtures/golden/embedded/*.nlc; do
    ref="fixtures/golden/embedded/expected/$(basename "$nlc" .nlc).png"
    case $nlc in
        *-short.nlc) run_cases "${PRED_MODELS[@]}" -- "$nlc $ref" ;;
        *) run_cases -- "$nlc $ref" ;;
    esac
done

# Every predictor-relative golden file once, without a reference image: it must decode
# without error and pass the final-state check of every tile (one process for all files).
if ! "$PY" tools/nlc_reference_decode.py "${PRED_MODELS[@]}" --decode-only fixtures/golden/pred/*.nlc; then
    echo "FAIL: fixtures/golden/pred/*.nlc (decode-only)" >&2
    fail=1
fi

# Conformance vectors, step by step: head, prior weights, mean bases, coupled means, CDFs,
# posterior weights, intervals and ANS words (absolute and predictor-relative models).
if ! "$PY" tools/nlc_reference_decode.py "${MODELS[@]}" "${PRED_MODELS[@]}" \
        --conformance fixtures/conformance/test-rgb.json --conformance fixtures/conformance/test-gray.json \
        --conformance fixtures/conformance/test-rgb-pred.json --conformance fixtures/conformance/test-gray-pred.json; then
    echo "FAIL: conformance vectors" >&2
    fail=1
fi

if [ "$fail" -ne 0 ]; then
    echo "reference decoder: mismatch (docs/FORMAT.md and crates/nelloc disagree)" >&2
    exit 1
fi
echo "reference decoder: all files bit-exact, conformance vectors match"
