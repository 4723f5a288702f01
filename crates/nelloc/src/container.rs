//! The `.nlc` container: the tiled one of versions 1 to 4 here, the compact one of
//! version 5 in [`compact`] (docs/FORMAT.md is the normative description; versions 2 to 4
//! only add per-tile coding modes and adapted heads, sections 8 and 9, whose rule
//! [`ContainerVersion`] holds).
//!
//! Reading validates every length against the input size before allocating anything
//! sized by the input.

use crate::error::{FormatError, Result};
use crate::head_adapt::{self, HeadDelta};
use crate::image::{ColorType, Metadata};
use crate::limits::Limits;
use crate::tilemode::ContainerVersion;
use crate::FORMAT_VERSION;

pub(crate) mod compact;

/// The 8-byte signature: a high-bit byte (detects 7-bit channels), "NLC", CR LF
/// (detects line-ending conversion), ^Z (stops `type` on DOS), LF.
pub const MAGIC: [u8; 8] = [0x8B, b'N', b'L', b'C', 0x0D, 0x0A, 0x1A, 0x0A];

/// Size of the fixed part of the header (signature included).
pub(crate) const FIXED_LEN: usize = 100;
const TILE_ENTRY_LEN: u64 = 16;
const MAX_CHUNKS: u32 = 64;
const TAG_ICC: [u8; 4] = *b"ICCP";
const TAG_EXIF: [u8; 4] = *b"EXIF";
const TAG_XMP: [u8; 4] = *b"XMP ";
/// The embedded preview (section 10, `crate::preview`).
const TAG_PRVW: [u8; 4] = *b"PRVW";
/// An embedded model file (section 12, versions 6 and 7).
pub(crate) const TAG_MODL: [u8; 4] = *b"MODL";

/// How a stream stores the alpha channel, if any (`alpha_mode` in docs/FORMAT.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AlphaMode {
    /// The colour type has no alpha.
    None,
    /// Every alpha sample has this value; nothing is coded.
    Constant(u8),
    /// Alpha is coded per tile after the colour planes with the alpha model.
    Coded,
}

impl std::fmt::Display for AlphaMode {
    /// `none`, `constant N` or `coded`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AlphaMode::None => f.write_str("none"),
            AlphaMode::Constant(v) => write!(f, "constant {v}"),
            AlphaMode::Coded => f.write_str("coded"),
        }
    }
}

/// How a header names the model of a plane group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelRef {
    /// The SHA-256 of the model file; all zero names no model (versions 2 and later).
    Hash([u8; 32]),
    /// The first bytes of the SHA-256 (compact container, an external model: 8 bytes in
    /// kind 2, 4 in kind 4): resolved against the decoder's models. The array holds
    /// `len` bytes, zero-padded.
    Prefix([u8; compact::PREFIX_LEN], u8),
}

impl ModelRef {
    /// No model (the all-zero hash).
    pub(crate) const NONE: ModelRef = ModelRef::Hash([0; 32]);

    /// Whether this names no model.
    pub(crate) fn is_none(&self) -> bool {
        *self == Self::NONE
    }

    /// The bytes stored (hash or prefix), for messages and `info`.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            ModelRef::Hash(h) => h,
            ModelRef::Prefix(p, n) => &p[..usize::from(*n)],
        }
    }

    /// Whether the model with this SHA-256 is the one named.
    pub(crate) fn matches(&self, hash: &[u8; 32]) -> bool {
        !self.is_none() && hash.starts_with(self.bytes())
    }
}

/// A model file carried in the stream (`MODL` chunk, section 12): its bytes as on disk,
/// and their SHA-256.
#[derive(Clone)]
pub(crate) struct Embedded {
    pub(crate) hash: [u8; 32],
    pub(crate) bytes: std::sync::Arc<[u8]>,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("hash", &crate::model::hex(&self.hash))
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// One tile's stream in the tile data area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TileEntry {
    pub(crate) offset: u64,
    pub(crate) length: u32,
    pub(crate) crc: u32,
}

/// Everything before the tile data.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    /// What the tiles may hold (section 8).
    pub(crate) version: ContainerVersion,
    pub(crate) color: ColorType,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) tile_width: u32,
    pub(crate) tile_height: u32,
    pub(crate) alpha: AlphaMode,
    pub(crate) color_model: ModelRef,
    pub(crate) alpha_model: ModelRef,
    pub(crate) metadata: Metadata,
    /// Adapted heads (`ADPT` chunks, version 4), at most one per plane group, in group
    /// order.
    pub(crate) heads: Vec<HeadDelta>,
    /// The `PRVW` chunk's data, unparsed (section 10): the main decode never reads it.
    pub(crate) preview: Option<Vec<u8>>,
    /// Embedded model files (`MODL` chunks, versions 6 and 7), each named by the header,
    /// distinct, in file order; parsed only when looked up.
    pub(crate) embedded: Vec<Embedded>,
    pub(crate) tiles: Vec<TileEntry>,
}

impl Header {
    /// The adapted head of plane group `g` (0 colour, 1 alpha), if the stream has one.
    pub(crate) fn head(&self, g: usize) -> Option<&HeadDelta> {
        self.heads.iter().find(|h| usize::from(h.group) == g)
    }
}

/// Number of tiles for an image and tile size.
pub(crate) fn tile_count(width: u32, height: u32, tw: u32, th: u32) -> u64 {
    u64::from(width.div_ceil(tw)) * u64::from(height.div_ceil(th))
}

/// A length or count as the format's u32 field, or an error naming the field: the writer
/// never truncates a value silently.
pub(crate) fn u32_field(value: usize, what: &str) -> Result<u32> {
    u32::try_from(value).map_err(|_| {
        crate::Error::InvalidArgument(format!(
            "{what} is {value}, above the format's limit of {} (4 GiB - 1)",
            u32::MAX
        ))
    })
}

/// The chunks a header writes, in order: metadata, preview, adapted heads, embedded
/// models.
fn chunks(header: &Header) -> Vec<([u8; 4], Vec<u8>)> {
    debug_assert!(header.heads.is_empty() || header.version.has_adapted_heads());
    debug_assert!(header.embedded.is_empty() || header.version.has_embedded_models());
    [
        (TAG_ICC, &header.metadata.icc),
        (TAG_EXIF, &header.metadata.exif),
        (TAG_XMP, &header.metadata.xmp),
        (TAG_PRVW, &header.preview),
    ]
    .into_iter()
    .filter_map(|(tag, c)| c.as_ref().map(|c| (tag, c.clone())))
    .chain(header.heads.iter().map(|h| (head_adapt::TAG, h.to_chunk())))
    .chain(header.embedded.iter().map(|m| (TAG_MODL, m.bytes.to_vec())))
    .collect()
}

/// The full hash a tiled header stores (the encoder always has it; a prefix exists only
/// in a parsed compact header).
fn full_hash(m: &ModelRef) -> Result<[u8; 32]> {
    match m {
        ModelRef::Hash(h) => Ok(*h),
        ModelRef::Prefix(..) => Err(crate::Error::InvalidArgument(
            "a tiled header needs the model's full hash, not a prefix".into(),
        )),
    }
}

/// Serialises header and tile streams into a complete file (the compact container when
/// the header's version is 5).
pub(crate) fn write(header: &Header, streams: &[Vec<u8>]) -> Result<Vec<u8>> {
    debug_assert_eq!(header.tiles.len(), streams.len());
    if header.version.is_compact() {
        let [stream] = streams else {
            return Err(crate::Error::InvalidArgument(format!(
                "the compact container holds one tile, not {}",
                streams.len()
            )));
        };
        return compact::write(header, &chunks(header), stream);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.push(header.version.byte());
    out.push(header.color.code());
    let (mode, value) = match header.alpha {
        AlphaMode::None => (0, 0),
        AlphaMode::Constant(v) => (1, v),
        AlphaMode::Coded => (2, 0),
    };
    out.push(mode);
    out.push(value);
    for v in [
        header.width,
        header.height,
        header.tile_width,
        header.tile_height,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&full_hash(&header.color_model)?);
    out.extend_from_slice(&full_hash(&header.alpha_model)?);
    let chunks = chunks(header);
    out.extend_from_slice(&u32_field(chunks.len(), "the chunk count")?.to_le_bytes());
    out.extend_from_slice(&u32_field(streams.len(), "the tile count")?.to_le_bytes());
    debug_assert_eq!(out.len(), FIXED_LEN);
    for (tag, data) in chunks {
        out.extend_from_slice(&tag);
        out.extend_from_slice(&u32_field(data.len(), "a chunk's length")?.to_le_bytes());
        out.extend_from_slice(&data);
    }
    let mut offset = 0u64;
    for s in streams {
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&u32_field(s.len(), "a tile stream's length")?.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(s).to_le_bytes());
        offset += s.len() as u64;
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    for s in streams {
        out.extend_from_slice(s);
    }
    Ok(out)
}

/// A little-endian reader that reports truncation instead of panicking.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], FormatError> {
        let available = (self.data.len() - self.pos) as u64;
        if n > available {
            return Err(FormatError::Truncated {
                what,
                needed: n,
                available,
            });
        }
        let s = &self.data[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, FormatError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, FormatError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

/// Checks the signature alone (for format detection).
pub(crate) fn check_magic(data: &[u8]) -> Result<(), FormatError> {
    if data.len() >= MAGIC.len() && data[..MAGIC.len()] == MAGIC {
        return Ok(());
    }
    if data.len() < MAGIC.len() && MAGIC.starts_with(data) {
        return Err(FormatError::Truncated {
            what: "signature",
            needed: MAGIC.len() as u64,
            available: data.len() as u64,
        });
    }
    // "NLC" present but the surrounding bytes changed: a damaged transfer, not another format.
    if data.len() >= 4 && &data[1..4] == b"NLC" && (data[0] & 0x7F) == (MAGIC[0] & 0x7F) {
        return Err(FormatError::MangledMagic);
    }
    Err(FormatError::BadMagic)
}

pub(crate) fn invalid(field: &'static str, detail: String) -> crate::Error {
    FormatError::InvalidField { field, detail }.into()
}

/// Version 0 never existed (a damaged file); a higher one is a newer format.
pub(crate) fn check_version(version: u8) -> Result<ContainerVersion, FormatError> {
    match ContainerVersion::from_byte(version) {
        Some(v) => Ok(v),
        None if version == 0 => Err(FormatError::InvalidField {
            field: "version",
            detail: format!("0 (versions start at 1; this decoder reads 1 to {FORMAT_VERSION})"),
        }),
        None => Err(FormatError::UnsupportedVersion(version)),
    }
}

/// A version above this library's is refused as such as soon as its byte is there: a
/// newer layout need not have the fixed header of section 1 (the compact one of version 5
/// is shorter), so "truncated" would be the wrong message.
fn newer_version(data: &[u8]) -> Result<(), FormatError> {
    match data.get(MAGIC.len()) {
        Some(&v) if v > FORMAT_VERSION => Err(FormatError::UnsupportedVersion(v)),
        _ => Ok(()),
    }
}

pub(crate) fn color_field(code: u8) -> Result<ColorType> {
    ColorType::from_code(code).ok_or_else(|| {
        invalid(
            "color_type",
            format!("{code} (expected 1 Gray8, 2 GrayA8, 3 RGB8 or 4 RGBA8)"),
        )
    })
}

pub(crate) fn dimensions_field(width: u32, height: u32) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(invalid(
            "width/height",
            format!("{width}x{height} (must be at least 1x1)"),
        ));
    }
    Ok(())
}

/// The chunks of a header, in file order (FORMAT.md section 1, the same in versions 1
/// to 5): metadata, the preview and adapted heads, after their checks; unknown tags are
/// skipped.
pub(crate) fn read_chunks(
    chunks: Vec<([u8; 4], &[u8])>,
    version: ContainerVersion,
    alpha: AlphaMode,
    refs: [&ModelRef; 2],
    limits: &Limits,
) -> Result<Chunks> {
    let mut metadata = Metadata::default();
    let mut preview = None;
    let mut total_meta = 0u64;
    let mut heads: Vec<HeadDelta> = Vec::new();
    let mut embedded: Vec<Embedded> = Vec::new();
    for (tag, body) in chunks {
        // From version 6 on a model file (section 12): its own limit, not the metadata's;
        // hashed, and named by the header; before, an unknown tag.
        if tag == TAG_MODL && version.has_embedded_models() {
            limits.check_model(body.len() as u64)?;
            let hash: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(body).into();
            let name = crate::model::hex(&hash);
            if embedded.iter().any(|m| m.hash == hash) {
                return Err(invalid(
                    "MODL chunk",
                    format!("a second copy of model {name}"),
                ));
            }
            if !refs.iter().any(|r| r.matches(&hash)) {
                return Err(invalid(
                    "MODL chunk",
                    format!("model {name} is not the colour or alpha model the header names"),
                ));
            }
            embedded.push(Embedded {
                hash,
                bytes: body.into(),
            });
            continue;
        }
        // From version 4 on an adapted head changes decoding; before, the tag is unknown
        // and skipped, as the decoders of those versions did.
        if tag == head_adapt::TAG && version.has_adapted_heads() {
            let head = HeadDelta::from_chunk(body).map_err(|e| invalid("ADPT chunk", e.0))?;
            let g = head.group;
            if heads.iter().any(|h| h.group == g) {
                return Err(invalid(
                    "ADPT chunk",
                    format!("a second one for plane group {g}"),
                ));
            }
            if g == 1 && alpha != AlphaMode::Coded {
                return Err(invalid(
                    "ADPT chunk",
                    "for the alpha group, but alpha is not coded".into(),
                ));
            }
            heads.push(head);
            continue;
        }
        let slot = match tag {
            TAG_ICC => &mut metadata.icc,
            TAG_EXIF => &mut metadata.exif,
            TAG_XMP => &mut metadata.xmp,
            // Counted like metadata: it is held in memory with the header.
            TAG_PRVW => &mut preview,
            // Unknown chunks are ancillary: skipped, and not counted against the metadata
            // limit (FORMAT.md section 7 counts the known chunks only).
            _ => continue,
        };
        total_meta += body.len() as u64;
        if slot.is_some() {
            return Err(invalid(
                "metadata",
                format!("duplicate {} chunk", String::from_utf8_lossy(&tag)),
            ));
        }
        limits.check_metadata(total_meta)?;
        *slot = Some(body.to_vec());
    }
    Ok(Chunks {
        metadata,
        preview,
        heads,
        embedded,
    })
}

/// What [`read_chunks`] found.
pub(crate) struct Chunks {
    pub(crate) metadata: Metadata,
    pub(crate) preview: Option<Vec<u8>>,
    pub(crate) heads: Vec<HeadDelta>,
    pub(crate) embedded: Vec<Embedded>,
}

/// Whether the version byte names the compact container (5 or 6, section 11).
fn is_compact_byte(data: &[u8]) -> bool {
    data.get(MAGIC.len())
        .and_then(|&b| ContainerVersion::from_byte(b))
        .is_some_and(ContainerVersion::is_compact)
}

/// Bytes [`probe`] reads at most: the signature, version, colour type, alpha mode and
/// value, width and height (a compact stream, version 5, holds them in fewer).
pub const PROBE_BYTES: usize = 20;

/// The fixed fields at the start of a stream, as read by [`probe`]. Not yet verified by
/// the header checksum: [`crate::info`] validates the whole header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Probe {
    /// Container version.
    pub version: u8,
    /// Colour type of the decoded image.
    pub color: ColorType,
    /// Width in pixels (at least 1).
    pub width: u32,
    /// Height in pixels (at least 1).
    pub height: u32,
}

/// Format sniffing (image viewers, loaders): reads only the first [`PROBE_BYTES`] bytes.
/// Fails exactly as [`crate::decode`] and [`crate::info`] fail on these bytes: the same
/// signature checks (a prefix of the signature is [`FormatError::Truncated`]), the same
/// version rule, the same field rules; fewer than `PROBE_BYTES` bytes after a good
/// signature (in a compact stream: fewer than its fields take) are `Truncated` ("give me
/// more").
pub fn probe(data: &[u8]) -> Result<Probe> {
    check_magic(data)?;
    if is_compact_byte(data) {
        return compact::probe(data);
    }
    newer_version(data)?;
    if data.len() < PROBE_BYTES {
        return Err(FormatError::Truncated {
            what: "probed header fields",
            needed: PROBE_BYTES as u64,
            available: data.len() as u64,
        }
        .into());
    }
    check_version(data[8])?;
    let color = color_field(data[9])?;
    let le32 = |o: usize| u32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
    let (width, height) = (le32(12), le32(16));
    dimensions_field(width, height)?;
    Ok(Probe {
        version: data[8],
        color,
        width,
        height,
    })
}

/// Parses and validates the header; returns it with the tile data area.
pub(crate) fn parse<'a>(data: &'a [u8], limits: &Limits) -> Result<(Header, &'a [u8])> {
    limits.check_input(data.len() as u64)?;
    parse_prefix(data, limits, true)
}

/// Parses and validates the header from a prefix of a stream holding at least the
/// header: the tile index is checked for consistency (contiguous, no overflow) but not
/// against tile data, which may be absent. Returns the header and the size of the
/// complete stream the index describes.
pub(crate) fn parse_header(head: &[u8], limits: &Limits) -> Result<(Header, u64)> {
    let (header, tile_data) = parse_prefix(head, limits, false)?;
    let data_start = (head.len() - tile_data.len()) as u64;
    let tiles: u64 = header.tiles.iter().map(|t| u64::from(t.length)).sum();
    let size = data_start.saturating_add(tiles);
    limits.check_input(size)?;
    Ok((header, size))
}

/// `parse` (`whole`: `data` is the complete stream) or `parse_header`.
fn parse_prefix<'a>(data: &'a [u8], limits: &Limits, whole: bool) -> Result<(Header, &'a [u8])> {
    check_magic(data)?;
    if is_compact_byte(data) {
        return compact::parse(data, limits, whole);
    }
    newer_version(data)?;
    let mut r = Reader { data, pos: 0 };
    r.take(MAGIC.len() as u64, "signature")?;
    let fixed = r.take((FIXED_LEN - MAGIC.len()) as u64, "fixed header")?;
    let version = check_version(fixed[0])?;
    let le32 = |o: usize| u32::from_le_bytes([fixed[o], fixed[o + 1], fixed[o + 2], fixed[o + 3]]);
    let (color_code, mode, alpha_value) = (fixed[1], fixed[2], fixed[3]);
    let (width, height, tile_width, tile_height) = (le32(4), le32(8), le32(12), le32(16));
    let mut color_hash = [0u8; 32];
    color_hash.copy_from_slice(&fixed[20..52]);
    let mut alpha_hash = [0u8; 32];
    alpha_hash.copy_from_slice(&fixed[52..84]);
    let (color_model, alpha_model) = (ModelRef::Hash(color_hash), ModelRef::Hash(alpha_hash));
    let n_chunks = le32(84);
    let n_tiles = le32(88);

    // Structure first (bounded by the input length), then the checksum, then meaning.
    if n_chunks > MAX_CHUNKS {
        return Err(invalid(
            "chunk_count",
            format!("{n_chunks} (at most {MAX_CHUNKS})"),
        ));
    }
    let mut chunks = Vec::new();
    for _ in 0..n_chunks {
        let tag = r.take(4, "metadata chunk tag")?;
        let len = r.u32("metadata chunk length")?;
        let body = r.take(u64::from(len), "metadata chunk")?;
        chunks.push(([tag[0], tag[1], tag[2], tag[3]], body));
    }
    let index_len = u64::from(n_tiles) * TILE_ENTRY_LEN;
    let index = r.take(index_len, "tile index")?;
    let header_end = r.pos;
    let stored = r.u32("header checksum")?;
    let computed = crc32fast::hash(&data[..header_end]);
    if stored != computed {
        return Err(FormatError::HeaderChecksum { stored, computed }.into());
    }

    let color = color_field(color_code)?;
    dimensions_field(width, height)?;
    limits.check_dimensions(width, height)?;
    if tile_width == 0 || tile_height == 0 {
        return Err(invalid(
            "tile_width/tile_height",
            format!("{tile_width}x{tile_height} (must be at least 1x1)"),
        ));
    }
    // No encoder writes larger tiles (a tile stream must stay below 2^32 bytes), so a
    // larger one is damage or a hostile file: refused before any tile is looked at.
    let max_tile = crate::MAX_TILE_SIZE;
    if tile_width > max_tile || tile_height > max_tile {
        return Err(invalid(
            "tile_width/tile_height",
            format!("{tile_width}x{tile_height} (at most {max_tile}x{max_tile})"),
        ));
    }
    let alpha = match (mode, color.has_alpha()) {
        (0, false) if alpha_value == 0 => AlphaMode::None,
        (1, true) => AlphaMode::Constant(alpha_value),
        (2, true) if alpha_value == 0 => AlphaMode::Coded,
        _ => {
            return Err(invalid(
                "alpha_mode",
                format!("mode {mode} value {alpha_value} for {color} (expected 0 without alpha, 1 or 2 with)"),
            ))
        }
    };
    if alpha != AlphaMode::Coded && !alpha_model.is_none() {
        return Err(invalid(
            "alpha_model",
            "must be zero when alpha is not coded".into(),
        ));
    }
    limits.check_output(u64::from(width) * u64::from(height) * color.channels() as u64)?;
    let expected_tiles = tile_count(width, height, tile_width, tile_height);
    if u64::from(n_tiles) != expected_tiles {
        return Err(invalid(
            "tile_count",
            format!("{n_tiles}, but a {width}x{height} image in {tile_width}x{tile_height} tiles has {expected_tiles}"),
        ));
    }

    let Chunks {
        metadata,
        preview,
        heads,
        embedded,
    } = read_chunks(chunks, version, alpha, [&color_model, &alpha_model], limits)?;

    let tile_data = &data[header_end + 4..];
    // Without the tile data only the index's own consistency is checked.
    let data_len = if whole {
        tile_data.len() as u64
    } else {
        u64::MAX
    };
    let mut tiles = Vec::with_capacity(n_tiles as usize);
    let mut expected_offset = 0u64;
    for (t, e) in index.chunks_exact(TILE_ENTRY_LEN as usize).enumerate() {
        let mut er = Reader { data: e, pos: 0 };
        let offset = er.u64("tile offset")?;
        let length = er.u32("tile length")?;
        let crc = er.u32("tile crc")?;
        let end = offset.checked_add(u64::from(length));
        if offset == expected_offset && end.is_some_and(|end| end > data_len) {
            return Err(FormatError::Truncated {
                what: "tile data",
                needed: offset + u64::from(length),
                available: data_len,
            }
            .into());
        }
        if offset != expected_offset || end.is_none() {
            return Err(FormatError::TileOutOfBounds {
                tile: t as u32,
                offset,
                length,
                expected_offset,
                data_len,
            }
            .into());
        }
        // Version 1: the tile is one ANS stream of 32-bit words. Version 2: at least the
        // mode byte(s); the word rule applies to the neural part (section 8).
        if !version.has_mode_bytes() && length % 4 != 0 {
            return Err(FormatError::CorruptTile {
                tile: t as u32,
                detail: "stream length is not a whole number of 32-bit words",
            }
            .into());
        }
        if version.has_mode_bytes() && length == 0 {
            return Err(FormatError::CorruptTile {
                tile: t as u32,
                detail: "a version-2 tile has no mode byte",
            }
            .into());
        }
        expected_offset += u64::from(length);
        tiles.push(TileEntry {
            offset,
            length,
            crc,
        });
    }
    if whole && expected_offset != data_len {
        return Err(FormatError::TrailingData(data_len - expected_offset).into());
    }
    Ok((
        Header {
            version,
            color,
            width,
            height,
            tile_width,
            tile_height,
            alpha,
            color_model,
            alpha_model,
            metadata,
            heads,
            preview,
            embedded,
            tiles,
        },
        tile_data,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1x1 Gray8 file (one empty tile stream) whose chunks are `chunks`, in that order.
    pub(crate) fn file_with_chunks(chunks: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
        let header = Header {
            version: ContainerVersion::V1,
            color: ColorType::Gray8,
            width: 1,
            height: 1,
            tile_width: 1,
            tile_height: 1,
            alpha: AlphaMode::None,
            color_model: ModelRef::Hash([7; 32]),
            alpha_model: ModelRef::NONE,
            metadata: Metadata::default(),
            heads: Vec::new(),
            preview: None,
            embedded: Vec::new(),
            tiles: vec![TileEntry {
                offset: 0,
                length: 0,
                crc: 0,
            }],
        };
        let plain = write(&header, &[Vec::new()]).unwrap();
        let mut out = plain[..FIXED_LEN].to_vec();
        out[92..96].copy_from_slice(&(chunks.len() as u32).to_le_bytes());
        for (tag, body) in chunks {
            out.extend_from_slice(tag);
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(body);
        }
        out.extend_from_slice(&plain[FIXED_LEN..FIXED_LEN + 16]);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    #[test]
    fn a_duplicate_preview_is_an_error_and_it_counts_as_metadata() {
        let prvw = (TAG_PRVW, vec![0u8; 60]);
        let file = file_with_chunks(std::slice::from_ref(&prvw));
        let (header, _) = parse(&file, &Limits::default()).unwrap();
        assert_eq!(header.preview.as_deref(), Some(&[0u8; 60][..]));
        let file = file_with_chunks(&[prvw.clone(), (*b"zzZZ", vec![]), prvw.clone()]);
        let e = parse(&file, &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("duplicate PRVW"), "{e}");
        let limits = Limits {
            max_metadata_bytes: 100,
            ..Limits::default()
        };
        let file = file_with_chunks(&[prvw, (TAG_XMP, vec![1u8; 41])]);
        assert!(matches!(
            parse(&file, &limits),
            Err(crate::Error::Limits(crate::LimitError::Metadata {
                bytes: 101,
                ..
            }))
        ));
    }

    #[test]
    fn lengths_are_never_truncated_to_u32() {
        assert_eq!(u32_field(u32::MAX as usize, "x").unwrap(), u32::MAX);
        let e = u32_field(1 << 32, "a tile stream's length").unwrap_err();
        assert!(
            e.to_string()
                .contains("a tile stream's length is 4294967296"),
            "{e}"
        );
    }

    #[test]
    fn unknown_chunks_do_not_count_against_the_metadata_limit_in_any_order() {
        let limits = Limits {
            max_metadata_bytes: 100,
            ..Limits::default()
        };
        let unknown = (*b"zzZZ", vec![1u8; 200]);
        let icc = (TAG_ICC, vec![9u8; 1]);
        for chunks in [
            vec![unknown.clone(), icc.clone()],
            vec![icc.clone(), unknown.clone()],
        ] {
            let file = file_with_chunks(&chunks);
            let (header, _) = parse(&file, &limits).expect("within the limit");
            assert_eq!(header.metadata.icc.as_deref(), Some(&[9u8][..]));
        }
        // Known chunks still count, whatever surrounds them.
        let big = (TAG_EXIF, vec![0u8; 101]);
        for chunks in [vec![unknown.clone(), big.clone()], vec![big, unknown]] {
            let file = file_with_chunks(&chunks);
            assert!(matches!(
                parse(&file, &limits),
                Err(crate::Error::Limits(crate::LimitError::Metadata {
                    bytes: 101,
                    ..
                }))
            ));
        }
    }
}
