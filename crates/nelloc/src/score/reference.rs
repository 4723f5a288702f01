//! One-class typicality: how far an image's likelihood features lie from those of a
//! user's in-distribution images (docs/OOD.md).
//!
//! No single OOD score catches every kind of outlier (grey photographs show only in the
//! share of bits spent on colour, text and artwork in the share of flat pixels, synthetic
//! textures in the local complexity), so a [`Reference`] holds the mean, spread and
//! correlation of all of [`Score`]'s features over a fit set, and scores an image by its
//! shrunk Mahalanobis distance from them, and (the recommended score) by its *novelty*:
//! the tail probability of its most extreme feature under per-feature, per-direction tail
//! models fitted on the same set, so that one extreme feature is not diluted among ten.
//! The fit is plain f64 arithmetic in the order of the scores given (not the coding path);
//! the features come from the integer bits, so both are identical at any thread count.

use serde::{Deserialize, Serialize};

use super::Score;
use crate::error::{ReferenceError, Result};
use crate::model::Model;

/// Shrinkage of [`Reference::fit`] when none is chosen: the fitted correlations are
/// halved. A fit set is never quite the images scored later (other photographs, other
/// scales), and full correlations make small shifts between them look like outliers.
pub const DEFAULT_SHRINKAGE: f64 = 0.5;

/// Fewest images [`Reference::fit`] accepts (a spread needs two; use dozens).
pub const MIN_FIT_IMAGES: usize = 2;

/// Standard deviations are floored here (features are bits per subpixel or fractions):
/// a feature constant over the fit set must not make every change of it infinitely unusual.
const MIN_STD: f64 = 1e-3;

/// Share of the fit set in each tail of [`Reference::fit`]'s novelty tail models: per
/// feature and direction, the `k = ceil(fraction * n)` (at least 1, at most n - 1) most
/// extreme fit values are the exceedances over the threshold, the next one. Chosen by
/// `tools/ood-eval loso-sets` (docs/OOD.md).
pub const NOVELTY_TAIL_FRACTION: f64 = 0.1;

/// Floor of the mean excess of a novelty tail (features are bits per subpixel or
/// fractions): a feature whose fit values are all equal must not make every change of it
/// infinitely unusual.
const MIN_EXCESS: f64 = 1e-3;

const FORMAT: &str = "nelloc-ood-reference";
/// Version 2 adds the novelty tail models (`tails`); version 1 files still load, without
/// novelty.
const VERSION: u32 = 2;

/// A feature of [`Score`] by name (`None`: this score lacks it).
fn feature(score: &Score, name: &str) -> Option<f64> {
    Some(match name {
        "bpsp" => score.bpsp,
        "complexity" => score.complexity,
        "ratio" => score.ratio?,
        "local" => score.local,
        "chroma_share" => score.chroma_share(),
        "flat" => score.flat,
        "q50" => score.quantiles[0],
        "q90" => score.quantiles[1],
        "q99" => score.quantiles[2],
        "spread" => score.spread,
        _ => return None,
    })
}

/// Every feature name [`feature`] knows, in the order a fit uses them. `generic_bpsp` is
/// left out: it is `bpsp - complexity`, and a linear combination adds nothing.
const FEATURES: [&str; 10] = [
    "bpsp",
    "complexity",
    "ratio",
    "local",
    "chroma_share",
    "flat",
    "q50",
    "q90",
    "q99",
    "spread",
];

/// A model as a reference names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ModelId {
    name: String,
    hash: String,
}

impl ModelId {
    fn of(model: &Model) -> Self {
        ModelId {
            name: model.name().to_string(),
            hash: model.hash_hex(),
        }
    }
}

/// The serialised form of a [`Reference`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Stored {
    format: String,
    version: u32,
    model: ModelId,
    background: Option<ModelId>,
    tile_size: u32,
    images: usize,
    shrinkage: f64,
    features: Vec<String>,
    mean: Vec<f64>,
    std: Vec<f64>,
    /// Row-major correlation matrix of the standardised features (before shrinkage).
    correlation: Vec<Vec<f64>>,
    /// Novelty tail models (version 2; absent in version 1 files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tails: Option<Tails>,
}

/// One direction's tail of one feature: beyond `threshold` the survival function falls
/// exponentially with mean excess `excess` (peaks over threshold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Tail {
    threshold: f64,
    excess: f64,
}

/// Per-feature tail models of the novelty score (see [`Typicality::novelty`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Tails {
    /// The requested tail fraction.
    fraction: f64,
    /// Share of the fit set beyond each threshold: `k / n`.
    mass: f64,
    /// The features of the novelty (a subset of the reference's), in this order.
    features: Vec<String>,
    /// Features modelled as `ln(v / (1 - v))` (shares, clamped to [1e-4, 1 - 1e-4]).
    logit: Vec<String>,
    median: Vec<f64>,
    upper: Vec<Tail>,
    lower: Vec<Tail>,
}

/// The reference features the novelty leaves out: `q90` added noise on every set of the
/// leave-one-set-out evaluation (docs/OOD.md).
const NOVELTY_EXCLUDED: [&str; 1] = ["q90"];

/// Features that are shares in [0, 1]: the novelty models them on the logit scale, where a
/// grey image's colour share of 0.01 is far from 0.45 (on the linear scale the fit set's
/// few low-colour photographs make it only a few mean excesses away).
const SHARES: [&str; 2] = ["chroma_share", "flat"];

/// Clamp of a share before its logit.
const SHARE_CLAMP: f64 = 1e-4;

fn logit(v: f64) -> f64 {
    let v = v.clamp(SHARE_CLAMP, 1.0 - SHARE_CLAMP);
    (v / (1.0 - v)).ln()
}

impl Tails {
    /// Tail models of the novelty features among `names` (the columns of `rows`, every
    /// value finite).
    fn fit(rows: &[Vec<f64>], names: &[&str], fraction: f64) -> Tails {
        let n = rows.len();
        let k = ((fraction * n as f64 - 1e-9).ceil() as usize).clamp(1, n - 1);
        let mut t = Tails {
            fraction,
            mass: k as f64 / n as f64,
            features: Vec::new(),
            logit: Vec::new(),
            median: Vec::new(),
            upper: Vec::new(),
            lower: Vec::new(),
        };
        for (j, &name) in names.iter().enumerate() {
            if NOVELTY_EXCLUDED.contains(&name) {
                continue;
            }
            let share = SHARES.contains(&name);
            let mut v: Vec<f64> = rows
                .iter()
                .map(|r| if share { logit(r[j]) } else { r[j] })
                .collect();
            v.sort_by(f64::total_cmp);
            t.features.push(name.to_string());
            if share {
                t.logit.push(name.to_string());
            }
            t.median.push(if n % 2 == 1 {
                v[n / 2]
            } else {
                (v[n / 2 - 1] + v[n / 2]) / 2.0
            });
            let up = v[n - 1 - k];
            let excess = v[n - k..].iter().map(|x| x - up).sum::<f64>() / k as f64;
            t.upper.push(Tail {
                threshold: up,
                excess: excess.max(MIN_EXCESS),
            });
            let lo = v[k];
            let excess = v[..k].iter().map(|x| lo - x).sum::<f64>() / k as f64;
            t.lower.push(Tail {
                threshold: lo,
                excess: excess.max(MIN_EXCESS),
            });
        }
        t
    }

    /// Checks the models against the reference's feature list.
    fn check(&self, features: &[String]) -> bool {
        let q = self.features.len();
        let sides = self.upper.iter().chain(&self.lower);
        q > 0
            && self.median.len() == q
            && self.upper.len() == q
            && self.lower.len() == q
            && self.features.iter().all(|f| features.contains(f))
            && self
                .logit
                .iter()
                .all(|f| self.features.contains(f) && SHARES.contains(&f.as_str()))
            && self.mass > 0.0
            && self.mass < 1.0
            && self.fraction.is_finite()
            && self.median.iter().all(|v| v.is_finite())
            && sides
                .into_iter()
                .all(|s| s.threshold.is_finite() && s.excess.is_finite() && s.excess >= MIN_EXCESS)
    }

    /// `-ln` of novelty feature `j`'s two-sided tail probability at the raw feature value
    /// `x` (0 at the median).
    fn surprise(&self, j: usize, x: f64) -> f64 {
        use std::f64::consts::LN_2;
        let x = if self.logit.contains(&self.features[j]) {
            logit(x)
        } else {
            x
        };
        let top = (1.0 / self.mass).ln();
        // -ln S in one direction, e = distance from the median towards the tail: linear
        // from ln 2 at the median to ln(n / k) at the threshold, then exponential.
        let side = |e: f64, span: f64, excess: f64| {
            let span = span.max(0.0);
            if e <= 0.0 {
                LN_2
            } else if e <= span {
                LN_2 + e / span * (top - LN_2)
            } else {
                top + (e - span) / excess
            }
        };
        let m = self.median[j];
        let (u, l) = (&self.upper[j], &self.lower[j]);
        let up = side(x - m, u.threshold - m, u.excess);
        let lo = side(m - x, m - l.threshold, l.excess);
        up.max(lo) - LN_2
    }
}

/// Distances of one image from a [`Reference`]; higher = more unusual.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Typicality {
    /// Mahalanobis distance of the standardised features under the shrunk correlation
    /// (a few units for a typical image; the scale grows with the feature count).
    pub distance: f64,
    /// The largest absolute standardised feature: how many standard deviations the most
    /// unusual feature lies from the fit set's mean.
    pub tail: f64,
    /// The recommended score: the root sum of squares, over the novelty features, of
    /// `-log10` of each feature's two-sided tail probability under the reference's
    /// per-feature tail models (0 at the fit set's medians; about `-log10 p` of the most
    /// unusual feature when one stands out). `None` for a version-1 reference, which has
    /// no tail models: refit it.
    pub novelty: Option<f64>,
    /// The feature with the smallest tail probability (the first of equals).
    pub novelty_feature: Option<&'static str>,
}

/// In-distribution statistics of [`Score`] features, fitted on a user's images and
/// applied to new ones ([`Reference::typicality`]). Serialises to JSON with the scoring
/// model's hash, so that features from another model are refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    stored: Stored,
    /// Lower Cholesky factor of the shrunk correlation, row-major.
    factor: Vec<f64>,
}

impl Reference {
    /// Fits a reference on the scores of in-distribution images, scored with `model`,
    /// `background` (the ratio is a feature only with one) and `tile_size`. `shrinkage`
    /// in [0, 1] pulls the correlation towards the identity (1: features independent).
    pub fn fit(
        scores: &[Score],
        model: &Model,
        background: Option<&Model>,
        tile_size: u32,
        shrinkage: f64,
    ) -> Result<Reference> {
        if scores.len() < MIN_FIT_IMAGES {
            return Err(ReferenceError::TooFewImages {
                needed: MIN_FIT_IMAGES,
                got: scores.len(),
            }
            .into());
        }
        let features: Vec<&str> = FEATURES
            .into_iter()
            .filter(|&f| f != "ratio" || background.is_some())
            .filter(|&f| f != "chroma_share" || model.arch().channels > 1)
            .collect();
        let rows = scores
            .iter()
            .map(|s| {
                features
                    .iter()
                    .map(|f| feature(s, f).ok_or(ReferenceError::MissingFeature("ratio")))
                    .collect::<std::result::Result<Vec<f64>, _>>()
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let (n, p) = (rows.len() as f64, features.len());
        let mean: Vec<f64> = (0..p)
            .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect();
        let cov = |i: usize, j: usize| {
            rows.iter()
                .map(|r| (r[i] - mean[i]) * (r[j] - mean[j]))
                .sum::<f64>()
                / n
        };
        let std: Vec<f64> = (0..p).map(|j| cov(j, j).sqrt().max(MIN_STD)).collect();
        let correlation = (0..p)
            .map(|i| (0..p).map(|j| cov(i, j) / (std[i] * std[j])).collect())
            .collect();
        if rows.iter().flatten().any(|v| !v.is_finite()) {
            return Err(
                ReferenceError::Parse("a fit image has a non-finite feature".into()).into(),
            );
        }
        let tails = Tails::fit(&rows, &features, NOVELTY_TAIL_FRACTION);
        Reference::new(Stored {
            format: FORMAT.to_string(),
            version: VERSION,
            model: ModelId::of(model),
            background: background.map(ModelId::of),
            tile_size,
            images: rows.len(),
            shrinkage,
            features: features.into_iter().map(String::from).collect(),
            mean,
            std,
            correlation,
            tails: Some(tails),
        })
    }

    /// Checks a stored reference and factors its shrunk correlation.
    fn new(stored: Stored) -> Result<Reference> {
        let bad = |m: String| ReferenceError::Parse(m);
        if stored.format != FORMAT || !(1..=VERSION).contains(&stored.version) {
            return Err(bad(format!(
                "format {:?} version {}, expected {FORMAT:?} version 1 to {VERSION}",
                stored.format, stored.version
            ))
            .into());
        }
        if (stored.version >= 2) != stored.tails.is_some() {
            return Err(bad(format!(
                "version {} {} tail models",
                stored.version,
                if stored.tails.is_some() {
                    "cannot have"
                } else {
                    "needs"
                }
            ))
            .into());
        }
        let p = stored.features.len();
        if p == 0 {
            return Err(bad("no features".into()).into());
        }
        if let Some(f) = stored
            .features
            .iter()
            .find(|f| !FEATURES.contains(&f.as_str()))
        {
            return Err(bad(format!("unknown feature {f:?}")).into());
        }
        if stored.mean.len() != p
            || stored.std.len() != p
            || stored.correlation.len() != p
            || stored.correlation.iter().any(|r| r.len() != p)
        {
            return Err(bad(format!("statistics do not match the {p} features")).into());
        }
        let finite = stored.mean.iter().all(|v| v.is_finite())
            && stored.std.iter().all(|&v| v.is_finite() && v >= MIN_STD)
            && stored.correlation.iter().flatten().all(|v| v.is_finite());
        if !finite {
            return Err(bad(
                "non-finite statistics or a standard deviation below the floor".into(),
            )
            .into());
        }
        if let Some(t) = &stored.tails {
            if !t.check(&stored.features) {
                return Err(
                    bad("tail models do not match the features, or are not finite".into()).into(),
                );
            }
        }
        let s = stored.shrinkage;
        if !(0.0..=1.0).contains(&s) {
            return Err(
                ReferenceError::Covariance(format!("shrinkage {s} is outside [0, 1]")).into(),
            );
        }
        let mut a = vec![0f64; p * p];
        for i in 0..p {
            for j in 0..p {
                let identity = if i == j { 1.0 } else { 0.0 };
                a[i * p + j] = (1.0 - s) * stored.correlation[i][j] + s * identity;
            }
        }
        let factor = cholesky(&a, p).ok_or_else(|| {
            ReferenceError::Covariance(format!(
                "the correlation of the {} fit images is singular at shrinkage {s}; raise the shrinkage or add varied images",
                stored.images
            ))
        })?;
        Ok(Reference { stored, factor })
    }

    /// Reads a reference written by [`Reference::to_json`].
    pub fn from_json(text: &str) -> Result<Reference> {
        let stored: Stored =
            serde_json::from_str(text).map_err(|e| ReferenceError::Parse(e.to_string()))?;
        Reference::new(stored)
    }

    /// The reference as pretty-printed JSON (floats round-trip exactly).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.stored).unwrap_or_default()
    }

    /// Refuses scoring settings other than the fit's: another model, background model
    /// (or none where it had one) or tile size gives features that cannot be compared.
    pub fn check(&self, model: &Model, background: Option<&Model>, tile_size: u32) -> Result<()> {
        let st = &self.stored;
        let id = |m: &ModelId| format!("{} ({})", m.name, m.hash);
        let found = ModelId::of(model);
        if found.hash != st.model.hash {
            return Err(ReferenceError::Mismatch {
                role: "model",
                expected: id(&st.model),
                found: id(&found),
            }
            .into());
        }
        let found = background.map(ModelId::of);
        if found.as_ref().map(|m| &m.hash) != st.background.as_ref().map(|m| &m.hash) {
            let show = |m: &Option<ModelId>| m.as_ref().map_or("none".to_string(), id);
            return Err(ReferenceError::Mismatch {
                role: "background model",
                expected: show(&st.background),
                found: show(&found),
            }
            .into());
        }
        if tile_size != st.tile_size {
            return Err(ReferenceError::Mismatch {
                role: "tile size",
                expected: st.tile_size.to_string(),
                found: tile_size.to_string(),
            }
            .into());
        }
        Ok(())
    }

    /// Distances of `score` from the fit set (call [`Reference::check`] once first: this
    /// cannot tell which model produced the score).
    pub fn typicality(&self, score: &Score) -> Result<Typicality> {
        let st = &self.stored;
        let p = st.features.len();
        let mut z = Vec::with_capacity(p);
        for (i, name) in st.features.iter().enumerate() {
            let v = feature(score, name).ok_or(ReferenceError::MissingFeature("ratio"))?;
            z.push((v - st.mean[i]) / st.std[i]);
        }
        let tail = z.iter().fold(0f64, |m, v| m.max(v.abs()));
        // distance^2 = z' A^-1 z = |y|^2 with L y = z (forward substitution).
        let mut y = vec![0f64; p];
        for i in 0..p {
            let row = &self.factor[i * p..][..p];
            let s: f64 = (0..i).map(|k| row[k] * y[k]).sum();
            y[i] = (z[i] - s) / row[i];
        }
        // novelty: the root sum of squares of the features' -log10 p; the feature with
        // the largest one is named.
        let (mut novelty, mut novelty_feature) = (None, None);
        if let Some(t) = &st.tails {
            let (mut sum, mut best) = (0f64, (f64::NEG_INFINITY, 0));
            for (j, name) in t.features.iter().enumerate() {
                let v = feature(score, name).ok_or(ReferenceError::MissingFeature("ratio"))?;
                let s = t.surprise(j, v) / std::f64::consts::LN_10;
                sum += s * s;
                if s > best.0 {
                    best = (s, j);
                }
            }
            novelty = Some(sum.sqrt());
            novelty_feature = FEATURES.iter().copied().find(|f| *f == t.features[best.1]);
        }
        Ok(Typicality {
            distance: y.iter().map(|v| v * v).sum::<f64>().sqrt(),
            tail,
            novelty,
            novelty_feature,
        })
    }

    /// Feature names, in the order of the statistics.
    pub fn features(&self) -> Vec<&str> {
        self.stored.features.iter().map(String::as_str).collect()
    }

    /// Images the reference was fitted on.
    pub fn images(&self) -> usize {
        self.stored.images
    }

    /// Shrinkage of the correlation.
    pub fn shrinkage(&self) -> f64 {
        self.stored.shrinkage
    }

    /// Whether the reference has the novelty tail models (version 2 and later; a version-1
    /// file must be refitted for [`Typicality::novelty`]).
    pub fn has_novelty(&self) -> bool {
        self.stored.tails.is_some()
    }
}

/// Lower Cholesky factor of the symmetric `p x p` matrix `a` (row-major); `None` if it
/// is not positive definite.
fn cholesky(a: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut l = vec![0f64; p * p];
    for i in 0..p {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * p + k] * l[j * p + k]).sum();
            if i == j {
                let d = a[i * p + i] - s;
                // Relative to the unit diagonal of a correlation: below this it is singular.
                if d <= 1e-12 {
                    return None;
                }
                l[i * p + i] = d.sqrt();
            } else {
                l[i * p + j] = (a[i * p + j] - s) / l[j * p + j];
            }
        }
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_reproduces_the_matrix_and_refuses_singular_ones() {
        let a = [4.0, 2.0, 0.4, 2.0, 2.0, 0.5, 0.4, 0.5, 3.0];
        let l = cholesky(&a, 3).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| l[i * 3 + k] * l[j * 3 + k]).sum();
                assert!((v - a[i * 3 + j]).abs() < 1e-12);
            }
        }
        assert!(cholesky(&[1.0, 1.0, 1.0, 1.0], 2).is_none());
    }

    /// A score with the ten reference features `v` (chroma_share = v[4] exactly enough).
    fn synthetic(v: [f64; 10]) -> Score {
        Score {
            samples: 3,
            bpsp: v[0],
            generic_bpsp: v[0] - v[1],
            complexity: v[1],
            background_bpsp: Some(v[0] - v[2]),
            ratio: Some(v[2]),
            local: v[3],
            channel_bpsp: [1.0 - v[4], v[4] / 2.0, v[4] / 2.0],
            generic_channel_bpsp: [0.0; 3],
            flat: v[5],
            quantiles: [v[6], v[7], v[8]],
            spread: v[9],
        }
    }

    /// 200 fit scores, every feature independently uniform (a fixed LCG): chroma_share in
    /// [0.45, 0.55], flat in [0.2, 0.4], the others in [1, 3].
    fn fit_set() -> Vec<Score> {
        let mut state = 12345u64;
        let mut u = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        (0..200)
            .map(|_| {
                let mut v = [0f64; 10];
                for (j, x) in v.iter_mut().enumerate() {
                    *x = match j {
                        4 => 0.5 + 0.05 * u(),
                        5 => 0.3 + 0.1 * u(),
                        _ => 2.0 + u(),
                    };
                }
                synthetic(v)
            })
            .collect()
    }

    fn fitted() -> Reference {
        let model = crate::model::builtin_by_name("fast").unwrap();
        Reference::fit(&fit_set(), &model, Some(&model), 16, DEFAULT_SHRINKAGE).unwrap()
    }

    /// The fit set's median of feature `name` (raw scale).
    fn raw_median(name: &str) -> f64 {
        let mut v: Vec<f64> = fit_set()
            .iter()
            .map(|s| feature(s, name).unwrap())
            .collect();
        v.sort_by(f64::total_cmp);
        (v[99] + v[100]) / 2.0
    }

    #[test]
    fn novelty_flags_one_extreme_feature_that_the_distance_dilutes() {
        let r = fitted();
        // Every feature a little high (inside the fit range: 95% of its half-width)...
        let mut v = [2.95f64; 10];
        (v[4], v[5]) = (0.5475, 0.395);
        let moderate = r.typicality(&synthetic(v)).unwrap();
        // ...against typical features but one far below anything in the fit set (as a grey
        // image's colour share).
        let mut v = [2.0f64; 10];
        (v[4], v[5]) = (0.37, 0.3);
        let grey = r.typicality(&synthetic(v)).unwrap();
        // The Mahalanobis distance ranks the moderate image as the more unusual one: the
        // extreme feature is diluted among ten...
        assert!(grey.distance < moderate.distance, "{grey:?} {moderate:?}");
        // ...the novelty does not, and names the feature.
        let (g, m) = (grey.novelty.unwrap(), moderate.novelty.unwrap());
        assert!(g > 1.5 * m && g > 5.0, "{grey:?} {moderate:?}");
        assert_eq!(grey.novelty_feature, Some("chroma_share"));
        assert_eq!(
            r.stored.tails.as_ref().unwrap().features.len(),
            9,
            "q90 is left out"
        );
        // The fit images stay low; at the medians nothing is surprising.
        for s in &fit_set() {
            let n = r.typicality(s).unwrap().novelty.unwrap();
            assert!((0.0..4.0).contains(&n), "{n}");
        }
        let mut v = [0f64; 10];
        for (x, name) in v.iter_mut().zip(FEATURES) {
            *x = raw_median(name);
        }
        let at_median = r.typicality(&synthetic(v)).unwrap().novelty.unwrap();
        assert!(at_median.abs() < 0.01, "{at_median}");
    }

    #[test]
    fn novelty_grows_away_from_the_median_in_both_directions() {
        let r = fitted();
        let t = r.stored.tails.as_ref().unwrap();
        for (j, name) in t.features.iter().enumerate() {
            let m = raw_median(name);
            // Shares stay in [0, 1] (beyond, the logit's clamp holds the value).
            let (step, steps) = if SHARES.contains(&name.as_str()) {
                (0.001, (m.min(1.0 - m) * 1000.0) as u32)
            } else {
                (0.01, 400)
            };
            let (mut up, mut down) = (0f64, 0f64);
            for i in 0..=steps {
                let d = f64::from(i) * step;
                let (a, b) = (t.surprise(j, m + d), t.surprise(j, m - d));
                assert!(a >= up - 1e-12 && b >= down - 1e-12, "{name} at {d}");
                (up, down) = (a, b);
            }
            assert!(up > 10.0 && down > 10.0, "{name}: {up} {down}");
        }
    }

    #[test]
    fn version_1_references_load_without_novelty() {
        let r = fitted();
        let mut json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["version"], 2);
        let obj = json.as_object_mut().unwrap();
        obj.remove("tails");
        obj.insert("version".into(), 1.into());
        let old = Reference::from_json(&json.to_string()).unwrap();
        assert!(!old.has_novelty() && r.has_novelty());
        let s = &fit_set()[7];
        let (a, b) = (old.typicality(s).unwrap(), r.typicality(s).unwrap());
        assert_eq!((a.distance, a.tail), (b.distance, b.tail));
        assert_eq!((a.novelty, a.novelty_feature), (None, None));
        assert!(b.novelty.is_some());
        // Version 2 needs the tail models, version 1 cannot have them, 3 is unknown.
        for (version, tails) in [(2, false), (1, true), (3, true)] {
            let mut j: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
            j["version"] = version.into();
            if !tails {
                j.as_object_mut().unwrap().remove("tails");
            }
            assert!(
                matches!(
                    Reference::from_json(&j.to_string()),
                    Err(crate::Error::Reference(ReferenceError::Parse(_)))
                ),
                "version {version}, tails {tails}"
            );
        }
        // Broken tail models are refused.
        let mut j: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        j["tails"]["mass"] = 0.0.into();
        assert!(Reference::from_json(&j.to_string()).is_err());
    }
}
