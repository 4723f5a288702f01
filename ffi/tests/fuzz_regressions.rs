//! Replays the C ABI fuzz target's seeds (the golden files and their truncations), the
//! corpus it grew (fixtures/fuzz_corpus/abi/) and its findings (fixtures/fuzz_findings/abi/) through the check the fuzzer runs
//! (fuzz/src/abi.rs, shared by path).
#![allow(unsafe_code)]

#[path = "../../fuzz/src/abi.rs"]
mod abi;

use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn abi_seeds_and_findings() {
    let golden: Vec<PathBuf> = files(&fixtures().join("golden"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "nlc"))
        .collect();
    assert!(golden.len() > 10);
    for p in &golden {
        let f = std::fs::read(p).unwrap();
        if f.len() < 8192 {
            abi::abi(&f);
        }
        for n in (0..f.len()).step_by(f.len() / 16 + 1) {
            abi::abi(&f[..n]);
        }
    }
    let mut replay = files(&fixtures().join("fuzz_findings/abi"));
    replay.extend(files(&fixtures().join("fuzz_corpus/abi")));
    for p in replay {
        let data = std::fs::read(&p).unwrap();
        if let Err(e) = std::panic::catch_unwind(|| abi::abi(&data)) {
            std::panic::resume_unwind(Box::new(format!("{}: {e:?}", p.display())));
        }
    }
}
