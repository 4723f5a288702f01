//! PNG-style row coding: the five PNG filters, the encoder's per-row filter choice, and
//! the zlib streams the filtered rows are deflated into (and bounded inflation back).

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
pub(super) fn unfilter(
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

/// Below this many raw bytes, deflate trials cost more than they can find (each sets up
/// a few hundred KB of compressor state): one strategy is tried, and the final deflate
/// skips libdeflate.
const SMALL_PLANE: usize = 64;

/// The filter strategy whose rows deflate smallest at a fast level: (that size, rows),
/// or `None` when every strategy's size `n` is `useless(n)` (the caller would discard
/// it). `useless` must be monotone (useless at n means useless above n): a trial stops as
/// soon as its output so far is useless or no smaller than the best strategy's, so the
/// choice and the size returned are those of running every trial to the end.
pub(super) fn best_filtering(
    raw: &[u8],
    row_bytes: usize,
    h: usize,
    bpp: usize,
    useless: &dyn Fn(usize) -> bool,
) -> Option<(usize, Vec<u8>)> {
    let strategies = if raw.len() < SMALL_PLANE {
        &STRATEGIES[..1]
    } else {
        &STRATEGIES[..]
    };
    let mut best: Option<(usize, Vec<u8>)> = None;
    for &strategy in strategies {
        let filtered = filter_all(raw, row_bytes, h, bpp, strategy);
        // A later strategy wins only when strictly smaller (ties keep the earlier one).
        let beaten = |n: usize| useless(n) || best.as_ref().is_some_and(|b| n >= b.0);
        if let Some(n) = trial_deflate_len(&filtered, &beaten) {
            best = Some((n, filtered));
        }
    }
    best
}

/// The length of `compress_to_vec_zlib(data, TRIAL_LEVEL)`, or `None` as soon as the
/// output so far satisfies `stop` (monotone; the output only grows, so the final length
/// would too). The same compressor calls as miniz_oxide's `compress_to_vec_inner`, with
/// the output written into a reused buffer and counted.
fn trial_deflate_len(data: &[u8], stop: &dyn Fn(usize) -> bool) -> Option<usize> {
    use miniz_oxide::deflate::core::{
        compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
    };
    thread_local! {
        /// A compressor kept per thread: a fresh one costs about 300 KB of set-up, and
        /// `reset` returns one to exactly that state.
        static TRIAL: std::cell::RefCell<Option<Box<CompressorOxide>>> =
            const { std::cell::RefCell::new(None) };
    }
    TRIAL.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compressor = cell.get_or_insert_with(|| {
            let flags = create_comp_flags_from_zip_params(TRIAL_LEVEL.into(), 1, 0);
            Box::new(CompressorOxide::new(flags))
        });
        compressor.reset();
        let mut out = [0u8; TRIAL_CHUNK];
        let (mut input, mut total) = (data, 0usize);
        loop {
            let (status, used, written) = compress(compressor, input, &mut out, TDEFLFlush::Finish);
            total += written;
            if stop(total) {
                return None;
            }
            match status {
                TDEFLStatus::Done => return Some(total),
                TDEFLStatus::Okay if used <= input.len() => input = &input[used..],
                // Not reachable with a valid compressor and buffer; such a trial loses.
                _ => return None,
            }
        }
    })
}

/// Output bytes per call of [`trial_deflate_len`]: how often it checks its size.
const TRIAL_CHUNK: usize = 4096;

/// The libdeflate levels of the two probes of [`may_reach`]: level 4 costs about 1/40 of
/// [`best_filtering`]'s eight trials, level 8 about 1/15.
const PROBE_LEVELS: [i32; 2] = [4, 8];

/// How far above the size to beat each probe may be for the trials to run. On every plane
/// group of the validation crops and the `tools/content.py` sets (518) where a deflate
/// mode won, the final payload was at least 1/1.262 of the level-4 probe and 1/1.167 of
/// the level-8 one (docs/PERFORMANCE.md, "Encoding"); the margins are about 10% above.
const PROBE_MARGINS: [f64; 2] = [1.4, 1.25];

/// Whether the deflate trials on `raw` may come under `limit` bytes. Probes: the
/// unfiltered rows and the MinSum filtering (where a deflate mode won in our sets, its
/// final payload came from one of the two) at libdeflate level 4, then the smaller of them
/// at level 8, each against its margin.
pub(super) fn may_reach(raw: &[u8], row_bytes: usize, h: usize, bpp: usize, limit: f64) -> bool {
    // Whether a probe's size is at most `margin * limit`, given the output room for
    // exactly that many bytes: libdeflate gives up (and says so) as soon as a block would
    // not fit, so a probe far above stops early. Its size when it fits.
    let within = |filtered: &[u8], level: usize, margin: f64| -> Option<usize> {
        let room = (margin * limit).floor();
        PROBES.with(|p| {
            let mut p = p.borrow_mut();
            let (compressors, out) = &mut *p;
            let c = &mut compressors[level];
            let room = if room >= 0.0 { room as usize } else { 0 };
            let room = room.min(c.zlib_compress_bound(filtered.len()));
            out.resize(room.max(out.len()), 0);
            c.zlib_compress(filtered, &mut out[..room]).ok()
        })
    };
    let Some((_, filtered)) = [Strategy::Fixed(0), Strategy::MinSum]
        .into_iter()
        .filter_map(|s| {
            let filtered = filter_all(raw, row_bytes, h, bpp, s);
            within(&filtered, 0, PROBE_MARGINS[0]).map(|n| (n, filtered))
        })
        .min_by_key(|p| p.0)
    else {
        return false;
    };
    within(&filtered, 1, PROBE_MARGINS[1]).is_some()
}

thread_local! {
    /// The probes' compressors (at [`PROBE_LEVELS`]) and output buffer, kept per thread:
    /// each costs hundreds of KB to set up, and compressing leaves no state behind.
    static PROBES: std::cell::RefCell<([libdeflater::Compressor; 2], Vec<u8>)> =
        std::cell::RefCell::new((
            PROBE_LEVELS.map(|l| {
                libdeflater::Compressor::new(
                    libdeflater::CompressionLvl::new(l).unwrap_or_default(),
                )
            }),
            Vec::new(),
        ));
}

// ---------------------------------------------------------------- zlib

/// Deflate level used to compare filter strategies (miniz_oxide).
const TRIAL_LEVEL: u8 = 6;

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 9)
}

/// The final deflate of the chosen filtering: libdeflate at its best level (12), or
/// miniz_oxide's best level if that is smaller.
pub(super) fn deflate_final(data: &[u8]) -> Vec<u8> {
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
pub(super) fn inflate_exact(z: &[u8], expected: usize) -> Result<Vec<u8>, &'static str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_lengths_are_miniz_lengths_and_stop_only_above_the_limit() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in [0usize, 1, 100, 5000, 70_000, 200_000] {
            for noise in [1u64, 16, 256] {
                let data: Vec<u8> = (0..len)
                    .map(|i| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        ((i as u64 / 7 + x % noise) % 256) as u8
                    })
                    .collect();
                let n = miniz_oxide::deflate::compress_to_vec_zlib(&data, TRIAL_LEVEL).len();
                assert_eq!(
                    trial_deflate_len(&data, &|_| false),
                    Some(n),
                    "{len} {noise}"
                );
                // Stopping at the exact size or below: abandoned; above it: exact.
                assert_eq!(trial_deflate_len(&data, &|t| t >= n), None);
                assert_eq!(trial_deflate_len(&data, &|t| t > n), Some(n));
            }
        }
    }

    #[test]
    fn libdeflate_fails_exactly_when_the_room_is_too_small() {
        // What `may_reach` relies on: a bounded output gives the size if it fits, else
        // an error, never a different stream.
        let mut x = 7u32;
        for len in [0usize, 10, 3000, 100_000] {
            for noise in [2u32, 64, 256] {
                let data: Vec<u8> = (0..len)
                    .map(|i| {
                        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        ((i as u32 / 5 + (x >> 16) % noise) % 256) as u8
                    })
                    .collect();
                for level in PROBE_LEVELS {
                    let mut c = libdeflater::Compressor::new(
                        libdeflater::CompressionLvl::new(level).unwrap(),
                    );
                    let mut z = vec![0u8; c.zlib_compress_bound(len)];
                    let n = c.zlib_compress(&data, &mut z).unwrap();
                    let mut y = vec![0u8; n];
                    assert_eq!(c.zlib_compress(&data, &mut y).ok(), Some(n));
                    assert_eq!(y, z[..n]);
                    assert!(c.zlib_compress(&data, &mut y[..n - 1]).is_err());
                }
            }
        }
    }

    #[test]
    fn bounded_filtering_picks_what_the_full_search_picks() {
        let (w, h, bpp) = (200usize, 40usize, 3usize);
        let raw: Vec<u8> = (0..w * h * bpp)
            .map(|i| ((i % 600) as u32 * 7 / 5 + (i / 600) as u32 * 3) as u8)
            .collect();
        let full = best_filtering(&raw, w * bpp, h, bpp, &|_| false).unwrap();
        // The exhaustive choice, trial by trial.
        let sizes: Vec<usize> = STRATEGIES
            .iter()
            .map(|&s| {
                let f = filter_all(&raw, w * bpp, h, bpp, s);
                miniz_oxide::deflate::compress_to_vec_zlib(&f, TRIAL_LEVEL).len()
            })
            .collect();
        let min = *sizes.iter().min().unwrap();
        let first = sizes.iter().position(|&n| n == min).unwrap();
        assert_eq!(full.0, min);
        assert_eq!(full.1, filter_all(&raw, w * bpp, h, bpp, STRATEGIES[first]));
        // A limit at the best size drops everything; just above it keeps the same choice.
        assert!(best_filtering(&raw, w * bpp, h, bpp, &|n| n >= min).is_none());
        assert_eq!(
            best_filtering(&raw, w * bpp, h, bpp, &|n| n > min),
            Some(full)
        );
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
