//! Likelihood scoring: per-pixel code lengths under a model and out-of-distribution
//! scores, without entropy coding.
//!
//! A pixel's bits are `-log2(freq / 2^24)` of the exact integer intervals the encoder
//! codes (the encoder's plane groups, tiles, network and mixture CDFs), so a
//! [`BitsMap`] adds up to the ideal code length of a pure-neural encode
//! ([`crate::EncodeStats::model_bits`]); the real streams exceed it only by the ANS flush
//! words. Scores follow the OOD literature: a local model explains low-level statistics,
//! so raw likelihood ranks simple images as "typical"; subtracting a generic coder's code
//! length (Serrà et al., ICLR 2020) or a weaker background model's (Ren et al., NeurIPS
//! 2019) cancels most of that. Statistics of the bits map (share of bits on G and B, flat
//! pixels, quantiles) catch what those miss, and a [`Reference`] fitted on a user's
//! in-distribution images combines them all into one typicality distance.

mod reference;

pub use reference::{
    Reference, Typicality, DEFAULT_SHRINKAGE, MIN_FIT_IMAGES, NOVELTY_TAIL_FRACTION,
};

use std::sync::Arc;

use crate::codec::{map_tiles, plane_raster, Planes};
use crate::error::{Error, Result};
use crate::image::ImageRef;
use crate::limits::Limits;
use crate::mixture::PRECISION;
use crate::model::Model;
use crate::options::{Cancel, Device, DEFAULT_TILE_SIZE};

/// Options of [`score`] and [`bits_map`]. Every field documents its default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ScoreOptions {
    /// Worker threads; 0 (the default) uses rayon's global pool. Results never depend on it.
    pub threads: usize,
    /// Tile edge, as the encoder's (default [`DEFAULT_TILE_SIZE`]): contexts stop at tile
    /// edges, so bits add up to an encode's only with the same tiles.
    pub tile_size: u32,
    /// Model scoring the colour channels (default: the built-in one for the image's
    /// channel count, as the encoder).
    pub model: Option<Arc<Model>>,
    /// Model for varying alpha planes in [`bits_map`] (default: the built-in gray one).
    pub alpha_model: Option<Arc<Model>>,
    /// Weaker "background" model for the likelihood-ratio score (default none: no ratio).
    pub background: Option<Arc<Model>>,
    /// Resource limits (default [`Limits::default`]).
    pub limits: Limits,
    /// Stops the work from another thread (default none).
    pub cancel: Option<Cancel>,
    /// Where the network runs (default [`Device::Cpu`]); the bits never depend on it.
    pub device: Device,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            threads: 0,
            tile_size: DEFAULT_TILE_SIZE,
            model: None,
            alpha_model: None,
            background: None,
            limits: Limits::default(),
            cancel: None,
            device: Device::Cpu,
        }
    }
}

/// Code length of every pixel (all its coded samples), in bits, raster order.
#[derive(Debug, Clone, PartialEq)]
pub struct BitsMap {
    width: u32,
    height: u32,
    bits: Vec<f64>,
}

impl BitsMap {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bits of each pixel, `width * height` values in raster order.
    pub fn bits(&self) -> &[f64] {
        &self.bits
    }

    /// Sum of all pixels' bits: the ideal code length of the image.
    pub fn total_bits(&self) -> f64 {
        self.bits.iter().sum()
    }
}

/// Out-of-distribution scores of one image (colour channels; alpha is ignored). Every
/// score is oriented "higher = more unusual"; all are in bits per subpixel.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Score {
    /// Colour samples scored (width x height x colour channels).
    pub samples: u64,
    /// Raw likelihood: the model's ideal code length per subpixel.
    pub bpsp: f64,
    /// The generic classical coder's code length per subpixel ([`generic_bits`]).
    pub generic_bpsp: f64,
    /// Complexity-corrected likelihood: `bpsp - generic_bpsp`.
    pub complexity: f64,
    /// The background model's code length per subpixel, when one was given.
    pub background_bpsp: Option<f64>,
    /// Likelihood ratio: `bpsp - background_bpsp`, when a background model was given.
    pub ratio: Option<f64>,
    /// Local complexity: the 95th percentile, over 16x16 blocks, of the block's
    /// `model - generic` bits per subpixel. Catches an anomaly that covers part of the image.
    pub local: f64,
    /// The model's bits per sample of each colour channel (unused channels 0). Under an
    /// RGB model a grey image's G and B are nearly free given R.
    pub channel_bpsp: [f64; 3],
    /// The generic coder's bits per sample of each colour channel (unused channels 0).
    pub generic_channel_bpsp: [f64; 3],
    /// Quantiles (50th, 90th, 99th percentile) of the per-pixel model bits per subpixel.
    pub quantiles: [f64; 3],
    /// Share of pixels the model codes in under [`FLAT_BITS`] bits per subpixel: flat
    /// areas, which photographs (grain, noise) rarely have.
    pub flat: f64,
    /// Standard deviation over 16x16 blocks of the block's model bits per subpixel: how
    /// unevenly the bits are spread.
    pub spread: f64,
}

impl Score {
    /// Share of the model's bits spent on the colour channels after the first (0 for a
    /// one-channel model or an image that costs nothing).
    pub fn chroma_share(&self) -> f64 {
        let total: f64 = self.channel_bpsp.iter().sum();
        if total > 0.0 {
            (total - self.channel_bpsp[0]) / total
        } else {
            0.0
        }
    }
}

/// Bits per subpixel under which [`Score::flat`] counts a pixel as flat.
pub const FLAT_BITS: f64 = 0.25;

/// Edge of the blocks of [`Score::local`].
const LOCAL_BLOCK: usize = 16;

fn sample_bits(freq: u32) -> f64 {
    f64::from(PRECISION) - f64::from(freq).log2()
}

/// Per-pixel bits of the plane groups of `image`, and the total bits of each channel of
/// the groups (in group order). Tiles are summed in tile order, so neither depends on the
/// thread count.
fn pixel_bits(
    image: &ImageRef<'_>,
    planes: &Planes,
    options: &ScoreOptions,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let backend = planes.backend(options.device, (w * h) as u64)?;
    let backend = &*backend;
    let channels = planes.channels();
    let check = || match &options.cancel {
        Some(c) if c.is_cancelled() => Err(Error::Cancelled),
        _ => Ok(()),
    };
    let (rects, per_tile) = map_tiles(
        image,
        options.tile_size,
        options.threads,
        &check,
        |r, tile| {
            let mut bits = vec![0f64; r.w * r.h];
            let mut sums = vec![0f64; channels];
            let mut at = 0;
            for g in &planes.groups {
                let raster = plane_raster(backend, &g.model, tile, g.first)?;
                for (b, px) in bits.iter_mut().zip(raster.chunks(g.channels)) {
                    for (k, &(_, f)) in px.iter().enumerate() {
                        let v = sample_bits(f);
                        *b += v;
                        sums[at + k] += v;
                    }
                }
                at += g.channels;
            }
            Ok((bits, sums))
        },
    )?;
    let mut out = vec![0f64; w * h];
    let mut totals = vec![0f64; channels];
    for (r, (bits, sums)) in rects.iter().zip(&per_tile) {
        for i in 0..r.h {
            out[(r.y + i) * w + r.x..][..r.w].copy_from_slice(&bits[i * r.w..][..r.w]);
        }
        for (t, s) in totals.iter_mut().zip(sums) {
            *t += s;
        }
    }
    Ok((out, totals))
}

fn check(image: &ImageRef<'_>, options: &ScoreOptions) -> Result<()> {
    if !(1..=crate::MAX_TILE_SIZE).contains(&options.tile_size) {
        return Err(Error::InvalidArgument(format!(
            "tile_size is {}, expected 1 to {}",
            options.tile_size,
            crate::MAX_TILE_SIZE
        )));
    }
    options
        .limits
        .check_dimensions(image.width(), image.height())?;
    Ok(())
}

/// Per-pixel code length of `image` as a pure-neural encode with the same options would
/// code it: colour planes with the model, alpha with the alpha model when it varies
/// (constant alpha costs nothing). Sums to that encode's
/// [`crate::EncodeStats::model_bits`].
pub fn bits_map(image: ImageRef<'_>, options: &ScoreOptions) -> Result<BitsMap> {
    check(&image, options)?;
    let planes = Planes::resolve(&image, options.model.as_ref(), options.alpha_model.as_ref())?;
    Ok(BitsMap {
        width: image.width(),
        height: image.height(),
        bits: pixel_bits(&image, &planes, options)?.0,
    })
}

/// Out-of-distribution scores of `image` under `options.model` (colour channels only).
pub fn score(image: ImageRef<'_>, options: &ScoreOptions) -> Result<Score> {
    check(&image, options)?;
    let planes = Planes::colour(&image, options.model.as_ref())?;
    let cc = image.color().color_channels();
    let (model_bits, model_channels) = pixel_bits(&image, &planes, options)?;
    let (generic, generic_channels) = generic_channel_bits(image);
    let background = match &options.background {
        Some(b) => {
            let planes = Planes::colour(&image, Some(b))?;
            Some(pixel_bits(&image, &planes, options)?.0)
        }
        None => None,
    };
    let pixels = model_bits.len();
    let samples = pixels as u64 * cc as u64;
    let per = |bits: &[f64]| bits.iter().sum::<f64>() / samples as f64;
    let (bpsp, generic_bpsp) = (per(&model_bits), per(&generic));
    let background_bpsp = background.as_deref().map(per);
    let diff: Vec<f64> = model_bits
        .iter()
        .zip(&generic)
        .map(|(m, g)| m - g)
        .collect();
    let per_channel = |totals: &[f64]| {
        let mut out = [0f64; 3];
        for (o, t) in out.iter_mut().zip(totals) {
            *o = t / pixels.max(1) as f64;
        }
        out
    };
    let w = image.width() as usize;
    let mut sorted: Vec<f64> = model_bits.iter().map(|b| b / cc as f64).collect();
    let flat = sorted.iter().filter(|&&b| b < FLAT_BITS).count() as f64 / pixels.max(1) as f64;
    sorted.sort_by(f64::total_cmp);
    let spread = {
        let means = block_means(&model_bits, w, cc);
        let n = means.len().max(1) as f64;
        let mean = means.iter().sum::<f64>() / n;
        (means.iter().map(|m| (m - mean) * (m - mean)).sum::<f64>() / n).sqrt()
    };
    Ok(Score {
        samples,
        bpsp,
        generic_bpsp,
        complexity: bpsp - generic_bpsp,
        background_bpsp,
        ratio: background_bpsp.map(|b| bpsp - b),
        local: quantile_sorted(&sorted_block_means(&diff, w, cc), 0.95),
        channel_bpsp: per_channel(&model_channels),
        generic_channel_bpsp: per_channel(&generic_channels),
        quantiles: [0.5, 0.9, 0.99].map(|q| quantile_sorted(&sorted, q)),
        flat,
        spread,
    })
}

/// The `q` quantile of ascending `values` (the smallest value with at least `q` of them at
/// or below it; 0 when empty).
fn quantile_sorted(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let at = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
    values[at]
}

fn sorted_block_means(bits: &[f64], w: usize, cc: usize) -> Vec<f64> {
    let mut means = block_means(bits, w, cc);
    means.sort_by(f64::total_cmp);
    means
}

/// Mean bits per subpixel of each `LOCAL_BLOCK`-square block (edge blocks clipped), in
/// raster order of the blocks.
fn block_means(bits: &[f64], w: usize, cc: usize) -> Vec<f64> {
    if bits.is_empty() || w == 0 {
        return Vec::new();
    }
    let h = bits.len() / w;
    let mut means = Vec::new();
    for by in (0..h).step_by(LOCAL_BLOCK) {
        for bx in (0..w).step_by(LOCAL_BLOCK) {
            let (bw, bh) = (LOCAL_BLOCK.min(w - bx), LOCAL_BLOCK.min(h - by));
            let sum: f64 = (by..by + bh)
                .map(|y| bits[y * w + bx..][..bw].iter().sum::<f64>())
                .sum();
            means.push(sum / (bw * bh * cc) as f64);
        }
    }
    means
}

/// Per-pixel code length (colour channels) of a generic classical predictive coder: the
/// reference "complexity" of the complexity-corrected score. Per sample: the median edge
/// detector (MED, as LOCO-I) of its W/N/NW neighbours, plus, after the first channel, the
/// previous channel's prediction error; the residual (mod 256) is costed with an adaptive
/// frequency table per channel and local-activity context. An ideal code length (no
/// coder), deterministic, one sequential pass.
pub fn generic_bits(image: ImageRef<'_>) -> Vec<f64> {
    generic_channel_bits(image).0
}

/// [`generic_bits`] and the total bits of each colour channel.
fn generic_channel_bits(image: ImageRef<'_>) -> (Vec<f64>, Vec<f64>) {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (stride, cc) = (image.color().channels(), image.color().color_channels());
    let px = image.pixels();
    let at = |y: usize, x: usize, c: usize| i32::from(px[(y * w + x) * stride + c]);
    let mut tables = vec![Adaptive::new(); cc * ACTIVITY_BUCKETS * ERROR_BUCKETS];
    let mut out = vec![0f64; w * h];
    let mut totals = vec![0f64; cc];
    for y in 0..h {
        for x in 0..w {
            let mut prev_err = 0i32;
            for (c, total) in totals.iter_mut().enumerate() {
                // Missing neighbours repeat the nearest known one (0 for the first pixel).
                let wv = if x > 0 {
                    at(y, x - 1, c)
                } else if y > 0 {
                    at(y - 1, x, c)
                } else {
                    0
                };
                let n = if y > 0 { at(y - 1, x, c) } else { wv };
                let nw = if x > 0 && y > 0 {
                    at(y - 1, x - 1, c)
                } else {
                    n
                };
                let ne = if y > 0 && x + 1 < w {
                    at(y - 1, x + 1, c)
                } else {
                    n
                };
                let med = if nw >= wv.max(n) {
                    wv.min(n)
                } else if nw <= wv.min(n) {
                    wv.max(n)
                } else {
                    wv + n - nw
                };
                let pred = (med + prev_err).clamp(0, 255);
                let v = at(y, x, c);
                let residual = (v - pred).rem_euclid(256) as usize;
                let activity = (wv - nw).abs() + (n - nw).abs() + (ne - n).abs();
                let ctx = (c * ACTIVITY_BUCKETS + bucket(activity, ACTIVITY_BUCKETS))
                    * ERROR_BUCKETS
                    + if c == 0 {
                        0
                    } else {
                        bucket(prev_err.abs(), ERROR_BUCKETS)
                    };
                let bits = tables[ctx].cost_and_update(residual);
                out[y * w + x] += bits;
                *total += bits;
                prev_err = v - med;
            }
        }
    }
    (out, totals)
}

const ACTIVITY_BUCKETS: usize = 10;
const ERROR_BUCKETS: usize = 4;

/// `floor(log2(v + 1))`, capped at `n - 1`.
fn bucket(v: i32, n: usize) -> usize {
    ((32 - (v.max(0) as u32 + 1).leading_zeros() - 1) as usize).min(n - 1)
}

/// An adaptive frequency table over 256 residuals (Laplace start, halving).
#[derive(Clone)]
struct Adaptive {
    counts: [u32; 256],
    total: u32,
}

impl Adaptive {
    const STEP: u32 = 32;
    const LIMIT: u32 = 1 << 16;

    fn new() -> Self {
        Adaptive {
            counts: [1; 256],
            total: 256,
        }
    }

    fn cost_and_update(&mut self, s: usize) -> f64 {
        let bits = f64::from(self.total).log2() - f64::from(self.counts[s]).log2();
        self.counts[s] += Self::STEP;
        self.total += Self::STEP;
        if self.total > Self::LIMIT {
            self.total = 0;
            for c in &mut self.counts {
                *c = c.div_ceil(2);
                self.total += *c;
            }
        }
        bits
    }
}
