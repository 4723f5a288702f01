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

use crate::mixture::MAX_K;

/// A classical integer predictor of one channel from its causal neighbours.
///
/// W = (i, j-1), WW = (i, j-2), N = (i-1, j), NN = (i-2, j), NW = (i-1, j-1),
/// NE = (i-1, j+1); each is 256·x inside the tile and 32640 outside. The predictions are
/// evaluated in `crate::context` (docs/FORMAT.md defines them).
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

impl MeanBase {
    /// True for [`MeanBase::Absolute`].
    pub fn is_absolute(&self) -> bool {
        matches!(self, MeanBase::Absolute)
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
}
