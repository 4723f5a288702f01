//! File helpers for front ends (the CLI, the `image` adapter, the C and Python
//! bindings): one atomic write, one bounded read. The codec itself never touches files;
//! these live here so that every front end writes and reads `.nlc` files the same way.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to a temporary file beside `path` (flushed to disk), then renames it over
/// `path`: a failure never leaves a partial file or clobbers an existing one.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> std::io::Result<()> {
    let path = path.as_ref();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".nlc-tmp-")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Reads a whole `.nlc` stream from `reader`, stopping with [`crate::LimitError::Input`]
/// once it exceeds `limits.max_input_bytes` (never reading more than one byte past it).
pub fn read_limited(reader: impl std::io::Read, limits: &crate::Limits) -> crate::Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    reader
        .take(limits.max_input_bytes.saturating_add(1))
        .read_to_end(&mut data)?;
    limits.check_input(data.len() as u64)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_leaves_nothing_behind_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.nlc");
        write_atomic(&file, b"first").unwrap();
        write_atomic(&file, b"second").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"second");
        // Renaming over a non-empty directory fails: nothing is left beside it.
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("keep"), b"x").unwrap();
        assert!(write_atomic(&sub, b"data").is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(std::fs::read(&file).unwrap(), b"second");
    }
}
