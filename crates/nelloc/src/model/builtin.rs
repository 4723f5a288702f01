//! Models compiled into the library. A released built-in model is never removed: old
//! streams name it by hash and must keep decoding.

use std::sync::{Arc, OnceLock};

use super::Model;

/// (name, file bytes) of every built-in model, oldest first. Append only: the position
/// is the model's built-in index, by which compact streams name it (docs/FORMAT.md
/// section 11 lists the hash of every index; a test checks that table against this list).
static FILES: &[(&str, &[u8])] = &[
    (
        "default",
        include_bytes!("../../models/default-v1.safetensors"),
    ),
    ("gray", include_bytes!("../../models/gray-v1.safetensors")),
    (
        "default",
        include_bytes!("../../models/default-v2.safetensors"),
    ),
    ("fast", include_bytes!("../../models/fast-v1.safetensors")),
    ("gray", include_bytes!("../../models/gray-v2.safetensors")),
    // Predictor-relative means (FORMAT.md section 4), independent-pixel training.
    ("fast", include_bytes!("../../models/fast-v2.safetensors")),
    ("gray", include_bytes!("../../models/gray-v3.safetensors")),
    (
        "default",
        include_bytes!("../../models/default-v3.safetensors"),
    ),
    // default-v3 trained on to 2.60 h (same architecture and recipe).
    (
        "default",
        include_bytes!("../../models/default-v4.safetensors"),
    ),
    // Trained on to 4.43 h; activation ranges at the 99.9th percentile (integer loss
    // +0.20% instead of +1.05% at 99.999).
    (
        "default",
        include_bytes!("../../models/default-v5.safetensors"),
    ),
    // Trained on to 7.8 h (522,880 steps; same recipe and export): -1.6% real coded size
    // on the validation crops against default-v5.
    (
        "default",
        include_bytes!("../../models/default-v6.safetensors"),
    ),
    // Trained on to 10.3 h (833,762 steps; same recipe and export): -0.35% real coded size
    // on the validation crops against default-v6 (with adapted heads: 2.2342 vs 2.2413).
    (
        "default",
        include_bytes!("../../models/default-v7.safetensors"),
    ),
];

/// All built-in models, parsed once. (A file that fails to parse would be a build
/// defect; the `builtin_models_load` test guards against it, so it is skipped, not a panic.)
pub fn builtin() -> &'static [Arc<Model>] {
    &parsed().1
}

fn parsed() -> &'static (Vec<&'static str>, Vec<Arc<Model>>) {
    static MODELS: OnceLock<(Vec<&'static str>, Vec<Arc<Model>>)> = OnceLock::new();
    MODELS.get_or_init(|| {
        FILES
            .iter()
            .filter_map(|(name, bytes)| Some((*name, Arc::new(Model::from_bytes(bytes).ok()?))))
            .unzip()
    })
}

/// The built-in model of this name (the newest one if several share it).
pub fn builtin_by_name(name: &str) -> Option<Arc<Model>> {
    let (names, models) = parsed();
    names
        .iter()
        .zip(models)
        .rev()
        .find(|(n, _)| **n == name)
        .map(|(_, m)| m.clone())
}

/// SHA-256 of every entry of `FILES`, by built-in index.
fn index_hashes() -> &'static [[u8; 32]] {
    static HASHES: OnceLock<Vec<[u8; 32]>> = OnceLock::new();
    HASHES.get_or_init(|| {
        use sha2::{Digest, Sha256};
        FILES
            .iter()
            .map(|(_, b)| Sha256::digest(b).into())
            .collect()
    })
}

/// The SHA-256 of the built-in model file at `index` (compact container, section 11),
/// if this library has that many.
pub(crate) fn hash_at(index: u64) -> Option<[u8; 32]> {
    usize::try_from(index)
        .ok()
        .and_then(|i| index_hashes().get(i).copied())
}

/// The built-in index of the model file with this hash (the first, should a file be
/// listed twice).
pub(crate) fn index_of(hash: &[u8; 32]) -> Option<u64> {
    index_hashes()
        .iter()
        .position(|h| h == hash)
        .map(|i| i as u64)
}

/// Whether a built-in model file's hash starts with `prefix`.
pub(crate) fn shares_prefix(prefix: &[u8]) -> bool {
    index_hashes().iter().any(|h| h.starts_with(prefix))
}

/// The file bytes of the built-in model of this name (the newest one if several share
/// it): the integer model file exactly as shipped, e.g. the starting point for
/// fine-tuning (`python -m nelloc.adapt`).
pub fn builtin_file_by_name(name: &str) -> Option<&'static [u8]> {
    FILES
        .iter()
        .rev()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
}

/// Number of model files compiled in, without parsing them (for messages).
pub(crate) fn file_count() -> usize {
    FILES.len()
}

/// Number of model files compiled in (to check that all of them parse).
#[cfg(feature = "unstable-internals")]
pub fn builtin_file_count() -> usize {
    FILES.len()
}

/// The model used by default for `channels` colour channels (1: "gray", 3: "default");
/// alpha planes use the one-channel model.
pub fn default_for_channels(channels: usize) -> Option<Arc<Model>> {
    match channels {
        1 => builtin_by_name("gray"),
        3 => builtin_by_name("default"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The normative table of docs/FORMAT.md section 11 lists every built-in index with its
    /// hash: appending a model to `FILES` without adding it there fails here.
    #[test]
    fn format_md_lists_every_builtin_index() {
        let doc = include_str!("../../../../docs/FORMAT.md");
        let listed: Vec<(u64, String)> = doc
            .lines()
            .filter_map(|l| {
                let cells: Vec<&str> = l
                    .trim()
                    .trim_matches('|')
                    .split('|')
                    .map(str::trim)
                    .collect();
                let [index, _name, hash] = cells[..] else {
                    return None;
                };
                let hash = hash.trim_matches('`');
                (hash.len() == 64).then(|| Some((index.parse().ok()?, hash.to_string())))?
            })
            .collect();
        let compiled: Vec<(u64, String)> = index_hashes()
            .iter()
            .enumerate()
            .map(|(i, h)| (i as u64, super::super::hex(h)))
            .collect();
        assert_eq!(listed, compiled, "docs/FORMAT.md section 11 built-in table");
        for (i, h) in index_hashes().iter().enumerate() {
            assert_eq!(index_of(h), Some(i as u64), "a built-in file listed twice");
            assert_eq!(hash_at(i as u64), Some(*h));
        }
        assert_eq!(hash_at(FILES.len() as u64), None);
    }

    #[test]
    fn builtin_file_is_the_newest_model_of_its_name() {
        for name in ["default", "fast", "gray"] {
            let bytes = builtin_file_by_name(name).unwrap();
            let m = Model::from_bytes(bytes).unwrap();
            assert_eq!(m.hash_hex(), builtin_by_name(name).unwrap().hash_hex());
        }
        assert!(builtin_file_by_name("nope").is_none());
    }
}
