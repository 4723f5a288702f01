//! `info`: a stream's header and every tile's coding modes, without decoding pixels.

use super::plan::{group_channels, tile_bytes, tile_layout};
use crate::container::{self, AlphaMode, ModelRef};
use crate::error::Result;
use crate::image::{ColorType, Metadata};
use crate::model::hex;
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
    /// Hex SHA-256 of the colour model (all zero: none). A compact stream (version 5)
    /// names an external model by the first 8 bytes of its hash: the full hash when this
    /// decoder has the model, else those 8 bytes (16 hex digits); version 6 by 4 bytes
    /// (8 hex digits).
    pub model_hash: String,
    /// Name of the colour model, if this decoder has it.
    pub model_name: Option<String>,
    /// How alpha is stored (its `Display` gives `none`, `constant N` or `coded`).
    pub alpha: AlphaMode,
    /// Hex SHA-256 of the alpha model, when alpha is coded (as `model_hash`).
    pub alpha_model_hash: Option<String>,
    /// Hex SHA-256 of each model file embedded in the stream (`MODL` chunks, versions 6
    /// and 7), in file order.
    pub embedded_models: Vec<String>,
    /// Metadata stored with the image.
    pub metadata: Metadata,
    /// Total file size in bytes.
    pub file_size: usize,
    /// Container version (1: every tile neural; 2: per-tile modes; 3: with context mode;
    /// 4: with an adapted head; 5: the compact container of a one-tile image; 6: the
    /// compact container with an embedded model or a 4-byte model reference; 7: the tiled
    /// container with an embedded model).
    pub version: u8,
    /// Plane groups with an adapted head (container version 4): `[colour, alpha]`.
    pub adapted_heads: [bool; 2],
    /// Every tile, in raster order, with its coding modes and size.
    pub tile_details: Vec<TileInfo>,
    /// Width and height of the embedded preview (`PRVW` chunk, docs/FORMAT.md section
    /// 10), validated but not decoded; `None` without one ([`crate::decode_preview`] then
    /// decodes the full image).
    pub preview: Option<(u32, u32)>,
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

/// Reads a stream's header without decoding pixels, and checks the stream's integrity:
/// the header validated and checksummed, the tile index against the data, and every
/// tile's CRC-32 (a pass over the bytes, far cheaper than decoding): a stream that passes
/// is complete and undamaged as written.
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
        let bytes = tile_bytes(tile_data, t, entry)?;
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
    summary(header, tile_details, data.len(), options)
}

/// The header of a stream from its first bytes: the whole stream, or any prefix holding
/// the header (a partly downloaded file), validated and checksummed as [`info`] does it,
/// without the tile data (neither read nor checked). `tile_details` is empty, and
/// `file_size` is the size of the complete stream as its tile index gives it. Fewer bytes
/// than the header are [`crate::FormatError::Truncated`]. A compact stream (version 5,
/// docs/FORMAT.md section 11) has no tile index and one CRC over the whole file: only the
/// complete stream passes, any shorter prefix is `Truncated`.
pub fn info_header(head: &[u8], options: &DecodeOptions) -> Result<Info> {
    let (header, size) = container::parse_header(head, &options.limits)?;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    summary(header, Vec::new(), size, options)
}

fn summary(
    header: container::Header,
    tile_details: Vec<TileInfo>,
    file_size: usize,
    options: &DecodeOptions,
) -> Result<Info> {
    let preview = crate::preview::check_chunk(&header, &options.limits)?.map(|(_, w, h)| (w, h));
    Ok(Info {
        preview,
        version: header.version.byte(),
        adapted_heads: [header.head(0).is_some(), header.head(1).is_some()],
        tile_details,
        width: header.width,
        height: header.height,
        color: header.color,
        tile_width: header.tile_width,
        tile_height: header.tile_height,
        tiles: header.tiles.len(),
        model_hash: model_hex(&header.color_model, &header, options),
        model_name: super::decode::lookup(&header.color_model, &header, options, "colour")
            .ok()
            .map(|m| m.name().to_string()),
        alpha: header.alpha,
        alpha_model_hash: (header.alpha == AlphaMode::Coded)
            .then(|| model_hex(&header.alpha_model, &header, options)),
        embedded_models: header.embedded.iter().map(|e| hex(&e.hash)).collect(),
        metadata: header.metadata,
        file_size,
    })
}

/// A model reference in hex: the full hash, also for a prefix this decoder resolves.
fn model_hex(m: &ModelRef, header: &container::Header, options: &DecodeOptions) -> String {
    match m {
        ModelRef::Hash(h) => hex(h),
        ModelRef::Prefix(..) => super::decode::lookup(m, header, options, "")
            .map(|found| found.hash_hex())
            .unwrap_or_else(|_| hex(m.bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, FormatError};
    use crate::image::ImageRef;
    use crate::options::EncodeOptions;

    fn stream() -> Vec<u8> {
        let pixels: Vec<u8> = (0..40 * 24 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let image = ImageRef::new(40, 24, ColorType::Rgb8, &pixels).unwrap();
        let o = EncodeOptions {
            tile_size: 16,
            ..Default::default()
        };
        crate::encode(image, &o).unwrap()
    }

    #[test]
    fn info_checks_every_tile_crc() {
        let mut data = stream();
        let d = DecodeOptions::default();
        assert_eq!(info(&data, &d).unwrap().tiles, 6);
        let last = data.len() - 1;
        data[last] ^= 0x10;
        assert!(
            matches!(
                info(&data, &d),
                Err(Error::Format(FormatError::TileChecksum { tile: 5, .. }))
            ),
            "a damaged tile passed info"
        );
    }

    #[test]
    fn info_header_reads_a_partial_stream() {
        let data = stream();
        let d = DecodeOptions::default();
        let full = info(&data, &d).unwrap();
        let part = &data[..data.len() - 5];
        assert!(matches!(
            info(part, &d),
            Err(Error::Format(FormatError::Truncated { .. }))
        ));
        for head in [part, &data[..]] {
            let i = info_header(head, &d).unwrap();
            assert_eq!((i.width, i.height, i.tiles), (40, 24, 6));
            assert_eq!(
                (i.file_size, i.model_hash.as_str()),
                (data.len(), full.model_hash.as_str())
            );
            assert!(i.tile_details.is_empty());
        }
        assert!(matches!(
            info_header(&data[..100], &d),
            Err(Error::Format(FormatError::Truncated { .. }))
        ));
    }
}
