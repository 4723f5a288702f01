#!/usr/bin/env bash
# Builds the WebAssembly packages the page loads: web/pkg (SIMD128 kernels) and
# web/pkg-scalar (for engines without SIMD), release wasm32 + wasm-bindgen --target web.
# Needs: rustup target add wasm32-unknown-unknown; clang and llvm-ar (Debian: clang llvm)
# for libdeflate; wasm-bindgen-cli at the version of the wasm-bindgen crate (Cargo.toml).
# Each package gets web/nelloc_wasm.d.ts as its TypeScript declarations.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
want=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
have=$(wasm-bindgen --version | cut -d' ' -f2)
[ "$want" = "$have" ] || { echo "wasm-bindgen-cli $have, but the crate is $want: cargo install wasm-bindgen-cli --version $want"; exit 1; }
# libdeflate (C) is compiled by clang for wasm32 (the cc crate's defaults).
export CC_wasm32_unknown_unknown=${CC_wasm32_unknown_unknown:-clang}
export AR_wasm32_unknown_unknown=${AR_wasm32_unknown_unknown:-llvm-ar}
for variant in simd scalar; do
  flags=""
  out=web/pkg-scalar
  if [ $variant = simd ]; then flags="-C target-feature=+simd128"; out=web/pkg; fi
  # Separate target dirs: the two flag sets would otherwise rebuild each other.
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$flags" cargo build -p nelloc-wasm \
    --release --target wasm32-unknown-unknown --target-dir "$target/wasm-$variant"
  rm -rf "$out"
  wasm-bindgen --target web --no-typescript --out-dir "$out" \
    "$target/wasm-$variant/wasm32-unknown-unknown/release/nelloc_wasm.wasm"
  # Hand-written types (wasm-bindgen's would type every options object as any).
  cp web/nelloc_wasm.d.ts "$out/nelloc_wasm.d.ts"
  echo "$out: $(du -k "$out/nelloc_wasm_bg.wasm" | cut -f1) KiB"
done
