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

mod codec;
mod coder;
#[cfg(test)]
mod conformance;
mod container;
mod error;
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

pub use codec::{decode, encode, encode_with_stats, info, EncodeStats, Info};
pub use container::MAGIC;
pub use error::{Error, FormatError, LimitError, ModelError, Result};
pub use image::{ColorType, Image, ImageRef, Metadata};
pub use limits::Limits;
pub use model::Model;
pub use options::{DecodeOptions, EncodeOptions, Progress, DEFAULT_TILE_SIZE};

/// Version of the `.nlc` container this library writes (and the highest it reads).
pub const FORMAT_VERSION: u8 = 1;
