//! File helpers for front ends (the CLI, the `image` adapter, the C and Python
//! bindings): one atomic write, one bounded read. The codec itself never touches files;
//! these live here so that every front end writes and reads `.nlc` files the same way.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to a temporary file beside `path` (flushed to disk), then renames it over
/// `path`: a failure never leaves a partial file or clobbers an existing one.
///
/// The file gets the mode a plain [`std::fs::write`] would give it: a new file the
/// default mode under the process's umask (`0644` under the usual `022`), a replaced one
/// the mode it had. A missing directory is the operating system's error for it (with its
/// `raw_os_error`, not naming a temporary file); callers add the path.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> std::io::Result<()> {
    let path = path.as_ref();
    let mut tmp = temp_file_beside(path)?;
    tmp.write_all(bytes)?;
    tmp.sync()?;
    tmp.persist(path)
}

/// A temporary file beside its destination (see [`temp_file_beside`]): write it, check
/// it, then [`TempFile::persist`] it; dropped unpersisted, it is removed.
#[derive(Debug)]
pub struct TempFile(tempfile::NamedTempFile);

impl TempFile {
    /// Where the temporary file is now.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Flushes the file's data to the disk.
    pub fn sync(&self) -> std::io::Result<()> {
        self.0.as_file().sync_all()
    }

    /// Renames the file to `path`, replacing what is there.
    pub fn persist(self, path: &Path) -> std::io::Result<()> {
        self.0.persist(path).map(drop).map_err(|e| e.error)
    }

    /// Renames the file to `path` unless something exists there (atomically: a file
    /// created meanwhile by someone else is kept, and this is an error).
    pub fn persist_noclobber(self, path: &Path) -> std::io::Result<()> {
        self.0
            .persist_noclobber(path)
            .map(drop)
            .map_err(|e| e.error)
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The temporary file [`write_atomic`] writes before renaming it over `path`, for front
/// ends that check the file before the rename (`nlc encode` decodes it back): in `path`'s
/// directory, with the mode `path` will have (the umask's default for a new file, the
/// mode of the file it replaces), removed when dropped unless persisted.
pub fn temp_file_beside(path: &Path) -> std::io::Result<TempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".nlc-tmp-");
    // tempfile creates files 0600; 0666 here is what `File::create` asks for, and the
    // kernel applies the umask to it as it does there.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder.tempfile_in(dir).map_err(|e| create_error(e, dir))?;
    if let Ok(old) = std::fs::metadata(path) {
        if old.is_file() {
            tmp.as_file().set_permissions(old.permissions())?;
        }
    }
    Ok(TempFile(tmp))
}

/// A failure to create the temporary file in `dir`: `tempfile` wraps the system's error
/// with the temporary file's path (and no errno), so the usual cause, a directory that is
/// missing or not a directory, is reported from the directory itself.
fn create_error(e: std::io::Error, dir: &Path) -> std::io::Error {
    if e.raw_os_error().is_some() {
        return e;
    }
    match std::fs::metadata(dir) {
        Err(d) if d.raw_os_error().is_some() => d,
        _ => e,
    }
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

    #[test]
    fn a_missing_directory_is_the_os_error_without_the_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_atomic(dir.path().join("no/such/x.nlc"), b"x").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        assert!(e.raw_os_error().is_some(), "{e:?}");
        assert!(!e.to_string().contains(".nlc-tmp-"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn new_files_get_the_umask_mode_and_replaced_files_keep_theirs() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let dir = tempfile::tempdir().unwrap();
        // What a plain write gets under this process's umask.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        let file = dir.path().join("out.nlc");
        write_atomic(&file, b"first").unwrap();
        assert_eq!(mode(&file), mode(&plain));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&file, b"second").unwrap();
        assert_eq!(mode(&file), 0o640);
        assert_eq!(std::fs::read(&file).unwrap(), b"second");
    }
}
