//! The determinism matrix: the same images encoded with 1, 2 and 8 threads, every SIMD
//! level this machine has (`NELLOC_SIMD`, one child process per level: the level is fixed
//! per process), every backend (a row each: the CPU, and ONNX Runtime where it runs, which
//! must also give the CPU's bytes), several tile sizes, coding
//! modes and model parametrisations (absolute and predictor-relative means), and decoded
//! with 1, 2 and 8 threads (different tile groupings and batch shapes). Every cell must
//! give the same bytes and the original pixels. tools/determinism-matrix.sh does the same
//! through `nlc` for larger images.

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use nelloc::{decode, encode, ColorType, Device, Image, TileMode, TileModes};
use support::*;

/// Backends, one row each: the CPU always; ONNX Runtime where it can run (CI installs it
/// and sets `NELLOC_REQUIRE_ORT=1`), in the child of the best SIMD level only (its
/// arithmetic does not depend on `NELLOC_SIMD`). CUDA would add a line here.
fn backends() -> Vec<(&'static str, Device)> {
    let mut v = vec![("cpu", Device::Cpu)];
    let best = std::env::var("NELLOC_SIMD").map_or(true, |l| l == "best");
    if best && ort_available() {
        v.push(("ort", Device::Ort(nelloc::OrtProvider::Cpu)));
    }
    v
}
const THREADS: [usize; 3] = [1, 2, 8];
const TILES: [u32; 3] = [7, 32, 256];

/// 64-bit FNV-1a: a fingerprint to compare across processes.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn images() -> Vec<(String, Image)> {
    let mut v: Vec<(String, Image)> = synthetic_cases()
        .into_iter()
        .filter(|c| {
            [
                "odd-37x29-rgb",
                "gray-gradient-40x30",
                "rgba-varying-alpha-21x14",
                "graya-varying-15x11",
            ]
            .contains(&c.name.as_str())
        })
        .map(|c| (c.name, c.image))
        .collect();
    // Mixed content: a smooth half, a flat quarter and noise, so every mode appears.
    let mut rng = Rng::new(7);
    let noise: Vec<u8> = (0..48 * 40 * 3).map(|_| rng.byte()).collect();
    v.push((
        "mixed-48x40".into(),
        image(48, 40, ColorType::Rgb8, |x, y, c| match (x / 24, y / 20) {
            (0, _) => (x * 5 + y * 3 + c as u32 * 20) as u8,
            (1, 0) => 90,
            _ => noise[((y * 48 + x) * 3) as usize + c],
        }),
    ));
    v
}

/// One process's rows: "key fingerprint" lines for every encode, after checking within
/// the process that thread counts agree and every decode is exact.
fn rows() -> Vec<String> {
    let mut out = Vec::new();
    // Fingerprints of the CPU row by key without the backend: other backends must match.
    let mut cpu = std::collections::HashMap::new();
    for (backend, device) in backends() {
        for (name, img) in images() {
            let pred = [false, true];
            for (tile, pred, all_modes) in TILES.iter().flat_map(|&t| {
                pred.iter()
                    .flat_map(move |&p| [(t, p, false), (t, p, true)])
            }) {
                let (rgb, gray) = if pred {
                    (test_rgb_pred(), test_gray_pred())
                } else {
                    (test_rgb(), test_gray())
                };
                let color = if img.color().color_channels() == 3 {
                    rgb.clone()
                } else {
                    gray.clone()
                };
                let mut e = encode_opts(color, gray.clone(), tile);
                e.device = device;
                // The encoder's default: at tile 256 every image is one tile, written in
                // the compact container (version 5).
                e.compact = true;
                if all_modes {
                    e.modes = TileModes::all();
                    // With an adapted head (its fit runs on the backend's outputs):
                    // the offsets, hence the bytes, must not depend on the level,
                    // backend or thread count either.
                    e.adapt_head = nelloc::AdaptHead::Always;
                } else {
                    e.modes = TileModes::only(&[TileMode::Neural]);
                }
                let files: Vec<Vec<u8>> = THREADS
                    .iter()
                    .map(|&t| {
                        e.threads = t;
                        encode(img.as_ref(), &e).unwrap()
                    })
                    .collect();
                let key = format!(
                    "{backend}/{name}/tile{tile}/{}/{}",
                    if pred { "pred" } else { "abs" },
                    if all_modes { "all+adapted" } else { "neural" }
                );
                assert!(
                    files.iter().all(|f| f == &files[0]),
                    "{key}: thread counts disagree"
                );
                for &t in &THREADS {
                    let mut d = decode_opts(&[rgb.clone(), gray.clone()]);
                    d.threads = t;
                    d.device = device;
                    let back = decode(&files[0], &d).unwrap();
                    assert!(
                        back.pixels() == img.pixels(),
                        "{key}: decode with {t} threads"
                    );
                }
                let cell = key
                    .split_once('/')
                    .map_or(key.clone(), |(_, k)| k.to_owned());
                if backend == "cpu" {
                    cpu.insert(cell, fingerprint(&files[0]));
                } else {
                    assert_eq!(
                        cpu.get(&cell),
                        Some(&fingerprint(&files[0])),
                        "{key}: not the CPU's bytes"
                    );
                }
                out.push(format!("{key} {:016x}", fingerprint(&files[0])));
            }
        }
    }
    out
}

/// The child: prints its SIMD level and rows. Ignored in normal runs; the matrix test runs
/// it in a subprocess per `NELLOC_SIMD` value.
#[test]
#[ignore = "run by determinism_matrix in a child process"]
fn matrix_child() {
    println!("LEVEL {}", nelloc::bench_support::simd_level());
    for r in rows() {
        println!("ROW {r}");
    }
}

#[test]
fn determinism_matrix() {
    let exe = std::env::current_exe().unwrap();
    let mut by_level: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut other_rows = 0;
    // Every level `NELLOC_SIMD` can select, lowest first, then the default; those this CPU
    // lacks fall back to a lower one and are de-duplicated by the level the child reports.
    let simd = nelloc::bench_support::simd_level_names()
        .iter()
        .chain(&["best"]);
    for simd in simd {
        let out = Command::new(&exe)
            .args(["--exact", "matrix_child", "--ignored", "--nocapture"])
            .env("NELLOC_SIMD", simd)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "NELLOC_SIMD={simd}:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let level = text
            .lines()
            .find_map(|l| l.split_once("LEVEL ").map(|x| x.1))
            .unwrap()
            .to_string();
        let all: Vec<String> = text
            .lines()
            .filter_map(|l| l.split_once("ROW ").map(|x| x.1))
            .map(str::to_string)
            .collect();
        // Other backends' rows were checked against the CPU's inside the child.
        other_rows += all.iter().filter(|r| !r.starts_with("cpu/")).count();
        let rows: Vec<String> = all.into_iter().filter(|r| r.starts_with("cpu/")).collect();
        assert_eq!(rows.len(), images().len() * TILES.len() * 4);
        by_level.insert(level, rows);
    }
    let levels: Vec<&String> = by_level.keys().collect();
    eprintln!(
        "determinism matrix: {} SIMD level(s) {levels:?} x {} images x {} tile sizes x 2 models x 2 mode sets = {} CPU files, plus {other_rows} from other backends (ONNX Runtime), each encoded with {THREADS:?} threads and decoded with {THREADS:?}",
        by_level.len(),
        images().len(),
        TILES.len(),
        by_level.values().next().unwrap().len() * by_level.len(),
    );
    let first = by_level.values().next().unwrap();
    for (level, rows) in &by_level {
        for (a, b) in first.iter().zip(rows) {
            assert_eq!(a, b, "{level} differs from {:?}", levels[0]);
        }
    }
}
