//! What the encoder refuses: files a decoder cannot or should not read.

mod support;

use nelloc::{
    decode, encode, ColorType, EncodeOptions, Error, ImageRef, LimitError, Metadata, MAX_TILE_SIZE,
};
use support::*;

fn gray_opts(tile: u32) -> EncodeOptions {
    let m = tiny(1, 0, 3);
    encode_opts(m.clone(), m, tile)
}

#[test]
fn tile_size_is_bounded_so_no_stream_can_exceed_4_gib() {
    let px = [0u8; 4];
    let image = ImageRef::new(2, 2, ColorType::Gray8, &px).unwrap();
    for bad in [0, MAX_TILE_SIZE + 1, u32::MAX] {
        match encode(image, &gray_opts(bad)) {
            Err(Error::InvalidArgument(msg)) => assert!(msg.contains("tile_size"), "{msg}"),
            other => panic!("tile size {bad}: {other:?}"),
        }
    }
    // 16384^2 pixels x 4 samples x 24 bits (the longest code, frequency 1 of 2^24) < 4 GiB.
    assert!(u64::from(MAX_TILE_SIZE).pow(2) * 4 * 24 / 8 < 1 << 32);
    encode(image, &gray_opts(MAX_TILE_SIZE)).expect("the largest tile size is accepted");
}

#[test]
fn encoding_applies_the_decoders_limits() {
    // Wider than the default decoder accepts (65 535): refused before any work.
    let wide = vec![0u8; 65_536];
    let image = ImageRef::new(65_536, 1, ColorType::Gray8, &wide).unwrap();
    match encode(image, &gray_opts(64)) {
        Err(Error::Limits(LimitError::Dimension { width: 65_536, .. })) => {}
        other => panic!("expected a dimension limit error, got {other:?}"),
    }
    // Raising the limit (as a decoder would have to) allows it.
    let mut o = gray_opts(4096);
    o.limits.max_dimension = 65_536;
    let bytes = encode(image, &o).unwrap();
    let mut d = decode_opts(&[o.model.clone().unwrap()]);
    d.limits.max_dimension = 65_536;
    assert_eq!(decode(&bytes, &d).unwrap().pixels(), &wide[..]);

    // Metadata above the limit.
    let px = [1u8; 3];
    let meta = Metadata {
        icc: Some(vec![0; 60]),
        exif: Some(vec![0; 50]),
        ..Metadata::default()
    };
    let image = ImageRef::new(1, 1, ColorType::Gray8, &px[..1])
        .unwrap()
        .with_metadata(&meta);
    let mut o = gray_opts(8);
    o.limits.max_metadata_bytes = 100;
    match encode(image, &o) {
        Err(Error::Limits(LimitError::Metadata {
            bytes: 110,
            max: 100,
        })) => {}
        other => panic!("expected a metadata limit error, got {other:?}"),
    }
    o.limits.max_metadata_bytes = 110;
    encode(image, &o).expect("at the limit");
}
