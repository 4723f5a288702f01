//! Shared test helpers: frozen models, synthetic images and fixture paths.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use nelloc::model::{synthetic, Arch, MeanBase, Predictor, Predictors};
use nelloc::{ColorType, DecodeOptions, EncodeOptions, Image, Model};

/// Repository root (two levels above this crate).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixtures() -> PathBuf {
    repo().join("fixtures")
}

fn load(name: &str) -> Arc<Model> {
    let path = fixtures().join("models").join(name);
    Arc::new(Model::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The frozen RGB test model (never replaced: golden files depend on it).
pub fn test_rgb() -> Arc<Model> {
    static M: OnceLock<Arc<Model>> = OnceLock::new();
    M.get_or_init(|| load("test-rgb.safetensors")).clone()
}

/// The frozen one-channel test model.
pub fn test_gray() -> Arc<Model> {
    static M: OnceLock<Arc<Model>> = OnceLock::new();
    M.get_or_init(|| load("test-gray.safetensors")).clone()
}

/// A small pseudo-random model (exercises the engine, not the predictions).
pub fn tiny(channels: u32, res_blocks: u32, seed: u64) -> Arc<Model> {
    let arch = Arch::new(3, channels, 16, res_blocks, 10);
    Arc::new(Model::from_bytes(&synthetic(arch, seed, "tiny")).expect("synthetic model"))
}

/// A small pseudo-random predictor-relative model: horizon `horizon`, `k` components
/// taking the standard predictors in turn (those the horizon allows).
pub fn tiny_pred(channels: u32, horizon: u32, k: u32, seed: u64) -> Arc<Model> {
    let usable: Vec<Predictor> = Predictor::standard_ten()
        .into_iter()
        .filter(|p| p.min_horizon() <= horizon)
        .collect();
    let list: Vec<Predictor> = (0..k as usize)
        .map(|i| usable[(i + seed as usize) % usable.len()])
        .collect();
    let arch = Arch::new(horizon, channels, 16, 1, k)
        .with_mean_base(MeanBase::Predicted(Predictors::new(&list).expect("1..=32")));
    Arc::new(Model::from_bytes(&synthetic(arch, seed, "tiny-pred")).expect("synthetic model"))
}

/// The frozen predictor-relative RGB test model (never replaced: golden files depend on it).
pub fn test_rgb_pred() -> Arc<Model> {
    static M: OnceLock<Arc<Model>> = OnceLock::new();
    M.get_or_init(|| load("test-rgb-pred.safetensors")).clone()
}

/// The frozen predictor-relative one-channel test model.
pub fn test_gray_pred() -> Arc<Model> {
    static M: OnceLock<Arc<Model>> = OnceLock::new();
    M.get_or_init(|| load("test-gray-pred.safetensors")).clone()
}

/// A small synthetic model of any shape the model format allows.
pub fn shaped(horizon: u32, channels: u32, width: u32, mixtures: u32, seed: u64) -> Arc<Model> {
    let arch = Arch::new(horizon, channels, width, (seed % 2) as u32, mixtures);
    Arc::new(Model::from_bytes(&synthetic(arch, seed, "shaped")).expect("synthetic model"))
}

pub fn encode_opts(model: Arc<Model>, alpha: Arc<Model>, tile: u32) -> EncodeOptions {
    let mut o = EncodeOptions::default();
    o.model = Some(model);
    o.alpha_model = Some(alpha);
    o.tile_size = tile;
    // Pure NeLLoC (container version 1): these tests exercise the network path; the tile
    // modes have their own tests (tests/modes.rs).
    o.modes = nelloc::TileModes::only(&[nelloc::TileMode::Neural]);
    // The tiled container even for one-tile images: these tests read and damage its
    // header and index; the compact container has its own tests (tests/compact.rs).
    o.compact = false;
    o
}

pub fn decode_opts(models: &[Arc<Model>]) -> DecodeOptions {
    let mut o = DecodeOptions::default();
    o.models = models.to_vec();
    o
}

/// Deterministic xorshift noise.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn byte(&mut self) -> u8 {
        (self.next() >> 24) as u8
    }
}

/// A named synthetic image.
pub struct Case {
    pub name: String,
    pub image: Image,
}

/// An image whose sample (x, y, channel) is `f(x, y, channel)`.
pub fn image(w: u32, h: u32, color: ColorType, f: impl Fn(u32, u32, usize) -> u8) -> Image {
    let ch = color.channels();
    let mut px = Vec::with_capacity((w * h) as usize * ch);
    for y in 0..h {
        for x in 0..w {
            for c in 0..ch {
                px.push(f(x, y, c));
            }
        }
    }
    Image::new(w, h, color, px).expect("valid synthetic image")
}

fn make(name: &str, w: u32, h: u32, color: ColorType, f: impl Fn(u32, u32, usize) -> u8) -> Case {
    Case {
        name: name.to_string(),
        image: image(w, h, color, f),
    }
}

/// The synthetic edge cases every build must round-trip bit-exactly.
pub fn synthetic_cases() -> Vec<Case> {
    let noise = |seed: u64, w: u32, h: u32, color: ColorType| {
        let mut r = Rng::new(seed);
        let px: Vec<u8> = (0..(w * h) as usize * color.channels())
            .map(|_| r.byte())
            .collect();
        Image::new(w, h, color, px).expect("noise")
    };
    let mut cases = vec![
        make("1x1-rgb", 1, 1, ColorType::Rgb8, |_, _, c| [200, 10, 77][c]),
        make("1x1-gray", 1, 1, ColorType::Gray8, |_, _, _| 0),
        make("1x17-rgb", 1, 17, ColorType::Rgb8, |_, y, c| {
            (y * 15 + c as u32 * 40) as u8
        }),
        make("23x1-rgb", 23, 1, ColorType::Rgb8, |x, _, c| {
            (x * 11 + c as u32) as u8
        }),
        make("odd-37x29-rgb", 37, 29, ColorType::Rgb8, |x, y, c| {
            ((x * x + y * 3) as u8).wrapping_add(c as u8 * 60)
        }),
        make("flat-black-20x12", 20, 12, ColorType::Rgb8, |_, _, _| 0),
        make("flat-white-20x12", 20, 12, ColorType::Rgb8, |_, _, _| 255),
        make("flat-mid-16x16", 16, 16, ColorType::Rgb8, |_, _, c| {
            [128, 64, 192][c]
        }),
        make("gradient-64x16", 64, 16, ColorType::Rgb8, |x, y, c| {
            (x * 4 + y * (c as u32 + 1)) as u8
        }),
        make(
            "gray-gradient-40x30",
            40,
            30,
            ColorType::Gray8,
            |x, y, _| (x * 3 + y * 2) as u8,
        ),
        make(
            "rgba-const-alpha-19x13",
            19,
            13,
            ColorType::Rgba8,
            |x, y, c| {
                if c == 3 {
                    255
                } else {
                    (x * 7 + y * 5 + c as u32 * 30) as u8
                }
            },
        ),
        make("rgba-zero-alpha-9x9", 9, 9, ColorType::Rgba8, |x, _, c| {
            if c == 3 {
                0
            } else {
                x as u8
            }
        }),
        make(
            "rgba-varying-alpha-21x14",
            21,
            14,
            ColorType::Rgba8,
            |x, y, c| {
                if c == 3 {
                    ((x + y) * 12) as u8
                } else {
                    (x * 9 + c as u32 * 50) as u8
                }
            },
        ),
        make(
            "graya-varying-15x11",
            15,
            11,
            ColorType::GrayA8,
            |x, y, c| {
                if c == 1 {
                    (x * y) as u8
                } else {
                    (x * 16) as u8
                }
            },
        ),
        make("graya-const-8x5", 8, 5, ColorType::GrayA8, |x, _, c| {
            if c == 1 {
                17
            } else {
                x as u8
            }
        }),
        make(
            "extremes-checker-16x12",
            16,
            12,
            ColorType::Rgb8,
            |x, y, _| if (x + y) % 2 == 0 { 0 } else { 255 },
        ),
    ];
    cases.push(Case {
        name: "noise-rgb-24x24".into(),
        image: noise(1, 24, 24, ColorType::Rgb8),
    });
    cases.push(Case {
        name: "noise-gray-33x7".into(),
        image: noise(2, 33, 7, ColorType::Gray8),
    });
    cases.push(Case {
        name: "noise-rgba-12x10".into(),
        image: noise(3, 12, 10, ColorType::Rgba8),
    });
    cases
}

/// Loads a PNG fixture as an nelloc image.
pub fn load_png(path: &std::path::Path) -> Image {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (w, h) = (img.width(), img.height());
    match img {
        image::DynamicImage::ImageLuma8(b) => Image::new(w, h, ColorType::Gray8, b.into_raw()),
        image::DynamicImage::ImageLumaA8(b) => Image::new(w, h, ColorType::GrayA8, b.into_raw()),
        image::DynamicImage::ImageRgba8(b) => Image::new(w, h, ColorType::Rgba8, b.into_raw()),
        other => Image::new(w, h, ColorType::Rgb8, other.to_rgb8().into_raw()),
    }
    .expect("fixture image")
}

/// What fills one tile-sized block of a [`mixed_image`].
fn block_value(kind: usize, x: u32, y: u32, c: usize, photo: &Image, r: &mut Rng) -> u8 {
    let (pw, pc) = (photo.width(), photo.color().channels());
    match kind {
        // A photograph (the network's content).
        0 => {
            let (px, py) = (x % pw, y % photo.height());
            photo.pixels()[((py * pw + px) as usize) * pc + c % pc]
        }
        // Flat.
        1 => [30, 200, 90, 140][c],
        // Two colours (1-bit palette).
        2 => {
            if (x / 3 + y / 2).is_multiple_of(2) {
                [255, 255, 255, 255][c]
            } else {
                [0, 40, 200, 0][c]
            }
        }
        // Four colours (2-bit palette).
        3 => [
            [10u8, 20, 30, 255],
            [250, 0, 0, 128],
            [0, 250, 0, 0],
            [0, 0, 250, 64],
        ][((x + 2 * y) % 4) as usize][c],
        // Twelve colours (4-bit palette).
        4 => ((x * 7 + y * 3) % 12 * 21 + c as u32 * 5) as u8,
        // 200 colours (8-bit palette).
        5 => ((x * 13 + y * 29) % 200 + c as u32) as u8,
        // A smooth gradient (PNG filters).
        6 => (x * 3 + y * 5 + c as u32 * 40) as u8,
        // Grey anti-aliased strokes in colour planes (gray mode).
        7 => {
            let d = (x as i32 * 3 - y as i32 * 5).rem_euclid(23);
            [255u8, 250, 180, 90, 20, 0, 20, 90, 180, 250][d.min(9) as usize]
        }
        // Noise.
        _ => r.byte(),
    }
}

/// An image whose `tile` x `tile` blocks cycle through content that suits each tile mode
/// (photo, flat, 2/4/12/200 colours, gradient, grey strokes, noise); alpha (if any) cycles
/// with an offset.
pub fn mixed_image(w: u32, h: u32, color: ColorType, tile: u32, seed: u64) -> Image {
    let photo = if color.color_channels() == 3 {
        load_png(&fixtures().join("photos/dune_77x53.png"))
    } else {
        load_png(&fixtures().join("photos/wood_gray_64x64.png"))
    };
    let alpha_photo = load_png(&fixtures().join("photos/wood_gray_64x64.png"));
    let mut r = Rng::new(seed);
    let ch = color.channels();
    let cc = color.color_channels();
    let tiles_x = w.div_ceil(tile);
    let mut px = Vec::with_capacity((w * h) as usize * ch);
    for y in 0..h {
        for x in 0..w {
            let b = ((y / tile) * tiles_x + x / tile) as usize;
            for c in 0..ch {
                px.push(if c < cc {
                    block_value(b % 9, x, y, c, &photo, &mut r)
                } else {
                    block_value((b + 3) % 9, x, y, 3, &alpha_photo, &mut r)
                });
            }
        }
    }
    Image::new(w, h, color, px).expect("mixed image")
}

/// Images for the tile-mode goldens and tests: (name, image, tile size, modes).
pub fn mode_cases() -> Vec<(String, Image, u32, nelloc::TileModes)> {
    use nelloc::{TileMode, TileModes};
    // The version-2 goldens: every mode but context (which makes a file version 3).
    let all = TileModes::only(&[
        TileMode::Neural,
        TileMode::Constant,
        TileMode::Png,
        TileMode::Palette,
        TileMode::Gray,
    ]);
    let context_only = TileModes::only(&[TileMode::Context]);
    vec![
        // Version 3: the context mode (palette, direct and grey variants) among the rest.
        (
            "context-rgb-80x56".into(),
            mixed_image(80, 56, ColorType::Rgb8, 16, 11),
            16,
            TileModes::all(),
        ),
        (
            "context-only-rgba-64x48".into(),
            mixed_image(64, 48, ColorType::Rgba8, 16, 12),
            16,
            context_only,
        ),
        (
            "context-only-gray-48x40".into(),
            mixed_image(48, 40, ColorType::Gray8, 16, 13),
            16,
            context_only,
        ),
        // Grey content in colour planes with every grey level: direct grey keys.
        (
            "context-only-grey-rgb-40x24".into(),
            {
                let wood = load_png(&fixtures().join("photos/wood_gray_64x64.png"));
                let px = (0..24u32)
                    .flat_map(|y| (0..40u32).map(move |x| (y * 64 + x) as usize))
                    .flat_map(|i| [wood.pixels()[i]; 3])
                    .collect();
                Image::new(40, 24, ColorType::Rgb8, px).expect("grey RGB")
            },
            40,
            context_only,
        ),
        (
            "mixed-rgb-80x56".into(),
            mixed_image(80, 56, ColorType::Rgb8, 16, 1),
            16,
            all,
        ),
        (
            "mixed-gray-72x40".into(),
            mixed_image(72, 40, ColorType::Gray8, 16, 2),
            16,
            all,
        ),
        (
            "mixed-rgba-64x48".into(),
            mixed_image(64, 48, ColorType::Rgba8, 16, 3),
            16,
            all,
        ),
        (
            "mixed-graya-48x40".into(),
            mixed_image(48, 40, ColorType::GrayA8, 16, 4),
            16,
            all,
        ),
        // No neural tile: the header names no model.
        (
            "png-only-rgb-40x24".into(),
            mixed_image(40, 24, ColorType::Rgb8, 8, 5),
            8,
            TileModes::only(&[TileMode::Png]),
        ),
        (
            "no-neural-rgba-33x17".into(),
            mixed_image(33, 17, ColorType::Rgba8, 8, 6),
            8,
            TileModes::only(&[TileMode::Png, TileMode::Palette, TileMode::Constant]),
        ),
        // Every tile neural except flat ones; odd edges.
        (
            "neural-constant-rgb-37x29".into(),
            mixed_image(37, 29, ColorType::Rgb8, 12, 7),
            12,
            TileModes::only(&[TileMode::Neural, TileMode::Constant]),
        ),
    ]
}

/// Whether the ONNX Runtime backend can run here; skips (visibly) unless CI requires it
/// with `NELLOC_REQUIRE_ORT`.
pub fn ort_available() -> bool {
    match nelloc::backend::probe(nelloc::Device::Ort(nelloc::OrtProvider::Cpu)) {
        Ok(()) => true,
        Err(e) => {
            assert!(
                std::env::var_os("NELLOC_REQUIRE_ORT").is_none(),
                "NELLOC_REQUIRE_ORT is set but ONNX Runtime is unusable: {e}"
            );
            eprintln!("SKIPPED: ONNX Runtime backend not available ({e})");
            false
        }
    }
}
