//! Batch mode (`--out-dir`), verified writes and decoding bounds of the `nlc` binary: a
//! bad file never stops the others, nothing existing is replaced without `--force`, and
//! a write that does not decode back replaces nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nlc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nlc"))
}

fn photos() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/photos")
}

fn run(args: &[&str], paths: &[&Path]) -> Output {
    nlc().args(args).args(paths).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn pixels(path: &Path) -> Vec<u8> {
    image::open(path).expect("readable image").into_bytes()
}

/// An input directory with two small photos, a grey image and a file that is not an image.
fn inputs(dir: &Path) -> PathBuf {
    let inp = dir.join("in");
    std::fs::create_dir(&inp).unwrap();
    std::fs::copy(photos().join("dune_77x53.png"), inp.join("dune.png")).unwrap();
    let boats = image::open(photos().join("boats_128x128.png")).unwrap();
    boats
        .crop_imm(0, 0, 48, 40)
        .save(inp.join("boats.png"))
        .unwrap();
    boats.to_luma8().save(inp.join("gray.png")).unwrap();
    std::fs::write(inp.join("broken.png"), b"not a png at all").unwrap();
    inp
}

#[test]
fn batch_encode_and_decode_continue_past_bad_files_and_keep_existing_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let inp = inputs(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("gray.nlc"), b"keep me").unwrap();

    let o = run(
        &["encode", "-q", "--tile-size", "32", "--out-dir"],
        &[&out, &inp],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("2 of 4 file(s) failed"), "{err}");
    assert!(
        err.contains("broken.png") && err.contains("gray.png"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(out.join("gray.nlc")).unwrap(), b"keep me");
    for name in ["dune", "boats"] {
        assert!(out.join(format!("{name}.nlc")).is_file(), "{name}");
    }
    assert!(!out.join("broken.nlc").exists());

    // --force replaces; everything good now succeeds.
    std::fs::remove_file(inp.join("broken.png")).unwrap();
    let o = run(
        &["encode", "-q", "--force", "--tile-size", "32", "--out-dir"],
        &[&out, &inp],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(std::fs::read(out.join("gray.nlc")).unwrap(), b"keep me");

    // Batch decode (two jobs) of the directory, plus one explicit non-.nlc file.
    let back = tmp.path().join("back");
    let bogus = inp.join("dune.png");
    let o = run(
        &["decode", "-q", "--jobs", "2", "--out-dir"],
        &[&back, &out, &bogus],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 of 4 file(s) failed"),
        "{}",
        stderr(&o)
    );
    for name in ["dune", "boats", "gray"] {
        assert_eq!(
            pixels(&back.join(format!("{name}.png"))),
            pixels(&inp.join(format!("{name}.png"))),
            "{name}"
        );
    }
    // A second run leaves the decoded files alone and says so.
    let o = run(&["decode", "-q", "--out-dir"], &[&back, &out]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("3 of 3 file(s) failed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn two_inputs_with_one_output_name_do_not_overwrite_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.png");
    let b = tmp.path().join("a.ppm");
    image::open(photos().join("dune_77x53.png"))
        .unwrap()
        .save(&a)
        .unwrap();
    image::open(photos().join("dune_77x53.png"))
        .unwrap()
        .crop_imm(0, 0, 10, 10)
        .to_rgb8()
        .save(&b)
        .unwrap();
    let out = tmp.path().join("out");
    let o = run(&["encode", "-q", "--out-dir"], &[&out, &a, &b]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("same output name"), "{}", stderr(&o));
    let info = run(&["info"], &[&out.join("a.nlc")]);
    assert!(String::from_utf8_lossy(&info.stdout).contains("77x53"));
}

#[test]
fn verification_catches_a_bad_write_and_replaces_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = photos().join("dune_77x53.png");
    let dst = tmp.path().join("d.nlc");
    std::fs::write(&dst, b"previous").unwrap();
    // Verified by default (single-file form replaces an existing output, as before).
    let o = run(&["encode", "-q"], &[&src, &dst]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("verified"), "{}", stderr(&o));
    let good = std::fs::read(&dst).unwrap();
    // A fault between writing and reading back is caught; the old file stays.
    let o = nlc()
        .env("NLC_TEST_CORRUPT_WRITES", "1")
        .args(["encode", "-q"])
        .arg(&src)
        .arg(&dst)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("verification failed"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&dst).unwrap(), good);
    let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "a temporary file was left behind");
    // --no-verify skips the check (the fault goes unnoticed: the reason it is on).
    let o = nlc()
        .env("NLC_TEST_CORRUPT_WRITES", "1")
        .args(["encode", "-q", "--no-verify"])
        .arg(&src)
        .arg(&dst)
        .output()
        .unwrap();
    assert!(o.status.success());
}

#[test]
fn work_and_pixel_bounds_refuse_bombs_quickly() {
    // The 120-byte golden flat-black file edited to claim 16000x16000 pixels in one tile
    // with a short non-empty stream: minutes of neural decoding without a work bound.
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/golden/flat-black-20x12.nlc");
    let mut f = std::fs::read(golden).unwrap();
    for (at, v) in [(12, 16000u32), (16, 16000), (20, 16000), (24, 16000)] {
        f[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    let stream = [0x5Au8; 64];
    f[108..112].copy_from_slice(&64u32.to_le_bytes());
    let crc = |d: &[u8]| {
        // CRC-32 (IEEE), bitwise: the test needs no crate for it.
        let mut c = 0xFFFF_FFFFu32;
        for &b in d {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    };
    f[112..116].copy_from_slice(&crc(&stream).to_le_bytes());
    let h = crc(&f[..116]);
    f[116..120].copy_from_slice(&h.to_le_bytes());
    f.extend_from_slice(&stream);
    let tmp = tempfile::tempdir().unwrap();
    let bomb = tmp.path().join("bomb.nlc");
    std::fs::write(&bomb, &f).unwrap();
    let t = std::time::Instant::now();
    let o = run(
        &["decode", "-q", "--max-work", "1000000"],
        &[&bomb, &tmp.path().join("x.png")],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("work limit"), "{}", stderr(&o));
    // Batch mode bounds it by default.
    let o = run(
        &["decode", "-q", "--out-dir"],
        &[&tmp.path().join("o"), &bomb],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("limit"), "{}", stderr(&o));
    assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
    // Usage: one path without --out-dir is a usage error.
    let o = run(&["decode"], &[&bomb]);
    assert_eq!(o.status.code(), Some(2));
}
