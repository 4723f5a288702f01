#!/usr/bin/env bash
# Whole NeLLoC training pipeline: data -> train v1 (rgb, gray) -> integer export
# -> second round (training/run_v2.sh: default-v2, fast-v1, gray-v2 + export).
# Usage: training/run.sh [--device cpu|cuda] [--rgb-minutes 25] [--gray-minutes 10] [--v1-only]
#        (run_v2.sh budgets: RGB2_MIN=46 FAST_MIN=15 GRAY2_MIN=9 in the environment)
# Re-running resumes from training/checkpoints/ (delete them to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=cpu; RGB_MIN=25; GRAY_MIN=10; V2=1
while (( $# )); do
  case "$1" in
    --device) DEVICE=$2; shift 2;;
    --rgb-minutes) RGB_MIN=$2; shift 2;;
    --gray-minutes) GRAY_MIN=$2; shift 2;;
    --v1-only) V2=0; shift;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
PY=${PYTHON:-python3}
"$PY" -c "import torch, numpy, PIL, safetensors" 2>/dev/null || "$PY" -m pip install -r training/requirements.txt
# the photographs come from Debian wallpaper packages (installs them if missing)
bash tools/validation-data.sh >/dev/null
mkdir -p training/logs
"$PY" training/prepare_data.py | tee training/logs/prepare_data.log
"$PY" training/train.py --name rgb-v1 --channels 3 --width 256 --res-blocks 0 \
  --minutes "$RGB_MIN" --device "$DEVICE" 2>&1 | tee training/logs/rgb-v1.log
"$PY" training/train.py --name gray-v1 --channels 1 --width 128 --res-blocks 0 \
  --minutes "$GRAY_MIN" --device "$DEVICE" 2>&1 | tee training/logs/gray-v1.log
"$PY" training/export.py --name rgb-v1 --model-name default 2>&1 | tee training/logs/export-rgb-v1.log
"$PY" training/export.py --name gray-v1 --model-name gray 2>&1 | tee training/logs/export-gray-v1.log
if (( V2 )); then
  training/run_v2.sh --device "$DEVICE" --rgb-minutes "${RGB2_MIN:-46}" \
    --fast-minutes "${FAST_MIN:-15}" --gray-minutes "${GRAY2_MIN:-9}" 2>&1 | tee -a training/logs/run_v2.log
fi
