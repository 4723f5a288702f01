//! The compact container (docs/FORMAT.md section 11, version 5): round trips of one-tile
//! images, the encoder's choice between the containers, and hostile compact streams (one
//! case per rule), each a clear error and never a panic.

mod support;

use nelloc::{decode, encode, info, probe, ColorType, Error, FormatError, ModelError};
use support::*;

/// One-tile options: the test models, all modes, the compact container (the default).
fn opts(color: ColorType) -> nelloc::EncodeOptions {
    let model = if color.color_channels() == 3 {
        test_rgb()
    } else {
        test_gray()
    };
    let mut o = encode_opts(model, test_gray(), 256);
    o.modes = nelloc::TileModes::all();
    o.compact = true;
    o
}

fn models() -> Vec<std::sync::Arc<nelloc::Model>> {
    vec![test_rgb(), test_gray(), test_rgb_pred(), test_gray_pred()]
}

#[test]
fn one_tile_images_round_trip_in_the_compact_container() {
    for (w, h, color) in [
        (1, 1, ColorType::Gray8),
        (1, 1, ColorType::Rgb8),
        (1, 1, ColorType::Rgba8),
        (28, 28, ColorType::Gray8),
        (17, 3, ColorType::GrayA8),
        (3, 29, ColorType::Rgb8),
        (128, 1, ColorType::Rgb8),
        (129, 200, ColorType::Gray8),
        (31, 9, ColorType::Rgba8),
    ] {
        let img = image(w, h, color, |x, y, c| {
            if c == 3 || (color == ColorType::GrayA8 && c == 1) {
                (x * 13 + y) as u8
            } else {
                (x * 3 + y * 5 + c as u32 * 60) as u8 ^ ((x * 7 + y * 3) % 4) as u8
            }
        });
        let o = opts(color);
        let bytes = encode(img.as_ref(), &o).unwrap();
        assert_eq!(bytes[8], 5, "{w}x{h} {color:?}");
        let d = decode_opts(&models());
        let back = decode(&bytes, &d).unwrap();
        assert_eq!(back.pixels(), img.pixels(), "{w}x{h} {color:?}");
        let i = info(&bytes, &d).unwrap();
        assert_eq!(
            (i.version, i.tiles, i.tile_width, i.tile_height),
            (5, 1, w, h)
        );
        assert_eq!(i.file_size, bytes.len());
        let p = probe(&bytes).unwrap();
        assert_eq!((p.version, p.width, p.height, p.color), (5, w, h, color));
        // Every prefix, as a partial download: probe and info_header ask for more, or
        // (the complete file) succeed; nothing panics.
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n], &d).is_err());
            let _ = probe(&bytes[..n]);
            assert!(
                matches!(
                    nelloc::info_header(&bytes[..n], &d),
                    Err(Error::Format(FormatError::Truncated { .. }))
                ),
                "{w}x{h} prefix {n}"
            );
        }
        assert_eq!(
            nelloc::info_header(&bytes, &d).unwrap().file_size,
            bytes.len()
        );
        // The tiled container codes the same tile in about 100 more bytes.
        let mut tiled = o.clone();
        tiled.compact = false;
        let t = encode(img.as_ref(), &tiled).unwrap();
        assert!(
            t[8] <= 4 && bytes.len() + 60 < t.len(),
            "{} vs {}",
            bytes.len(),
            t.len()
        );
        assert_eq!(decode(&t, &d).unwrap().pixels(), img.pixels());
    }
}

#[test]
fn several_tiles_keep_the_tiled_container() {
    let img = image(40, 30, ColorType::Rgb8, |x, y, c| {
        (x + y * 2 + c as u32) as u8
    });
    let mut o = opts(ColorType::Rgb8);
    o.tile_size = 32;
    let bytes = encode(img.as_ref(), &o).unwrap();
    assert!(bytes[8] <= 4);
    assert_eq!(info(&bytes, &decode_opts(&models())).unwrap().tiles, 2);
}

/// A 5x4 Gray8 compact stream named by a hash prefix (the predictor-relative test model,
/// not built in), with an XMP chunk.
fn base() -> Vec<u8> {
    let mut img = image(5, 4, ColorType::Gray8, |x, y, _| (x * 40 + y * 9) as u8);
    img.metadata_mut().xmp = Some(b"<x/>".to_vec());
    let mut o = encode_opts(test_gray_pred(), test_gray(), 256);
    o.compact = true;
    // Version 5 (an 8-byte prefix, kind 2), not the 4-byte one of version 6.
    o.short_model_refs = false;
    let f = encode(img.as_ref(), &o).unwrap();
    // signature, 5, flags (Gray8 | has-chunks), 4, 3, kind 2 and the prefix, 1 chunk
    assert_eq!(&f[8..13], &[5, 0x21, 4, 3, 2]);
    assert_eq!(&f[13..21], &test_gray_pred().hash()[..8]);
    f
}

/// `body` (everything before the CRC) with a fresh CRC: the damage a hostile writer makes.
fn sealed(mut body: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    body
}

fn body(f: &[u8]) -> Vec<u8> {
    f[..f.len() - 4].to_vec()
}

fn error(f: &[u8]) -> Error {
    decode(f, &decode_opts(&models())).expect_err("a hostile stream decoded")
}

fn invalid_field(f: &[u8], field: &str, detail: &str) {
    match error(f) {
        Error::Format(FormatError::InvalidField {
            field: got,
            detail: d,
        }) => {
            assert_eq!(got, field, "{d}");
            assert!(d.contains(detail), "{field}: {d}");
        }
        e => panic!("{field}: expected an invalid field, got {e}"),
    }
}

/// `base()` with bytes [at, at + n) replaced by `with`, resealed.
fn splice(at: usize, n: usize, with: &[u8]) -> Vec<u8> {
    let mut b = body(&base());
    b.splice(at..at + n, with.iter().copied());
    sealed(b)
}

#[test]
fn hostile_compact_streams_are_clear_errors() {
    let f = base();
    let d = decode_opts(&models());
    assert!(decode(&f, &d).is_ok());
    // The CRC covers every byte.
    for at in [9, 12, 20, f.len() - 5, f.len() - 1] {
        let mut g = f.clone();
        g[at] ^= 1;
        assert!(
            matches!(error(&g), Error::Format(FormatError::FileChecksum { .. })),
            "byte {at}"
        );
    }
    // Truncation: a checksum error for a whole file, shorter than the minimum truncated.
    assert!(matches!(
        error(&f[..f.len() - 1]),
        Error::Format(FormatError::FileChecksum { .. })
    ));
    assert!(matches!(
        error(&f[..13]),
        Error::Format(FormatError::Truncated { .. })
    ));
    // Flags: reserved bits, colour type, alpha mode against the colour type.
    invalid_field(&splice(9, 1, &[0x61]), "flags", "reserved");
    invalid_field(&splice(9, 1, &[0xA1]), "flags", "reserved");
    invalid_field(&splice(9, 1, &[0x25]), "color_type", "5");
    invalid_field(&splice(9, 1, &[0x20]), "color_type", "0");
    invalid_field(&splice(9, 1, &[0x29]), "alpha_mode", "mode 1");
    invalid_field(&splice(9, 1, &[0x3A]), "alpha_mode", "mode 3");
    // Varints: non-minimal, too long, too large, cut off by the end of the header.
    invalid_field(&splice(10, 1, &[0x84, 0x00]), "width", "shortest");
    invalid_field(
        &splice(10, 1, &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
        "width",
        "longer than 5",
    );
    invalid_field(
        &splice(10, 1, &[0x80, 0x80, 0x01]),
        "width",
        "at most 16383",
    );
    invalid_field(
        &splice(11, 1, &[0x80, 0x80, 0x80, 0x80, 0x0F]),
        "height",
        "at most 16383",
    );
    assert!(matches!(
        error(&sealed(f[..11].iter().copied().chain([0x80]).collect())),
        Error::Format(FormatError::Truncated { .. })
    ));
    // Model references: unknown kind, unknown built-in index, all-zero full hash, no
    // model with the prefix, two models with it.
    invalid_field(&splice(12, 1, &[4]), "colour model", "kind 4");
    assert!(matches!(
        error(&splice(12, 9, &[1, 0xE7, 0x07])),
        Error::Model(ModelError::UnknownBuiltin { index: 999, .. })
    ));
    let mut zero = vec![3];
    zero.extend([0u8; 32]);
    invalid_field(&splice(12, 9, &zero), "colour model", "all-zero");
    let g = splice(13, 8, &[0xEE; 8]);
    assert!(matches!(
        error(&g),
        Error::Model(ModelError::UnknownModel { .. })
    ));
    assert!(info(&g, &d).unwrap().model_hash == "ee".repeat(8));
    // A full hash (kind 3) names the same model.
    let mut full = vec![3];
    full.extend(test_gray_pred().hash());
    assert_eq!(
        decode(&splice(12, 9, &full), &d).unwrap().pixels(),
        decode(&f, &d).unwrap().pixels()
    );
    // The prefix finds the model among those supplied; the same file twice is one model,
    // not an ambiguity (two distinct models sharing 64 bits cannot be made here: the
    // lookup's ambiguity is unit-tested with short prefixes in model/mod.rs).
    let other = tiny(1, 0, 1);
    let g = splice(13, 8, &other.hash()[..8]);
    let not_model_error = |r: nelloc::Result<nelloc::Image>| !matches!(r, Err(Error::Model(_)));
    assert!(not_model_error(decode(
        &g,
        &decode_opts(std::slice::from_ref(&other))
    )));
    assert!(not_model_error(decode(
        &g,
        &decode_opts(&[other.clone(), other.clone()])
    )));
    let e = Error::from(ModelError::AmbiguousModel {
        prefix: "00".into(),
        role: "colour",
        count: 2,
    });
    assert_eq!(e.kind(), nelloc::ErrorKind::ModelNotFound);
    // Chunks: count 0 with the flag, above 64, a length past the header, a huge length.
    invalid_field(&splice(21, 1, &[0]), "chunk_count", "has-chunks");
    invalid_field(&splice(21, 1, &[65]), "chunk_count", "at most 64");
    assert!(matches!(
        error(&splice(26, 1, &[0x7F])),
        Error::Format(FormatError::Truncated { .. })
    ));
    assert!(matches!(
        error(&splice(26, 1, &[0xFF, 0xFF, 0xFF, 0xFF, 0x0F])),
        Error::Format(FormatError::Truncated { .. })
    ));
    invalid_field(
        &splice(26, 1, &[0x80, 0x80, 0x80, 0x80, 0x10]),
        "metadata chunk length",
        "at most",
    );
    // No tile bytes at all.
    let header_len = 9 + 1 + 2 + 9 + 1 + 4 + 1 + 4;
    assert!(matches!(
        error(&sealed(body(&f)[..header_len].to_vec())),
        Error::Format(FormatError::CorruptTile { .. })
    ));
    // The limits apply before anything is allocated.
    let mut strict = decode_opts(&models());
    strict.limits.max_dimension = 4;
    assert!(matches!(decode(&f, &strict), Err(Error::Limits(_))));
    strict.limits = nelloc::Limits::default();
    strict.limits.max_metadata_bytes = 3;
    assert!(matches!(decode(&f, &strict), Err(Error::Limits(_))));
}
