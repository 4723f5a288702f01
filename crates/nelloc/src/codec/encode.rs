//! Encoding: per tile and plane group the cheap modes against the network, the smallest
//! wins; then the container version the modes need, the header and the tile streams.

use super::engine::{plane_intervals, sample_heads};
use super::planes::{map_tiles, PlaneGroup, Planes};
use super::pool::run_in_pool;
use super::{Tracker, MAX_TILE_SIZE};
use crate::backend::Backend;
use crate::coder::encode_intervals;
use crate::container::{self, Embedded, Header, ModelRef, TileEntry};
use crate::error::{Error, Result};
use crate::head_adapt::fit::{self, Samples};
use crate::head_adapt::HeadDelta;
use crate::image::{ImageRef, Metadata};
use crate::model::builtin;
use crate::options::EncodeOptions;
use crate::schedule::TileBuf;
use crate::tilemode::{self, ContainerVersion, ModeCounts, TileMode, TileModes};

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

/// Codes one tile: per plane group the cheap modes without a deflate search first (the
/// direct context trial pauses once it cannot be near zero), then the network unless one
/// of them is already near zero, then the paused trial (which stops where it is well
/// above the network) and the deflate modes that can still win (below the network and
/// `budget`, bytes); the smallest wins. `early_exit` off (tests) runs every trial to the
/// end.
fn code_tile(
    backend: &dyn Backend,
    tile: &TileBuf<'_>,
    groups: &[PlaneGroup],
    heads: &[Option<HeadDelta>],
    modes: TileModes,
    budget: Option<f64>,
    early_exit: bool,
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
        let plane: Option<Vec<u8>> = (modes != TileModes::only(&[TileMode::Neural])).then(|| {
            if stride == c {
                data.to_vec()
            } else {
                data.chunks_exact(stride)
                    .flat_map(|p| p[first..first + c].iter().copied())
                    .collect()
            }
        });
        let near_zero = |t: &tilemode::CheapTrials<'_>| {
            t.best_size()
                .is_some_and(|n| (n + 1) as f64 * 8.0 <= NEAR_ZERO_BPSP * samples as f64)
        };
        // The direct context trial pauses once it is clearly above the near-zero size.
        let pause = (early_exit && modes.contains(TileMode::Neural))
            .then(|| (NEAR_ZERO_BPSP * samples as f64 / 8.0) as usize);
        let mut cheap_trials = plane
            .as_deref()
            .map(|p| tilemode::CheapTrials::new(p, tile.w, tile.h, c, modes, pause));
        // The modes without a deflate search first: when one is near zero, the network
        // is not tried; otherwise its size bounds the trials that follow.
        let mut neural = None;
        if modes.contains(TileMode::Neural) && !cheap_trials.as_ref().is_some_and(near_zero) {
            let mut iv = Vec::with_capacity(samples);
            let mut rows = Vec::new();
            let want_rows = cheap_trials.as_ref().is_some_and(|t| t.paused());
            let head = heads.get(g).and_then(Option::as_ref);
            plane_intervals(
                backend,
                &group.model,
                head,
                tile,
                first,
                &mut iv,
                want_rows.then_some(&mut rows),
            )?;
            let bits: f64 = iv
                .iter()
                .map(|&(_, f)| f64::from(crate::mixture::PRECISION) - f64::from(f).log2())
                .sum();
            neural = Some((iv, bits, tilemode::NeuralRows { prefix: rows }));
        }
        if let Some(t) = cheap_trials.as_mut() {
            t.resume_direct(neural.as_ref().map(|n| &n.2));
            // Completed, the paused trial may be near zero after all: then, as when every
            // trial runs first, the network is not used.
            if near_zero(t) {
                neural = None;
            }
        }
        let neural_cost = neural
            .as_ref()
            .map(|(_, bits, _)| bits / 8.0 + NEURAL_OVERHEAD);
        // Deflate trials need not beat the caller's budget either (what is above it is
        // thrown away); only the network's size may drop a cheap winner in `finish`.
        let bound = [neural_cost, budget].into_iter().flatten().reduce(f64::min);
        let cheap = cheap_trials.and_then(|mut t| {
            t.deflate_trials(bound, neural_cost.filter(|_| early_exit));
            t.finish(neural_cost)
        });
        let cheap_cost = cheap.as_ref().map(|(_, p)| (p.len() + 1) as f64);
        if let (Some((iv, bits, _)), Some(cost)) = (neural, neural_cost) {
            if cheap_cost.is_none_or(|b| cost < b) {
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
    encode_within(image, options, None)
}

/// [`encode_with_stats`] for a caller that discards any file above `budget` bytes (the
/// preview): deflate trials that cannot come under it are skipped. The file is the same
/// whenever it is within the budget.
pub(crate) fn encode_within(
    image: ImageRef<'_>,
    options: &EncodeOptions,
    budget: Option<usize>,
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
    let tracker = Tracker::new(options.progress.as_ref(), options.cancel.as_ref(), total);
    let heads = if options.modes.contains(TileMode::Neural) {
        fit_heads(&*backend, &image, &planes, options, &tracker)?
    } else {
        Vec::new()
    };
    let ctx = EncodeContext {
        backend: &*backend,
        image: &image,
        planes: &planes,
        heads: &heads,
        metadata: &metadata,
        threads: options.threads,
        tracker: &tracker,
        budget: budget.map(|b| b as f64),
        compact: options.compact,
        embed: options.embed_models,
        short_refs: options.short_model_refs,
        early_exit: early_exits_enabled(),
    };
    if options.embed_models {
        // Never write a stream that a decoder with these limits refuses (section 12).
        for group in &planes.groups {
            if builtin::index_of(group.model.hash()).is_none() {
                options.limits.check_model(group.model.file_size() as u64)?;
            }
        }
    }
    let coded = encode_passes(&ctx, options)?;
    // The preview last: the encoder weighs its cost against the file (section 10). It is
    // optional, so it is left out rather than failing when it would take the metadata
    // past the limit.
    let room = options
        .limits
        .max_metadata_bytes
        .saturating_sub(metadata_bytes);
    let preview = crate::preview::encode_chunk(&image, options, coded.bytes.len())?
        .filter(|p| p.len() as u64 <= room);
    let (bytes, stats) = match preview {
        Some(p) => {
            let mut header = coded.header;
            header.preview = Some(p);
            (container::write(&header, &coded.streams)?, coded.stats)
        }
        None => (coded.bytes, coded.stats),
    };
    // Checked on the file chosen (its work is known only once coded), so the encoder never
    // returns a file a decoder with these limits refuses.
    options.limits.check_work(stats.neural_pixels)?;
    Ok((bytes, stats))
}

/// What [`experiment_heads`] returns.
#[cfg(feature = "experiments")]
pub(crate) type ExperimentHeads = (std::sync::Arc<dyn Backend>, Planes, Vec<Option<HeadDelta>>);

/// The backend, plane groups and adapted heads (fitted exactly as [`encode`] fits them)
/// for `image` under `options`: what the online-adaptation experiment codes on top of.
#[cfg(feature = "experiments")]
pub(crate) fn experiment_heads(
    image: &ImageRef<'_>,
    options: &EncodeOptions,
) -> Result<ExperimentHeads> {
    let planes = Planes::resolve(image, options.model.as_ref(), options.alpha_model.as_ref())?;
    let total = u64::from(image.width()) * u64::from(image.height());
    let backend = planes.backend(options.device, total)?;
    let tracker = Tracker::new(None, None, total);
    let heads = fit_heads(&*backend, image, &planes, options, &tracker)?;
    Ok((backend, planes, heads))
}

/// Whether the trials' early exits are on: always, except on a test's thread that turns
/// them off to compare.
#[cfg(not(test))]
fn early_exits_enabled() -> bool {
    true
}

#[cfg(test)]
thread_local! {
    pub(crate) static NO_EARLY_EXIT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn early_exits_enabled() -> bool {
    !NO_EARLY_EXIT.with(std::cell::Cell::get)
}

/// Per plane group, the adapted head fitted to `image` in the tiles of the first pass
/// (`None` where it does not pay or the options say off).
fn fit_heads(
    backend: &dyn Backend,
    image: &ImageRef<'_>,
    planes: &Planes,
    options: &EncodeOptions,
    tracker: &Tracker<'_>,
) -> Result<Vec<Option<HeadDelta>>> {
    let pixels = u64::from(image.width()) * u64::from(image.height());
    if !fit::worth_sampling(pixels, options.adapt_head) {
        return Ok(vec![None; planes.groups.len()]);
    }
    let step = fit::sample_step(pixels);
    let mut heads = Vec::new();
    for (g, group) in planes.groups.iter().enumerate() {
        let (rects, parts) = map_tiles(
            image,
            options.tile_size,
            options.threads,
            &|| tracker.check(),
            |r, tile| {
                sample_heads(
                    backend,
                    &group.model,
                    tile,
                    (r.x, r.y),
                    group.first,
                    |x, y| fit::is_sampled(x, y, step),
                )
            },
        )?;
        debug_assert_eq!(rects.len(), parts.len());
        let mut samples = Samples::for_arch(group.model.arch());
        parts.into_iter().for_each(|p| samples.append(p));
        let policy = options.adapt_head;
        heads.push(run_in_pool(options.threads, || {
            fit::fit(&samples, g, pixels, policy)
        })?);
    }
    Ok(heads)
}

/// The first pass in the requested tile size and, when it helps, the large-tile pass.
fn encode_passes(ctx: &EncodeContext<'_>, options: &EncodeOptions) -> Result<Coded> {
    let (image, ctx) = (ctx.image, *ctx);
    let first = ctx.code(options.tile_size, options.modes)?;
    let ts = options.tile_size;
    // When some tile is not neural, deflate may gain from larger tiles (matches across
    // tile edges, fewer zlib streams): the cheap modes alone are fast enough to try once
    // more. Only with the default tile size: a caller's explicit size is kept.
    let (w, h) = (image.width(), image.height());
    let all_neural = first.stats.modes.non_neural() == 0;
    if !all_neural && ts == crate::DEFAULT_TILE_SIZE && (w > ts || h > ts) {
        let modes = TileModes::only(
            &TileMode::ALL
                .into_iter()
                .filter(|m| *m != TileMode::Neural && options.modes.contains(*m))
                .collect::<Vec<_>>(),
        );
        if modes.is_complete() {
            // Progress was reported in full by the first pass; cancellation still applies.
            let quiet = Tracker::new(None, options.cancel.as_ref(), 0);
            let second = EncodeContext {
                tracker: &quiet,
                ..ctx
            }
            .code(LARGE_TILE, modes)?;
            if second.bytes.len() < first.bytes.len() {
                return Ok(second);
            }
        }
    }
    Ok(first)
}

/// Tile edge the encoder also tries (cheap modes only), with the default tile size, when
/// some tile is not neural.
const LARGE_TILE: u32 = 1024;

/// A coded image: the file without a preview, and the header and tile streams it was
/// written from (to write it again with one).
struct Coded {
    bytes: Vec<u8>,
    stats: EncodeStats,
    header: Header,
    streams: Vec<Vec<u8>>,
}

/// What every encoding pass of one image shares.
#[derive(Clone, Copy)]
struct EncodeContext<'a> {
    backend: &'a dyn Backend,
    image: &'a ImageRef<'a>,
    planes: &'a Planes,
    /// Per plane group, its adapted head (neural modes only).
    heads: &'a [Option<HeadDelta>],
    metadata: &'a Metadata,
    threads: usize,
    tracker: &'a Tracker<'a>,
    /// Bytes above which the caller discards the file (see [`encode_within`]).
    budget: Option<f64>,
    /// Write a one-tile image in the compact container (`EncodeOptions::compact`).
    compact: bool,
    /// Embed the external models the stream names (`EncodeOptions::embed_models`).
    embed: bool,
    /// Name external models by 4 bytes in a compact stream
    /// (`EncodeOptions::short_model_refs`).
    short_refs: bool,
    /// Trials stop early where they cannot win (off only in tests, to compare).
    early_exit: bool,
}

impl EncodeContext<'_> {
    /// Codes the image in `ts`-pixel tiles with `modes`: the complete file and its stats.
    fn code(&self, ts: u32, modes_allowed: TileModes) -> Result<Coded> {
        let (image, tracker) = (self.image, self.tracker);
        let color = image.color();
        let groups = &self.planes.groups;
        let metadata = self.metadata.clone();
        let (rects, coded) = map_tiles(image, ts, self.threads, &|| tracker.check(), |r, tile| {
            let coded = code_tile(
                self.backend,
                tile,
                groups,
                self.heads,
                modes_allowed,
                self.budget,
                self.early_exit,
            )?;
            tracker.advance(r.w * r.h);
            Ok(coded)
        })?;
        let mut modes = ModeCounts::default();
        for c in &coded {
            c.modes[..groups.len()].iter().for_each(|m| modes.add(*m));
        }
        let neural_in = |g: usize| coded.iter().any(|c| c.modes[g] == TileMode::Neural);
        // An adapted head is written only for a group some tile codes with the network.
        let heads: Vec<HeadDelta> = self
            .heads
            .iter()
            .enumerate()
            .filter(|&(g, _)| neural_in(g))
            .filter_map(|(_, h)| h.clone())
            .collect();
        let version = ContainerVersion::for_file(
            coded
                .iter()
                .flat_map(|c| c.modes[..groups.len()].iter().copied()),
            !heads.is_empty(),
        );
        // The models the header names (a version-2 file names one only where some tile
        // codes that group with it) and those of them that are not built in.
        let named = |g: usize| match groups.get(g) {
            Some(group) if version.names_every_model() || neural_in(g) => Some(&group.model),
            _ => None,
        };
        let mut embedded: Vec<Embedded> = Vec::new();
        let mut external = false;
        for m in (0..2).filter_map(named) {
            if builtin::index_of(m.hash()).is_some() {
                continue;
            }
            external = true;
            if self.embed && !embedded.iter().any(|e| e.hash == *m.hash()) {
                embedded.push(Embedded {
                    hash: *m.hash(),
                    bytes: m.file_bytes().into(),
                });
            }
        }
        // One tile: the compact container (section 11), whose tiles are version-4 tiles,
        // is always smaller (a mode byte more in the tile, about 100 bytes less header);
        // version 6 when it embeds a model or names one by 4 bytes (section 12). Several
        // tiles: version 7 when they embed a model.
        let version = if self.compact && coded.len() == 1 {
            if !embedded.is_empty() || (external && self.short_refs) {
                ContainerVersion::V6
            } else {
                ContainerVersion::V5
            }
        } else if !embedded.is_empty() {
            ContainerVersion::V7
        } else {
            version
        };
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
            color_model: ModelRef::Hash(hash(0)),
            alpha_model: ModelRef::Hash(hash(1)),
            metadata,
            heads,
            preview: None,
            embedded,
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
        Ok(Coded {
            bytes: container::write(&header, &streams)?,
            stats,
            header,
            streams,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{ColorType, Image};

    /// One block's value: content that suits each mode in turn (smooth noise for the
    /// network, flat, a few colours, a gradient, repeated grey and colour noise for
    /// deflate, many-colour noise).
    fn block_value(kind: u32, x: u32, y: u32, c: usize, seed: u32) -> u8 {
        let h = |a: u32| {
            let mut v = a.wrapping_mul(0x9E37_79B1) ^ seed.wrapping_mul(0x85EB_CA6B);
            v ^= v >> 15;
            v = v.wrapping_mul(0x2C1B_3C6D);
            v ^ (v >> 12)
        };
        let c32 = c as u32;
        match kind % 8 {
            // Smooth with a little noise: what the network codes best.
            0 => ((x * 3 + y * 2 + c32 * 40) / 4 + h(x * 7919 + y * 104_729 + c32) % 9) as u8,
            1 => [200, 30, 90, 255][c % 4],
            2 => [[10, 200, 30, 255], [240, 240, 240, 128]][((x / 3 + y / 5) % 2) as usize][c % 4],
            3 => ((x + 2 * y) / 3 + c32 * 20) as u8,
            // Grey noise repeated every 19 pixels (every colour channel equal): deflate.
            4 => {
                if c < 3 {
                    h((x % 19) * 31 + y % 3) as u8
                } else {
                    255
                }
            }
            // Noise repeated every 23 pixels: deflate's matches.
            5 => h((x % 23) * 31 + y % 5 + c32 * 1000) as u8,
            6 => [
                [0, 0, 0, 255],
                [255, 0, 0, 255],
                [0, 0, 255, 60],
                [255, 255, 0, 255],
            ][(h(x / 2 * 13 + y / 2 * 71) % 4) as usize][c % 4],
            _ => h(x * 131 + y * 7 + c32 * 99_991) as u8,
        }
    }

    fn blocks(w: u32, h: u32, color: ColorType, tile: u32, seed: u32) -> Image {
        let ch = color.channels();
        let tx = w.div_ceil(tile);
        let mut px = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let b = (y / tile) * tx + x / tile;
                for c in 0..ch {
                    let kind = if c == 3 { b + 3 } else { b };
                    px.push(block_value(kind + seed, x, y, c, seed));
                }
            }
        }
        Image::new(w, h, color, px).unwrap()
    }

    fn encode_both(image: &Image, options: &EncodeOptions) -> (Vec<u8>, ModeCounts) {
        let (on, stats) = encode_with_stats(image.as_ref(), options).unwrap();
        NO_EARLY_EXIT.with(|f| f.set(true));
        let off = encode_with_stats(image.as_ref(), options).map(|r| r.0);
        NO_EARLY_EXIT.with(|f| f.set(false));
        assert!(off.unwrap() == on, "early exits changed the stream");
        (on, stats.modes)
    }

    #[test]
    fn early_exits_never_change_a_stream() {
        let mut seen = ModeCounts::default();
        let fast = builtin::builtin_by_name("fast").unwrap();
        for (color, tile) in [
            (ColorType::Rgb8, 32u32),
            (ColorType::Rgba8, 32),
            (ColorType::Gray8, 48),
            (ColorType::Rgb8, 64),
        ] {
            for seed in 0..3 {
                let image = blocks(256, 160, color, tile, seed);
                let mut options = EncodeOptions {
                    tile_size: tile,
                    ..EncodeOptions::default()
                };
                let (_, modes) = encode_both(&image, &options);
                for m in TileMode::ALL {
                    (0..modes.get(m)).for_each(|_| seen.add(m));
                }
                if color == ColorType::Rgb8 {
                    options.model = Some(fast.clone());
                    encode_both(&image, &options);
                }
            }
        }
        // Photographs: where the direct context trial stops early.
        for name in ["boats_128x128.png", "bark_64x96.png", "wood_gray_64x64.png"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/photos")
                .join(name);
            let photo = image::open(&path).unwrap();
            let (w, h) = (photo.width(), photo.height());
            let image = match photo {
                image::DynamicImage::ImageLuma8(b) => {
                    Image::new(w, h, ColorType::Gray8, b.into_raw())
                }
                other => Image::new(w, h, ColorType::Rgb8, other.to_rgb8().into_raw()),
            }
            .unwrap();
            for tile in [32, 64] {
                let mut options = EncodeOptions {
                    tile_size: tile,
                    ..EncodeOptions::default()
                };
                encode_both(&image, &options);
                if image.color() == ColorType::Rgb8 {
                    options.model = Some(fast.clone());
                    encode_both(&image, &options);
                }
            }
        }
        for m in TileMode::ALL {
            assert!(seen.get(m) > 0, "no tile was coded in {m:?}: {seen:?}");
        }
        // The direct context trial was left out somewhere (the exits were exercised).
        assert!(tilemode::ABANDONED.load(std::sync::atomic::Ordering::Relaxed) > 0);
    }
}
