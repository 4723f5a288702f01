//! Likelihood scoring (src/score.rs): per-pixel bits add up to the encoder's ideal code
//! length and to the real streams within the ANS flush; scores do not depend on threads.

mod support;

use nelloc::{bits_map, encode_with_stats, generic_bits, score, ColorType, ScoreOptions};
use support::*;

fn opts(model: std::sync::Arc<nelloc::Model>, tile: u32, threads: usize) -> ScoreOptions {
    let mut o = ScoreOptions::default();
    o.model = Some(model);
    o.alpha_model = Some(test_gray());
    o.tile_size = tile;
    o.threads = threads;
    o
}

/// A photo crop with a varying alpha plane: both plane groups are neural.
fn rgba_photo() -> nelloc::Image {
    let rgb = load_png(&fixtures().join("photos/boats_128x128.png"));
    image(77, 53, ColorType::Rgba8, |x, y, c| {
        if c < 3 {
            rgb.pixels()[((y * 128 + x) * 3) as usize + c]
        } else {
            (x * 3 + y) as u8
        }
    })
}

#[test]
fn bits_add_up_to_the_ideal_and_the_real_code_length() {
    let rgb = load_png(&fixtures().join("photos/boats_128x128.png"));
    let gray = load_png(&fixtures().join("photos/wood_gray_64x64.png"));
    let rgba = rgba_photo();
    for (name, img, model, tile) in [
        ("rgb", &rgb, test_rgb(), 48),
        ("rgb pred", &rgb, test_rgb_pred(), 256),
        ("gray", &gray, test_gray(), 40),
        ("rgba", &rgba, test_rgb(), 32),
    ] {
        let map = bits_map(img.as_ref(), &opts(model.clone(), tile, 0)).unwrap();
        assert_eq!(map.bits().len(), (img.width() * img.height()) as usize);
        let (bytes, stats) =
            encode_with_stats(img.as_ref(), &encode_opts(model, test_gray(), tile)).unwrap();
        let total = map.total_bits();
        assert!(
            (total - stats.model_bits).abs() <= 1e-9 * total,
            "{name}: map {total} vs encoder {}",
            stats.model_bits
        );
        // Each tile's ANS stream adds at most its 64-bit final state plus one partly
        // filled 32-bit word beyond the information content.
        let tiles = nelloc::info(&bytes, &Default::default()).unwrap().tiles as f64;
        let real = stats.stream_bytes as f64 * 8.0;
        assert!(
            real >= total - 1.0 && real <= total + 96.0 * tiles,
            "{name}: streams {real} bits vs ideal {total} ({tiles} tiles)"
        );
    }
}

#[test]
fn constant_alpha_costs_nothing() {
    let rgb = load_png(&fixtures().join("photos/dune_77x53.png"));
    let rgba = image(77, 53, ColorType::Rgba8, |x, y, c| {
        if c < 3 {
            rgb.pixels()[((y * 77 + x) * 3) as usize + c]
        } else {
            200
        }
    });
    let a = bits_map(rgb.as_ref(), &opts(test_rgb(), 64, 0)).unwrap();
    let b = bits_map(rgba.as_ref(), &opts(test_rgb(), 64, 0)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn scores_do_not_depend_on_threads() {
    let rgba = rgba_photo();
    let mut o1 = opts(test_rgb(), 32, 1);
    o1.background = Some(test_rgb_pred());
    let mut o3 = o1.clone();
    o3.threads = 3;
    let s1 = score(rgba.as_ref(), &o1).unwrap();
    let s3 = score(rgba.as_ref(), &o3).unwrap();
    assert_eq!(s1, s3);
    assert_eq!(
        bits_map(rgba.as_ref(), &o1).unwrap(),
        bits_map(rgba.as_ref(), &o3).unwrap()
    );
    assert_eq!(s1.samples, 77 * 53 * 3);
    let ratio = s1.ratio.unwrap();
    assert_eq!(ratio, s1.bpsp - s1.background_bpsp.unwrap());
    assert_eq!(s1.complexity, s1.bpsp - s1.generic_bpsp);
    // The score covers the colour channels only: it equals the bits map without alpha.
    let rgb: Vec<u8> = rgba
        .pixels()
        .chunks(4)
        .flat_map(|p| p[..3].to_vec())
        .collect();
    let rgb = nelloc::ImageRef::new(77, 53, ColorType::Rgb8, &rgb).unwrap();
    let map = bits_map(rgb, &o1).unwrap();
    assert!((map.total_bits() / s1.samples as f64 - s1.bpsp).abs() < 1e-12);
}

#[test]
fn generic_coder_tracks_complexity() {
    let flat = image(64, 64, ColorType::Rgb8, |_, _, c| 40 * c as u8);
    let ramp = image(64, 64, ColorType::Rgb8, |x, y, c| {
        (x + 2 * y) as u8 + c as u8
    });
    let noise = image(64, 64, ColorType::Rgb8, |x, y, c| {
        Rng::new(u64::from(y * 64 + x) * 3 + c as u64 + 1).byte()
    });
    let photo = load_png(&fixtures().join("photos/boats_128x128.png"));
    let bpsp = |img: &nelloc::Image| {
        generic_bits(img.as_ref()).iter().sum::<f64>() / img.pixels().len() as f64
    };
    let (f, r, n, p) = (bpsp(&flat), bpsp(&ramp), bpsp(&noise), bpsp(&photo));
    assert!(f < 0.15, "flat {f}");
    assert!(r < 0.3, "ramp {r}");
    assert!(n > 7.9, "noise {n}");
    assert!(p > 2.0 && p < 6.0, "photo {p}");
}

#[test]
fn bad_options_are_errors() {
    let img = load_png(&fixtures().join("photos/dune_77x53.png"));
    let mut o = opts(test_gray(), 64, 0);
    assert!(matches!(
        score(img.as_ref(), &o),
        Err(nelloc::Error::Model(_))
    ));
    o.model = Some(test_rgb());
    o.background = Some(test_gray());
    assert!(score(img.as_ref(), &o).is_err());
    o.background = None;
    o.tile_size = 0;
    assert!(matches!(
        bits_map(img.as_ref(), &o),
        Err(nelloc::Error::InvalidArgument(_))
    ));
}
