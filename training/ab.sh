#!/usr/bin/env bash
# A/B of the training levers at an equal wall-clock budget (issue: predictor-relative
# means + independent-pixel batches).  Every run starts from scratch with seed 1, trains
# MINUTES of its own CPU time (--clock cpu, one thread: fair on a shared machine; cosine schedule over that budget) and ends with a float
# validation on the 7 full validation crops.  Runs are sequential; each prints its
# pixels/s, so the machine state is on record.  Results: training/logs/ab-<run>.out and a
# table on stdout.
#   training/ab.sh [MINUTES] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${1:-5}; TH=${2:-1}
PY=${PYTHON:-python3}
COMMON=(--channels 3 --res-blocks 0 --minutes "$MIN" --threads "$TH" --clock cpu --val-every 1e9 --ckpt-every 1e9 --seed 1)
declare -A RUNS=(
  [a-crops-absolute]="--width 256 --sampling crops --batch 32 --crop 32 --lr 2e-3"
  [b-pixels-absolute]="--width 256 --sampling pixels --mean-base absolute --batch 8192 --lr 1e-3"
  [c-pixels-pred10]="--width 256 --sampling pixels --mean-base pred10 --batch 8192 --lr 1e-3"
  [d-pixels-pred10-w128]="--width 128 --sampling pixels --mean-base pred10 --batch 8192 --lr 1e-3"
  [e-pixels-pred10-b2048]="--width 256 --sampling pixels --mean-base pred10 --batch 2048 --lr 1e-3"
)
mkdir -p training/logs
for run in $(printf '%s\n' "${!RUNS[@]}" | sort); do
  rm -f "training/checkpoints/ab-$run.pt"
  # shellcheck disable=SC2086
  $PY training/train.py --name "ab-$run" "${COMMON[@]}" ${RUNS[$run]} > "training/logs/ab-$run.out" 2>&1
  rm -f "training/checkpoints/ab-$run.pt"
done
echo "| run | settings | steps | pixels/s (median of logged windows) | float val bpsp (7 full crops) |"
echo "|---|---|---|---|---|"
for run in $(printf '%s\n' "${!RUNS[@]}" | sort); do
  f="training/logs/ab-$run.out"
  steps=$(grep -o 'final step [0-9]*' "$f" | awk '{print $3}')
  val=$(grep -o 'val_bpsp(full)=[0-9.]*' "$f" | cut -d= -f2)
  pps=$(grep -o '[0-9]* px/s' "$f" | awk '{print $1}' | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}')
  echo "| $run | ${RUNS[$run]} | $steps | $pps | $val |"
done
