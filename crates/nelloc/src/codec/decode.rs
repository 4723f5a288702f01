//! Decoding: the stream's models and backend, the plan, then groups of consecutive tiles
//! decoded together (their wavefronts batched through the network) into the output,
//! handed to the workers in raster order so that rows finish from the top; a caller's
//! rows callback (`DecodeOptions::on_rows`) sees them as they do.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use rayon::prelude::*;

use super::engine::{decode_group, TileJob, MAX_GROUP_TILES};
use super::plan::{group_channels, plan, stream_error, Plan};
use super::planes::check_channels;
use super::pool::run_in_pool;
use super::{alpha, Tracker};
use crate::backend::{self, Backend};
use crate::coder::StreamDecoder;
use crate::container::{self, AlphaMode, Header, ModelRef};
use crate::error::{Error, FormatError, Result};
use crate::image::{Image, Metadata};
use crate::model::{self, Model};
use crate::options::DecodeOptions;
use crate::schedule::TileRect;
use crate::tilemode::{self, PayloadError};

/// Decodes a complete `.nlc` file.
pub fn decode(data: &[u8], options: &DecodeOptions) -> Result<Image> {
    let (header, tile_data) = container::parse(data, &options.limits)?;
    let decoder = Decoder::new(&header, tile_data, options)?;
    // Allocated once (limits were checked by `parse`, the work by the plan) and zeroed;
    // tiles are decoded into small buffers group by group and copied in, so the peak is
    // the image plus the tiles in flight, not twice the image.
    let mut pixels = vec![0u8; output_len(&header)];
    decoder.run(&mut pixels, options)?;
    Ok(Image {
        width: header.width,
        height: header.height,
        color: header.color,
        pixels,
        metadata: header.metadata,
    })
}

/// Decodes a complete `.nlc` file into `out`, which must hold exactly the image:
/// `width * height * color.channels()` bytes, rows top to bottom without padding (the
/// size [`crate::probe`] or [`crate::info`] reports). Returns the image's metadata.
/// Nothing is allocated for the pixels, and on an error `out` holds no partial image
/// that could pass for one: it is zeroed before decoding starts.
pub fn decode_into(data: &[u8], options: &DecodeOptions, out: &mut [u8]) -> Result<Metadata> {
    let (header, tile_data) = container::parse(data, &options.limits)?;
    let needed = output_len(&header);
    if out.len() != needed {
        return Err(Error::InvalidArgument(format!(
            "decode_into: the buffer holds {} bytes, the {}x{} {:?} image needs {needed}",
            out.len(),
            header.width,
            header.height,
            header.color
        )));
    }
    let decoder = Decoder::new(&header, tile_data, options)?;
    out.fill(0);
    decoder.run(out, options)?;
    Ok(header.metadata)
}

fn output_len(header: &Header) -> usize {
    header.width as usize * header.height as usize * header.color.channels()
}

/// A stream ready to decode: its models, the backend that runs them and the plan.
struct Decoder<'h, 'a> {
    header: &'h Header,
    /// Per plane group (colour, alpha): the model, if the header names one.
    models: [Option<Arc<Model>>; 2],
    backend: Arc<dyn Backend>,
    plan: Plan<'a>,
}

impl<'h, 'a> Decoder<'h, 'a> {
    fn new(header: &'h Header, tile_data: &'a [u8], options: &DecodeOptions) -> Result<Self> {
        let cc = header.color.color_channels();
        let colour = group_model(header, &header.color_model, options, "colour", cc)?;
        let alpha = match header.alpha {
            AlphaMode::Coded => group_model(header, &header.alpha_model, options, "alpha", 1)?,
            _ => None,
        };
        let models = [colour, alpha];
        check_heads(header, &models)?;
        let used: Vec<&Model> = models.iter().flatten().map(|m| &**m).collect();
        let pixels = u64::from(header.width) * u64::from(header.height);
        let backend = backend::select(options.device, pixels, &used)?;
        let plan = plan(header, tile_data, models.each_ref().map(Option::is_some))?;
        options.limits.check_work(plan.work)?;
        Ok(Decoder {
            header,
            models,
            backend,
            plan,
        })
    }

    /// Decodes every tile into `pixels` (the zeroed output), reporting final rows to
    /// `options.on_rows` on this thread while workers decode.
    fn run(self, pixels: &mut [u8], options: &DecodeOptions) -> Result<()> {
        let header = self.header;
        let stride = header.color.channels();
        let row_bytes = header.width as usize * stride;
        let cc = header.color.color_channels();
        let tracker = Tracker::new(
            options.progress.as_ref(),
            options.cancel.as_ref(),
            u64::from(header.width) * u64::from(header.height),
        );
        let mut jobs = self.plan.jobs;
        let rects = jobs.iter().map(|j| &j.rect).chain(&self.plan.trivial);
        let mut rows = RowFrontier::new(rects, header.height as usize);
        for r in &self.plan.trivial {
            // All zeros (alpha too, unless constant): the output is already zero.
            if let AlphaMode::Constant(v) = header.alpha {
                alpha::fill(pixels, row_bytes, r, stride, cc, v);
            }
            tracker.advance(r.w * r.h);
            rows.done(r);
        }
        let out = Mutex::new(Output {
            pixels,
            rows,
            failed: false,
        });
        let run = Run {
            header,
            models: &self.models,
            backend: &*self.backend,
            tracker: &tracker,
            out: &out,
            row_bytes,
        };
        let Some(on_rows) = &options.on_rows else {
            return run_in_pool(options.threads, || run.groups(&mut jobs, None))?;
        };
        // The workers decode on their own thread while this one hands finished rows to
        // the callback: callers (GUI toolkits, GIMP's plug-in protocol) can only act on
        // their own thread, and a slow callback then delays nobody but itself.
        // The workers' pool: the caller's choice, except that a caller on a worker of some
        // pool asking for that pool (0) gets a pool of the same size of its own: the
        // caller blocks below, and a pool whose workers all wait so would never run the
        // tiles (a 1-thread pool, or several such decodes from a parallel iterator).
        let threads = match options.threads {
            0 if rayon::current_thread_index().is_some() => rayon::current_num_threads(),
            n => n,
        };
        let (tx, rx) = mpsc::channel();
        let mut delivered = 0;
        let mut deliver = |out: &Output<'_>| {
            let n = out.rows.rows_done();
            if n > delivered && !out.failed && tracker.check().is_ok() {
                (on_rows.0)(n as u32, &out.pixels[..n * row_bytes]);
                delivered = n;
            }
        };
        let result = std::thread::scope(|s| {
            let workers = s.spawn(|| {
                // Dropped when the workers are done, even by a panic: that ends the loop.
                let tx = tx;
                // Rows of all-zero tiles may be final already.
                let _ = tx.send(());
                run_in_pool(threads, || run.groups(&mut jobs, Some(&tx)))?
            });
            for () in rx.iter() {
                deliver(&lock(&out));
            }
            workers
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        if result.is_ok() {
            deliver(&lock(&out));
        }
        result
    }
}

/// The output while tiles decode.
struct Output<'p> {
    pixels: &'p mut [u8],
    rows: RowFrontier,
    /// A group failed: no rows are reported from then on.
    failed: bool,
}

fn lock<'a, 'p>(out: &'a Mutex<Output<'p>>) -> std::sync::MutexGuard<'a, Output<'p>> {
    out.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Which rows of the output are final: the tiles not yet written, per row of tiles.
struct RowFrontier {
    /// Per row of tiles, top to bottom: its first pixel row and its tiles not yet written.
    rows: Vec<(usize, usize)>,
    /// The first row of tiles with tiles left.
    next: usize,
    height: usize,
}

impl RowFrontier {
    fn new<'r>(rects: impl Iterator<Item = &'r TileRect>, height: usize) -> Self {
        let mut rows = std::collections::BTreeMap::<usize, usize>::new();
        for r in rects {
            *rows.entry(r.y).or_default() += 1;
        }
        RowFrontier {
            rows: rows.into_iter().collect(),
            next: 0,
            height,
        }
    }

    /// Tile `r` is written.
    fn done(&mut self, r: &TileRect) {
        if let Ok(i) = self.rows.binary_search_by_key(&r.y, |&(y, _)| y) {
            self.rows[i].1 -= 1;
        }
        while self.rows.get(self.next).is_some_and(|&(_, left)| left == 0) {
            self.next += 1;
        }
    }

    /// Rows `0..rows_done()` are final.
    fn rows_done(&self) -> usize {
        self.rows.get(self.next).map_or(self.height, |&(y, _)| y)
    }
}

/// What the workers of one decode share.
struct Run<'r, 'p> {
    header: &'r Header,
    models: &'r [Option<Arc<Model>>; 2],
    backend: &'r dyn Backend,
    tracker: &'r Tracker<'r>,
    out: &'r Mutex<Output<'p>>,
    row_bytes: usize,
}

impl Run<'_, '_> {
    /// Decodes `jobs` (raster order) in groups of consecutive tiles, handed to the workers
    /// of the current pool in order, so that rows of tiles finish from the top with every
    /// worker busy. `notify` hears when more rows are final.
    fn groups(&self, jobs: &mut [TileJob<'_>], notify: Option<&mpsc::Sender<()>>) -> Result<()> {
        // One group of consecutive tiles per worker at a time; each group batches its
        // tiles' wavefronts. The bytes decoded do not depend on the grouping.
        // At most 8 tiles per group keeps a step's batch (up to ~64 pixels per 256-wide
        // tile) and its activations in cache on large images.
        // Accelerators want large batches: a step of a 256-pixel tile has ~64 pixels, so
        // about preferred_batch / 64 tiles per group.
        let max_group = MAX_GROUP_TILES.max(self.backend.preferred_batch() / 64);
        let workers = rayon::current_num_threads().clamp(1, jobs.len().max(1));
        let per = if max_group > MAX_GROUP_TILES {
            max_group
        } else {
            jobs.len().div_ceil(workers).clamp(1, MAX_GROUP_TILES)
        };
        let groups: Vec<Mutex<&mut [TileJob<'_>]>> = jobs.chunks_mut(per).map(Mutex::new).collect();
        let next = AtomicUsize::new(0);
        (0..workers.min(groups.len()))
            .into_par_iter()
            .try_for_each(|_| loop {
                let Some(group) = groups.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return Ok(());
                };
                if lock(self.out).failed {
                    return Ok(()); // the worker that failed reports the error
                }
                let mut group = group.lock().unwrap_or_else(PoisonError::into_inner);
                if let Err(e) = self.group(&mut group, notify) {
                    lock(self.out).failed = true;
                    return Err(e);
                }
            })
    }

    /// Decodes one group and copies it into the output.
    fn group(&self, group: &mut [TileJob<'_>], notify: Option<&mpsc::Sender<()>>) -> Result<()> {
        self.tracker.check()?;
        decode_tiles(self.header, self.models, self.backend, group, self.tracker)?;
        let stride = self.header.color.channels();
        let mut out = lock(self.out);
        let before = out.rows.rows_done();
        for job in group.iter_mut() {
            let (r, tile) = (&job.rect, std::mem::take(&mut job.buf));
            for y in 0..r.h {
                out.pixels[(r.y + y) * self.row_bytes + r.x * stride..][..r.w * stride]
                    .copy_from_slice(&tile[y * r.w * stride..][..r.w * stride]);
            }
            out.rows.done(r);
        }
        let advanced = out.rows.rows_done() > before;
        drop(out);
        if let (true, Some(tx)) = (advanced, notify) {
            // The receiver stays until the workers are done.
            let _ = tx.send(());
        }
        Ok(())
    }
}

/// Decodes a group of tiles into their buffers: the non-neural payloads first, then the
/// colour group through the network, then alpha; every stream must end exactly.
fn decode_tiles(
    header: &Header,
    models: &[Option<Arc<Model>>; 2],
    backend: &dyn Backend,
    group: &mut [TileJob<'_>],
    tracker: &Tracker<'_>,
) -> Result<()> {
    let channels = group_channels(header);
    let stride = header.color.channels();
    let cc = header.color.color_channels();
    let firsts = [0, cc];
    for job in group.iter_mut() {
        let (w, h) = (job.rect.w, job.rect.h);
        job.buf = vec![0u8; w * h * stride];
        // Non-neural groups first (the network of the other group, if any, reads only
        // its own channels).
        for (g, &c) in channels.iter().enumerate() {
            tilemode::decode_payload(
                &job.payloads[g],
                w,
                h,
                c,
                &mut job.buf,
                stride,
                firsts[g],
                &|| tracker.check().is_err(),
            )
            .map_err(|e| match e {
                PayloadError::Cancelled => Error::Cancelled,
                PayloadError::Corrupt(detail) => FormatError::CorruptTile {
                    tile: job.index,
                    detail,
                }
                .into(),
            })?;
        }
        if !job.neural[0] {
            tracker.advance(w * h);
        }
    }
    if let Some(m) = &models[0] {
        decode_group(backend, (m, header.head(0)), group, stride, 0, 0, tracker)?;
    }
    tracker.check()?;
    match (header.alpha, &models[1]) {
        (AlphaMode::Coded, Some(am)) => {
            decode_group(backend, (am, header.head(1)), group, stride, cc, 1, tracker)?
        }
        (AlphaMode::Constant(v), _) => {
            for job in group.iter_mut() {
                job.buf.chunks_exact_mut(stride).for_each(|p| p[cc] = v);
            }
        }
        _ => {}
    }
    tracker.check()?;
    for job in group.iter_mut() {
        let dec = std::mem::replace(&mut job.dec, StreamDecoder::empty());
        dec.finish().map_err(|e| stream_error(job.index, e))?;
    }
    Ok(())
}

/// The model a header reference names: built in, supplied, embedded in the stream or on
/// the search path (docs/FORMAT.md section 12).
pub(super) fn lookup(
    m: &ModelRef,
    header: &Header,
    options: &DecodeOptions,
    role: &'static str,
) -> Result<Arc<Model>> {
    let sources = model::search::Sources {
        supplied: &options.models,
        embedded: &header.embedded,
        dirs: &options.model_path,
        max_bytes: options.limits.max_model_bytes,
    };
    model::search::resolve(m, &sources, role)
}

/// Every adapted head must belong to a group the stream names a model for, one offset per
/// head value of that model (FORMAT.md section 9).
fn check_heads(header: &Header, models: &[Option<Arc<Model>>; 2]) -> Result<()> {
    for head in &header.heads {
        let g = usize::from(head.group);
        let detail = match &models[g] {
            None => {
                format!("an adapted head for plane group {g}, for which the stream names no model")
            }
            Some(m) => match head.check_model(m.arch().output_len()) {
                Ok(()) => continue,
                Err(e) => e.0,
            },
        };
        return Err(FormatError::InvalidField {
            field: "ADPT chunk",
            detail,
        }
        .into());
    }
    Ok(())
}

/// The model of a plane group: looked up by hash, except that a version-2 stream names no
/// model (all-zero hash) when no tile codes that group with the network.
fn group_model(
    header: &Header,
    hash: &ModelRef,
    options: &DecodeOptions,
    role: &'static str,
    channels: usize,
) -> Result<Option<Arc<Model>>> {
    if !header.version.names_every_model() && hash.is_none() {
        return Ok(None);
    }
    let m = lookup(hash, header, options, role)?;
    check_channels(&m, channels)?;
    Ok(Some(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_final_up_to_the_first_row_of_tiles_with_tiles_left() {
        // 3 x 2 tiles of 4 x 4 over a 12 x 7 image (the last row 3 high), any order.
        let rects: Vec<TileRect> = (0..6)
            .map(|t| TileRect {
                x: (t % 3) * 4,
                y: (t / 3) * 4,
                w: 4,
                h: if t < 3 { 4 } else { 3 },
            })
            .collect();
        let mut f = RowFrontier::new(rects.iter(), 7);
        let mut seen = vec![];
        for t in [3, 0, 4, 1, 2, 5] {
            f.done(&rects[t]);
            seen.push(f.rows_done());
        }
        assert_eq!(seen, [0, 0, 0, 0, 4, 7]);
        assert_eq!(RowFrontier::new([].iter(), 5).rows_done(), 5);
    }
}
