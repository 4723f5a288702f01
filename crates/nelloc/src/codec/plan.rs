//! The decoding plan: every tile's checksum and layout checked, and the work the stream
//! claims counted, before any output is allocated or any pixel decoded.

use super::engine::TileJob;
use crate::coder::{StreamDecoder, StreamError};
use crate::container::{AlphaMode, Header, TileEntry};
use crate::error::{Error, FormatError, Result};
use crate::schedule::{tiles, TileRect};
use crate::tilemode::{self, Payload, TileError, TileLayout};

/// What decoding a stream takes.
pub(super) struct Plan<'a> {
    /// Tiles with something to decode, in raster order.
    pub(super) jobs: Vec<TileJob<'a>>,
    /// Tiles that are all zeros (every group neural with an empty stream): nothing to run.
    pub(super) trivial: Vec<TileRect>,
    /// Pixels through the network or the context model, as `Limits::max_neural_pixels`
    /// counts them.
    pub(super) work: u64,
}

/// Plans the decoding of the tiles of `tile_data`; `has_model` says per plane group
/// (colour, alpha) whether the header names a model for it.
pub(super) fn plan<'a>(
    header: &Header,
    tile_data: &'a [u8],
    has_model: [bool; 2],
) -> Result<Plan<'a>> {
    let channels = group_channels(header);
    let rects = tiles(
        header.width,
        header.height,
        header.tile_width,
        header.tile_height,
    );
    let mut plan = Plan {
        jobs: Vec::with_capacity(rects.len()),
        trivial: Vec::new(),
        work: 0,
    };
    for (t, (r, entry)) in rects.iter().zip(&header.tiles).enumerate() {
        let bytes = tile_bytes(tile_data, t, entry)?;
        let layout = tile_layout(header, t, bytes, &channels)?;
        let groups = &layout.groups[..layout.n_groups];
        let mut neural = [false; 2];
        for (g, p) in groups.iter().enumerate() {
            if matches!(p, Payload::Neural) {
                if !has_model[g] {
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
        if groups.iter().all(|p| matches!(p, Payload::Neural)) && layout.ans.is_empty() {
            plan.trivial.push(*r);
            continue;
        }
        // Context-coded groups count too: their worst case (every pixel an escape, as an
        // empty or hostile stream makes it) costs about half a neural pixel per pixel.
        let modelled = groups
            .iter()
            .filter(|p| matches!(p, Payload::Context { .. }))
            .count();
        plan.work += (r.w * r.h) as u64 * (neural.iter().filter(|&&n| n).count() + modelled) as u64;
        plan.jobs.push(TileJob {
            index: t as u32,
            rect: *r,
            buf: Vec::new(),
            dec: StreamDecoder::new(layout.ans).map_err(|e| stream_error(t as u32, e))?,
            neural,
            payloads: layout.groups,
        });
    }
    Ok(plan)
}

/// A tile stream whose coder does not end where the format says it must.
pub(super) fn stream_error(tile: u32, e: StreamError) -> Error {
    FormatError::CorruptTile {
        tile,
        detail: match e {
            StreamError::TrailingZeroWord => "stream ends with a zero word",
            StreamError::NotExhausted => "final coder state is not the initial state",
        },
    }
    .into()
}

/// Channels of each plane group of a stream: colour, then alpha when coded.
pub(super) fn group_channels(header: &Header) -> Vec<usize> {
    let cc = header.color.color_channels();
    if header.alpha == AlphaMode::Coded {
        vec![cc, 1]
    } else {
        vec![cc]
    }
}

const GROUP_NAMES: [&str; 2] = ["colour", "alpha"];

/// The data of tile `t` (`entry` of the index `container::parse` checked against
/// `tile_data`), its CRC-32 checked.
pub(super) fn tile_bytes<'a>(tile_data: &'a [u8], t: usize, entry: &TileEntry) -> Result<&'a [u8]> {
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
    Ok(bytes)
}

/// Tile `t`'s layout, with a format error naming the tile.
pub(super) fn tile_layout<'a>(
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
