// Types of the WebAssembly module (crates/nelloc-wasm/src/bindings.rs), hand-written:
// wasm-bindgen would type every options object as `any`. web/build.sh copies this file
// into web/pkg and web/pkg-scalar as nelloc_wasm.d.ts, next to nelloc_wasm.js.

/** How samples are interleaved: 1, 2, 3 or 4 channels of 8 bits. */
export type Layout = "gray" | "graya" | "rgb" | "rgba";

/** Called while a call runs, with pixels done and pixels in all. */
export type OnProgress = (done: number, total: number) => void;

/** A decoded image: `pixels` in the stored layout, `rgba` widened for a canvas. */
export interface DecodedImage {
  width: number;
  height: number;
  layout: Layout;
  channels: 1 | 2 | 3 | 4;
  pixels: Uint8Array;
  rgba: Uint8Array;
}

export interface DecodeOptions {
  /** Model files (.safetensors bytes) for streams coded with models that are not built in; matched by hash. */
  models?: Uint8Array[];
  onProgress?: OnProgress;
}

export interface EncodeOptions {
  /** Layout of `pixels` (encode only; default "rgba"). */
  layout?: Layout;
  /** Store grey / no alpha when that loses nothing (encode only; default true). */
  reduce?: boolean;
  /** Tile edge in pixels (default 256). */
  tileSize?: number;
  /** Tile modes to try: "all" (default), "neural", "neural,png", ... */
  modes?: string;
  /** A built-in model by name ("default", "fast", "gray", ...). */
  model?: string;
  /** Model files (.safetensors bytes): the first with the image's colour channel count codes it. */
  models?: Uint8Array[];
  /** A model file (.safetensors bytes) for the alpha channel. */
  alphaModel?: Uint8Array;
  /** Embedded preview: true (default: where it costs at most 0.5% of the file), false (none), or a longest side in pixels. */
  preview?: boolean | number;
  /** Store `models` / `alphaModel` in the stream (built-in models never are), so that it decodes without them (default false). */
  embedModel?: boolean;
  onProgress?: OnProgress;
}

/** `decodePreview`'s result: the embedded preview, or the image itself when there is none. */
export interface DecodedPreview extends DecodedImage {
  /** True when this is the embedded preview (docs/FORMAT.md section 10). */
  embedded: boolean;
}

export interface TileInfo {
  x: number;
  y: number;
  width: number;
  height: number;
  colorMode: string;
  alphaMode?: string;
  bytes: number;
}

/** The header of an .nlc stream (nothing decoded). */
export interface StreamInfo {
  width: number;
  height: number;
  layout: Layout;
  channels: 1 | 2 | 3 | 4;
  version: number;
  fileSize: number;
  bitsPerSubpixel: number;
  tileWidth: number;
  tileHeight: number;
  modelHash: string;
  modelName?: string;
  alpha: string;
  /** Size of the embedded preview, or null without one. */
  preview: { width: number; height: number } | null;
  /** Hex SHA-256 of each model file embedded in the stream (container versions 6 and 7); such a stream decodes with no `models`. */
  embeddedModels: string[];
  tiles: TileInfo[];
}

/** Decodes .nlc bytes. Throws an Error with the library's message on a bad stream. */
export function decode(bytes: Uint8Array, options?: DecodeOptions): DecodedImage;
/** Decodes the embedded preview (milliseconds), or the image itself when the stream has none. */
export function decodePreview(bytes: Uint8Array, options?: DecodeOptions): DecodedPreview;
/** Decodes .nlc bytes to the PNG file `nlc decode x.nlc y.png` writes. */
export function decodeToPng(bytes: Uint8Array, options?: DecodeOptions): Uint8Array;
/** Encodes raw samples (`options.layout`, default "rgba") to .nlc. */
export function encode(pixels: Uint8Array, width: number, height: number, options?: EncodeOptions): Uint8Array;
/** Encodes an image file (PNG, JPEG, TIFF, PNM; 8-bit) with its metadata: the bytes `nlc encode` writes. */
export function encodeFile(bytes: Uint8Array, options?: Omit<EncodeOptions, "layout" | "reduce">): Uint8Array;
/** Reads an image file (PNG, JPEG, TIFF, PNM) exactly as the encoder sees it. */
export function readImage(bytes: Uint8Array): DecodedImage;
/** Encodes raw samples (layout default "rgba") to a PNG file. */
export function encodePng(pixels: Uint8Array, width: number, height: number, layout?: Layout | null): Uint8Array;
/** The header of an .nlc stream. */
export function info(bytes: Uint8Array, options?: DecodeOptions): StreamInfo;
/** The network kernel level this build runs. */
export function simdLevel(): string;
/** Self-test of the kernels against the scalar reference: the pixels compared; throws on a mismatch. */
export function kernelsMatchReference(): number;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;
/** Loads and instantiates the .wasm (once); the other functions need it first. */
export function initSync(module: { module: BufferSource | WebAssembly.Module } | BufferSource | WebAssembly.Module): unknown;
export default function init(
  module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>,
): Promise<unknown>;
