//! Model files: the integer network weights in `safetensors`, identified by SHA-256.

pub(crate) mod builtin;
mod mean_base;
pub(crate) mod search;
#[cfg(any(test, feature = "unstable-internals"))]
mod synthetic;

use std::collections::BTreeMap;
use std::sync::Arc;

use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ModelError;
use crate::mixture::{head_len, MAX_C, MAX_K};
use crate::net::{Layer, LayerSpec, Packed, Topology, BIAS_LIMIT, WEIGHT_MAX, WEIGHT_MIN};

pub use builtin::{builtin, builtin_by_name, builtin_file_by_name, default_for_channels};
// Test support (not a stable API): how many model files are compiled in.
#[cfg(feature = "unstable-internals")]
pub use builtin::builtin_file_count;
pub use mean_base::{MeanBase, Predictor, Predictors};
pub use search::{search_path_from_env, MODEL_PATH_VAR};
// Test, fuzzing and benchmark support (not a stable API): pseudo-random model files.
#[cfg(any(test, feature = "unstable-internals"))]
pub use synthetic::synthetic;

/// Hyper-parameters of a model, read from its file (`nelloc.arch`).
///
/// Fields are public to read; build one with [`Arch::new`] (new fields only ever come with
/// a default that keeps older files meaning what they meant).
// Unknown fields are refused: a future architecture feature must never be ignored silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Arch {
    /// Context horizon h: rows i-h..i-1 x columns j-h..j+h, and h pixels to the left.
    pub horizon: u32,
    /// Channels modelled jointly (1 or 3).
    pub channels: u32,
    /// Hidden width.
    pub width: u32,
    /// Residual blocks (0 for the paper's rs0).
    pub res_blocks: u32,
    /// Logistic mixture components K.
    pub mixtures: u32,
    /// Fractional bits of the head outputs (8 in format version 1).
    pub output_frac_bits: u32,
    /// What the head's means are relative to (absent in the file: absolute means).
    #[serde(default, skip_serializing_if = "MeanBase::is_absolute")]
    pub mean_base: MeanBase,
}

impl Arch {
    /// An architecture with absolute means and 8 fractional head bits (format version 1).
    pub fn new(horizon: u32, channels: u32, width: u32, res_blocks: u32, mixtures: u32) -> Self {
        Arch {
            horizon,
            channels,
            width,
            res_blocks,
            mixtures,
            output_frac_bits: 8,
            mean_base: MeanBase::Absolute,
        }
    }

    /// The same architecture with another mean parametrisation.
    pub fn with_mean_base(mut self, mean_base: MeanBase) -> Self {
        self.mean_base = mean_base;
        self
    }

    /// Number of context positions: h(2h+1) above plus h to the left.
    pub fn context_positions(&self) -> usize {
        let h = self.horizon as usize;
        h * (2 * h + 1) + h
    }

    /// Network input length (context positions x channels).
    pub fn input_len(&self) -> usize {
        self.context_positions() * self.channels as usize
    }

    /// Head output count K(1 + 2C + C(C-1)/2).
    pub fn output_len(&self) -> usize {
        head_len(self.mixtures as usize, self.channels as usize)
    }

    /// Multiply-adds per pixel.
    pub fn macs_per_pixel(&self) -> u64 {
        let w = u64::from(self.width);
        self.input_len() as u64 * w
            + u64::from(self.res_blocks) * 3 * w * w
            + w * w
            + w * self.output_len() as u64
    }

    fn validate(&self) -> Result<(), ModelError> {
        let bad = |what: String| Err(ModelError::Invalid(what));
        if !(1..=7).contains(&self.horizon) {
            return bad(format!("horizon {} (expected 1..=7)", self.horizon));
        }
        if self.channels != 1 && self.channels as usize != MAX_C {
            return bad(format!("channels {} (expected 1 or 3)", self.channels));
        }
        if !(1..=1024).contains(&self.width) {
            return bad(format!("width {} (expected 1..=1024)", self.width));
        }
        if self.res_blocks > 16 {
            return bad(format!("res_blocks {} (expected 0..=16)", self.res_blocks));
        }
        if !(1..=MAX_K as u32).contains(&self.mixtures) {
            return bad(format!("mixtures {} (expected 1..={MAX_K})", self.mixtures));
        }
        if self.output_frac_bits != 8 {
            return bad(format!(
                "output_frac_bits {} (format version 1 defines 8)",
                self.output_frac_bits
            ));
        }
        if let MeanBase::Predicted(p) = &self.mean_base {
            if p.len() != self.mixtures as usize {
                return bad(format!(
                    "mean_base lists {} predictors (expected one per mixture component: {})",
                    p.len(),
                    self.mixtures
                ));
            }
            if let Some(q) = p.iter().find(|q| q.min_horizon() > self.horizon) {
                return bad(format!(
                    "predictor {} needs horizon >= {} (the model has {})",
                    q.name(),
                    q.min_horizon(),
                    self.horizon
                ));
            }
        }
        Ok(())
    }
}

/// A loaded, validated model.
pub struct Model {
    name: String,
    hash: [u8; 32],
    arch: Arch,
    /// The integer layers in their roles.
    pub(crate) net: Topology<Layer>,
    metadata: BTreeMap<String, String>,
    /// The model file, exactly as read (what an encoder embeds).
    file: Arc<[u8]>,
    /// Weights re-laid for the batched kernels, built on first use.
    packed: std::sync::OnceLock<Packed>,
}

// A model holds ~100 K weights: its Debug output names it instead of printing them.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.name)
            .field("hash", &self.hash_hex())
            .field("arch", &self.arch)
            .field("parameters", &self.parameters())
            .finish_non_exhaustive()
    }
}

impl Arch {
    /// Names and shapes of the model file's layers.
    pub(crate) fn layer_specs(&self) -> Topology<LayerSpec> {
        Topology::spec(
            self.input_len(),
            self.width as usize,
            self.res_blocks as usize,
            self.output_len(),
        )
    }
}

impl Model {
    /// Parses and validates a model file. The model's identity is the SHA-256 of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let invalid = |e: String| ModelError::Invalid(e);
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| invalid(format!("not safetensors: {e}")))?;
        let metadata: BTreeMap<String, String> = header
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        if metadata.get("nelloc.format").map(String::as_str) != Some("nelloc-model") {
            return Err(invalid(
                "metadata nelloc.format is not \"nelloc-model\"".into(),
            ));
        }
        if metadata.get("nelloc.version").map(String::as_str) != Some("1") {
            return Err(invalid("metadata nelloc.version is not \"1\"".into()));
        }
        let arch: Arch = serde_json::from_str(
            metadata
                .get("nelloc.arch")
                .ok_or_else(|| invalid("metadata nelloc.arch is missing".into()))?,
        )
        .map_err(|e| invalid(format!("nelloc.arch: {e}")))?;
        arch.validate()?;
        let name = metadata
            .get("nelloc.name")
            .cloned()
            .unwrap_or_else(|| "unnamed".into());
        let tensors = SafeTensors::deserialize(bytes)
            .map_err(|e| invalid(format!("not safetensors: {e}")))?;
        let load = |spec: &LayerSpec| -> Result<Layer, ModelError> {
            let (lname, n_in, n_out) = (&spec.name, spec.n_in, spec.n_out);
            let get = |suffix: &str, dtype: Dtype, shape: &[usize]| {
                let tname = format!("{lname}.{suffix}");
                let view = tensors
                    .tensor(&tname)
                    .map_err(|_| invalid(format!("tensor {tname} is missing")))?;
                if view.dtype() != dtype || view.shape() != shape {
                    return Err(invalid(format!(
                        "tensor {tname} is {:?} {:?}, expected {dtype:?} {shape:?}",
                        view.dtype(),
                        view.shape()
                    )));
                }
                Ok(view.data().to_vec())
            };
            let weight: Vec<i8> = get("weight", Dtype::I8, &[n_out, n_in])?
                .into_iter()
                .map(|b| b as i8)
                .collect();
            let i32s = |raw: Vec<u8>| -> Vec<i32> {
                raw.chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            };
            let bias = i32s(get("bias", Dtype::I32, &[n_out])?);
            let mult = i32s(get("mult", Dtype::I32, &[n_out])?);
            let shift = i32s(get("shift", Dtype::I32, &[n_out])?);
            if let Some(w) = weight
                .iter()
                .find(|&&w| !(WEIGHT_MIN..=WEIGHT_MAX).contains(&w))
            {
                return Err(invalid(format!(
                    "{lname}.weight holds {w}, outside [{WEIGHT_MIN}, {WEIGHT_MAX}]"
                )));
            }
            if let Some(b) = bias.iter().find(|b| b.unsigned_abs() > BIAS_LIMIT as u32) {
                return Err(invalid(format!("{lname}.bias holds {b}, outside ±2^24")));
            }
            if let Some(m) = mult.iter().find(|&&m| m < 0) {
                return Err(invalid(format!("{lname}.mult holds {m}, expected >= 0")));
            }
            if let Some(s) = shift.iter().find(|s| !(1..=62).contains(*s)) {
                return Err(invalid(format!("{lname}.shift holds {s}, expected 1..=62")));
            }
            Ok(Layer {
                n_in,
                n_out,
                weight,
                bias,
                mult,
                shift,
            })
        };
        let net = arch.layer_specs().try_map(load)?;
        Ok(Model {
            name,
            hash: Sha256::digest(bytes).into(),
            arch,
            net,
            metadata,
            file: bytes.into(),
            packed: std::sync::OnceLock::new(),
        })
    }

    /// Reads a model file from disk.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, crate::Error> {
        let bytes = std::fs::read(path)?;
        Ok(Self::from_bytes(&bytes)?)
    }

    /// The integer layers in their roles.
    pub(crate) fn net(&self) -> &Topology<Layer> {
        &self.net
    }

    /// The kernel layout of the weights.
    pub(crate) fn packed(&self) -> &Packed {
        self.packed.get_or_init(|| Packed::new(&self.net))
    }

    /// Drops the packed weights after a test edited `net`.
    #[cfg(test)]
    pub(crate) fn reset_packed(&mut self) {
        self.packed = std::sync::OnceLock::new();
    }

    /// Name from the metadata (`nelloc.name`).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// SHA-256 of the model file: its identity in `.nlc` headers.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }
    /// The hash as lowercase hex.
    pub fn hash_hex(&self) -> String {
        hex(&self.hash)
    }
    /// Hyper-parameters.
    pub fn arch(&self) -> &Arch {
        &self.arch
    }
    /// All `nelloc.*` metadata of the file.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }
    /// Size of the model file in bytes.
    pub fn file_size(&self) -> usize {
        self.file.len()
    }
    /// The model file's bytes, exactly as read (their SHA-256 is [`Model::hash`]).
    pub fn file_bytes(&self) -> &[u8] {
        &self.file
    }
    /// Number of parameters (weights and biases).
    pub fn parameters(&self) -> usize {
        self.net.parameters()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first of `models` whose network codes `channels` colour channels: the one a front
/// end given several external model files (`nlc --model`, the browser's `models`)
/// encodes an image's colour planes with. [`default_for_channels`] is the built-in
/// counterpart.
pub fn for_channels(models: &[Arc<Model>], channels: usize) -> Option<Arc<Model>> {
    models
        .iter()
        .find(|m| m.arch().channels as usize == channels)
        .cloned()
}

#[cfg(test)]
mod prefix_tests {
    use super::*;

    /// Two distinct models sharing a (here one-byte) hash prefix are ambiguous; the same
    /// model twice is not.
    #[test]
    fn a_shared_prefix_is_ambiguous() {
        let models: Vec<Arc<Model>> = (0..64)
            .map(|s| {
                let bytes = synthetic(Arch::new(1, 1, 2, 0, 1), s, "p");
                Arc::new(Model::from_bytes(&bytes).unwrap())
            })
            .collect();
        let (a, b) = models
            .iter()
            .enumerate()
            .find_map(|(i, a)| {
                models[i + 1..]
                    .iter()
                    .find(|b| b.hash()[0] == a.hash()[0])
                    .map(|b| (a, b))
            })
            .expect("64 models share a first byte");
        let sources = |supplied| search::Sources {
            supplied,
            embedded: &[],
            dirs: &[],
            max_bytes: u64::MAX,
        };
        let mut p = [0u8; 8];
        p[0] = a.hash()[0];
        let one = crate::container::ModelRef::Prefix(p, 1);
        let both = [a.clone(), b.clone()];
        assert!(matches!(
            search::resolve(&one, &sources(&both), "colour"),
            Err(crate::Error::Model(ModelError::AmbiguousModel { count, .. })) if count >= 2
        ));
        p.copy_from_slice(&a.hash()[..8]);
        let eight = crate::container::ModelRef::Prefix(p, 8);
        let twice = [a.clone(), a.clone()];
        let found = search::resolve(&eight, &sources(&twice), "colour").unwrap();
        assert_eq!(found.hash(), a.hash());
    }
}
