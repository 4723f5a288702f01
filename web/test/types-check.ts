// Type-checked by test/types.mjs (tsc --noEmit): uses every declared API the way a page
// would, so a declaration that does not fit its use fails here. Never run.
import init, * as wasm from "../nelloc_wasm.js";
import { NlcPool, NlcWorker, sharedWorker, type DecodedImage, type StreamInfo } from "../client.js";
import { hasSimd128, packageDir } from "../simd.js";
import "../nlc-img.js";

export async function useWasm(bytes: Uint8Array, model: Uint8Array): Promise<number> {
  await init({ module_or_path: new URL("./pkg/nelloc_wasm_bg.wasm", import.meta.url) });
  const image: DecodedImage = wasm.decode(bytes, { models: [model], onProgress: (d, t) => void (d / t) });
  const png: Uint8Array = wasm.decodeToPng(bytes);
  const nlc = wasm.encode(image.pixels, image.width, image.height, { layout: image.layout, tileSize: 64, modes: "neural,png" });
  const file = wasm.encodeFile(png, { model: "fast", alphaModel: model });
  const read = wasm.readImage(png);
  const again = wasm.encodePng(read.rgba, read.width, read.height, "rgba");
  const i: StreamInfo = wasm.info(nlc, {});
  const preview = wasm.decodePreview(file, { models: [model] });
  const previewSide: number = (preview.embedded ? preview.width : 0) + (i.preview?.width ?? 0);
  const withPreview = wasm.encode(image.pixels, image.width, image.height, { preview: 128 });
  const tileBytes = i.tiles.reduce((n, t) => n + t.bytes, 0);
  const name: string = i.modelName ?? i.modelHash;
  return file.length + again.length + tileBytes + name.length + previewSide + withPreview.length + wasm.kernelsMatchReference() + wasm.simdLevel().length;
}

export async function useClient(bytes: Uint8Array): Promise<void> {
  const w = new NlcWorker({ scalar: !hasSimd128() });
  const hello = await w.call("hello");
  const dir: "pkg" | "pkg-scalar" = hello.package === packageDir() ? hello.package : packageDir(true);
  const { image, info, png, ms } = await new NlcPool(2).call("decode", { bytes, png: true }, (done, total) => void (done < total), [bytes.buffer]);
  const { nlc, pngSize } = await sharedWorker().call("encodeFile", { bytes, options: { tileSize: 128 } });
  const thumb = await w.call("decodePreview", { bytes });
  void [thumb.image.embedded, thumb.width];
  const enc = await w.call("encode", { pixels: image.rgba, width: image.width, height: image.height, options: { layout: "rgba" } });
  void [dir, info.bitsPerSubpixel, png?.length, ms, nlc.length, pngSize, enc.nlc.length];
  // @ts-expect-error: not an operation of worker.js
  await w.call("resize", {});
}

export function useElement(): number {
  const img = document.createElement("nlc-img");
  img.setAttribute("src", "photo.nlc");
  img.addEventListener("load", () => void img.naturalWidth);
  return document.querySelector("nlc-img")?.naturalHeight ?? 0;
}
