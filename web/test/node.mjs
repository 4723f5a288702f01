// WebAssembly vs native, in Node: every golden file decodes to the same pixels as the
// native `nlc` decoder, and encoding gives the same bytes as `nlc encode` (the tile-mode
// fixtures cover every mode: neural, constant, png, palette, gray), for both the SIMD128
// and the scalar build; each build's kernels also match the scalar reference.
// Usage: node web/test/node.mjs [path/to/nlc]   (default: $CARGO_TARGET_DIR or target/release/nlc)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const fx = (...p) => join(root, "fixtures", ...p);
const nlc = process.argv[2] ?? join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "release", "nlc");
const tmp = mkdtempSync(join(tmpdir(), "nlc-wasm-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

const modelPaths = ["test-rgb", "test-gray", "test-rgb-pred", "test-gray-pred"].map((m) =>
  fx("models", `${m}.safetensors`),
);
const models = modelPaths.map((p) => new Uint8Array(readFileSync(p)));
const modelArgs = modelPaths.flatMap((p) => ["--model", p]);

function native(...args) {
  return execFileSync(nlc, args, { stdio: ["ignore", "pipe", "pipe"] });
}

/// Pixels of a PAM file (what `nlc decode x.nlc y.pam` writes).
function readPam(path) {
  const b = readFileSync(path);
  const end = b.indexOf("ENDHDR\n");
  const head = Object.fromEntries(
    b.subarray(0, end).toString("latin1").split("\n").slice(1).filter(Boolean).map((l) => l.split(" ")),
  );
  return { width: +head.WIDTH, height: +head.HEIGHT, depth: +head.DEPTH, pixels: b.subarray(end + 7) };
}

function goldenFiles() {
  const out = [];
  for (const sub of ["", "pred", "modes", "preview", "embedded"]) {
    for (const f of readdirSync(fx("golden", sub)).sort()) {
      if (f.endsWith(".nlc")) out.push(fx("golden", sub, f));
    }
  }
  return out;
}

// Native results once, for both builds.
const goldens = goldenFiles().map((path, i) => {
  const pam = join(tmp, `g${i}.pam`);
  native("decode", ...modelArgs, path, pam);
  const png = join(tmp, `g${i}.png`);
  native("decode", ...modelArgs, path, png);
  return { path, bytes: new Uint8Array(readFileSync(path)), expected: readPam(pam), png: readFileSync(png) };
});
assert.ok(goldens.length >= 50, `only ${goldens.length} golden files`);

const modePngs = readdirSync(fx("golden", "modes", "expected")).sort().map((f) => fx("golden", "modes", "expected", f));
const encodeCases = [
  // Photos with the built-in default model and default options (nlc encode's defaults).
  ...["boats_128x128", "dune_77x53", "wood_gray_64x64", "sky_kite_96x64"].map((p) => ({
    src: fx("photos", `${p}.png`),
    args: [],
    options: {},
  })),
  // Synthetic images made to exercise every tile mode, with the frozen test models.
  ...modePngs.map((src) => ({
    src,
    args: ["--model", modelPaths[0], "--model", modelPaths[1], "--alpha-model", modelPaths[1], "--tile-size", "16"],
    options: { models: [models[0], models[1]], alphaModel: models[1], tileSize: 16 },
  })),
].map((c, i) => {
  const out = join(tmp, `e${i}.nlc`);
  native("encode", ...c.args, c.src, out);
  return { ...c, bytes: new Uint8Array(readFileSync(c.src)), expected: readFileSync(out) };
});

async function load(dir) {
  const m = await import(join(root, "web", dir, "nelloc_wasm.js"));
  m.initSync({ module: readFileSync(join(root, "web", dir, "nelloc_wasm_bg.wasm")) });
  return m;
}

for (const [dir, level] of [["pkg", "Simd128"], ["pkg-scalar", "Scalar"]]) {
  const m = await load(dir);
  assert.equal(m.simdLevel(), level, dir);
  const compared = m.kernelsMatchReference();
  const t0 = performance.now();
  for (const g of goldens) {
    const img = m.decode(g.bytes, { models });
    const e = g.expected;
    assert.equal(img.width, e.width, g.path);
    assert.equal(img.height, e.height, g.path);
    assert.equal(img.channels, e.depth, g.path);
    assert.ok(Buffer.from(img.pixels).equals(e.pixels), `${dir}: pixels differ from native: ${g.path}`);
    assert.equal(img.rgba.length, e.width * e.height * 4);
  }
  // Models that travel with the files (FORMAT.md section 12): a stream that embeds its
  // models decodes with no models given, as natively; one that names an external model
  // does not, and says so.
  const embedded = goldens.filter((g) => g.path.includes("/embedded/"));
  assert.ok(embedded.length >= 4, `${embedded.length} embedded-model goldens`);
  for (const g of embedded) {
    if (g.path.endsWith("-short.nlc")) {
      assert.throws(() => m.decode(g.bytes, {}), /not embedded/, g.path);
      continue;
    }
    const img = m.decode(g.bytes, {});
    assert.ok(Buffer.from(img.pixels).equals(g.expected.pixels), `${dir}: embedded model: ${g.path}`);
    assert.ok(m.info(g.bytes, {}).embeddedModels.length >= 1, g.path);
  }
  {
    const gray = new Uint8Array(28 * 28).map((_, i) => (i * 7) % 251);
    const opts = { layout: "gray", modes: "neural", models: [models[3]] };
    const carried = m.encode(gray, 28, 28, { ...opts, embedModel: true });
    assert.equal(carried[8], 6);
    assert.ok(Buffer.from(m.decode(carried, {}).pixels).equals(Buffer.from(gray)), `${dir}: embedModel round trip`);
    assert.throws(() => m.decode(m.encode(gray, 28, 28, opts), {}), /NELLOC_MODEL_PATH/);
  }
  // The PNG export equals `nlc decode x.nlc y.png` byte for byte.
  for (const g of goldens.slice(0, 8)) {
    assert.ok(Buffer.from(m.decodeToPng(g.bytes, { models })).equals(g.png), `${dir}: PNG differs: ${g.path}`);
  }
  // Embedded previews (FORMAT.md section 10): decodePreview gives the stored preview.
  for (const g of goldens.filter((g) => g.path.includes("/preview/"))) {
    const p = m.decodePreview(g.bytes, { models });
    const want = m.readImage(readFileSync(g.path.replace(/\/preview\/(.*)\.nlc$/, "/preview/expected/$1.preview.png")));
    assert.ok(p.embedded, g.path);
    assert.deepEqual([p.width, p.height], [want.width, want.height], g.path);
    assert.ok(Buffer.from(p.rgba).equals(Buffer.from(want.rgba)), `${dir}: preview differs: ${g.path}`);
    assert.deepEqual(m.info(g.bytes, { models }).preview, { width: p.width, height: p.height });
  }
  const plain = m.decodePreview(goldens[0].bytes, { models });
  assert.equal(plain.embedded, false);
  assert.equal(m.info(goldens[0].bytes, { models }).preview, null);
  const modes = new Set();
  for (const c of encodeCases) {
    const got = m.encodeFile(c.bytes, c.options);
    assert.ok(Buffer.from(got).equals(c.expected), `${dir}: encoded bytes differ from native: ${c.src}`);
    for (const t of m.info(got, { models }).tiles) {
      modes.add(t.colorMode);
      if (t.alphaMode) modes.add(t.alphaMode);
    }
  }
  assert.deepEqual([...modes].sort(), ["constant", "context", "neural", "palette", "png"], `${dir}: modes covered`);
  // Raw RGBA in (a canvas's pixels): stored reduced to RGB, same bytes as the file path.
  const boats = m.readImage(encodeCases[0].bytes);
  assert.equal(boats.layout, "rgb");
  const viaRgba = m.encode(boats.rgba, boats.width, boats.height, {});
  assert.ok(Buffer.from(viaRgba).equals(encodeCases[0].expected), `${dir}: encode(rgba) differs`);
  // Errors are exceptions with the library's message; progress reaches the total.
  assert.throws(() => m.decode(new Uint8Array([1, 2, 3]), {}), (e) => e instanceof Error && e.message.length > 5);
  assert.throws(() => m.encode(new Uint8Array(5), 1, 1, {}), /needs 4 bytes/);
  assert.throws(() => m.encode(new Uint8Array(4), 1, 1, { modes: "bogus" }), Error);
  let last = null;
  m.decode(goldens.find((g) => g.path.endsWith("boats_128x128.nlc")).bytes, {
    models,
    onProgress: (done, total) => (last = [done, total]),
  });
  assert.deepEqual(last, [128 * 128, 128 * 128]);
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(
    `${dir} (${level}): kernels = reference on ${compared} pixels; ${goldens.length} golden files decode as ` +
      `native; ${encodeCases.length} encodes byte-identical (modes ${[...modes].join(", ")}) [${s} s]`,
  );
}
