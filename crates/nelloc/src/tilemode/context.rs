//! The `context` tile mode (docs/FORMAT.md section 8.1): the pixels of a plane group, one
//! key per pixel in raster order (a palette index, or the channel values themselves),
//! coded with adaptive binary models and the ANS coder. Each pixel asks, in turn: is it the
//! key last seen after this exact 8-pixel neighbourhood, or this 4-pixel one (hashed
//! prediction tables: repeated glyphs and UI elements cost almost nothing, which deflate
//! finds only as byte strings)? Is it the left, upper, upper-right or upper-left
//! neighbour, in a context of which neighbours equal which? Only then is it coded outright:
//! a palette index bit by bit, or each channel as the residual of the LOCO-I median
//! predictor (plus the previous channel's error), bit by bit in a context of the local
//! activity.
//!
//! Every probability is an integer function of integer counts, and encoder and decoder
//! run the same loop (generic over [`BitCoder`]), so they agree bit for bit on any machine.

use super::PayloadError;
use crate::coder::{encode_intervals_rev, info_q16, StreamDecoder, StreamError};
use crate::mixture::PRECISION;

/// A neighbour outside the tile: equal only to itself.
const NONE: u32 = u32::MAX;
/// Counts of a binary model are halved when their sum exceeds this: old statistics fade.
const COUNT_LIMIT: u32 = 1023;
/// Neighbour-equality patterns (7 bits).
const PATTERNS: usize = 128;
/// Prediction tables: a long and a short neighbourhood.
const ORDERS: usize = 2;
/// Palette escapes: contexts from the top two bits of the reference neighbour's index.
const PALETTE_BUCKETS: usize = 4;
/// Direct escapes: contexts per channel from a local activity (5 levels).
const ACTIVITY_BUCKETS: usize = 5;

/// An adaptive binary model: counts of zeros and ones (the Krichevsky-Trofimov estimate).
#[derive(Clone, Copy, Default)]
struct Bit {
    zeros: u16,
    ones: u16,
}

impl Bit {
    /// Frequency of a 0 out of 2^24: `floor((2 zeros + 1) 2^24 / (2 (zeros + ones) + 2))`,
    /// always in 1 ..= 2^24 - 1.
    #[inline]
    fn f0(self) -> u32 {
        let (z, o) = (u64::from(self.zeros), u64::from(self.ones));
        (((2 * z + 1) << PRECISION) / (2 * (z + o) + 2)) as u32
    }

    #[inline]
    fn update(&mut self, bit: bool) {
        if bit {
            self.ones += 1;
        } else {
            self.zeros += 1;
        }
        if u32::from(self.zeros) + u32::from(self.ones) > COUNT_LIMIT {
            self.zeros = self.zeros.div_ceil(2);
            self.ones = self.ones.div_ceil(2);
        }
    }
}

/// Codes one binary decision: the encoder records `bit` and returns it, the decoder
/// ignores it and returns the decoded one. Both update the model.
trait BitCoder {
    fn code(&mut self, model: &mut Bit, bit: bool) -> bool;
}

/// The encoder's side: every decision in order, as its 0-frequency (24 bits) with the
/// bit in bit 31 (4 bytes a decision: half of a (left, frequency) pair), and the running
/// information content in 2^-16 bits (an estimate, see [`info_q16`]).
struct Recorder {
    decisions: Vec<u32>,
    info: u64,
}

impl BitCoder for Recorder {
    #[inline]
    fn code(&mut self, model: &mut Bit, bit: bool) -> bool {
        let f0 = model.f0();
        self.decisions.push(f0 | u32::from(bit) << 31);
        self.info += info_q16(if bit { (1 << PRECISION) - f0 } else { f0 });
        model.update(bit);
        bit
    }
}

/// The (left, frequency) interval of a recorded decision.
#[inline]
fn interval(d: u32) -> (u32, u32) {
    let f0 = d & ((1 << PRECISION) - 1);
    if d >> 31 == 1 {
        (f0, (1 << PRECISION) - f0)
    } else {
        (0, f0)
    }
}

impl BitCoder for StreamDecoder {
    #[inline]
    fn code(&mut self, model: &mut Bit, _: bool) -> bool {
        let bit = self.decode_bit(model.f0());
        model.update(bit);
        bit
    }
}

/// Bits of an index below `n`: 0 for n = 1, else ceil(log2 n).
fn depth(n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        (usize::BITS - (n - 1).leading_zeros()) as usize
    }
}

/// Entries of each prediction table: 2^bits with bits = clamp(ceil(log2(w h)) + 1, 8, 20).
fn table_bits(pixels: usize) -> u32 {
    (usize::BITS - pixels.saturating_sub(1).leading_zeros() + 1).clamp(8, 20)
}

/// FNV-1a style hash of a neighbourhood's keys, top `bits` bits.
fn hash(keys: &[u32], bits: u32) -> usize {
    let h = keys
        .iter()
        .fold(0x811C_9DC5u32, |h, &v| (h ^ v).wrapping_mul(0x0100_0193));
    (h.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
}

/// A prediction slot: the last key seen in this neighbourhood (`NONE`: none yet) and how
/// many times in a row it was right (0..=3).
#[derive(Clone, Copy)]
struct Slot {
    key: u32,
    hits: u8,
}

impl Slot {
    const EMPTY: Slot = Slot { key: NONE, hits: 0 };

    fn learn(&mut self, key: u32) {
        if self.key == key {
            self.hits = (self.hits + 1).min(3);
        } else {
            *self = Slot { key, hits: 0 };
        }
    }
}

/// What a pixel's key is and how a key that repeats no neighbour is coded.
#[derive(Clone, Copy)]
pub(crate) enum Alphabet {
    /// Keys are palette indices below `n`, coded bit by bit.
    Palette(usize),
    /// Keys are `c` channel values (1..=4, big-endian in the key), each coded as its
    /// residual from a median-edge prediction.
    Direct(usize),
}

/// Level 0..=4 of a non-negative difference: 0, 1-2, 3-8, 9-32, above.
fn activity(v: u32) -> usize {
    match v {
        0 => 0,
        1..=2 => 1,
        3..=8 => 2,
        9..=32 => 3,
        _ => 4,
    }
}

/// Channel `ch` of a direct key of `c` channels.
#[inline]
fn channel(key: u32, c: usize, ch: usize) -> i32 {
    (key >> (8 * (c - 1 - ch)) & 255) as i32
}

/// The median edge detector of LOCO-I on the west, north and north-west values.
fn med(a: i32, b: i32, c: i32) -> i32 {
    if c >= a.max(b) {
        a.min(b)
    } else if c <= a.min(b) {
        a.max(b)
    } else {
        a + b - c
    }
}

/// The adaptive state of a plane being coded, carried from row to row: coding can stop
/// after any row and go on later (the encoder's trial pauses there).
struct PlaneState {
    w: usize,
    h: usize,
    alphabet: Alphabet,
    tb: u32,
    tables: Vec<Vec<Slot>>,
    predicted: Vec<Bit>,
    repeats: Vec<Bit>,
    escape: Vec<Bit>,
    /// Rows coded so far.
    y: usize,
}

impl PlaneState {
    fn new(len: usize, w: usize, alphabet: Alphabet) -> Self {
        let tb = table_bits(len);
        let escapes = match alphabet {
            Alphabet::Palette(n) => PALETTE_BUCKETS << depth(n),
            Alphabet::Direct(c) => c * ACTIVITY_BUCKETS * 256,
        };
        PlaneState {
            w,
            h: len / w.max(1),
            alphabet,
            tb,
            tables: vec![vec![Slot::EMPTY; 1 << tb]; ORDERS],
            predicted: vec![Bit::default(); ORDERS * 4 * 2 * 2 * PATTERNS],
            repeats: vec![Bit::default(); 2 * PATTERNS * 4],
            escape: vec![Bit::default(); escapes],
            y: 0,
        }
    }

    /// Codes (or decodes into) the rows of `keys` up to `until` (exclusive), from the first
    /// not yet coded. `stop` is polled before each row; returns false if it asked to stop.
    fn code_rows<C: BitCoder>(
        &mut self,
        coder: &mut C,
        keys: &mut [u32],
        until: usize,
        stop: &dyn Fn() -> bool,
    ) -> bool {
        let (w, h, tb, alphabet) = (self.w, self.h, self.tb, self.alphabet);
        let PlaneState {
            tables,
            predicted,
            repeats,
            escape,
            y: row,
            ..
        } = self;
        while *row < until.min(h) {
            let y = *row;
            if stop() {
                return false;
            }
            for x in 0..w {
                let at = |yy: usize, xx: isize| {
                    if xx < 0 || xx as usize >= w {
                        NONE
                    } else {
                        keys[yy * w + xx as usize]
                    }
                };
                let xi = x as isize;
                let west = at(y, xi - 1);
                let ww = at(y, xi - 2);
                let (north, nw, ne, nn, nne, nww) = if y >= 1 {
                    (
                        at(y - 1, xi),
                        at(y - 1, xi - 1),
                        at(y - 1, xi + 1),
                        if y >= 2 { at(y - 2, xi) } else { NONE },
                        if y >= 2 { at(y - 2, xi + 1) } else { NONE },
                        at(y - 1, xi - 2),
                    )
                } else {
                    (NONE, NONE, NONE, NONE, NONE, NONE)
                };
                let pattern = usize::from(west == north)
                    | usize::from(west == nw) << 1
                    | usize::from(north == ne) << 2
                    | usize::from(north == nw) << 3
                    | usize::from(west == ww) << 4
                    | usize::from(north == nn) << 5
                    | usize::from(nw == ne) << 6;
                let slots = [
                    hash(&[west, north, nw, ne, ww, nn, nne, nww], tb),
                    hash(&[west, north, nw, ne], tb),
                ];
                let truth = keys[y * w + x];
                let mut value = None;
                let mut seen = [NONE; ORDERS + 4];
                let mut k = 0;
                for (o, &slot) in slots.iter().enumerate() {
                    let Slot { key: cand, hits } = tables[o][slot];
                    if cand == NONE || seen[..k].contains(&cand) {
                        continue;
                    }
                    seen[k] = cand;
                    k += 1;
                    let ctx = ((o * 4 + usize::from(hits)) * 2 + usize::from(cand == west)) * 2
                        + usize::from(k > 1);
                    if coder.code(&mut predicted[ctx * PATTERNS + pattern], truth == cand) {
                        value = Some(cand);
                        break;
                    }
                }
                if value.is_none() {
                    let tried = usize::from(k > 0);
                    let mut j = 0;
                    for cand in [west, north, ne, nw] {
                        if cand == NONE || seen[..k].contains(&cand) {
                            continue;
                        }
                        seen[k] = cand;
                        k += 1;
                        let ctx = (tried * PATTERNS + pattern) * 4 + j;
                        if coder.code(&mut repeats[ctx], truth == cand) {
                            value = Some(cand);
                            break;
                        }
                        j += 1;
                    }
                }
                let v = value.unwrap_or_else(|| match alphabet {
                    Alphabet::Palette(n) => {
                        let d = depth(n);
                        let reference = [west, north].into_iter().find(|&v| v != NONE);
                        let bucket = reference.unwrap_or(0) as usize >> d.saturating_sub(2);
                        code_tree(coder, &mut escape[bucket << d..][..1 << d], truth, d, n)
                    }
                    Alphabet::Direct(c) => {
                        let mut key = 0u32;
                        let mut prev_error = 0i32;
                        for ch in 0..c {
                            let get = |k: u32| (k != NONE).then(|| channel(k, c, ch));
                            let a = get(west).or(get(north)).unwrap_or(0);
                            let b = get(north).unwrap_or(a);
                            let cc = get(nw).unwrap_or(b);
                            let base = med(a, b, cc);
                            let level = if ch == 0 {
                                activity(((a - cc).abs() + (b - cc).abs()) as u32)
                            } else {
                                activity(prev_error.unsigned_abs())
                            };
                            let pred = (base + prev_error).clamp(0, 255);
                            let want = (channel(truth, c, ch) - pred).rem_euclid(256) as u32;
                            // Zigzag: small residuals of either sign get small codes.
                            let zz = if want < 128 {
                                2 * want
                            } else {
                                2 * (256 - want) - 1
                            };
                            let models =
                                &mut escape[(ch * ACTIVITY_BUCKETS + level) * 256..][..256];
                            let got = code_tree(coder, models, zz, 8, 256);
                            let residual = if got % 2 == 0 {
                                got / 2
                            } else {
                                256 - got.div_ceil(2)
                            };
                            let v = (pred + residual as i32).rem_euclid(256);
                            prev_error = v - base;
                            key = key << 8 | v as u32;
                        }
                        key
                    }
                });
                for (o, &slot) in slots.iter().enumerate() {
                    tables[o][slot].learn(v);
                }
                keys[y * w + x] = v;
            }
            *row += 1;
        }
        true
    }
}

/// Codes (or decodes into) the plane of keys `keys` (`w` per row) in raster order. The
/// encoder passes the keys; the decoder a plane it gets overwritten. `stop` is polled
/// before each row; returns false if it asked to stop.
fn code_plane<C: BitCoder>(
    coder: &mut C,
    keys: &mut [u32],
    w: usize,
    alphabet: Alphabet,
    stop: &dyn Fn() -> bool,
) -> bool {
    let mut state = PlaneState::new(keys.len(), w, alphabet);
    let h = state.h;
    state.code_rows(coder, keys, h, stop)
}

/// Codes `value` (below `n` <= 2^d) bit by bit, most significant first, each bit in the
/// model of its tree node (`models` has 2^d entries, node 1 the root). A bit whose 1
/// would lead only to values >= `n` is not coded. Returns the (decoded) value.
fn code_tree<C: BitCoder>(
    coder: &mut C,
    models: &mut [Bit],
    value: u32,
    d: usize,
    n: usize,
) -> u32 {
    let mut node = 1usize;
    for b in (0..d).rev() {
        let lowest_if_one = ((2 * node + 1) << b) - (1 << d);
        let bit = lowest_if_one < n && coder.code(&mut models[node], value >> b & 1 == 1);
        node = 2 * node + usize::from(bit);
    }
    (node - (1 << d)) as u32
}

/// The encoder's coding of a plane of keys, which can pause after any row and go on
/// later: the codec runs the network between, and abandons a trial that cannot win.
pub(crate) struct Trial {
    state: PlaneState,
    keys: Vec<u32>,
    rec: Recorder,
}

impl Trial {
    /// A trial of `keys` (`w` per row), no row coded yet.
    pub(crate) fn new(keys: Vec<u32>, w: usize, alphabet: Alphabet) -> Self {
        let n = keys.len();
        Trial {
            state: PlaneState::new(n, w, alphabet),
            keys,
            rec: Recorder {
                decisions: Vec::with_capacity(n + n / 4),
                info: 0,
            },
        }
    }

    /// Codes row after row while `go_on(rows coded, information so far in 2^-16 bits)`
    /// says so. True once every row is coded.
    pub(crate) fn run(&mut self, mut go_on: impl FnMut(usize, u64) -> bool) -> bool {
        while self.state.y < self.state.h {
            if !go_on(self.state.y, self.rec.info) {
                return false;
            }
            let next = self.state.y + 1;
            // The loop writes each key back; for the encoder that rewrites the same value.
            self.state
                .code_rows(&mut self.rec, &mut self.keys, next, &|| false);
        }
        true
    }

    /// The ANS stream (little-endian u32 words) of the whole plane; codes the rows left.
    pub(crate) fn stream(mut self) -> Vec<u8> {
        self.run(|_, _| true);
        let d = &self.rec.decisions;
        encode_intervals_rev(d.len(), d.iter().rev().map(|&d| interval(d)))
    }
}

/// Ideal code length in bits of a plane of keys (for tuning and benchmarks).
#[cfg(feature = "unstable-internals")]
pub(crate) fn bits(keys: &[u32], w: usize, alphabet: Alphabet) -> f64 {
    let mut t = Trial::new(keys.to_vec(), w, alphabet);
    t.run(|_, _| true);
    t.rec
        .decisions
        .iter()
        .map(|&d| f64::from(PRECISION) - f64::from(interval(d).1).log2())
        .sum()
}

/// The ANS stream (little-endian u32 words) of a plane of keys, `w` per row.
#[cfg(test)]
pub(crate) fn encode(keys: &[u32], w: usize, alphabet: Alphabet) -> Vec<u8> {
    Trial::new(keys.to_vec(), w, alphabet).stream()
}

/// Decodes a `w` x `h` plane of keys from its ANS stream. Every key is valid for the
/// alphabet by construction (a palette index below n, or c channel bytes). Errors: the
/// stream is not a whole number of words, ends in a zero word, or fails the final-state
/// check; or `stop` (polled before each row) asked to stop.
pub(crate) fn decode(
    stream: &[u8],
    w: usize,
    h: usize,
    alphabet: Alphabet,
    stop: &dyn Fn() -> bool,
) -> Result<Vec<u32>, PayloadError> {
    if !stream.len().is_multiple_of(4) {
        return Err("context stream length is not a whole number of 32-bit words".into());
    }
    let mut dec = StreamDecoder::new(stream)
        .map_err(|_| "context stream ends in a zero word (corrupt stream)")?;
    let mut keys = vec![0u32; w * h];
    if !code_plane(&mut dec, &mut keys, w, alphabet, stop) {
        return Err(PayloadError::Cancelled);
    }
    dec.finish().map_err(|e| match e {
        StreamError::NotExhausted | StreamError::TrailingZeroWord => {
            "context stream fails its final-state check (corrupt stream)"
        }
    })?;
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(keys: &[u32], w: usize, alphabet: Alphabet) -> usize {
        let s = encode(keys, w, alphabet);
        let back = decode(&s, w, keys.len() / w, alphabet, &|| false).expect("decodes");
        assert_eq!(back, keys);
        s.len()
    }

    fn noise(len: usize, modulo: u64) -> Vec<u32> {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % modulo) as u32
            })
            .collect()
    }

    #[test]
    fn planes_round_trip() {
        for (w, h) in [(1usize, 1usize), (1, 9), (9, 1), (13, 7), (64, 33)] {
            for n in [1usize, 2, 3, 5, 16, 17, 200, 256] {
                roundtrip(&noise(w * h, n as u64), w, Alphabet::Palette(n));
            }
            for c in 1..=4usize {
                roundtrip(&noise(w * h, 1 << (8 * c)), w, Alphabet::Direct(c));
                roundtrip(&noise(w * h, 3), w, Alphabet::Direct(c));
            }
        }
    }

    #[test]
    fn a_trial_paused_anywhere_codes_the_same_stream() {
        let (w, h) = (37usize, 23usize);
        for alphabet in [Alphabet::Palette(11), Alphabet::Direct(3)] {
            let n = match alphabet {
                Alphabet::Palette(n) => n as u64,
                Alphabet::Direct(_) => 1 << 24,
            };
            let keys = noise(w * h, n);
            let whole = encode(&keys, w, alphabet);
            for pause in [0usize, 1, 5, h - 1, h] {
                let mut t = Trial::new(keys.clone(), w, alphabet);
                let mut last = 0;
                assert_eq!(
                    t.run(|y, info| {
                        // The information only grows, row by row.
                        assert!(info >= last);
                        last = info;
                        y < pause
                    }),
                    pause >= h
                );
                assert_eq!(t.stream(), whole, "paused after {pause} rows");
            }
        }
    }

    #[test]
    fn repeats_cost_almost_nothing() {
        // Stripes of 3 colours, 10 px wide: after learning, nearly every pixel repeats.
        let (w, h) = (200usize, 200usize);
        let keys: Vec<u32> = (0..w * h).map(|i| ((i % w) / 10 % 3) as u32).collect();
        let bytes = roundtrip(&keys, w, Alphabet::Palette(3));
        assert!(bytes < 200, "{bytes} bytes for 40,000 repeating pixels");
        let rgb: Vec<u32> = keys.iter().map(|&k| k * 0x30_5020).collect();
        let bytes = roundtrip(&rgb, w, Alphabet::Direct(3));
        assert!(bytes < 200, "{bytes} bytes for 40,000 repeating pixels");
    }

    #[test]
    fn smooth_gradients_cost_little_directly() {
        let (w, h) = (128usize, 64usize);
        let keys: Vec<u32> = (0..w * h)
            .map(|i| {
                let (y, x) = ((i / w) as u32, (i % w) as u32);
                (x * 2) << 16 | (y * 3) << 8 | (x + y)
            })
            .collect();
        let bytes = roundtrip(&keys, w, Alphabet::Direct(3));
        assert!(bytes < w * h / 4, "{bytes} bytes for a smooth gradient");
    }

    #[test]
    fn probabilities_stay_inside_the_precision() {
        for bit in [false, true] {
            let mut b = Bit::default();
            for _ in 0..5000 {
                b.update(bit);
                assert!((1..1 << PRECISION).contains(&b.f0()));
            }
        }
    }

    #[test]
    fn damaged_streams_are_errors() {
        let (w, h) = (16usize, 16usize);
        let a = Alphabet::Palette(7);
        let keys = noise(w * h, 7);
        let s = encode(&keys, w, a);
        let go = &|| false;
        assert!(decode(&s[..s.len() - 1], w, h, a, go).is_err());
        let mut longer = s.clone();
        longer.extend_from_slice(&[1, 0, 0, 0]);
        assert!(decode(&longer, w, h, a, go).is_err());
        let mut zero_end = s.clone();
        zero_end.extend_from_slice(&[0, 0, 0, 0]);
        assert!(decode(&zero_end, w, h, a, go).is_err());
        assert_eq!(decode(&s, w, h, a, &|| true), Err(PayloadError::Cancelled));
    }
}
