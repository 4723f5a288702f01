//! Decoding of the non-neural payloads of a parsed tile into the tile buffer. Every
//! inflated size is bounded by the tile size before inflating, and damage is an error,
//! never a panic.

use super::context;
use super::layout::Payload;
use super::palette::index_depth;
use super::png::{inflate_exact, unfilter};

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
