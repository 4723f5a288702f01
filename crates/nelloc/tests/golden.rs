//! Golden streams: files made with the frozen test models that must decode forever.
//! `NELLOC_BLESS=1 cargo test --test golden` writes missing ones (never overwrites).

mod support;

use nelloc::{decode, encode};
use support::*;

fn golden_dir() -> std::path::PathBuf {
    fixtures().join("golden")
}

/// (golden name, source image) pairs.
fn sources() -> Vec<(String, nelloc::Image)> {
    let mut v: Vec<(String, nelloc::Image)> = synthetic_cases()
        .into_iter()
        .map(|c| (c.name, c.image))
        .collect();
    for photo in ["boats_128x128", "dune_77x53", "wood_gray_64x64"] {
        v.push((
            photo.to_string(),
            load_png(&fixtures().join(format!("photos/{photo}.png"))),
        ));
    }
    v
}

#[test]
fn golden_files_decode_bit_exactly() {
    check_set(&golden_dir(), test_rgb(), test_gray());
}

/// The same images coded with the predictor-relative test models (mean base of
/// docs/FORMAT.md section 4), alpha included.
#[test]
fn predictor_relative_golden_files_decode_bit_exactly() {
    check_set(
        &golden_dir().join("pred"),
        test_rgb_pred(),
        test_gray_pred(),
    );
}

fn check_set(
    dir: &std::path::Path,
    rgb: std::sync::Arc<nelloc::Model>,
    gray: std::sync::Arc<nelloc::Model>,
) {
    let bless = std::env::var_os("NELLOC_BLESS").is_some();
    let models = [rgb.clone(), gray.clone()];
    let mut checked = 0;
    for (name, image) in sources() {
        let path = dir.join(format!("{name}.nlc"));
        let model = if image.color().color_channels() == 3 {
            rgb.clone()
        } else {
            gray.clone()
        };
        // Small tiles so the goldens exercise several tiles per file; the tiled container
        // (versions 1 to 4, `encode_opts`) even for one-tile images, as these files were
        // written: its writer must keep producing them byte for byte.
        let opts = encode_opts(model, gray.clone(), 32);
        if bless && !path.exists() {
            let bytes = encode(image.as_ref(), &opts).unwrap();
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(&path, bytes).unwrap();
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let back = decode(&bytes, &decode_opts(&models)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.pixels(), image.pixels(), "{name}");
        assert_eq!(back.color(), image.color(), "{name}");
        // The encoder is deterministic: re-encoding gives the same bytes.
        let again = encode(image.as_ref(), &opts).unwrap();
        assert_eq!(again, bytes, "{name}: encoder output changed");
        checked += 1;
    }
    assert!(checked >= 20);
}

/// Tile modes (docs/FORMAT.md section 8, container versions 2 and 3): mixed images coded with the
/// frozen test models, every mode and plane group covered. The source images are also
/// stored as PNG (`modes/expected/`) for tools/reference-decoder.sh.
#[test]
fn tile_mode_golden_files_decode_bit_exactly() {
    use nelloc::TileMode;
    let dir = golden_dir().join("modes");
    let bless = std::env::var_os("NELLOC_BLESS").is_some();
    let (rgb, gray) = (test_rgb(), test_gray());
    let models = [rgb.clone(), gray.clone()];
    let mut seen = std::collections::HashSet::new();
    let mut versions = std::collections::HashSet::new();
    for (name, image, tile, modes) in mode_cases() {
        let path = dir.join(format!("{name}.nlc"));
        let model = if image.color().color_channels() == 3 {
            rgb.clone()
        } else {
            gray.clone()
        };
        let mut opts = encode_opts(model, gray.clone(), tile);
        opts.modes = modes;
        if bless && !path.exists() {
            let bytes = encode(image.as_ref(), &opts).unwrap();
            std::fs::create_dir_all(dir.join("expected")).unwrap();
            std::fs::write(&path, bytes).unwrap();
            save_png(&image, &dir.join(format!("expected/{name}.png")));
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let back = decode(&bytes, &decode_opts(&models)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.pixels(), image.pixels(), "{name}");
        // The encoder's mode choices may improve over time (the files above must decode
        // forever, the encoder need not reproduce them): today's encoding must decode to
        // the same pixels and not be larger than the golden file beyond a small margin.
        let again = encode(image.as_ref(), &opts).unwrap();
        let again_px = decode(&again, &decode_opts(&models)).unwrap();
        assert_eq!(again_px.pixels(), image.pixels(), "{name}: re-encoding");
        assert!(
            again.len() <= bytes.len() + bytes.len() / 50 + 16,
            "{name}: the encoder got worse: {} bytes, the golden file has {}",
            again.len(),
            bytes.len()
        );
        let info = nelloc::info(&bytes, &decode_opts(&models)).unwrap();
        versions.insert(info.version);
        for t in &info.tile_details {
            seen.insert(t.color_mode);
            seen.extend(t.alpha_mode);
        }
        if !modes.contains(TileMode::Neural) {
            assert!(info.model_hash.bytes().all(|b| b == b'0'), "{name}");
            // Decodes without any model.
            assert_eq!(
                decode(&bytes, &decode_opts(&[])).unwrap().pixels(),
                image.pixels()
            );
        }
    }
    for m in TileMode::ALL {
        assert!(seen.contains(&m), "no golden tile in mode {m}");
    }
    assert_eq!(versions, [2u8, 3].into_iter().collect());
}

/// Adapted heads (docs/FORMAT.md section 9, container version 4): `ADPT` chunks for the
/// colour group, for both groups of a coded-alpha image, with absolute and
/// predictor-relative models, and among other tile modes. Forced on (`Always`): these
/// images are below the size at which the encoder's `Auto` fits.
#[test]
fn adapted_head_golden_files_decode_bit_exactly() {
    use nelloc::AdaptHead;
    let dir = golden_dir().join("adapted");
    let bless = std::env::var_os("NELLOC_BLESS").is_some();
    let photo = |n: &str| load_png(&fixtures().join(format!("photos/{n}.png")));
    let (mixed_name, mixed, mixed_tile, mixed_modes) = mode_cases()
        .into_iter()
        .find(|c| c.0 == "neural-constant-rgb-37x29")
        .expect("neural-constant-rgb-37x29");
    let cases = vec![
        ("dune_77x53", photo("dune_77x53"), test_rgb(), 32, None),
        (
            "boats_128x128-pred",
            photo("boats_128x128"),
            test_rgb_pred(),
            64,
            None,
        ),
        (
            "wood_gray_64x64-pred",
            photo("wood_gray_64x64"),
            test_gray_pred(),
            32,
            None,
        ),
        (
            "rgba-varying-alpha-21x14",
            synthetic("rgba-varying-alpha-21x14"),
            test_rgb(),
            16,
            None,
        ),
        (
            mixed_name.as_str(),
            mixed,
            test_rgb(),
            mixed_tile,
            Some(mixed_modes),
        ),
    ];
    let gray = test_gray();
    for (name, image, model, tile, modes) in cases {
        let models = [model.clone(), gray.clone()];
        let mut opts = encode_opts(model, gray.clone(), tile);
        if let Some(m) = modes {
            opts.modes = m;
        }
        opts.adapt_head = AdaptHead::Always;
        let bytes = golden_bytes(&dir, name, bless, &image, &opts);
        let info = nelloc::info(&bytes, &decode_opts(&models)).unwrap();
        assert_eq!(info.version, 4, "{name}");
        assert!(info.adapted_heads[0], "{name}: no colour ADPT chunk");
        if image.color() == nelloc::ColorType::Rgba8 {
            assert!(info.adapted_heads[1], "{name}: no alpha ADPT chunk");
        }
        let back = decode(&bytes, &decode_opts(&models)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.pixels(), image.pixels(), "{name}");
        let again = encode(image.as_ref(), &opts).unwrap();
        assert_eq!(again, bytes, "{name}: encoder output changed");
        // Without its offsets the stream decodes to other pixels (or fails): they are used.
        let mut off = opts.clone();
        off.adapt_head = AdaptHead::Off;
        assert_ne!(encode(image.as_ref(), &off).unwrap(), bytes, "{name}");
    }
}

/// Embedded previews (docs/FORMAT.md section 10): an RGB photo with neural tiles and a
/// mixed RGBA image in the cheap modes, each with a small preview. The decoded previews
/// are also stored as PNG (`preview/expected/NAME.preview.png`) for
/// tools/reference-decoder.sh, which also checks them against the encoder's rule.
#[test]
fn preview_golden_files_decode_bit_exactly() {
    let dir = golden_dir().join("preview");
    let bless = std::env::var_os("NELLOC_BLESS").is_some();
    let (rgb, gray) = (test_rgb(), test_gray());
    let models = [rgb.clone(), gray.clone()];
    let dune = load_png(&fixtures().join("photos/dune_77x53.png"));
    let mut neural = encode_opts(rgb.clone(), gray.clone(), 32);
    neural.preview = nelloc::Preview::Size(24);
    let mut cheap = encode_opts(rgb.clone(), gray.clone(), 32);
    cheap.modes = "constant,png,palette,gray,context".parse().unwrap();
    cheap.preview = nelloc::Preview::Size(20);
    let cases = [
        ("dune_77x53", dune, neural),
        (
            "mixed-rgba-64x48",
            mixed_image(64, 48, nelloc::ColorType::Rgba8, 16, 11),
            cheap,
        ),
    ];
    for (name, image, opts) in cases {
        let path = dir.join(format!("{name}.nlc"));
        let expected = dir.join(format!("expected/{name}.png"));
        let expected_preview = dir.join(format!("expected/{name}.preview.png"));
        if bless && !path.exists() {
            let bytes = encode(image.as_ref(), &opts).unwrap();
            std::fs::create_dir_all(dir.join("expected")).unwrap();
            std::fs::write(&path, &bytes).unwrap();
            let p = nelloc::decode_preview(&bytes, &decode_opts(&models)).unwrap();
            save_png(&image, &expected);
            save_png(&p.image, &expected_preview);
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let d = decode_opts(&models);
        let back = decode(&bytes, &d).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.pixels(), image.pixels(), "{name}");
        let info = nelloc::info(&bytes, &d).unwrap();
        let p = nelloc::decode_preview(&bytes, &d).unwrap();
        assert!(p.embedded, "{name}");
        assert_eq!(Some((p.image.width(), p.image.height())), info.preview);
        let want = load_png(&expected_preview);
        assert_eq!(p.image.pixels(), want.pixels(), "{name}: preview");
        // Deterministic, the preview included.
        assert_eq!(encode(image.as_ref(), &opts).unwrap(), bytes, "{name}");
    }
}

/// The compact container (docs/FORMAT.md section 11, version 5): one-tile images with
/// every kind of model reference (built-in index, hash prefix, none), coded and constant
/// alpha, chunks (XMP, an adapted head). The source images are also stored as PNG
/// (`compact/expected/`) for tools/reference-decoder.sh.
#[test]
fn compact_golden_files_decode_bit_exactly() {
    use nelloc::{AdaptHead, TileMode, TileModes};
    let dir = golden_dir().join("compact");
    let bless = std::env::var_os("NELLOC_BLESS").is_some();
    let (rgb, gray) = (test_rgb(), test_gray());
    let builtin_gray = nelloc::model::builtin_by_name("gray").expect("built-in gray");
    // 28x28 grey, the size of (Fashion-)MNIST: a crop of the wood photo.
    let wood = load_png(&fixtures().join("photos/wood_gray_64x64.png"));
    let crop: Vec<u8> = (0..28)
        .flat_map(|y| wood.pixels()[y * 64 + 18..][..28].to_vec())
        .collect();
    let gray28 = nelloc::Image::new(28, 28, nelloc::ColorType::Gray8, crop).unwrap();
    let mut xmp = synthetic("noise-gray-33x7");
    xmp.metadata_mut().xmp = Some(b"<x:xmpmeta>compact golden</x:xmpmeta>".to_vec());
    let neural = TileModes::only(&[TileMode::Neural]);
    let cheap: Vec<TileMode> = TileMode::ALL
        .into_iter()
        .filter(|&m| m != TileMode::Neural)
        .collect();
    let mixed = mixed_image(40, 24, nelloc::ColorType::Rgba8, 8, 5);
    // The test models are copies of the built-in default-v1 and gray-v1 (kind 1 in a
    // compact stream); the predictor-relative ones are external (kind 2, a hash prefix).
    let (rgb_pred, gray_pred) = (test_rgb_pred(), test_gray_pred());
    // (name, image, colour model, alpha model, modes, adapted head)
    let cases = vec![
        (
            "gray-28x28-builtin",
            gray28,
            builtin_gray,
            &gray,
            TileModes::all(),
            AdaptHead::Off,
        ),
        (
            "1x1-rgb",
            synthetic("1x1-rgb"),
            rgb.clone(),
            &gray,
            neural,
            AdaptHead::Off,
        ),
        (
            "rgba-varying-alpha-21x14-prefix",
            synthetic("rgba-varying-alpha-21x14"),
            rgb_pred.clone(),
            &gray_pred,
            neural,
            AdaptHead::Off,
        ),
        (
            "rgba-const-alpha-19x13",
            synthetic("rgba-const-alpha-19x13"),
            rgb.clone(),
            &gray,
            neural,
            AdaptHead::Off,
        ),
        (
            "noise-gray-33x7-xmp-prefix",
            xmp,
            gray_pred.clone(),
            &gray,
            neural,
            AdaptHead::Off,
        ),
        (
            "dune_77x53-adapted",
            load_png(&fixtures().join("photos/dune_77x53.png")),
            rgb.clone(),
            &gray,
            neural,
            AdaptHead::Always,
        ),
        (
            "no-model-rgba-40x24",
            mixed,
            rgb.clone(),
            &gray,
            TileModes::only(&cheap),
            AdaptHead::Off,
        ),
    ];
    let models = [
        rgb.clone(),
        gray.clone(),
        rgb_pred.clone(),
        gray_pred.clone(),
    ];
    for (name, image, model, alpha, modes, adapt) in cases {
        let mut opts = encode_opts(model, alpha.clone(), 128);
        opts.compact = true;
        // These are version-5 files: an external model by its 8-byte prefix (kind 2).
        opts.short_model_refs = false;
        opts.modes = modes;
        opts.adapt_head = adapt;
        let bytes = golden_bytes(&dir, name, bless, &image, &opts);
        let d = decode_opts(&models);
        let info = nelloc::info(&bytes, &d).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((info.version, info.tiles), (5, 1), "{name}");
        assert_eq!(info.adapted_heads[0], adapt == AdaptHead::Always, "{name}");
        let back = decode(&bytes, &d).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.pixels(), image.pixels(), "{name}");
        assert_eq!(back.metadata(), image.metadata(), "{name}");
        assert_eq!(
            encode(image.as_ref(), &opts).unwrap(),
            bytes,
            "{name}: encoder output changed"
        );
        // The same tile in the tiled container: the compact one is smaller.
        let mut tiled = opts.clone();
        tiled.compact = false;
        let tiled = encode(image.as_ref(), &tiled).unwrap();
        assert!(
            bytes.len() + 60 < tiled.len(),
            "{name}: {} vs {}",
            bytes.len(),
            tiled.len()
        );
    }
}

/// Models that travel with the files (docs/FORMAT.md section 12, versions 6 and 7): the
/// predictor-relative test models (external: not built in) embedded in compact and tiled
/// streams, colour and alpha, with an adapted head; and a 4-byte model reference (kind 4).
/// The embedded ones decode with no model given; the 4-byte one from the model directory
/// as a search path. The source images are also stored as PNG (`embedded/expected/`) for
/// tools/reference-decoder.sh.
#[test]
fn embedded_model_golden_files_decode_bit_exactly() {
    use nelloc::{AdaptHead, TileMode, TileModes};
    let dir = golden_dir().join("embedded");
    let bless = std::env::var_os("NELLOC_BLESS").is_some();
    let (rgb_pred, gray_pred) = (test_rgb_pred(), test_gray_pred());
    let wood = load_png(&fixtures().join("photos/wood_gray_64x64.png"));
    let crop: Vec<u8> = (0..28)
        .flat_map(|y| wood.pixels()[y * 64 + 18..][..28].to_vec())
        .collect();
    let gray28 = nelloc::Image::new(28, 28, nelloc::ColorType::Gray8, crop).unwrap();
    let neural = TileModes::only(&[TileMode::Neural]);
    // (name, image, colour model, alpha model, tile size, modes, adapted head, embed,
    // version)
    let cases = vec![
        (
            "gray-28x28-embedded",
            gray28.clone(),
            &gray_pred,
            &gray_pred,
            128,
            neural,
            AdaptHead::Off,
            true,
            6,
        ),
        (
            "gray-28x28-short",
            gray28,
            &gray_pred,
            &gray_pred,
            128,
            neural,
            AdaptHead::Off,
            false,
            6,
        ),
        (
            "rgba-varying-alpha-21x14-embedded",
            synthetic("rgba-varying-alpha-21x14"),
            &rgb_pred,
            &gray_pred,
            128,
            neural,
            AdaptHead::Off,
            true,
            6,
        ),
        (
            "wood_gray_64x64-tiled-embedded",
            wood,
            &gray_pred,
            &gray_pred,
            32,
            neural,
            AdaptHead::Off,
            true,
            7,
        ),
        (
            "dune_77x53-tiled-embedded-adapted",
            load_png(&fixtures().join("photos/dune_77x53.png")),
            &rgb_pred,
            &gray_pred,
            64,
            TileModes::all(),
            AdaptHead::Always,
            true,
            7,
        ),
    ];
    let mut search = nelloc::DecodeOptions::default();
    search.model_path = vec![fixtures().join("models")];
    for (name, image, model, alpha, tile, modes, adapt, embed, version) in cases {
        let mut opts = encode_opts(model.clone(), alpha.clone(), tile);
        opts.compact = true;
        opts.modes = modes;
        opts.adapt_head = adapt;
        opts.embed_models = embed;
        let bytes = golden_bytes(&dir, name, bless, &image, &opts);
        let d = if embed {
            nelloc::DecodeOptions::default()
        } else {
            search.clone()
        };
        let info = nelloc::info(&bytes, &d).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.version, version, "{name}");
        assert_eq!(info.embedded_models.is_empty(), !embed, "{name}");
        assert_eq!(info.adapted_heads[0], adapt == AdaptHead::Always, "{name}");
        let back = decode(&bytes, &d).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.pixels(), image.pixels(), "{name}");
        assert_eq!(
            encode(image.as_ref(), &opts).unwrap(),
            bytes,
            "{name}: encoder output changed"
        );
        if !embed {
            // Only on the search path: not otherwise.
            assert!(decode(&bytes, &nelloc::DecodeOptions::default()).is_err());
        }
    }
}

/// Writes a golden's expected pixels as a PNG of the same colour type (blessing only).
fn save_png(img: &nelloc::Image, file: &std::path::Path) {
    let ct = match img.color() {
        nelloc::ColorType::Gray8 => image::ExtendedColorType::L8,
        nelloc::ColorType::GrayA8 => image::ExtendedColorType::La8,
        nelloc::ColorType::Rgb8 => image::ExtendedColorType::Rgb8,
        _ => image::ExtendedColorType::Rgba8,
    };
    image::save_buffer(file, img.pixels(), img.width(), img.height(), ct).unwrap();
}

/// The golden file `dir/name.nlc`; when blessing and it is missing, first encoded from
/// `image` with `opts`, with its expected pixels beside it.
fn golden_bytes(
    dir: &std::path::Path,
    name: &str,
    bless: bool,
    image: &nelloc::Image,
    opts: &nelloc::EncodeOptions,
) -> Vec<u8> {
    let path = dir.join(format!("{name}.nlc"));
    if bless && !path.exists() {
        std::fs::create_dir_all(dir.join("expected")).unwrap();
        std::fs::write(&path, encode(image.as_ref(), opts).unwrap()).unwrap();
        save_png(image, &dir.join(format!("expected/{name}.png")));
    }
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The image of the synthetic case `name`.
fn synthetic(name: &str) -> nelloc::Image {
    synthetic_cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no synthetic case {name}"))
        .image
}
