//! Deterministic pseudo-random model files, for tests, fuzzing and benchmarks of the
//! engine itself (their predictions are poor but valid: any model must round-trip).

use std::collections::HashMap;

use safetensors::{tensor::TensorView, Dtype};

use super::{layer_names, layer_shape, Arch};

/// Serialises a model file with pseudo-random weights drawn from `seed`.
pub fn synthetic(arch: Arch, seed: u64, name: &str) -> Vec<u8> {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let names = layer_names(&arch);
    let mut buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (index, lname) in names.iter().enumerate() {
        let (n_in, n_out) = layer_shape(&arch, index, names.len());
        let last = index + 1 == names.len();
        let weight: Vec<u8> = (0..n_in * n_out)
            .map(|_| ((next() % 128) as i32 - 64) as i8 as u8)
            .collect();
        let bias: Vec<u8> = (0..n_out)
            .flat_map(|_| (((next() % 8192) as i32 - 4096) * 16).to_le_bytes())
            .collect();
        // Scale so activations land mostly in 0..255 and head outputs within a few units.
        let shift = if last {
            37
        } else {
            36 + (n_in as f64).log2() as i32 / 2
        };
        let mult: Vec<u8> = (0..n_out)
            .flat_map(|_| ((1i32 << 30) + (next() % (1 << 29)) as i32).to_le_bytes())
            .collect();
        let shifts: Vec<u8> = (0..n_out).flat_map(|_| shift.to_le_bytes()).collect();
        buffers.push((
            format!("{lname}.weight"),
            Dtype::I8,
            vec![n_out, n_in],
            weight,
        ));
        buffers.push((format!("{lname}.bias"), Dtype::I32, vec![n_out], bias));
        buffers.push((format!("{lname}.mult"), Dtype::I32, vec![n_out], mult));
        buffers.push((format!("{lname}.shift"), Dtype::I32, vec![n_out], shifts));
    }
    let views: Vec<(String, TensorView<'_>)> = buffers
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.clone(),
                TensorView::new(*d, s.clone(), b).expect("shape matches buffer"),
            )
        })
        .collect();
    let mut meta = HashMap::new();
    meta.insert("nelloc.format".to_string(), "nelloc-model".to_string());
    meta.insert("nelloc.version".to_string(), "1".to_string());
    meta.insert("nelloc.name".to_string(), name.to_string());
    meta.insert(
        "nelloc.arch".to_string(),
        serde_json::to_string(&arch).expect("arch serialises"),
    );
    meta.insert(
        "nelloc.training".to_string(),
        format!("{{\"synthetic\":true,\"seed\":{seed}}}"),
    );
    safetensors::tensor::serialize(views, &Some(meta)).expect("serialise synthetic model")
}
