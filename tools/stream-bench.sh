#!/usr/bin/env bash
# Streaming decode of a big photo (docs/PERFORMANCE.md, "Streaming decode"): encodes it once
# (default model, `nlc encode --no-verify`), then with 2 threads measures
#   - `nlc decode`: wall time, peak RSS, CPU % of each of the first 5 seconds;
#   - libnelloc with a rows callback (ffi/examples/nlc-rows.c): time to the first rows, total;
#   - the gdk-pixbuf loader through GdkPixbufLoader (tests/plugins/pixbuf-check.c `updates
#     FILE count`): time to the first area-updated band, bands, total, peak RSS.
#
# Usage: tools/stream-bench.sh [IMAGE] [--out DIR]
#   IMAGE  default: the largest photo of Ubuntu's wallpapers,
#          /usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg (6028x3391, 20.4 MP)
#   --out  work directory (default target/stream-bench); the encoded file is kept there
#          and reused.
# Needs ImageMagick (convert), libgdk-pixbuf-2.0-dev, shared-mime-info, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
src=/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg
out=target/stream-bench
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    *) src=$1; shift ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
cargo build -q --release -p nlc
nlc=${CARGO_TARGET_DIR:-$root/target}/release/nlc

# Tools against this tree's libnelloc, in a private prefix, loaders.cache and MIME database.
make -s -C ffi install PREFIX="$out/prefix" >/dev/null
export PKG_CONFIG_PATH=$out/prefix/lib/pkgconfig
# shellcheck disable=SC2046
cc -std=c11 -O2 -Wall -Wextra -Werror ffi/examples/nlc-rows.c -o "$out/nlc-rows" -pthread \
  $(pkg-config --cflags --libs nelloc) -Wl,-rpath,"$out/prefix/lib"
make -s -C ffi/plugins/gdk-pixbuf clean all >/dev/null
mkdir -p "$out/loaders" "$out/share/mime/packages"
install -m 755 ffi/plugins/gdk-pixbuf/libpixbufloader-nlc.so "$out/loaders/"
install -m 644 ffi/plugins/gdk-pixbuf/nelloc-mime.xml "$out/share/mime/packages/nelloc.xml"
make -s -C ffi/plugins/gdk-pixbuf clean >/dev/null
PC="pkg-config gdk-pixbuf-2.0"
"$($PC --variable=gdk_pixbuf_query_loaders)" "$($PC --variable=gdk_pixbuf_moduledir)"/*.so \
  "$out/loaders/libpixbufloader-nlc.so" >"$out/loaders.cache" 2>/dev/null
update-mime-database "$out/share/mime" >/dev/null 2>&1
# shellcheck disable=SC2046
cc -std=gnu11 -O2 -Wall -Wextra -Werror tests/plugins/pixbuf-check.c -o "$out/pixbuf-check" \
  $($PC --cflags --libs)

name=$(basename "${src%.*}")
nlcfile=$out/$name.nlc
if [ ! -f "$nlcfile" ]; then
  convert "$src" -strip "$out/$name.ppm"
  /usr/bin/time -f "encode: %e s, %M KiB peak RSS" "$nlc" encode --no-verify --threads 2 \
    "$out/$name.ppm" "$nlcfile"
fi

hz=$(getconf CLK_TCK)
cpu_per_second() { # PID: CPU % (all threads) of each of the first 5 seconds
  local pid=$1 prev=0 t line=""
  for _ in 1 2 3 4 5; do
    sleep 1
    t=$(cat /proc/"$pid"/task/*/stat 2>/dev/null | awk '{s += $14 + $15} END {print s + 0}')
    [ "$t" -gt 0 ] || break
    line="$line $(((t - prev) * 100 / hz))%"
    prev=$t
  done
  echo "  CPU per second of the first 5 s:$line"
}
measure() { # LABEL CMD...
  local label=$1
  shift
  /usr/bin/time -f "  $label: %e s wall, %M KiB peak RSS, %P CPU" "$@" &
  local tpid=$!
  sleep 0.05
  cpu_per_second "$(pgrep -P $tpid | head -1)" &
  local cpid=$!
  wait $tpid
  wait $cpid 2>/dev/null || true
}
echo "== $("$nlc" info "$nlcfile" | grep -E 'dimensions|size|tiles' | tr -s ' ' | tr '\n' ';')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
measure "nlc decode --threads 2" "$nlc" decode -q --threads 2 "$nlcfile" "$out/decoded.ppm"
# nlc-rows decodes twice (with the callback, then without): its own figures are the first.
measure "nlc-rows --threads 2" "$out/nlc-rows" --threads 2 "$nlcfile"
GDK_PIXBUF_MODULE_FILE=$out/loaders.cache XDG_DATA_HOME=$out/share NELLOC_MAX_PIXELS=100000000 \
  measure "gdk-pixbuf loader" "$out/pixbuf-check" updates "$nlcfile" count
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
