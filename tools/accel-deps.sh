#!/usr/bin/env bash
# Installs what the accelerator-backend tests need on a CPU-only machine, from PyPI wheels,
# into DIR (default ~/.cache/nelloc/accel): libonnxruntime.so (onnxruntime) for the ORT
# backend and libnvrtc.so.12 (nvidia-cuda-nvrtc-cu12) so that NVRTC compiles every CUDA
# kernel. Only the shared libraries are used: --no-deps keeps it small.
# Prints nothing else on success; .ci/run exports the paths.
set -euo pipefail
dir="${1:-$HOME/.cache/nelloc/accel}"
ORT=onnxruntime==1.32.0
NVRTC=nvidia-cuda-nvrtc-cu12==12.9.86
if [ -e "$dir/onnxruntime/capi/libonnxruntime.so.1.32.0" ] && [ -e "$dir/nvidia/cuda_nvrtc/lib/libnvrtc.so.12" ]; then
  exit 0
fi
PY=${PYTHON:-python3}
if ! "$PY" -m pip --version >/dev/null 2>&1; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
fi
mkdir -p "$dir"
"$PY" -m pip install -q --no-deps --target "$dir" "$ORT" "$NVRTC" 2>/dev/null \
  || "$PY" -m pip install -q --no-deps --break-system-packages --target "$dir" "$ORT" "$NVRTC"
