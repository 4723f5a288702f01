//! Deterministic pseudo-random model files, for tests, fuzzing and benchmarks of the
//! engine itself (their predictions are poor but valid: any model must round-trip).

use safetensors::Dtype;

use super::Arch;

/// Serialises a model file with pseudo-random weights drawn from `seed`.
pub fn synthetic(arch: Arch, seed: u64, name: &str) -> Vec<u8> {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let specs = arch.layer_specs();
    let count = specs.len();
    let mut buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (index, spec) in specs.layers().enumerate() {
        let (lname, n_in, n_out) = (&spec.name, spec.n_in, spec.n_out);
        let last = index + 1 == count;
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
    // Serialised by hand with sorted keys: `safetensors::serialize` takes a HashMap for
    // the metadata, whose order (and so the file's hash) would vary between calls.
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, dtype, shape, data) in &buffers {
        let dtype = match dtype {
            Dtype::I8 => "I8",
            _ => "I32",
        };
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + data.len()]}),
        );
        offset += data.len();
    }
    let meta = serde_json::json!({
        "nelloc.format": "nelloc-model",
        "nelloc.version": "1",
        "nelloc.name": name,
        "nelloc.arch": serde_json::to_string(&arch).expect("arch serialises"),
        "nelloc.training": format!("{{\"synthetic\":true,\"seed\":{seed}}}"),
    });
    header.insert("__metadata__".into(), meta);
    let mut json =
        serde_json::to_vec(&serde_json::Value::Object(header)).expect("header serialises");
    // The header is padded with spaces to a multiple of 8 bytes, as safetensors writes it.
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for (_, _, _, data) in &buffers {
        out.extend_from_slice(data);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Model;

    #[test]
    fn synthetic_models_are_deterministic_and_valid() {
        let arch = Arch::new(3, 3, 8, 1, 10);
        let a = synthetic(arch, 3, "x");
        assert_eq!(a, synthetic(arch, 3, "x"));
        assert_ne!(a, synthetic(arch, 4, "x"));
        let m = Model::from_bytes(&a).expect("valid safetensors");
        assert_eq!(m.arch(), &arch);
        assert_eq!(m.name(), "x");
    }
}
