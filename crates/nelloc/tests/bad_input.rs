//! Corrupt, truncated and hostile input: always a specific error, never a panic, a hang
//! or an allocation sized by the claim of a file.

mod support;

use std::sync::Arc;

use nelloc::{
    decode, encode, info, ColorType, DecodeOptions, Error, FormatError, Image, LimitError, Model,
    ModelError,
};
use support::*;

struct Setup {
    models: Vec<Arc<Model>>,
    file: Vec<u8>,
    image: Image,
}

fn setup() -> Setup {
    let rgb = tiny(3, 0, 21);
    let gray = tiny(1, 0, 22);
    let case = synthetic_cases()
        .into_iter()
        .find(|c| c.name.starts_with("rgba-varying"))
        .unwrap();
    let file = encode(
        case.image.as_ref(),
        &encode_opts(rgb.clone(), gray.clone(), 8),
    )
    .unwrap();
    Setup {
        models: vec![rgb, gray],
        file,
        image: case.image,
    }
}

fn opts(s: &Setup) -> DecodeOptions {
    decode_opts(&s.models)
}

/// Byte offset of the header CRC of a file without metadata chunks.
fn crc_at(file: &[u8]) -> usize {
    let n_tiles = u32::from_le_bytes(file[96..100].try_into().unwrap()) as usize;
    100 + 16 * n_tiles
}

/// Re-seals the header checksum after an edit, as a hostile writer would.
fn reseal(file: &mut [u8]) {
    let at = crc_at(file);
    reseal_at(file, at);
}

/// Re-seals at a known checksum position (when the edit may have changed the counts).
fn reseal_at(file: &mut [u8], at: usize) {
    let crc = crc32fast::hash(&file[..at]);
    file[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

fn format_err(r: nelloc::Result<Image>) -> FormatError {
    match r {
        Err(Error::Format(e)) => e,
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn the_fixture_file_decodes() {
    let s = setup();
    assert_eq!(
        decode(&s.file, &opts(&s)).unwrap().pixels(),
        s.image.pixels()
    );
}

#[test]
fn every_truncation_is_an_error() {
    let s = setup();
    for len in 0..s.file.len() {
        let r = decode(&s.file[..len], &opts(&s));
        assert!(r.is_err(), "prefix of {len} bytes decoded");
    }
    assert!(matches!(
        format_err(decode(&s.file[..5], &opts(&s))),
        FormatError::Truncated {
            what: "signature",
            ..
        }
    ));
    assert!(matches!(
        format_err(decode(&s.file[..50], &opts(&s))),
        FormatError::Truncated {
            what: "fixed header",
            ..
        }
    ));
    assert!(matches!(
        format_err(decode(&s.file[..s.file.len() - 4], &opts(&s))),
        FormatError::Truncated {
            what: "tile data",
            ..
        }
    ));
}

#[test]
fn every_single_bit_flip_is_detected() {
    let s = setup();
    let o = opts(&s);
    for i in 0..s.file.len() {
        for bit in [0, 3, 7] {
            let mut f = s.file.clone();
            f[i] ^= 1 << bit;
            assert!(
                decode(&f, &o).is_err(),
                "flip of byte {i} bit {bit} went undetected"
            );
        }
    }
    let mut f = s.file.clone();
    f[20] ^= 1; // width
    assert!(matches!(
        format_err(decode(&f, &o)),
        FormatError::HeaderChecksum { .. }
    ));
    let mut f = s.file.clone();
    let last = f.len() - 1;
    f[last] ^= 0x40;
    assert!(matches!(
        format_err(decode(&f, &o)),
        FormatError::TileChecksum { .. }
    ));
}

#[test]
fn wrong_and_mangled_signatures() {
    let s = setup();
    let o = opts(&s);
    assert_eq!(
        format_err(decode(b"\x89PNG\r\n\x1a\n0000000000", &o)),
        FormatError::BadMagic
    );
    assert_eq!(format_err(decode(&[0u8; 300], &o)), FormatError::BadMagic);
    // A text-mode transfer turning CR LF into LF.
    let mut f = s.file.clone();
    f.remove(4);
    assert_eq!(format_err(decode(&f, &o)), FormatError::MangledMagic);
    // 7-bit channel stripping the high bit.
    let mut f = s.file.clone();
    f[0] &= 0x7F;
    assert_eq!(format_err(decode(&f, &o)), FormatError::MangledMagic);
}

#[test]
fn newer_version_is_refused() {
    let s = setup();
    let mut f = s.file.clone();
    let newer = nelloc::FORMAT_VERSION + 1;
    f[8] = newer;
    reseal(&mut f);
    assert_eq!(
        format_err(decode(&f, &opts(&s))),
        FormatError::UnsupportedVersion(newer)
    );
}

#[test]
fn version_zero_is_a_damaged_field_for_decode_info_and_probe_alike() {
    let s = setup();
    let mut f = s.file.clone();
    f[8] = 0;
    reseal(&mut f);
    let expected = |e: &FormatError| {
        matches!(
            e,
            FormatError::InvalidField {
                field: "version",
                ..
            }
        )
    };
    assert!(expected(&format_err(decode(&f, &opts(&s)))));
    match (info(&f, &opts(&s)), nelloc::probe(&f)) {
        (Err(Error::Format(a)), Err(Error::Format(b))) => {
            assert!(expected(&a) && a == b, "{a:?} / {b:?}");
        }
        other => panic!("expected format errors, got {other:?}"),
    }
    // A newer version is unsupported, not damaged, in both.
    f[8] = nelloc::FORMAT_VERSION + 1;
    reseal(&mut f);
    assert!(matches!(
        nelloc::probe(&f),
        Err(Error::Format(FormatError::UnsupportedVersion(v))) if v == nelloc::FORMAT_VERSION + 1
    ));
}

#[test]
fn probe_reads_the_fixed_fields_and_shares_the_signature_rules() {
    let s = setup();
    let p = nelloc::probe(&s.file[..nelloc::PROBE_BYTES]).unwrap();
    assert_eq!(
        (p.version, p.color, p.width, p.height),
        (1, s.image.color(), s.image.width(), s.image.height())
    );
    for len in 0..nelloc::PROBE_BYTES {
        assert!(matches!(
            nelloc::probe(&s.file[..len]),
            Err(Error::Format(FormatError::Truncated { .. }))
        ));
    }
    // The damaged-signature rule of `decode` (byte 0 must be 8B or 0B around "NLC").
    for first in [0x8B, 0x0B, 0x42] {
        let mut f = s.file.clone();
        f[0] = first;
        f[4] = b'\n';
        let d = format_err(decode(&f, &opts(&s)));
        match nelloc::probe(&f) {
            Err(Error::Format(p)) => assert_eq!(p, d, "first byte {first:#x}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn info_reports_the_alpha_mode_as_a_value() {
    let s = setup();
    let i = info(&s.file, &opts(&s)).unwrap();
    assert_eq!(i.alpha, nelloc::AlphaMode::Coded);
    assert_eq!(i.alpha.to_string(), "coded");
    assert_eq!(nelloc::AlphaMode::Constant(7).to_string(), "constant 7");
}

#[test]
fn absurd_dimensions_hit_limits_before_allocation() {
    let s = setup();
    let mut f = s.file.clone();
    f[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    f[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    reseal(&mut f);
    match decode(&f, &opts(&s)) {
        Err(Error::Limits(LimitError::Dimension { .. })) => {}
        other => panic!("expected a limit error, got {other:?}"),
    }
    // Within the dimension limit but above the pixel limit.
    let mut o = opts(&s);
    o.limits.max_pixels = 100;
    match decode(&s.file, &o) {
        Err(Error::Limits(LimitError::Pixels {
            pixels: 294,
            max: 100,
        })) => {}
        other => panic!("expected a pixel limit error, got {other:?}"),
    }
    // Dimensions that disagree with the tile count.
    let mut f = s.file.clone();
    f[12..16].copy_from_slice(&60_000u32.to_le_bytes());
    reseal(&mut f);
    assert!(matches!(
        format_err(decode(&f, &opts(&s))),
        FormatError::InvalidField {
            field: "tile_count",
            ..
        }
    ));
}

#[test]
fn a_huge_tile_count_is_bounded_by_the_file_length() {
    let s = setup();
    let mut f = s.file.clone();
    f[96..100].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        format_err(decode(&f, &opts(&s))),
        FormatError::Truncated {
            what: "tile index",
            ..
        }
    ));
}

#[test]
fn tile_index_pointing_outside_the_file() {
    let s = setup();
    let mut f = s.file.clone();
    // The second tile's offset, moved far beyond the end.
    f[116..124].copy_from_slice(&(1u64 << 40).to_le_bytes());
    reseal(&mut f);
    assert!(matches!(
        format_err(decode(&f, &opts(&s))),
        FormatError::TileOutOfBounds { tile: 1, .. }
    ));
    // An offset + length that overflows u64.
    let mut f = s.file.clone();
    f[116..124].copy_from_slice(&u64::MAX.to_le_bytes());
    reseal(&mut f);
    assert!(matches!(
        format_err(decode(&f, &opts(&s))),
        FormatError::TileOutOfBounds { .. }
    ));
}

#[test]
fn trailing_bytes_are_refused() {
    let s = setup();
    let mut f = s.file.clone();
    f.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(
        format_err(decode(&f, &opts(&s))),
        FormatError::TrailingData(4)
    );
}

#[test]
fn unknown_model_is_named() {
    let s = setup();
    let err = decode(&s.file, &DecodeOptions::default()).unwrap_err();
    match &err {
        Error::Model(ModelError::UnknownModel {
            hash,
            role: "colour",
            ..
        }) => {
            assert_eq!(hash, &s.models[0].hash_hex());
        }
        other => panic!("expected UnknownModel, got {other:?}"),
    }
    assert!(err.to_string().contains(&s.models[0].hash_hex()));
    // The header alone is still readable.
    let i = info(&s.file, &DecodeOptions::default()).unwrap();
    assert_eq!((i.width, i.height, i.color), (21, 14, ColorType::Rgba8));
    assert_eq!(i.model_name, None);
}

#[test]
fn a_resealed_corrupt_tile_stream_is_an_error_or_wrong_pixels_never_a_panic() {
    let s = setup();
    let o = opts(&s);
    let mut rng = Rng::new(99);
    let data_start = crc_at(&s.file) + 4;
    let mut detected = 0;
    for _ in 0..300 {
        let mut f = s.file.clone();
        let i = data_start + (rng.next() as usize) % (f.len() - data_start);
        f[i] ^= 1 + (rng.next() % 255) as u8;
        // Recompute every tile CRC, as a hostile writer would.
        let n_tiles = (crc_at(&f) - 100) / 16;
        for t in 0..n_tiles {
            let e = 100 + 16 * t;
            let off = u64::from_le_bytes(f[e..e + 8].try_into().unwrap()) as usize;
            let len = u32::from_le_bytes(f[e + 8..e + 12].try_into().unwrap()) as usize;
            let crc = crc32fast::hash(&f[data_start + off..data_start + off + len]);
            f[e + 12..e + 16].copy_from_slice(&crc.to_le_bytes());
        }
        reseal(&mut f);
        match decode(&f, &o) {
            Err(Error::Format(FormatError::CorruptTile { .. })) => detected += 1,
            Err(e) => panic!("unexpected error {e}"),
            Ok(img) => assert_ne!(img.pixels(), s.image.pixels()),
        }
    }
    // The final-state check catches most damage even with valid checksums.
    assert!(detected > 200, "only {detected} of 300 detected");
}

#[test]
fn invalid_model_files_are_errors() {
    assert!(matches!(
        Model::from_bytes(b""),
        Err(ModelError::Invalid(_))
    ));
    assert!(matches!(
        Model::from_bytes(&[0xFF; 64]),
        Err(ModelError::Invalid(_))
    ));
    let arch = nelloc::model::Arch::new(3, 3, 8, 0, 10);
    let good = nelloc::model::synthetic(arch, 1, "x");
    assert!(Model::from_bytes(&good).is_ok());
    for len in [8, 100, good.len() / 2, good.len() - 1] {
        assert!(
            Model::from_bytes(&good[..len]).is_err(),
            "model prefix {len}"
        );
    }
}

#[test]
fn model_with_wrong_channel_count_is_refused_when_encoding() {
    let gray = tiny(1, 0, 1);
    let img = Image::new(2, 2, ColorType::Rgb8, vec![0; 12]).unwrap();
    let err = encode(img.as_ref(), &encode_opts(gray.clone(), gray, 8)).unwrap_err();
    assert!(matches!(
        err,
        Error::Model(ModelError::ChannelMismatch {
            model: 1,
            needed: 3,
            ..
        })
    ));
}

#[test]
fn resealed_random_header_edits_never_panic() {
    // A hostile writer can produce any header with a valid checksum: every such edit
    // must give an error or a correct-size image, never a panic or a huge allocation.
    let s = setup();
    let mut o = opts(&s);
    o.limits.max_pixels = 1 << 16;
    let header_len = crc_at(&s.file);
    let mut rng = Rng::new(4242);
    for _ in 0..3000 {
        let mut f = s.file.clone();
        for _ in 0..1 + rng.next() % 3 {
            let i = 8 + (rng.next() as usize) % (header_len - 8);
            f[i] = match rng.next() % 4 {
                0 => 0,
                1 => 0xFF,
                _ => rng.byte(),
            };
        }
        reseal_at(&mut f, header_len);
        if let Ok(img) = decode(&f, &o) {
            let expected = img.width() as usize * img.height() as usize * img.color().channels();
            assert_eq!(img.pixels().len(), expected);
        }
        let _ = info(&f, &o);
    }
}
