//! Round-trips the validation crops (built by tools/validation-data.sh, outside the repo)
//! with the built-in models. Skips with a note when the crops are absent, unless
//! NELLOC_REQUIRE_VALDATA is set (CI sets it).

mod support;

use std::path::PathBuf;

use nelloc::{decode, encode, DecodeOptions, EncodeOptions};
use support::load_png;

fn valdata() -> Option<PathBuf> {
    let dir = std::env::var_os("NELLOC_VALDATA")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/nelloc/validation"))
        })?;
    if dir.join("Bridge_by_Sander_Klootwijk.png").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("NELLOC_REQUIRE_VALDATA").is_none(),
        "validation crops missing in {}: run tools/validation-data.sh",
        dir.display()
    );
    eprintln!(
        "skipped: validation crops not found in {} (run tools/validation-data.sh)",
        dir.display()
    );
    None
}

#[test]
fn validation_crops_roundtrip_with_builtin_models() {
    let Some(dir) = valdata() else { return };
    for name in ["Bridge_by_Sander_Klootwijk", "ColorfulCups", "gray/Storm"] {
        let image = load_png(&dir.join(format!("{name}.png")));
        let bytes = encode(image.as_ref(), &EncodeOptions::default()).unwrap();
        let back = decode(&bytes, &DecodeOptions::default()).unwrap();
        assert_eq!(back.pixels(), image.pixels(), "{name}");
        let bpsp = bytes.len() as f64 * 8.0 / image.pixels().len() as f64;
        eprintln!("{name}: {bpsp:.3} bpsp");
        assert!(bpsp < 6.0, "{name}: {bpsp:.3} bpsp is not compression");
    }
}
