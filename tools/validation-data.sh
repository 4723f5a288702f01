#!/usr/bin/env bash
# Build the NeLLoC validation set: 7 real photographs from Debian wallpaper
# packages, box-downsampled and centre-cropped to 768x512 (512x768 portrait),
# written as PNG (RGB) plus gray versions in OUTDIR/gray/.
#
# Usage: tools/validation-data.sh [OUTDIR]
#   OUTDIR defaults to ${NELLOC_VALDATA:-$HOME/.cache/nelloc/validation}
#
# Recipe (must stay in sync with training/common.py::validation_crop):
#   decode JPEG -> RGB; k = max(2, min(W,H)//512); Image.reduce(k) (box filter);
#   centre crop 768x512 (512x768 if the reduced image is portrait);
#   gray = Image.convert("L") of the RGB crop.
# Idempotent: exits quickly when every output already exists and is valid.
set -euo pipefail

OUTDIR="${1:-${NELLOC_VALDATA:-$HOME/.cache/nelloc/validation}}"
PACKAGES=(lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds plasma-workspace-wallpapers)
NAMES=(Bridge_by_Sander_Klootwijk friends_by_Aitzol_Berasategi Garden Storm BytheWater ColorfulCups Path)

# Fast path: everything already there.
all_done=1
for n in "${NAMES[@]}"; do
  if [[ ! -s "$OUTDIR/$n.png" || ! -s "$OUTDIR/gray/$n.png" ]]; then all_done=0; break; fi
done
if [[ $all_done == 1 && -f "$OUTDIR/.recipe-v1" ]]; then
  echo "validation data already present in $OUTDIR"
  exit 0
fi

SUDO=""
if [[ $(id -u) != 0 ]]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if (( ${#missing[@]} )); then
  echo "installing ${missing[*]} with apt"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if ! "$PY" -c "import PIL" 2>/dev/null; then
  echo "installing pillow with pip"
  "$PY" -m pip install -q pillow 2>/dev/null \
    || "$PY" -m pip install -q --break-system-packages pillow 2>/dev/null \
    || { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pil >/dev/null; }
fi

mkdir -p "$OUTDIR/gray"
"$PY" - "$OUTDIR" <<'PYEOF'
import os, sys
from PIL import Image

out = sys.argv[1]
B = "/usr/share/backgrounds"
W = "/usr/share/wallpapers"
SOURCES = {
    "Bridge_by_Sander_Klootwijk": f"{B}/Bridge_by_Sander_Klootwijk.jpg",
    "friends_by_Aitzol_Berasategi": f"{B}/friends_by_Aitzol_Berasategi.jpg",
    "Garden": f"{B}/mate/nature/Garden.jpg",
    "Storm": f"{B}/mate/nature/Storm.jpg",
    "BytheWater": f"{W}/BytheWater/contents/images/2560x1600.jpg",
    "ColorfulCups": f"{W}/ColorfulCups/contents/images/2560x1600.jpg",
    "Path": f"{W}/Path/contents/images/2560x1600.jpg",
}

def validation_crop(path):
    im = Image.open(path)
    im.load()
    im = im.convert("RGB")
    k = max(2, min(im.size) // 512)
    im = im.reduce(k)
    w, h = im.size
    cw, ch = (768, 512) if w >= h else (512, 768)
    if w < cw or h < ch:
        raise SystemExit(f"{path}: reduced size {w}x{h} smaller than {cw}x{ch}")
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return im.crop((x0, y0, x0 + cw, y0 + ch))

for name, path in SOURCES.items():
    rgb = validation_crop(path)
    rgb.save(os.path.join(out, name + ".png"), optimize=False)
    rgb.convert("L").save(os.path.join(out, "gray", name + ".png"), optimize=False)
    print(f"{name}: {rgb.size[0]}x{rgb.size[1]}")
open(os.path.join(out, ".recipe-v1"), "w").write("k=max(2,min(W,H)//512); reduce(k); centre crop 768x512\n")
PYEOF
echo "validation data written to $OUTDIR"
