//! Image-adapted heads (docs/FORMAT.md section 9): integer offsets the encoder fits to
//! the image and stores in an `ADPT` chunk, added to the network's head outputs before
//! the mixture. The network is unchanged, so decoding costs one add per head value; the
//! fit (floats, encoder only, [`fit`]) never reaches the decoder: only its integers do.

pub(crate) mod fit;
mod fmath;
#[cfg(target_arch = "x86_64")]
mod simd;

use crate::mixture::{MAX_C, MAX_K};

/// Chunk tag of an image-adapted head.
pub(crate) const TAG: [u8; 4] = *b"ADPT";
/// Most head values a model has (K = 32 components, three channels).
pub(crate) const MAX_HEAD: usize = MAX_K * (1 + 2 * MAX_C + MAX_C * (MAX_C - 1) / 2);
/// Largest magnitude of an offset, Q8 (256 = 1.0): far beyond what a fit moves, small
/// enough that `head + offset` stays inside i32 and every clamp of the mixture applies.
pub(crate) const MAX_OFFSET: i32 = 1 << 16;
/// Largest quantisation shift.
const MAX_SHIFT: u8 = 8;

/// The offsets of one plane group's head outputs, Q8, one per head value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeadDelta {
    /// Plane group: 0 colour, 1 alpha.
    pub(crate) group: u8,
    /// The stored values are multiples of `2^shift`.
    shift: u8,
    values: Vec<i32>,
}

/// Why an `ADPT` chunk is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkError(pub(crate) String);

impl HeadDelta {
    /// Offsets `q[n] << shift` for group `group`.
    pub(crate) fn new(group: u8, shift: u8, q: &[i32]) -> Option<Self> {
        let values: Vec<i32> = q.iter().map(|&v| v << shift).collect();
        (shift <= MAX_SHIFT
            && group < 2
            && q.len() <= MAX_HEAD
            && q.iter()
                .all(|&v| (v << shift).abs() <= MAX_OFFSET && (v << shift) >> shift == v))
        .then_some(HeadDelta {
            group,
            shift,
            values,
        })
    }

    /// The offsets, Q8.
    #[cfg(test)]
    pub(crate) fn values(&self) -> &[i32] {
        &self.values
    }

    /// `head + offsets` in `buf`: what the mixture reads instead of `head`.
    pub(crate) fn apply<'a>(&self, head: &[i32], buf: &'a mut [i32; MAX_HEAD]) -> &'a [i32] {
        debug_assert_eq!(head.len(), self.values.len());
        let out = &mut buf[..head.len()];
        for ((o, &h), &d) in out.iter_mut().zip(head).zip(&self.values) {
            // |h| <= 2^23 (the head's clamp) and |d| <= 2^16: no overflow.
            *o = h + d;
        }
        out
    }

    /// The chunk body: group (u8), shift (u8), count (u16), then `count` zigzag LEB128
    /// varints of the values divided by `2^shift`.
    pub(crate) fn to_chunk(&self) -> Vec<u8> {
        let mut out = vec![self.group, self.shift];
        out.extend_from_slice(&(self.values.len() as u16).to_le_bytes());
        for &v in &self.values {
            let q = v >> self.shift;
            let mut z = ((q << 1) ^ (q >> 31)) as u32;
            loop {
                let byte = (z & 0x7f) as u8;
                z >>= 7;
                if z == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
        }
        out
    }

    /// Parses a chunk body (FORMAT.md section 9); the count is checked against the model
    /// once it is known ([`HeadDelta::check_model`]).
    pub(crate) fn from_chunk(body: &[u8]) -> Result<Self, ChunkError> {
        let err = |s: String| Err(ChunkError(s));
        if body.len() < 4 {
            return err(format!("{} bytes, expected at least 4", body.len()));
        }
        let (group, shift) = (body[0], body[1]);
        let count = usize::from(u16::from_le_bytes([body[2], body[3]]));
        if group > 1 {
            return err(format!(
                "plane group {group}, expected 0 (colour) or 1 (alpha)"
            ));
        }
        if shift > MAX_SHIFT {
            return err(format!("shift {shift}, expected 0 to {MAX_SHIFT}"));
        }
        if count == 0 || count > MAX_HEAD {
            return err(format!("{count} values, expected 1 to {MAX_HEAD}"));
        }
        let mut values = Vec::with_capacity(count);
        let mut at = 4;
        for n in 0..count {
            let mut z: u32 = 0;
            let mut len = 0;
            loop {
                let Some(&byte) = body.get(at) else {
                    return err(format!("value {n} of {count} is cut off"));
                };
                at += 1;
                z |= u32::from(byte & 0x7f) << (7 * len);
                len += 1;
                if byte & 0x80 == 0 {
                    break;
                }
                if len == 3 {
                    return err(format!("value {n} is longer than 3 bytes"));
                }
            }
            let q = (z >> 1) as i32 ^ -((z & 1) as i32);
            let v = i64::from(q) << shift;
            if v.abs() > i64::from(MAX_OFFSET) {
                return err(format!("value {n} is {v}, above the limit of {MAX_OFFSET}"));
            }
            values.push(v as i32);
        }
        if at != body.len() {
            return err(format!("{} bytes after the last value", body.len() - at));
        }
        Ok(HeadDelta {
            group,
            shift,
            values,
        })
    }

    /// `Err` unless there is one offset per head value of a model with `head_len` values.
    pub(crate) fn check_model(&self, head_len: usize) -> Result<(), ChunkError> {
        if self.values.len() != head_len {
            return Err(ChunkError(format!(
                "{} values for plane group {}, whose model has {head_len} head values",
                self.values.len(),
                self.group
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_roundtrip() {
        let q: Vec<i32> = (-50..50).map(|v| v * 37).collect();
        let d = HeadDelta::new(0, 2, &q).unwrap();
        let back = HeadDelta::from_chunk(&d.to_chunk()).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.values()[0], -50 * 37 * 4);
        assert!(back.check_model(100).is_ok());
        assert!(back.check_model(30).is_err());
    }

    #[test]
    fn hostile_chunks_are_refused() {
        let good = HeadDelta::new(1, 0, &[1, -1, 300]).unwrap().to_chunk();
        assert!(HeadDelta::from_chunk(&good).is_ok());
        for (body, why) in [
            (vec![0, 0, 1], "short"),
            (vec![2, 0, 1, 0, 0], "group"),
            (vec![0, 9, 1, 0, 0], "shift"),
            (vec![0, 0, 0, 0], "no values"),
            (vec![0, 0, 0x41, 0x01], "too many values"),
            (vec![0, 0, 2, 0, 0], "cut off"),
            (vec![0, 0, 1, 0, 0x80, 0x80, 0x80, 0x01], "long varint"),
            (vec![0, 0, 1, 0, 0, 0], "trailing"),
            // zigzag 2^17 + 2 = +65537.
            (vec![0, 0, 1, 0, 0x82, 0x80, 0x08], "too large"),
            (vec![0, 8, 1, 0, 0x82, 0x04], "too large after the shift"),
        ] {
            assert!(HeadDelta::from_chunk(&body).is_err(), "{why}: {body:?}");
        }
        let mut cut = good.clone();
        cut.pop();
        assert!(HeadDelta::from_chunk(&cut).is_err());
    }

    #[test]
    fn apply_adds() {
        let d = HeadDelta::new(0, 1, &[1, -2, 3]).unwrap();
        let mut buf = [0; MAX_HEAD];
        assert_eq!(d.apply(&[10, 20, 30], &mut buf), &[12, 16, 36]);
    }
}
