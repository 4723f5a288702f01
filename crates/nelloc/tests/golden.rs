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
    let dir = golden_dir();
    let bless = std::env::var_os("NELLOC_BLESS").is_some();
    let models = [test_rgb(), test_gray()];
    let mut checked = 0;
    for (name, image) in sources() {
        let path = dir.join(format!("{name}.nlc"));
        if bless && !path.exists() {
            let model = if image.color().color_channels() == 3 {
                test_rgb()
            } else {
                test_gray()
            };
            // Small tiles so the goldens exercise several tiles per file.
            let bytes = encode(image.as_ref(), &encode_opts(model, test_gray(), 32)).unwrap();
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, bytes).unwrap();
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let back = decode(&bytes, &decode_opts(&models)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.pixels(), image.pixels(), "{name}");
        assert_eq!(back.color(), image.color(), "{name}");
        // The encoder is deterministic: re-encoding gives the same bytes.
        let model = if image.color().color_channels() == 3 {
            test_rgb()
        } else {
            test_gray()
        };
        let again = encode(image.as_ref(), &encode_opts(model, test_gray(), 32)).unwrap();
        assert_eq!(again, bytes, "{name}: encoder output changed");
        checked += 1;
    }
    assert!(checked >= 20);
}
