#!/usr/bin/env bash
# Regenerates docs/gimp-screenshot.png: GIMP 2.10 under Xvfb, in a scratch HOME with the
# file-nlc plug-in installed, showing an .nlc image it opened (fixtures/photos/demo.png
# encoded by nlc). Needs gimp, libgimp2.0-dev, xvfb, x11-apps (xwd) and imagemagick.
#
#   tools/gimp-screenshot.sh [OUT.png [DIALOG.png]]
#
# DIALOG.png (default docs/gimp-export-dialog.png) shows the plug-in's export dialog, opened
# by a Script-Fu call of file-nlc-save in interactive mode on the same image.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/gimp-screenshot.png}
dialog_out=${2:-docs/gimp-export-dialog.png}
for tool in gimp gimptool-2.0 xvfb-run xwd convert-im6.q16; do
  command -v $tool >/dev/null || { echo "$tool not found" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo build -q --release -p nlc
nlc=${CARGO_TARGET_DIR:-$PWD/target}/release/nlc
make -s -C ffi install PREFIX="$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config
make -s -C ffi/plugins/gimp clean all >/dev/null
gimptool-2.0 --install-bin ffi/plugins/gimp/file-nlc >/dev/null
# One window filling the screen (no window manager runs under Xvfb to arrange several).
mkdir -p "$XDG_CONFIG_HOME/GIMP/2.10"
cat >"$XDG_CONFIG_HOME/GIMP/2.10/sessionrc" <<'RC'
(session-info "toplevel"
    (factory-entry "gimp-single-image-window")
    (position 0 0)
    (size 900 560))
(single-window-mode yes)
RC
"$nlc" encode -q fixtures/photos/demo.png "$tmp/photo.nlc" >/dev/null 2>&1
# GIMP starts in 15-60 s on a slow machine; GIMP_SCREENSHOT_WAIT sets the wait.
xvfb-run -a -s "-screen 0 900x560x24" bash -c '
  gimp --no-splash "$1" >/dev/null 2>&1 &
  pid=$!
  sleep "${GIMP_SCREENSHOT_WAIT:-60}"
  xwd -root -silent >"$2"
  kill $pid' _ "$tmp/photo.nlc" "$tmp/screen.xwd"
convert-im6.q16 "xwd:$tmp/screen.xwd" -strip "$out"
echo "wrote $out"
export_dialog="(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$tmp/photo.nlc\" \"photo.nlc\")))
  (drw (car (gimp-image-get-active-drawable img))))
  (gimp-display-new img)
  (file-nlc-save RUN-INTERACTIVE img drw \"$tmp/copy.nlc\" \"copy.nlc\" 0 0 \"\"))"
xvfb-run -a -s "-screen 0 900x560x24" bash -c '
  gimp --no-splash -b "$1" >/dev/null 2>&1 &
  pid=$!
  sleep "${GIMP_SCREENSHOT_WAIT:-60}"
  xwd -root -silent >"$2"
  kill $pid' _ "$export_dialog" "$tmp/dialog.xwd"
convert-im6.q16 "xwd:$tmp/dialog.xwd" -strip "$dialog_out"
echo "wrote $dialog_out"
