//! Adapted heads (docs/FORMAT.md section 9): the encoder's `Auto` policy on photographs,
//! determinism across thread counts, and hostile or misplaced `ADPT` chunks.

mod support;

use nelloc::{decode, encode, AdaptHead, Error, FormatError, Image};
use support::*;

/// A photograph large enough for `Auto` to fit: the 256x192 fixture photo and its
/// mirror images as a 512x384 mosaic.
fn photo_mosaic() -> Image {
    let p = load_png(&fixtures().join("photos/demo.png"));
    let (w, h) = (p.width() as usize, p.height() as usize);
    let mut px = Vec::with_capacity(4 * w * h * 3);
    for y in 0..2 * h {
        for x in 0..2 * w {
            let sx = if x < w { x } else { 2 * w - 1 - x };
            let sy = if y < h { y } else { 2 * h - 1 - y };
            px.extend_from_slice(&p.pixels()[(sy * w + sx) * 3..][..3]);
        }
    }
    Image::new(2 * w as u32, 2 * h as u32, nelloc::ColorType::Rgb8, px).unwrap()
}

fn opts(policy: AdaptHead, threads: usize) -> nelloc::EncodeOptions {
    let mut o = encode_opts(test_rgb(), test_gray(), 128);
    o.adapt_head = policy;
    o.threads = threads;
    o
}

#[test]
fn auto_adapts_a_photograph_and_the_file_gets_smaller() {
    let image = photo_mosaic();
    let models = [test_rgb(), test_gray()];
    let off = encode(image.as_ref(), &opts(AdaptHead::Off, 0)).unwrap();
    let auto = encode(image.as_ref(), &opts(AdaptHead::Auto, 1)).unwrap();
    let info = nelloc::info(&auto, &decode_opts(&models)).unwrap();
    assert_eq!((info.version, info.adapted_heads), (4, [true, false]));
    assert!(
        auto.len() < off.len(),
        "adapted {} bytes, fixed {} bytes",
        auto.len(),
        off.len()
    );
    let back = decode(&auto, &decode_opts(&models)).unwrap();
    assert_eq!(back.pixels(), image.pixels());
    // The fit does not depend on the thread count.
    assert_eq!(
        encode(image.as_ref(), &opts(AdaptHead::Auto, 2)).unwrap(),
        auto
    );
    // Off writes what the encoder wrote before adapted heads: version 1 here.
    assert_eq!(
        nelloc::info(&off, &decode_opts(&models)).unwrap().version,
        1
    );
}

#[test]
fn auto_leaves_small_images_alone() {
    let image = load_png(&fixtures().join("photos/dune_77x53.png"));
    let a = encode(image.as_ref(), &opts(AdaptHead::Auto, 0)).unwrap();
    let b = encode(image.as_ref(), &opts(AdaptHead::Off, 0)).unwrap();
    assert_eq!(a, b);
}

/// The golden file with a colour `ADPT` chunk, its chunk body's position, and its models.
fn adapted_file() -> (Vec<u8>, usize, [std::sync::Arc<nelloc::Model>; 2]) {
    let f = std::fs::read(fixtures().join("golden/adapted/dune_77x53.nlc")).unwrap();
    // The only chunk: tag at 100, length at 104, body from 108.
    assert_eq!(&f[100..104], b"ADPT");
    (f, 108, [test_rgb(), test_gray()])
}

fn reseal(f: &mut [u8]) {
    let chunk_len = u32::from_le_bytes(f[104..108].try_into().unwrap()) as usize;
    let tiles = u32::from_le_bytes(f[96..100].try_into().unwrap()) as usize;
    let at = 108 + chunk_len + 16 * tiles;
    let crc = crc32fast::hash(&f[..at]);
    f[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

fn field_error(f: &[u8], models: &[std::sync::Arc<nelloc::Model>]) -> String {
    match decode(f, &decode_opts(models)) {
        Err(Error::Format(FormatError::InvalidField { field, detail })) => {
            assert_eq!(field, "ADPT chunk");
            detail
        }
        other => panic!("expected an invalid ADPT chunk, got {other:?}"),
    }
}

#[test]
fn hostile_adpt_chunks_are_clear_errors() {
    let (good, body, models) = adapted_file();
    let image = load_png(&fixtures().join("photos/dune_77x53.png"));
    assert_eq!(
        decode(&good, &decode_opts(&models)).unwrap().pixels(),
        image.pixels()
    );
    let edit = |at: usize, v: u8| {
        let mut f = good.clone();
        f[body + at] = v;
        reseal(&mut f);
        f
    };
    assert!(field_error(&edit(0, 2), &models).contains("plane group 2"));
    assert!(field_error(&edit(0, 1), &models).contains("alpha is not coded"));
    assert!(field_error(&edit(1, 9), &models).contains("shift 9"));
    // One value fewer than the model's head: the last one is then trailing bytes, or the
    // count mismatch once the values parse.
    let count = u16::from_le_bytes([good[body + 2], good[body + 3]]);
    let mut f = good.clone();
    f[body + 2..body + 4].copy_from_slice(&(count + 1).to_le_bytes());
    reseal(&mut f);
    assert!(field_error(&f, &models).contains("cut off"));
    // A varint continued past the chunk's end.
    let len = u32::from_le_bytes(good[104..108].try_into().unwrap()) as usize;
    let d = field_error(&edit(len - 1, 0x80), &models);
    assert!(
        d.contains("cut off") || d.contains("longer than 3 bytes"),
        "{d}"
    );
}

#[test]
fn a_version_3_reader_view_skips_the_chunk() {
    // Rewritten as version 3, the ADPT tag is unknown and skipped (as old decoders did):
    // the file decodes as if it had no offsets, i.e. to other pixels or a corrupt tile,
    // never a panic.
    let (mut f, _, models) = adapted_file();
    f[8] = 3;
    reseal(&mut f);
    let image = load_png(&fixtures().join("photos/dune_77x53.png"));
    match decode(&f, &decode_opts(&models)) {
        Ok(img) => assert_ne!(img.pixels(), image.pixels()),
        Err(Error::Format(_)) => {}
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn a_head_for_the_wrong_model_size_is_refused() {
    // The gray golden's head has 30 values (K = 10, C = 1); put its chunk on the RGB file.
    let (rgb, body, models) = adapted_file();
    let gray = std::fs::read(fixtures().join("golden/adapted/wood_gray_64x64-pred.nlc")).unwrap();
    let glen = u32::from_le_bytes(gray[104..108].try_into().unwrap()) as usize;
    let rlen = u32::from_le_bytes(rgb[104..108].try_into().unwrap()) as usize;
    let mut f = rgb[..body].to_vec();
    f[104..108].copy_from_slice(&(glen as u32).to_le_bytes());
    f.extend_from_slice(&gray[108..108 + glen]);
    f.extend_from_slice(&rgb[body + rlen..]);
    reseal(&mut f);
    let d = field_error(&f, &models);
    assert!(d.contains("head values"), "{d}");
}
