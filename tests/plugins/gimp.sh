#!/usr/bin/env bash
# GIMP 2.10: the file-nlc plug-in (ffi/plugins/gimp) installed with make install
# (gimptool-2.0 --install-bin) into a fresh scratch HOME, driven by Script-Fu in one batch
# run of GIMP: load .nlc by extension and by magic (no extension), export to PNG keeping
# the colour of transparent pixels, export PNG to .nlc (gimp-file-save, by extension), the
# ICC profile both ways, the thumbnail loader, 16-bit refused, bad files as GIMP errors.
source "$(dirname "$0")/lib.sh"
GIMP=${GIMP:-gimp-console-2.10}
command -v "$GIMP" >/dev/null || die "$GIMP not found (apt-get install gimp)"
command -v gimptool-2.0 >/dev/null || die "gimptool-2.0 not found (apt-get install libgimp2.0-dev)"
echo "GIMP $("$GIMP" --version | sed 's/.*version //')"

export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home/.config XDG_CACHE_HOME=$WORK/home/.cache
mkdir -p "$HOME"
make -s -C ffi/plugins/gimp clean all >/dev/null
# A fresh HOME, as before GIMP's first start: make install has GIMP create its profile
# before it installs the plug-in into it (else GIMP would skip creating the profile).
make -s -C ffi/plugins/gimp install GIMP_CONSOLE="$GIMP" >/dev/null
[ -x "$XDG_CONFIG_HOME/GIMP/2.10/plug-ins/file-nlc/file-nlc" ] || die "make install did not install the plug-in"
for d in brushes gradients palettes patterns; do
  [ -d "$XDG_CONFIG_HOME/GIMP/2.10/$d" ] || die "make install into a fresh HOME: GIMP's profile has no $d folder"
done
ok "make install (gimptool-2.0 --install-bin) into a fresh HOME, GIMP's profile created first"
doctor_ok "GIMP 2.10"
ok "nlc doctor (a login shell in that HOME): GIMP 2.10 ok"

make_inputs
cd "$WORK"
for t in gray graya rgb rgba; do "$NLC" encode -q "in/$t.png" "$t.nlc" >/dev/null 2>&1; done
cp rgba.nlc rgba-noext
"$NLC" encode -q --no-compact "$ROOT/fixtures/photos/wood_gray_64x64.png" one.nlc >/dev/null 2>&1
make_bad_inputs one.nlc
icc=/usr/share/color/icc/ghostscript/a98.icc # Adobe RGB (1998), from libgs-common (a GIMP dependency)
[ -f "$icc" ] || die "$icc not found"
cp "$icc" a98.icc

# A large image with an embedded preview (FORMAT.md section 10), over the thumbnail limit:
# its thumbnail comes from the preview. Noise, coded fast (context mode).
{ printf 'P6\n2900 2000\n255\n'; head -c $((2900 * 2000 * 3)) /dev/urandom; } >big.ppm
"$NLC" encode -q --modes context big.ppm big.nlc >/dev/null 2>&1
"$NLC" encode -q --modes context --no-preview big.ppm big-plain.nlc >/dev/null 2>&1
cat >test.scm <<'SCM'
(define (nlc-to-png in out)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE in in)))
         (drw (car (gimp-image-get-active-drawable img))))
    ; save-transparent-pixels = 1: keep the colour of fully transparent pixels
    (file-png-save2 RUN-NONINTERACTIVE img drw out out 0 9 0 0 0 0 0 0 1)
    (gimp-image-delete img)))
(define (png-to-nlc in out)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE in in)))
         (drw (car (gimp-image-get-active-drawable img))))
    (gimp-file-save RUN-NONINTERACTIVE img drw out out)
    (gimp-image-delete img)))
(define (write-result name value)
  (call-with-output-file name (lambda (port) (display value port))))
(for-each
  (lambda (t)
    (nlc-to-png (string-append t ".nlc") (string-append t ".gimp.png"))
    (png-to-nlc (string-append "in/" t ".png") (string-append t ".gimp.nlc")))
  '("gray" "graya" "rgb" "rgba"))
(nlc-to-png "rgba-noext" "noext.gimp.png")
; ICC profile: set on a PNG, exported to .nlc (with tile size 32), read back from the .nlc.
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE "in/rgb.png" "in/rgb.png")))
       (drw (car (gimp-image-get-active-drawable img))))
  (gimp-image-set-color-profile-from-file img "file://@WORK@/a98.icc") ; a URI in 2.10
  (file-nlc-save RUN-NONINTERACTIVE img drw "icc.nlc" "icc.nlc" 32 1 "")
  (gimp-image-delete img))
(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE "icc.nlc" "icc.nlc"))))
  (write-result "icc-size.txt" (car (gimp-image-get-color-profile img)))
  (gimp-image-delete img))
; The thumbnail loader of the Open dialog.
(let* ((r (file-nlc-load-thumb "rgb.nlc" 32)))
  (write-result "thumb.txt"
    (string-append (number->string (car (gimp-image-width (car r)))) "x"
                   (number->string (car (gimp-image-height (car r)))) " of "
                   (number->string (cadr r)) "x" (number->string (caddr r)))))
(let* ((r (file-nlc-load-thumb "big.nlc" 128)))
  (write-result "big-thumb.txt"
    (string-append (number->string (car (gimp-image-width (car r)))) "x"
                   (number->string (car (gimp-image-height (car r)))) " of "
                   (number->string (cadr r)) "x" (number->string (caddr r)))))
(write-result "done.txt" "done")
SCM
deep='(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE "in/rgb.png" "in/rgb.png")))
  (drw (car (gimp-image-get-active-drawable img))))
  (gimp-image-convert-precision img PRECISION-U16-GAMMA)
  (gimp-file-save RUN-NONINTERACTIVE img (car (gimp-image-get-active-drawable img)) "deep.nlc" "deep.nlc"))'
bad() { echo "(gimp-file-load RUN-NONINTERACTIVE \"$1\" \"$1\")"; }
start=$(date +%s)
timeout 300 "$GIMP" -i -d -f --batch-interpreter plug-in-script-fu-eval \
  -b "$(sed "s|@WORK@|$WORK|g" test.scm)" -b "$deep" -b "$(bad corrupt.nlc)" -b "$(bad truncated.nlc)" \
  -b "$(bad huge.nlc)" -b '(file-nlc-load-thumb "big-plain.nlc" 128)' -b '(gimp-quit 0)' >gimp.log 2>&1 || { cat gimp.log; die "GIMP failed"; }
echo "  (one GIMP batch run: $(($(date +%s) - start)) s)"
[ -f done.txt ] || { cat gimp.log; die "the Script-Fu test did not finish"; }
! grep -q "writable data folder" gimp.log || die "GIMP's profile is incomplete: $(grep "writable data folder" gimp.log)"

for t in gray graya rgb rgba; do
  same_pixels "in/$t.png" "$t.gimp.png"
  same_pixels "in/$t.png" "$t.gimp.nlc"
  ok "$t: GIMP loads .nlc == PNG pixels (exported as PNG); GIMP exports the PNG to .nlc exactly"
done
same_pixels in/rgba.png noext.gimp.png
ok "a file without extension is loaded by its signature (magic load handler)"

icc_size=$(stat -c %s a98.icc)
"$NLC" info icc.nlc | grep -q "metadata:    ICC, $icc_size bytes" || die "ICC profile not exported: $("$NLC" info icc.nlc)"
"$NLC" info icc.nlc | grep -q 'of 32x32' || die "file-nlc-save tile-size 32 ignored"
[ "$(cat icc-size.txt)" = "$icc_size" ] || die "ICC profile not loaded: $(cat icc-size.txt) bytes, expected $icc_size"
ok "ICC profile ($icc_size bytes) exported to .nlc and loaded back; tile-size argument used"
[ "$(cat thumb.txt)" = "32x22 of 77x53" ] || die "thumbnail loader: $(cat thumb.txt)"
ok "thumbnail loader: $(cat thumb.txt)"
[ "$(cat big-thumb.txt)" = "128x88 of 2900x2000" ] || die "thumbnail of big.nlc: $(cat big-thumb.txt)"
ok "thumbnail loader on a 2900x2000 image over the thumbnail limit: $(cat big-thumb.txt), from its preview"
grep -q "over the limit of $((4 << 20)) pixels (set NELLOC_THUMBNAIL_MAX_PIXELS to raise it)" gimp.log ||
  die "the thumbnail refusal does not name NELLOC_THUMBNAIL_MAX_PIXELS: $(grep -o "big-plain.nlc.*" gimp.log | head -1)"
ok "without a preview it is refused, naming NELLOC_THUMBNAIL_MAX_PIXELS"

[ ! -e deep.nlc ] || die "a 16-bit image was exported"
grep -q "8-bit perceptual" gimp.log || die "16-bit export: no clear error in $(cat gimp.log)"
ok "16-bit image refused: $(grep -o 'NLC stores 8-bit[^.]*' gimp.log | head -1)"
for msg in "checksum mismatch" "truncated" "over the limit of"; do
  grep -q "Procedure execution of gimp-file-load failed.*$msg" gimp.log ||
    die "no GIMP error with the library's message '$msg': $(cat gimp.log)"
done
ok "corrupt, truncated and huge .nlc: GIMP errors with the library's message, e.g. $(grep -o "Could not open 'corrupt.nlc'[^)]*)" gimp.log | head -1)"
echo "gimp: all checks passed"
