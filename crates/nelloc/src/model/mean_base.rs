//! Mean parametrisations of the mixture head (docs/FORMAT.md, "Mean base").
//!
//! `Absolute`: the head outputs each component's mean directly (Q8 pixels).
//! `Predicted`: component k's mean for channel c is a classical integer predictor P_k of
//! channel c's causal neighbours plus the head output, and the channel coupling acts on
//! the residuals x - P_k(x). The network then only learns corrections to predictors that
//! already code like a classical lossless codec.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::mixture::{MAX_C, MAX_K};
use crate::schedule::TileBuf;

/// Q8 value of a neighbour outside the tile: mid grey, 127.5 x 256 (the network sees 0).
pub(crate) const OUTSIDE_Q8: i32 = 32640;
/// Q8 value of 255.
const MAX_Q8: i32 = 255 * 256;

/// A classical integer predictor of one channel from its causal neighbours.
///
/// W = (i, j-1), WW = (i, j-2), N = (i-1, j), NN = (i-2, j), NW = (i-1, j-1),
/// NE = (i-1, j+1); each is 256·x inside the tile and 32640 outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Predictor {
    /// W.
    W,
    /// N.
    N,
    /// NE.
    Ne,
    /// NW.
    Nw,
    /// (W + N) / 2 (exact in Q8).
    AvgWN,
    /// (W + NE) / 2 (exact in Q8).
    AvgWNe,
    /// The LOCO-I / JPEG-LS median edge detector MED(W, N, NW).
    MedWNNw,
    /// clamp(W + N - NW, 0, 255).
    GradWNNw,
    /// clamp(2W - WW, 0, 255).
    LinWWw,
    /// clamp(2N - NN, 0, 255).
    LinNNn,
}

const ALL: [(Predictor, &str); 10] = [
    (Predictor::W, "W"),
    (Predictor::N, "N"),
    (Predictor::Ne, "NE"),
    (Predictor::Nw, "NW"),
    (Predictor::AvgWN, "avg_W_N"),
    (Predictor::AvgWNe, "avg_W_NE"),
    (Predictor::MedWNNw, "med_W_N_NW"),
    (Predictor::GradWNNw, "grad_W_N_NW"),
    (Predictor::LinWWw, "lin_W_WW"),
    (Predictor::LinNNn, "lin_N_NN"),
];

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

impl Predictor {
    /// The name used in model files.
    pub fn name(self) -> &'static str {
        ALL.iter().find(|(p, _)| *p == self).map_or("?", |(_, n)| n)
    }

    /// The predictor with this model-file name.
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.iter().find(|(_, n)| *n == name).map(|(p, _)| *p)
    }

    /// The ten predictors of the shipped predictor-relative models, in component order.
    pub fn standard_ten() -> [Predictor; 10] {
        ALL.map(|(p, _)| p)
    }

    /// Smallest horizon whose context holds every neighbour the predictor reads.
    pub fn min_horizon(self) -> u32 {
        match self {
            Predictor::LinWWw | Predictor::LinNNn => 2,
            _ => 1,
        }
    }

    /// The prediction in Q8 (0..=65280): the readable definition, which the tests hold
    /// the production table ([`all_predictions`]) to.
    #[cfg(test)]
    pub(crate) fn predict(self, nb: &Neighbours) -> i32 {
        match self {
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

impl Serialize for Predictor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Predictor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Predictor::from_name(&name).ok_or_else(|| {
            let known: Vec<&str> = ALL.iter().map(|(_, n)| *n).collect();
            D::Error::custom(format!(
                "unknown predictor \"{name}\" (expected one of {})",
                known.join(", ")
            ))
        })
    }
}

/// One predictor per mixture component (at most [`MAX_K`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Predictors {
    len: u8,
    list: [Predictor; MAX_K],
}

impl Predictors {
    /// `None` when `list` is empty or longer than the largest mixture count (32).
    pub fn new(list: &[Predictor]) -> Option<Self> {
        if list.is_empty() || list.len() > MAX_K {
            return None;
        }
        let mut p = Predictors {
            len: list.len() as u8,
            list: [Predictor::W; MAX_K],
        };
        p.list[..list.len()].copy_from_slice(list);
        Some(p)
    }

    /// The predictors in component order.
    pub fn as_slice(&self) -> &[Predictor] {
        &self.list[..self.len as usize]
    }

    /// Number of predictors.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Always false (a list has at least one predictor).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Iterates in component order.
    pub fn iter(&self) -> impl Iterator<Item = &Predictor> {
        self.as_slice().iter()
    }
}

impl fmt::Debug for Predictors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// What the head's component means are relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MeanBase {
    /// Means are pixel values (coupling on x - 127.5); every model of the first release.
    #[default]
    Absolute,
    /// Means are offsets from per-component predictors (coupling on x - P_k(x)).
    Predicted(Predictors),
}

/// Per channel and component: the Q8 base added to the head's mean and the reference the
/// coupling subtracts from an earlier channel's value.
pub(crate) type Bases = [[i32; MAX_K]; MAX_C];

impl MeanBase {
    /// True for [`MeanBase::Absolute`].
    pub fn is_absolute(&self) -> bool {
        matches!(self, MeanBase::Absolute)
    }

    /// The bases of pixel (i, j) of `tile` for channels `first..first+channels`, or `None`
    /// for absolute means. Every neighbour read is causal (earlier in any symbol order).
    #[inline]
    pub(crate) fn bases(
        &self,
        tile: &TileBuf<'_>,
        i: usize,
        j: usize,
        first: usize,
        channels: usize,
    ) -> Option<Bases> {
        let MeanBase::Predicted(p) = self else {
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

impl Serialize for MeanBase {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MeanBase::Absolute => s.serialize_str("absolute"),
            MeanBase::Predicted(p) => p.as_slice().serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for MeanBase {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Name(String),
            List(Vec<String>),
        }
        match Repr::deserialize(d)? {
            Repr::Name(n) if n == "absolute" => Ok(MeanBase::Absolute),
            Repr::Name(n) => Err(D::Error::custom(format!(
                "mean_base \"{n}\" (expected \"absolute\" or a list of predictors)"
            ))),
            Repr::List(names) => {
                let mut list = Vec::with_capacity(names.len());
                for n in &names {
                    list.push(Predictor::from_name(n).ok_or_else(|| {
                        D::Error::custom(format!("mean_base: unknown predictor \"{n}\""))
                    })?);
                }
                Predictors::new(&list)
                    .map(MeanBase::Predicted)
                    .ok_or_else(|| {
                        D::Error::custom(format!(
                            "mean_base lists {} predictors (expected 1..={MAX_K})",
                            list.len()
                        ))
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                assert_eq!(f64::from(p.predict(&nb)), want, "{p:?} {nb:?}");
                assert_eq!(f64::from(all[p as usize]), want, "{p:?} {nb:?} (table)");
            }
        }
    }

    #[test]
    fn the_table_is_in_discriminant_order() {
        // `bases` indexes the table of all predictions by discriminant.
        for (i, (p, _)) in ALL.iter().enumerate() {
            assert_eq!(*p as usize, i);
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for p in Predictor::standard_ten() {
            assert_eq!(Predictor::from_name(p.name()), Some(p));
        }
        let mb = MeanBase::Predicted(Predictors::new(&Predictor::standard_ten()).unwrap());
        let json = serde_json::to_string(&mb).unwrap();
        assert_eq!(
            json,
            r#"["W","N","NE","NW","avg_W_N","avg_W_NE","med_W_N_NW","grad_W_N_NW","lin_W_WW","lin_N_NN"]"#
        );
        assert_eq!(serde_json::from_str::<MeanBase>(&json).unwrap(), mb);
        assert_eq!(
            serde_json::from_str::<MeanBase>("\"absolute\"").unwrap(),
            MeanBase::Absolute
        );
        for bad in ["[]", "[\"X\"]", "\"relative\"", "3"] {
            assert!(serde_json::from_str::<MeanBase>(bad).is_err(), "{bad}");
        }
        let too_many = format!("[{}]", vec!["\"W\""; MAX_K + 1].join(","));
        assert!(serde_json::from_str::<MeanBase>(&too_many).is_err());
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
