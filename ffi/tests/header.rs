//! The committed `include/nelloc.h` (at the repository root) must be exactly what cbindgen (the pinned version)
//! generates from this crate, and its version macros must match Cargo.toml.
//!
//! After changing the API, regenerate it with
//! `NELLOC_BLESS=1 cargo test -p nelloc-ffi --test header` and commit the result.

use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    // The C API belongs to the whole suite: the header lives at the repository root.
    crate_dir().join("..").join("include").join("nelloc.h")
}

fn generate(dir: &Path) -> String {
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("ffi/cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("header is UTF-8")
}

#[test]
fn committed_header_is_up_to_date() {
    let generated = generate(&crate_dir());
    let path = header_path();
    if std::env::var_os("NELLOC_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write include/nelloc.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(generated.lines().count()));
        panic!(
            "include/nelloc.h is out of date (first difference at line {}): regenerate it with \
             `NELLOC_BLESS=1 cargo test -p nelloc-ffi --test header` and commit it\n\
             committed: {:?}\ngenerated: {:?}",
            first + 1,
            committed.lines().nth(first),
            generated.lines().nth(first),
        );
    }
}

fn define(header: &str, name: &str) -> Option<String> {
    header.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("#define ")?.trim();
        let value = rest.strip_prefix(name)?;
        value
            .starts_with(char::is_whitespace)
            .then(|| value.trim().to_string())
    })
}

#[test]
fn header_version_macros_match_cargo_toml() {
    let header = std::fs::read_to_string(header_path()).expect("include/nelloc.h");
    let expect = [
        ("NLC_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("NLC_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("NLC_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ];
    for (name, want) in expect {
        assert_eq!(
            define(&header, name).as_deref(),
            Some(want),
            "{name} in include/nelloc.h does not match Cargo.toml's version {}",
            env!("CARGO_PKG_VERSION")
        );
    }
    // The run-time version agrees with the header too.
    let number: u32 = env!("CARGO_PKG_VERSION_MAJOR").parse::<u32>().unwrap() * 10000
        + env!("CARGO_PKG_VERSION_MINOR").parse::<u32>().unwrap() * 100
        + env!("CARGO_PKG_VERSION_PATCH").parse::<u32>().unwrap();
    assert_eq!(nelloc_ffi::nlc_version(), number);
    // SAFETY: nlc_version_string returns a static NUL-terminated string.
    let s = unsafe { std::ffi::CStr::from_ptr(nelloc_ffi::nlc_version_string()) };
    assert_eq!(s.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}
