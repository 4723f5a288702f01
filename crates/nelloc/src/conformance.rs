//! Conformance vectors (`fixtures/conformance/*.json`): for fixed inputs and the frozen
//! test models, every layer's activations, the head outputs, the mixture parameters, the
//! complete quantized CDFs and an ANS stream. Another implementation (SIMD, GPU, C)
//! proves itself against these files; this test proves the reference still matches them.
//! `NELLOC_BLESS=1` writes a missing file (never overwrites one).

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::coder::encode_intervals;
use crate::context::{bases, predict, Neighbours};
use crate::mixture::{Bases, PixelDist, MAX_C, MAX_K};
use crate::model::Model;
use crate::network::{forward_traced, Scratch};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

/// Inputs: all mid-grey (zeros), all black, all white, and pseudo-random contexts with
/// some positions outside the tile (0).
fn inputs(len: usize) -> Vec<Vec<i16>> {
    let mut v = vec![vec![0i16; len], vec![-255; len], vec![255; len]];
    let mut rng = Lcg(12345);
    for _ in 0..5 {
        v.push(
            (0..len)
                .map(|_| match rng.next() % 8 {
                    0 => 0,
                    _ => 2 * (rng.next() % 256) as i16 - 255,
                })
                .collect(),
        );
    }
    v
}

/// The predictor bases of a pixel whose context is `input` (network units: a neighbour
/// is 128 * (v + 255) in Q8, which is 32640 for a position outside the tile).
fn bases_from_context(arch: &crate::model::Arch, input: &[i16]) -> Option<Bases> {
    use crate::model::MeanBase;
    let MeanBase::Predicted(list) = arch.mean_base else {
        return None;
    };
    let (hz, c) = (arch.horizon as usize, arch.channels as usize);
    let row = 2 * hz + 1;
    // Index of context position (dy, dx): rows dy = -h..-1 of 2h+1, then h to the left.
    let pos = |dy: usize, dx: isize| -> usize {
        if dy == 0 {
            hz * row + (hz as isize + dx) as usize
        } else {
            (hz - dy) * row + (hz as isize + dx) as usize
        }
    };
    let mut b = [[0; MAX_K]; MAX_C];
    for ch in 0..c {
        let q = |p: usize| 128 * (i32::from(input[p * c + ch]) + 255);
        let far = |dy: usize, dx: isize| if hz >= 2 { q(pos(dy, dx)) } else { 0 };
        let nb = Neighbours {
            w: q(pos(0, -1)),
            ww: far(0, -2),
            n: q(pos(1, 0)),
            nn: far(2, 0),
            nw: q(pos(1, -1)),
            ne: q(pos(1, 1)),
        };
        for (slot, p) in b[ch].iter_mut().zip(list.iter()) {
            *slot = predict(*p, &nb);
        }
    }
    Some(b)
}

fn vectors(model: &Model) -> Value {
    let arch = *model.arch();
    let (k, c) = (arch.mixtures as usize, arch.channels as usize);
    let mut scratch = Scratch::new(model);
    let mut rng = Lcg(777);
    let mut cases = Vec::new();
    let mut intervals = Vec::new();
    for input in inputs(arch.input_len()) {
        let mut head = vec![0i32; arch.output_len()];
        let mut layers: Vec<Vec<u8>> = Vec::new();
        forward_traced(model, &input, &mut head, &mut scratch, |_, a| {
            layers.push(a.to_vec())
        });
        let bases = bases_from_context(&arch, &input);
        let dist = PixelDist::new(&head, k, c, bases.as_ref());
        let pixel: Vec<u8> = (0..c).map(|_| (rng.next() % 256) as u8).collect();
        let mut w: [u32; MAX_K] = dist.prior_weights();
        let mut channels = Vec::new();
        for ch in 0..c {
            let cd = dist.channel(ch, &pixel, &w);
            let cdf: Vec<u32> = (0..=256).map(|x| cd.cumulative(x)).collect();
            let (left, freq) = cd.interval(pixel[ch]);
            intervals.push((left, freq));
            let mut entry = json!({
                "weights": &w[..k],
                "coupled_means_q8": &cd.means()[..k],
                "cdf": cdf,
                "symbol": pixel[ch],
                "interval": [left, freq],
            });
            if let Some(b) = &bases {
                // Only predictor-relative models have bases (older files have no key).
                entry["bases_q8"] = json!(&b[ch][..k]);
            }
            channels.push(entry);
            if ch + 1 < c {
                w = cd.posterior(pixel[ch]);
            }
        }
        cases.push(json!({
            "input": input,
            "activations": layers,
            "head_q8": head,
            "prior_weights": &dist.prior_weights()[..k],
            "channels": channels,
        }));
    }
    let stream = encode_intervals(&intervals);
    let words: Vec<u32> = stream
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    json!({
        "description": "nelloc conformance vectors: see docs/FORMAT.md sections 3-5. \
            'activations' are the u8 outputs of conv_in, each residual layer, and hidden; \
            'head_q8' the out layer; 'cdf' is F(0..=256) for each channel given the earlier \
            channels' 'symbol' values; 'ans_words' encodes all intervals in file order.",
        "model_sha256": model.hash_hex(),
        "model_name": model.name(),
        "arch": arch,
        "cases": cases,
        "ans_intervals": intervals,
        "ans_words": words,
    })
}

fn check(file: &str, model_file: &str) {
    let model =
        Model::from_file(fixtures().join("models").join(model_file)).expect("frozen test model");
    let path = fixtures().join("conformance").join(file);
    let actual = vectors(&model);
    if std::env::var_os("NELLOC_BLESS").is_some() && !path.exists() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string(&actual).unwrap()).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let expected: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(expected["model_sha256"], actual["model_sha256"]);
    for (i, (e, a)) in expected["cases"]
        .as_array()
        .unwrap()
        .iter()
        .zip(actual["cases"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(e["activations"], a["activations"], "case {i}: activations");
        assert_eq!(e["head_q8"], a["head_q8"], "case {i}: head");
        assert_eq!(e["channels"], a["channels"], "case {i}: mixture/CDF");
    }
    assert_eq!(expected, actual);
}

#[test]
fn conformance_rgb() {
    check("test-rgb.json", "test-rgb.safetensors");
}

#[test]
fn conformance_gray() {
    check("test-gray.json", "test-gray.safetensors");
}

#[test]
fn conformance_predictor_relative() {
    check("test-rgb-pred.json", "test-rgb-pred.safetensors");
    check("test-gray-pred.json", "test-gray-pred.safetensors");
}

/// The numpy integer forward of training/export.py (an independent implementation of
/// docs/FORMAT.md section 3) must agree with the reference on every head output of a
/// whole image.
#[test]
fn python_integer_forward_agrees() {
    python_check("python-rgb-head.json");
    python_check("python-gray-head.json");
}

/// The same for the predictor-relative test models, plus the mixture: the reference's
/// integer code length of the image (predictor bases, coupling on residuals) must match
/// the float likelihood training/export.py computes from the same integer head outputs.
#[test]
fn python_predictor_relative_model_agrees() {
    python_check("python-rgb-pred-head.json");
    python_check("python-gray-pred-head.json");
}

fn python_check(file: &str) {
    use crate::context::gather_context;
    use crate::schedule::TileBuf;
    use sha2::{Digest, Sha256};
    let path = fixtures().join("conformance").join(file);
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let model = Model::from_file(
        fixtures()
            .join("models")
            .join(spec["model_file"].as_str().unwrap()),
    )
    .unwrap();
    assert_eq!(spec["model_sha256"].as_str().unwrap(), model.hash_hex());
    let arch = *model.arch();
    let c = arch.channels as usize;
    let img = image::open(
        fixtures()
            .join("..")
            .join(spec["fixture"].as_str().unwrap()),
    )
    .unwrap();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let data = if c == 3 {
        img.to_rgb8().into_raw()
    } else {
        img.to_luma8().into_raw()
    };
    let tile = TileBuf {
        data: &data,
        w,
        h,
        stride: c,
    };
    let mut scratch = Scratch::new(&model);
    let mut input = vec![0i16; arch.input_len()];
    let mut head = vec![0i32; arch.output_len()];
    let mut hasher = Sha256::new();
    let (k, mut bits) = (arch.mixtures as usize, 0f64);
    for i in 0..h {
        for j in 0..w {
            gather_context(&tile, i, j, arch.horizon as usize, 0, c, &mut input);
            forward_traced(&model, &input, &mut head, &mut scratch, |_, _| {});
            let bases = bases(&arch.mean_base, &tile, i, j, 0, c);
            PixelDist::new(&head, k, c, bases.as_ref())
                .for_each_interval(&data[(i * w + j) * c..][..c], |_, f| {
                    bits -= (f64::from(f) / f64::from(1u32 << 24)).log2()
                });
            if i < 8 && j < 8 {
                let expected: Vec<i32> =
                    serde_json::from_value(spec["top_left_8x8"][i][j].clone()).unwrap();
                assert_eq!(head, expected, "pixel ({i}, {j})");
            }
            for v in &head {
                hasher.update(v.to_le_bytes());
            }
        }
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, spec["sha256_int32_le_hwk"].as_str().unwrap());
    if let Some(want) = spec["int_sim_bpsp_ideal_coder"].as_f64() {
        // The integer CDFs cost a little more than the float mixture (24-bit
        // quantisation, tabulated sigmoid): well under 1%; a wrong predictor or coupling
        // reference costs far more.
        let got = bits / (w * h * c) as f64;
        assert!(
            (got / want - 1.0).abs() < 0.005,
            "{file}: integer {got:.5} bpsp vs python {want:.5}"
        );
    }
}
