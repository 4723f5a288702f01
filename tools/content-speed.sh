#!/bin/bash
# Decode speed per tile mode (docs/CONTENT.md): nlc decode --threads 1 to PAM, best of 3,
# over images coded with restricted --modes. Needs the sets of `tools/content.py build`
# and the validation crops (tools/validation-data.sh). Run from the repository root.
set -eu
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
N=${NLC:-target/release/nlc}
C=~/.cache/nelloc/content
run() { # label modes files...
  local label=$1 modes=$2; shift 2
  local tot=0 mp=0 modeline=""
  for f in "$@"; do
    $N encode -q --threads 1 --modes $modes $f $T/x.nlc 2>/dev/null
    best=999
    for i in 1 2 3; do s=$(date +%s.%N); $N decode -q --threads 1 $T/x.nlc $T/x.pam; e=$(date +%s.%N); t=$(echo "$e - $s" | bc); best=$(echo "if ($t < $best) $t else $best" | bc); done
    px=$(python3 -c "from PIL import Image; im=Image.open('$f'); print(im.width*im.height)")
    tot=$(echo "$tot + $best" | bc); mp=$(echo "$mp + $px/1000000" | bc -l)
    modeline="$modeline $($N info $T/x.nlc | grep 'tile modes' | sed 's/tile modes: *//')"
  done
  printf "%-10s %6.2f MP  %8.3f s/MP  %8.1f MP/s   [%s]\n" $label $mp $(echo "$tot / $mp" | bc -l) $(echo "$mp / $tot" | bc -l) "$(echo $modeline | cut -c1-150)"
}
python3 -c "from PIL import Image; Image.new('RGB',(2048,2048),(255,255,255)).save('$T/white.png')"
run constant constant,png $T/white.png
run png png $C/screenshots/*.png
run gray gray,png $C/text/text0.png $C/text/text2.png $C/diagrams/clust*.png
run palette palette,png $C/diagrams/*.png
run context context $C/text/*.png $C/screenshots/*.png $C/diagrams/*.png
run neural neural $HOME/.cache/nelloc/validation/Path.png $HOME/.cache/nelloc/validation/Garden.png
