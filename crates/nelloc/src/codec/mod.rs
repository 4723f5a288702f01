//! Public encode / decode / info: tiles in parallel, each an independent ANS stream.
//! Orchestration lives here (options, limits, tiles, streams, output); `engine` runs the
//! network over tiles (the backend seam), `alpha` holds the alpha policy and `pool` the
//! worker pools.

mod alpha;
mod batch;
mod engine;
mod planes;
mod pool;

pub use batch::{decode_batch, encode_batch};

pub(crate) use engine::plane_raster;
pub(crate) use planes::{map_tiles, Planes};

use planes::{check_channels, PlaneGroup};
use pool::run_in_pool;

use engine::{decode_group, plane_intervals, TileJob, MAX_GROUP_TILES};

use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;

use crate::backend::{self, Backend};
use crate::coder::{encode_intervals, StreamDecoder, StreamError};
use crate::container::{self, AlphaMode, Header, TileEntry};
use crate::error::{Error, FormatError, ModelError, Result};
use crate::image::{ColorType, Image, ImageRef, Metadata};
use crate::model::{self, hex, Model};
use crate::options::{Cancel, DecodeOptions, EncodeOptions};
use crate::schedule::{tiles, TileBuf};
use crate::tilemode::{
    self, ContainerVersion, ModeCounts, Payload, PayloadError, TileError, TileLayout, TileMode,
    TileModes,
};

/// What `info` reports about a stream, without decoding pixels.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Info {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colour type of the decoded image.
    pub color: ColorType,
    /// Tile width.
    pub tile_width: u32,
    /// Tile height.
    pub tile_height: u32,
    /// Number of tiles.
    pub tiles: usize,
    /// Hex SHA-256 of the colour model.
    pub model_hash: String,
    /// Name of the colour model, if this decoder has it.
    pub model_name: Option<String>,
    /// How alpha is stored (its `Display` gives `none`, `constant N` or `coded`).
    pub alpha: AlphaMode,
    /// Hex SHA-256 of the alpha model, when alpha is coded.
    pub alpha_model_hash: Option<String>,
    /// Metadata stored with the image.
    pub metadata: Metadata,
    /// Total file size in bytes.
    pub file_size: usize,
    /// Container version (1: every tile neural; 2: per-tile modes; 3: with context mode).
    pub version: u8,
    /// Every tile, in raster order, with its coding modes and size.
    pub tile_details: Vec<TileInfo>,
}

impl Info {
    /// Bits per subpixel (8-bit sample) of the whole file.
    pub fn bits_per_subpixel(&self) -> f64 {
        let samples = f64::from(self.width) * f64::from(self.height) * self.color.channels() as f64;
        self.file_size as f64 * 8.0 / samples
    }
}

/// Figures from an encode, for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct EncodeStats {
    /// Information content of all symbols under the quantized model: the sum of
    /// -log2(freq / 2^24). The tile streams exceed it only by the ANS overhead.
    pub model_bits: f64,
    /// Bytes of all tile streams (file size minus header).
    pub stream_bytes: u64,
    /// Number of coded symbols.
    pub symbols: u64,
    /// Plane groups of tiles coded in each mode. `model_bits` and `symbols` count the
    /// neural groups only.
    pub modes: ModeCounts,
    /// The decoding work of the file as [`crate::Limits::max_neural_pixels`] counts it
    /// (neural and context-coded plane groups).
    pub neural_pixels: u64,
}

/// Progress reports and cancellation of one encode or decode.
struct Tracker<'a> {
    progress: Option<&'a crate::options::Progress>,
    cancel: Option<&'a Cancel>,
    done: std::sync::atomic::AtomicU64,
    total: u64,
}

impl Tracker<'_> {
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

/// One tile as the encoder chose to code it.
struct CodedTile {
    /// Per plane group (colour, alpha): the mode and its framed payload (empty if neural).
    modes: [TileMode; 2],
    payloads: [Vec<u8>; 2],
    /// The ANS words of the neural groups.
    ans: Vec<u8>,
    bits: f64,
    symbols: u64,
}

/// Skip the (expensive) neural trial when a cheap mode codes a group below this many
/// bits per sample: the network cannot win by more than the trial costs.
const NEAR_ZERO_BPSP: f64 = 0.05;

/// Bytes a neural group costs beyond its information content (the mode byte and ANS
/// flush words, on average).
const NEURAL_OVERHEAD: f64 = 5.0;

/// Codes one tile: per plane group the cheap modes first, then the network unless a
/// cheap mode is already near zero; the smallest wins.
fn code_tile(
    backend: &dyn Backend,
    tile: &TileBuf<'_>,
    groups: &[PlaneGroup],
    modes: TileModes,
) -> Result<CodedTile> {
    let (data, stride) = (tile.data, tile.stride);
    let mut out = CodedTile {
        modes: [TileMode::Neural; 2],
        payloads: [Vec::new(), Vec::new()],
        ans: Vec::new(),
        bits: 0.0,
        symbols: 0,
    };
    let mut intervals = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let (first, c) = (group.first, group.channels);
        let samples = tile.w * tile.h * c;
        let cheap = if modes == TileModes::only(&[TileMode::Neural]) {
            None
        } else {
            let plane: Vec<u8> = if stride == c {
                data.to_vec()
            } else {
                data.chunks_exact(stride)
                    .flat_map(|p| p[first..first + c].iter().copied())
                    .collect()
            };
            tilemode::encode_cheap(&plane, tile.w, tile.h, c, modes)
        };
        let cheap_cost = cheap.as_ref().map(|(_, p)| (p.len() + 1) as f64);
        let try_neural = modes.contains(TileMode::Neural)
            && cheap_cost.is_none_or(|b| b * 8.0 > NEAR_ZERO_BPSP * samples as f64);
        if try_neural {
            let mut iv = Vec::with_capacity(samples);
            plane_intervals(backend, &group.model, tile, first, &mut iv)?;
            let bits: f64 = iv
                .iter()
                .map(|&(_, f)| f64::from(crate::mixture::PRECISION) - f64::from(f).log2())
                .sum();
            if cheap_cost.is_none_or(|b| bits / 8.0 + NEURAL_OVERHEAD < b) {
                out.bits += bits;
                out.symbols += iv.len() as u64;
                intervals.extend_from_slice(&iv);
                continue;
            }
        }
        if let Some((mode, payload)) = cheap {
            out.modes[g] = mode;
            out.payloads[g] = payload;
        }
    }
    out.ans = encode_intervals(&intervals);
    Ok(out)
}

/// Encodes an image into a complete `.nlc` file.
pub fn encode(image: ImageRef<'_>, options: &EncodeOptions) -> Result<Vec<u8>> {
    encode_with_stats(image, options).map(|(bytes, _)| bytes)
}

/// Like [`encode`], also returning [`EncodeStats`].
pub fn encode_with_stats(
    image: ImageRef<'_>,
    options: &EncodeOptions,
) -> Result<(Vec<u8>, EncodeStats)> {
    if !(1..=MAX_TILE_SIZE).contains(&options.tile_size) {
        return Err(Error::InvalidArgument(format!(
            "tile_size is {}, expected 1 to {MAX_TILE_SIZE}",
            options.tile_size
        )));
    }
    // The decoder's limits apply to what the encoder writes: a file it would refuse is
    // refused here, before any work.
    options
        .limits
        .check_dimensions(image.width(), image.height())?;
    options.limits.check_output(image.pixels().len() as u64)?;
    let planes = Planes::resolve(&image, options.model.as_ref(), options.alpha_model.as_ref())?;
    let metadata = image.metadata().cloned().unwrap_or_default();
    let mut metadata_bytes = 0u64;
    for chunk in [&metadata.icc, &metadata.exif, &metadata.xmp]
        .into_iter()
        .flatten()
    {
        container::u32_field(chunk.len(), "a metadata chunk's length")?;
        metadata_bytes += chunk.len() as u64;
    }
    options.limits.check_metadata(metadata_bytes)?;
    if !options.modes.is_complete() {
        return Err(Error::InvalidArgument(format!(
            "tile modes {{{}}} cannot code every tile: include neural, png or context",
            options.modes
        )));
    }
    let total = u64::from(image.width()) * u64::from(image.height());
    let backend = planes.backend(options.device, total)?;
    let tracker = Tracker {
        progress: options.progress.as_ref(),
        cancel: options.cancel.as_ref(),
        done: 0.into(),
        total,
    };
    let ctx = EncodeContext {
        backend: &*backend,
        image: &image,
        planes: &planes,
        metadata: &metadata,
        threads: options.threads,
        tracker: &tracker,
    };
    let (bytes, stats) = encode_passes(&ctx, options)?;
    // Checked on the file chosen (its work is known only once coded), so the encoder never
    // returns a file a decoder with these limits refuses.
    options.limits.check_work(stats.neural_pixels)?;
    Ok((bytes, stats))
}

/// The first pass in the requested tile size and, when it helps, the large-tile pass.
fn encode_passes(
    ctx: &EncodeContext<'_>,
    options: &EncodeOptions,
) -> Result<(Vec<u8>, EncodeStats)> {
    let (image, ctx) = (ctx.image, *ctx);
    let first = ctx.code(options.tile_size, options.modes)?;
    let ts = options.tile_size;
    // When some tile is not neural, deflate may gain from larger tiles (matches across
    // tile edges, fewer zlib streams): the cheap modes alone are fast enough to try once
    // more. Only with the default tile size: a caller's explicit size is kept.
    let (w, h) = (image.width(), image.height());
    let all_neural = first.1.modes.non_neural() == 0;
    if !all_neural && ts == crate::DEFAULT_TILE_SIZE && (w > ts || h > ts) {
        let modes = TileModes::only(
            &TileMode::ALL
                .into_iter()
                .filter(|m| *m != TileMode::Neural && options.modes.contains(*m))
                .collect::<Vec<_>>(),
        );
        if modes.is_complete() {
            // Progress was reported in full by the first pass; cancellation still applies.
            let quiet = Tracker {
                progress: None,
                cancel: options.cancel.as_ref(),
                done: 0.into(),
                total: 0,
            };
            let second = EncodeContext {
                tracker: &quiet,
                ..ctx
            }
            .code(LARGE_TILE, modes)?;
            if second.0.len() < first.0.len() {
                return Ok(second);
            }
        }
    }
    Ok(first)
}

/// Tile edge the encoder also tries (cheap modes only), with the default tile size, when
/// some tile is not neural.
const LARGE_TILE: u32 = 1024;

/// What every encoding pass of one image shares.
#[derive(Clone, Copy)]
struct EncodeContext<'a> {
    backend: &'a dyn Backend,
    image: &'a ImageRef<'a>,
    planes: &'a Planes,
    metadata: &'a Metadata,
    threads: usize,
    tracker: &'a Tracker<'a>,
}

impl EncodeContext<'_> {
    /// Codes the image in `ts`-pixel tiles with `modes`: the complete file and its stats.
    fn code(&self, ts: u32, modes_allowed: TileModes) -> Result<(Vec<u8>, EncodeStats)> {
        let (image, tracker) = (self.image, self.tracker);
        let color = image.color();
        let groups = &self.planes.groups;
        let metadata = self.metadata.clone();
        let (rects, coded) = map_tiles(image, ts, self.threads, &|| tracker.check(), |r, tile| {
            let coded = code_tile(self.backend, tile, groups, modes_allowed)?;
            tracker.advance(r.w * r.h);
            Ok(coded)
        })?;
        let mut modes = ModeCounts::default();
        for c in &coded {
            c.modes[..groups.len()].iter().for_each(|m| modes.add(*m));
        }
        let version = ContainerVersion::for_modes(
            coded
                .iter()
                .flat_map(|c| c.modes[..groups.len()].iter().copied()),
        );
        let neural_in = |g: usize| coded.iter().any(|c| c.modes[g] == TileMode::Neural);
        let streams: Vec<Vec<u8>> = coded
            .iter()
            .map(|c| {
                let payloads: Vec<&[u8]> = c.payloads[..groups.len()]
                    .iter()
                    .map(Vec::as_slice)
                    .collect();
                tilemode::write_tile(version, &c.modes[..groups.len()], &payloads, &c.ans)
            })
            .collect();
        let stats = EncodeStats {
            neural_pixels: coded
                .iter()
                .zip(&rects)
                .map(|(c, r)| {
                    let groups = c.modes[..groups.len()]
                        .iter()
                        .filter(|&&m| {
                            (m == TileMode::Neural && !c.ans.is_empty()) || m == TileMode::Context
                        })
                        .count();
                    (r.w * r.h * groups) as u64
                })
                .sum(),
            model_bits: coded.iter().map(|c| c.bits).sum(),
            stream_bytes: streams.iter().map(|s| s.len() as u64).sum(),
            symbols: coded.iter().map(|c| c.symbols).sum(),
            modes,
        };
        // Version 2 names a model only when some tile codes that group with it, so a file
        // without neural tiles decodes without any model.
        let hash = |g: usize| match groups.get(g) {
            Some(group) if version.names_every_model() || neural_in(g) => *group.model.hash(),
            _ => [0; 32],
        };
        let header = Header {
            version,
            color,
            width: image.width(),
            height: image.height(),
            tile_width: ts,
            tile_height: ts,
            alpha: self.planes.alpha,
            color_model: hash(0),
            alpha_model: hash(1),
            metadata,
            tiles: streams
                .iter()
                .map(|s| {
                    Ok(TileEntry {
                        offset: 0,
                        length: container::u32_field(s.len(), "a tile stream's length")?,
                        crc: 0,
                    })
                })
                .collect::<Result<_>>()?,
        };
        Ok((container::write(&header, &streams)?, stats))
    }
}

/// Largest tile edge the encoder accepts: a tile stream is at most 24 bits per sample
/// (every frequency is at least 1 in 2^24), so 16384^2 pixels of 4 samples stay below the
/// format's 4 GiB per stream.
pub const MAX_TILE_SIZE: u32 = 16384;

fn lookup(hash: &[u8; 32], extra: &[Arc<Model>], role: &'static str) -> Result<Arc<Model>> {
    model::find(hash, extra).ok_or_else(|| {
        ModelError::UnknownModel {
            hash: hex(hash),
            role,
        }
        .into()
    })
}

/// The model of a plane group: looked up by hash, except that a version-2 stream names no
/// model (all-zero hash) when no tile codes that group with the network.
fn group_model(
    header: &Header,
    hash: &[u8; 32],
    extra: &[Arc<Model>],
    role: &'static str,
    channels: usize,
) -> Result<Option<Arc<Model>>> {
    if !header.version.names_every_model() && *hash == [0; 32] {
        return Ok(None);
    }
    let m = lookup(hash, extra, role)?;
    check_channels(&m, channels)?;
    Ok(Some(m))
}

/// Channels of each plane group of a stream: colour, then alpha when coded.
fn group_channels(header: &Header) -> Vec<usize> {
    let cc = header.color.color_channels();
    if header.alpha == AlphaMode::Coded {
        vec![cc, 1]
    } else {
        vec![cc]
    }
}

const GROUP_NAMES: [&str; 2] = ["colour", "alpha"];

/// Tile `t`'s layout, with a format error naming the tile.
fn tile_layout<'a>(
    header: &Header,
    t: usize,
    bytes: &'a [u8],
    channels: &[usize],
) -> Result<TileLayout<'a>> {
    tilemode::parse_tile(bytes, channels, header.version).map_err(|e| tile_error(t as u32, e))
}

fn tile_error(tile: u32, e: TileError) -> Error {
    match e {
        TileError::UnknownMode(g, mode) => FormatError::UnknownTileMode {
            tile,
            group: GROUP_NAMES[g.min(1)],
            mode,
        },
        TileError::Corrupt(detail) => FormatError::CorruptTile { tile, detail },
    }
    .into()
}

/// Decodes a complete `.nlc` file.
pub fn decode(data: &[u8], options: &DecodeOptions) -> Result<Image> {
    let (header, tile_data) = container::parse(data, &options.limits)?;
    let color = header.color;
    let cc = color.color_channels();
    let model = group_model(&header, &header.color_model, &options.models, "colour", cc)?;
    let alpha_model = match header.alpha {
        AlphaMode::Coded => group_model(&header, &header.alpha_model, &options.models, "alpha", 1)?,
        _ => None,
    };
    let mut models: Vec<&Model> = model.iter().map(|m| &**m).collect();
    models.extend(alpha_model.as_deref());
    let backend = backend::select(
        options.device,
        u64::from(header.width) * u64::from(header.height),
        &models,
    )?;
    let backend = &*backend;
    let channels = group_channels(&header);
    let firsts = [0, cc];
    let stride = color.channels();
    let rects = tiles(
        header.width,
        header.height,
        header.tile_width,
        header.tile_height,
    );
    let tracker = Tracker {
        progress: options.progress.as_ref(),
        cancel: options.cancel.as_ref(),
        done: 0.into(),
        total: u64::from(header.width) * u64::from(header.height),
    };
    let corrupt = |tile: u32, e: StreamError| -> Error {
        FormatError::CorruptTile {
            tile,
            detail: match e {
                StreamError::TrailingZeroWord => "stream ends with a zero word",
                StreamError::NotExhausted => "final coder state is not the initial state",
            },
        }
        .into()
    };
    let row_bytes = header.width as usize * stride;
    // Checksums and tile layouts first: nothing is decoded from a damaged tile, and the
    // work bound is checked before the output is allocated.
    let mut jobs = Vec::with_capacity(rects.len());
    let mut trivial_tiles = Vec::new();
    let mut work = 0u64;
    for (t, (r, entry)) in rects.iter().zip(&header.tiles).enumerate() {
        let bytes = &tile_data[entry.offset as usize..][..entry.length as usize];
        let computed = crc32fast::hash(bytes);
        if computed != entry.crc {
            return Err(FormatError::TileChecksum {
                tile: t as u32,
                stored: entry.crc,
                computed,
            }
            .into());
        }
        let layout = tile_layout(&header, t, bytes, &channels)?;
        let mut neural = [false; 2];
        for (g, p) in layout.groups[..layout.n_groups].iter().enumerate() {
            if matches!(p, Payload::Neural) {
                let has_model = if g == 0 {
                    model.is_some()
                } else {
                    alpha_model.is_some()
                };
                if !has_model {
                    return Err(FormatError::CorruptTile {
                        tile: t as u32,
                        detail: "a neural plane group, but the header names no model for it",
                    }
                    .into());
                }
                // An empty stream is every symbol 0 (FORMAT.md section 5: with s = 0 and
                // no words, every pop finds F(0) = 0 <= 0 < F(1) and leaves s = 0),
                // whatever the model: the group is all zeros without running the network.
                neural[g] = !layout.ans.is_empty();
            }
        }
        let trivial = layout.groups[..layout.n_groups]
            .iter()
            .all(|p| matches!(p, Payload::Neural))
            && layout.ans.is_empty();
        if trivial {
            trivial_tiles.push(*r);
            continue;
        }
        // Context-coded groups count too: their worst case (every pixel an escape, as an
        // empty or hostile stream makes it) costs about half a neural pixel per pixel.
        let modelled = layout.groups[..layout.n_groups]
            .iter()
            .filter(|p| matches!(p, Payload::Context { .. }))
            .count();
        work += (r.w * r.h) as u64 * (neural.iter().filter(|&&n| n).count() + modelled) as u64;
        jobs.push(TileJob {
            index: t as u32,
            rect: *r,
            buf: Vec::new(),
            dec: StreamDecoder::new(layout.ans).map_err(|e| corrupt(t as u32, e))?,
            neural,
            payloads: layout.groups,
        });
    }
    options.limits.check_work(work)?;
    // The output is allocated once (limits were checked by `parse`) and zeroed; tiles are
    // decoded into small buffers group by group and copied in, so the peak is the image
    // plus the tiles in flight, not twice the image.
    let mut pixels = vec![0u8; row_bytes * header.height as usize];
    for r in &trivial_tiles {
        // All zeros (alpha too, unless constant): the output is already zero.
        if let AlphaMode::Constant(v) = header.alpha {
            alpha::fill(&mut pixels, row_bytes, r, stride, cc, v);
        }
        tracker.advance(r.w * r.h);
    }
    let out = Mutex::new(pixels);
    run_in_pool(options.threads, || {
        // One group of consecutive tiles per worker; each group batches its tiles'
        // wavefronts. The bytes decoded do not depend on the grouping.
        // At most 8 tiles per group keeps a step's batch (up to ~64 pixels per 256-wide
        // tile) and its activations in cache on large images.
        // Accelerators want large batches: a step of a 256-pixel tile has ~64 pixels, so
        // about preferred_batch / 64 tiles per group.
        let max_group = MAX_GROUP_TILES.max(backend.preferred_batch() / 64);
        let groups = rayon::current_num_threads().clamp(1, jobs.len().max(1));
        let per = if max_group > MAX_GROUP_TILES {
            max_group
        } else {
            jobs.len().div_ceil(groups).clamp(1, MAX_GROUP_TILES)
        };
        jobs.par_chunks_mut(per)
            .try_for_each(|group| -> Result<()> {
                tracker.check()?;
                for job in group.iter_mut() {
                    let (w, h) = (job.rect.w, job.rect.h);
                    job.buf = vec![0u8; w * h * stride];
                    // Non-neural groups first (the network of the other group, if any,
                    // reads only its own channels).
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
                if let Some(m) = &model {
                    decode_group(backend, m, group, stride, 0, 0, &tracker)?;
                }
                tracker.check()?;
                match (header.alpha, &alpha_model) {
                    (AlphaMode::Coded, Some(am)) => {
                        decode_group(backend, am, group, stride, cc, 1, &tracker)?
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
                    dec.finish().map_err(|e| corrupt(job.index, e))?;
                }
                let mut pixels = out.lock().unwrap_or_else(PoisonError::into_inner);
                for job in group.iter_mut() {
                    let (r, tile) = (&job.rect, std::mem::take(&mut job.buf));
                    for y in 0..r.h {
                        pixels[(r.y + y) * row_bytes + r.x * stride..][..r.w * stride]
                            .copy_from_slice(&tile[y * r.w * stride..][..r.w * stride]);
                    }
                }
                Ok(())
            })
    })??;
    let pixels = out.into_inner().unwrap_or_else(PoisonError::into_inner);
    Ok(Image {
        width: header.width,
        height: header.height,
        color,
        pixels,
        metadata: header.metadata,
    })
}

/// One tile as `info` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TileInfo {
    /// Left column of the tile in the image.
    pub x: u32,
    /// Top row of the tile in the image.
    pub y: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// How the colour planes are coded.
    pub color_mode: TileMode,
    /// How the alpha plane is coded, when alpha is coded per tile (`AlphaMode::Coded`).
    pub alpha_mode: Option<TileMode>,
    /// Bytes of the tile's data.
    pub bytes: u32,
}

/// Reads a stream's header (validated and checksummed) without decoding pixels.
pub fn info(data: &[u8], options: &DecodeOptions) -> Result<Info> {
    let (header, tile_data) = container::parse(data, &options.limits)?;
    let channels = group_channels(&header);
    let rects = tiles(
        header.width,
        header.height,
        header.tile_width,
        header.tile_height,
    );
    let mut tile_details = Vec::with_capacity(rects.len());
    for (t, (r, entry)) in rects.iter().zip(&header.tiles).enumerate() {
        let bytes = &tile_data[entry.offset as usize..][..entry.length as usize];
        let layout = tile_layout(&header, t, bytes, &channels)?;
        tile_details.push(TileInfo {
            x: r.x as u32,
            y: r.y as u32,
            width: r.w as u32,
            height: r.h as u32,
            color_mode: layout.groups[0].mode(),
            alpha_mode: (channels.len() > 1).then(|| layout.groups[1].mode()),
            bytes: entry.length,
        });
    }
    Ok(Info {
        version: header.version.byte(),
        tile_details,
        width: header.width,
        height: header.height,
        color: header.color,
        tile_width: header.tile_width,
        tile_height: header.tile_height,
        tiles: header.tiles.len(),
        model_hash: hex(&header.color_model),
        model_name: model::find(&header.color_model, &options.models).map(|m| m.name().to_string()),
        alpha: header.alpha,
        alpha_model_hash: (header.alpha == AlphaMode::Coded).then(|| hex(&header.alpha_model)),
        metadata: header.metadata,
        file_size: data.len(),
    })
}
