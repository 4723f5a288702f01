//! The checks behind every fuzz target, as plain functions: `cargo fuzz` calls them on
//! generated inputs (fuzz/fuzz_targets), and the workspace tests replay the seed corpora
//! and every finding through the same functions (crates/nelloc/tests/fuzz_regressions.rs),
//! so CI checks exactly what the fuzzers checked without fuzzing.
//!
//! Each function must return normally for every input; a panic (an `assert!` here or one
//! in the library) is a finding.

use std::sync::{Arc, OnceLock};

use nelloc::{
    ColorType, DecodeOptions, EncodeOptions, Error, ImageRef, Limits, Model, TileMode, TileModes,
};

/// The frozen test models (small, so executions are fast), embedded at build time.
pub fn models() -> &'static [Arc<Model>] {
    static M: OnceLock<Vec<Arc<Model>>> = OnceLock::new();
    M.get_or_init(|| {
        [
            &include_bytes!("../../fixtures/models/test-rgb.safetensors")[..],
            &include_bytes!("../../fixtures/models/test-gray.safetensors")[..],
            &include_bytes!("../../fixtures/models/test-rgb-pred.safetensors")[..],
            &include_bytes!("../../fixtures/models/test-gray-pred.safetensors")[..],
        ]
        .iter()
        .map(|b| Arc::new(Model::from_bytes(b).expect("frozen test model")))
        .collect()
    })
}

/// Small limits: at most 64x64 pixels, so one execution stays in milliseconds.
pub fn small_limits() -> Limits {
    let mut l = Limits::default();
    l.max_dimension = 64;
    l.max_pixels = 64 * 64;
    l.max_metadata_bytes = 1 << 16;
    l.max_input_bytes = 1 << 20;
    l
}

/// Decoder options with the test models, small limits and one thread (libFuzzer runs
/// one input at a time; a pool would only add noise to the coverage).
pub fn decode_options() -> DecodeOptions {
    let mut o = DecodeOptions::default();
    o.models = models().to_vec();
    o.limits = small_limits();
    o.threads = 1;
    o
}

/// Target 1: container parsing. `probe` and `info` never panic, and agree where both
/// succeed.
pub fn container(data: &[u8]) {
    let probed = nelloc::probe(data);
    if let Ok(info) = nelloc::info(data, &decode_options()) {
        let p = probed.expect("info accepted a stream that probe refuses");
        assert_eq!(
            (p.width, p.height, p.color),
            (info.width, info.height, info.color)
        );
        assert_eq!(p.version, info.version);
        assert_eq!(info.tiles, info.tile_details.len());
        assert_eq!(info.file_size, data.len());
        // An embedded preview info accepted: at most 1024 x 1024 and without a network,
        // so decoding it is cheap enough for this target; it decodes at the size info
        // gave, or fails cleanly (its payloads are checked only by decoding).
        if let Some((w, h)) = info.preview {
            assert!(w <= nelloc::MAX_PREVIEW_SIZE && h <= nelloc::MAX_PREVIEW_SIZE);
            match nelloc::decode_preview(data, &decode_options()) {
                Ok(p) => {
                    assert!(p.embedded);
                    assert_eq!((p.image.width(), p.image.height()), (w, h));
                }
                Err(e) => no_internal_error(&e),
            }
        }
    }
}

/// Target 2: full decode of arbitrary bytes. An accepted stream decodes to the image its
/// header announces.
pub fn decode(data: &[u8]) {
    let o = decode_options();
    match nelloc::decode(data, &o) {
        Ok(image) => {
            let info = nelloc::info(data, &o).expect("decode accepted what info refuses");
            assert_eq!((image.width(), image.height()), (info.width, info.height));
            assert_eq!(image.color(), info.color);
            assert_eq!(
                image.pixels().len(),
                (info.width * info.height) as usize * info.color.channels()
            );
        }
        Err(e) => no_internal_error(&e),
    }
}

/// Errors the decoder may give for hostile data; anything else (an I/O error from
/// memory, a thread pool failure) would be a bug.
fn no_internal_error(e: &Error) {
    assert!(
        matches!(
            e,
            Error::Format(_) | Error::Limits(_) | Error::Model(_) | Error::Unsupported(_)
        ),
        "unexpected error kind: {e:?}"
    );
}

/// Valid small streams (every colour type, container versions 1 to 3, several tile
/// sizes; one set coded in the context mode only) for the structure-aware target.
pub fn valid_streams() -> &'static [Vec<u8>] {
    static S: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    S.get_or_init(|| {
        let m = models();
        let mut out = Vec::new();
        for (i, color) in [
            ColorType::Gray8,
            ColorType::GrayA8,
            ColorType::Rgb8,
            ColorType::Rgba8,
        ]
        .into_iter()
        .enumerate()
        {
            let (w, h) = (13 + 3 * i as u32, 9 + 2 * i as u32);
            let ch = color.channels();
            // Smooth content with a noisy corner and a varying alpha: neural, png and
            // constant tiles appear when modes are free.
            let mut px = Vec::with_capacity((w * h) as usize * ch);
            let mut s = 0x9E37_79B9u32.wrapping_add(i as u32);
            for y in 0..h {
                for x in 0..w {
                    for c in 0..ch {
                        s ^= s << 13;
                        s ^= s >> 17;
                        s ^= s << 5;
                        let v = if x < 5 && y < 5 {
                            s as u8
                        } else {
                            (x * 9 + y * 5 + c as u32 * 40) as u8
                        };
                        px.push(if color.has_alpha() && c == ch - 1 {
                            (x * 17) as u8
                        } else {
                            v
                        });
                    }
                }
            }
            let image = ImageRef::new(w, h, color, &px).expect("valid image");
            for (tile, modes) in [
                (8, TileModes::only(&[TileMode::Neural])),
                (8, TileModes::all()),
                (64, TileModes::all()),
                (8, TileModes::only(&[TileMode::Context])),
            ] {
                let mut o = EncodeOptions::default();
                o.model = Some(m[if color.color_channels() == 3 { 0 } else { 1 }].clone());
                o.alpha_model = Some(m[1].clone());
                o.tile_size = tile;
                o.modes = modes;
                o.threads = 1;
                // Tiled: the structured target swaps tiles in the tile index.
                o.compact = false;
                out.push(nelloc::encode(image, &o).expect("encode"));
            }
        }
        out
    })
}

/// Where the tile index of a well-formed stream starts, and how many tiles it has.
fn index_of(file: &[u8]) -> Option<(usize, usize)> {
    let le32 = |o: usize| Some(u32::from_le_bytes(file.get(o..o + 4)?.try_into().ok()?));
    let (chunks, tiles) = (le32(92)?, le32(96)? as usize);
    let mut at = 100usize;
    for _ in 0..chunks {
        at += 8 + le32(at + 4)? as usize;
    }
    Some((at, tiles))
}

/// Rebuilds `file` (a valid stream) with tile `t`'s stream replaced by `stream`: offsets,
/// the tile CRC and the header CRC recomputed, as a hostile writer would.
pub fn replace_tile(file: &[u8], t: usize, stream: &[u8]) -> Vec<u8> {
    let (index, n) = index_of(file).expect("a valid stream");
    let data = &file[index + 16 * n + 4..];
    let mut streams: Vec<&[u8]> = Vec::with_capacity(n);
    for i in 0..n {
        let e = &file[index + 16 * i..index + 16 * i + 16];
        let off = u64::from_le_bytes(e[..8].try_into().expect("8 bytes")) as usize;
        let len = u32::from_le_bytes(e[8..12].try_into().expect("4 bytes")) as usize;
        streams.push(&data[off..off + len]);
    }
    streams[t % n] = stream;
    let mut out = file[..index].to_vec();
    let mut off = 0u64;
    for s in &streams {
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(s).to_le_bytes());
        off += s.len() as u64;
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    for s in &streams {
        out.extend_from_slice(s);
    }
    out
}

/// Target 3: structure-aware decode. Byte 0 picks a valid stream, byte 1 a tile, the rest
/// replaces that tile's stream (checksums recomputed), so the fuzzer works on mode bytes,
/// payloads and ANS words instead of being stopped by a CRC.
pub fn structured(data: &[u8]) {
    let [pick, tile, stream @ ..] = data else {
        return;
    };
    let bases = valid_streams();
    let file = replace_tile(&bases[*pick as usize % bases.len()], *tile as usize, stream);
    decode(&file);
}

/// Target 4: encode then decode of an arbitrary small image round-trips exactly. Byte 0
/// picks the colour type and coding modes, bytes 1 and 2 the size (1..=64 each), byte 3
/// the tile size; the rest are the samples (repeated to fill the image).
pub fn roundtrip(data: &[u8]) {
    let [sel, w, h, t, px @ ..] = data else {
        return;
    };
    let color = [
        ColorType::Gray8,
        ColorType::GrayA8,
        ColorType::Rgb8,
        ColorType::Rgba8,
    ][(sel & 3) as usize];
    let (w, h) = (u32::from(w % 64) + 1, u32::from(h % 64) + 1);
    let n = (w * h) as usize * color.channels();
    let pixels: Vec<u8> = if px.is_empty() {
        vec![0; n]
    } else {
        px.iter().copied().cycle().take(n).collect()
    };
    let m = models();
    let pred = sel & 4 != 0;
    let mut o = EncodeOptions::default();
    o.model = Some(
        m[match (color.color_channels(), pred) {
            (3, false) => 0,
            (3, true) => 2,
            (_, false) => 1,
            (_, true) => 3,
        }]
        .clone(),
    );
    o.alpha_model = Some(m[if pred { 3 } else { 1 }].clone());
    o.tile_size = [1, 3, 8, 16, 31, 64, 256, 1024][(t & 7) as usize];
    o.modes = match (sel >> 3) & 3 {
        0 => TileModes::all(),
        1 => TileModes::only(&[TileMode::Neural]),
        2 => TileModes::only(&[TileMode::Png]),
        _ => TileModes::only(&[TileMode::Neural, TileMode::Context, TileMode::Gray]),
    };
    o.threads = 1;
    o.limits = small_limits();
    let image = ImageRef::new(w, h, color, &pixels).expect("consistent image");
    let bytes = nelloc::encode(image, &o).expect("a small image always encodes");
    let back = nelloc::decode(&bytes, &decode_options()).expect("what was encoded decodes");
    assert_eq!((back.width(), back.height(), back.color()), (w, h, color));
    assert!(
        back.pixels() == &pixels[..],
        "round trip changed the pixels"
    );
}

/// Target 5: model files from users. Loading arbitrary bytes gives a model or
/// `ModelError`; a model that loads must code a small image of its channel count and
/// decode it back exactly (so every accepted parametrisation is a working one).
pub fn model(data: &[u8]) {
    let Ok(model) = Model::from_bytes(data) else {
        return;
    };
    let model = Arc::new(model);
    let channels = model.arch().channels;
    let color = if channels == 3 {
        ColorType::Rgb8
    } else {
        ColorType::Gray8
    };
    let (w, h) = (9u32, 7u32);
    let px: Vec<u8> = (0..(w * h) as usize * color.channels())
        .map(|i| (i * 37 % 251) as u8)
        .collect();
    let mut o = EncodeOptions::default();
    o.model = Some(model.clone());
    o.tile_size = 8;
    o.modes = TileModes::only(&[TileMode::Neural]);
    o.threads = 1;
    let image = ImageRef::new(w, h, color, &px).expect("consistent image");
    let bytes = nelloc::encode(image, &o).expect("an accepted model encodes");
    let mut d = decode_options();
    d.models = vec![model];
    let back = nelloc::decode(&bytes, &d).expect("an accepted model decodes");
    assert!(
        back.pixels() == &px[..],
        "accepted model does not round-trip"
    );
}
