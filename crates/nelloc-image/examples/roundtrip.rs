//! Saves any image `image` can read as `.nlc`, then opens the `.nlc` file again with plain
//! `image::open` (after `nelloc_image::register()`) and checks that it is lossless.
//!
//! ```sh
//! cargo run --release -p nelloc-image --example roundtrip -- \
//!     fixtures/photos/dune_77x53.png /tmp/dune.nlc
//! # with explicit model files instead of the built-in models:
//! cargo run --release -p nelloc-image --example roundtrip -- \
//!     fixtures/photos/dune_77x53.png /tmp/dune.nlc --model fixtures/models/test-rgb.safetensors
//! ```
use std::error::Error;
use std::sync::Arc;

use image::DynamicImage;

fn main() {
    if let Err(e) = run() {
        eprintln!("roundtrip: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        eprintln!("usage: roundtrip INPUT OUTPUT.nlc [--model MODEL.safetensors]...");
        std::process::exit(2);
    };
    let mut models = Vec::new();
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--model", Some(path)) => models.push(Arc::new(nelloc::Model::from_file(&path)?)),
            _ => {
                eprintln!("unexpected argument {flag:?}");
                std::process::exit(2);
            }
        }
    }

    // One call makes image::open & co. understand .nlc. Models that are not built in are
    // given to the hook through its decode options.
    let mut decode = nelloc::DecodeOptions::default();
    decode.models = models.clone();
    nelloc_image::set_hook_options(decode);
    nelloc_image::register();

    let img = image::open(&input)?;
    // nelloc stores 8-bit samples; convert deeper images explicitly.
    let img = match img {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => img,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    };

    let mut encode = nelloc::EncodeOptions::default();
    let channels = if img.color().has_color() { 3 } else { 1 };
    encode.model = models
        .iter()
        .find(|m| m.arch().channels == channels)
        .cloned();
    encode.alpha_model = models.iter().find(|m| m.arch().channels == 1).cloned();
    // `img.save(&output)` cannot write .nlc: `image` has no encoding hook.
    nelloc_image::save_nlc(&img, &output, &encode)?;

    let back = image::open(&output)?;
    let size = std::fs::metadata(&output)?.len();
    let samples =
        u64::from(img.width()) * u64::from(img.height()) * u64::from(img.color().channel_count());
    println!(
        "{input} -> {output}: {}x{} {:?}, {size} bytes, {:.3} bits per sample, lossless: {}",
        img.width(),
        img.height(),
        img.color(),
        size as f64 * 8.0 / samples as f64,
        back == img
    );
    if back != img {
        return Err("decoded image differs".into());
    }
    Ok(())
}
