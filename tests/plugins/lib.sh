# Shared by the plugin end-to-end tests (sourced, not run). Each test installs its plugin
# into a scratch prefix and drives the real tool; pixels are compared exactly through the
# nlc CLI, an independent path (Rust `image` for PNG, the Rust decoder for .nlc).
#
# Environment (tests/run sets them; a test run alone sets them itself):
#   NELLOC_PREFIX  libnelloc installed with `make -C ffi install` (built here if unset)
#   NLC            the nlc CLI (default: $CARGO_TARGET_DIR/release/nlc, built if missing)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
TEST=$(basename "$0" .sh)
trap 'echo "tests/plugins/$TEST.sh: failed at line $LINENO" >&2' ERR

die() {
  echo "tests/plugins/$TEST.sh: $*" >&2
  exit 1
}
ok() { echo "  ok: $*"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nelloc-$TEST.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

target_dir=${CARGO_TARGET_DIR:-$ROOT/target}
NLC=${NLC:-$target_dir/release/nlc}
[ -x "$NLC" ] || cargo build -q --release -p nlc
if [ -z "${NELLOC_PREFIX:-}" ]; then
  NELLOC_PREFIX=$WORK/prefix
  make -s -C ffi install PREFIX="$NELLOC_PREFIX" >/dev/null
fi
export PKG_CONFIG_PATH=$NELLOC_PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export NLC NELLOC_PREFIX

# Test images in $WORK/in: gray.png, graya.png, rgb.png, rgba.png (photo crops; the alpha
# planes are photo bytes too, so they hold fully transparent pixels with non-zero colour,
# which a careless plugin would lose).
make_inputs() {
  local in=$WORK/in
  mkdir -p "$in"
  cp fixtures/photos/wood_gray_64x64.png "$in/gray.png"
  cp fixtures/photos/dune_77x53.png "$in/rgb.png"
  "$NLC" decode -q "$(tmp_nlc fixtures/photos/boats_128x128.png)" "$in/src.ppm"
  local w=48 h=40
  {
    printf 'P7\nWIDTH %d\nHEIGHT %d\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n' $w $h
    tail -c $((w * h * 4)) "$in/src.ppm"
  } >"$in/rgba.pam"
  {
    printf 'P7\nWIDTH %d\nHEIGHT %d\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n' $w $h
    tail -c $((w * h * 2)) "$in/src.ppm"
  } >"$in/graya.pam"
  for t in rgba graya; do
    "$NLC" encode -q --modes png "$in/$t.pam" "$in/$t.tmp.nlc" >/dev/null 2>&1
    "$NLC" decode -q "$in/$t.tmp.nlc" "$in/$t.png"
    rm -f "$in/$t.tmp.nlc" "$in/$t.pam"
  done
  rm -f "$in/src.ppm"
}

tmp_nlc() { # tmp_nlc IMAGE: encodes IMAGE quickly (PNG-style tiles), prints the .nlc path
  local out
  out=$(mktemp "$WORK/tmp.XXXXXX.nlc")
  "$NLC" encode -q --modes png "$1" "$out" >/dev/null 2>&1
  echo "$out"
}

# The pixels of an image (PNG, PNM or .nlc) as PAM: colour type, size and samples.
pixels() { # pixels IMAGE OUT.pam
  case "$1" in
    *.nlc) "$NLC" decode -q "$1" "$2" ;;
    *)
      local t
      t=$(tmp_nlc "$1")
      "$NLC" decode -q "$t" "$2"
      ;;
  esac
}

# Fails unless A and B have the same colour type, size and samples.
same_pixels() { # same_pixels A B
  pixels "$1" "$WORK/a.pam"
  pixels "$2" "$WORK/b.pam"
  cmp -s "$WORK/a.pam" "$WORK/b.pam" || die "pixels differ: $1 vs $2 ($(head -c 80 "$WORK/a.pam" | tr '\n' ' ') / $(head -c 80 "$WORK/b.pam" | tr '\n' ' '))"
}

# Bad files made from a one-tile .nlc in the tiled container (`nlc encode --no-compact`;
# the compact one has no tile count to rewrite): corrupt.nlc (bytes flipped in the tile data),
# truncated.nlc, and huge.nlc, a valid header (CRC fixed up) claiming 16000x16000 pixels
# in a few kilobytes: the plugins must refuse it under their pixel limits, at once.
make_bad_inputs() { # make_bad_inputs SRC.nlc
  local src=$1 size
  size=$(stat -c %s "$src")
  cp "$src" "$WORK/corrupt.nlc"
  printf '\377\377\377\377\377\377\377\377' | dd of="$WORK/corrupt.nlc" bs=1 seek=$((size - 40)) conv=notrunc 2>/dev/null
  head -c 100 "$src" >"$WORK/truncated.nlc"
  python3 - "$src" "$WORK/huge.nlc" <<'PY'
import struct, sys, zlib
d = bytearray(open(sys.argv[1], "rb").read())
chunks, tiles = struct.unpack_from("<II", d, 92)  # docs/FORMAT.md, section 1
assert tiles == 1, "make_bad_inputs needs a one-tile stream"
p = 100
for _ in range(chunks):
    p += 8 + struct.unpack_from("<I", d, p + 4)[0]
p += 16 * tiles
struct.pack_into("<IIII", d, 12, 16000, 16000, 16000, 16000)  # width, height, tile size
struct.pack_into("<I", d, p, zlib.crc32(bytes(d[:p])))
open(sys.argv[2], "wb").write(d)
PY
}

# User-level installs must stay installed: USER_HOME is a scratch HOME to install into,
# and login_shell runs a command as a new login session would, from a clean environment
# (none of MAGICK_CODER_MODULE_PATH, MAGICK_CONFIGURE_PATH, GDK_PIXBUF_MODULE_FILE, ...),
# so only what the install wrote (~/.profile, the tools' per-user files) is in effect.
# (A login shell's /etc/profile sets PATH itself: commands outside it by absolute path.)
USER_HOME=$WORK/home
mkdir -p "$USER_HOME"
login_shell() { # login_shell COMMAND
  env -i HOME="$USER_HOME" PATH=/usr/bin:/bin LANG=C.UTF-8 bash -lc "$1"
}

# Fails unless FILE starts with the .nlc signature (8B 4E 4C 43).
is_nlc() { # is_nlc FILE
  [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = 8b4e4c43 ] ||
    die "$1 is not an .nlc file: $(file -b "$1" 2>/dev/null || head -c 8 "$1" | od -An -tx1)"
}

# Fails unless `nlc doctor` in a login shell has a line matching the regex PATTERN.
doctor_says() { # doctor_says PATTERN
  login_shell "'$NLC' doctor" >"$WORK/doctor.txt" 2>&1 || true
  grep -q "$1" "$WORK/doctor.txt" || die "nlc doctor: no line matching '$1': $(cat "$WORK/doctor.txt")"
}
doctor_ok() { doctor_says "^ok  *$1 "; } # doctor_ok WHAT: reports WHAT as ok

# Fails unless PROFILE holds exactly one nelloc block NAME.
one_block() { # one_block PROFILE NAME
  [ "$(grep -c "^# >>> nelloc $2 >>>\$" "$1")" = 1 ] || die "$1: not exactly one nelloc $2 block: $(cat "$1")"
}
