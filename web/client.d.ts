// Types of client.js: the promise API over worker.js that the page and <nlc-img> use.
import type { DecodedImage, DecodedPreview, EncodeOptions, StreamInfo } from "./nelloc_wasm.js";

export type { DecodedImage, DecodedPreview, DecodeOptions, EncodeOptions, Layout, OnProgress, StreamInfo, TileInfo } from "./nelloc_wasm.js";

/** The operations worker.js runs, their arguments and results (`ms`: time in the worker). */
export interface Ops {
  hello: { args: Record<string, never>; result: { simd: string; package: "pkg" | "pkg-scalar" } };
  /** `png: true` also returns the PNG file of the decoded pixels. */
  decode: {
    args: { bytes: Uint8Array; png?: boolean };
    result: { image: DecodedImage; info: StreamInfo; png: Uint8Array | null; ms: number };
  };
  /** The embedded preview (or the image without one), with the image's own size. */
  decodePreview: {
    args: { bytes: Uint8Array };
    result: { image: DecodedPreview; embedded: boolean; width: number; height: number };
  };
  /** An image file (PNG, JPEG, TIFF, PNM) to .nlc, as `nlc encode` does. */
  encodeFile: {
    args: { bytes: Uint8Array; options?: Omit<EncodeOptions, "onProgress" | "layout" | "reduce">; isPng?: boolean };
    result: { nlc: Uint8Array; image: DecodedImage; info: StreamInfo; pngSize: number; ms: number };
  };
  encode: {
    args: { pixels: Uint8Array; width: number; height: number; options?: Omit<EncodeOptions, "onProgress"> };
    result: { nlc: Uint8Array; ms: number };
  };
}
export type Op = keyof Ops;

/** One Web Worker running the codec (the SIMD128 build where the engine has SIMD). */
export class NlcWorker {
  /** `scalar: true` forces the scalar build. */
  constructor(options?: { scalar?: boolean });
  readonly worker: Worker;
  /** Runs `op` in the worker; `onProgress(done, total)` gets pixel counts; `transfer` lists buffers to move, not copy. */
  call<K extends Op>(
    op: K,
    args?: Ops[K]["args"],
    onProgress?: ((done: number, total: number) => void) | null,
    transfer?: Transferable[],
  ): Promise<Ops[K]["result"]>;
}

/** Several workers; each call goes to the one with the fewest calls in flight. */
export class NlcPool {
  constructor(size?: number, options?: { scalar?: boolean });
  call<K extends Op>(
    op: K,
    args?: Ops[K]["args"],
    onProgress?: ((done: number, total: number) => void) | null,
    transfer?: Transferable[],
  ): Promise<Ops[K]["result"]>;
}

/** The pool a page's <nlc-img> elements share (created on first use). */
export function sharedWorker(): NlcPool;
