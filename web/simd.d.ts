// Types of simd.js.
/** Whether this engine runs WebAssembly SIMD128. */
export function hasSimd128(): boolean;
/** The wasm-bindgen package directory for this engine, relative to web/. */
export function packageDir(forceScalar?: boolean): "pkg" | "pkg-scalar";
