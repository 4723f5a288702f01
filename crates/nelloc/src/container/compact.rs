//! The compact container, version 5 (docs/FORMAT.md section 11): one tile, coded as in
//! version 4, behind a header of a few bytes (flags, varint sizes, short model
//! references), with one CRC-32 over the whole file. For small images, where the tiled
//! header of section 1 (about 120 bytes) would cost more than the pixels.

use super::{
    check_version, color_field, dimensions_field, invalid, read_chunks, AlphaMode, Chunks, Header,
    ModelRef, Probe, Reader, TileEntry, MAGIC, MAX_CHUNKS,
};
use crate::error::{FormatError, Result};
use crate::limits::Limits;
use crate::model::builtin;
use crate::tilemode::ContainerVersion;

/// Bytes of a model's SHA-256 that a prefix reference (kind 2) stores.
pub(crate) const PREFIX_LEN: usize = 8;
/// Bytes of a model's SHA-256 that a short prefix reference (kind 4, version 6) stores.
pub(crate) const SHORT_PREFIX_LEN: usize = 4;

/// The largest side: the image is one tile, and tiles are at most this large (section 1).
const MAX_SIDE: u32 = crate::MAX_TILE_SIZE;

// Flags byte: colour type, alpha mode, chunks present; the top two bits are reserved.
const COLOR_MASK: u8 = 0b0000_0111;
const ALPHA_SHIFT: u32 = 3;
const ALPHA_MASK: u8 = 0b0001_1000;
const HAS_CHUNKS: u8 = 0b0010_0000;
const RESERVED: u8 = 0b1100_0000;

// Model reference kinds.
const REF_NONE: u8 = 0;
const REF_BUILTIN: u8 = 1;
const REF_PREFIX: u8 = 2;
const REF_HASH: u8 = 3;
const REF_SHORT: u8 = 4;

/// A varint is at most 5 bytes (35 bits): every field it codes is below 2^32.
const MAX_VARINT_BYTES: usize = 5;

/// Bytes before the header fields (signature, version) and after the tile (CRC).
const LEAD: usize = MAGIC.len() + 1;
const CRC_LEN: usize = 4;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Writes a model reference: kind 0 for none, 1 for a built-in model; in version 6 kind 3
/// for an embedded model (its chunk carries the file: the full hash costs 28 bytes more
/// than the model, and checks it exactly) and kind 4 for an external one; kind 2 in
/// version 5; the next longer kind where a built-in model shares the prefix.
fn put_model_ref(out: &mut Vec<u8>, m: &ModelRef, version: ContainerVersion, embedded: bool) {
    match m {
        ModelRef::Hash(h) if *h == [0; 32] => out.push(REF_NONE),
        ModelRef::Hash(h) => match builtin::index_of(h) {
            Some(i) => {
                out.push(REF_BUILTIN);
                put_varint(out, i);
            }
            None if embedded => {
                out.push(REF_HASH);
                out.extend_from_slice(h);
            }
            None if version.has_short_refs() && !builtin::shares_prefix(&h[..SHORT_PREFIX_LEN]) => {
                out.push(REF_SHORT);
                out.extend_from_slice(&h[..SHORT_PREFIX_LEN]);
            }
            // A prefix a built-in model shares would be ambiguous to every decoder: the
            // full hash instead (never seen in practice: 64 bits).
            None if builtin::shares_prefix(&h[..PREFIX_LEN]) => {
                out.push(REF_HASH);
                out.extend_from_slice(h);
            }
            None => {
                out.push(REF_PREFIX);
                out.extend_from_slice(&h[..PREFIX_LEN]);
            }
        },
        ModelRef::Prefix(p, n) => {
            let n = usize::from(*n);
            out.push(if n == SHORT_PREFIX_LEN {
                REF_SHORT
            } else {
                REF_PREFIX
            });
            out.extend_from_slice(&p[..n]);
        }
    }
}

/// Serialises a one-tile header, its chunks and the tile's bytes.
pub(crate) fn write(
    header: &Header,
    chunks: &[([u8; 4], Vec<u8>)],
    tile: &[u8],
) -> Result<Vec<u8>> {
    if header.width > MAX_SIDE || header.height > MAX_SIDE {
        return Err(crate::Error::InvalidArgument(format!(
            "a {}x{} image is larger than one tile of the compact container",
            header.width, header.height
        )));
    }
    let mut out = Vec::with_capacity(LEAD + 16 + tile.len() + CRC_LEN);
    out.extend_from_slice(&MAGIC);
    out.push(header.version.byte());
    let (mode, value) = match header.alpha {
        AlphaMode::None => (0, None),
        AlphaMode::Constant(v) => (1, Some(v)),
        AlphaMode::Coded => (2, None),
    };
    let chunk_flag = if chunks.is_empty() { 0 } else { HAS_CHUNKS };
    out.push(header.color.code() | (mode << ALPHA_SHIFT) | chunk_flag);
    out.extend(value);
    put_varint(&mut out, u64::from(header.width - 1));
    put_varint(&mut out, u64::from(header.height - 1));
    let embedded = |m: &ModelRef| header.embedded.iter().any(|e| m.matches(&e.hash));
    let (cm, am) = (&header.color_model, &header.alpha_model);
    put_model_ref(&mut out, cm, header.version, embedded(cm));
    if header.alpha == AlphaMode::Coded {
        put_model_ref(&mut out, am, header.version, embedded(am));
    }
    if !chunks.is_empty() {
        put_varint(&mut out, chunks.len() as u64);
        for (tag, data) in chunks {
            out.extend_from_slice(tag);
            put_varint(
                &mut out,
                u64::from(super::u32_field(data.len(), "a chunk's length")?),
            );
            out.extend_from_slice(data);
        }
    }
    out.extend_from_slice(tile);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// The compact header's fields, read from the bytes between the version and the CRC
/// with the tiled header's reader (running out of them is truncation).
impl Reader<'_> {
    fn byte(&mut self, what: &'static str) -> Result<u8, FormatError> {
        Ok(self.take(1, what)?[0])
    }

    /// An unsigned LEB128 varint of at most `max`, in its shortest form.
    fn varint(&mut self, what: &'static str, max: u64) -> Result<u64> {
        let mut v = 0u64;
        for i in 0..MAX_VARINT_BYTES {
            let b = self.byte(what)?;
            v |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                // A final zero group after the first byte adds nothing: another encoding of
                // a shorter varint. One encoding per value keeps the format canonical.
                if b == 0 && i > 0 {
                    return Err(invalid(what, "a varint not in its shortest form".into()));
                }
                if v > max {
                    return Err(invalid(what, format!("{v} (at most {max})")));
                }
                return Ok(v);
            }
        }
        Err(invalid(
            what,
            format!("a varint longer than {MAX_VARINT_BYTES} bytes"),
        ))
    }

    fn side(&mut self, what: &'static str) -> Result<u32> {
        // The stored value is the side minus 1: every side is at least 1.
        Ok(self.varint(what, u64::from(MAX_SIDE - 1))? as u32 + 1)
    }

    fn model_ref(
        &mut self,
        what: &'static str,
        role: &'static str,
        version: ContainerVersion,
    ) -> Result<ModelRef> {
        match self.byte(what)? {
            REF_NONE => Ok(ModelRef::NONE),
            REF_BUILTIN => {
                let i = self.varint(what, u64::from(u32::MAX))?;
                builtin::hash_at(i).map(ModelRef::Hash).ok_or_else(|| {
                    crate::error::ModelError::UnknownBuiltin { index: i, role }.into()
                })
            }
            REF_PREFIX => {
                let mut p = [0u8; PREFIX_LEN];
                p.copy_from_slice(self.take(PREFIX_LEN as u64, what)?);
                Ok(ModelRef::Prefix(p, PREFIX_LEN as u8))
            }
            REF_SHORT if version.has_short_refs() => {
                let mut p = [0u8; PREFIX_LEN];
                p[..SHORT_PREFIX_LEN].copy_from_slice(self.take(SHORT_PREFIX_LEN as u64, what)?);
                Ok(ModelRef::Prefix(p, SHORT_PREFIX_LEN as u8))
            }
            REF_HASH => {
                let mut h = [0u8; 32];
                h.copy_from_slice(self.take(32, what)?);
                if h == [0; 32] {
                    return Err(invalid(
                        what,
                        "an all-zero hash (no model is kind 0)".into(),
                    ));
                }
                Ok(ModelRef::Hash(h))
            }
            k => Err(invalid(
                what,
                format!(
                    "unknown model reference kind {k} (expected 0 to {} in version {})",
                    if version.has_short_refs() { 4 } else { 3 },
                    version.byte()
                ),
            )),
        }
    }
}

/// The flags byte: colour type and alpha mode, checked, and whether chunks follow.
fn flags(b: u8) -> Result<(crate::image::ColorType, u8, bool)> {
    if b & RESERVED != 0 {
        return Err(invalid(
            "flags",
            format!("{b:#04x}: reserved bits 6 and 7 set"),
        ));
    }
    let color = color_field(b & COLOR_MASK)?;
    let mode = (b & ALPHA_MASK) >> ALPHA_SHIFT;
    if !matches!((mode, color.has_alpha()), (0, false) | (1 | 2, true)) {
        return Err(invalid(
            "alpha_mode",
            format!("mode {mode} for {color} (expected 0 without alpha, 1 or 2 with)"),
        ));
    }
    Ok((color, mode, b & HAS_CHUNKS != 0))
}

/// [`super::probe`] of a compact stream: the fields up to the height, from as few bytes
/// as they take.
pub(crate) fn probe(data: &[u8]) -> Result<Probe> {
    let mut f = Reader {
        data: &data[..data.len().min(super::PROBE_BYTES)],
        pos: LEAD,
    };
    let (color, mode, _) = flags(f.byte("flags")?)?;
    if mode == 1 {
        f.byte("alpha_value")?;
    }
    let width = f.side("width")?;
    let height = f.side("height")?;
    dimensions_field(width, height)?;
    Ok(Probe {
        version: data[MAGIC.len()],
        color,
        width,
        height,
    })
}

/// Parses and validates a compact stream (`whole`: `data` is all of it; else a prefix
/// that is complete only if its last 4 bytes are the CRC of the rest). Returns the header,
/// as one tile of the image's size, and the tile's bytes.
pub(crate) fn parse<'a>(
    data: &'a [u8],
    limits: &Limits,
    whole: bool,
) -> Result<(Header, &'a [u8])> {
    let version = check_version(data[MAGIC.len()])?;
    debug_assert!(version.is_compact());
    if data.len() < LEAD + 1 + CRC_LEN {
        return Err(FormatError::Truncated {
            what: "compact header",
            needed: (LEAD + 1 + CRC_LEN) as u64,
            available: data.len() as u64,
        }
        .into());
    }
    // The checksum first: it covers every byte, so nothing below reads damaged data.
    let (body, crc) = data.split_at(data.len() - CRC_LEN);
    let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let computed = crc32fast::hash(body);
    if stored != computed {
        if !whole {
            // A prefix of a longer stream: its end is not the CRC yet.
            return Err(FormatError::Truncated {
                what: "compact stream (its CRC is its last 4 bytes)",
                needed: data.len() as u64 + 1,
                available: data.len() as u64,
            }
            .into());
        }
        return Err(FormatError::FileChecksum { stored, computed }.into());
    }
    let mut f = Reader {
        data: body,
        pos: LEAD,
    };
    let (color, mode, has_chunks) = flags(f.byte("flags")?)?;
    let alpha = match mode {
        0 => AlphaMode::None,
        1 => AlphaMode::Constant(f.byte("alpha_value")?),
        _ => AlphaMode::Coded,
    };
    let width = f.side("width")?;
    let height = f.side("height")?;
    limits.check_dimensions(width, height)?;
    limits.check_output(u64::from(width) * u64::from(height) * color.channels() as u64)?;
    let color_model = f.model_ref("colour model", "colour", version)?;
    let alpha_model = if alpha == AlphaMode::Coded {
        f.model_ref("alpha model", "alpha", version)?
    } else {
        ModelRef::NONE
    };
    let mut chunks = Vec::new();
    if has_chunks {
        let n = f.varint("chunk_count", u64::from(MAX_CHUNKS))?;
        if n == 0 {
            return Err(invalid(
                "chunk_count",
                "0 with the has-chunks flag set (the flag says there are some)".into(),
            ));
        }
        for _ in 0..n {
            let tag = f.take(4, "metadata chunk tag")?;
            let len = f.varint("metadata chunk length", u64::from(u32::MAX))?;
            let body = f.take(len, "metadata chunk")?;
            chunks.push(([tag[0], tag[1], tag[2], tag[3]], body));
        }
    }
    let Chunks {
        metadata,
        preview,
        heads,
        embedded,
    } = read_chunks(chunks, version, alpha, [&color_model, &alpha_model], limits)?;
    let tile = &body[f.pos..];
    // At least the mode byte(s); the tile layout checks the rest (section 8).
    if tile.is_empty() {
        return Err(FormatError::CorruptTile {
            tile: 0,
            detail: "a compact stream has no tile bytes (no mode byte)",
        }
        .into());
    }
    let length = u32::try_from(tile.len()).map_err(|_| FormatError::CorruptTile {
        tile: 0,
        detail: "a tile of 2^32 bytes or more",
    })?;
    Ok((
        Header {
            version,
            color,
            width,
            height,
            tile_width: width,
            tile_height: height,
            alpha,
            color_model,
            alpha_model,
            metadata,
            heads,
            preview,
            embedded,
            // The file CRC covered the tile; the per-tile check downstream then holds.
            tiles: vec![TileEntry {
                offset: 0,
                length,
                crc: crc32fast::hash(tile),
            }],
        },
        tile,
    ))
}
