//! One-class typicality: how far an image's likelihood features lie from those of a
//! user's in-distribution images (docs/OOD.md).
//!
//! No single OOD score catches every kind of outlier (grey photographs show only in the
//! share of bits spent on colour, text and artwork in the share of flat pixels, synthetic
//! textures in the local complexity), so a [`Reference`] holds the mean, spread and
//! correlation of all of [`Score`]'s features over a fit set, and scores an image by its
//! shrunk Mahalanobis distance from them. The fit is plain f64 arithmetic in the order of
//! the scores given (not the coding path); the features come from the integer bits, so
//! both are identical at any thread count.

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

const FORMAT: &str = "nelloc-ood-reference";
const VERSION: u32 = 1;

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
        })
    }

    /// Checks a stored reference and factors its shrunk correlation.
    fn new(stored: Stored) -> Result<Reference> {
        let bad = |m: String| ReferenceError::Parse(m);
        if stored.format != FORMAT || stored.version != VERSION {
            return Err(bad(format!(
                "format {:?} version {}, expected {FORMAT:?} version {VERSION}",
                stored.format, stored.version
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
        Ok(Typicality {
            distance: y.iter().map(|v| v * v).sum::<f64>().sqrt(),
            tail,
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
}
