//! nelloc: a neural local lossless image codec (NeLLoC, Zhang et al., NeurIPS 2021).
//!
//! Each pixel is coded with a small local autoregressive network whose distribution
//! depends only on a causal window of horizon h around it. Every operation that feeds an
//! entropy-coder CDF is integer arithmetic with defined rounding, so encoder and decoder
//! agree bit for bit on any CPU, thread count or batch shape (`docs/FORMAT.md`).
//!
//! ```no_run
//! use nelloc::{decode, encode, ColorType, DecodeOptions, EncodeOptions, ImageRef};
//! let pixels = vec![128u8; 16 * 8 * 3];
//! let image = ImageRef::new(16, 8, ColorType::Rgb8, &pixels)?;
//! let bytes = encode(image, &EncodeOptions::default())?;
//! let back = decode(&bytes, &DecodeOptions::default())?;
//! assert_eq!(back.pixels(), &pixels[..]);
//! # Ok::<(), nelloc::Error>(())
//! ```
//!
//! The crate root is the codec: [`encode`], [`decode`], [`info`], [`probe`] and their
//! options. Likelihood and out-of-distribution scores are a separate use of the same
//! model and live in [`score`] (`nelloc::score::score`, [`score::bits_map`],
//! [`score::Reference`]), model files in [`model`], accelerators in [`backend`], and the
//! file helpers the front ends share in [`fs`].
//!
//! The `unstable-internals` feature adds `bench_support`, `model::synthetic` and
//! `model::builtin_file_count` for this workspace's own tests, benchmarks and self-checks;
//! they are not part of the semver-stable API.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod backend;
mod codec;
mod coder;
#[cfg(test)]
mod conformance;
mod container;
mod context;
mod error;
// The online-adaptation A/B of issue 25 section 2: an experiment, not part of the API.
#[cfg(feature = "experiments")]
#[doc(hidden)]
pub mod experiments;
pub mod fs;
mod head_adapt;
mod image;
mod kernels;
mod limits;
mod mixture;
pub mod model;
mod net;
// The per-pixel scalar network is the reference oracle; production runs `kernels`.
#[cfg_attr(not(test), allow(dead_code))]
mod network;
mod options;
mod preview;
mod schedule;
pub mod score;
mod tilemode;

pub use codec::{
    decode, decode_batch, decode_into, encode, encode_batch, encode_with_stats, info, info_header,
    EncodeStats, Info, TileInfo, MAX_TILE_SIZE,
};
pub use container::{probe, AlphaMode, Probe, MAGIC, PROBE_BYTES};
pub use error::{
    DeviceError, Error, ErrorKind, FormatError, LimitError, ModelError, ReferenceError, Result,
};
pub use head_adapt::fit::AdaptHead;
pub use image::{ColorType, Image, ImageRef, Metadata};
pub use limits::Limits;
pub use model::Model;
pub use options::{
    Cancel, DecodeOptions, Device, EncodeOptions, OnRows, OrtProvider, Preview, Progress,
    DEFAULT_TILE_SIZE,
};
pub use preview::{
    decode_preview, DecodedPreview, DEFAULT_PREVIEW_SIZE, MAX_PREVIEW_SIZE, PREVIEW_BUDGET,
};
pub use tilemode::{ModeCounts, TileMode, TileModes};

/// Highest version of the `.nlc` container this library reads and writes. It writes
/// version 1 (readable by the first release) when every tile is neural, version 3 when a
/// tile uses the context mode, and version 2 when tiles use other coding modes
/// (docs/FORMAT.md section 8); version 4 when the stream has an adapted head (section 9),
/// which [`EncodeOptions::adapt_head`] writes by default on photographs; version 5, the
/// compact container of a few header bytes (section 11), for every image coded as one
/// tile (unless [`EncodeOptions::compact`] is off); version 6, the compact container
/// with an embedded model or a 4-byte reference to an external one, and version 7, the
/// tiled container with an embedded model (section 12): a one-tile image coded with an
/// external model is version 6 unless [`EncodeOptions::short_model_refs`] is off.
pub const FORMAT_VERSION: u8 = 7;

/// Entry points for benchmarks of internal stages. Behind the `unstable-internals`
/// feature: not part of the semver-stable API.
#[cfg(feature = "unstable-internals")]
pub mod bench_support {
    use crate::kernels::{forward_batch, pack_rows, Level, Scratch};
    use crate::Model;

    /// Seconds to evaluate the batched network (the kernels the codec uses, at the best
    /// SIMD level here) on `pixels` pseudo-random contexts, `batch` pixels per call, on
    /// the calling thread.
    pub fn network_seconds(model: &Model, pixels: usize, batch: usize) -> f64 {
        let arch = model.arch();
        let (l, o) = (arch.input_len(), arch.output_len());
        let batch = batch.max(1);
        let mut s = Scratch::default();
        let mut out = vec![0i32; batch * o];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let dense: Vec<i16> = (0..batch * l)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                2 * (state % 256) as i16 - 255
            })
            .collect();
        let rows = pack_rows(model, &dense, batch);
        let level = Level::detect();
        let start = std::time::Instant::now();
        let mut done = 0;
        while done < pixels {
            forward_batch(model, level, &rows, batch, &mut out, &mut s);
            done += batch;
        }
        std::hint::black_box(&out);
        start.elapsed().as_secs_f64() * pixels as f64 / done as f64
    }

    /// Ideal code length in bits (the sum of -log2 of every coded decision's
    /// probability) of a `w`-wide plane in the context mode: palette indices below `n`
    /// (`Some(n)`), or pixels of `c` channels packed big-endian into each key (`None`).
    pub fn context_bits(keys: &[u32], w: usize, palette: Option<usize>, c: usize) -> f64 {
        use crate::tilemode::ContextAlphabet as A;
        let alphabet = palette.map_or(A::Direct(c), A::Palette);
        crate::tilemode::context_bits(keys, w, alphabet)
    }

    /// Name of the SIMD level the kernels use on this machine.
    pub fn simd_level() -> String {
        format!("{:?}", Level::detect())
    }

    /// The names `NELLOC_SIMD` accepts for the kernel levels, lowest first.
    pub fn simd_level_names() -> &'static [&'static str] {
        &crate::kernels::NAMES
    }

    /// Compares the batched kernels at the level in use here with the per-pixel scalar
    /// reference (`network.rs`) on synthetic models and contexts, extremes included; returns
    /// the number of pixels compared. For targets where `cargo test` cannot run the unit
    /// tests (the WebAssembly builds run it from Node).
    pub fn kernels_match_reference() -> Result<usize, String> {
        use crate::model::{synthetic, Arch};
        use crate::network::{forward, Scratch};
        let level = Level::detect();
        let mut compared = 0;
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Widths that pad (7, 20), wide layers (256), residual blocks, grey and RGB.
        for (h, c, width, res, k) in [
            (3, 3, 256, 0, 10),
            (1, 1, 7, 1, 3),
            (3, 3, 20, 2, 10),
            (2, 1, 64, 1, 32),
            (7, 3, 33, 1, 5),
        ] {
            let arch = Arch::new(h, c, width, res, k);
            let model =
                Model::from_bytes(&synthetic(arch, rnd(), "check")).map_err(|e| e.to_string())?;
            let (l, o) = (arch.input_len(), arch.output_len());
            for n in [1usize, 4, 9, 37] {
                // Every fourth batch at the extremes (+-255), the rest random or zero.
                let inputs: Vec<i16> = (0..n * l)
                    .map(|i| match (n, rnd() % 4) {
                        (9, _) => {
                            if i % 2 == 0 {
                                255
                            } else {
                                -255
                            }
                        }
                        (_, 0) => 0,
                        _ => 2 * (rnd() % 256) as i16 - 255,
                    })
                    .collect();
                let mut expected = vec![0i32; n * o];
                let mut s = Scratch::new(&model);
                for p in 0..n {
                    forward(
                        &model,
                        &inputs[p * l..][..l],
                        &mut expected[p * o..][..o],
                        &mut s,
                    );
                }
                let rows = pack_rows(&model, &inputs, n);
                let mut got = vec![0i32; n * o];
                forward_batch(&model, level, &rows, n, &mut got, &mut Default::default());
                if got != expected {
                    return Err(format!(
                        "{level:?} differs from the reference: {arch:?}, {n} pixels"
                    ));
                }
                compared += n;
            }
        }
        Ok(compared)
    }
}
