//! The embedded preview (docs/FORMAT.md section 10): a small area-averaged copy of the
//! image, stored in the `PRVW` chunk as a nested `.nlc` stream coded with the cheap tile
//! modes only (no network), so that a thumbnail of a large photo decodes in milliseconds.
//!
//! The main decode never looks inside the chunk (a reader that does not know it skips it
//! as an unknown chunk); [`decode_preview`] and [`crate::info`] validate it.

use crate::codec;
use crate::container::{self, Header};
use crate::error::{Error, FormatError, Result};
use crate::image::{Image, ImageRef};
use crate::limits::Limits;
use crate::options::{DecodeOptions, EncodeOptions, Preview};
use crate::tilemode::{TileMode, TileModes};

/// Default longest side of the preview in pixels: 256 is what desktop thumbnailers ask
/// for at their largest ("large" thumbnails); it costs about 16 KB on a 10 MP photo, 0.6%
/// of a very compressible one (0.69 bpsp), and a 512-pixel preview four times as much
/// (docs/ARCHITECTURE.md).
pub const DEFAULT_PREVIEW_SIZE: u32 = 256;

/// Largest preview side an encoder writes and a decoder accepts (FORMAT.md section 10):
/// bounds the preview's memory and decoding time whatever the image's size.
pub const MAX_PREVIEW_SIZE: u32 = 1024;

/// The first byte of the chunk: the preview is a nested `.nlc` stream. Other values are
/// reserved; a decoder treats a preview of another kind as absent.
const KIND_NLC: u8 = 0;

/// The most a [`Preview::Auto`] preview may cost, as a fraction of the file without it
/// (0.5%, 1/200): previews are for images that take long to decode, whose files are large.
pub const PREVIEW_BUDGET: f64 = 1.0 / 200.0;

/// What [`decode_preview`] returns: a small copy of the image, or the image itself.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecodedPreview {
    /// The decoded pixels: the embedded preview, or the full image when the stream has
    /// none. Its metadata is the main image's (ICC profile included: the preview's colours
    /// are in the same space).
    pub image: Image,
    /// Whether `image` is the embedded preview (`false`: the full image, decoded because
    /// the stream has no preview, e.g. one no larger than the preview size).
    pub embedded: bool,
}

/// The preview's size for a `width` x `height` image and a longest side of `size`, or
/// `None` when the image is no larger than that (the preview would be the image itself):
/// the longer side becomes `size`, the shorter `max(1, round(short * size / long))`
/// (halves rounded up).
pub(crate) fn preview_dims(width: u32, height: u32, size: u32) -> Option<(u32, u32)> {
    let long = width.max(height);
    if long <= size || size == 0 {
        return None;
    }
    let short = u64::from(width.min(height));
    let scaled = (short * u64::from(size) + u64::from(long) / 2) / u64::from(long);
    // scaled <= size: it fits a u32.
    let scaled = (scaled.max(1)) as u32;
    Some(if width >= height {
        (size, scaled)
    } else {
        (scaled, size)
    })
}

/// Area-average downscale of `image` to `pw` x `ph` (each at most the image's side), exact
/// integer arithmetic (FORMAT.md section 10): in units where source pixel x spans
/// `[x * pw, (x + 1) * pw)` and preview pixel p spans `[p * W, (p + 1) * W)`, every source
/// pixel weighs its overlap with the preview pixel in each direction; a preview sample is
/// `(sum of weight * sample + W * H / 2) / (W * H)`, floor division.
pub(crate) fn downscale(image: &ImageRef<'_>, pw: u32, ph: u32) -> Vec<u8> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (pw, ph) = (pw as usize, ph as usize);
    let c = image.color().channels();
    let px = image.pixels();
    // Per source column: the (up to two) preview columns it overlaps and the weights.
    let spans = |n: usize, p: usize| -> Vec<[(usize, u64); 2]> {
        (0..n)
            .map(|x| {
                let (lo, hi) = (x * p, (x + 1) * p);
                let first = lo / n;
                let first_end = ((first + 1) * n).min(hi);
                let a = (first, (first_end - lo) as u64);
                // A source pixel is at most one preview pixel wide (p <= n), so it
                // overlaps at most two.
                let b = if first_end < hi {
                    (first + 1, (hi - first_end) as u64)
                } else {
                    (first, 0)
                };
                [a, b]
            })
            .collect()
    };
    let xs = spans(w, pw);
    let ys = spans(h, ph);
    // Sums fit a u64: at most W * H * 255 per sample (W, H < 2^32).
    let mut acc = vec![0u64; pw * ph * c];
    let mut row = vec![0u64; pw * c];
    for (y, yspan) in ys.iter().enumerate() {
        row.fill(0);
        let src = &px[y * w * c..][..w * c];
        for (x, xspan) in xs.iter().enumerate() {
            for &(col, wt) in xspan {
                if wt == 0 {
                    continue;
                }
                for ch in 0..c {
                    row[col * c + ch] += wt * u64::from(src[x * c + ch]);
                }
            }
        }
        for &(prow, wt) in yspan {
            if wt == 0 {
                continue;
            }
            for (a, r) in acc[prow * pw * c..][..pw * c].iter_mut().zip(&row) {
                *a += wt * r;
            }
        }
    }
    let area = (w as u64) * (h as u64);
    // The average of samples 0..=255 lies in 0..=255.
    acc.iter().map(|&s| ((s + area / 2) / area) as u8).collect()
}

/// The preview's colour samples become the nearest of 0, 4, ..., 252, 255 (halves up;
/// alpha is kept exact): six bits per sample look the same at thumbnail size and halve
/// the preview's cost, since every filtered or predicted difference is then a multiple of
/// 4 (255 is kept so that white stays white).
pub(crate) fn quantize(pixels: &mut [u8], color: crate::image::ColorType) {
    let (c, cc) = (color.channels(), color.color_channels());
    for px in pixels.chunks_exact_mut(c) {
        for v in &mut px[..cc] {
            *v = if *v >= 254 { 255 } else { (*v + 2) & !3 };
        }
    }
}

/// The `PRVW` chunk of `image` under `options` for a file of `file_len` bytes without it,
/// or `None` when no preview is written: turned off, the image no larger than the preview,
/// or (with [`Preview::Auto`]) every candidate above [`PREVIEW_BUDGET`].
pub(crate) fn encode_chunk(
    image: &ImageRef<'_>,
    options: &EncodeOptions,
    file_len: usize,
) -> Result<Option<Vec<u8>>> {
    let (sizes, budget) = match options.preview {
        Preview::Off => return Ok(None),
        Preview::Size(size) => {
            if !(1..=MAX_PREVIEW_SIZE).contains(&size) {
                return Err(Error::InvalidArgument(format!(
                    "the preview size is {size}, expected 1 to {MAX_PREVIEW_SIZE}"
                )));
            }
            (vec![size], usize::MAX)
        }
        Preview::Auto => (
            vec![DEFAULT_PREVIEW_SIZE, DEFAULT_PREVIEW_SIZE / 2],
            (file_len as f64 * PREVIEW_BUDGET) as usize,
        ),
    };
    for size in sizes {
        let Some((pw, ph)) = preview_dims(image.width(), image.height(), size) else {
            return Ok(None);
        };
        let chunk = encode_nested(image, options, pw, ph, budget)?;
        if chunk.len() <= budget {
            return Ok(Some(chunk));
        }
    }
    Ok(None)
}

/// The chunk of a `pw` x `ph` preview: the kind byte, then the nested stream.
fn encode_nested(
    image: &ImageRef<'_>,
    options: &EncodeOptions,
    pw: u32,
    ph: u32,
    budget: usize,
) -> Result<Vec<u8>> {
    let mut pixels = downscale(image, pw, ph);
    quantize(&mut pixels, image.color());
    let small = ImageRef::new(pw, ph, image.color(), &pixels)?;
    // The cheap modes whatever the caller allowed for the image: the preview must decode
    // without a network (and without the model), in milliseconds.
    let cheap: Vec<TileMode> = TileMode::ALL
        .into_iter()
        .filter(|&m| m != TileMode::Neural)
        .collect();
    let nested = EncodeOptions {
        threads: options.threads,
        // One tile: the preview is small, and deflate and the context model gain from
        // seeing all of it.
        tile_size: MAX_PREVIEW_SIZE,
        model: options.model.clone(),
        alpha_model: options.alpha_model.clone(),
        progress: None,
        limits: options.limits,
        cancel: options.cancel.clone(),
        device: options.device,
        modes: TileModes::only(&cheap),
        preview: Preview::Off,
        // Readable by every reader of the file holding it (section 10).
        compact: false,
        // No network in a preview, so nothing to adapt, and no model to embed.
        adapt_head: crate::AdaptHead::Off,
        embed_models: false,
        short_model_refs: false,
    };
    let budget = (budget < usize::MAX).then_some(budget);
    let (stream, _) = codec::encode_within(small, &nested, budget)?;
    let mut chunk = Vec::with_capacity(1 + stream.len());
    chunk.push(KIND_NLC);
    chunk.extend_from_slice(&stream);
    Ok(chunk)
}

fn bad(detail: impl Into<String>) -> Error {
    FormatError::InvalidPreview(detail.into()).into()
}

/// Limits of a nested preview stream: at most `MAX_PREVIEW_SIZE` per side, no chunks of
/// its own, no larger than the chunk holding it.
fn nested_limits(outer: &Limits, chunk_len: usize) -> Limits {
    let side = u64::from(MAX_PREVIEW_SIZE);
    Limits {
        max_dimension: MAX_PREVIEW_SIZE,
        max_pixels: side * side,
        max_metadata_bytes: 0,
        max_input_bytes: chunk_len as u64,
        max_output_bytes: side * side * 4,
        max_neural_pixels: outer.max_neural_pixels,
        ..Limits::default()
    }
}

/// Validates the preview chunk of `header` (FORMAT.md section 10) without decoding its
/// pixels: `Ok(None)` without a preview (or one of a kind this decoder does not read),
/// else the nested stream and its size.
pub(crate) fn check_chunk<'a>(
    header: &'a Header,
    limits: &Limits,
) -> Result<Option<(&'a [u8], u32, u32)>> {
    let Some(chunk) = header.preview.as_deref() else {
        return Ok(None);
    };
    let Some((&kind, stream)) = chunk.split_first() else {
        return Err(bad("the PRVW chunk is empty"));
    };
    if kind != KIND_NLC {
        return Ok(None);
    }
    let (nested, tile_data) = container::parse(stream, &nested_limits(limits, stream.len()))
        .map_err(|e| bad(format!("the nested stream is invalid: {e}")))?;
    // As `info` checks the image's tiles: a preview that passes is undamaged.
    for (t, e) in nested.tiles.iter().enumerate() {
        // In bounds: `parse` checked the index against the tile data.
        let bytes = &tile_data[e.offset as usize..][..e.length as usize];
        let computed = crc32fast::hash(bytes);
        if computed != e.crc {
            return Err(bad(format!(
                "the nested stream is invalid: tile {t}: checksum mismatch (stored {:#010x}, computed {computed:#010x})",
                e.crc
            )));
        }
    }
    if !nested.version.has_mode_bytes() {
        return Err(bad("the nested stream is version 1 (neural tiles only)"));
    }
    // The tiled container only: a reader of version 4 reads the previews of the files
    // it reads (section 10).
    if nested.version.is_compact() {
        return Err(bad(
            "the nested stream is a compact stream (version 5 or 6)",
        ));
    }
    // Versions 2 to 4 only: a preview needs no model, so none is embedded (section 12).
    if nested.version.has_embedded_models() {
        return Err(bad(
            "the nested stream is version 7 (previews are versions 2 to 4)",
        ));
    }
    if !nested.color_model.is_none() || !nested.alpha_model.is_none() {
        return Err(bad(
            "the nested stream names a model (previews have no neural tiles)",
        ));
    }
    if nested.color != header.color {
        return Err(bad(format!(
            "the preview is {}, the image {}",
            nested.color.name(),
            header.color.name()
        )));
    }
    if nested.width > header.width || nested.height > header.height {
        return Err(bad(format!(
            "the preview is {}x{}, larger than the {}x{} image",
            nested.width, nested.height, header.width, header.height
        )));
    }
    // chunk_count itself (offset 92; `parse` checked the fixed header is there): unknown
    // chunks are skipped by `parse`, but a preview has none at all.
    if stream[92..96] != [0; 4] {
        return Err(bad("the nested stream has chunks"));
    }
    Ok(Some((stream, nested.width, nested.height)))
}

/// Decodes the embedded preview of a `.nlc` stream, or the full image when it has none.
///
/// With a preview the image's own size limits do not apply (the preview is at most
/// 1024 x 1024, whatever the image); without one the stream is decoded as [`crate::decode`]
/// does, under `options.limits`. A damaged preview is an error
/// ([`FormatError::InvalidPreview`]), even where the main image would decode.
pub fn decode_preview(data: &[u8], options: &DecodeOptions) -> Result<DecodedPreview> {
    // The main header is read for its chunks only: its pixels are not allocated, so the
    // size limits are lifted for this read (the input and metadata limits still apply).
    let relaxed = Limits {
        max_dimension: u32::MAX,
        max_pixels: u64::MAX,
        max_output_bytes: u64::MAX,
        ..options.limits
    };
    let (header, _) = container::parse(data, &relaxed)?;
    let Some((stream, ..)) = check_chunk(&header, &options.limits)? else {
        return Ok(DecodedPreview {
            image: codec::decode(data, options)?,
            embedded: false,
        });
    };
    let nested = DecodeOptions {
        threads: options.threads,
        // No neural tile: no model is looked up.
        models: Vec::new(),
        model_path: Vec::new(),
        limits: nested_limits(&options.limits, stream.len()),
        progress: None,
        on_rows: None,
        cancel: options.cancel.clone(),
        device: crate::options::Device::Cpu,
    };
    let mut image = codec::decode(stream, &nested).map_err(|e| match e {
        Error::Cancelled => Error::Cancelled,
        e => bad(format!("the nested stream does not decode: {e}")),
    })?;
    *image.metadata_mut() = header.metadata;
    Ok(DecodedPreview {
        image,
        embedded: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{AlphaMode, TileEntry};
    use crate::error::LimitError;
    use crate::image::{ColorType, Metadata};
    use crate::tilemode::ContainerVersion;

    /// Cheap modes only: the main image codes fast in a debug build.
    /// Cheap modes only, and a 256-pixel preview whatever its cost.
    fn cheap_options() -> EncodeOptions {
        EncodeOptions {
            modes: TileModes::only(&[TileMode::Png, TileMode::Context, TileMode::Palette]),
            preview: Preview::Size(DEFAULT_PREVIEW_SIZE),
            ..EncodeOptions::default()
        }
    }

    fn photo(w: u32, h: u32, color: ColorType) -> Vec<u8> {
        let c = color.channels() as u32;
        (0..w * h * c)
            .map(|i| {
                let (p, ch) = (i / c, i % c);
                let (x, y) = (p % w, p / w);
                ((x * 3 + y * 2 + ch * 40) ^ (x * y % 7)) as u8
            })
            .collect()
    }

    /// A `w` x `h` Gray8 stream, one constant tile, whose `PRVW` chunk is `preview`.
    fn with_chunk(w: u32, h: u32, preview: Option<Vec<u8>>) -> Vec<u8> {
        let tile = vec![TileMode::Constant.code(), 77];
        let header = Header {
            version: ContainerVersion::V2,
            color: ColorType::Gray8,
            width: w,
            height: h,
            tile_width: crate::MAX_TILE_SIZE,
            tile_height: crate::MAX_TILE_SIZE,
            alpha: AlphaMode::None,
            color_model: container::ModelRef::NONE,
            alpha_model: container::ModelRef::NONE,
            metadata: Metadata::default(),
            heads: Vec::new(),
            preview,
            embedded: Vec::new(),
            tiles: vec![TileEntry {
                offset: 0,
                length: tile.len() as u32,
                crc: 0,
            }],
        };
        container::write(&header, &[tile]).unwrap()
    }

    /// A `w` x `h` Gray8 stream, one constant tile, with these raw chunks.
    fn with_chunks(w: u32, h: u32, chunks: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
        let plain = with_chunk(w, h, None);
        let mut out = plain[..container::FIXED_LEN].to_vec();
        out[92..96].copy_from_slice(&(chunks.len() as u32).to_le_bytes());
        for (tag, body) in chunks {
            out.extend_from_slice(tag);
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(body);
        }
        // The tile index (one entry), a fresh header CRC, the tile.
        let index_end = container::FIXED_LEN + 16;
        out.extend_from_slice(&plain[container::FIXED_LEN..index_end]);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&plain[index_end + 4..]);
        out
    }

    /// A nested preview chunk: kind byte and a cheap-mode stream of a `w` x `h` image.
    fn nested(w: u32, h: u32, color: ColorType) -> Vec<u8> {
        let px = photo(w, h, color);
        let o = EncodeOptions {
            preview: Preview::Off,
            compact: false,
            ..cheap_options()
        };
        let mut chunk = vec![KIND_NLC];
        chunk.extend(codec::encode(ImageRef::new(w, h, color, &px).unwrap(), &o).unwrap());
        chunk
    }

    fn preview_error(file: &[u8]) -> String {
        match decode_preview(file, &DecodeOptions::default()) {
            Err(e @ Error::Format(FormatError::InvalidPreview(_))) => e.to_string(),
            other => panic!("expected an invalid preview, got {other:?}"),
        }
    }

    #[test]
    fn the_preview_round_trips_and_leaves_the_image_alone() {
        let d = DecodeOptions::default();
        for color in [ColorType::Rgb8, ColorType::GrayA8] {
            let px = photo(300, 200, color);
            let image = ImageRef::new(300, 200, color, &px).unwrap();
            let file = codec::encode(image, &cheap_options()).unwrap();
            let info = codec::info(&file, &d).unwrap();
            assert_eq!(info.preview, Some((256, 171)));
            let p = decode_preview(&file, &d).unwrap();
            assert!(p.embedded);
            assert_eq!((p.image.width(), p.image.height()), (256, 171));
            assert_eq!(p.image.color(), color);
            let mut expected = downscale(&image, 256, 171);
            quantize(&mut expected, color);
            assert_eq!(p.image.pixels(), expected);
            assert_eq!(codec::decode(&file, &d).unwrap().pixels(), &px[..]);

            // Without the preview: the same tiles, no chunk, and decode_preview decodes
            // the image itself.
            let o = EncodeOptions {
                preview: Preview::Off,
                ..cheap_options()
            };
            let plain = codec::encode(image, &o).unwrap();
            assert!(plain.len() < file.len());
            assert_eq!(codec::info(&plain, &d).unwrap().preview, None);
            let p = decode_preview(&plain, &d).unwrap();
            assert!(!p.embedded);
            assert_eq!(p.image.pixels(), &px[..]);
        }
    }

    #[test]
    fn no_preview_for_an_image_no_larger_than_the_preview() {
        let px = photo(256, 100, ColorType::Rgb8);
        let image = ImageRef::new(256, 100, ColorType::Rgb8, &px).unwrap();
        let file = codec::encode(image, &cheap_options()).unwrap();
        let p = decode_preview(&file, &DecodeOptions::default()).unwrap();
        assert!(!p.embedded);
        assert_eq!(p.image.pixels(), &px[..]);
        // A smaller preview size makes one.
        let o = EncodeOptions {
            preview: Preview::Size(64),
            ..cheap_options()
        };
        let file = codec::encode(image, &o).unwrap();
        let p = decode_preview(&file, &DecodeOptions::default()).unwrap();
        assert!(p.embedded);
        assert_eq!((p.image.width(), p.image.height()), (64, 25));
        for size in [0, MAX_PREVIEW_SIZE + 1] {
            let o = EncodeOptions {
                preview: Preview::Size(size),
                ..cheap_options()
            };
            assert!(matches!(
                codec::encode(image, &o),
                Err(Error::InvalidArgument(_))
            ));
        }
    }

    #[test]
    fn the_image_size_limits_do_not_stop_a_preview() {
        let file = with_chunk(4000, 3000, Some(nested(256, 192, ColorType::Gray8)));
        let strict = DecodeOptions {
            limits: Limits {
                max_pixels: 1000,
                ..Limits::default()
            },
            ..DecodeOptions::default()
        };
        assert!(matches!(
            codec::decode(&file, &strict),
            Err(Error::Limits(LimitError::Pixels { .. }))
        ));
        let p = decode_preview(&file, &strict).unwrap();
        assert!(p.embedded);
        assert_eq!((p.image.width(), p.image.height()), (256, 192));
        // Without a preview the limits apply.
        let file = with_chunk(4000, 3000, None);
        assert!(matches!(
            decode_preview(&file, &strict),
            Err(Error::Limits(LimitError::Pixels { .. }))
        ));
    }

    #[test]
    fn hostile_previews_are_clear_errors_and_the_image_still_decodes() {
        let d = DecodeOptions::default();
        let good = nested(40, 30, ColorType::Gray8);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", Vec::new(), "empty"),
            ("truncated", good[..good.len() - 3].to_vec(), "truncated"),
            (
                "trailing",
                [&good[..], &[0]].concat(),
                "after the last tile",
            ),
            (
                "too wide",
                nested(1100, 2, ColorType::Gray8),
                "above the limit",
            ),
            (
                "larger than the image",
                nested(40, 31, ColorType::Gray8),
                "larger than",
            ),
            (
                "another colour type",
                nested(40, 30, ColorType::Rgb8),
                "RGB",
            ),
            (
                "header damage",
                {
                    let mut g = good.clone();
                    g[20] ^= 1;
                    g
                },
                "checksum",
            ),
            (
                "tile damage",
                {
                    let mut g = good.clone();
                    let last = g.len() - 1;
                    g[last] ^= 1;
                    g
                },
                "checksum",
            ),
            (
                "a nested preview",
                {
                    let mut chunk = vec![KIND_NLC];
                    chunk.extend(with_chunk(40, 30, Some(vec![KIND_NLC])));
                    chunk
                },
                "metadata",
            ),
            (
                "a compact nested stream",
                {
                    let px = photo(20, 10, ColorType::Gray8);
                    let image = ImageRef::new(20, 10, ColorType::Gray8, &px).unwrap();
                    let mut chunk = vec![KIND_NLC];
                    chunk.extend(codec::encode(image, &cheap_options()).unwrap());
                    assert_eq!(chunk[1 + 8], 5);
                    chunk
                },
                "compact stream",
            ),
            (
                "an unknown chunk in the nested stream",
                {
                    let mut chunk = vec![KIND_NLC];
                    chunk.extend(with_chunks(40, 30, &[(*b"zzZZ", vec![1, 2])]));
                    chunk
                },
                "has chunks",
            ),
        ];
        for (what, chunk, expect) in cases {
            let file = with_chunk(40, 30, Some(chunk));
            let e = preview_error(&file);
            assert!(e.contains(expect), "{what}: {e}");
            assert!(codec::info(&file, &d).is_err(), "{what}: info passed");
            // The main decode does not read the preview.
            assert_eq!(codec::decode(&file, &d).unwrap().pixels(), vec![77u8; 1200]);
        }
        // A neural nested stream (version 1, a model named).
        let px = photo(20, 10, ColorType::Gray8);
        let o = EncodeOptions {
            preview: Preview::Off,
            modes: TileModes::only(&[TileMode::Neural]),
            compact: false,
            ..EncodeOptions::default()
        };
        let mut chunk = vec![KIND_NLC];
        chunk.extend(
            codec::encode(ImageRef::new(20, 10, ColorType::Gray8, &px).unwrap(), &o).unwrap(),
        );
        let e = preview_error(&with_chunk(40, 30, Some(chunk)));
        assert!(e.contains("version 1"), "{e}");
        // A kind this decoder does not know: no preview.
        let file = with_chunk(40, 30, Some(vec![7, 1, 2, 3]));
        let p = decode_preview(&file, &d).unwrap();
        assert!(!p.embedded);
        assert_eq!(codec::info(&file, &d).unwrap().preview, None);
    }

    #[test]
    fn dims_keep_the_aspect_ratio_and_skip_small_images() {
        assert_eq!(preview_dims(4352, 2448, 256), Some((256, 144)));
        assert_eq!(preview_dims(2448, 4352, 256), Some((144, 256)));
        assert_eq!(preview_dims(768, 512, 256), Some((256, 171)));
        assert_eq!(preview_dims(10000, 1, 256), Some((256, 1)));
        assert_eq!(preview_dims(256, 256, 256), None);
        assert_eq!(preview_dims(100, 300, 512), None);
    }

    #[test]
    fn quantize_keeps_alpha_black_and_white() {
        let mut px = [0u8, 1, 2, 3, 5, 6, 253, 254, 255, 255];
        quantize(&mut px, ColorType::Gray8);
        assert_eq!(px, [0, 0, 4, 4, 4, 8, 252, 255, 255, 255]);
        let mut px = [2u8, 3, 254, 1];
        quantize(&mut px, ColorType::GrayA8);
        assert_eq!(px, [4, 3, 255, 1]);
    }

    #[test]
    fn downscale_is_the_exact_area_average() {
        // 3 -> 2 columns: preview pixel 0 = (2*a + 1*b) / 3, pixel 1 = (1*b + 2*c) / 3.
        let px = [0u8, 30, 255];
        let img = ImageRef::new(3, 1, ColorType::Gray8, &px).unwrap();
        assert_eq!(downscale(&img, 2, 1), vec![10, 180]);
        // 2x2 -> 1x1 rounds halves up: (1 + 2 + 2 + 2) / 4 = 1.75 -> 2.
        let px = [1u8, 2, 2, 2];
        let img = ImageRef::new(2, 2, ColorType::Gray8, &px).unwrap();
        assert_eq!(downscale(&img, 1, 1), vec![2]);
        // The identity, and flat images stay flat.
        let px: Vec<u8> = (0..5 * 4 * 3).map(|i| (i * 37 % 256) as u8).collect();
        let img = ImageRef::new(5, 4, ColorType::Rgb8, &px).unwrap();
        assert_eq!(downscale(&img, 5, 4), px);
        let px = vec![200u8; 17 * 9 * 2];
        let img = ImageRef::new(17, 9, ColorType::GrayA8, &px).unwrap();
        assert_eq!(downscale(&img, 4, 3), vec![200u8; 4 * 3 * 2]);
    }
}
