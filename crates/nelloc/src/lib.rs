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
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod backend;
mod codec;
mod coder;
#[cfg(test)]
mod conformance;
mod container;
mod error;
mod fsio;
mod image;
mod kernels;
mod limits;
mod mixture;
pub mod model;
// The per-pixel scalar network is the reference oracle; production runs `kernels`.
#[cfg_attr(not(test), allow(dead_code))]
mod network;
mod options;
mod schedule;
mod tilemode;

pub use codec::{
    decode, decode_batch, encode, encode_batch, encode_with_stats, info, EncodeStats, Info,
    TileInfo, MAX_TILE_SIZE,
};
pub use container::{probe, AlphaMode, Probe, MAGIC, PROBE_BYTES};
pub use error::{DeviceError, Error, FormatError, LimitError, ModelError, Result};
pub use fsio::{read_limited, write_atomic};
pub use image::{ColorType, Image, ImageRef, Metadata};
pub use limits::Limits;
pub use model::Model;
pub use options::{
    Cancel, DecodeOptions, Device, EncodeOptions, OrtProvider, Progress, DEFAULT_TILE_SIZE,
};
pub use tilemode::{ModeCounts, TileMode, TileModes};

/// Highest version of the `.nlc` container this library reads and writes. It writes
/// version 1 (readable by the first release) when every tile is neural, version 2 when a
/// tile uses another coding mode (docs/FORMAT.md section 8).
pub const FORMAT_VERSION: u8 = 2;

/// Entry points for benchmarks of internal stages (not a stable API).
#[doc(hidden)]
pub mod bench_support {
    use crate::kernels::{forward_batch, BatchScratch, Level};
    use crate::Model;

    /// Seconds to evaluate the batched network (the kernels the codec uses, at the best
    /// SIMD level here) on `pixels` pseudo-random contexts, `batch` pixels per call, on
    /// the calling thread.
    pub fn network_seconds(model: &Model, pixels: usize, batch: usize) -> f64 {
        let arch = model.arch();
        let (l, o) = (arch.input_len(), arch.output_len());
        let batch = batch.max(1);
        let mut s = BatchScratch::default();
        let mut out = vec![0i32; batch * o];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let (rows, stride) = s.input_rows(model, batch);
        for p in 0..batch {
            for v in &mut rows[p * stride..p * stride + l] {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *v = 2 * (state % 256) as i16 - 255;
            }
        }
        let level = Level::detect();
        let start = std::time::Instant::now();
        let mut done = 0;
        while done < pixels {
            forward_batch(model, level, batch, &mut out, &mut s);
            done += batch;
        }
        std::hint::black_box(&out);
        start.elapsed().as_secs_f64() * pixels as f64 / done as f64
    }

    /// Name of the SIMD level the kernels use on this machine.
    pub fn simd_level() -> String {
        format!("{:?}", Level::detect())
    }
}
