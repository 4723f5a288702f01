//! The backend layer: every device codes the same bytes as the CPU. The ONNX Runtime
//! backend runs when ONNX Runtime is installed (`NELLOC_ORT_LIB`); CI sets
//! `NELLOC_REQUIRE_ORT=1` so that it cannot skip there. CUDA needs a GPU: without one,
//! asking for it must be a clear error.

mod support;

use nelloc::{decode, decode_batch, encode, encode_batch, Device, DeviceError, Error, OrtProvider};
use support::*;

fn golden_sets() -> Vec<(std::path::PathBuf, Vec<std::sync::Arc<nelloc::Model>>)> {
    let g = fixtures().join("golden");
    vec![
        (g.clone(), vec![test_rgb(), test_gray()]),
        (g.join("pred"), vec![test_rgb_pred(), test_gray_pred()]),
        (g.join("modes"), vec![test_rgb(), test_gray()]),
    ]
}

#[test]
fn ort_decodes_every_golden_file_as_the_cpu_does() {
    if !ort_available() {
        return;
    }
    let mut checked = 0;
    for (dir, models) in golden_sets() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "nlc") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let cpu = decode(&bytes, &decode_opts(&models)).unwrap();
            let mut opts = decode_opts(&models);
            opts.device = Device::Ort(OrtProvider::Cpu);
            let ort = decode(&bytes, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(ort.pixels(), cpu.pixels(), "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} golden files");
}

#[test]
fn ort_encodes_the_same_bytes_as_the_cpu() {
    if !ort_available() {
        return;
    }
    let (rgb, gray) = (test_rgb_pred(), test_gray_pred());
    let mut cases: Vec<(String, nelloc::Image)> = synthetic_cases()
        .into_iter()
        .map(|c| (c.name, c.image))
        .collect();
    for photo in [
        "boats_128x128",
        "dune_77x53",
        "wood_gray_64x64",
        "bark_64x96",
    ] {
        cases.push((
            photo.into(),
            load_png(&fixtures().join(format!("photos/{photo}.png"))),
        ));
    }
    for (name, image) in &cases {
        let model = if image.color().color_channels() == 3 {
            rgb.clone()
        } else {
            gray.clone()
        };
        let mut opts = encode_opts(model, gray.clone(), 48);
        let cpu = encode(image.as_ref(), &opts).unwrap();
        opts.device = Device::Ort(OrtProvider::Cpu);
        let ort = encode(image.as_ref(), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ort, cpu, "{name}: the ORT stream differs");
    }
    // A built-in model (the shipped default) on a real photo, both ways.
    let photo = load_png(&fixtures().join("photos/sky_kite_96x64.png"));
    let mut opts = nelloc::EncodeOptions::default();
    let cpu = encode(photo.as_ref(), &opts).unwrap();
    opts.device = Device::Ort(OrtProvider::Cpu);
    assert_eq!(encode(photo.as_ref(), &opts).unwrap(), cpu);
    let mut d = nelloc::DecodeOptions::default();
    d.device = Device::Ort(OrtProvider::Cpu);
    assert_eq!(decode(&cpu, &d).unwrap().pixels(), photo.pixels());
}

#[test]
fn the_exported_graph_is_deterministic_and_names_its_model() {
    let m = test_rgb();
    let a = nelloc::backend::onnx::export(&m);
    assert_eq!(a, nelloc::backend::onnx::export(&m));
    let text = String::from_utf8_lossy(&a);
    assert!(text.contains(&m.hash_hex()));
    assert!(text.contains("MatMulInteger"));
}

#[test]
fn cuda_without_a_gpu_is_a_clear_error() {
    let image = load_png(&fixtures().join("photos/wood_gray_64x64.png"));
    let mut opts = nelloc::EncodeOptions::default();
    opts.device = Device::Cuda(0);
    match encode(image.as_ref(), &opts) {
        Ok(_) => {
            eprintln!("SKIPPED: a CUDA GPU is present here; this test is for machines without")
        }
        Err(Error::Device(
            e @ (DeviceError::Unavailable { .. } | DeviceError::NotBuilt { .. }),
        )) => {
            let msg = e.to_string();
            assert!(msg.contains("cuda:0"), "{msg}");
            eprintln!("as expected: {msg}");
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[test]
fn auto_keeps_small_images_on_the_cpu() {
    let image = load_png(&fixtures().join("photos/boats_128x128.png"));
    let mut opts = nelloc::EncodeOptions::default();
    let cpu = encode(image.as_ref(), &opts).unwrap();
    opts.device = Device::Auto;
    assert_eq!(encode(image.as_ref(), &opts).unwrap(), cpu);
}

#[test]
fn device_names_round_trip() {
    for s in ["cpu", "auto", "cuda:0", "cuda:3", "ort:cpu", "ort:cuda:1"] {
        let d: Device = s.parse().unwrap();
        assert_eq!(d.to_string(), s);
    }
    assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
    assert_eq!(
        "ort".parse::<Device>().unwrap(),
        Device::Ort(OrtProvider::Cpu)
    );
    for bad in ["gpu", "cuda:x", "ort:tpu", ""] {
        assert!(bad.parse::<Device>().is_err(), "{bad}");
    }
}

#[test]
fn batches_code_each_image_as_a_single_call_does() {
    let images: Vec<nelloc::Image> = synthetic_cases()
        .into_iter()
        .take(6)
        .map(|c| c.image)
        .collect();
    let refs: Vec<nelloc::ImageRef<'_>> = images.iter().map(|i| i.as_ref()).collect();
    let mut opts = nelloc::EncodeOptions::default();
    opts.threads = 2;
    let streams = encode_batch(&refs, &opts).unwrap();
    let mut bytes = Vec::new();
    for (image, s) in images.iter().zip(streams) {
        let s = s.unwrap();
        assert_eq!(s, encode(image.as_ref(), &opts).unwrap());
        bytes.push(s);
    }
    // A corrupt stream fails alone.
    bytes.push(b"not an nlc file".to_vec());
    let slices: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
    let back = decode_batch(&slices, &nelloc::DecodeOptions::default()).unwrap();
    assert_eq!(back.len(), images.len() + 1);
    for (image, b) in images.iter().zip(&back) {
        assert_eq!(b.as_ref().unwrap().pixels(), image.pixels());
    }
    assert!(back.last().unwrap().is_err());
    // An absent device fails the whole batch up front, with the reason.
    let mut opts = nelloc::EncodeOptions::default();
    opts.device = Device::Cuda(7);
    if let Err(e) = encode_batch(&refs, &opts) {
        assert!(matches!(e, Error::Device(_)), "{e}");
    }
}
