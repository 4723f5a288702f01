//! Replays the fuzz seed corpora, the corpora the fuzzers grew (fixtures/fuzz_corpus/) and
//! every fuzz finding (fixtures/fuzz_findings/<target>/)
//! through the checks the fuzz targets run (fuzz/src/harness.rs, shared by path), so CI
//! checks them without fuzzing. The C ABI target is replayed by
//! ffi/tests/fuzz_regressions.rs.

#[path = "../../../fuzz/src/harness.rs"]
#[allow(dead_code)]
mod harness;
mod support;

use std::path::Path;

use support::fixtures;

/// Files under `dir` (recursively), sorted; none if it does not exist.
fn files(dir: &Path, ext: Option<&str>) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p, ext));
        } else if ext.is_none_or(|x| p.extension().is_some_and(|e| e == x)) {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Runs `check` on every finding of `target` and on its committed corpus (the inputs
/// the fuzzer kept for new coverage, fixtures/fuzz_corpus/<target>/), naming the file of
/// a failure.
fn replay_findings(target: &str, check: fn(&[u8])) -> usize {
    let mut found = files(&fixtures().join("fuzz_findings").join(target), None);
    found.extend(files(&fixtures().join("fuzz_corpus").join(target), None));
    for f in &found {
        let data = std::fs::read(f).unwrap();
        if let Err(e) = std::panic::catch_unwind(|| check(&data)) {
            std::panic::resume_unwind(Box::new(format!("{}: {e:?}", f.display())));
        }
    }
    found.len()
}

fn golden() -> Vec<Vec<u8>> {
    files(&fixtures().join("golden"), Some("nlc"))
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

#[test]
fn container_seeds_and_findings() {
    for f in golden() {
        harness::container(&f);
        // Every prefix: the truncations a fuzzer tries first.
        for n in (0..f.len()).step_by(f.len() / 64 + 1) {
            harness::container(&f[..n]);
        }
    }
    replay_findings("container", harness::container);
}

#[test]
fn decode_seeds_and_findings() {
    for f in golden() {
        if f.len() < 8192 {
            harness::decode(&f);
        }
    }
    replay_findings("decode", harness::decode);
}

#[test]
fn structured_seeds_and_findings() {
    // Each valid base with each tile replaced by itself decodes; by another tile's
    // stream or by garbage, it fails cleanly.
    let bases = harness::valid_streams();
    for version in 1..=3 {
        assert!(
            bases.iter().any(|f| f[8] == version),
            "no version-{version} base"
        );
    }
    for (b, base) in bases.iter().enumerate() {
        let img = nelloc::decode(base, &harness::decode_options()).expect("base decodes");
        assert!(img.width() >= 13);
        let same = harness::replace_tile(base, 0, &tile0(base));
        assert_eq!(&same, base, "re-sealing without a change is the identity");
        for stream in [&[][..], &[1, 0, 0, 0][..], &[2, 7][..], &tile0(base)[1..]] {
            let mut input = vec![b as u8, 1];
            input.extend_from_slice(stream);
            harness::structured(&input);
        }
    }
    replay_findings("structured", harness::structured);
}

/// Tile 0's stream of a stream without metadata.
fn tile0(file: &[u8]) -> Vec<u8> {
    let n = u32::from_le_bytes(file[96..100].try_into().unwrap()) as usize;
    let len = u32::from_le_bytes(file[108..112].try_into().unwrap()) as usize;
    let start = 100 + 16 * n + 4;
    file[start..start + len].to_vec()
}

#[test]
fn roundtrip_seeds_and_findings() {
    // Every selector (colour type, model kind, modes) and tile size once, on
    // small images of flat, gradient and noisy content.
    let mut rng = support::Rng::new(15);
    for sel in 0..32u8 {
        let (w, h, t) = (
            sel.wrapping_mul(7) % 40,
            sel.wrapping_mul(5) % 40 + 3,
            sel % 8,
        );
        let px: Vec<u8> = match sel % 3 {
            0 => vec![sel * 8],
            1 => (0..=255).collect(),
            _ => (0..300).map(|_| rng.byte()).collect(),
        };
        let mut input = vec![sel, w, h, t];
        input.extend_from_slice(&px);
        harness::roundtrip(&input);
    }
    replay_findings("roundtrip", harness::roundtrip);
}

#[test]
fn model_seeds_and_findings() {
    for p in files(&fixtures().join("models"), Some("safetensors")) {
        let data = std::fs::read(&p).unwrap();
        harness::model(&data);
        // Truncations and a flipped byte in the JSON header and in the tensors.
        for n in [0, 7, 8, 64, data.len() / 2, data.len() - 1] {
            harness::model(&data[..n]);
        }
        for at in [9, 40, data.len() / 3, data.len() - 2] {
            let mut m = data.clone();
            m[at] ^= 0x5A;
            harness::model(&m);
        }
    }
    replay_findings("model", harness::model);
}
