//! `info`: a stream's header and every tile's coding modes, without decoding pixels.

use super::plan::{group_channels, tile_layout};
use crate::container::{self, AlphaMode};
use crate::error::Result;
use crate::image::{ColorType, Metadata};
use crate::model::{self, hex};
use crate::options::DecodeOptions;
use crate::schedule::tiles;
use crate::tilemode::TileMode;

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
