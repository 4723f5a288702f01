#!/usr/bin/env bash
# ImageMagick 6: the NLC coder module (ffi/plugins/imagemagick) installed into a scratch
# coder directory, found through MAGICK_CODER_MODULE_PATH (+ the system path, which the
# variable replaces) and magic.xml through MAGICK_CONFIGURE_PATH; convert and identify.
source "$(dirname "$0")/lib.sh"
CONVERT=${IM_CONVERT:-convert-im6.q16}
IDENTIFY=${IM_IDENTIFY:-identify-im6.q16}
command -v "$CONVERT" >/dev/null || die "$CONVERT not found (apt-get install imagemagick)"

echo "ImageMagick: $("$CONVERT" -version | head -1)"
im=$WORK/im
# Built and installed with PKG_CONFIG_PATH as a make variable and not in the environment,
# as `sudo make install PKG_CONFIG_PATH=...` runs (sudo drops the environment's).
pc_path=$NELLOC_PREFIX/lib/pkgconfig
imake() { env -u PKG_CONFIG_PATH make -s -C ffi/plugins/imagemagick "$@"; }
if ! env -u PKG_CONFIG_PATH pkg-config --exists nelloc; then # (unless installed system-wide)
  imake clean all >/dev/null 2>"$WORK/make-err.txt" && die "built without finding nelloc.pc"
  grep -q "pass PKG_CONFIG_PATH=PREFIX/lib/pkgconfig" "$WORK/make-err.txt" || die "no hint for a missing nelloc.pc: $(cat "$WORK/make-err.txt")"
fi
imake clean all PKG_CONFIG_PATH="$pc_path" >/dev/null
imake install CODERDIR="$im/coders" CONFIGDIR="$im/config" PKG_CONFIG_PATH="$pc_path" >/dev/null
readelf -d ffi/plugins/imagemagick/nlc.so | grep -q "R.*PATH.*\[$NELLOC_PREFIX/lib\]" ||
  die "nlc.so has no rpath to $NELLOC_PREFIX/lib"
system_coders=$("$CONVERT" -list configure | sed -n 's/^CODER_PATH *//p')
[ -n "$system_coders" ] || die "cannot find ImageMagick's coder path"
export MAGICK_CODER_MODULE_PATH=$im/coders:$system_coders
export MAGICK_CONFIGURE_PATH=$im/config
# (convert -list format lists only the system coder directory, so it cannot check this.)
ok "coder module built and installed in $im/coders with PKG_CONFIG_PATH as a make variable only"

make_inputs
cd "$WORK"
declare -A colorspace=([gray]=Gray [rgb]=sRGB [rgba]=sRGB [graya]=Gray)
declare -A alpha=([gray]=False [rgb]=False [rgba]=True [graya]=True)
for t in gray rgb rgba graya; do
  "$CONVERT" "in/$t.png" "$t.nlc"
  same_pixels "in/$t.png" "$t.nlc"
  "$CONVERT" "$t.nlc" "$t.out.png"
  same_pixels "in/$t.png" "$t.out.png"
  want="NLC $("$NLC" info "$t.nlc" | sed -n 's/^dimensions: *//p') ${colorspace[$t]} ${alpha[$t]}"
  got=$("$IDENTIFY" -format '%m %wx%h %[colorspace] %A' "$t.nlc")
  [ "$got" = "$want" ] || die "identify $t.nlc: '$got', expected '$want'"
  ok "$t: convert png -> nlc -> png exact, identify '$got'"
done
cp rgba.nlc noext
"$CONVERT" noext noext.png
same_pixels in/rgba.png noext.png
ok "a file without extension is recognised by its signature (magic.xml)"

"$CONVERT" -define nlc:tile-size=16 in/rgb.png tiles.nlc
"$NLC" info tiles.nlc | grep -q 'of 16x16' || die "-define nlc:tile-size=16 ignored"
ok "-define nlc:tile-size=16"

icc=/usr/share/color/icc/ghostscript/a98.icc # Adobe RGB (1998), from libgs-common
[ -f "$icc" ] || die "$icc not found (apt-get install libgs-common)"
"$CONVERT" in/rgb.png -profile "$icc" icc.nlc
"$NLC" info icc.nlc | grep -q "metadata:    ICC, $(stat -c %s "$icc") bytes" || die "ICC profile not written"
"$CONVERT" icc.nlc icc.out.icc
cmp -s icc.out.icc "$icc" || die "ICC profile not read back"
ok "ICC profile written to .nlc and read back byte for byte"

# 16-bit samples that are not 8-bit values are refused, not rounded.
"$CONVERT" -size 64x8 gradient:black-white -depth 16 g16.png
rc=0
"$CONVERT" g16.png g16.nlc 2>err.txt || rc=$?
[ $rc -eq 1 ] && grep -q "not an exact 8-bit value" err.txt || die "16-bit image: rc $rc, $(cat err.txt)"
[ ! -s g16.nlc ] || die "16-bit image: output written"
ok "16-bit samples refused: $(head -1 err.txt)"
# The same image reduced explicitly is accepted.
"$CONVERT" g16.png -depth 8 g8.nlc
ok "the same image with an explicit -depth 8 is written"

"$NLC" encode -q --no-compact "$ROOT/fixtures/photos/wood_gray_64x64.png" one.nlc >/dev/null 2>&1
make_bad_inputs one.nlc
for bad in corrupt truncated huge; do
  rc=0
  start=$(date +%s)
  timeout 60 "$CONVERT" "$bad.nlc" "$bad.png" 2>err.txt || rc=$?
  secs=$(($(date +%s) - start))
  [ $rc -eq 1 ] || die "$bad.nlc: convert exited $rc (1 expected: an error, not a crash or hang): $(cat err.txt)"
  grep -q "^convert-im6.q16: \|^convert: " err.txt || die "$bad.nlc: not an ImageMagick error: $(cat err.txt)"
  [ $secs -lt 10 ] || die "$bad.nlc: took $secs s"
  ok "$bad.nlc: ImageMagick error in ${secs}s: $(head -1 err.txt)"
done
# A user-level install stays installed: after `make install-user` into a fresh HOME, a
# new login session with none of the variables set writes a real .nlc (before, convert
# exited 0 and wrote a PNG named a.nlc), and nlc doctor says ok.
(cd "$ROOT" && HOME=$USER_HOME imake install-user PKG_CONFIG_PATH="$pc_path") >install-user.txt
grep -q "wrote to $USER_HOME/.profile" install-user.txt || die "install-user did not say it wrote ~/.profile: $(cat install-user.txt)"
[ -f "$USER_HOME/.config/ImageMagick/magic.xml" ] || die "magic.xml not in ~/.config/ImageMagick"
(cd "$ROOT" && HOME=$USER_HOME imake install-user PKG_CONFIG_PATH="$pc_path") >/dev/null
one_block "$USER_HOME/.profile" imagemagick
login_shell "cd '$WORK' && $CONVERT in/rgb.png user.nlc && cp user.nlc user-noext && $CONVERT user-noext user.png"
is_nlc user.nlc
same_pixels in/rgb.png user.nlc
same_pixels in/rgb.png user.png
doctor_ok "ImageMagick 6"
ok "make install-user: a new login session (no variables set) writes a real .nlc and reads it back by its signature; installed twice, one ~/.profile block; nlc doctor: ok"
# A shell that has not read ~/.profile (no MAGICK_CODER_MODULE_PATH): the nlc CLI
# delegates in ~/.config/ImageMagick/delegates.xml write and read .nlc, pixels exact.
grep -q "nelloc: .nlc through the nlc CLI" "$USER_HOME/.config/ImageMagick/delegates.xml" || die "no delegates.xml fallback"
env -i HOME="$USER_HOME" PATH=/usr/bin:/bin bash -c "cd '$WORK' && $CONVERT in/rgba.png fallback.nlc 2>err.txt && $CONVERT fallback.nlc fallback.png"
[ ! -s err.txt ] || die "the delegate fallback printed on stderr: $(cat err.txt)"
is_nlc fallback.nlc
same_pixels in/rgba.png fallback.nlc
same_pixels in/rgba.png fallback.png
ok "a shell without ~/.profile: the delegate fallback (~/.config/ImageMagick/delegates.xml) writes a real .nlc, silently, and reads it; pixels exact"
(cd "$ROOT" && HOME=$USER_HOME imake uninstall-user) >/dev/null
! grep -q "nelloc imagemagick" "$USER_HOME/.profile" || die "uninstall-user left the ~/.profile block"
[ ! -e "$USER_HOME/.config/ImageMagick/delegates.xml" ] || die "uninstall-user left delegates.xml"
doctor_says "^missing  *ImageMagick 6 "
(cd "$ROOT" && HOME=$USER_HOME imake install-user PKG_CONFIG_PATH="$pc_path" EDIT_PROFILE=no) >install-user.txt
! grep -q "nelloc imagemagick" "$USER_HOME/.profile" || die "EDIT_PROFILE=no wrote ~/.profile"
grep -q "export" install-user.txt || die "EDIT_PROFILE=no: no export shown"
doctor_says "^broken  *ImageMagick 6 .*MAGICK_CODER_MODULE_PATH does not name"
login_shell "'$NLC' doctor" >/dev/null 2>&1 && die "nlc doctor exits 0 with a broken installation"
ok "uninstall-user removes the block; EDIT_PROFILE=no leaves ~/.profile alone (nlc doctor: broken, names the variable)"
echo "imagemagick: all checks passed"
