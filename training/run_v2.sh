#!/usr/bin/env bash
# Second training round (v2 models), run on the project's 2-core CPU machine:
#   default-v2: warm restart of rgb-v1 (new warm-up + cosine schedule, peak lr 5e-4)
#   fast-v1:    C=3 W=64 rs=0 from scratch (peak lr 1.5e-3)
#   gray-v2:    warm restart of gray-v1 (peak lr 5e-4)
# then integer export of all three.  Budgets are wall-time minutes of training
# (validation not charged).  Usage:
#   training/run_v2.sh [--device cpu|cuda] [--rgb-minutes 45] [--fast-minutes 15] [--gray-minutes 9]
#                      [--deadline HH:MM]   (UTC; shrinks fast/gray budgets so training ends by then)
# Requires the v1 checkpoints (training/checkpoints/rgb-v1.pt, gray-v1.pt; committed) and the
# prepared data (python3 training/prepare_data.py).  Re-running resumes every stage.
set -euo pipefail
main() {
cd "$(dirname "$0")/.."
DEVICE=cpu; RGB_MIN=45; FAST_MIN=15; GRAY_MIN=9; DEADLINE=""
while (( $# )); do
  case "$1" in
    --device) DEVICE=$2; shift 2;;
    --rgb-minutes) RGB_MIN=$2; shift 2;;
    --fast-minutes) FAST_MIN=$2; shift 2;;
    --gray-minutes) GRAY_MIN=$2; shift 2;;
    --deadline) DEADLINE=$2; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
PY=${PYTHON:-python3}
mkdir -p training/logs
# the same recipe for all three: 48x48 crops, batch 16, 4% synthetic flat/clipped patches,
# adaptive 1/2 torch threads (the machine is shared)
COMMON=(--res-blocks 0 --batch 16 --crop 48 --synthetic 0.04 --threads 0 --device "$DEVICE")

# minutes left until the deadline minus a margin for loading + final validation (1.5 min)
budget() {  # budget WANTED
  if [[ -z $DEADLINE ]]; then echo "$1"; return; fi
  "$PY" - "$1" "$DEADLINE" <<'EOF'
import sys, datetime as d
want = float(sys.argv[1]); h, m = map(int, sys.argv[2].split(":"))
now = d.datetime.now(d.timezone.utc)
end = now.replace(hour=h, minute=m, second=0, microsecond=0)
left = (end - now).total_seconds() / 60 - 1.5
print(f"{max(0.0, min(want, left)):.2f}")
EOF
}

# a resumed run keeps the budget it was started with
ckpt_minutes() {  # ckpt_minutes NAME DEFAULT
  if [[ -f training/checkpoints/$1.pt ]]; then
    "$PY" -c "import torch,sys; print(torch.load(sys.argv[1], weights_only=False)['args']['minutes'])" \
      "training/checkpoints/$1.pt"
  else echo "$2"; fi
}

stage() { echo "== $(date -u +%H:%M:%S) $*"; }

stage "default-v2 train ($RGB_MIN min)"
"$PY" training/train.py --name rgb-v2 --init-from rgb-v1 --channels 3 --width 256 "${COMMON[@]}" \
  --lr 5e-4 --warmup 0.05 --minutes "$RGB_MIN" 2>&1 | tee -a training/logs/rgb-v2.log
stage "default-v2 export"
"$PY" training/export.py --name rgb-v2 --model-name default 2>&1 | tee training/logs/export-rgb-v2.log

M=$(ckpt_minutes fast-v1 "$(budget "$FAST_MIN")")
if awk "BEGIN{exit !($M >= 4)}"; then
  stage "fast-v1 train ($M min)"
  "$PY" training/train.py --name fast-v1 --channels 3 --width 64 "${COMMON[@]}" \
    --lr 1.5e-3 --warmup 0.03 --minutes "$M" 2>&1 | tee -a training/logs/fast-v1.log
else
  stage "fast-v1 skipped: only $M min left before the deadline"
fi

M=$(ckpt_minutes gray-v2 "$(budget "$GRAY_MIN")")
if awk "BEGIN{exit !($M >= 4)}"; then
  stage "gray-v2 train ($M min)"
  "$PY" training/train.py --name gray-v2 --init-from gray-v1 --channels 1 --width 128 "${COMMON[@]}" \
    --lr 5e-4 --warmup 0.05 --minutes "$M" 2>&1 | tee -a training/logs/gray-v2.log
else
  stage "gray-v2 skipped: only $M min left before the deadline"
fi

if [[ -f training/checkpoints/fast-v1.pt ]]; then
  stage "fast-v1 export"
  "$PY" training/export.py --name fast-v1 --model-name fast 2>&1 | tee training/logs/export-fast-v1.log
fi
if [[ -f training/checkpoints/gray-v2.pt ]]; then
  stage "gray-v2 export"
  "$PY" training/export.py --name gray-v2 --model-name gray --calib-flat 2 2>&1 | tee training/logs/export-gray-v2.log
fi
stage done
}
main "$@"; exit
