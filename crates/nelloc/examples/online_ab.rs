//! The online-adaptation A/B of issue 25 section 2 (docs/MODELS.md, "Online adaptation
//! A/B"): per variant, the exact ideal code length of each image on top of the encoder's
//! adapted head, and (with `--time`) the extra per-pixel work against a one-thread decode.
//!
//! ```text
//! cargo run --release -p nelloc --features experiments --example online_ab -- \
//!     [--time] [--tile N] [--variants 'SPEC;SPEC;...'] IMAGES...
//! ```
//! SPEC: `base`, `bias[,ctx=tile|eN|tN][,limit=N][,prior=N][,clip=N][,top]`,
//! `grad[,ctx=...][,lrm=N][,lrs=N]`, or a bias and a grad spec joined by `+`.
use nelloc::experiments::{prepare, Variant};
use nelloc::{ColorType, DecodeOptions, EncodeOptions, ImageRef};
use std::time::Instant;

const DEFAULT: &str = "base;bias;grad";

fn main() {
    let mut time = false;
    let mut tile = nelloc::DEFAULT_TILE_SIZE;
    let mut specs = DEFAULT.to_string();
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--time" => time = true,
            "--tile" => tile = args.next().and_then(|t| t.parse().ok()).expect("--tile N"),
            "--variants" => specs = args.next().expect("--variants SPECS"),
            _ => files.push(a),
        }
    }
    let variants: Vec<Variant> = specs
        .split(';')
        .map(|s| Variant::parse(s.trim()).unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect();
    assert!(
        variants.first() == Some(&Variant::default()),
        "the first variant must be base"
    );
    let n = variants.len();
    let (mut bits, mut extra) = (vec![0.0f64; n], vec![0.0f64; n]);
    let (mut symbols, mut decode_s) = (0u64, 0.0f64);
    let mut per_image = vec![Vec::new(); n];
    for path in &files {
        let img = image::open(path).expect("image").to_rgb8();
        let (w, h) = img.dimensions();
        let image = ImageRef::new(w, h, ColorType::Rgb8, img.as_raw()).expect("image");
        let prep = prepare(image, tile, 1).expect("prepare");
        let name = std::path::Path::new(path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        symbols += prep.symbols;
        let (enc_bits, dec_s) = if time {
            // The encoder's own ideal code length (the harness must reproduce it) and
            // the best of two one-thread decodes.
            let mut opts = EncodeOptions::default();
            opts.threads = 1;
            opts.tile_size = tile;
            let (file, stats) = nelloc::encode_with_stats(image, &opts).expect("encode");
            let mut d = DecodeOptions::default();
            d.threads = 1;
            let best = (0..2)
                .map(|_| {
                    let t = Instant::now();
                    let back = nelloc::decode(&file, &d).expect("decode");
                    assert_eq!(back.pixels(), img.as_raw());
                    t.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min);
            (Some(stats.model_bits), best)
        } else {
            (None, 0.0)
        };
        decode_s += dec_s;
        let base_s = if time {
            prep.seconds(&variants[0], 3)
        } else {
            0.0
        };
        for (v, variant) in variants.iter().enumerate() {
            let b = prep.bits(variant);
            if v == 0 {
                if let Some(e) = enc_bits {
                    println!(
                        "{name}: adapted head {}; harness {b:.1} bits, encoder {e:.1} bits; decode {dec_s:.3} s",
                        prep.adapted
                    );
                }
            }
            bits[v] += b;
            per_image[v].push(b / prep.symbols as f64);
            if time && v > 0 {
                extra[v] += (prep.seconds(variant, 3) - base_s).max(0.0);
            }
        }
        eprintln!("{name} done");
    }
    let base = bits[0] / symbols as f64;
    println!("files: {}", files.join(" "));
    for (v, variant) in variants.iter().enumerate() {
        let bpsp = bits[v] / symbols as f64;
        let cost = if time && decode_s > 0.0 {
            format!("{:+.1}%", 100.0 * extra[v] / decode_s)
        } else {
            "-".into()
        };
        let imgs: Vec<String> = per_image[v].iter().map(|b| format!("{b:.4}")).collect();
        println!(
            "{variant} | {bpsp:.4} | {:+.2}% | cost {cost} | {}",
            100.0 * (bpsp / base - 1.0),
            imgs.join(" ")
        );
    }
}
