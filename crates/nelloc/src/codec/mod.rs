//! Public encode / decode / info: tiles in parallel, each an independent ANS stream.
//! Orchestration lives here (options, limits, tiles, streams, output); `engine` runs the
//! network over tiles (the backend seam), `alpha` holds the alpha policy and `pool` the
//! worker pools.

mod alpha;
mod engine;
mod pool;

use engine::{decode_group, plane_intervals, TileJob, MAX_GROUP_TILES};
use pool::run_in_pool;

use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;

use crate::coder::{encode_intervals, StreamDecoder, StreamError};
use crate::container::{self, AlphaMode, Header, TileEntry};
use crate::error::{Error, FormatError, ModelError, Result};
use crate::image::{ColorType, Image, ImageRef, Metadata};
use crate::model::{self, hex, Model};
use crate::options::{Cancel, DecodeOptions, EncodeOptions};
use crate::schedule::{tiles, TileBuf, TileRect};

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

fn check_channels(model: &Model, needed: usize) -> Result<()> {
    if model.arch().channels as usize != needed {
        return Err(ModelError::ChannelMismatch {
            name: model.name().to_string(),
            model: model.arch().channels,
            needed: needed as u32,
        }
        .into());
    }
    Ok(())
}

fn builtin_for(channels: usize) -> Result<Arc<Model>> {
    model::default_for_channels(channels)
        .ok_or_else(|| Error::Unsupported(format!("no built-in model for {channels} channel(s)")))
}

fn copy_tile(image: &ImageRef<'_>, r: &TileRect) -> Vec<u8> {
    let ch = image.color().channels();
    let stride = image.width() as usize * ch;
    let mut buf = Vec::with_capacity(r.w * r.h * ch);
    for y in r.y..r.y + r.h {
        buf.extend_from_slice(&image.pixels()[y * stride + r.x * ch..][..r.w * ch]);
    }
    buf
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
    let color = image.color();
    let cc = color.color_channels();
    let model = match &options.model {
        Some(m) => m.clone(),
        None => builtin_for(cc)?,
    };
    check_channels(&model, cc)?;
    let alpha = alpha::choose(&image);
    let alpha_model = match alpha {
        AlphaMode::Coded => {
            let m = match &options.alpha_model {
                Some(m) => m.clone(),
                None => builtin_for(1)?,
            };
            check_channels(&m, 1)?;
            Some(m)
        }
        _ => None,
    };
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
    let ts = options.tile_size;
    let rects = tiles(image.width(), image.height(), ts, ts);
    if rects.len() > u32::MAX as usize {
        return Err(Error::InvalidArgument(
            "too many tiles; use a larger tile size".into(),
        ));
    }
    let tracker = Tracker {
        progress: options.progress.as_ref(),
        cancel: options.cancel.as_ref(),
        done: 0.into(),
        total: u64::from(image.width()) * u64::from(image.height()),
    };
    let coded: Vec<(Vec<u8>, f64, u64)> = run_in_pool(options.threads, || {
        rects
            .par_iter()
            .map(|r| {
                tracker.check()?;
                let data = copy_tile(&image, r);
                let tile = TileBuf {
                    data: &data,
                    w: r.w,
                    h: r.h,
                    stride: color.channels(),
                };
                let mut intervals = Vec::with_capacity(r.w * r.h * color.channels());
                plane_intervals(&model, &tile, 0, &mut intervals);
                if let Some(am) = &alpha_model {
                    plane_intervals(am, &tile, cc, &mut intervals);
                }
                let bits: f64 = intervals
                    .iter()
                    .map(|&(_, f)| f64::from(crate::mixture::PRECISION) - f64::from(f).log2())
                    .sum();
                let stream = encode_intervals(&intervals);
                tracker.advance(r.w * r.h);
                Ok((stream, bits, intervals.len() as u64))
            })
            .collect::<Result<_>>()
    })??;
    let stats = EncodeStats {
        model_bits: coded.iter().map(|c| c.1).sum(),
        stream_bytes: coded.iter().map(|c| c.0.len() as u64).sum(),
        symbols: coded.iter().map(|c| c.2).sum(),
    };
    let streams: Vec<Vec<u8>> = coded.into_iter().map(|c| c.0).collect();
    let header = Header {
        color,
        width: image.width(),
        height: image.height(),
        tile_width: ts,
        tile_height: ts,
        alpha,
        color_model: *model.hash(),
        alpha_model: alpha_model.as_ref().map_or([0; 32], |m| *m.hash()),
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

/// Decodes a complete `.nlc` file.
pub fn decode(data: &[u8], options: &DecodeOptions) -> Result<Image> {
    let (header, tile_data) = container::parse(data, &options.limits)?;
    let color = header.color;
    let cc = color.color_channels();
    let model = lookup(&header.color_model, &options.models, "colour")?;
    check_channels(&model, cc)?;
    let alpha_model = match header.alpha {
        AlphaMode::Coded => {
            let m = lookup(&header.alpha_model, &options.models, "alpha")?;
            check_channels(&m, 1)?;
            Some(m)
        }
        _ => None,
    };
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
    // The output is allocated once (limits were checked by `parse`) and zeroed; tiles are
    // decoded into small buffers group by group and copied in, so the peak is the image
    // plus the tiles in flight, not twice the image.
    let row_bytes = header.width as usize * stride;
    let mut pixels = vec![0u8; row_bytes * header.height as usize];
    // Checksums first: nothing is decoded from a damaged tile.
    let mut jobs = Vec::with_capacity(rects.len());
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
        if bytes.is_empty() {
            // An empty stream is every symbol 0 (FORMAT.md section 5: with s = 0 and no
            // words, every pop finds F(0) = 0 <= 0 < F(1) and leaves s = 0), whatever the
            // model: the tile is all zeros (alpha too, unless constant) without running
            // the network. The output is already zero.
            if let AlphaMode::Constant(v) = header.alpha {
                alpha::fill(&mut pixels, row_bytes, r, stride, cc, v);
            }
            tracker.advance(r.w * r.h);
            continue;
        }
        jobs.push(TileJob {
            index: t as u32,
            rect: *r,
            buf: Vec::new(),
            dec: StreamDecoder::new(bytes).map_err(|e| corrupt(t as u32, e))?,
        });
    }
    let out = Mutex::new(pixels);
    run_in_pool(options.threads, || {
        // One group of consecutive tiles per worker; each group batches its tiles'
        // wavefronts. The bytes decoded do not depend on the grouping.
        // At most 8 tiles per group keeps a step's batch (up to ~64 pixels per 256-wide
        // tile) and its activations in cache on large images.
        let groups = rayon::current_num_threads().clamp(1, jobs.len().max(1));
        let per = jobs.len().div_ceil(groups).clamp(1, MAX_GROUP_TILES);
        jobs.par_chunks_mut(per)
            .try_for_each(|group| -> Result<()> {
                tracker.check()?;
                for job in group.iter_mut() {
                    job.buf = vec![0u8; job.rect.w * job.rect.h * stride];
                }
                decode_group(&model, group, stride, 0, &tracker);
                tracker.check()?;
                match (header.alpha, &alpha_model) {
                    (AlphaMode::Coded, Some(am)) => decode_group(am, group, stride, cc, &tracker),
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

/// Reads a stream's header (validated and checksummed) without decoding pixels.
pub fn info(data: &[u8], options: &DecodeOptions) -> Result<Info> {
    let (header, _) = container::parse(data, &options.limits)?;
    Ok(Info {
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
