#!/usr/bin/env bash
# CI for the Python package (crates/nelloc-py). Run from anywhere (.ci/run calls it):
#
#   crates/nelloc-py/ci.sh
#
# 0. lints the Python code (ruff, settings in pyproject.toml);
# 1. builds the abi3 wheel with maturin (pinned) in release: it shares the core crate's
#    release build with the CLI that .ci/run builds before, so only PyO3 and the bindings
#    compile here;
# 2. installs the wheel into a fresh venv with ci-requirements.txt (NumPy, Pillow,
#    pytest, Dask) and checks that `import nelloc` and the Pillow plugin come from it;
# 3. runs pytest (tests/) against the installed wheel, with the nlc CLI for the
#    bit-exact comparisons (NELLOC_REQUIRE_CLI: those tests must not skip) and the adapt
#    extra's packages (ci-adapt-requirements.txt: PyTorch, pinned as training/ pins it;
#    NELLOC_REQUIRE_TORCH: tests/test_adapt.py must not skip; NELLOC_CI_NO_TORCH=1 leaves
#    them out, and those tests skip);
# 4. runs the Dask example (examples/dask_compress.py) on a LocalCluster with 2 worker
#    processes over a tree of the fixture photos: compress, rerun (everything skipped),
#    verify, score; checks the summaries.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
# No __pycache__ left in the repository by the tests.
export PYTHONDONTWRITEBYTECODE=1
start=$(date +%s)
step() { echo "=== python [$(($(date +%s) - start))s] $*"; }
die() {
  echo "crates/nelloc-py/ci.sh: $*" >&2
  exit 1
}
root=$PWD
py=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
target=${CARGO_TARGET_DIR:-$PWD/target}
# A venv; Debian's own python3 needs the python3-venv package for that.
mkvenv() {
  "$py" -m venv "$1" 2>/dev/null && return
  rm -rf "$1"
  echo "installing python3-venv with apt"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
  "$py" -m venv "$1"
}

step "maturin and ruff (pinned) in a build venv; ruff check, ruff format --check"
mkvenv "$tmp/build"
"$tmp/build/bin/pip" install --quiet --disable-pip-version-check maturin==1.16.0 ruff==0.17.6
(cd crates/nelloc-py && "$tmp/build/bin/ruff" check --no-cache python tests examples &&
  "$tmp/build/bin/ruff" format --no-cache --check python tests examples)

step "wheel: maturin build --release (abi3, CPython >= 3.9)"
"$tmp/build/bin/maturin" build --release --quiet --out "$tmp/wheels" \
  --manifest-path crates/nelloc-py/Cargo.toml
wheel=$(ls "$tmp"/wheels/nelloc-*.whl)
case "$wheel" in *-cp39-abi3-*linux*x86_64*.whl) ;; *) die "not an abi3 x86-64 wheel: $wheel" ;; esac
echo "$(basename "$wheel"): $(du -k "$wheel" | cut -f1) KiB"

step "fresh venv: pip install the wheel + ci-requirements.txt"
mkvenv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" \
  -r crates/nelloc-py/ci-requirements.txt
require_torch=1
if [ -z "${NELLOC_CI_NO_TORCH:-}" ]; then
  "$tmp/venv/bin/pip" install --quiet --disable-pip-version-check \
    -r crates/nelloc-py/ci-adapt-requirements.txt
else
  require_torch=""
fi
# From an unrelated directory, so that nothing in the repository can shadow the wheel.
(cd "$tmp" && "$tmp/venv/bin/python" -c '
import nelloc, nelloc.pillow, nelloc.adapt
from PIL import Image
assert "site-packages" in nelloc.__file__, nelloc.__file__
assert Image.EXTENSION[".nlc"] == "NLC"
print("nelloc", nelloc.__version__, "from", nelloc.__file__)')

step "CLI for the bit-exact comparisons"
nlc=$target/release/nlc
[ -x "$nlc" ] || cargo build --release --quiet -p nlc

step "nlc adapt runs the installed package (python -m nelloc.adapt), or names the pip command"
if [ -n "$require_torch" ]; then
  NELLOC_PYTHON="$tmp/venv/bin/python" "$nlc" adapt --help | grep -q -- "--minutes" ||
    die "nlc adapt --help does not show the options of python -m nelloc.adapt"
fi
! NELLOC_PYTHON="$tmp/build/bin/python" "$nlc" adapt --help 2>"$tmp/adapt.err" >/dev/null ||
  die "nlc adapt should fail without the package"
grep -q "pip install 'nelloc\[adapt\]'" "$tmp/adapt.err" || die "nlc adapt: no pip command in: $(cat "$tmp/adapt.err")"

step "pytest against the installed wheel"
(cd "$tmp" && NLC="$nlc" NELLOC_REQUIRE_CLI=1 NELLOC_REQUIRE_TORCH=$require_torch \
  "$tmp/venv/bin/python" -m pytest -q \
  -p no:cacheprovider "$root/crates/nelloc-py/tests")

step "Dask example on a LocalCluster (2 workers): compress, resume, verify, score"
mkdir -p "$tmp/src/photos/gray"
cp fixtures/photos/*.png "$tmp/src/photos/"
mv "$tmp/src/photos/wood_gray_64x64.png" "$tmp/src/photos/gray/"
example=crates/nelloc-py/examples/dask_compress.py
# --chunk-size 1: both workers get images even from this small tree.
run() { "$tmp/venv/bin/python" "$example" "$tmp/src" "$tmp/dst" --chunk-size 1 --summary-json "$tmp/s.json" "$@"; }
check() { "$tmp/venv/bin/python" -c "import json, sys; s = json.load(open('$tmp/s.json')); sys.exit(0 if $1 else 'summary: %s' % s)"; }
n=$(find "$tmp/src" -name '*.png' | wc -l)
run --report "$tmp/report.csv"
check "s['files'] == $n and s['done'] == $n and s['failed'] == 0 and 0 < s['bpsp'] < 8"
[ "$(find "$tmp/dst" -name '*.png.nlc' | wc -l)" -eq "$n" ] || die "outputs do not mirror the inputs"
[ "$(wc -l <"$tmp/report.csv")" -eq $((n + 1)) ] || die "report.csv should have a row per image"
run
check "s['skipped'] == $n and s['done'] == 0"
run --action verify
check "s['ok'] == $n and s['failed'] == 0"
run --action score
check "s['ok'] == $n and len(s['scores']) == $n"
# A CLI decode of a Dask-written file equals its source.
"$nlc" decode --quiet "$tmp/dst/photos/gray/wood_gray_64x64.png.nlc" "$tmp/wood.png"
"$tmp/venv/bin/python" -c "
import numpy as np, sys
from PIL import Image
a, b = (np.asarray(Image.open(p)) for p in sys.argv[1:])
assert np.array_equal(a, b)" "$tmp/wood.png" fixtures/photos/wood_gray_64x64.png

step "done in $(($(date +%s) - start)) s"
