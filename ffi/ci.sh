#!/usr/bin/env bash
# CI for the C side of libnelloc. Run from the repository root (.ci/run calls it):
#
#   ffi/ci.sh
#
# 1. checks the committed header against cbindgen and Cargo.toml (cargo test --test header);
# 2. builds libnelloc and the nlc CLI in release, installs libnelloc into a temporary
#    prefix with `make -C ffi install`, checks the SONAME and the pkg-config metadata;
# 3. builds the C examples through `pkg-config --cflags --libs nelloc` from that prefix with
#    -Wall -Wextra -Werror, again with -fsanitize=address,undefined, and once statically;
# 4. runs every build on the fixture photos: C encode from PPM (byte-identical to the Rust
#    encoder), C decode compared pixel for pixel with the Rust decoder (nlc), alpha, header
#    probing, error paths, the rows callback (nlc-rows), concurrent decodes from many
#    threads, and likelihood scores (nlc-score: the same figures as `nlc score`);
# 5. checks that the README snippets (ffi/README-snippets.md, ffi/README.md, README.md) are
#    identical to ffi/examples/readme.c and crates/nelloc-image/examples/readme.rs, builds
#    the C one exactly as the README says and runs both.
#
# Models: step 4 uses the frozen test models fixtures/models/test-{rgb,gray}.safetensors
# (override the directory with NELLOC_FFI_MODELS), or the built-in models without them;
# step 5 uses the built-in models, as the README snippets do.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
start=$(date +%s)
step() { echo "=== ffi [$(($(date +%s) - start))s] $*"; }
trap 'echo "ffi/ci.sh: command failed at line $LINENO" >&2' ERR
die() {
  echo "ffi/ci.sh: $*" >&2
  exit 1
}

step "tools (cc, make, pkg-config, readelf)"
missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v make >/dev/null || missing+=(make)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v readelf >/dev/null || missing+=(binutils)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
cc --version | head -1

step "header: committed include/nelloc.h == cbindgen output, version macros == Cargo.toml"
cargo test -q -p nelloc-ffi --test header

step "cargo build --release -p nlc (libnelloc is built by make install)"
cargo build -q --release -p nlc
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
nlc=$target_dir/release/nlc

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step "make -C ffi install PREFIX=$prefix"
make -s -C ffi install PREFIX="$prefix"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
header_version=$(awk '/^#define NLC_VERSION_(MAJOR|MINOR|PATCH) /{v = v (v ? "." : "") $3} END {print v}' include/nelloc.h)
[ "$(pkg-config --modversion nelloc)" = "$header_version" ] ||
  die "nelloc.pc version $(pkg-config --modversion nelloc) != header $header_version"
soname=$(readelf -d "$prefix/lib/libnelloc.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ -n "$soname" ] && [ -e "$prefix/lib/$soname" ] || die "bad SONAME '$soname'"
[ -f "$prefix/lib/libnelloc.a" ] && [ -f "$prefix/include/nelloc.h" ] || die "incomplete install"
echo "installed libnelloc $header_version, SONAME $soname"
# Only the C API is exported from the shared library.
if nm -D --defined-only "$prefix/lib/libnelloc.so" | awk '{print $3}' | grep -v '^nlc_' | grep -q .; then
  nm -D --defined-only "$prefix/lib/libnelloc.so" | awk '{print $3}' | grep -v '^nlc_' | head
  die "libnelloc.so exports symbols outside the nlc_ namespace"
fi

cflags_strict=(-std=c11 -O2 -g -Wall -Wextra -Werror)
build_examples() { # build_examples OUTDIR EXTRA_CFLAGS...
  local out=$1
  shift
  mkdir -p "$out"
  for e in nlc-decode nlc-encode nlc-probe nlc-threads nlc-score nlc-rows readme; do
    # shellcheck disable=SC2046 # pkg-config output is meant to be split
    cc "${cflags_strict[@]}" "$@" "ffi/examples/$e.c" -o "$out/$e" -pthread \
      $(pkg-config --cflags --libs nelloc) -Wl,-rpath,"$(pkg-config --variable=libdir nelloc)"
  done
}

step "header compiles as strict C99 and C11 (and C++ if available)"
printf '#include <nelloc.h>\nint main(void) { return nlc_version() == NLC_VERSION_NUMBER ? 0 : 1; }\n' >"$tmp/h.c"
for std in c99 c11; do
  # shellcheck disable=SC2046
  cc -std=$std -pedantic -Wall -Wextra -Werror "$tmp/h.c" -o "$tmp/h-$std" $(pkg-config --cflags --libs nelloc) \
    -Wl,-rpath,"$prefix/lib"
  "$tmp/h-$std"
done
if command -v c++ >/dev/null; then
  cp "$tmp/h.c" "$tmp/h.cc"
  # shellcheck disable=SC2046
  c++ -Wall -Wextra -Werror "$tmp/h.cc" -o "$tmp/h-cxx" $(pkg-config --cflags --libs nelloc) -Wl,-rpath,"$prefix/lib"
  "$tmp/h-cxx"
fi

step "C examples: -Wall -Wextra -Werror via pkg-config"
build_examples "$tmp/plain"
step "C examples: -fsanitize=address,undefined"
build_examples "$tmp/asan" -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
step "C example linked statically against libnelloc.a (pkg-config --static)"
# shellcheck disable=SC2046
cc "${cflags_strict[@]}" ffi/examples/nlc-probe.c -o "$tmp/nlc-probe-static" $(pkg-config --cflags nelloc) \
  "$prefix/lib/libnelloc.a" $(pkg-config --static --libs nelloc | sed 's/-lnelloc\b//')
if ldd "$tmp/nlc-probe-static" | grep -q libnelloc; then die "static build links libnelloc.so"; fi

models=${NELLOC_FFI_MODELS:-fixtures/models}
rgb_model=() gray_model=() all_models=()
if [ -f "$models/test-rgb.safetensors" ] && [ -f "$models/test-gray.safetensors" ]; then
  echo "models: $models/test-{rgb,gray}.safetensors"
  rgb_model=(--model "$models/test-rgb.safetensors")
  gray_model=(--model "$models/test-gray.safetensors")
  all_models=("${rgb_model[@]}" "${gray_model[@]}")
else
  echo "models: built in ($models/test-*.safetensors not found)"
fi
alpha_model=()
[ ${#gray_model[@]} -eq 0 ] || alpha_model=(--alpha-model "$models/test-gray.safetensors")

# Pixel payload of a PNM file: its last W*H*C bytes (headers may be formatted differently).
same_pixels() { # same_pixels A B BYTES
  cmp <(tail -c "$3" "$1") <(tail -c "$3" "$2") || die "pixels differ: $1 $2"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
work=$tmp/work
mkdir -p "$work"

# Reference streams and pixels from the Rust side (nlc CLI).
step "Rust references (nlc encode / decode)"
for png in fixtures/photos/*.png; do
  name=$(basename "$png" .png)
  if [ "$name" = wood_gray_64x64 ]; then m=("${gray_model[@]}") ext=pgm; else m=("${rgb_model[@]}") ext=ppm; fi
  "$nlc" encode -q "${m[@]}" --tile-size 64 "$png" "$work/$name.rust.nlc" >/dev/null
  "$nlc" decode -q "${all_models[@]}" "$work/$name.rust.nlc" "$work/$name.rust.$ext"
  # The same pixels without the PNG's metadata, as the C encoder will see them.
  "$nlc" encode -q "${m[@]}" --tile-size 64 "$work/$name.rust.$ext" "$work/$name.pnm.rust.nlc" >/dev/null
done
# Eight rows of 16x16 tiles, for the rows callback.
"$nlc" encode -q "${rgb_model[@]}" --tile-size 16 fixtures/photos/boats_128x128.png "$work/rows16.nlc" >/dev/null
# An RGBA image with a non-constant alpha plane, as PAM (bytes of a photo reinterpreted).
w=48 h=40
{
  printf 'P7\nWIDTH %d\nHEIGHT %d\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n' $w $h
  tail -c $((w * h * 4)) "$work/boats_128x128.rust.ppm"
} >"$work/rgba.pam"

for variant in plain asan; do
  bin=$tmp/$variant
  step "run ($variant): C encode == Rust encode, C decode == Rust decode"
  for png in fixtures/photos/*.png; do
    name=$(basename "$png" .png)
    if [ "$name" = wood_gray_64x64 ]; then m=("${gray_model[@]}") ext=pgm; else m=("${rgb_model[@]}") ext=ppm; fi
    ref=$work/$name.rust.$ext
    # Encode the PPM/PGM that the Rust decoder wrote: same pixels, same model and tile
    # size, so the stream must be byte-identical to the Rust encoder's.
    "$bin/nlc-encode" "${m[@]}" --tile-size 64 "$ref" "$work/$name.c.nlc" >/dev/null
    cmp "$work/$name.c.nlc" "$work/$name.pnm.rust.nlc" || die "$name: C and Rust streams differ"
    # Decode the Rust stream through C and compare with the Rust decoder's pixels.
    "$bin/nlc-decode" "${all_models[@]}" "$work/$name.rust.nlc" "$work/$name.c.$ext" >/dev/null
    # (nlc-decode writes the same PGM/PPM header as the Rust `image` encoder.)
    cmp "$work/$name.c.$ext" "$ref" || die "$name: C and Rust decoded pixels differ"
  done

  step "run ($variant): RGBA with coded alpha, ICC metadata"
  printf 'not a real ICC profile' >"$work/fake.icc"
  "$bin/nlc-encode" "${rgb_model[@]}" "${alpha_model[@]}" --tile-size 32 --icc "$work/fake.icc" \
    "$work/rgba.pam" "$work/rgba.c.nlc" >/dev/null
  "$bin/nlc-decode" "${all_models[@]}" "$work/rgba.c.nlc" "$work/rgba.c.pam" >/dev/null
  "$nlc" decode -q "${all_models[@]}" "$work/rgba.c.nlc" "$work/rgba.rust.pam"
  same_pixels "$work/rgba.c.pam" "$work/rgba.pam" $((w * h * 4))
  same_pixels "$work/rgba.rust.pam" "$work/rgba.pam" $((w * h * 4))
  "$bin/nlc-probe" "${all_models[@]}" "$work/rgba.c.nlc" | tee "$work/probe.txt"
  grep -q "alpha coded" "$work/probe.txt" || die "probe: alpha mode"
  grep -q "icc 22," "$work/probe.txt" || die "probe: ICC size"

  step "run ($variant): models that travel with the files (embedded, --model-dir, NELLOC_MODEL_PATH)"
  ext_model=fixtures/models/test-gray-pred.safetensors
  gray_ref=$work/wood_gray_64x64.rust.pgm
  "$bin/nlc-encode" --model "$ext_model" --embed-model --tile-size 32 "$gray_ref" "$work/emb.c.nlc" >/dev/null
  "$bin/nlc-encode" --model "$ext_model" --tile-size 32 "$gray_ref" "$work/ext.c.nlc" >/dev/null
  [ "$(od -An -tu1 -j8 -N1 "$work/emb.c.nlc" | tr -d ' ')" = 7 ] || die "embedded tiled stream is not version 7"
  # No model given: embedded, it decodes; not embedded, it needs the model.
  env -u NELLOC_MODEL_PATH "$bin/nlc-decode" "$work/emb.c.nlc" "$work/emb.c.pgm" >/dev/null
  cmp "$work/emb.c.pgm" "$gray_ref" || die "embedded model: pixels differ"
  if env -u NELLOC_MODEL_PATH "$bin/nlc-decode" "$work/ext.c.nlc" "$work/ext.c.pgm" 2>"$work/err.txt"; then
    die "a stream of an external model decoded without it"
  fi
  grep -q "not embedded" "$work/err.txt" || die "unknown model: $(cat "$work/err.txt")"
  mkdir -p "$work/models"
  cp "$ext_model" "$work/models/"
  "$bin/nlc-decode" --model-dir "$work/nowhere" --model-dir "$work/models" "$work/ext.c.nlc" "$work/ext.c.pgm" >/dev/null
  cmp "$work/ext.c.pgm" "$gray_ref" || die "--model-dir: pixels differ"
  rm -f "$work/ext.c.pgm"
  NELLOC_MODEL_PATH="$work/nowhere:$work/models" "$bin/nlc-decode" "$work/ext.c.nlc" "$work/ext.c.pgm" >/dev/null
  cmp "$work/ext.c.pgm" "$gray_ref" || die "NELLOC_MODEL_PATH: pixels differ"
  "$nlc" decode -q "$work/emb.c.nlc" "$work/emb.rust.pgm"
  cmp "$work/emb.rust.pgm" "$gray_ref" || die "nlc decode of the C stream's embedded model"

  step "run ($variant): probe"
  "$bin/nlc-probe" "${all_models[@]}" "$work"/*.nlc >/dev/null
  rc=0
  "$bin/nlc-probe" fixtures/photos/dune_77x53.png >"$work/probe.txt" || rc=$?
  [ $rc -eq 1 ] && grep -q "not an .nlc stream" "$work/probe.txt" || die "probe of a PNG: rc $rc"

  step "run ($variant): errors leave no output"
  head -c 300 "$work/boats_128x128.rust.nlc" >"$tmp/cut.nlc"
  rm -f "$tmp/cut.ppm"
  if "$bin/nlc-decode" "${all_models[@]}" "$tmp/cut.nlc" "$tmp/cut.ppm" 2>"$work/err.txt"; then
    die "decoding a truncated file succeeded"
  fi
  [ ! -e "$tmp/cut.ppm" ] || die "output written for a failed decode"
  grep -q "truncated" "$work/err.txt" || die "unexpected message: $(cat "$work/err.txt")"

  step "run ($variant): nlc_score / nlc_bits_map == nlc score"
  "$bin/nlc-score" "${rgb_model[@]}" "$work/boats_128x128.rust.ppm" "$work/dune_77x53.rust.ppm" \
    | cut -d, -f3-5,8-10 >"$work/score.c.txt"
  "$nlc" score -q --format csv "${rgb_model[@]}" --background none \
    "$work/boats_128x128.rust.ppm" "$work/dune_77x53.rust.ppm" | cut -d, -f5-7,10,11,21 >"$work/score.rust.txt"
  cmp "$work/score.c.txt" "$work/score.rust.txt" || die "nlc-score and nlc score differ"
  "$bin/nlc-score" "${rgb_model[@]}" --heatmap "$work/boats.bits.pgm" "$work/boats_128x128.rust.ppm" >/dev/null

  step "run ($variant): rows callback: monotone, on the decoding thread, rows == final image"
  for t in 0 1 2 3; do "$bin/nlc-rows" "${rgb_model[@]}" --threads $t "$work/rows16.nlc"; done
  # One worker, groups of 8 tiles (a row of tiles each): rows come in several calls.
  "$bin/nlc-rows" "${rgb_model[@]}" --threads 1 --min-calls 2 "$work/rows16.nlc"
  "$bin/nlc-rows" "${all_models[@]}" "$work/rgba.c.nlc"

  step "run ($variant): concurrent decodes from many threads"
  "$bin/nlc-threads" "${all_models[@]}" --rounds 4 "$work"/*.rust.nlc "$work/rgba.c.nlc"
done

# --- issue 15: valgrind memcheck of the C examples. (Helgrind is not used: every report it
# makes here is inside crossbeam-deque's lock-free queues, whose C11 atomics it cannot see.)
step "valgrind memcheck: C encode, decode, probe (plain build)"
if ! command -v valgrind >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends valgrind
fi
vg=(valgrind -q --error-exitcode=99 --leak-check=full --show-possibly-lost=no --errors-for-leak-kinds=definite)
"${vg[@]}" "$tmp/plain/nlc-decode" "${all_models[@]}" "$work/dune_77x53.rust.nlc" "$work/vg.ppm" >/dev/null
cmp "$work/vg.ppm" "$work/dune_77x53.rust.ppm" || die "valgrind run: pixels differ"
"${vg[@]}" "$tmp/plain/nlc-encode" "${rgb_model[@]}" --tile-size 64 "$work/dune_77x53.rust.ppm" \
  "$work/vg.nlc" >/dev/null
cmp "$work/vg.nlc" "$work/dune_77x53.pnm.rust.nlc" || die "valgrind run: stream differs"
rc=0
"${vg[@]}" "$tmp/plain/nlc-probe" "${all_models[@]}" "$tmp/cut.nlc" >/dev/null || rc=$?
[ $rc -eq 1 ] || die "valgrind: probe of a truncated file: rc $rc (99: memcheck errors)"
"${vg[@]}" "$tmp/plain/nlc-probe" "${all_models[@]}" "$work/rgba.c.nlc" >/dev/null
# ---------------------------------------------------------------------------------------

step "README snippets: identical to the example files"
# The fenced block that follows "<!-- snippet: FILE -->" in a Markdown file.
snippet() { # snippet DOC FILE
  awk -v m="<!-- snippet: $2 -->" 'f == 0 && index($0, m) {f = 1; next}
    f == 1 && /^```/ {f = 2; next} f == 2 && /^```/ {exit} f == 2 {print}' "$1"
}
snippets=(ffi/examples/readme.c crates/nelloc-image/examples/readme.rs)
for doc in ffi/README-snippets.md ffi/README.md README.md; do
  for src in "${snippets[@]}"; do
    if grep -qF "<!-- snippet: $src -->" "$doc"; then
      diff <(snippet "$doc" "$src") <(grep -v '^//!' "$src") || die "$doc: the snippet differs from $src"
      echo "$doc: $src snippet is up to date"
    elif [ "$doc" = ffi/README-snippets.md ]; then
      die "$doc lacks the $src snippet"
    fi
  done
done

step "README snippets: built and run as documented (built-in models)"
readme=$tmp/readme
mkdir -p "$readme"
"$nlc" encode -q fixtures/photos/dune_77x53.png "$readme/photo.nlc" >/dev/null ||
  die "cannot encode with the built-in models (crates/nelloc/models/*.safetensors missing or empty?)"
# Exactly the README's command; the library is in a temporary prefix, hence LD_LIBRARY_PATH.
# shellcheck disable=SC2046
(cd "$readme" && cc "$OLDPWD/ffi/examples/readme.c" $(pkg-config --cflags --libs nelloc))
(cd "$readme" && LD_LIBRARY_PATH=$prefix/lib ./a.out photo.nlc copy.nlc)
cmp "$readme/photo.nlc" "$readme/copy.nlc" || die "readme.c: re-encoded stream differs"
(cd "$readme" && LD_LIBRARY_PATH=$prefix/lib "$tmp/asan/readme" photo.nlc copy2.nlc)
cargo build -q --release -p nelloc-image --example readme
(cd "$readme" && "$target_dir/release/examples/readme")
"$nlc" info "$readme/gray.nlc" | grep -q Gray8 || die "readme.rs: gray.nlc is not a Gray8 .nlc"

step "done"
