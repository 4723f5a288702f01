//! Likelihood scoring (src/score.rs): per-pixel bits add up to the encoder's ideal code
//! length and to the real streams within the ANS flush; scores do not depend on threads.

mod support;

use nelloc::score::{bits_map, generic_bits, score, Reference, ScoreOptions};
use nelloc::{encode_with_stats, ColorType, ReferenceError};
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

/// In-distribution stand-ins: 24x24 crops of the colour fixture photographs.
fn id_crops() -> Vec<nelloc::Image> {
    let mut out = Vec::new();
    for name in ["boats_128x128.png", "bark_64x96.png", "sky_kite_96x64.png"] {
        let p = load_png(&fixtures().join("photos").join(name));
        let (w, h) = (p.width(), p.height());
        for (x, y) in [(0, 0), (w - 24, 0), (0, h - 24), (w - 24, h - 24), (20, 16)] {
            out.push(image(24, 24, ColorType::Rgb8, |i, j, c| {
                p.pixels()[(((y + j) * w + x + i) * 3) as usize + c]
            }));
        }
    }
    out
}

fn scores_of(images: &[nelloc::Image], o: &ScoreOptions) -> Vec<nelloc::score::Score> {
    images
        .iter()
        .map(|i| score(i.as_ref(), o).unwrap())
        .collect()
}

#[test]
fn reference_fit_is_deterministic_and_round_trips() {
    let crops = id_crops();
    let mut o1 = opts(test_rgb(), 16, 1);
    o1.background = Some(test_rgb_pred());
    let mut o3 = o1.clone();
    o3.threads = 3;
    let fit = |o: &ScoreOptions| {
        Reference::fit(
            &scores_of(&crops, o),
            &test_rgb(),
            Some(&test_rgb_pred()),
            16,
            0.5,
        )
        .unwrap()
    };
    let (r1, r3) = (fit(&o1), fit(&o3));
    assert_eq!(r1, r3);
    assert_eq!(r1.to_json(), r3.to_json());
    assert_eq!(r1.images(), crops.len());
    assert_eq!(r1.features().len(), 10);
    // JSON keeps every float exactly: the same distances after a round trip.
    let back = Reference::from_json(&r1.to_json()).unwrap();
    assert_eq!(back, r1);
    let s = score(crops[3].as_ref(), &o1).unwrap();
    assert_eq!(back.typicality(&s).unwrap(), r1.typicality(&s).unwrap());
    // Without a background model the ratio is not a feature; a one-channel model has no
    // colour share.
    let plain = Reference::fit(
        &scores_of(&crops, &opts(test_rgb(), 16, 0)),
        &test_rgb(),
        None,
        16,
        0.5,
    )
    .unwrap();
    assert!(!plain.features().contains(&"ratio"));
    let grays: Vec<nelloc::Image> = (0..4)
        .map(|k| {
            image(24, 24, ColorType::Gray8, |x, y, _| {
                ((x * 7 + y * (k + 3)) % 97) as u8
            })
        })
        .collect();
    let g = Reference::fit(
        &scores_of(&grays, &opts(test_gray(), 16, 0)),
        &test_gray(),
        None,
        16,
        0.5,
    )
    .unwrap();
    assert!(!g.features().contains(&"chroma_share"));
}

#[test]
fn typicality_flags_images_unlike_the_fit_set() {
    let crops = id_crops();
    let o = opts(test_rgb(), 16, 0);
    let r = Reference::fit(&scores_of(&crops, &o), &test_rgb(), None, 16, 0.5).unwrap();
    let d = |img: &nelloc::Image| r.typicality(&score(img.as_ref(), &o).unwrap()).unwrap();
    let worst_id = crops.iter().map(|c| d(c).distance).fold(0f64, f64::max);
    let worst_novelty = crops
        .iter()
        .map(|c| d(c).novelty.unwrap())
        .fold(0f64, f64::max);
    let flat = image(24, 24, ColorType::Rgb8, |_, _, c| [90, 140, 60][c]);
    // A grey crop of the first photograph: R = G = B makes G and B nearly free.
    let gray = image(24, 24, ColorType::Rgb8, |x, y, _| {
        let p = &crops[4].pixels()[((y * 24 + x) * 3) as usize..][..3];
        ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000) as u8
    });
    let stripes = image(24, 24, ColorType::Rgb8, |x, _, c| {
        if (x / 2) % 2 == 0 {
            255
        } else {
            20 * c as u8
        }
    });
    for (name, img) in [("flat", &flat), ("gray", &gray), ("stripes", &stripes)] {
        let t = d(img);
        assert!(
            t.distance > worst_id,
            "{name}: {} vs {worst_id}",
            t.distance
        );
        assert!(t.tail > 2.0, "{name}: tail {}", t.tail);
        // The recommended novelty flags them too.
        assert!(
            t.novelty.unwrap() > worst_novelty,
            "{name}: novelty {:?} vs {worst_novelty}",
            t.novelty
        );
    }
}

#[test]
fn references_from_other_settings_are_refused() {
    let crops = id_crops();
    let mut o = opts(test_rgb(), 16, 0);
    o.background = Some(test_rgb_pred());
    let scores = scores_of(&crops, &o);
    let r = Reference::fit(&scores, &test_rgb(), Some(&test_rgb_pred()), 16, 0.5).unwrap();
    r.check(&test_rgb(), Some(&test_rgb_pred()), 16).unwrap();
    let mismatch =
        |e: nelloc::Error| matches!(e, nelloc::Error::Reference(ReferenceError::Mismatch { .. }));
    assert!(mismatch(
        r.check(&test_rgb_pred(), Some(&test_rgb_pred()), 16)
            .unwrap_err()
    ));
    assert!(mismatch(r.check(&test_rgb(), None, 16).unwrap_err()));
    assert!(mismatch(
        r.check(&test_rgb(), Some(&test_rgb()), 16).unwrap_err()
    ));
    assert!(mismatch(
        r.check(&test_rgb(), Some(&test_rgb_pred()), 32)
            .unwrap_err()
    ));
    let e = r
        .check(&test_rgb_pred(), Some(&test_rgb_pred()), 16)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&test_rgb().hash_hex()) && e.contains(&test_rgb_pred().hash_hex()),
        "{e}"
    );
    // A score without the ratio the reference was fitted with.
    let plain = score(crops[0].as_ref(), &opts(test_rgb(), 16, 0)).unwrap();
    assert!(matches!(
        r.typicality(&plain),
        Err(nelloc::Error::Reference(ReferenceError::MissingFeature(_)))
    ));
    // Unreadable, tampered or unfittable references.
    let parse = |t: &str| {
        matches!(
            Reference::from_json(t),
            Err(nelloc::Error::Reference(ReferenceError::Parse(_)))
        )
    };
    let json = r.to_json();
    assert!(parse("{}"));
    assert!(parse(&json.replace("\"version\": 2", "\"version\": 9")));
    assert!(parse(&json.replace("\"spread\"", "\"sparkle\"")));
    assert!(matches!(
        Reference::fit(&scores[..1], &test_rgb(), Some(&test_rgb_pred()), 16, 0.5),
        Err(nelloc::Error::Reference(
            ReferenceError::TooFewImages { .. }
        ))
    ));
    assert!(matches!(
        Reference::fit(&scores, &test_rgb(), Some(&test_rgb_pred()), 16, 1.5),
        Err(nelloc::Error::Reference(ReferenceError::Covariance(_)))
    ));
    // Two images cannot span ten features: singular unless shrunk.
    assert!(matches!(
        Reference::fit(&scores[..2], &test_rgb(), Some(&test_rgb_pred()), 16, 0.0),
        Err(nelloc::Error::Reference(ReferenceError::Covariance(_)))
    ));
    Reference::fit(&scores[..2], &test_rgb(), Some(&test_rgb_pred()), 16, 0.1).unwrap();
}

#[test]
fn bits_map_features_are_consistent() {
    let img = load_png(&fixtures().join("photos/boats_128x128.png"));
    let o = opts(test_rgb(), 48, 0);
    let s = score(img.as_ref(), &o).unwrap();
    // Channel bits add up to the total; the generic coder's likewise.
    let sum: f64 = s.channel_bpsp.iter().sum::<f64>() / 3.0;
    assert!((sum - s.bpsp).abs() < 1e-9, "{sum} vs {}", s.bpsp);
    let gsum: f64 = s.generic_channel_bpsp.iter().sum::<f64>() / 3.0;
    assert!((gsum - s.generic_bpsp).abs() < 1e-9);
    assert!(s.quantiles[0] <= s.quantiles[1] && s.quantiles[1] <= s.quantiles[2]);
    assert!((0.0..=1.0).contains(&s.flat) && (0.0..1.0).contains(&s.chroma_share()));
    // Against the bits map: the flat share and the median per-pixel bits.
    let map = bits_map(img.as_ref(), &o).unwrap();
    let mut per: Vec<f64> = map.bits().iter().map(|b| b / 3.0).collect();
    let flat = per
        .iter()
        .filter(|&&b| b < nelloc::score::FLAT_BITS)
        .count() as f64
        / per.len() as f64;
    assert_eq!(flat, s.flat);
    per.sort_by(f64::total_cmp);
    assert_eq!(per[per.len() / 2 - 1], s.quantiles[0]);
    // A grey image: the generic coder and the built-in RGB model (which, unlike the tiny
    // test model, learned that channels move together) spend almost nothing on G and B.
    let gray = image(64, 64, ColorType::Rgb8, |x, y, _| {
        img.pixels()[((y * 128 + x) * 3) as usize]
    });
    let g = score(gray.as_ref(), &o).unwrap();
    assert!(
        g.generic_channel_bpsp[1] < 0.2 * g.generic_channel_bpsp[0],
        "{g:?}"
    );
    let mut d = ScoreOptions::default();
    d.model = nelloc::model::builtin_by_name("default");
    let (gd, sd) = (
        score(gray.as_ref(), &d).unwrap(),
        score(img.as_ref(), &d).unwrap(),
    );
    assert!(
        gd.chroma_share() < 0.1 && sd.chroma_share() > 0.3,
        "{} vs {}",
        gd.chroma_share(),
        sd.chroma_share()
    );
}
