// The codec in a Web Worker, so that pages stay responsive while it runs.
// Messages in:  {id, op, ...args};  out: {id, progress: [done, total]} while working, then
// {id, result} or {id, error}. Loads the SIMD128 build where the engine has SIMD, else the
// scalar one (?scalar=1 in the worker URL forces it, for comparisons).
import { packageDir } from "./simd.js";

const forceScalar = new URL(import.meta.url).searchParams.get("scalar") === "1";
const dir = packageDir(forceScalar);
const ready = import(`./${dir}/nelloc_wasm.js`).then(async (m) => {
  await m.default({ module_or_path: new URL(`./${dir}/nelloc_wasm_bg.wasm`, import.meta.url) });
  return m;
});

function run(m, msg, onProgress) {
  switch (msg.op) {
    case "hello":
      return { simd: m.simdLevel(), package: dir };
    case "decode": {
      const t0 = performance.now();
      const image = m.decode(msg.bytes, { onProgress });
      const ms = performance.now() - t0;
      const info = m.info(msg.bytes);
      const png = msg.png ? m.encodePng(image.pixels, image.width, image.height, image.layout) : null;
      return { image, info, png, ms };
    }
    case "decodePreview": {
      // The embedded preview (milliseconds), or the image itself without one; with the
      // image's own size, to show the preview at it.
      const image = m.decodePreview(msg.bytes, {});
      const info = m.info(msg.bytes);
      return { image, embedded: image.embedded, width: info.width, height: info.height };
    }
    case "encodeFile": {
      // An image file: exact pixels and metadata as `nlc encode` reads them.
      const t0 = performance.now();
      const nlc = m.encodeFile(msg.bytes, { ...msg.options, onProgress });
      const ms = performance.now() - t0;
      const image = m.decode(nlc, {});
      const info = m.info(nlc);
      // PNG size of the same pixels, for files that are not PNG (JPEG, ...).
      const pngSize = msg.isPng
        ? msg.bytes.length
        : m.encodePng(image.pixels, image.width, image.height, image.layout).length;
      return { nlc, image, info, pngSize, ms };
    }
    case "encode": {
      const t0 = performance.now();
      const nlc = m.encode(msg.pixels, msg.width, msg.height, { ...msg.options, onProgress });
      return { nlc, ms: performance.now() - t0 };
    }
    default:
      throw new Error(`unknown operation ${msg.op}`);
  }
}

self.onmessage = async (e) => {
  const msg = e.data;
  try {
    const m = await ready;
    let last = 0;
    // At most ~20 progress messages per second.
    const onProgress = (done, total) => {
      const now = performance.now();
      if (now - last > 50 || done === total) {
        last = now;
        self.postMessage({ id: msg.id, progress: [done, total] });
      }
    };
    const result = run(m, msg, onProgress);
    const transfer = [];
    for (const v of [result.nlc, result.png, result.image?.rgba, result.image?.pixels]) {
      if (v) transfer.push(v.buffer);
    }
    self.postMessage({ id: msg.id, result }, transfer);
  } catch (err) {
    self.postMessage({ id: msg.id, error: String(err?.message ?? err) });
  }
};
