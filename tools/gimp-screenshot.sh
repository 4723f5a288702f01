#!/usr/bin/env bash
# Regenerates docs/gimp-screenshot.png: GIMP 2.10 under Xvfb, in a scratch HOME with the
# file-nlc plug-in installed, showing an .nlc image it opened (fixtures/photos/demo.png
# encoded by nlc). Needs gimp, libgimp2.0-dev, xvfb, x11-apps (xwd) and imagemagick.
#
#   tools/gimp-screenshot.sh [OUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/gimp-screenshot.png}
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
xvfb-run -a -s "-screen 0 900x560x24" bash -c '
  gimp --no-splash "$1" >/dev/null 2>&1 &
  pid=$!
  sleep "${GIMP_SCREENSHOT_WAIT:-40}"   # GIMP starts in 15-30 s on a slow machine
  xwd -root -silent >"$2"
  kill $pid' _ "$tmp/photo.nlc" "$tmp/screen.xwd"
convert-im6.q16 "xwd:$tmp/screen.xwd" -strip "$out"
echo "wrote $out"
