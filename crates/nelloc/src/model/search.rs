//! Finding the model a stream names (docs/FORMAT.md section 12): among the models built
//! in, those the caller supplied, those embedded in the stream (`MODL` chunks) and, last
//! and lazily, the `*.safetensors` files of a search path. When none matches, the error
//! says where the decoder looked.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{builtin, hex, Model};
use crate::container::{Embedded, ModelRef};
use crate::error::{ModelError, Result};

/// The environment variable [`search_path_from_env`] reads: a list of directories
/// separated as the platform's `PATH` is (`:` on Unix, `;` on Windows).
pub const MODEL_PATH_VAR: &str = "NELLOC_MODEL_PATH";

/// The directories of `NELLOC_MODEL_PATH` ([`MODEL_PATH_VAR`]), in order; empty when it is
/// unset. Empty entries are dropped. For [`crate::DecodeOptions::model_path`].
pub fn search_path_from_env() -> Vec<PathBuf> {
    std::env::var_os(MODEL_PATH_VAR)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Where a decoder looks for a stream's models, in the order of section 12.
pub(crate) struct Sources<'a> {
    /// The caller's models (`DecodeOptions::models`).
    pub(crate) supplied: &'a [Arc<Model>],
    /// The stream's `MODL` chunks.
    pub(crate) embedded: &'a [Embedded],
    /// Directories searched last (`DecodeOptions::model_path`).
    pub(crate) dirs: &'a [PathBuf],
    /// Files above this size are skipped unread (`Limits::max_model_bytes`).
    pub(crate) max_bytes: u64,
}

/// What one directory of the search path held.
enum DirScan {
    /// `files` model files hashed, `skipped` unreadable or above the size limit.
    Read { files: usize, skipped: usize },
    /// The directory could not be listed (absent, not a directory, no permission).
    Missing(String),
}

/// A model found by hash in one place, not yet parsed when it is embedded or a file.
enum Hit<'s> {
    Loaded(Arc<Model>),
    Embedded(&'s Embedded),
    File(PathBuf, Vec<u8>, [u8; 32]),
}

impl Hit<'_> {
    fn hash(&self) -> [u8; 32] {
        match self {
            Hit::Loaded(m) => *m.hash(),
            Hit::Embedded(e) => e.hash,
            Hit::File(_, _, hash) => *hash,
        }
    }

    /// The model, parsed and validated like any model file (section 6).
    fn load(self, role: &str) -> Result<Arc<Model>> {
        match self {
            Hit::Loaded(m) => Ok(m),
            Hit::Embedded(e) => Model::from_bytes(&e.bytes).map(Arc::new).map_err(|err| {
                ModelError::Invalid(format!(
                    "the {role} model {} embedded in the stream (MODL chunk) is unusable: {}",
                    hex(&e.hash),
                    detail(err)
                ))
                .into()
            }),
            Hit::File(path, bytes, _) => Model::from_bytes(&bytes).map(Arc::new).map_err(|err| {
                ModelError::Invalid(format!(
                    "{} (found on the model search path for the {role} model) is unusable: {}",
                    path.display(),
                    detail(err)
                ))
                .into()
            }),
        }
    }
}

/// A model error's own words, without the "invalid model file:" prefix.
fn detail(e: ModelError) -> String {
    match e {
        ModelError::Invalid(d) => d,
        other => other.to_string(),
    }
}

/// The model `m` names, or why there is none: an ambiguous prefix, an invalid model, or
/// [`ModelError::UnknownModel`] listing every place looked in.
pub(crate) fn resolve(
    m: &ModelRef,
    sources: &Sources<'_>,
    role: &'static str,
) -> Result<Arc<Model>> {
    let mut hits: Vec<Hit<'_>> = Vec::new();
    fn add<'s>(m: &ModelRef, hit: Hit<'s>, hits: &mut Vec<Hit<'s>>) {
        let h = hit.hash();
        if m.matches(&h) && !hits.iter().any(|x| x.hash() == h) {
            hits.push(hit);
        }
    }
    if m.is_none() {
        // The all-zero hash names no model (a version-1 stream naming it cannot decode):
        // nothing to search for.
        return Err(ModelError::UnknownModel {
            hash: hex(m.bytes()),
            role,
            searched: "the all-zero hash, which names no model".into(),
        }
        .into());
    }
    let full = matches!(m, ModelRef::Hash(_));
    // Supplied, built-in and embedded models cost nothing to look through: all of them (a
    // prefix must be unique among them), except that a full hash stops at the first hit.
    // The built-in models are parsed (once per process) only when one of their hashes
    // matches: refusing or decoding a stream of another model allocates nothing for them.
    for model in sources.supplied {
        add(m, Hit::Loaded(model.clone()), &mut hits);
    }
    if full {
        if let Some(hit) = hits.pop() {
            return hit.load(role);
        }
    }
    let builtin_matches = match m {
        ModelRef::Hash(h) => builtin::index_of(h).is_some(),
        ModelRef::Prefix(..) => builtin::shares_prefix(m.bytes()),
    };
    if builtin_matches {
        for model in builtin::builtin() {
            add(m, Hit::Loaded(model.clone()), &mut hits);
        }
    }
    for e in sources.embedded {
        add(m, Hit::Embedded(e), &mut hits);
    }
    let mut scans = Vec::new();
    if hits.is_empty() {
        for dir in sources.dirs {
            let scan = scan_dir(dir, sources.max_bytes, &mut |path, bytes| {
                let hash = Sha256::digest(&bytes).into();
                add(m, Hit::File(path, bytes, hash), &mut hits);
                // A full hash is found once; a prefix must be unique on the whole path.
                full && !hits.is_empty()
            });
            scans.push((dir, scan));
            if full && !hits.is_empty() {
                break;
            }
        }
    }
    let count = hits.len();
    match hits.pop() {
        None => Err(ModelError::UnknownModel {
            hash: hex(m.bytes()),
            role,
            searched: searched(sources, &scans),
        }
        .into()),
        Some(hit) if count == 1 => hit.load(role),
        Some(_) => Err(ModelError::AmbiguousModel {
            prefix: hex(m.bytes()),
            role,
            count,
        }
        .into()),
    }
}

/// Reads the `*.safetensors` files of `dir` (sorted by name, not recursively) and hands
/// each one's bytes to `found` until it returns true.
fn scan_dir(
    dir: &Path,
    max_bytes: u64,
    found: &mut dyn FnMut(PathBuf, Vec<u8>) -> bool,
) -> DirScan {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return DirScan::Missing("missing".into())
        }
        Err(e) => return DirScan::Missing(format!("unreadable: {e}")),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("safetensors"))
        })
        .collect();
    paths.sort();
    let (mut files, mut skipped) = (0, 0);
    for path in paths {
        let size = std::fs::metadata(&path).map(|m| (m.is_file(), m.len()));
        let bytes = match size {
            Ok((true, len)) if len <= max_bytes => std::fs::read(&path).ok(),
            _ => None,
        };
        // A file that grew past the limit between the two calls is skipped too.
        let Some(bytes) = bytes.filter(|b| b.len() as u64 <= max_bytes) else {
            skipped += 1;
            continue;
        };
        files += 1;
        if found(path, bytes) {
            break;
        }
    }
    DirScan::Read { files, skipped }
}

/// "not built in (12 models), not among the 2 supplied models, not embedded, and not in
/// /a (2 model files), /b (missing)".
fn searched(sources: &Sources<'_>, scans: &[(&PathBuf, DirScan)]) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let mut s = format!(
        "not built in ({})",
        plural(builtin::file_count(), "model", "models")
    );
    match sources.supplied.len() {
        0 => s.push_str(", not supplied"),
        n => {
            let _ = write!(
                s,
                ", not among the {} supplied",
                plural(n, "model", "models")
            );
        }
    }
    match sources.embedded.len() {
        0 => s.push_str(", not embedded"),
        n => {
            let _ = write!(
                s,
                ", not among the {} embedded in the stream",
                plural(n, "model", "models")
            );
        }
    }
    if scans.is_empty() {
        s.push_str(", and no model directory was searched");
        return s;
    }
    s.push_str(", and not in ");
    for (i, (dir, scan)) in scans.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = match scan {
            DirScan::Read { files, skipped: 0 } => write!(
                s,
                "{} ({})",
                dir.display(),
                plural(*files, "model file", "model files")
            ),
            DirScan::Read { files, skipped } => write!(
                s,
                "{} ({}, {skipped} unreadable or too large skipped)",
                dir.display(),
                plural(*files, "model file", "model files")
            ),
            DirScan::Missing(why) => write!(s, "{} ({why})", dir.display()),
        };
    }
    s
}
