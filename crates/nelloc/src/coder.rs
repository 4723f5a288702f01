//! Glue to `constriction`'s ANS stack coder (u32 words, u64 state, 24-bit precision).
//! docs/FORMAT.md ("Entropy coder") specifies its exact arithmetic.

use std::cell::{Cell, RefCell};
use std::num::NonZeroU32;

use constriction::backends::{BoundedReadWords, Cursor};
use constriction::stream::model::{DecoderModel, EntropyModel};
use constriction::stream::stack::AnsCoder;
use constriction::stream::Decode;
use constriction::Stack;

use crate::mixture::{Bin, ChannelDist, Edges, PRECISION};

const P: usize = PRECISION as usize;

/// A coding frequency as constriction wants it. Zero is impossible (the CDF gives every
/// symbol at least 1, FORMAT.md section 4): a debug build stops on it; a release build
/// codes the nearest valid interval rather than panic on data.
fn nonzero(freq: u32) -> NonZeroU32 {
    debug_assert_ne!(freq, 0, "a CDF gave a symbol frequency 0");
    NonZeroU32::new(freq).unwrap_or(NonZeroU32::MIN)
}

/// The search as constriction's decoder model; the bin it found is kept for the caller,
/// its edges (which the posterior needs) in the caller's scratch.
struct Search<'a> {
    dist: &'a ChannelDist,
    edges: RefCell<&'a mut Edges>,
    found: Cell<Option<Bin>>,
}

impl EntropyModel<P> for Search<'_> {
    type Symbol = u8;
    type Probability = u32;
}

impl DecoderModel<P> for Search<'_> {
    fn quantile_function(&self, quantile: u32) -> (u8, u32, NonZeroU32) {
        let bin = self.dist.search(quantile, &mut self.edges.borrow_mut());
        self.found.set(Some(bin));
        (bin.x, bin.left, nonzero(bin.freq))
    }
}

/// A binary decision whose 0 has frequency `f0` (1 ..= 2^24 - 1) and 1 the rest.
struct Binary(u32);

impl EntropyModel<P> for Binary {
    type Symbol = bool;
    type Probability = u32;
}

impl DecoderModel<P> for Binary {
    fn quantile_function(&self, quantile: u32) -> (bool, u32, NonZeroU32) {
        if quantile < self.0 {
            (false, 0, nonzero(self.0))
        } else {
            (true, self.0, nonzero((1 << P) - self.0))
        }
    }
}

/// Encodes intervals given in decoding order; returns the stream as little-endian bytes.
/// The arithmetic of FORMAT.md section 5, written out: the same words as constriction's
/// `DefaultAnsCoder` (the tests compare them), without its generic per-symbol checks,
/// which made it a tenth of an encode.
pub(crate) fn encode_intervals(intervals: &[(u32, u32)]) -> Vec<u8> {
    encode_intervals_rev(intervals.len(), intervals.iter().rev().copied())
}

/// [`encode_intervals`] of `len` intervals given last first (the order the coder takes
/// them), for callers that store them in another form.
pub(crate) fn encode_intervals_rev(
    len: usize,
    reversed: impl Iterator<Item = (u32, u32)>,
) -> Vec<u8> {
    let mut words: Vec<u32> = Vec::with_capacity(len / 2 + 2);
    let mut s = 0u64;
    for (left, freq) in reversed {
        debug_assert!(u64::from(left) + u64::from(freq) <= 1 << P);
        let freq = u64::from(nonzero(freq).get());
        if s >> (64 - P) >= freq {
            words.push(s as u32);
            s >>= 32;
        }
        s = ((s / freq) << P) | (u64::from(left) + s % freq);
    }
    if s != 0 {
        words.push(s as u32);
        if s >> 32 != 0 {
            words.push((s >> 32) as u32);
        }
    }
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// -log2(f / 2^24) in 2^-16 bits for 1 <= f <= 2^24, from the top 9 bits of f (integer
/// arithmetic only: the same on every machine). Within 0.003 bits of the exact value:
/// what the encoder's early exits compare, never what it codes.
#[inline]
pub(crate) fn info_q16(f: u32) -> u64 {
    let f = f.max(1);
    let b = 31 - f.leading_zeros();
    let m = (if b >= 8 { f >> (b - 8) } else { f << (8 - b) }) & 255;
    (u64::from(PRECISION) << 16)
        .saturating_sub(u64::from(b) << 16 | u64::from(LOG2_Q16[m as usize]))
}

/// log2(1 + (i + 0.5) / 256) in 2^-16 bits, rounded down.
const LOG2_Q16: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        // The mantissa in Q32; each squaring yields one bit of its logarithm.
        let mut m = (1u128 << 32) + (((2 * i + 1) as u128) << 23);
        let mut r = 0u32;
        let mut bit = 0;
        while bit < 16 {
            m = (m * m) >> 32;
            r <<= 1;
            if m >= 2 << 32 {
                m >>= 1;
                r |= 1;
            }
            bit += 1;
        }
        t[i] = r;
        i += 1;
    }
    t
};

/// Why a stream could not be decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StreamError {
    TrailingZeroWord,
    NotExhausted,
}

/// Sequential decoder over one tile's stream.
pub(crate) struct StreamDecoder {
    ans: AnsCoder<u32, u64, Cursor<u32, Vec<u32>>>,
}

impl StreamDecoder {
    pub(crate) fn new(bytes: &[u8]) -> Result<Self, StreamError> {
        let words: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let ans = AnsCoder::from_compressed(Cursor::new_at_write_end(words))
            .map_err(|_| StreamError::TrailingZeroWord)?;
        Ok(StreamDecoder { ans })
    }

    /// A decoder over no words (a placeholder after `finish` took the real one).
    pub(crate) fn empty() -> Self {
        StreamDecoder {
            ans: AnsCoder::from_raw_parts(Cursor::new_at_write_end(Vec::new()), 0),
        }
    }

    #[inline]
    pub(crate) fn decode(&mut self, dist: &ChannelDist, edges: &mut Edges) -> Bin {
        let search = Search {
            dist,
            edges: RefCell::new(edges),
            found: Cell::new(None),
        };
        match self.ans.decode_symbol(&search) {
            // constriction calls the quantile function exactly once per symbol; the
            // fallback only keeps this total.
            Ok(x) => match search.found.get() {
                Some(bin) => bin,
                None => dist.bin(x, search.edges.into_inner()),
            },
            Err(e) => match e {},
        }
    }

    /// Pops a binary decision whose 0 has frequency `f0` (1 ..= 2^24 - 1).
    #[inline]
    pub(crate) fn decode_bit(&mut self, f0: u32) -> bool {
        match self.ans.decode_symbol(Binary(f0)) {
            Ok(x) => x,
            Err(e) => match e {},
        }
    }

    /// The final-state check: every word consumed and the state back to its initial 0.
    pub(crate) fn finish(self) -> Result<(), StreamError> {
        let (bulk, state) = self.ans.into_raw_parts();
        if state != 0 || BoundedReadWords::<u32, Stack>::remaining(&bulk) != 0 {
            return Err(StreamError::NotExhausted);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use constriction::stream::model::EncoderModel;
    use constriction::stream::Encode;

    /// A symbol already reduced to its interval.
    #[derive(Clone, Copy)]
    struct Interval(u32, NonZeroU32);

    impl EntropyModel<P> for Interval {
        type Symbol = ();
        type Probability = u32;
    }

    impl EncoderModel<P> for Interval {
        fn left_cumulative_and_probability(
            &self,
            _: impl std::borrow::Borrow<()>,
        ) -> Option<(u32, NonZeroU32)> {
            Some((self.0, self.1))
        }
    }

    /// The stream as constriction's coder writes it (the definition the format follows).
    fn constriction_words(intervals: &[(u32, u32)]) -> Vec<u8> {
        let mut ans = constriction::stream::stack::DefaultAnsCoder::new();
        for &(left, freq) in intervals.iter().rev() {
            ans.encode_symbol((), Interval(left, nonzero(freq)))
                .unwrap();
        }
        let words = ans.into_compressed().unwrap_or_else(|e| match e {});
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn information_estimates_are_close() {
        for f in (1..=1u32 << P)
            .step_by(997)
            .chain([1, 2, 3, 1 << 23, (1 << P) - 1, 1 << P])
        {
            let exact = P as f64 - f64::from(f).log2();
            let est = info_q16(f) as f64 / 65536.0;
            assert!((est - exact).abs() < 0.003, "{f}: {est} vs {exact}");
        }
    }

    #[test]
    fn the_encoder_writes_constrictions_words() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for len in [0usize, 1, 2, 3, 7, 100, 5000] {
            for skew in [1u32, 8, 20, 24] {
                let iv: Vec<(u32, u32)> = (0..len)
                    .map(|_| {
                        // Frequencies from 1 to 2^skew (tiny ones force renormalisation).
                        let freq = 1 + (next() as u32 & ((1u32 << skew) - 1)).min((1 << P) - 1);
                        let left = (next() as u32) % ((1 << P) - freq + 1);
                        (left, freq)
                    })
                    .collect();
                assert_eq!(
                    encode_intervals(&iv),
                    constriction_words(&iv),
                    "{len} {skew}"
                );
            }
        }
        // All-zero symbols of the full interval: the empty stream.
        assert!(encode_intervals(&[(0, 1 << P); 9]).is_empty());
    }

    #[test]
    #[cfg(debug_assertions)]
    fn a_zero_frequency_is_caught_in_debug_builds() {
        assert_eq!(nonzero(5).get(), 5);
        assert!(std::panic::catch_unwind(|| nonzero(0)).is_err());
    }
}
