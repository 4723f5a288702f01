#!/usr/bin/env bash
# CI for the browser build (run by .ci/run after the native release build): installs the
# toolchain pieces (wasm32 target, clang + llvm-ar for libdeflate, wasm-bindgen-cli, system
# Chromium, npm packages), builds both WebAssembly packages, then runs the Node test (golden
# files and encodes vs native `nlc`, both builds) and the headless Chromium test.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
t() { echo "--- web [$(( $(date +%s) - start ))s] $*"; }

t "toolchain"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
missing=()
for pkg in clang llvm chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
want=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$want" ]; then
  # Not --locked: the CLI's lockfile names a webpki-roots release missing from the
  # registry; no default features (no TLS: the CLI downloads nothing in this use).
  cargo install wasm-bindgen-cli --version "$want" --no-default-features --quiet
fi
(cd web && npm ci --no-audit --no-fund --silent)

t "build (release wasm32: SIMD128 and scalar)"
web/build.sh

t "TypeScript declarations vs the modules (and tsc --noEmit)"
node web/test/types.mjs

t "Node: golden decodes and encodes vs native nlc, kernels vs reference, both builds"
node web/test/node.mjs

t "headless Chromium: the page converts both ways, <nlc-img>, pixels exact"
node web/test/browser.mjs

t "done"
