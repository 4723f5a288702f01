//! The backend seam: the network over a tile's pixels. `plane_intervals` and
//! `plane_raster` (encode and scoring: every pixel known, chunks of rows in parallel) and
//! `decode_group` (decode: wavefront batches over several tiles) gather the contexts and
//! hand each batch to a [`Backend`] (the CPU kernels, CUDA or ONNX Runtime), sized by its
//! `preferred_batch`; orchestration stays in `mod.rs`.

use rayon::prelude::*;

use super::Tracker;
use crate::backend::{Backend, Batch};
use crate::coder::StreamDecoder;
use crate::context::{bases, gather_context};
use crate::error::Result;
use crate::head_adapt::{fit::Samples, HeadDelta, MAX_HEAD};
use crate::kernels::Level;
use crate::mixture::{Edges, MixSimd, PixelDist};
use crate::model::Model;
use crate::schedule::{wavefront, wavefront_rows, wavefront_steps, TileBuf, TileRect};
use crate::tilemode::Payload;

/// The mixture kernels to use: zmm where the network's level is zmm (`NELLOC_SIMD` below
/// it keeps the mixture on the reference too, for comparisons).
fn mixture_simd() -> MixSimd {
    if Level::detect().zmm() {
        MixSimd::detect()
    } else {
        MixSimd::reference()
    }
}

/// Coding intervals of one plane group of a tile, in wavefront order.
/// `delta`: the stream's adapted head for the group, if any. With `row_info`, also the
/// running information content by rows (`h + 1` prefix sums, 2^-16 bits, estimated by
/// [`crate::coder::info_q16`]): what the encoder's early exits compare.
pub(super) fn plane_intervals(
    backend: &dyn Backend,
    model: &Model,
    delta: Option<&HeadDelta>,
    tile: &TileBuf<'_>,
    first: usize,
    out: &mut Vec<(u32, u32)>,
    row_info: Option<&mut Vec<u64>>,
) -> Result<()> {
    let c = model.arch().channels as usize;
    let hz = model.arch().horizon as usize;
    let (chunks, per) = plane_chunks(backend, model, delta, tile, first)?;
    if let Some(prefix) = row_info {
        prefix.clear();
        prefix.push(0);
        let mut sum = 0u64;
        for i in 0..tile.h {
            let row = &chunks[i / per][(i % per) * tile.w * c..][..tile.w * c];
            sum += row
                .iter()
                .map(|&(_, f)| crate::coder::info_q16(f))
                .sum::<u64>();
            prefix.push(sum);
        }
    }
    for (i, j) in wavefront(tile.w, tile.h, hz) {
        let at = ((i % per) * tile.w + j) * c;
        out.extend_from_slice(&chunks[i / per][at..at + c]);
    }
    Ok(())
}

/// Coding intervals of one plane group of a tile in raster order (`c` per pixel): what
/// the encoder codes, before its reordering into the stream's wavefront order.
/// Likelihood scoring (`crate::score`) reads them directly.
pub(crate) fn plane_raster(
    backend: &dyn Backend,
    model: &Model,
    tile: &TileBuf<'_>,
    first: usize,
) -> Result<Vec<(u32, u32)>> {
    Ok(plane_chunks(backend, model, None, tile, first)?.0.concat())
}

/// Coding intervals `(left, freq)` of consecutive chunks of rows, raster order within each.
type Chunks = Vec<Vec<(u32, u32)>>;

/// The intervals of consecutive chunks of rows (raster order within each), and the rows
/// per chunk.
fn plane_chunks(
    backend: &dyn Backend,
    model: &Model,
    delta: Option<&HeadDelta>,
    tile: &TileBuf<'_>,
    first: usize,
) -> Result<(Chunks, usize)> {
    let arch = model.arch();
    let c = arch.channels as usize;
    let k = arch.mixtures as usize;
    let hz = arch.horizon as usize;
    // Rows are independent when every pixel is known: compute chunks of rows in parallel
    // (one row per network call on the CPU, whole tiles on accelerators).
    let layout = backend.layout(model);
    let simd = mixture_simd();
    let per = backend
        .preferred_batch()
        .div_ceil(tile.w.max(1))
        .clamp(1, tile.h.max(1));
    let chunks: Chunks = (0..tile.h.div_ceil(per))
        .into_par_iter()
        .map_init(Batch::default, |batch, chunk| -> Result<Vec<(u32, u32)>> {
            // One batched network call per chunk: every context is already known.
            let rows = chunk * per..((chunk + 1) * per).min(tile.h);
            let n = rows.len() * tile.w;
            batch.reset(model, layout, n);
            for (r, i) in rows.clone().enumerate() {
                for j in 0..tile.w {
                    gather_context(tile, i, j, hz, first, c, batch.row_mut(r * tile.w + j));
                }
            }
            backend.forward(model, batch)?;
            let mut out = Vec::with_capacity(n * c);
            let mut adapted = [0i32; MAX_HEAD];
            for (r, i) in rows.enumerate() {
                for j in 0..tile.w {
                    let px = &tile.data[(i * tile.w + j) * tile.stride + first..][..c];
                    let b = bases(&arch.mean_base, tile, i, j, first, c);
                    let head = batch.head(r * tile.w + j);
                    let head = delta.map_or(head, |d| d.apply(head, &mut adapted));
                    PixelDist::with_simd(head, k, c, b.as_ref(), simd)
                        .for_each_interval(px, |lo, f| out.push((lo, f)));
                }
            }
            Ok(out)
        })
        .collect::<Result<_>>()?;
    Ok((chunks, per))
}

/// Most tiles decoded together as one wavefront batch on the CPU (accelerators take
/// about `preferred_batch / 64` tiles per group: see `decode` in `mod.rs`).
pub(super) const MAX_GROUP_TILES: usize = 8;

/// A tile being decoded.
pub(super) struct TileJob<'a> {
    pub(super) index: u32,
    pub(super) rect: TileRect,
    pub(super) buf: Vec<u8>,
    pub(super) dec: StreamDecoder,
    /// Per plane group (colour, alpha): whether the network decodes it from `dec`.
    pub(super) neural: [bool; 2],
    /// Per plane group: its payload (non-neural groups are decoded before the network runs).
    pub(super) payloads: [Payload<'a>; 2],
}

/// Decodes one plane group (channels `first..first+C` of `model` with the stream's
/// adapted head `delta` for it, if any; group number `g`: 0 colour, 1 alpha) of several tiles at once: at every wavefront step the ready pixels of
/// all tiles whose group `g` is neural form one batch for the network, then each tile's
/// symbols are popped in its own stream order.
pub(super) fn decode_group(
    backend: &dyn Backend,
    (model, delta): (&Model, Option<&HeadDelta>),
    jobs: &mut [TileJob<'_>],
    stride: usize,
    first: usize,
    g: usize,
    tracker: &Tracker<'_>,
) -> Result<()> {
    let arch = model.arch();
    let (c, k, hz) = (
        arch.channels as usize,
        arch.mixtures as usize,
        arch.horizon as usize,
    );
    let layout = backend.layout(model);
    let a = hz + 1;
    let steps = jobs
        .iter()
        .filter(|j| j.neural[g])
        .map(|j| wavefront_steps(j.rect.w, j.rect.h, hz))
        .max()
        .unwrap_or(0);
    let mut ready: Vec<(usize, usize, usize)> = Vec::new();
    let mut batch = Batch::default();
    let mut adapted = [0i32; MAX_HEAD];
    let mut edges = Edges::default();
    let simd = mixture_simd();
    for t in 0..steps {
        // Cancelled: stop here; the caller reports it (a single huge tile is one group).
        if tracker.check().is_err() {
            return Ok(());
        }
        ready.clear();
        for (ji, job) in jobs.iter().enumerate().filter(|(_, j)| j.neural[g]) {
            for i in wavefront_rows(t, job.rect.w, job.rect.h, hz) {
                ready.push((ji, i, t - a * i));
            }
        }
        if ready.is_empty() {
            continue;
        }
        batch.reset(model, layout, ready.len());
        for (n, &(ji, i, j)) in ready.iter().enumerate() {
            let job = &jobs[ji];
            let tile = TileBuf {
                data: &job.buf,
                w: job.rect.w,
                h: job.rect.h,
                stride,
            };
            gather_context(&tile, i, j, hz, first, c, batch.row_mut(n));
        }
        backend.forward(model, &mut batch)?;
        for (n, &(ji, i, j)) in ready.iter().enumerate() {
            let job = &mut jobs[ji];
            let at = (i * job.rect.w + j) * stride + first;
            let tile = TileBuf {
                data: &job.buf,
                w: job.rect.w,
                h: job.rect.h,
                stride,
            };
            let b = bases(&arch.mean_base, &tile, i, j, first, c);
            let head = batch.head(n);
            let head = delta.map_or(head, |d| d.apply(head, &mut adapted));
            let dist = PixelDist::with_simd(head, k, c, b.as_ref(), simd);
            let dec = &mut job.dec;
            let _ = dist.decode_pixel(&mut job.buf[at..at + c], &mut edges, |d, e| {
                Ok::<_, ()>(dec.decode(d, e))
            });
        }
        if first == 0 {
            tracker.advance(ready.len());
        }
    }
    Ok(())
}

/// The network's outputs at the pixels of `tile` (at `x0, y0` in the image) that
/// `sampled(x, y)` picks: what the encoder fits an adapted head to.
pub(super) fn sample_heads(
    backend: &dyn Backend,
    model: &Model,
    tile: &TileBuf<'_>,
    (x0, y0): (usize, usize),
    first: usize,
    sampled: impl Fn(usize, usize) -> bool,
) -> Result<Samples> {
    let arch = model.arch();
    let (c, hz) = (arch.channels as usize, arch.horizon as usize);
    let mut at = Vec::new();
    for i in 0..tile.h {
        for j in 0..tile.w {
            if sampled(x0 + j, y0 + i) {
                at.push((i, j));
            }
        }
    }
    let mut samples = Samples::for_arch(arch);
    if at.is_empty() {
        return Ok(samples);
    }
    let mut batch = Batch::default();
    batch.reset(model, backend.layout(model), at.len());
    for (n, &(i, j)) in at.iter().enumerate() {
        gather_context(tile, i, j, hz, first, c, batch.row_mut(n));
    }
    backend.forward(model, &mut batch)?;
    for (n, &(i, j)) in at.iter().enumerate() {
        let b = bases(&arch.mean_base, tile, i, j, first, c);
        let px = &tile.data[(i * tile.w + j) * tile.stride + first..][..c];
        samples.push(batch.head(n), b.as_ref(), px);
    }
    Ok(samples)
}
