//! Bit-exact round-trips with the frozen test models and the built-in models, on real
//! photo crops and on every synthetic edge case.

mod support;

use nelloc::{decode, encode, DecodeOptions, EncodeOptions};
use support::*;

fn photos() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(fixtures().join("photos"))
        .expect("fixtures/photos")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    v.sort();
    assert!(v.len() >= 5, "expected the committed photo fixtures");
    v
}

#[test]
fn photos_roundtrip_with_frozen_test_models() {
    let (rgb, gray) = (test_rgb(), test_gray());
    for path in photos() {
        let image = load_png(&path);
        let model = if image.color().color_channels() == 3 {
            rgb.clone()
        } else {
            gray.clone()
        };
        let bytes = encode(image.as_ref(), &encode_opts(model, gray.clone(), 64)).unwrap();
        let back = decode(&bytes, &decode_opts(&[rgb.clone(), gray.clone()])).unwrap();
        assert_eq!(back.pixels(), image.pixels(), "{}", path.display());
        // A trained model must actually compress photographs.
        let bpsp = bytes.len() as f64 * 8.0 / image.pixels().len() as f64;
        assert!(bpsp < 7.0, "{}: {bpsp:.3} bpsp", path.display());
    }
}

#[test]
fn synthetic_cases_roundtrip_with_frozen_test_models() {
    let (rgb, gray) = (test_rgb(), test_gray());
    for case in synthetic_cases() {
        let model = if case.image.color().color_channels() == 3 {
            rgb.clone()
        } else {
            gray.clone()
        };
        for tile in [7, 256] {
            let bytes = encode(
                case.image.as_ref(),
                &encode_opts(model.clone(), gray.clone(), tile),
            )
            .unwrap();
            let back = decode(&bytes, &decode_opts(&[rgb.clone(), gray.clone()])).unwrap();
            assert_eq!(
                back.pixels(),
                case.image.pixels(),
                "{} tile {tile}",
                case.name
            );
        }
    }
}

#[test]
fn flat_images_compress_far_below_raw() {
    // Mid-grey is the model's zero input; black codes in an all-zero-symbol stream that
    // ANS stores in no bytes at all. (Saturated flat colours cost more with the v1 models:
    // photographs rarely contain them; see docs/MODELS.md.)
    for (value, max_bpsp) in [(128u8, 1.5), (0, 0.05)] {
        let image =
            nelloc::Image::new(48, 48, nelloc::ColorType::Rgb8, vec![value; 48 * 48 * 3]).unwrap();
        let bytes = encode(image.as_ref(), &encode_opts(test_rgb(), test_gray(), 256)).unwrap();
        let stream = bytes.len() - (100 + 16 + 4);
        let bpsp = stream as f64 * 8.0 / (48.0 * 48.0 * 3.0);
        assert!(bpsp < max_bpsp, "flat {value}: {bpsp:.3} bpsp");
        let back = decode(&bytes, &decode_opts(&[test_rgb()])).unwrap();
        assert_eq!(back.pixels(), image.pixels());
    }
}

#[test]
fn constant_alpha_costs_nothing() {
    let case = synthetic_cases()
        .into_iter()
        .find(|c| c.name.starts_with("rgba-const"))
        .unwrap();
    let o = encode_opts(test_rgb(), test_gray(), 256);
    let rgba = encode(case.image.as_ref(), &o).unwrap();
    let rgb_px: Vec<u8> = case
        .image
        .pixels()
        .chunks(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let rgb = nelloc::Image::new(19, 13, nelloc::ColorType::Rgb8, rgb_px).unwrap();
    let plain = encode(rgb.as_ref(), &o).unwrap();
    assert_eq!(rgba.len(), plain.len());
}

#[test]
fn builtin_models_load_and_roundtrip_a_photo() {
    assert_eq!(
        nelloc::model::builtin().len(),
        nelloc::model::builtin_file_count()
    );
    for m in nelloc::model::builtin() {
        assert!(m.parameters() > 1000, "{} looks empty", m.name());
        // Debug names the model; it must not print ~100 K weights into a log.
        let debug = format!("{m:?}");
        assert!(
            debug.len() < 1000,
            "{}: Debug is {} bytes",
            m.name(),
            debug.len()
        );
        assert!(debug.contains(&m.hash_hex()));
    }
    for path in photos() {
        let image = load_png(&path);
        let bytes = encode(image.as_ref(), &EncodeOptions::default()).unwrap();
        let back = decode(&bytes, &DecodeOptions::default()).unwrap();
        assert_eq!(back.pixels(), image.pixels(), "{}", path.display());
    }
}

#[test]
fn metadata_roundtrips() {
    let mut image = load_png(&fixtures().join("photos/dune_77x53.png"));
    image.metadata_mut().icc = Some(vec![1, 2, 3, 4, 5]);
    image.metadata_mut().exif = Some(b"MM\0*exif".to_vec());
    image.metadata_mut().xmp = Some(b"<x:xmpmeta/>".to_vec());
    let bytes = encode(image.as_ref(), &encode_opts(test_rgb(), test_gray(), 256)).unwrap();
    let back = decode(&bytes, &decode_opts(&[test_rgb(), test_gray()])).unwrap();
    assert_eq!(back.metadata(), image.metadata());
    assert_eq!(back.pixels(), image.pixels());
}

#[test]
fn image_larger_than_one_tile_uses_many_tiles() {
    let image = load_png(&fixtures().join("photos/boats_128x128.png"));
    let bytes = encode(image.as_ref(), &encode_opts(test_rgb(), test_gray(), 48)).unwrap();
    let info = nelloc::info(&bytes, &decode_opts(&[test_rgb()])).unwrap();
    assert_eq!(info.tiles, 9);
    let back = decode(&bytes, &decode_opts(&[test_rgb(), test_gray()])).unwrap();
    assert_eq!(back.pixels(), image.pixels());
}
