//! Models that travel with the files (docs/FORMAT.md section 12): embedded models (`MODL`
//! chunks, versions 6 and 7), the 4-byte model reference (kind 4, version 6), the model
//! search path, and the error that says where the decoder looked. Hostile embedded models
//! are clear errors, never panics.

mod support;

use std::sync::Arc;

use nelloc::{
    decode, encode, info, ColorType, DecodeOptions, Error, FormatError, Model, ModelError,
};
use sha2::{Digest, Sha256};
use support::*;

/// 28x28 grey, the size of (Fashion-)MNIST.
fn gray28() -> nelloc::Image {
    image(28, 28, ColorType::Gray8, |x, y, _| {
        ((x * 9 + y * 5) as u8) ^ ((x * y) % 7) as u8
    })
}

/// One-tile options with `model` (external: not built in), the network only (so that
/// the header names the model), compact.
fn opts(model: Arc<Model>, alpha: Arc<Model>) -> nelloc::EncodeOptions {
    let mut o = encode_opts(model, alpha, 256);
    o.compact = true;
    o
}

fn embedded(model: Arc<Model>, alpha: Arc<Model>) -> nelloc::EncodeOptions {
    let mut o = opts(model, alpha);
    o.embed_models = true;
    o
}

/// Nothing but the built-in models.
fn bare() -> DecodeOptions {
    DecodeOptions::default()
}

fn model_error(r: nelloc::Result<nelloc::Image>) -> ModelError {
    match r {
        Err(Error::Model(m)) => m,
        other => panic!("expected a model error, got {other:?}"),
    }
}

#[test]
fn an_embedded_model_decodes_without_access_to_it() {
    let img = gray28();
    let m = test_gray_pred();
    let bytes = encode(img.as_ref(), &embedded(m.clone(), test_gray())).unwrap();
    assert_eq!(bytes[8], 6);
    // The header names it in full (kind 3), the chunk carries the file.
    let back = decode(&bytes, &bare()).unwrap();
    assert_eq!(back.pixels(), img.pixels());
    let i = info(&bytes, &bare()).unwrap();
    assert_eq!(i.version, 6);
    assert_eq!(i.embedded_models, vec![m.hash_hex()]);
    assert_eq!(i.model_hash, m.hash_hex());
    assert!(bytes.len() > m.file_size());
    // The same stream decodes with the model supplied too (the same file).
    let d = decode_opts(std::slice::from_ref(&m));
    assert_eq!(decode(&bytes, &d).unwrap().pixels(), img.pixels());
    // No embedding: the model is needed.
    let plain = encode(img.as_ref(), &opts(m.clone(), test_gray())).unwrap();
    assert!(matches!(
        model_error(decode(&plain, &bare())),
        ModelError::UnknownModel { .. }
    ));
    // Every prefix fails cleanly.
    for n in (0..bytes.len()).step_by(7) {
        assert!(decode(&bytes[..n], &bare()).is_err());
    }
}

#[test]
fn tiled_streams_embed_in_version_7_and_alpha_models_too() {
    // Several tiles: version 7.
    let img = image(40, 30, ColorType::Gray8, |x, y, _| (x * 6 + y * 3) as u8);
    let mut o = embedded(test_gray_pred(), test_gray());
    o.tile_size = 16;
    o.modes = nelloc::TileModes::only(&[nelloc::TileMode::Neural]);
    let bytes = encode(img.as_ref(), &o).unwrap();
    assert_eq!(bytes[8], 7);
    let i = info(&bytes, &bare()).unwrap();
    assert_eq!((i.version, i.tiles), (7, 6));
    assert_eq!(decode(&bytes, &bare()).unwrap().pixels(), img.pixels());
    // RGBA with two external models: two chunks; GrayA with one model for both: one.
    let rgba = image(21, 14, ColorType::Rgba8, |x, y, c| {
        (x * 11 + y * 7 + c as u32 * 50) as u8
    });
    let o = embedded(test_rgb_pred(), test_gray_pred());
    let bytes = encode(rgba.as_ref(), &o).unwrap();
    let i = info(&bytes, &bare()).unwrap();
    assert_eq!(i.version, 6);
    assert_eq!(
        i.embedded_models,
        vec![test_rgb_pred().hash_hex(), test_gray_pred().hash_hex()]
    );
    assert_eq!(decode(&bytes, &bare()).unwrap().pixels(), rgba.pixels());
    let graya = image(15, 11, ColorType::GrayA8, |x, y, c| {
        (x * 17 + y * 3 + c as u32 * 90) as u8
    });
    let o = embedded(test_gray_pred(), test_gray_pred());
    let bytes = encode(graya.as_ref(), &o).unwrap();
    assert_eq!(info(&bytes, &bare()).unwrap().embedded_models.len(), 1);
    assert_eq!(decode(&bytes, &bare()).unwrap().pixels(), graya.pixels());
}

#[test]
fn built_in_models_are_never_embedded() {
    let img = gray28();
    let gray = nelloc::model::builtin_by_name("gray").unwrap();
    let mut o = opts(gray.clone(), gray.clone());
    let plain = encode(img.as_ref(), &o).unwrap();
    o.embed_models = true;
    assert_eq!(encode(img.as_ref(), &o).unwrap(), plain);
    assert_eq!(plain[8], 5);
    // Tiled too: the same bytes as without the option.
    o.tile_size = 16;
    let tiled = encode(img.as_ref(), &o).unwrap();
    o.embed_models = false;
    assert_eq!(encode(img.as_ref(), &o).unwrap(), tiled);
    assert!(tiled[8] <= 4);
}

#[test]
fn an_external_model_is_named_by_4_bytes_in_version_6() {
    let img = gray28();
    let m = test_gray_pred();
    let mut o = opts(m.clone(), test_gray());
    o.adapt_head = nelloc::AdaptHead::Off;
    let short = encode(img.as_ref(), &o).unwrap();
    // signature, 6, flags (Gray8), 27, 27, kind 4 and 4 bytes of the hash
    assert_eq!(&short[8..13], &[6, 0x01, 27, 27, 4]);
    assert_eq!(&short[13..17], &m.hash()[..4]);
    o.short_model_refs = false;
    let long = encode(img.as_ref(), &o).unwrap();
    assert_eq!(&long[8..13], &[5, 0x01, 27, 27, 2]);
    assert_eq!(long.len(), short.len() + 4);
    // The same tile after the reference.
    assert_eq!(&long[21..long.len() - 4], &short[17..short.len() - 4]);
    let d = decode_opts(std::slice::from_ref(&m));
    assert_eq!(decode(&short, &d).unwrap().pixels(), img.pixels());
    assert_eq!(info(&short, &d).unwrap().model_hash, m.hash_hex());
    // Without the model: the prefix, and where the decoder looked.
    assert_eq!(
        info(&short, &bare()).unwrap().model_hash,
        hex(&m.hash()[..4])
    );
    let e = decode(&short, &bare()).unwrap_err();
    match &e {
        Error::Model(ModelError::UnknownModel { hash, role, .. }) => {
            assert_eq!(
                (hash.as_str(), *role),
                (hex(&m.hash()[..4]).as_str(), "colour")
            );
        }
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    for part in [
        "not built in (",
        "not supplied",
        "not embedded",
        "NELLOC_MODEL_PATH",
    ] {
        assert!(msg.contains(part), "{part}: {msg}");
    }
    // Kind 4 is not a version-5 reference.
    let mut v5 = short[..short.len() - 4].to_vec();
    v5[8] = 5;
    let v5 = sealed(v5);
    match decode(&v5, &d) {
        Err(Error::Format(FormatError::InvalidField { field, detail })) => {
            assert_eq!(field, "colour model");
            assert!(detail.contains("kind 4"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // A kind-2 reference stays valid in version 6; kind 5 is not.
    let mut v6 = long[..long.len() - 4].to_vec();
    v6[8] = 6;
    assert_eq!(
        decode(&sealed(v6.clone()), &d).unwrap().pixels(),
        img.pixels()
    );
    v6[12] = 5;
    assert!(matches!(
        decode(&sealed(v6), &d),
        Err(Error::Format(FormatError::InvalidField { .. }))
    ));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn sealed(mut body: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    body
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A compact version-6 Gray8 28x28 stream: header reference `reference` (kind byte and
/// payload), the given chunks, and the tile of `gray28()` coded with test-gray-pred.
fn v6(reference: &[u8], chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let img = gray28();
    let m = test_gray_pred();
    let mut o = opts(m.clone(), test_gray());
    o.short_model_refs = false;
    o.adapt_head = nelloc::AdaptHead::Off;
    let long = encode(img.as_ref(), &o).unwrap();
    // 8 + version + flags + 2 sides + kind 2 and 8 bytes: no chunk (no adapted head on
    // this image, checked by the decode below).
    assert_eq!(long[9], 0x01);
    let tile = &long[21..long.len() - 4];
    let mut b = long[..8].to_vec();
    b.push(6);
    b.push(if chunks.is_empty() { 0x01 } else { 0x21 });
    b.extend([27, 27]);
    b.extend_from_slice(reference);
    if !chunks.is_empty() {
        varint(&mut b, chunks.len() as u64);
        for (tag, data) in chunks {
            b.extend_from_slice(*tag);
            varint(&mut b, data.len() as u64);
            b.extend_from_slice(data);
        }
    }
    b.extend_from_slice(tile);
    sealed(b)
}

fn full(hash: &[u8]) -> Vec<u8> {
    let mut r = vec![3];
    r.extend_from_slice(hash);
    r
}

#[test]
fn hostile_embedded_models_are_clear_errors() {
    let img = gray28();
    let m = test_gray_pred();
    let file = m.file_bytes();
    // The hand-made stream is what the encoder writes.
    let good = v6(&full(m.hash()), &[(b"MODL", file)]);
    assert_eq!(
        good,
        encode(img.as_ref(), &{
            let mut o = embedded(m.clone(), test_gray());
            o.adapt_head = nelloc::AdaptHead::Off;
            o
        })
        .unwrap()
    );
    assert_eq!(decode(&good, &bare()).unwrap().pixels(), img.pixels());
    // A 4-byte reference resolved by the embedded model.
    let mut short = vec![4];
    short.extend_from_slice(&m.hash()[..4]);
    let s = v6(&short, &[(b"MODL", file)]);
    assert_eq!(decode(&s, &bare()).unwrap().pixels(), img.pixels());

    let field = |f: &[u8], want: &str| match decode(f, &bare()) {
        Err(Error::Format(FormatError::InvalidField { field, detail })) => {
            assert_eq!(field, "MODL chunk", "{detail}");
            assert!(detail.contains(want), "{detail}");
        }
        other => panic!("{want}: {other:?}"),
    };
    // A chunk the header does not name (its hash is not the reference's).
    let mut other = file.to_vec();
    other.push(0);
    field(
        &v6(&full(m.hash()), &[(b"MODL", &other)]),
        "not the colour or alpha model",
    );
    // Two copies of the model.
    field(
        &v6(&full(m.hash()), &[(b"MODL", file), (b"MODL", file)]),
        "second copy",
    );
    // Not a model file at all, named by its own hash: invalid, saying it was embedded.
    let junk = b"this is not safetensors".to_vec();
    let f = v6(&full(&Sha256::digest(&junk)), &[(b"MODL", &junk)]);
    match model_error(decode(&f, &bare())) {
        ModelError::Invalid(d) => assert!(d.contains("embedded in the stream"), "{d}"),
        other => panic!("{other:?}"),
    }
    // A valid model for the wrong channel count.
    let rgb = test_rgb_pred();
    let f = v6(&full(rgb.hash()), &[(b"MODL", rgb.file_bytes())]);
    assert!(matches!(
        model_error(decode(&f, &bare())),
        ModelError::ChannelMismatch {
            needed: 1,
            model: 3,
            ..
        }
    ));
    // Above the model-size limit: refused before it is hashed or parsed.
    let mut small = bare();
    small.limits.max_model_bytes = 1000;
    assert!(matches!(
        decode(&good, &small),
        Err(Error::Limits(nelloc::LimitError::Model { max: 1000, .. }))
    ));
    // The metadata limit does not count it.
    let mut meta = bare();
    meta.limits.max_metadata_bytes = 10;
    assert!(decode(&good, &meta).is_ok());
    // In version 5 a MODL chunk is an unknown chunk: skipped, not a model, not checked.
    let mut v5 = v6(&full(m.hash()), &[(b"MODL", b"junk")]);
    v5[8] = 5;
    let v5 = sealed(v5[..v5.len() - 4].to_vec());
    assert!(matches!(
        model_error(decode(&v5, &bare())),
        ModelError::UnknownModel { .. }
    ));
    assert_eq!(
        decode(&v5, &decode_opts(std::slice::from_ref(&m)))
            .unwrap()
            .pixels(),
        img.pixels()
    );
    let mut v5 = v6(&full(m.hash()), &[(b"MODL", file)]);
    v5[8] = 5;
    let v5 = sealed(v5[..v5.len() - 4].to_vec());
    assert!(info(&v5, &bare()).unwrap().embedded_models.is_empty());
    assert!(decode(&v5, &bare()).is_err());
}

/// A fresh directory under the target's temporary space.
fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn the_search_path_finds_the_model() {
    let img = gray28();
    let m = test_gray_pred();
    let short = encode(img.as_ref(), &opts(m.clone(), test_gray())).unwrap();
    let mut tiled = opts(m.clone(), test_gray());
    tiled.tile_size = 16;
    let tiled = encode(img.as_ref(), &tiled).unwrap();
    assert!(tiled[8] <= 4);
    let (empty, with) = (tempdir(), tempdir());
    std::fs::write(with.path().join("a-junk.safetensors"), b"junk").unwrap();
    std::fs::write(with.path().join("ignored.bin"), m.file_bytes()).unwrap();
    std::fs::write(
        with.path().join("rgb.safetensors"),
        test_rgb_pred().file_bytes(),
    )
    .unwrap();
    std::fs::write(with.path().join("m.safetensors"), m.file_bytes()).unwrap();
    let missing = empty.path().join("nope");
    let mut d = bare();
    d.model_path = vec![
        missing.clone(),
        empty.path().to_path_buf(),
        with.path().to_path_buf(),
    ];
    for bytes in [&short, &tiled] {
        assert_eq!(decode(bytes, &d).unwrap().pixels(), img.pixels());
    }
    assert_eq!(info(&short, &d).unwrap().model_hash, m.hash_hex());
    // Without the file: the error lists every directory and what it held.
    std::fs::remove_file(with.path().join("m.safetensors")).unwrap();
    let e = decode(&short, &d).unwrap_err().to_string();
    for part in [
        format!("{} (missing)", missing.display()),
        format!("{} (0 model files)", empty.path().display()),
        format!("{} (2 model files)", with.path().display()),
    ] {
        assert!(e.contains(&part), "{part}: {e}");
    }
    // Files above the model-size limit are skipped unread, and counted.
    std::fs::write(with.path().join("m.safetensors"), m.file_bytes()).unwrap();
    d.limits.max_model_bytes = 1000;
    let e = decode(&tiled, &d).unwrap_err().to_string();
    assert!(e.contains("skipped"), "{e}");
    d.limits.max_model_bytes = 1 << 20;
    assert_eq!(decode(&tiled, &d).unwrap().pixels(), img.pixels());
    // An environment list, split as PATH is.
    let joined = std::env::join_paths([empty.path(), with.path()]).unwrap();
    let dirs: Vec<_> = std::env::split_paths(&joined).collect();
    assert_eq!(dirs.len(), 2);
}
