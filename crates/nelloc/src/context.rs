//! Contexts: what the network and the mixture see of a pixel's causal neighbourhood.
//!
//! [`gather_context`] writes the network input of a pixel (its window of horizon h, in
//! network units), [`bases`] evaluates the classical predictors of a predictor-relative
//! model's mean base (docs/FORMAT.md, "Mean base") from the same neighbourhood. Both read
//! only pixels earlier in every symbol order, so encoder and decoder see the same values.

use crate::mixture::{Bases, MAX_C, MAX_K};
use crate::model::MeanBase;
#[cfg(test)]
use crate::model::Predictor;
use crate::schedule::TileBuf;

/// Q8 value of a neighbour outside the tile: mid grey, 127.5 x 256 (the network sees 0).
pub(crate) const OUTSIDE_Q8: i32 = 32640;
/// Q8 value of 255.
const MAX_Q8: i32 = 255 * 256;

/// Fills `input` with the network input of pixel (i, j) for channels
/// `first..first+channels`: `2x - 255` inside the tile, 0 outside.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gather_context(
    tile: &TileBuf<'_>,
    i: usize,
    j: usize,
    horizon: usize,
    first: usize,
    channels: usize,
    input: &mut [i16],
) {
    let hz = horizon;
    // Interior pixels (the whole window inside the tile) copy row slices directly.
    if i >= hz && j >= hz && j + hz < tile.w {
        let width = (2 * hz + 1) * channels;
        if tile.stride == channels {
            // The plane group is the whole pixel: every window row is one contiguous run
            // of samples (a loop the compiler vectorises).
            let conv = |dst: &mut [i16], src: &[u8]| {
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = 2 * i16::from(v) - 255;
                }
            };
            for (r, y) in (i - hz..i).enumerate() {
                let at = (y * tile.w + j - hz) * channels;
                conv(&mut input[r * width..][..width], &tile.data[at..][..width]);
            }
            let at = (i * tile.w + j - hz) * channels;
            conv(
                &mut input[hz * width..][..hz * channels],
                &tile.data[at..][..hz * channels],
            );
            return;
        }
        let mut k = 0;
        for y in i - hz..i {
            let row = &tile.data[(y * tile.w + j - hz) * tile.stride..];
            for (x, px) in row.chunks(tile.stride).take(2 * hz + 1).enumerate() {
                for c in 0..channels {
                    input[k + x * channels + c] = 2 * i16::from(px[first + c]) - 255;
                }
            }
            k += width;
        }
        let row = &tile.data[(i * tile.w + j - hz) * tile.stride..];
        for (x, px) in row.chunks(tile.stride).take(hz).enumerate() {
            for c in 0..channels {
                input[k + x * channels + c] = 2 * i16::from(px[first + c]) - 255;
            }
        }
        return;
    }
    let h = horizon as isize;
    let mut k = 0;
    let mut put = |di: isize, dj: isize, input: &mut [i16]| {
        let (y, x) = (i as isize + di, j as isize + dj);
        let inside = y >= 0 && x >= 0 && (x as usize) < tile.w && (y as usize) < tile.h;
        for c in 0..channels {
            input[k + c] = if inside {
                let v = tile.data[(y as usize * tile.w + x as usize) * tile.stride + first + c];
                2 * i16::from(v) - 255
            } else {
                0
            };
        }
        k += channels;
    };
    for di in -h..0 {
        for dj in -h..=h {
            put(di, dj, input);
        }
    }
    for dj in -h..0 {
        put(0, dj, input);
    }
}

/// The causal neighbours of one channel of one pixel, Q8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Neighbours {
    pub(crate) w: i32,
    pub(crate) ww: i32,
    pub(crate) n: i32,
    pub(crate) nn: i32,
    pub(crate) nw: i32,
    pub(crate) ne: i32,
}

/// Every predictor's value, indexed by discriminant (the order of [`ALL`]).
#[inline]
fn all_predictions(nb: &Neighbours) -> [i32; 10] {
    let (lo, hi) = (nb.w.min(nb.n), nb.w.max(nb.n));
    let grad = nb.w + nb.n - nb.nw;
    let med = if nb.nw >= hi {
        lo
    } else if nb.nw <= lo {
        hi
    } else {
        grad
    };
    [
        nb.w,
        nb.n,
        nb.ne,
        nb.nw,
        (nb.w + nb.n) >> 1,
        (nb.w + nb.ne) >> 1,
        med,
        grad.clamp(0, MAX_Q8),
        (2 * nb.w - nb.ww).clamp(0, MAX_Q8),
        (2 * nb.n - nb.nn).clamp(0, MAX_Q8),
    ]
}

/// The bases of pixel (i, j) of `tile` for channels `first..first+channels` under
/// `mean_base`, or `None` for absolute means. Every neighbour read is causal (earlier in
/// any symbol order).
#[inline]
pub(crate) fn bases(
    mean_base: &MeanBase,
    tile: &TileBuf<'_>,
    i: usize,
    j: usize,
    first: usize,
    channels: usize,
) -> Option<Bases> {
    let MeanBase::Predicted(p) = mean_base else {
        return None;
    };
    let mut b = [[0i32; MAX_K]; MAX_C];
    for (ch, row) in b.iter_mut().enumerate().take(channels) {
        // Every predictor once, straight-line, then one lookup per component.
        let nb = neighbours(tile, i, j, first + ch);
        let all = all_predictions(&nb);
        for (slot, q) in row.iter_mut().zip(p.iter()) {
            *slot = all[*q as usize];
        }
    }
    Some(b)
}

/// Q8 neighbours of sample `sample` of pixel (i, j); positions outside the tile are
/// [`OUTSIDE_Q8`].
#[inline]
pub(crate) fn neighbours(tile: &TileBuf<'_>, i: usize, j: usize, sample: usize) -> Neighbours {
    if i >= 2 && j >= 2 && j + 1 < tile.w {
        // Interior: every neighbour is inside the tile.
        let (w, s) = (tile.w, tile.stride);
        let q = |y: usize, x: usize| 256 * i32::from(tile.data[(y * w + x) * s + sample]);
        return Neighbours {
            w: q(i, j - 1),
            ww: q(i, j - 2),
            n: q(i - 1, j),
            nn: q(i - 2, j),
            nw: q(i - 1, j - 1),
            ne: q(i - 1, j + 1),
        };
    }
    let at = |di: usize, dj: isize| -> i32 {
        // Rows above 0 and columns outside 0..w are outside the tile.
        let x = j as isize + dj;
        if di > i || x < 0 || x as usize >= tile.w {
            return OUTSIDE_Q8;
        }
        let y = i - di;
        256 * i32::from(tile.data[(y * tile.w + x as usize) * tile.stride + sample])
    };
    Neighbours {
        w: at(0, -1),
        ww: at(0, -2),
        n: at(1, 0),
        nn: at(2, 0),
        nw: at(1, -1),
        ne: at(1, 1),
    }
}

/// The prediction of `p` in Q8 (0..=65280): the readable definition, which the tests
/// hold the production table ([`all_predictions`]) to.
#[cfg(test)]
pub(crate) fn predict(p: Predictor, nb: &Neighbours) -> i32 {
    match p {
        Predictor::W => nb.w,
        Predictor::N => nb.n,
        Predictor::Ne => nb.ne,
        Predictor::Nw => nb.nw,
        // Both operands are multiples of 128, so the halving is exact.
        Predictor::AvgWN => (nb.w + nb.n) >> 1,
        Predictor::AvgWNe => (nb.w + nb.ne) >> 1,
        Predictor::MedWNNw => {
            let (lo, hi) = (nb.w.min(nb.n), nb.w.max(nb.n));
            if nb.nw >= hi {
                lo
            } else if nb.nw <= lo {
                hi
            } else {
                nb.w + nb.n - nb.nw
            }
        }
        Predictor::GradWNNw => (nb.w + nb.n - nb.nw).clamp(0, MAX_Q8),
        Predictor::LinWWw => (2 * nb.w - nb.ww).clamp(0, MAX_Q8),
        Predictor::LinNNn => (2 * nb.n - nb.nn).clamp(0, MAX_Q8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The general (bounds-checked) gather, as the reference for the interior fast path.
    fn gather_slow(
        tile: &TileBuf<'_>,
        i: usize,
        j: usize,
        hz: usize,
        first: usize,
        c: usize,
    ) -> Vec<i16> {
        let h = hz as isize;
        let mut v = Vec::new();
        let mut put = |di: isize, dj: isize| {
            let (y, x) = (i as isize + di, j as isize + dj);
            for ch in 0..c {
                v.push(
                    if y >= 0 && x >= 0 && (x as usize) < tile.w && (y as usize) < tile.h {
                        2 * i16::from(
                            tile.data
                                [(y as usize * tile.w + x as usize) * tile.stride + first + ch],
                        ) - 255
                    } else {
                        0
                    },
                );
            }
        };
        for di in -h..0 {
            for dj in -h..=h {
                put(di, dj);
            }
        }
        for dj in -h..0 {
            put(0, dj);
        }
        v
    }

    #[test]
    fn context_gathering_matches_the_definition_everywhere() {
        for (w, h, stride, first, c) in [
            (13, 9, 4, 0, 3),
            (13, 9, 4, 3, 1),
            (8, 8, 1, 0, 1),
            (20, 5, 2, 1, 1),
        ] {
            let data: Vec<u8> = (0..w * h * stride).map(|i| (i * 37 % 256) as u8).collect();
            let tile = TileBuf {
                data: &data,
                w,
                h,
                stride,
            };
            for hz in 1..=3 {
                let n = (hz * (2 * hz + 1) + hz) * c;
                let mut input = vec![7i16; n];
                for i in 0..h {
                    for j in 0..w {
                        gather_context(&tile, i, j, hz, first, c, &mut input);
                        assert_eq!(
                            input,
                            gather_slow(&tile, i, j, hz, first, c),
                            "({i},{j}) h={hz}"
                        );
                    }
                }
            }
        }
    }

    /// The definitions of FORMAT.md, written independently in pixel units (f64): a
    /// prediction in Q8 must equal 256 x the pixel-unit value exactly.
    fn definition(p: Predictor, w: f64, ww: f64, n: f64, nn: f64, nw: f64, ne: f64) -> f64 {
        let clamp = |v: f64| v.clamp(0.0, 255.0);
        match p {
            Predictor::W => w,
            Predictor::N => n,
            Predictor::Ne => ne,
            Predictor::Nw => nw,
            Predictor::AvgWN => (w + n) / 2.0,
            Predictor::AvgWNe => (w + ne) / 2.0,
            Predictor::MedWNNw => {
                // median of W, N and W + N - NW
                let mut v = [w, n, w + n - nw];
                v.sort_by(|a, b| a.partial_cmp(b).unwrap());
                v[1]
            }
            Predictor::GradWNNw => clamp(w + n - nw),
            Predictor::LinWWw => clamp(2.0 * w - ww),
            Predictor::LinNNn => clamp(2.0 * n - nn),
        }
    }

    #[test]
    fn predictors_match_their_definitions() {
        let mut s = 99u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        // Pixel values, plus 127.5 (outside the tile) now and then.
        let mut val = || -> (i32, f64) {
            if next() % 7 == 0 {
                (OUTSIDE_Q8, 127.5)
            } else {
                let x = [0u64, 255, 1, 254][(next() % 8).min(4) as usize % 4];
                let x = if next() % 2 == 0 { next() % 256 } else { x };
                (256 * x as i32, x as f64)
            }
        };
        for _ in 0..20000 {
            let (w, ww, n, nn, nw, ne) = (val(), val(), val(), val(), val(), val());
            let nb = Neighbours {
                w: w.0,
                ww: ww.0,
                n: n.0,
                nn: nn.0,
                nw: nw.0,
                ne: ne.0,
            };
            let all = all_predictions(&nb);
            for p in Predictor::standard_ten() {
                let want = definition(p, w.1, ww.1, n.1, nn.1, nw.1, ne.1) * 256.0;
                assert_eq!(f64::from(predict(p, &nb)), want, "{p:?} {nb:?}");
                assert_eq!(f64::from(all[p as usize]), want, "{p:?} {nb:?} (table)");
            }
        }
    }

    #[test]
    fn the_table_is_in_discriminant_order() {
        // `bases` indexes the table of all predictions by discriminant.
        for (i, p) in Predictor::standard_ten().into_iter().enumerate() {
            assert_eq!(p as usize, i);
        }
    }

    #[test]
    fn neighbours_match_a_naive_reading_everywhere() {
        let (w, h, stride) = (7usize, 6usize, 3usize);
        let data: Vec<u8> = (0..w * h * stride).map(|v| (v * 37 % 251) as u8).collect();
        let tile = TileBuf {
            data: &data,
            w,
            h,
            stride,
        };
        let naive = |i: usize, j: usize, dy: isize, dx: isize, s: usize| -> i32 {
            let (y, x) = (i as isize + dy, j as isize + dx);
            if y < 0 || x < 0 || x >= w as isize {
                OUTSIDE_Q8
            } else {
                256 * i32::from(data[(y as usize * w + x as usize) * stride + s])
            }
        };
        for i in 0..h {
            for j in 0..w {
                for s in 0..stride {
                    let nb = neighbours(&tile, i, j, s);
                    let want = Neighbours {
                        w: naive(i, j, 0, -1, s),
                        ww: naive(i, j, 0, -2, s),
                        n: naive(i, j, -1, 0, s),
                        nn: naive(i, j, -2, 0, s),
                        nw: naive(i, j, -1, -1, s),
                        ne: naive(i, j, -1, 1, s),
                    };
                    assert_eq!(nb, want, "({i}, {j}) sample {s}");
                }
            }
        }
    }

    #[test]
    fn neighbours_outside_the_tile_are_mid_grey() {
        // 3x2 tile, 2 samples per pixel; sample 1 holds 10*i + j.
        let mut data = vec![0u8; 3 * 2 * 2];
        for i in 0..2 {
            for j in 0..3 {
                data[(i * 3 + j) * 2 + 1] = (10 * i + j) as u8;
            }
        }
        let tile = TileBuf {
            data: &data,
            w: 3,
            h: 2,
            stride: 2,
        };
        let o = OUTSIDE_Q8;
        let nb = neighbours(&tile, 0, 0, 1);
        assert_eq!(
            nb,
            Neighbours {
                w: o,
                ww: o,
                n: o,
                nn: o,
                nw: o,
                ne: o
            }
        );
        let nb = neighbours(&tile, 1, 2, 1);
        assert_eq!(
            nb,
            Neighbours {
                w: 256 * 11,
                ww: 256 * 10,
                n: 256 * 2,
                nn: o,
                nw: 256,
                ne: o
            }
        );
    }
}
