//! Public encode / decode / info: tiles in parallel, each an independent ANS stream.
//!
//! The data flow: `planes` (which channels go through which model, the tiles) feeds
//! `encode` (per tile, the cheap modes against the network, then the container);
//! `plan` (checksums, layouts, work bound) feeds `decode` (groups of tiles decoded
//! together into the output); `info` reads the header and tile layouts only. `engine` runs
//! the network over tiles through the backend seam, `alpha` holds the alpha policy, `pool`
//! the worker pools and `batch` the many-images entry points.

mod alpha;
mod batch;
mod decode;
mod encode;
mod engine;
mod info;
mod plan;
mod planes;
mod pool;

pub use batch::{decode_batch, encode_batch};
pub use decode::{decode, decode_into};
pub(crate) use encode::encode_within;
#[cfg(feature = "experiments")]
pub(crate) use encode::experiment_heads;
pub use encode::{encode, encode_with_stats, EncodeStats};
pub use info::{info, info_header, Info, TileInfo};

pub(crate) use engine::plane_raster;
pub(crate) use planes::{map_tiles, Planes};

use crate::error::{Error, Result};
use crate::options::{Cancel, Progress};

/// Largest tile edge the encoder accepts: a tile stream is at most 24 bits per sample
/// (every frequency is at least 1 in 2^24), so 16384^2 pixels of 4 samples stay below the
/// format's 4 GiB per stream.
pub const MAX_TILE_SIZE: u32 = 16384;

/// Progress reports and cancellation of one encode or decode.
struct Tracker<'a> {
    progress: Option<&'a Progress>,
    cancel: Option<&'a Cancel>,
    done: std::sync::atomic::AtomicU64,
    total: u64,
}

impl<'a> Tracker<'a> {
    fn new(progress: Option<&'a Progress>, cancel: Option<&'a Cancel>, total: u64) -> Self {
        Tracker {
            progress,
            cancel,
            done: 0.into(),
            total,
        }
    }

    /// `Err(Error::Cancelled)` once the caller has cancelled.
    fn check(&self) -> Result<()> {
        match self.cancel {
            Some(c) if c.is_cancelled() => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }

    /// Reports `pixels` more pixels finished.
    fn advance(&self, pixels: usize) {
        if let Some(p) = self.progress {
            let done = self
                .done
                .fetch_add(pixels as u64, std::sync::atomic::Ordering::Relaxed)
                + pixels as u64;
            (p.0)(done, self.total);
        }
    }
}
