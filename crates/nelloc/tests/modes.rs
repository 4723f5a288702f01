//! Per-tile coding modes (docs/FORMAT.md section 8): byte budgets on flat and synthetic
//! content, determinism across thread counts for every mode, compatibility (pure neural
//! stays version 1), and damaged non-neural tiles: errors, never panics.

mod support;

use nelloc::{
    decode, encode, encode_with_stats, info, ColorType, EncodeOptions, Error, FormatError, Image,
    ImageRef, TileMode, TileModes,
};
use support::*;

fn bpsp(bytes: usize, image: &Image) -> f64 {
    bytes as f64 * 8.0 / image.pixels().len() as f64
}

/// Encodes with the built-in models and every mode, checks the round trip, returns the size.
fn coded_size(image: &Image) -> usize {
    let bytes = encode(image.as_ref(), &EncodeOptions::default()).unwrap();
    let back = decode(&bytes, &Default::default()).unwrap();
    assert_eq!(back.pixels(), image.pixels());
    bytes.len()
}

#[test]
fn flat_images_cost_nearly_nothing_at_any_size() {
    // <= 0.01 bpsp for every flat colour from about 182x182 RGB (315x315 grey) up: a
    // one-tile file is 124 bytes (100-byte fixed header, header CRC, one 16-byte index
    // entry, mode byte and value), which is 0.01 bpsp of 99,200 samples.
    let colours: [[u8; 3]; 8] = [
        [255, 255, 255],
        [0, 0, 0],
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [0, 255, 255],
        [255, 0, 255],
        [255, 255, 0],
    ];
    for (w, h) in [(200, 200), (512, 512), (1000, 700)] {
        for rgb in colours {
            let im = image(w, h, ColorType::Rgb8, |_, _, c| rgb[c]);
            let n = coded_size(&im);
            assert!(bpsp(n, &im) <= 0.01, "{w}x{h} {rgb:?}: {n} bytes");
        }
        if w * h >= 315 * 315 {
            let gray = image(w, h, ColorType::Gray8, |_, _, _| 255);
            let n = coded_size(&gray);
            assert!(bpsp(n, &gray) <= 0.01, "{w}x{h} gray: {n} bytes");
        }
    }
    // 512x512 white: 4 tiles, header + 4 * (16-byte index entry + mode + 3 bytes).
    let white = image(512, 512, ColorType::Rgb8, |_, _, _| 255);
    assert!(coded_size(&white) <= 200);
}

#[test]
fn synthetic_images_stay_within_their_byte_budgets() {
    // One-pixel noise on a flat 512x512 image: a 2-colour palette tile (and constant
    // tiles elsewhere).
    let noisy = image(512, 512, ColorType::Rgb8, |x, y, c| {
        if (x, y) == (300, 77) {
            [0, 0, 0][c]
        } else {
            [250, 250, 250][c]
        }
    });
    let n = coded_size(&noisy);
    assert!(n <= 400, "flat with one-pixel noise: {n} bytes");
    // A horizontal and vertical gradient: PNG filters make it a handful of bytes per tile.
    let gradient = image(512, 512, ColorType::Rgb8, |x, y, c| {
        ((x + 2 * y) / 4 + c as u32 * 20) as u8
    });
    let n = coded_size(&gradient);
    assert!(n <= 2000, "gradient: {n} bytes"); // oxipng -o 2: 2108
                                               // Saturated primaries in blocks (a test card): palette.
    let card = image(512, 256, ColorType::Rgb8, |x, _, c| {
        let bar: [[u8; 3]; 8] = [
            [255, 255, 255],
            [255, 255, 0],
            [0, 255, 255],
            [0, 255, 0],
            [255, 0, 255],
            [255, 0, 0],
            [0, 0, 255],
            [0, 0, 0],
        ];
        bar[(x / 64) as usize][c]
    });
    let n = coded_size(&card);
    assert!(bpsp(n, &card) <= 0.01, "colour bars: {n} bytes");
    // Alpha: an RGBA icon-like image, flat colour with a binary mask.
    let icon = image(256, 256, ColorType::Rgba8, |x, y, c| {
        let inside = (x as i32 - 128).pow(2) + (y as i32 - 128).pow(2) < 100 * 100;
        [20, 120, 220, if inside { 255 } else { 0 }][c]
    });
    let n = coded_size(&icon);
    assert!(n <= 1500, "masked disc: {n} bytes");
}

#[test]
fn pure_neural_is_version_1_mixed_content_version_2_and_context_version_3() {
    use nelloc::TileMode;
    let im = mixed_image(64, 48, ColorType::Rgb8, 16, 9);
    let mut o = encode_opts(test_rgb(), test_gray(), 16);
    let v1 = encode(im.as_ref(), &o).unwrap();
    assert_eq!(v1[8], 1, "--modes neural writes the first release's format");
    o.modes = TileModes::only(&[
        TileMode::Neural,
        TileMode::Constant,
        TileMode::Png,
        TileMode::Palette,
        TileMode::Gray,
    ]);
    let (v2, stats) = encode_with_stats(im.as_ref(), &o).unwrap();
    assert_eq!(
        v2[8], 2,
        "without the context mode: readable by version-2 decoders"
    );
    assert!(v2.len() < v1.len(), "{} vs {}", v2.len(), v1.len());
    assert!(stats.modes.constant > 0 && stats.modes.png > 0 && stats.modes.palette > 0);
    o.modes = TileModes::all();
    let (v3, stats) = encode_with_stats(im.as_ref(), &o).unwrap();
    assert_eq!(v3[8], 3);
    assert!(v3.len() < v2.len(), "{} vs {}", v3.len(), v2.len());
    assert!(stats.modes.context > 0);
    let models = [test_rgb(), test_gray()];
    for f in [&v1, &v2, &v3] {
        assert_eq!(
            decode(f, &decode_opts(&models)).unwrap().pixels(),
            im.pixels()
        );
    }
    let i = info(&v3, &decode_opts(&models)).unwrap();
    assert_eq!(i.tile_details.len(), 12);
    assert_eq!(
        i.tile_details
            .iter()
            .map(|t| u64::from(t.bytes))
            .sum::<u64>(),
        stats.stream_bytes
    );
    // An incomplete mode set is refused before any work.
    o.modes = TileModes::only(&[TileMode::Constant, TileMode::Palette]);
    assert!(matches!(
        encode(im.as_ref(), &o),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn every_mode_is_deterministic_across_thread_counts() {
    let models = [test_rgb(), test_gray()];
    for (name, im, tile, modes) in mode_cases() {
        let model = if im.color().color_channels() == 3 {
            test_rgb()
        } else {
            test_gray()
        };
        let mut o = encode_opts(model, test_gray(), tile);
        o.modes = modes;
        let mut outputs = Vec::new();
        for threads in [1, 2, 3, 0] {
            o.threads = threads;
            outputs.push(encode(im.as_ref(), &o).unwrap());
        }
        assert!(outputs.windows(2).all(|w| w[0] == w[1]), "{name}");
        for threads in [1, 2, 0] {
            let mut d = decode_opts(&models);
            d.threads = threads;
            assert_eq!(
                decode(&outputs[0], &d).unwrap().pixels(),
                im.pixels(),
                "{name}"
            );
        }
    }
}

/// The tile data of a file without metadata: (offset of the first tile byte, index entries).
fn tile_entries(file: &[u8]) -> (usize, Vec<(usize, usize)>) {
    let n = u32::from_le_bytes(file[96..100].try_into().unwrap()) as usize;
    let start = 100 + 16 * n + 4;
    let e = (0..n)
        .map(|t| {
            let at = 100 + 16 * t;
            let off = u64::from_le_bytes(file[at..at + 8].try_into().unwrap()) as usize;
            let len = u32::from_le_bytes(file[at + 8..at + 12].try_into().unwrap()) as usize;
            (start + off, len)
        })
        .collect();
    (start, e)
}

/// Rewrites tile `t`'s CRC in the index and the header CRC, as a hostile writer would.
fn reseal_tile(file: &mut [u8], t: usize) {
    let (start, entries) = tile_entries(file);
    let (off, len) = entries[t];
    let crc = crc32fast::hash(&file[off..off + len]);
    file[100 + 16 * t + 12..100 + 16 * t + 16].copy_from_slice(&crc.to_le_bytes());
    let at = start - 4;
    let crc = crc32fast::hash(&file[..at]);
    file[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn damaged_non_neural_tiles_are_errors_never_panics() {
    let models = [test_rgb(), test_gray()];
    let d = decode_opts(&models);
    for (name, im, tile, modes) in mode_cases() {
        if name.starts_with("neural") {
            continue;
        }
        let model = if im.color().color_channels() == 3 {
            test_rgb()
        } else {
            test_gray()
        };
        let mut o = encode_opts(model, test_gray(), tile);
        o.modes = modes;
        let file = encode(im.as_ref(), &o).unwrap();
        let i = info(&file, &d).unwrap();
        let (_, entries) = tile_entries(&file);
        for (t, &(off, len)) in entries.iter().enumerate() {
            let ti = i.tile_details[t];
            let neural_only = ti.color_mode == TileMode::Neural
                && ti.alpha_mode.is_none_or(|m| m == TileMode::Neural);
            if neural_only {
                continue; // covered by bad_input.rs
            }
            // Every byte flipped (resealed): an error or different pixels, never a panic.
            // (The layout bytes, the end of the payloads, and a sample of the rest.)
            for k in (0..len).filter(|&k| k < 48 || k + 8 >= len || k % 5 == 0) {
                for flip in [0x01u8, 0xFF] {
                    let mut f = file.clone();
                    f[off + k] ^= flip;
                    reseal_tile(&mut f, t);
                    if let Ok(back) = decode(&f, &d) {
                        // Only a payload byte that still decodes (e.g. a palette entry or a
                        // constant value) may change pixels.
                        assert_eq!(back.pixels().len(), im.pixels().len(), "{name}");
                    }
                    let _ = info(&f, &d);
                }
            }
            // The unmodified CRC catches any change.
            let mut f = file.clone();
            f[off] ^= 1;
            assert!(matches!(
                decode(&f, &d),
                Err(Error::Format(FormatError::TileChecksum { .. }))
            ));
        }
        // An unknown mode byte is named as such.
        let (_, entries) = tile_entries(&file);
        let mut f = file.clone();
        f[entries[0].0] = 9;
        reseal_tile(&mut f, 0);
        assert!(
            matches!(
                decode(&f, &d),
                Err(Error::Format(FormatError::UnknownTileMode {
                    tile: 0,
                    mode: 9,
                    ..
                }))
            ),
            "{name}"
        );
    }
}

#[test]
fn truncated_tiles_and_bad_deflate_are_corrupt_tiles() {
    let models = [test_rgb(), test_gray()];
    let d = decode_opts(&models);
    let im = mixed_image(40, 24, ColorType::Rgb8, 8, 5);
    let mut o = encode_opts(test_rgb(), test_gray(), 8);
    o.modes = TileModes::only(&[TileMode::Png]);
    let file = encode(im.as_ref(), &o).unwrap();
    let (_, entries) = tile_entries(&file);
    let (off, len) = entries[0];
    // A tile cut short inside its payload: rebuild the file with a shorter tile 0.
    for cut in 1..len {
        let mut f = file[..off + cut].to_vec();
        f.extend_from_slice(&file[off + len..]);
        // Index: tile 0 shorter, every later offset moved.
        let n = entries.len();
        f[100 + 8..100 + 12].copy_from_slice(&(cut as u32).to_le_bytes());
        for t in 1..n {
            let at = 100 + 16 * t;
            let o = u64::from_le_bytes(f[at..at + 8].try_into().unwrap()) - (len - cut) as u64;
            f[at..at + 8].copy_from_slice(&o.to_le_bytes());
        }
        reseal_tile(&mut f, 0);
        match decode(&f, &d) {
            Err(Error::Format(FormatError::CorruptTile { tile: 0, .. })) => {}
            other => panic!("cut at {cut}: {:?}", other.map(|_| ())),
        }
    }
    // A deflate stream claiming more rows than the tile has: refused without growing.
    let mut big = vec![2u8];
    let z = miniz_oxide_free_zlib_of_zeros(8 * (8 * 3 + 1) + 1);
    big.extend_from_slice(&(z.len() as u32).to_le_bytes());
    big.extend_from_slice(&z);
    let mut f = file[..off].to_vec();
    f.extend_from_slice(&big);
    f.extend_from_slice(&file[off + len..]);
    let n = entries.len();
    f[100 + 8..100 + 12].copy_from_slice(&(big.len() as u32).to_le_bytes());
    for t in 1..n {
        let at = 100 + 16 * t;
        let o =
            u64::from_le_bytes(f[at..at + 8].try_into().unwrap()) + big.len() as u64 - len as u64;
        f[at..at + 8].copy_from_slice(&o.to_le_bytes());
    }
    reseal_tile(&mut f, 0);
    assert!(
        matches!(
            decode(&f, &d),
            Err(Error::Format(FormatError::CorruptTile { tile: 0, .. }))
        ),
        "oversized inflate"
    );
}

/// A zlib stream of `n` zero bytes made with stored blocks (no compressor needed).
fn miniz_oxide_free_zlib_of_zeros(n: usize) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let data = vec![0u8; n];
    let chunks: Vec<&[u8]> = data.chunks(65535).collect();
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let l = c.len() as u16;
        out.extend_from_slice(&l.to_le_bytes());
        out.extend_from_slice(&(!l).to_le_bytes());
        out.extend_from_slice(c);
    }
    // Adler-32 of n zeros: a = 1, b = n (mod 65521).
    let (a, b) = (1u32, (n as u32) % 65521);
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

#[test]
fn a_neural_tile_needs_a_model_even_in_version_2() {
    // A version-2 file without neural tiles names no model; a tile switched to neural
    // (mode byte 0, the rest as ANS words) is a corrupt tile, not a panic.
    let im = mixed_image(16, 8, ColorType::Gray8, 8, 4);
    let mut o = encode_opts(test_gray(), test_gray(), 8);
    o.modes = TileModes::only(&[TileMode::Png]);
    let file = encode(im.as_ref(), &o).unwrap();
    assert!(file[28..60].iter().all(|&b| b == 0));
    let (_, entries) = tile_entries(&file);
    let mut f = file.clone();
    f[entries[0].0] = 0;
    reseal_tile(&mut f, 0);
    assert!(matches!(
        decode(&f, &Default::default()),
        Err(Error::Format(FormatError::CorruptTile { tile: 0, .. }))
    ));
    let _ = ImageRef::new(1, 1, ColorType::Gray8, &[0]).unwrap();
}
