// Whether this engine runs WebAssembly SIMD128: a 1-function module using i32x4.splat
// validates only where SIMD is supported. The scalar build serves the others.
const probe = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x11, 0x0b, // i32.const 0; i32x4.splat
]);

export function hasSimd128() {
  return WebAssembly.validate(probe);
}

/// The wasm-bindgen package directory for this engine, relative to web/.
export function packageDir(forceScalar = false) {
  return !forceScalar && hasSimd128() ? "pkg" : "pkg-scalar";
}
