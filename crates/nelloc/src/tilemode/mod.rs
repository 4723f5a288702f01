//! Per-tile coding modes (docs/FORMAT.md section 8): the public mode names and sets, the
//! container-version-2/3 tile layout, and the non-neural payloads (constant, PNG-style
//! filtered rows with zlib, palette, context-coded palette indices in [`context`]).
//! Decoding bounds every inflated size by the tile size before inflating and reports
//! damage as an error, never a panic.

mod context;
#[cfg(feature = "unstable-internals")]
pub(crate) use context::{bits as context_bits, Alphabet as ContextAlphabet};

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// How one plane group (colour, or alpha) of one tile is coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TileMode {
    /// The NeLLoC network and the ANS coder (the only mode of container version 1).
    Neural,
    /// One value per channel for the whole tile; no other payload.
    Constant,
    /// Rows with PNG filters (chosen per row by the encoder), deflated as a zlib stream.
    Png,
    /// At most 256 distinct values: a palette plus PNG-style filtered, deflated indices
    /// packed at 1, 2, 4 or 8 bits.
    Palette,
    /// Colour planes whose channels are all equal (grey content in an RGB image): one
    /// channel, coded as `Png`, copied to every channel.
    Gray,
    /// Pixels coded with an adaptive context model and the ANS coder (container version
    /// 3): predictions from hashed neighbourhoods and repeats of neighbours, then a palette
    /// index (at most 256 values) or the channel values themselves.
    Context,
}

impl TileMode {
    /// Every mode, in the order of their codes.
    pub const ALL: [TileMode; 6] = [
        TileMode::Neural,
        TileMode::Constant,
        TileMode::Png,
        TileMode::Palette,
        TileMode::Gray,
        TileMode::Context,
    ];

    /// The mode byte of docs/FORMAT.md section 8.
    pub(crate) fn code(self) -> u8 {
        match self {
            TileMode::Neural => 0,
            TileMode::Constant => 1,
            TileMode::Png => 2,
            TileMode::Palette => 3,
            TileMode::Gray => 4,
            TileMode::Context => 5,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        TileMode::ALL.get(usize::from(code)).copied()
    }

    /// The name used by `nlc` (`neural`, `constant`, `png`, `palette`, `gray`, `context`).
    pub fn name(self) -> &'static str {
        match self {
            TileMode::Neural => "neural",
            TileMode::Constant => "constant",
            TileMode::Png => "png",
            TileMode::Palette => "palette",
            TileMode::Gray => "gray",
            TileMode::Context => "context",
        }
    }
}

impl fmt::Display for TileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TileMode {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        TileMode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                crate::Error::InvalidArgument(format!(
                    "unknown tile mode {s:?} (expected neural, constant, png, palette, gray or context)"
                ))
            })
    }
}

/// A set of tile modes the encoder may use ([`crate::EncodeOptions::modes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileModes(u8);

impl Default for TileModes {
    /// Every mode.
    fn default() -> Self {
        TileModes::all()
    }
}

impl TileModes {
    /// Every mode: the encoder keeps the smallest per tile and plane group.
    pub fn all() -> Self {
        TileModes(0b11_1111)
    }
    /// Exactly these modes. `only(&[TileMode::Neural])` is pure NeLLoC and writes container
    /// version 1, readable by the first release.
    pub fn only(modes: &[TileMode]) -> Self {
        TileModes(modes.iter().fold(0, |a, m| a | 1 << m.code()))
    }
    /// Whether `mode` is in the set.
    pub fn contains(self, mode: TileMode) -> bool {
        self.0 & (1 << mode.code()) != 0
    }
    /// Whether every tile can be coded: the set holds `neural`, `png` or `context` (the
    /// modes that code any content).
    pub(crate) fn is_complete(self) -> bool {
        self.contains(TileMode::Neural)
            || self.contains(TileMode::Png)
            || self.contains(TileMode::Context)
    }
}

impl FromStr for TileModes {
    type Err = crate::Error;
    /// A comma-separated list of mode names, e.g. `neural,png`; `all` for every mode.
    fn from_str(s: &str) -> crate::Result<Self> {
        if s.trim() == "all" {
            return Ok(TileModes::all());
        }
        let modes = s
            .split(',')
            .map(|m| m.trim().parse())
            .collect::<crate::Result<Vec<TileMode>>>()?;
        Ok(TileModes::only(&modes))
    }
}

impl fmt::Display for TileModes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = TileMode::ALL
            .into_iter()
            .filter(|m| self.contains(*m))
            .map(TileMode::name)
            .collect();
        f.write_str(&names.join(","))
    }
}

/// How many plane groups of tiles were coded in each mode (one tile of an image with
/// coded alpha counts twice: colour and alpha).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModeCounts {
    /// Groups coded with the network.
    pub neural: u64,
    /// Constant groups.
    pub constant: u64,
    /// PNG-style groups.
    pub png: u64,
    /// Palette groups.
    pub palette: u64,
    /// Grey colour groups (all channels equal).
    pub gray: u64,
    /// Context-coded groups.
    pub context: u64,
}

impl ModeCounts {
    pub(crate) fn add(&mut self, mode: TileMode) {
        *match mode {
            TileMode::Neural => &mut self.neural,
            TileMode::Constant => &mut self.constant,
            TileMode::Png => &mut self.png,
            TileMode::Palette => &mut self.palette,
            TileMode::Gray => &mut self.gray,
            TileMode::Context => &mut self.context,
        } += 1;
    }
    /// Groups coded in any mode but neural.
    pub(crate) fn non_neural(&self) -> u64 {
        TileMode::ALL
            .into_iter()
            .filter(|&m| m != TileMode::Neural)
            .map(|m| self.get(m))
            .sum()
    }
    /// The count for `mode`.
    pub fn get(&self, mode: TileMode) -> u64 {
        match mode {
            TileMode::Neural => self.neural,
            TileMode::Constant => self.constant,
            TileMode::Png => self.png,
            TileMode::Palette => self.palette,
            TileMode::Gray => self.gray,
            TileMode::Context => self.context,
        }
    }
}

// ---------------------------------------------------------------- tile layout (version 2)

/// A non-neural group's payload inside a version-2 tile.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Payload<'a> {
    Neural,
    /// One value per channel.
    Constant(&'a [u8]),
    /// A zlib stream of filtered rows.
    Png(&'a [u8]),
    /// Palette entries (n * channels bytes) and a zlib stream of filtered packed indices.
    Palette {
        entries: &'a [u8],
        z: &'a [u8],
    },
    /// A zlib stream of filtered rows of one channel, copied to every channel.
    Gray(&'a [u8]),
    /// The ANS stream of context-coded pixels: palette indices (`entries`: n * channels
    /// bytes, or n bytes when `grey`), or with `direct` the channel values themselves (one
    /// channel when `grey`). `grey`: every channel of the group takes the one value.
    Context {
        grey: bool,
        direct: bool,
        entries: &'a [u8],
        stream: &'a [u8],
    },
}

impl Payload<'_> {
    pub(crate) fn mode(&self) -> TileMode {
        match self {
            Payload::Neural => TileMode::Neural,
            Payload::Constant(_) => TileMode::Constant,
            Payload::Png(_) => TileMode::Png,
            Payload::Palette { .. } => TileMode::Palette,
            Payload::Gray(_) => TileMode::Gray,
            Payload::Context { .. } => TileMode::Context,
        }
    }
}

/// Why a version-2 tile could not be parsed or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TileError {
    /// A mode byte with no meaning: (group, value).
    UnknownMode(usize, u8),
    /// Anything else, described.
    Corrupt(&'static str),
}

impl From<&'static str> for TileError {
    fn from(s: &'static str) -> Self {
        TileError::Corrupt(s)
    }
}

/// A parsed version-2 tile: one payload per plane group and the ANS words of the neural
/// groups (shared, colour symbols then alpha symbols).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TileLayout<'a> {
    pub(crate) groups: [Payload<'a>; 2],
    pub(crate) n_groups: usize,
    pub(crate) ans: &'a [u8],
}

fn take<'a>(b: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], &'static str> {
    if b.len() < n {
        return Err(what);
    }
    let (head, rest) = b.split_at(n);
    *b = rest;
    Ok(head)
}

fn take_u32(b: &mut &[u8], what: &'static str) -> Result<usize, &'static str> {
    let s = take(b, 4, what)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// A palette: the byte `n - 1`, then `n` entries of `per` bytes each.
fn take_palette<'a>(b: &mut &'a [u8], per: usize) -> Result<&'a [u8], &'static str> {
    let count = usize::from(take(b, 1, "tile ends inside a palette")?[0]) + 1;
    take(b, count * per, "tile ends inside a palette")
}

/// Parses a version-2 or version-3 tile of a stream whose plane groups have
/// `channels[g]` channels (one entry, or two with coded alpha). Only the structure is
/// checked here. The context mode exists from version 3 on.
pub(crate) fn parse_tile<'a>(
    bytes: &'a [u8],
    channels: &[usize],
    version: u8,
) -> Result<TileLayout<'a>, TileError> {
    let mut b = bytes;
    let n = channels.len();
    let modes = take(&mut b, n, "tile ends inside its mode bytes")?;
    let mut groups = [Payload::Neural; 2];
    for (g, (&m, &c)) in modes.iter().zip(channels).enumerate() {
        let mode = TileMode::from_code(m)
            .filter(|m| version >= 3 || *m != TileMode::Context)
            .ok_or(TileError::UnknownMode(g, m))?;
        groups[g] = match mode {
            TileMode::Neural => Payload::Neural,
            TileMode::Constant => {
                Payload::Constant(take(&mut b, c, "tile ends inside a constant value")?)
            }
            TileMode::Png => {
                let len = take_u32(&mut b, "tile ends inside a deflate length")?;
                Payload::Png(take(&mut b, len, "deflate payload runs past the tile")?)
            }
            TileMode::Gray => {
                let len = take_u32(&mut b, "tile ends inside a deflate length")?;
                Payload::Gray(take(&mut b, len, "deflate payload runs past the tile")?)
            }
            TileMode::Palette => {
                let entries = take_palette(&mut b, c)?;
                let len = take_u32(&mut b, "tile ends inside a deflate length")?;
                let z = take(&mut b, len, "deflate payload runs past the tile")?;
                Payload::Palette { entries, z }
            }
            TileMode::Context => {
                let flags = take(&mut b, 1, "tile ends inside context flags")?[0];
                let (grey, direct) = (flags & 1 != 0, flags & 2 != 0);
                if flags > 3 || (grey && c == 1) {
                    return Err("context flags with unknown bits, or grey for one channel".into());
                }
                let entries = if direct {
                    &[][..]
                } else {
                    take_palette(&mut b, if grey { 1 } else { c })?
                };
                let len = take_u32(&mut b, "tile ends inside a context stream length")?;
                let stream = take(&mut b, len, "context stream runs past the tile")?;
                Payload::Context {
                    grey,
                    direct,
                    entries,
                    stream,
                }
            }
        };
    }
    if !b.len().is_multiple_of(4) {
        return Err("neural stream length is not a whole number of 32-bit words".into());
    }
    if !b.is_empty() && !groups[..n].iter().any(|p| matches!(p, Payload::Neural)) {
        return Err("bytes after the payloads of a tile without neural groups".into());
    }
    Ok(TileLayout {
        groups,
        n_groups: n,
        ans: b,
    })
}

/// Serialises a version-2 tile: mode bytes, the non-neural payloads (already framed by
/// [`encode_cheap`]), then the ANS words.
pub(crate) fn write_tile(modes: &[TileMode], payloads: &[&[u8]], ans: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        modes.len() + payloads.iter().map(|p| p.len()).sum::<usize>() + ans.len(),
    );
    out.extend(modes.iter().map(|m| m.code()));
    for p in payloads {
        out.extend_from_slice(p);
    }
    out.extend_from_slice(ans);
    out
}

// ---------------------------------------------------------------- PNG filters

#[inline]
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let (ia, ib, ic) = (i16::from(a), i16::from(b), i16::from(c));
    let p = ia + ib - ic;
    let (pa, pb, pc) = ((p - ia).abs(), (p - ib).abs(), (p - ic).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Filters one row (`cur`, previous row `prev`, all zeros for the first) with filter
/// type `f`, appending the filter byte and the filtered bytes.
fn filter_row(f: u8, cur: &[u8], prev: &[u8], bpp: usize, out: &mut Vec<u8>) {
    out.push(f);
    for i in 0..cur.len() {
        let a = if i >= bpp { cur[i - bpp] } else { 0 };
        let b = prev[i];
        let c = if i >= bpp { prev[i - bpp] } else { 0 };
        let pred = match f {
            0 => 0,
            1 => a,
            2 => b,
            3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
            _ => paeth(a, b, c),
        };
        out.push(cur[i].wrapping_sub(pred));
    }
}

/// Reverses the filters in place: `data` holds `h` rows of `1 + row_bytes` bytes; the
/// result is `h * row_bytes` raw bytes in `out`.
fn unfilter(
    data: &[u8],
    row_bytes: usize,
    h: usize,
    bpp: usize,
    out: &mut Vec<u8>,
) -> Result<(), &'static str> {
    out.clear();
    out.resize(row_bytes * h, 0);
    for y in 0..h {
        let row = &data[y * (row_bytes + 1)..][..row_bytes + 1];
        let f = row[0];
        let (done, rest) = out.split_at_mut(y * row_bytes);
        let cur = &mut rest[..row_bytes];
        let prev = if y > 0 {
            &done[(y - 1) * row_bytes..]
        } else {
            &[][..]
        };
        let up = |i: usize| if y > 0 { prev[i] } else { 0 };
        match f {
            0 => cur.copy_from_slice(&row[1..]),
            1 => {
                for i in 0..row_bytes {
                    let a = if i >= bpp { cur[i - bpp] } else { 0 };
                    cur[i] = row[1 + i].wrapping_add(a);
                }
            }
            2 => {
                for i in 0..row_bytes {
                    cur[i] = row[1 + i].wrapping_add(up(i));
                }
            }
            3 => {
                for i in 0..row_bytes {
                    let a = if i >= bpp { cur[i - bpp] } else { 0 };
                    cur[i] = row[1 + i].wrapping_add(((u16::from(a) + u16::from(up(i))) / 2) as u8);
                }
            }
            4 => {
                for i in 0..row_bytes {
                    let a = if i >= bpp { cur[i - bpp] } else { 0 };
                    let c = if i >= bpp { up(i - bpp) } else { 0 };
                    cur[i] = row[1 + i].wrapping_add(paeth(a, up(i), c));
                }
            }
            _ => return Err("PNG filter type above 4"),
        }
    }
    Ok(())
}

/// Per-row filter choice of [`filter_all`].
#[derive(Clone, Copy)]
enum Strategy {
    /// The same filter (0..=4) on every row.
    Fixed(u8),
    /// Smallest sum of |filtered bytes as i8| (the PNG recommendation).
    MinSum,
    /// Smallest Shannon entropy of the row's filtered bytes.
    Entropy,
    /// Fewest distinct pairs of consecutive filtered bytes.
    Bigrams,
}

const STRATEGIES: [Strategy; 8] = [
    Strategy::MinSum,
    Strategy::Entropy,
    Strategy::Bigrams,
    Strategy::Fixed(0),
    Strategy::Fixed(1),
    Strategy::Fixed(2),
    Strategy::Fixed(3),
    Strategy::Fixed(4),
];

/// Cost of a filtered row (filter byte first) under a per-row strategy.
fn row_cost(strategy: Strategy, row: &[u8], seen: &mut [u64]) -> u64 {
    let bytes = &row[1..];
    match strategy {
        Strategy::Fixed(_) | Strategy::MinSum => bytes
            .iter()
            .map(|&v| u64::from((v as i8).unsigned_abs()))
            .sum(),
        Strategy::Entropy => {
            let mut hist = [0u32; 256];
            bytes.iter().for_each(|&v| hist[usize::from(v)] += 1);
            // n*log2(n) - sum c*log2(c), in fixed point (deterministic: integer log).
            let nlogn = |c: u32| -> u64 {
                if c == 0 {
                    0
                } else {
                    // log2 in 1/1024 units from the bit length and the next 10 bits.
                    let b = 31 - c.leading_zeros();
                    let frac = if b >= 10 {
                        (c >> (b - 10)) & 1023
                    } else {
                        (c << (10 - b)) & 1023
                    };
                    u64::from(c) * (u64::from(b) * 1024 + u64::from(frac))
                }
            };
            let n = bytes.len() as u32;
            nlogn(n) - hist.iter().map(|&c| nlogn(c)).sum::<u64>().min(nlogn(n))
        }
        Strategy::Bigrams => {
            // `seen` is a 65536-bit set, cleared after use.
            let mut distinct = 0;
            for w in bytes.windows(2) {
                let k = usize::from(w[0]) << 8 | usize::from(w[1]);
                let (word, bit) = (k / 64, 1u64 << (k % 64));
                if seen[word] & bit == 0 {
                    seen[word] |= bit;
                    distinct += 1;
                }
            }
            for w in bytes.windows(2) {
                seen[(usize::from(w[0]) << 8 | usize::from(w[1])) / 64] = 0;
            }
            distinct
        }
    }
}

/// Filtered rows of `raw` (`h` rows of `row_bytes`) under `strategy`.
fn filter_all(raw: &[u8], row_bytes: usize, h: usize, bpp: usize, strategy: Strategy) -> Vec<u8> {
    let mut out = Vec::with_capacity((row_bytes + 1) * h);
    let zeros = vec![0u8; row_bytes];
    let mut trial = Vec::with_capacity(row_bytes + 1);
    let mut seen = vec![0u64; 1024];
    for y in 0..h {
        let cur = &raw[y * row_bytes..][..row_bytes];
        let prev = if y > 0 {
            &raw[(y - 1) * row_bytes..][..row_bytes]
        } else {
            &zeros[..]
        };
        if let Strategy::Fixed(f) = strategy {
            filter_row(f, cur, prev, bpp, &mut out);
            continue;
        }
        let mut best = (u64::MAX, 0u8);
        for f in 0..=4u8 {
            trial.clear();
            filter_row(f, cur, prev, bpp, &mut trial);
            let cost = row_cost(strategy, &trial, &mut seen);
            if cost < best.0 {
                best = (cost, f);
            }
        }
        filter_row(best.1, cur, prev, bpp, &mut out);
    }
    out
}

// ---------------------------------------------------------------- zlib

/// Deflate level used to compare filter strategies (miniz_oxide).
const TRIAL_LEVEL: u8 = 6;

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 9)
}

/// The final deflate of the chosen filtering: libdeflate at its best level (12), or
/// miniz_oxide's best level if that is smaller.
fn deflate_final(data: &[u8]) -> Vec<u8> {
    let fast = deflate(data);
    if data.len() < SMALL_PLANE {
        return fast;
    }
    let level = libdeflater::CompressionLvl::new(12).unwrap_or_default();
    let mut c = libdeflater::Compressor::new(level);
    let mut z = vec![0u8; c.zlib_compress_bound(data.len())];
    match c.zlib_compress(data, &mut z) {
        Ok(n) if n < fast.len() => {
            z.truncate(n);
            z
        }
        _ => fast,
    }
}

/// Inflates a zlib stream that must produce exactly `expected` bytes and end exactly at
/// the end of `z`. The output buffer is `expected` bytes (bounded by the tile size by the
/// caller) and is never grown.
fn inflate_exact(z: &[u8], expected: usize) -> Result<Vec<u8>, &'static str> {
    use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
    use miniz_oxide::inflate::TINFLStatus;
    let mut out = vec![0u8; expected];
    let mut state = Box::<DecompressorOxide>::default();
    let flags = inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER
        | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
        | inflate_flags::TINFL_FLAG_COMPUTE_ADLER32;
    let (status, consumed, written) = decompress(&mut state, z, &mut out, 0, flags);
    match status {
        TINFLStatus::Done => {}
        TINFLStatus::HasMoreOutput => return Err("deflate data inflates to more than the tile"),
        TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
            return Err("deflate data is truncated")
        }
        TINFLStatus::Adler32Mismatch => return Err("deflate data fails its Adler-32 check"),
        _ => return Err("deflate data is invalid"),
    }
    if written != expected {
        return Err("deflate data inflates to less than the tile");
    }
    if consumed != z.len() {
        return Err("bytes after the end of the deflate data");
    }
    Ok(out)
}

// ---------------------------------------------------------------- palette

/// Bits per index for a palette of `n` entries.
fn index_depth(n: usize) -> usize {
    match n {
        0..=2 => 1,
        3..=4 => 2,
        5..=16 => 4,
        _ => 8,
    }
}

// ---------------------------------------------------------------- decoding

/// Why a non-neural payload was not decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadError {
    /// The payload is damaged: what is wrong.
    Corrupt(&'static str),
    /// `stop` asked to stop (the caller cancelled).
    Cancelled,
}

impl From<&'static str> for PayloadError {
    fn from(s: &'static str) -> Self {
        PayloadError::Corrupt(s)
    }
}

/// Decodes a non-neural payload into channels `first..first+c` of a `w` x `h` tile
/// buffer with `stride` samples per pixel. `stop` is polled once per row where decoding
/// is slow enough to need it (the context mode).
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_payload(
    p: &Payload<'_>,
    w: usize,
    h: usize,
    c: usize,
    buf: &mut [u8],
    stride: usize,
    first: usize,
    stop: &dyn Fn() -> bool,
) -> Result<(), PayloadError> {
    let put = |buf: &mut [u8], plane: &[u8]| {
        for (px, v) in buf.chunks_exact_mut(stride).zip(plane.chunks_exact(c)) {
            px[first..first + c].copy_from_slice(v);
        }
    };
    match *p {
        Payload::Neural => Ok(()),
        Payload::Constant(v) => {
            for px in buf.chunks_exact_mut(stride) {
                px[first..first + c].copy_from_slice(v);
            }
            Ok(())
        }
        Payload::Png(z) => {
            let row_bytes = w * c;
            let filtered = inflate_exact(z, (row_bytes + 1) * h)?;
            let mut raw = Vec::new();
            unfilter(&filtered, row_bytes, h, c, &mut raw)?;
            put(buf, &raw);
            Ok(())
        }
        Payload::Gray(z) => {
            let filtered = inflate_exact(z, (w + 1) * h)?;
            let mut raw = Vec::new();
            unfilter(&filtered, w, h, 1, &mut raw)?;
            for (px, &v) in buf.chunks_exact_mut(stride).zip(&raw) {
                px[first..first + c].fill(v);
            }
            Ok(())
        }
        Payload::Palette { entries, z } => {
            let n = entries.len() / c;
            let depth = index_depth(n);
            let row_bytes = (w * depth).div_ceil(8);
            let filtered = inflate_exact(z, (row_bytes + 1) * h)?;
            let mut packed = Vec::new();
            unfilter(&filtered, row_bytes, h, 1, &mut packed)?;
            let per = 8 / depth;
            let mask = ((1u16 << depth) - 1) as u8;
            for y in 0..h {
                let row = &packed[y * row_bytes..][..row_bytes];
                // Padding bits after the last index of a row must be zero.
                let used = w * depth % 8;
                if used != 0 && row[row_bytes - 1] & (0xFFu8 >> used) != 0 {
                    return Err("palette row padding bits are not zero".into());
                }
                for x in 0..w {
                    let byte = row[x / per];
                    let shift = 8 - depth * (x % per + 1);
                    let idx = usize::from((byte >> shift) & mask);
                    if idx >= n {
                        return Err("palette index beyond the palette".into());
                    }
                    let px = &mut buf[(y * w + x) * stride + first..][..c];
                    px.copy_from_slice(&entries[idx * c..][..c]);
                }
            }
            Ok(())
        }
        Payload::Context {
            grey,
            direct,
            entries,
            stream,
        } => {
            let per = if grey { 1 } else { c };
            let alphabet = if direct {
                context::Alphabet::Direct(per)
            } else {
                context::Alphabet::Palette(entries.len() / per)
            };
            let keys = context::decode(stream, w, h, alphabet, stop)?;
            let mut value = [0u8; 4];
            for (px, &k) in buf.chunks_exact_mut(stride).zip(&keys) {
                let v = if direct {
                    value[..per].copy_from_slice(&k.to_be_bytes()[4 - per..]);
                    &value[..per]
                } else {
                    &entries[k as usize * per..][..per]
                };
                if grey {
                    px[first..first + c].fill(v[0]);
                } else {
                    px[first..first + c].copy_from_slice(v);
                }
            }
            Ok(())
        }
    }
}

// ---------------------------------------------------------------- encoding

/// The best cheap (non-neural) coding of a plane group, as framed payload bytes (what
/// follows the mode byte in the tile), or `None` when `modes` allows none that fits.
/// `plane` is `w * h * c` samples, interleaved. Palette and png candidates are compared
/// by a fast deflate of their best filtering; only the winner gets the final deflate.
/// Context candidates are coded exactly (the coder is fast) and compete with the
/// estimate of the deflate candidates.
pub(crate) fn encode_cheap(
    plane: &[u8],
    w: usize,
    h: usize,
    c: usize,
    modes: TileModes,
) -> Option<(TileMode, Vec<u8>)> {
    let first = &plane[..c];
    if modes.contains(TileMode::Constant) && plane.chunks_exact(c).all(|p| p == first) {
        return Some((TileMode::Constant, first.to_vec()));
    }
    let mut best: Option<(usize, TileMode, Candidate)> = None;
    let mut keep = |size: usize, mode: TileMode, cand: Candidate| {
        if best.as_ref().is_none_or(|b| size < b.0) {
            best = Some((size, mode, cand));
        }
    };
    let is_grey = c > 1 && plane.chunks_exact(c).all(|p| p.iter().all(|&v| v == p[0]));
    let counts = if modes.contains(TileMode::Palette) || modes.contains(TileMode::Context) {
        distinct_values(plane, c)
    } else {
        None
    };
    if let Some(counts) = &counts {
        for order in [
            PaletteOrder::Value,
            PaletteOrder::Luma,
            PaletteOrder::Frequency,
        ] {
            let colours = ordered(counts, c, order);
            let idx = indices(plane, c, &colours);
            if modes.contains(TileMode::Palette) {
                let (packed, row_bytes) = pack(&idx, w, colours.len());
                let head = palette_head(&colours, c, false);
                let (n, filtered) = best_filtering(&packed, row_bytes, h, 1);
                keep(
                    n + head.len(),
                    TileMode::Palette,
                    Candidate::Filtered { head, filtered },
                );
            }
            // The value and luma orders are the same for grey content.
            let same_as_value = matches!(order, PaletteOrder::Luma) && (c == 1 || is_grey);
            if modes.contains(TileMode::Context) && !same_as_value {
                let keys: Vec<u32> = idx.iter().map(|&i| u32::from(i)).collect();
                let payload = context_payload(
                    u8::from(is_grey),
                    palette_head(&colours, c, is_grey),
                    &keys,
                    w,
                    context::Alphabet::Palette(colours.len()),
                );
                keep(payload.len(), TileMode::Context, Candidate::Ready(payload));
            }
        }
    }
    if modes.contains(TileMode::Context) {
        let per = if is_grey { 1 } else { c };
        let keys: Vec<u32> = plane.chunks_exact(c).map(|p| key(&p[..per])).collect();
        let payload = context_payload(
            u8::from(is_grey) | 2,
            Vec::new(),
            &keys,
            w,
            context::Alphabet::Direct(per),
        );
        keep(payload.len(), TileMode::Context, Candidate::Ready(payload));
    }
    if is_grey && modes.contains(TileMode::Gray) {
        let grey: Vec<u8> = plane.iter().step_by(c).copied().collect();
        let (n, filtered) = best_filtering(&grey, w, h, 1);
        keep(
            n,
            TileMode::Gray,
            Candidate::Filtered {
                head: Vec::new(),
                filtered,
            },
        );
    }
    if modes.contains(TileMode::Png) {
        let (n, filtered) = best_filtering(plane, w * c, h, c);
        keep(
            n,
            TileMode::Png,
            Candidate::Filtered {
                head: Vec::new(),
                filtered,
            },
        );
    }
    best.map(|(_, mode, cand)| match cand {
        Candidate::Ready(payload) => (mode, payload),
        Candidate::Filtered { mut head, filtered } => {
            let z = deflate_final(&filtered);
            head.extend_from_slice(&(z.len() as u32).to_le_bytes());
            head.extend_from_slice(&z);
            (mode, head)
        }
    })
}

/// A context payload: the flags byte, `head` (the palette, if any), then the length and
/// the ANS stream of `keys`.
fn context_payload(
    flags: u8,
    head: Vec<u8>,
    keys: &[u32],
    w: usize,
    alphabet: context::Alphabet,
) -> Vec<u8> {
    let stream = context::encode(keys, w, alphabet);
    let mut payload = Vec::with_capacity(1 + head.len() + 4 + stream.len());
    payload.push(flags);
    payload.extend(head);
    payload.extend_from_slice(&(stream.len() as u32).to_le_bytes());
    payload.extend_from_slice(&stream);
    payload
}

/// A cheap-mode candidate of [`encode_cheap`].
enum Candidate {
    /// Header bytes before the zlib length, and the filtered rows still to deflate.
    Filtered { head: Vec<u8>, filtered: Vec<u8> },
    /// The complete payload.
    Ready(Vec<u8>),
}

/// Below this many raw bytes, deflate trials cost more than they can find (each sets up
/// a few hundred KB of compressor state): one strategy is tried, and the final deflate
/// skips libdeflate.
const SMALL_PLANE: usize = 64;

/// The filter strategy whose rows deflate smallest at a fast level: (that size, rows).
fn best_filtering(raw: &[u8], row_bytes: usize, h: usize, bpp: usize) -> (usize, Vec<u8>) {
    let strategies = if raw.len() < SMALL_PLANE {
        &STRATEGIES[..1]
    } else {
        &STRATEGIES[..]
    };
    let mut best: Option<(usize, Vec<u8>)> = None;
    for &strategy in strategies {
        let filtered = filter_all(raw, row_bytes, h, bpp, strategy);
        let n = miniz_oxide::deflate::compress_to_vec_zlib(&filtered, TRIAL_LEVEL).len();
        if best.as_ref().is_none_or(|b| n < b.0) {
            best = Some((n, filtered));
        }
    }
    best.unwrap_or_default()
}

/// Order of the palette entries (the encoder tries each; indices of similar colours
/// close together filter and deflate better).
#[derive(Clone, Copy)]
enum PaletteOrder {
    /// Ascending channel values.
    Value,
    /// Ascending luma (77 R + 150 G + 29 B; grey: the value), ties by value.
    Luma,
    /// Most frequent first, ties by value.
    Frequency,
}

/// A pixel's channels as one key (big-endian: sorting keys sorts by channel values).
fn key(p: &[u8]) -> u32 {
    p.iter().fold(0u32, |a, &v| a << 8 | u32::from(v))
}

/// How often each distinct pixel value occurs, if there are at most 256 of them.
fn distinct_values(plane: &[u8], c: usize) -> Option<HashMap<u32, u64>> {
    let mut counts: HashMap<u32, u64> = HashMap::with_capacity(512);
    for p in plane.chunks_exact(c) {
        *counts.entry(key(p)).or_insert(0) += 1;
        if counts.len() > 256 {
            return None;
        }
    }
    Some(counts)
}

/// The palette: the distinct values in `order`.
fn ordered(counts: &HashMap<u32, u64>, c: usize, order: PaletteOrder) -> Vec<u32> {
    let mut colours: Vec<u32> = counts.keys().copied().collect();
    colours.sort_unstable();
    let luma = |k: u32| {
        if c == 3 {
            77 * (k >> 16) + 150 * (k >> 8 & 255) + 29 * (k & 255)
        } else {
            k
        }
    };
    match order {
        PaletteOrder::Value => {}
        PaletteOrder::Luma => colours.sort_by_key(|&k| (luma(k), k)),
        PaletteOrder::Frequency => {
            colours.sort_by_key(|&k| (std::cmp::Reverse(counts.get(&k).copied()), k))
        }
    }
    colours
}

/// Each pixel's index in `colours` (which holds every value of the plane).
fn indices(plane: &[u8], c: usize, colours: &[u32]) -> Vec<u8> {
    let slot: HashMap<u32, u8> = colours
        .iter()
        .enumerate()
        .map(|(i, &k)| (k, i as u8))
        .collect();
    plane
        .chunks_exact(c)
        .map(|p| slot.get(&key(p)).copied().unwrap_or(0))
        .collect()
}

/// Indices packed at the palette's depth, rows padded to whole bytes: (rows, row bytes).
fn pack(idx: &[u8], w: usize, n: usize) -> (Vec<u8>, usize) {
    let depth = index_depth(n);
    let row_bytes = (w * depth).div_ceil(8);
    let h = idx.len() / w;
    let mut packed = vec![0u8; row_bytes * h];
    let per = 8 / depth;
    for (i, &v) in idx.iter().enumerate() {
        let (y, x) = (i / w, i % w);
        let shift = 8 - depth * (x % per + 1);
        packed[y * row_bytes + x / per] |= v << shift;
    }
    (packed, row_bytes)
}

/// `n - 1` and the entries: `c` bytes each, or one when `grey` (every channel equal).
fn palette_head(colours: &[u32], c: usize, grey: bool) -> Vec<u8> {
    let mut head = Vec::with_capacity(1 + colours.len() * c);
    head.push((colours.len() - 1) as u8);
    for k in colours {
        let bytes = k.to_be_bytes();
        if grey {
            head.push(bytes[3]);
        } else {
            head.extend_from_slice(&bytes[4 - c..]);
        }
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(plane: &[u8], w: usize, h: usize, c: usize, modes: TileModes) -> TileMode {
        let (mode, payload) = encode_cheap(plane, w, h, c, modes).expect("a mode fits");
        let tile = write_tile(&[mode], &[&payload], &[]);
        let layout = parse_tile(&tile, &[c], 3).unwrap();
        let mut buf = vec![0u8; w * h * c];
        decode_payload(&layout.groups[0], w, h, c, &mut buf, c, 0, &|| false).unwrap();
        assert_eq!(buf, plane);
        mode
    }

    #[test]
    fn every_cheap_mode_round_trips() {
        let (w, h) = (13usize, 7usize);
        let flat = vec![9u8; w * h * 3];
        assert_eq!(
            roundtrip(&flat, w, h, 3, TileModes::all()),
            TileMode::Constant
        );
        let noise: Vec<u8> = (0..w * h * 3).map(|i| (i * 7919 % 251) as u8).collect();
        assert_eq!(
            roundtrip(&noise, w, h, 3, TileModes::only(&[TileMode::Png])),
            TileMode::Png
        );
        for colours in [2usize, 3, 5, 17, 256] {
            let plane: Vec<u8> = (0..w * h).map(|i| (i * 31 % colours) as u8).collect();
            let m = roundtrip(&plane, w, h, 1, TileModes::only(&[TileMode::Palette]));
            assert_eq!(m, TileMode::Palette);
        }
    }

    #[test]
    fn inflate_refuses_more_less_and_trailing() {
        let z = deflate(&[1, 2, 3, 4]);
        assert!(inflate_exact(&z, 4).is_ok());
        assert!(inflate_exact(&z, 3).is_err());
        assert!(inflate_exact(&z, 5).is_err());
        let mut t = z.clone();
        t.push(0);
        assert!(inflate_exact(&t, 4).is_err());
        assert!(inflate_exact(&z[..z.len() - 1], 4).is_err());
        let mut bad = z.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1; // Adler-32
        assert!(inflate_exact(&bad, 4).is_err());
    }
}
