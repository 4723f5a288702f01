#!/usr/bin/env bash
# Resume (or start) the open-ended training of one model until a deadline.
#
#   training/continue.sh NAME [--hours H | --until HH:MM] [--device cpu|cuda] [--threads N]
#
# NAME is the model family: default | max | fast | gray (max: default with one residual
# block, grown from the default checkpoint on its first start).  Idempotent: installs the Python
# packages and the Debian photo packages if missing, prepares the data if missing, then
# resumes training/checkpoints/<ckpt>.pt (weights, Adam state, weight average, RNG,
# elapsed time: the open-ended schedule continues where it stopped) or starts it.  It
# checkpoints every 10 minutes, at the deadline and on SIGTERM/SIGINT, and appends
# progress rows (step, hours, lr, train bpsp, validation bpsp, pixels/s) to the
# committed log training/logs/<ckpt>.tsv; stdout goes to training/logs/<ckpt>.out.
# Runs at nice 19 so builds and tests come first.  Recipe: docs/MODELS.md ("v3 recipe").
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=${1:?usage: training/continue.sh default|max|fast|gray [--hours H | --until HH:MM]}
shift
HOURS=3; UNTIL=""; DEVICE=cpu; THREADS=0; LR=1e-3
while (( $# )); do
  case "$1" in
    --hours) HOURS=$2; shift 2;;
    --until) UNTIL=$2; shift 2;;
    --device) DEVICE=$2; shift 2;;
    --threads) THREADS=$2; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
case "$NAME" in
  default) CKPT=rgb-v3;  ARCH=(--channels 3 --width 256 --res-blocks 0);;
  # grown from a 14-hour model: restart Adam at that model's late learning rate, not 1e-3
  # (which undid the start: validation 2.2296 -> 2.31 in half an hour)
  max)     CKPT=max-v2;  ARCH=(--channels 3 --width 256 --res-blocks 1 --grow-from rgb-v3); LR=2e-4;;
  fast)    CKPT=fast-v2; ARCH=(--channels 3 --width 64 --res-blocks 0);;
  gray)    CKPT=gray-v3; ARCH=(--channels 1 --width 128 --res-blocks 0);;
  *) echo "unknown model family '$NAME' (default, fast, gray)" >&2; exit 2;;
esac
if [[ -n "$UNTIL" ]]; then
  DEADLINE=$(date -u -d "$UNTIL" +%s)
  if (( DEADLINE <= $(date +%s) )); then DEADLINE=$(( DEADLINE + 86400 )); fi
else
  DEADLINE=$(python3 -c "import time; print(int(time.time() + $HOURS * 3600))")
fi
PY=${PYTHON:-python3}
if ! $PY -c "import torch, PIL, safetensors, numpy" 2>/dev/null; then
  $PY -m pip install -q -r training/requirements.txt
fi
if [[ ! -s training/data/manifest.json ]]; then
  tools/validation-data.sh >/dev/null
  $PY training/prepare_data.py
fi
mkdir -p training/logs
echo "$(date -u +%FT%TZ) continue $NAME ($CKPT) until $(date -u -d @"$DEADLINE" +%FT%TZ)" \
  >> "training/logs/$CKPT.out"
exec nice -n 19 $PY training/train.py --name "$CKPT" "${ARCH[@]}" \
  --sampling pixels --mean-base pred10 --schedule open --batch 2048 --lr "$LR" \
  --warmup-min 2 --decay-min 30 --ema 0.9995 --synthetic 0.02 \
  --threads "$THREADS" --device "$DEVICE" --ckpt-every 600 --val-every 900 \
  --deadline "$DEADLINE" --log "training/logs/$CKPT.tsv" >> "training/logs/$CKPT.out" 2>&1
