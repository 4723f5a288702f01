//! Decompression bombs: a few bytes may claim a huge image (memory) or a huge neural
//! decode (CPU time). Every claim is refused before the work or the allocation when the
//! caller's limits say so, and decoding time grows only linearly with the claim.

mod support;

use std::time::{Duration, Instant};

use nelloc::{
    decode, encode, ColorType, EncodeOptions, Error, FormatError, ImageRef, LimitError, Limits,
};
use support::*;

/// The golden `flat-black-20x12.nlc` (RGB, one tile, empty stream) edited to claim `w` x
/// `h` pixels in `tw` x `th` tiles, every tile stream `stream`, checksums re-sealed.
fn claiming_tiled(w: u32, h: u32, tw: u32, th: u32, stream: &[u8]) -> Vec<u8> {
    let golden = std::fs::read(fixtures().join("golden/flat-black-20x12.nlc")).unwrap();
    assert_eq!(golden.len(), 120, "one tile, empty stream");
    let mut f = golden[..100].to_vec();
    for (at, v) in [(12, w), (16, h), (20, tw), (24, th)] {
        f[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    let n = w.div_ceil(tw) * h.div_ceil(th);
    f[96..100].copy_from_slice(&n.to_le_bytes());
    for t in 0..u64::from(n) {
        f.extend_from_slice(&(t * stream.len() as u64).to_le_bytes());
        f.extend_from_slice(&(stream.len() as u32).to_le_bytes());
        f.extend_from_slice(&crc32fast::hash(stream).to_le_bytes());
    }
    let crc = crc32fast::hash(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    for _ in 0..n {
        f.extend_from_slice(stream);
    }
    f
}

/// One tile covering a `w` x `h` claim.
fn claiming(w: u32, h: u32, stream: &[u8]) -> Vec<u8> {
    claiming_tiled(w, h, w, h, stream)
}

/// Seconds to fail decoding a hostile one-tile stream of `w` x `h` pixels (best of 3: the
/// machine is shared).
fn hostile_seconds(w: u32, h: u32, stream: &[u8]) -> f64 {
    assert!(stream.len().is_multiple_of(4) && stream.last() != Some(&0));
    let file = claiming(w, h, stream);
    let mut o = decode_opts(&[test_rgb()]);
    o.threads = 1;
    (0..3)
        .map(|_| {
            let t = Instant::now();
            // Most such streams fail the final-state check; some end in state 0 early
            // and are valid (every later symbol 0). Either way every pixel is decoded.
            match decode(&file, &o) {
                Ok(_) | Err(Error::Format(FormatError::CorruptTile { .. })) => {}
                Err(e) => panic!("expected a corrupt tile, got {e:?}"),
            }
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn decoding_time_is_linear_in_the_claimed_pixels() {
    // Random words, and all-ones words (every quantile at the top of the CDF: the symbol
    // search gallops furthest from the predicted mean on every sample).
    let mut rng = Rng::new(15);
    let random: Vec<u8> = (0..4096).map(|_| rng.byte() | 1).collect();
    let ones = vec![0xFFu8; 4096];
    for (name, stream) in [("random", &random), ("all-ones", &ones)] {
        let small = hostile_seconds(48, 48, stream);
        let large = hostile_seconds(96, 96, stream);
        let ratio = large / small;
        eprintln!(
            "{name}: {small:.4} s for 48x48, {large:.4} s for 96x96 (x{ratio:.2}, linear is x4)"
        );
        assert!(
            ratio < 8.0,
            "{name}: 4x the pixels took {ratio:.1}x the time"
        );
    }
    // The pathological stream costs about what a valid one does per pixel.
    let case = image(96, 96, ColorType::Rgb8, |x, y, c| {
        (x * 3 + y * 2 + c as u32 * 50) as u8
    });
    let valid = encode(case.as_ref(), &encode_opts(test_rgb(), test_gray(), 96)).unwrap();
    let mut o = decode_opts(&[test_rgb()]);
    o.threads = 1;
    let t = Instant::now();
    decode(&valid, &o).unwrap();
    let valid_s = t.elapsed().as_secs_f64();
    let ones_s = hostile_seconds(96, 96, &ones);
    eprintln!("valid 96x96: {valid_s:.4} s, all-ones: {ones_s:.4} s");
    assert!(
        ones_s < valid_s * 4.0 + 0.05,
        "all-ones {ones_s} s vs valid {valid_s} s"
    );
}

#[test]
fn a_neural_claim_beyond_the_work_limit_is_refused_before_decoding() {
    // 1.4 KB claiming 16000x16000 pixels in one tile: passes the pixel limit (2^28) but
    // would keep a core busy for minutes. With a work limit it fails at once.
    let mut rng = Rng::new(3);
    let stream: Vec<u8> = (0..1400).map(|_| rng.byte() | 1).collect();
    let file = claiming(16000, 16000, &stream);
    for limits in [Limits::strict(), {
        let mut l = Limits::default();
        l.max_neural_pixels = 1 << 24;
        l
    }] {
        let mut o = decode_opts(&[test_rgb()]);
        o.limits = limits;
        let t = Instant::now();
        let e = decode(&file, &o).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(
            matches!(
                e,
                Error::Limits(
                    LimitError::Work {
                        pixels: 256_000_000,
                        ..
                    } | LimitError::Pixels { .. }
                )
            ),
            "{e:?}"
        );
    }
    // The encoder reports the work of what it wrote and refuses a file beyond the limit.
    let img = image(64, 64, ColorType::Rgb8, |x, y, c| (x * y + c as u32) as u8);
    let mut e = encode_opts(test_rgb(), test_gray(), 32);
    let (_, stats) = nelloc::encode_with_stats(img.as_ref(), &e).unwrap();
    assert_eq!(stats.neural_pixels, 64 * 64);
    e.limits.max_neural_pixels = 64 * 64 - 1;
    assert!(matches!(
        encode(img.as_ref(), &e),
        Err(Error::Limits(LimitError::Work {
            pixels: 4096,
            max: 4095
        }))
    ));
}

#[test]
fn tiles_larger_than_any_encoder_writes_are_refused() {
    let f = claiming_tiled(20000, 4, 16385, 4, &[]);
    match nelloc::info(&f, &decode_opts(&[])) {
        Err(Error::Format(FormatError::InvalidField { field, detail })) => {
            assert_eq!(field, "tile_width/tile_height");
            assert!(detail.contains("at most 16384"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // 16384 itself is allowed (the encoder's largest).
    let ok = claiming(16384, 2, &[]);
    assert!(nelloc::info(&ok, &decode_opts(&[])).is_ok());
}

#[test]
fn output_bytes_are_bounded_before_allocation() {
    // 65535x65535 RGB (12.9 GB) from 120 bytes: the dimension rule allows it, the pixel and
    // output-byte limits do not, and nothing sized by the claim is allocated (the peak is
    // measured in tests/peak_memory.rs).
    let file = claiming_tiled(65535, 65535, 16384, 16384, &[]);
    let mut o = decode_opts(&[test_rgb()]);
    let t = Instant::now();
    assert!(matches!(
        decode(&file, &o),
        Err(Error::Limits(LimitError::Pixels { .. }))
    ));
    o.limits.max_pixels = u64::MAX;
    assert!(matches!(
        decode(&file, &o),
        Err(Error::Limits(LimitError::Output {
            bytes: 12_884_508_675,
            max: 1_073_741_824
        }))
    ));
    assert!(t.elapsed() < Duration::from_secs(1));
    // The encoder applies the same bound to what it would write.
    let px = vec![0u8; 64 * 64 * 4];
    let img = ImageRef::new(64, 64, ColorType::Rgba8, &px).unwrap();
    let mut e = EncodeOptions::default();
    e.limits.max_output_bytes = 64 * 64 * 4 - 1;
    assert!(matches!(
        encode(img, &e),
        Err(Error::Limits(LimitError::Output { .. }))
    ));
}

#[test]
fn a_large_flat_image_within_the_limits_decodes() {
    // 8192x4096 RGB of one grey: constant tiles, a few KB, decoded well within the strict
    // limits' work bound (no neural pixels).
    let (w, h) = (8192u32, 4096u32);
    let px = vec![200u8; (w * h * 3) as usize];
    let img = ImageRef::new(w, h, ColorType::Rgb8, &px).unwrap();
    let (bytes, stats) = nelloc::encode_with_stats(img, &EncodeOptions::default()).unwrap();
    assert_eq!(stats.neural_pixels, 0);
    assert!(bytes.len() < 64 * 1024, "{} bytes", bytes.len());
    let mut o = decode_opts(&[]);
    o.limits = Limits::strict();
    let t = Instant::now();
    let back = decode(&bytes, &o).unwrap();
    eprintln!(
        "{w}x{h} flat: {} bytes, decoded in {:?}",
        bytes.len(),
        t.elapsed()
    );
    assert!(back.pixels() == &px[..]);
}
