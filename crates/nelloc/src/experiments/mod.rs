//! The online-adaptation A/B of issue 25 section 2 (docs/MODELS.md, "Online adaptation
//! A/B"): the exact ideal code length of an image under the integer pipeline, with the
//! adapted head fitted as the encoder fits it, with and without integer corrections
//! learned from the already-coded pixels of each tile.
//!
//! Pixels are visited per tile in the decoder's wavefront order (`schedule::wavefront`),
//! channels in order, so every correction only depends on what a decoder has decoded
//! before it. Everything that would feed a CDF is integer arithmetic with defined
//! rounding ([`online`]). An experiment behind the `experiments` feature: nothing here
//! reaches a stream.

pub mod online;

use std::sync::Arc;
use std::time::Instant;

use crate::backend::{Backend, Batch};
use crate::context::{bases, gather_context};
use crate::error::{Error, Result};
use crate::head_adapt::{HeadDelta, MAX_HEAD};
use crate::mixture::{head_len, PixelDist, PRECISION};
use crate::model::{MeanBase, Model};
use crate::schedule::{wavefront, TileBuf};
use crate::{EncodeOptions, ImageRef};

use online::Online;
pub use online::Variant;

/// One tile: its pixels and the (adapted) head outputs at each of them, raster order.
struct Tile {
    w: usize,
    h: usize,
    data: Vec<u8>,
    heads: Vec<i32>,
}

/// An image prepared for the A/B: the network has run once over every tile.
pub struct Prepared {
    tiles: Vec<Tile>,
    model: Arc<Model>,
    stride: usize,
    /// Whether the encoder's policy (`--adapt-head auto`) wrote an adapted head.
    pub adapted: bool,
    /// Coded symbols (pixels x channels).
    pub symbols: u64,
}

/// Runs the network over every tile of `image` (an RGB image, tiles of `tile_size` (the
/// encoder's default: 256), on `threads` worker threads) with the adapted head fitted
/// exactly as `encode` fits it.
pub fn prepare(image: ImageRef<'_>, tile_size: u32, threads: usize) -> Result<Prepared> {
    let options = EncodeOptions {
        threads,
        tile_size,
        ..EncodeOptions::default()
    };
    let (backend, planes, heads) = crate::codec::experiment_heads(&image, &options)?;
    if planes.groups.len() != 1 || planes.groups[0].first != 0 {
        return Err(Error::InvalidArgument(
            "the A/B takes images without a coded alpha plane".into(),
        ));
    }
    let model = planes.groups[0].model.clone();
    let delta = heads.into_iter().next().flatten();
    let (_, tiles) =
        crate::codec::map_tiles(&image, options.tile_size, threads, &|| Ok(()), |_, tile| {
            tile_heads(&*backend, &model, delta.as_ref(), tile)
        })?;
    let c = model.arch().channels as u64;
    Ok(Prepared {
        symbols: tiles.iter().map(|t| (t.w * t.h) as u64 * c).sum(),
        tiles,
        model,
        stride: image.color().channels(),
        adapted: delta.is_some(),
    })
}

/// The network's head at every pixel of `tile` (raster), `delta` added.
fn tile_heads(
    backend: &dyn Backend,
    model: &Model,
    delta: Option<&HeadDelta>,
    tile: &TileBuf<'_>,
) -> Result<Tile> {
    let arch = model.arch();
    let (c, hz) = (arch.channels as usize, arch.horizon as usize);
    let hl = arch.output_len();
    let layout = backend.layout(model);
    let per = backend
        .preferred_batch()
        .div_ceil(tile.w.max(1))
        .clamp(1, tile.h.max(1));
    let mut heads = Vec::with_capacity(tile.w * tile.h * hl);
    let mut batch = Batch::default();
    let mut adapted = [0i32; MAX_HEAD];
    for rows in (0..tile.h).step_by(per).map(|r| r..(r + per).min(tile.h)) {
        batch.reset(model, layout, rows.len() * tile.w);
        for (r, i) in rows.clone().enumerate() {
            for j in 0..tile.w {
                gather_context(tile, i, j, hz, 0, c, batch.row_mut(r * tile.w + j));
            }
        }
        backend.forward(model, &mut batch)?;
        for n in 0..rows.len() * tile.w {
            let head = batch.head(n);
            heads.extend_from_slice(delta.map_or(head, |d| d.apply(head, &mut adapted)));
        }
    }
    Ok(Tile {
        w: tile.w,
        h: tile.h,
        data: tile.data.to_vec(),
        heads,
    })
}

impl Prepared {
    /// Ideal code length in bits (sum of -log2(freq / 2^24) over every symbol) of the
    /// image's neural plane group under `variant`, tiles one after the other on the
    /// calling thread.
    pub fn bits(&self, variant: &Variant) -> f64 {
        self.tiles.iter().map(|t| self.tile_bits(t, variant)).sum()
    }

    /// Seconds [`Prepared::bits`] takes for `variant`: the best of `runs` runs.
    pub fn seconds(&self, variant: &Variant, runs: usize) -> f64 {
        (0..runs.max(1))
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(self.bits(variant));
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// Pixels of the image.
    pub fn pixels(&self) -> u64 {
        self.tiles.iter().map(|t| (t.w * t.h) as u64).sum()
    }

    fn tile_bits(&self, t: &Tile, variant: &Variant) -> f64 {
        let arch = self.model.arch();
        let (k, c, hz) = (
            arch.mixtures as usize,
            arch.channels as usize,
            arch.horizon as usize,
        );
        let hl = head_len(k, c);
        let tile = TileBuf {
            data: &t.data,
            w: t.w,
            h: t.h,
            stride: self.stride,
        };
        let predicted = matches!(arch.mean_base, MeanBase::Predicted(_));
        let mut online = Online::new(variant, k, c);
        let mut buf = [0i32; MAX_HEAD];
        let mut bits = 0.0;
        for (i, j) in wavefront(t.w, t.h, hz) {
            let at = i * t.w + j;
            let b = if predicted {
                bases(&arch.mean_base, &tile, i, j, 0, c)
            } else {
                None
            };
            online.start_pixel(&tile, i, j);
            let head = online.head(&t.heads[at * hl..][..hl], &mut buf);
            let mut dist = PixelDist::new(head, k, c, b.as_ref());
            let px = &t.data[at * self.stride..][..c];
            let mut w = dist.prior_weights();
            online.set_prior(&w);
            for ch in 0..c {
                // The correction of this channel: known before its symbol is decoded.
                let (dm, ds) = online.correction(ch);
                if dm != 0 || ds != 0 {
                    dist.adjust(ch, dm, ds);
                }
                let cd = dist.channel(ch, px, &w);
                let x = px[ch];
                let (_, f) = cd.interval(x);
                bits += f64::from(PRECISION) - f64::from(f).log2();
                let post = online.update(ch, &cd, x);
                if ch + 1 < c {
                    w = post.unwrap_or_else(|| cd.posterior(x));
                }
            }
        }
        bits
    }
}
