// The TypeScript declarations (web/*.d.ts) against the JavaScript they describe: every
// name a module exports is declared by its .d.ts (and nothing more), the WebAssembly
// module's declarations match the functions bindings.rs exports (and the built module's
// exports where web/pkg exists), and, where the typescript package is installed
// (npm ci), `tsc --noEmit` type-checks test/types-check.ts, which uses the whole API.
// Usage: node web/test/types.mjs
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import assert from "node:assert/strict";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const read = (p) => readFileSync(join(web, p), "utf8");
const sorted = (s) => [...new Set(s)].sort();

/** Names a JavaScript module exports (`export class|function|const|let NAME`). */
function jsExports(src) {
  return sorted([...src.matchAll(/^export\s+(?:default\s+)?(?:async\s+)?(?:class|function\*?|const|let|var)\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]));
}
/** Values a .d.ts declares for export (classes, functions, consts; not types). */
function dtsValues(src) {
  const names = [...src.matchAll(/^export\s+(?:declare\s+)?(?:class|function|const|let|var)\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
  if (/^export\s+default\s/m.test(src)) names.push("default");
  return sorted(names);
}

let checks = 0;
for (const mod of ["client", "simd", "nlc-img"]) {
  const js = jsExports(read(`${mod}.js`));
  const dts = dtsValues(read(`${mod}.d.ts`));
  assert.deepEqual(dts, js, `${mod}.d.ts declares ${dts.join(", ") || "nothing"}; ${mod}.js exports ${js.join(", ") || "nothing"}`);
  checks++;
}

// The wasm module: every #[wasm_bindgen] function of bindings.rs under its JS name, plus
// wasm-bindgen's own init (default export) and initSync.
const rs = readFileSync(join(web, "..", "crates", "nelloc-wasm", "src", "bindings.rs"), "utf8");
const wasmFns = [...rs.matchAll(/#\[wasm_bindgen(?:\(js_name\s*=\s*([A-Za-z_$][\w$]*)\))?\]\s*pub fn ([a-z_0-9]+)/g)].map(
  (m) => m[1] ?? m[2].replace(/_([a-z])/g, (_, c) => c.toUpperCase()),
);
assert.ok(wasmFns.length >= 8, `only ${wasmFns.length} functions found in bindings.rs`);
const wasmDts = dtsValues(read("nelloc_wasm.d.ts"));
assert.deepEqual(wasmDts, sorted([...wasmFns, "initSync", "default"]), "nelloc_wasm.d.ts vs bindings.rs");
checks++;
for (const dir of ["pkg", "pkg-scalar"]) {
  const js = join(web, dir, "nelloc_wasm.js");
  if (!existsSync(js)) continue;
  const m = await import(pathToFileURL(js));
  const actual = sorted(Object.keys(m).filter((k) => typeof m[k] === "function"));
  assert.deepEqual(sorted(wasmDts), actual, `${dir}/nelloc_wasm.js exports vs nelloc_wasm.d.ts`);
  assert.equal(readFileSync(join(web, dir, "nelloc_wasm.d.ts"), "utf8"), read("nelloc_wasm.d.ts"), `${dir}: build.sh did not copy nelloc_wasm.d.ts`);
  checks++;
}

const tsc = join(web, "node_modules", "typescript", "bin", "tsc");
if (existsSync(tsc)) {
  execFileSync(process.execPath, [tsc, "-p", join(web, "test", "tsconfig.json")], { stdio: "inherit" });
  checks++;
  console.log(`types: ${checks} checks passed (with tsc --noEmit)`);
} else {
  console.log(`types: ${checks} checks passed (typescript not installed: npm ci in web/ for the tsc check)`);
}
