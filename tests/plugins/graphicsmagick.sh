#!/usr/bin/env bash
# GraphicsMagick: the NLC delegates (ffi/plugins/graphicsmagick) installed into a scratch
# configure directory (MAGICK_CONFIGURE_PATH, a copy of the system delegates.mgk with them
# added); gm convert both ways, gm identify, bad files.
source "$(dirname "$0")/lib.sh"
command -v gm >/dev/null || die "gm not found (apt-get install graphicsmagick)"
echo "$(gm version | head -1)"
make -s -C ffi/plugins/graphicsmagick install NLC="$NLC" CONFIGDIR="$WORK/gm" MAX_PIXELS=1000000 EDIT_PROFILE=no >/dev/null
export MAGICK_CONFIGURE_PATH=$WORK/gm
gm convert -list delegates | grep -q '^ *nlc =>' || die "the NLC delegates are not in use"
ok "delegates installed in $WORK/gm (system delegates.mgk + NLC), listed by gm convert -list delegates"

make_inputs
cd "$WORK"
declare -A type=([gray]=Grayscale [rgb]=TrueColor [rgba]=TrueColorMatte [graya]=GrayscaleMatte)
for t in gray rgb rgba graya; do
  gm convert "in/$t.png" "$t.nlc" 2>err.txt
  [ ! -s err.txt ] || die "gm convert in/$t.png $t.nlc printed on stderr: $(cat err.txt)"
  same_pixels "in/$t.png" "$t.nlc"
  gm convert "$t.nlc" "$t.out.png"
  same_pixels "in/$t.png" "$t.out.png"
  want="$("$NLC" info "$t.nlc" | sed -n 's/^dimensions: *//p')"
  got=$(gm identify -format '%m %wx%h %r %q-bit' "$t.nlc")
  want="NLC $want ${type[$t]} 8-bit"
  [ "$got" = "$want" ] || die "gm identify $t.nlc: '$got', expected '$want'"
  ok "$t: gm convert png -> nlc -> png exact and silent, gm identify '$got'"
done

# 16-bit samples are refused (by nlc encode), not rounded.
gm convert -size 64x8 gradient:black-white -depth 16 g16.png
rc=0
gm convert g16.png g16.nlc 2>err.txt || rc=$?
[ $rc -eq 1 ] && [ ! -s g16.nlc ] || die "16-bit image: rc $rc, $(cat err.txt)"
ok "16-bit samples refused: $(grep -m1 -i 'bit' err.txt || head -1 err.txt)"

"$NLC" encode -q --no-compact "$ROOT/fixtures/photos/wood_gray_64x64.png" one.nlc >/dev/null 2>&1
make_bad_inputs one.nlc
for bad in corrupt truncated huge; do
  rc=0
  start=$(date +%s)
  timeout 60 gm convert "$bad.nlc" "$bad.png" 2>err.txt || rc=$?
  secs=$(($(date +%s) - start))
  [ $rc -eq 1 ] || die "$bad.nlc: gm exited $rc (1 expected: an error, not a crash or hang): $(cat err.txt)"
  [ $secs -lt 10 ] || die "$bad.nlc: took $secs s"
  ok "$bad.nlc: GraphicsMagick error in ${secs}s: $(grep -m1 'nlc: error' err.txt || head -1 err.txt)"
done
grep -q "limit" <(gm convert huge.nlc huge.png 2>&1) || die "huge.nlc: not refused by the pixel limit"
# The install stays installed: into a fresh HOME with the default CONFIGDIR
# (~/.config/nelloc/gm), then a new login session with none of the variables set writes a
# real .nlc (before, gm exited 0 and wrote a PNG named a.nlc), and nlc doctor says ok.
# Debian's gm reads no per-user file (not ~/.magick), so the install writes
# MAGICK_CONFIGURE_PATH into ~/.profile.
gmake() { (cd "$ROOT" && HOME=$USER_HOME make -s -C ffi/plugins/graphicsmagick "$@" NLC="$NLC"); }
gmake install >install.txt
grep -q "wrote to $USER_HOME/.profile" install.txt || die "install did not say it wrote ~/.profile: $(cat install.txt)"
gmake install >/dev/null
one_block "$USER_HOME/.profile" graphicsmagick
login_shell "cd '$WORK' && gm convert in/rgba.png user.nlc 2>err.txt && gm convert user.nlc user.png"
[ ! -s err.txt ] || die "gm convert in a login shell printed on stderr: $(cat err.txt)"
is_nlc user.nlc
same_pixels in/rgba.png user.nlc
same_pixels in/rgba.png user.png
doctor_ok GraphicsMagick
ok "make install: a new login session (no variables set) writes a real .nlc and reads it; installed twice, one ~/.profile block; nlc doctor: ok"
gmake uninstall >/dev/null
! grep -q "nelloc graphicsmagick" "$USER_HOME/.profile" || die "uninstall left the ~/.profile block"
ok "uninstall removes the delegates and the ~/.profile block"
echo "graphicsmagick: all checks passed"
