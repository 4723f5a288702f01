#!/usr/bin/env bash
# gdk-pixbuf: the loader (ffi/plugins/gdk-pixbuf) and its MIME package installed into a
# scratch prefix, used through a private GDK_PIXBUF_MODULE_FILE and a private MIME
# database (XDG_DATA_HOME); load, incremental load and its updates as rows decode, save,
# file info, the thumbnailer, and bad files (errors, at once, under the loader's pixel
# limits).
source "$(dirname "$0")/lib.sh"
PC="pkg-config gdk-pixbuf-2.0"
$PC --exists || die "gdk-pixbuf-2.0 not found (apt-get install libgdk-pixbuf-2.0-dev)"
command -v update-mime-database >/dev/null || die "update-mime-database not found (shared-mime-info)"
echo "gdk-pixbuf $($PC --modversion)"

loaders=$WORK/loaders
make -s -C ffi/plugins/gdk-pixbuf clean all >/dev/null
install -d "$loaders" "$WORK/share/mime/packages"
install -m 755 ffi/plugins/gdk-pixbuf/libpixbufloader-nlc.so "$loaders/"
install -m 644 ffi/plugins/gdk-pixbuf/nelloc-mime.xml "$WORK/share/mime/packages/nelloc.xml"
# The system loaders too, as an installed loader would be listed with them.
"$($PC --variable=gdk_pixbuf_query_loaders)" "$($PC --variable=gdk_pixbuf_moduledir)"/*.so \
  "$loaders/libpixbufloader-nlc.so" >"$WORK/loaders.cache" 2>/dev/null
grep -q '"image/x-nlc"' "$WORK/loaders.cache" || die "gdk-pixbuf-query-loaders did not list the loader"
export GDK_PIXBUF_MODULE_FILE=$WORK/loaders.cache
cc -std=gnu11 -O2 -Wall -Wextra -Werror tests/plugins/pixbuf-check.c -o "$WORK/pixbuf-check" \
  $($PC --cflags --libs)
check=$WORK/pixbuf-check

make_inputs
cd "$WORK"
for t in gray rgb rgba graya; do "$NLC" encode -q "in/$t.png" "$t.nlc" >/dev/null 2>&1; done

# Without the MIME package gdk-pixbuf does not pick the loader: the package is needed.
mkdir -p empty/mime
XDG_DATA_HOME=$WORK/empty XDG_DATA_DIRS=$WORK/empty "$check" load rgb.nlc >/dev/null 2>&1 &&
  die "loaded without the MIME package: the test does not use the MIME database it claims"
export XDG_DATA_HOME=$WORK/share
update-mime-database "$WORK/share/mime"
ok "loader in a private loaders.cache; image/x-nlc in a private MIME database (needed: without it nothing loads)"

for t in gray rgb rgba graya; do
  "$check" compare "$t.nlc" "in/$t.png" || die "$t.nlc: pixels differ from in/$t.png"
  "$check" incremental "$t.nlc" 1000 | grep -q "loader format nlc" || die "$t.nlc: incremental load"
  cp "$t.nlc" "$t-noext"
  "$check" compare "$t-noext" "in/$t.png" || die "$t-noext: not recognised by its signature"
  ok "$t: load == PNG pixels; incremental load in 1000-byte pieces; no extension (magic)"
done
# Incremental updates fed from libnelloc's rows callback: a 128x768 image in 32x32 tiles
# (24 rows of tiles) arrives as several bands from the top, each final when announced,
# on the loading thread; a one-tile image as one band.
convert "$ROOT/fixtures/photos/boats_128x128.png" -duplicate 5 -append tall.png
"$NLC" encode -q --modes neural --tile-size 32 tall.png tall.nlc >/dev/null 2>&1
updates=$("$check" updates tall.nlc | awk '{print $2}') || die "tall.nlc: incremental updates"
[ "$updates" -gt 1 ] || die "tall.nlc: $updates update(s) (one band: rows not streamed)"
one=$("$check" updates rgb.nlc | awk '{print $2}') || die "rgb.nlc: incremental updates"
[ "$one" = 1 ] || die "rgb.nlc (one tile): $one updates"
"$check" compare tall.nlc tall.png || die "tall.nlc: pixels differ from tall.png"
ok "area-prepared, then $updates bands of rows from the top for 24 rows of tiles (each final when announced, on the loading thread); one band for a one-tile image"

# Models that travel with the files (FORMAT.md section 12): a stream coded with an external
# model loads where the model is on NELLOC_MODEL_PATH, or embedded in the stream, and not
# otherwise (an error naming the variable).
ext_model=$ROOT/fixtures/models/test-gray-pred.safetensors
"$NLC" encode -q --modes neural --model "$ext_model" in/gray.png ext.nlc >/dev/null 2>&1
"$NLC" encode -q --modes neural --model "$ext_model" --embed-model in/gray.png emb.nlc >/dev/null 2>&1
"$check" load ext.nlc >/dev/null 2>err.txt && die "ext.nlc loaded without its model"
grep -q "NELLOC_MODEL_PATH" err.txt || die "ext.nlc: the error does not name NELLOC_MODEL_PATH: $(cat err.txt)"
mkdir -p models && cp "$ext_model" models/
NELLOC_MODEL_PATH=$WORK/nowhere:$WORK/models "$check" compare ext.nlc in/gray.png ||
  die "ext.nlc: not loaded with its model on NELLOC_MODEL_PATH"
"$check" compare emb.nlc in/gray.png || die "emb.nlc: not loaded from its embedded model"
ok "a stream of an external model: refused without it ($(grep -o 'needs model [0-9a-f]*' err.txt | head -1)), loaded with it on NELLOC_MODEL_PATH, and loaded with it embedded (no variable)"

for t in rgb rgba; do
  "$check" save "in/$t.png" "$t.saved.nlc" nlc tile-size 32
  same_pixels "in/$t.png" "$t.saved.nlc"
  "$NLC" info "$t.saved.nlc" | grep -q 'of 32x32' || die "save option tile-size ignored"
  "$check" save-buffer "in/$t.png" "$t.buf.nlc" nlc
  same_pixels "in/$t.png" "$t.buf.nlc"
  ok "$t: gdk_pixbuf_save (tile-size 32) and save_to_buffer give the PNG's exact pixels"
done
icc=/usr/share/color/icc/ghostscript/a98.icc # Adobe RGB (1998), from libgs-common
[ -f "$icc" ] || die "$icc not found (apt-get install libgs-common)"
"$check" save in/rgb.png icc.nlc nlc icc-profile "$(base64 -w0 "$icc")"
"$NLC" info icc.nlc | grep -q "metadata:    ICC, $(stat -c %s "$icc") bytes" || die "ICC profile not saved"
[ "$("$check" option icc.nlc icc-profile)" = "$(base64 -w0 "$icc")" ] || die "ICC profile not loaded"
ok "ICC profile saved (icc-profile option) and loaded back as the icc-profile option"
"$check" save in/rgb.png bad.nlc nlc quality 90 2>err.txt && die "unknown save option accepted"
grep -q "Unknown NLC save option" err.txt || die "unknown option: $(cat err.txt)"
ok "an unknown save option is an error: $(cat err.txt)"

info=$("$check" info rgb.nlc)
[ "$info" = "nlc image/x-nlc 77x53" ] || die "file info: $info"
ok "gdk_pixbuf_get_file_info: $info"

gdk-pixbuf-thumbnailer -s 32 rgb.nlc thumb.png
thumb=$("$check" load thumb.png)
[ "$thumb" = "32x22" ] || die "thumbnail is $thumb, expected 32x22"
ok "gdk-pixbuf-thumbnailer -s 32 rgb.nlc: a ${thumb} PNG"
# Scaled loads (thumbnails) run under their own, smaller pixel budget.
NELLOC_THUMBNAIL_MAX_PIXELS=4000 gdk-pixbuf-thumbnailer -s 32 rgb.nlc thumb2.png 2>err.txt &&
  die "thumbnail of a 77x53 image made under a 4000-pixel thumbnail limit"
# The refusal names the variable that raises this limit (NELLOC_MAX_PIXELS would not).
grep -q "limit of 4000 pixels (raise it with NELLOC_THUMBNAIL_MAX_PIXELS)" err.txt ||
  die "thumbnail refusal does not name NELLOC_THUMBNAIL_MAX_PIXELS: $(cat err.txt)"
NELLOC_THUMBNAIL_MAX_PIXELS=4000 "$check" load rgb.nlc >/dev/null || die "full-size load refused by the thumbnail limit"
ok "NELLOC_THUMBNAIL_MAX_PIXELS=4000 refuses the 4081-pixel thumbnail, not the full-size load: $(grep -o "NLC image.*" err.txt | head -1)"

# A thumbnail of a large image comes from its embedded preview (FORMAT.md section 10): at
# once, and under no pixel budget, where decoding the image itself is over the thumbnail
# limit (5.8 Mi pixels > 4 Mi). A noise image, coded fast (context mode).
{ printf 'P6\n2900 2000\n255\n'; head -c $((2900 * 2000 * 3)) /dev/urandom; } >big.ppm
"$NLC" encode -q --modes context big.ppm big.nlc >/dev/null 2>&1
"$NLC" encode -q --modes context --no-preview big.ppm big-plain.nlc >/dev/null 2>&1
"$NLC" info big.nlc | grep -q "preview:     256x177" || die "big.nlc has no 256x177 preview"
start=$(date +%s%N)
gdk-pixbuf-thumbnailer -s 128 big.nlc big-thumb.png 2>err.txt || die "thumbnail of big.nlc: $(cat err.txt)"
ms=$((($(date +%s%N) - start) / 1000000))
thumb=$("$check" load big-thumb.png)
[ "$thumb" = "128x88" ] || die "big.nlc thumbnail is $thumb, expected 128x88"
[ $ms -lt 5000 ] || die "thumbnail of big.nlc took $ms ms"
gdk-pixbuf-thumbnailer -s 128 big-plain.nlc big-plain.png 2>err.txt && die "big-plain.nlc (no preview) thumbnailed under the thumbnail limit"
grep -q "raise it with NELLOC_THUMBNAIL_MAX_PIXELS" err.txt || die "big-plain.nlc: $(cat err.txt)"
# Larger than the preview while the image is over the thumbnail limit: the preview, scaled.
gdk-pixbuf-thumbnailer -s 400 big.nlc big-400.png 2>err.txt || die "big.nlc -s 400: $(cat err.txt)"
[ "$("$check" load big-400.png)" = "400x276" ] || die "big.nlc -s 400: $("$check" load big-400.png)"
ok "gdk-pixbuf-thumbnailer -s 128 on a 2900x2000 image: a $thumb PNG from its preview in $ms ms, no limit raised (refused without the preview; -s 400 scales the preview up)"

"$NLC" encode -q --no-compact "$ROOT/fixtures/photos/wood_gray_64x64.png" one.nlc >/dev/null 2>&1
make_bad_inputs one.nlc
for bad in corrupt truncated huge; do
  for how in thumbnailer incremental load; do
    start=$(date +%s)
    rc=0
    case $how in
      load) timeout 60 "$check" load "$bad.nlc" >/dev/null 2>err.txt || rc=$? ;;
      incremental) timeout 60 "$check" incremental "$bad.nlc" 512 >/dev/null 2>err.txt || rc=$? ;;
      thumbnailer) timeout 60 gdk-pixbuf-thumbnailer -s 128 "$bad.nlc" "$bad.png" 2>err.txt || rc=$? ;;
    esac
    secs=$(($(date +%s) - start))
    [ $rc -ne 0 ] && [ $rc -lt 124 ] || die "$bad.nlc ($how): exit $rc (an error expected, not success, a crash or a hang)"
    [ $secs -lt 10 ] || die "$bad.nlc ($how): took $secs s"
  done
  ok "$bad.nlc: load, incremental load and thumbnailer fail at once: $(head -1 err.txt)"
done
"$check" load huge.nlc >/dev/null 2>err.txt && die "huge.nlc loaded"
grep -q "limit of $((16 << 20)) pixels (raise it with NELLOC_MAX_PIXELS)" err.txt ||
  die "huge.nlc: not refused by the full-size pixel limit, naming NELLOC_MAX_PIXELS: $(cat err.txt)"
ok "huge.nlc (full size): $(head -1 err.txt)"
# make install-user stays installed: gdk-pixbuf has no per-user loader cache (it reads
# GDK_PIXBUF_MODULE_FILE or the system cache only), so install-user writes the variable
# into ~/.profile. A new login session with none of the variables set saves a real .nlc
# (before: "Image type nlc is not supported") and thumbnails it; nlc doctor says ok.
pmake() { (cd "$ROOT" && env -u XDG_DATA_HOME -u GDK_PIXBUF_MODULE_FILE HOME="$USER_HOME" make -s -C ffi/plugins/gdk-pixbuf "$@"); }
pmake install-user >install-user.txt
grep -q "wrote to $USER_HOME/.profile" install-user.txt || die "install-user did not say it wrote ~/.profile: $(cat install-user.txt)"
pmake install-user >/dev/null
one_block "$USER_HOME/.profile" gdk-pixbuf
login_shell "cd '$WORK' && '$check' save in/rgb.png user.nlc nlc && '$check' compare user.nlc in/rgb.png && gdk-pixbuf-thumbnailer -s 32 user.nlc user-thumb.png"
is_nlc user.nlc
same_pixels in/rgb.png user.nlc
[ "$("$check" load user-thumb.png)" = "32x22" ] || die "thumbnail in a login shell"
doctor_ok gdk-pixbuf
ok "make install-user: a new login session (no variables set) saves a real .nlc, loads and thumbnails it; installed twice, one ~/.profile block; nlc doctor: ok"
pmake uninstall-user >/dev/null
! grep -q "nelloc gdk-pixbuf" "$USER_HOME/.profile" || die "uninstall-user left the ~/.profile block"
ok "uninstall-user removes the loader, the MIME type and the ~/.profile block"
echo "gdk-pixbuf: all checks passed"
