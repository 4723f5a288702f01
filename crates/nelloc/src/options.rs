//! Encoder and decoder options. Every field documents its default.

use std::sync::Arc;

use crate::head_adapt::fit::AdaptHead;
use crate::limits::Limits;
use crate::tilemode::TileModes;

/// A progress callback: called with (pixels done, pixels in total) as tiles finish,
/// from worker threads.
#[derive(Clone)]
pub struct Progress(pub(crate) Arc<dyn Fn(u64, u64) + Send + Sync>);

impl Progress {
    /// Wraps a callback.
    pub fn new(f: impl Fn(u64, u64) + Send + Sync + 'static) -> Self {
        Progress(Arc::new(f))
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}
use crate::model::Model;

/// A rows-ready callback for [`crate::decode`] and [`crate::decode_into`]: called with
/// `(rows_done, pixels)` whenever output rows `0..rows_done` are final, `pixels` being
/// exactly those rows (top to bottom, `width * channels` bytes each, as in the output).
///
/// Calls come on the thread that called the decode (not on a worker), one at a time, with
/// `rows_done` strictly increasing; the last call of a successful decode has every row.
/// No call comes once the decode has failed or was cancelled, but rows already passed
/// stay what they were: a later error in another tile can still fail the decode. Workers
/// wait while a call copies rows out, so it should be quick. The calling thread waits for
/// rows while the tiles run: called from a worker of a pool with `threads` 0, the decode
/// uses a pool of that size of its own rather than the one its caller blocks.
#[derive(Clone)]
pub struct OnRows(pub(crate) Arc<RowsFn>);

type RowsFn = dyn Fn(u32, &[u8]) + Send + Sync;

impl OnRows {
    /// Wraps a callback.
    pub fn new(f: impl Fn(u32, &[u8]) + Send + Sync + 'static) -> Self {
        OnRows(Arc::new(f))
    }
}

impl std::fmt::Debug for OnRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnRows(..)")
    }
}

/// Where the network runs. The output never depends on it: every backend is bit-exact
/// (accelerators check themselves against the CPU reference before first use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Device {
    /// The CPU (all cores unless `threads` says otherwise). The default.
    #[default]
    Cpu,
    /// The first CUDA GPU when one is present, the image is large enough to gain
    /// ([`crate::backend::AUTO_MIN_PIXELS`]) and the GPU passes its check; the CPU
    /// otherwise. Never fails for lack of a device.
    Auto,
    /// CUDA GPU number N (kernels compiled at run time by NVRTC; needs the NVIDIA driver
    /// and `libnvrtc`, loaded at run time). Absent: [`crate::Error::Device`].
    Cuda(u32),
    /// ONNX Runtime, loaded at run time (`NELLOC_ORT_LIB` or
    /// [`crate::backend::set_ort_library`]), running the exported integer graph on an
    /// execution provider.
    Ort(OrtProvider),
}

/// ONNX Runtime execution providers the ORT backend can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OrtProvider {
    /// ONNX Runtime's own CPU provider.
    #[default]
    Cpu,
    /// The CUDA provider on GPU number N (needs an ONNX Runtime built with it).
    Cuda(u32),
}

impl std::fmt::Display for OrtProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrtProvider::Cpu => f.write_str("cpu"),
            OrtProvider::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl std::fmt::Display for Device {
    /// The spelling [`Device::from_str`](std::str::FromStr) reads: `cpu`, `auto`,
    /// `cuda:N`, `ort:cpu`, `ort:cuda:N`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Auto => f.write_str("auto"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
            Device::Ort(p) => write!(f, "ort:{p}"),
        }
    }
}

impl std::str::FromStr for Device {
    type Err = crate::Error;
    /// `cpu`, `auto`, `cuda` (= `cuda:0`), `cuda:N`, `ort` (= `ort:cpu`), `ort:cpu`,
    /// `ort:cuda`, `ort:cuda:N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let index = |v: &str| {
            v.parse::<u32>().map_err(|_| {
                crate::Error::InvalidArgument(format!("device {s:?}: {v:?} is not a GPU number"))
            })
        };
        Ok(match s.split_once(':') {
            None => match s {
                "cpu" => Device::Cpu,
                "auto" => Device::Auto,
                "cuda" => Device::Cuda(0),
                "ort" => Device::Ort(OrtProvider::Cpu),
                _ => {
                    return Err(crate::Error::InvalidArgument(format!(
                        "unknown device {s:?} (expected cpu, auto, cuda[:N], ort[:cpu|:cuda[:N]])"
                    )))
                }
            },
            Some(("cuda", n)) => Device::Cuda(index(n)?),
            Some(("ort", "cpu")) => Device::Ort(OrtProvider::Cpu),
            Some(("ort", "cuda")) => Device::Ort(OrtProvider::Cuda(0)),
            Some(("ort", rest)) => match rest.split_once(':') {
                Some(("cuda", n)) => Device::Ort(OrtProvider::Cuda(index(n)?)),
                _ => {
                    return Err(crate::Error::InvalidArgument(format!(
                        "unknown ONNX Runtime provider in {s:?} (expected ort:cpu or ort:cuda[:N])"
                    )))
                }
            },
            _ => {
                return Err(crate::Error::InvalidArgument(format!(
                    "unknown device {s:?} (expected cpu, auto, cuda[:N], ort[:cpu|:cuda[:N]])"
                )))
            }
        })
    }
}

/// Cancels a running [`crate::encode`] or [`crate::decode`] from another thread (for
/// example on a deadline): clones share one flag. Work stops at the next check (each tile
/// group and plane) and the call returns [`crate::Error::Cancelled`].
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<std::sync::atomic::AtomicBool>);

impl Cancel {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }
    /// Requests cancellation of every call using this token (or a clone).
    pub fn cancel(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Default tile edge in pixels (see docs/ARCHITECTURE.md for the measurement behind it).
pub const DEFAULT_TILE_SIZE: u32 = 256;

/// Whether [`crate::encode`] embeds a preview ([`EncodeOptions::preview`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Preview {
    /// No preview.
    Off,
    /// [`crate::DEFAULT_PREVIEW_SIZE`] (256) pixels on the longer side, or half that when
    /// the larger one would cost more than [`crate::PREVIEW_BUDGET`] of the file, or none
    /// when both would: a preview pays off where decoding the image takes long, and on a
    /// photo the 256-pixel one is within the budget from about 10 MP (the 128-pixel one
    /// from about 3 MP; docs/ARCHITECTURE.md has the measurements).
    #[default]
    Auto,
    /// This longest side (1 to [`crate::MAX_PREVIEW_SIZE`]) whatever it costs, for any
    /// image larger than that.
    Size(u32),
}

/// Options for [`crate::encode`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EncodeOptions {
    /// Worker threads; 0 uses rayon's global pool (all cores). Default: 0.
    /// The output does not depend on it.
    pub threads: usize,
    /// Tile width and height in pixels; tiles are independent streams (parallel and
    /// random-access decoding) at a small cost in compression. Default: [`DEFAULT_TILE_SIZE`].
    /// With the default, an image in which some tile is not neural is also tried in
    /// 1024-pixel tiles without the network (fast) and the smaller file is kept; any other
    /// size is kept as is.
    pub tile_size: u32,
    /// Model for the colour channels; `None` picks the built-in model for the image's
    /// channel count ("default" for RGB, "gray" for grey). Default: `None`.
    pub model: Option<Arc<Model>>,
    /// One-channel model for a non-constant alpha plane; `None` uses the built-in "gray".
    /// Default: `None`.
    pub alpha_model: Option<Arc<Model>>,
    /// Called as tiles finish. Default: `None`.
    pub progress: Option<Progress>,
    /// Limits on the image and its metadata, the same a decoder applies: the encoder
    /// refuses to write a file that a decoder with these limits would refuse.
    /// Default: [`Limits::default`].
    pub limits: Limits,
    /// Stops the encode early when cancelled. Default: `None`.
    pub cancel: Option<Cancel>,
    /// Where to run. Default: [`Device::Cpu`].
    pub device: Device,
    /// Coding modes the encoder may choose per tile and plane group; it keeps the
    /// smallest. Must contain [`crate::TileMode::Neural`], [`crate::TileMode::Png`] or
    /// [`crate::TileMode::Context`] (the modes that code any content); otherwise encoding
    /// fails with [`crate::Error::InvalidArgument`]. `TileModes::only(&[TileMode::Neural])`
    /// is pure NeLLoC and writes container version 1 (with [`EncodeOptions::compact`] off
    /// where the image is one tile). Default: [`TileModes::all`].
    pub modes: TileModes,
    /// Whether the encoder fits an adapted head to the image (integer offsets of the
    /// network's outputs in an `ADPT` chunk, container version 4: smaller files on
    /// photographs at no decoding cost). Default: [`AdaptHead::Auto`]; [`AdaptHead::Off`]
    /// writes what the encoder wrote before (readable by decoders of versions 1 to 3;
    /// a one-tile image also needs `compact` off).
    pub adapt_head: AdaptHead,
    /// Whether and how to embed a preview (docs/FORMAT.md section 10): a small
    /// area-averaged copy of the image coded with the cheap tile modes, so that
    /// [`crate::decode_preview`] gives a thumbnail in milliseconds. Never written for an
    /// image no larger than the preview. Default: [`Preview::Auto`].
    pub preview: Preview,
    /// Whether an image coded as one tile (width and height at most `tile_size`) is
    /// written in the compact container (version 5, docs/FORMAT.md section 11: a header
    /// of a few bytes instead of about 120, the same tile). Default: `true`; `false`
    /// writes the tiled container of versions 1 to 4, readable by older decoders.
    pub compact: bool,
    /// Whether the stream carries the model files it names that are not built in
    /// (`MODL` chunks, docs/FORMAT.md section 12: version 6 for a one-tile image, 7
    /// otherwise), so that it decodes without access to them. Built-in models are never
    /// embedded (every decoder has them): with built-in models only this changes nothing.
    /// A model larger than [`Limits::max_model_bytes`] is refused. Default: `false`.
    pub embed_models: bool,
    /// Whether a one-tile image coded with an external (not built-in) model names it by a
    /// 4-byte hash prefix (kind 4, container version 6, docs/FORMAT.md section 12)
    /// instead of 8 bytes (kind 2, version 5, readable by older decoders). Default: `true`.
    pub short_model_refs: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            threads: 0,
            tile_size: DEFAULT_TILE_SIZE,
            model: None,
            alpha_model: None,
            progress: None,
            limits: Limits::default(),
            cancel: None,
            device: Device::Cpu,
            modes: TileModes::all(),
            adapt_head: AdaptHead::Auto,
            preview: Preview::Auto,
            compact: true,
            embed_models: false,
            short_model_refs: true,
        }
    }
}

impl DecodeOptions {
    /// These options with the directories of the `NELLOC_MODEL_PATH` environment variable
    /// ([`crate::model::search_path_from_env`]) appended to [`DecodeOptions::model_path`].
    pub fn with_env_model_path(mut self) -> Self {
        self.model_path.extend(crate::model::search_path_from_env());
        self
    }
}

/// Options for [`crate::decode`] and [`crate::info`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Worker threads; 0 uses rayon's global pool. Default: 0. The output does not depend on it.
    pub threads: usize,
    /// Models to look up by hash before the built-in ones. Default: empty.
    pub models: Vec<Arc<Model>>,
    /// Directories searched (not recursively) for `*.safetensors` model files when a
    /// stream names a model that is not built in, not in `models` and not embedded in the
    /// stream (docs/FORMAT.md section 12). Files are read only then, hashed and parsed
    /// only when their hash matches; files larger than [`Limits::max_model_bytes`] and
    /// unreadable ones are skipped. The library never reads the environment by itself:
    /// [`DecodeOptions::with_env_model_path`] appends `NELLOC_MODEL_PATH`. Default: empty.
    pub model_path: Vec<std::path::PathBuf>,
    /// Resource limits checked before allocating. Default: [`Limits::default`].
    pub limits: Limits,
    /// Called as tiles finish. Default: `None`.
    pub progress: Option<Progress>,
    /// Called as rows of the output become final, to show an image while it decodes
    /// (tiles are decoded in row order). Not used by [`crate::decode_batch`]. Default: `None`.
    pub on_rows: Option<OnRows>,
    /// Stops the decode early when cancelled: the bound on work a caller applies (a
    /// stream's pixel count is bounded by [`Limits`], its decoding time by this).
    /// Default: `None`.
    pub cancel: Option<Cancel>,
    /// Where to run. Default: [`Device::Cpu`].
    pub device: Device,
}
