//! nelloc for the browser: the core crate compiled to WebAssembly, with a JavaScript API
//! made by wasm-bindgen (`bindings.rs`). This file holds the plain-Rust logic behind it
//! (option parsing, pixel layouts, image files in and out), tested natively by `cargo test`;
//! the same code runs in the browser, so wasm output equals native output.
//!
//! Build: `web/build.sh` (release wasm32, SIMD128 and scalar variants, then `wasm-bindgen`).
#![deny(unsafe_code)]

mod bindings;

use std::io::Cursor;
use std::sync::Arc;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, ImageReader};
use nelloc::{
    ColorType, DecodeOptions, EncodeOptions, ErrorKind, Image, ImageRef, Model, TileModes,
};
use nelloc_image::FromDecoderError;

/// Errors of the browser API; JavaScript receives them as exceptions with this message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// The codec refused the input or failed.
    #[error(transparent)]
    Codec(#[from] nelloc::Error),
    /// An image file (PNG, JPEG, ...) could not be read or written.
    #[error("{0}")]
    ImageFile(String),
    /// A bad option or argument from JavaScript.
    #[error("{0}")]
    Argument(String),
}

impl WebError {
    /// The cause group, as the C status and the Python exception class report it: the
    /// JavaScript error's `kind` property is its [`js_kind`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            WebError::Codec(e) => e.kind(),
            // An image file or an option the caller passed is not usable.
            WebError::ImageFile(_) | WebError::Argument(_) => ErrorKind::InvalidArgument,
        }
    }
}

/// The `kind` property of the exceptions JavaScript receives: a stable name per
/// [`ErrorKind`] (the message stays free text).
pub fn js_kind(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Io => "io",
        ErrorKind::NotNlc => "not_nlc",
        ErrorKind::Truncated => "truncated",
        ErrorKind::Corrupt => "corrupt",
        ErrorKind::UnsupportedVersion => "unsupported_version",
        ErrorKind::Unsupported => "unsupported",
        ErrorKind::DeviceUnavailable => "device_unavailable",
        ErrorKind::LimitExceeded => "limit_exceeded",
        ErrorKind::ModelNotFound => "model_not_found",
        ErrorKind::ModelInvalid => "model_invalid",
        ErrorKind::Device => "device",
        ErrorKind::Resource => "resource",
        ErrorKind::InvalidArgument => "invalid_argument",
        ErrorKind::Cancelled => "cancelled",
        // Kinds added to the library later, until they get a name here.
        _ => "other",
    }
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, WebError>;

/// The sample layout named in JavaScript options.
pub fn parse_layout(name: &str) -> Result<ColorType> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "gray" | "grey" | "gray8" => ColorType::Gray8,
        "graya" | "greya" | "graya8" => ColorType::GrayA8,
        "rgb" | "rgb8" => ColorType::Rgb8,
        "rgba" | "rgba8" => ColorType::Rgba8,
        other => {
            return Err(WebError::Argument(format!(
                "unknown pixel layout {other:?}: use \"gray\", \"graya\", \"rgb\" or \"rgba\""
            )))
        }
    })
}

/// Encoder settings from JavaScript (every field optional there).
#[derive(Debug, Clone)]
pub struct EncodeSettings {
    /// Layout of the input samples. Default: RGBA (what a canvas gives).
    pub layout: ColorType,
    /// Store fewer channels when that loses nothing: drop an alpha channel that is 255
    /// everywhere, and code grey when R = G = B everywhere. Default: true.
    pub reduce: bool,
    /// Tile edge; default [`nelloc::DEFAULT_TILE_SIZE`].
    pub tile_size: u32,
    /// Allowed tile modes, as `nlc encode --modes` (e.g. "all", "neural,png").
    pub modes: Option<String>,
    /// Built-in model for the colour planes, by name (as `nlc encode --builtin`).
    pub builtin: Option<String>,
    /// External models (safetensors bytes): the first with the image's colour channel
    /// count codes the colour planes (as `nlc encode --model`).
    pub models: Vec<Vec<u8>>,
    /// One-channel model for alpha (as `nlc encode --alpha-model`).
    pub alpha_model: Option<Vec<u8>>,
    /// The embedded preview (as `nlc encode --no-preview` / `--preview-size`). Default:
    /// [`nelloc::Preview::Auto`].
    pub preview: nelloc::Preview,
    /// Store the external models in the stream (as `nlc encode --embed-model`), so that
    /// it decodes without them. Default: false.
    pub embed_models: bool,
}

impl Default for EncodeSettings {
    fn default() -> Self {
        EncodeSettings {
            layout: ColorType::Rgba8,
            reduce: true,
            tile_size: nelloc::DEFAULT_TILE_SIZE,
            modes: None,
            builtin: None,
            models: Vec::new(),
            alpha_model: None,
            preview: nelloc::Preview::Auto,
            embed_models: false,
        }
    }
}

fn load_models(models: &[Vec<u8>]) -> Result<Vec<Arc<Model>>> {
    models
        .iter()
        .enumerate()
        .map(|(i, b)| {
            Model::from_bytes(b)
                .map(Arc::new)
                .map_err(|e| WebError::Argument(format!("model {i}: {e}")))
        })
        .collect()
}

impl EncodeSettings {
    /// The library options for an image of type `color` (same rules as `nlc encode`).
    pub fn options(&self, color: ColorType) -> Result<EncodeOptions> {
        let mut o = EncodeOptions::default();
        o.tile_size = self.tile_size;
        o.preview = self.preview;
        o.embed_models = self.embed_models;
        if let Some(m) = &self.modes {
            o.modes = m.parse::<TileModes>()?;
        }
        if let Some(name) = &self.builtin {
            o.model =
                Some(nelloc::model::builtin_by_name(name).ok_or_else(|| {
                    WebError::Argument(format!("no built-in model named {name:?}"))
                })?);
        }
        let models = load_models(&self.models)?;
        if !models.is_empty() {
            let cc = color.color_channels();
            o.model = Some(nelloc::model::for_channels(&models, cc).ok_or_else(|| {
                WebError::Argument(format!(
                    "none of the models has {cc} channel(s) for this {color} image"
                ))
            })?);
        }
        if let Some(b) = &self.alpha_model {
            let m = Model::from_bytes(b)
                .map_err(|e| WebError::Argument(format!("alpha model: {e}")))?;
            o.alpha_model = Some(Arc::new(m));
        }
        Ok(o)
    }
}

/// Decoder options with external models (safetensors bytes) to match by hash.
pub fn decode_options(models: &[Vec<u8>]) -> Result<DecodeOptions> {
    let mut o = DecodeOptions::default();
    o.models = load_models(models)?;
    Ok(o)
}

/// The narrowest layout that holds `pixels` (in `layout`) without loss.
pub fn reduced_layout(layout: ColorType, pixels: &[u8]) -> ColorType {
    let n = layout.channels();
    let opaque = !layout.has_alpha() || pixels.chunks_exact(n).all(|p| p[n - 1] == 255);
    let grey = layout.color_channels() == 1
        || pixels.chunks_exact(n).all(|p| p[0] == p[1] && p[1] == p[2]);
    match (grey, opaque) {
        (true, true) => ColorType::Gray8,
        (true, false) => ColorType::GrayA8,
        (false, true) => ColorType::Rgb8,
        (false, false) => ColorType::Rgba8,
    }
}

/// Converts samples between layouts: widening replicates grey and adds opaque alpha;
/// narrowing keeps the first sample as grey and drops alpha (callers only narrow to
/// what [`reduced_layout`] allows, which loses nothing).
pub fn convert(pixels: &[u8], from: ColorType, to: ColorType) -> Vec<u8> {
    if from == to {
        return pixels.to_vec();
    }
    let (fi, ti) = (from.channels(), to.channels());
    let mut out = Vec::with_capacity(pixels.len() / fi * ti);
    for p in pixels.chunks_exact(fi) {
        let rgb = if from.color_channels() == 3 {
            [p[0], p[1], p[2]]
        } else {
            [p[0]; 3]
        };
        let a = if from.has_alpha() { p[fi - 1] } else { 255 };
        if to.color_channels() == 3 {
            out.extend_from_slice(&rgb);
        } else {
            out.push(rgb[0]);
        }
        if to.has_alpha() {
            out.push(a);
        }
    }
    out
}

/// Encodes raw samples (`layout` from the settings) to `.nlc`.
pub fn encode_pixels(
    pixels: &[u8],
    width: u32,
    height: u32,
    settings: &EncodeSettings,
    progress: Option<nelloc::Progress>,
) -> Result<Vec<u8>> {
    let layout = settings.layout;
    // Checks the buffer size before looking at the samples.
    ImageRef::new(width, height, layout, pixels)?;
    let color = if settings.reduce {
        reduced_layout(layout, pixels)
    } else {
        layout
    };
    let samples = convert(pixels, layout, color);
    let mut o = settings.options(color)?;
    o.progress = progress;
    Ok(nelloc::encode(
        ImageRef::new(width, height, color, &samples)?,
        &o,
    )?)
}

/// Reads an image file (PNG, JPEG, TIFF, PNM) with its ICC/EXIF/XMP, exactly as
/// `nlc encode` does; refuses formats other than 8-bit Gray, GrayA, RGB and RGBA.
pub fn read_image_file(bytes: &[u8]) -> Result<Image> {
    let err = |e: image::ImageError| WebError::ImageFile(e.to_string());
    let dec = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| WebError::ImageFile(e.to_string()))?
        .into_decoder()
        .map_err(err)?;
    nelloc_image::image_from_decoder(dec).map_err(|e| match e {
        FromDecoderError::PixelFormat(other) => {
            WebError::Codec(nelloc::Error::Unsupported(format!(
                "the image has pixel format {other:?}; nelloc codes 8-bit Gray, GrayA, RGB \
                 and RGBA only"
            )))
        }
        FromDecoderError::Codec(e) => WebError::Codec(e),
        other => WebError::ImageFile(other.to_string()),
    })
}

/// Encodes an image file to `.nlc` (the bytes `nlc encode` writes with the same options).
pub fn encode_image_file(
    bytes: &[u8],
    settings: &EncodeSettings,
    progress: Option<nelloc::Progress>,
) -> Result<Vec<u8>> {
    let image = read_image_file(bytes)?;
    let mut o = settings.options(image.color())?;
    o.progress = progress;
    Ok(nelloc::encode(image.as_ref(), &o)?)
}

/// PNG of a decoded image with its ICC profile and EXIF (the file `nlc decode x.nlc y.png`
/// writes).
pub fn encode_png(image: &Image) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = PngEncoder::new(&mut out);
    // Metadata the PNG encoder cannot carry is left out of the PNG only.
    if let Some(icc) = &image.metadata().icc {
        let _ = enc.set_icc_profile(icc.clone());
    }
    if let Some(exif) = &image.metadata().exif {
        let _ = enc.set_exif_metadata(exif.clone());
    }
    let color = match image.color() {
        ColorType::Gray8 => ExtendedColorType::L8,
        ColorType::GrayA8 => ExtendedColorType::La8,
        ColorType::Rgba8 => ExtendedColorType::Rgba8,
        _ => ExtendedColorType::Rgb8,
    };
    enc.write_image(image.pixels(), image.width(), image.height(), color)
        .map_err(|e| WebError::ImageFile(format!("PNG encoding: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(path);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn layouts_reduce_only_when_lossless() {
        let grey_opaque = [7, 7, 7, 255, 9, 9, 9, 255];
        assert_eq!(
            reduced_layout(ColorType::Rgba8, &grey_opaque),
            ColorType::Gray8
        );
        let grey_alpha = [7, 7, 7, 254, 9, 9, 9, 255];
        assert_eq!(
            reduced_layout(ColorType::Rgba8, &grey_alpha),
            ColorType::GrayA8
        );
        let colour = [7, 8, 7, 255, 9, 9, 9, 255];
        assert_eq!(reduced_layout(ColorType::Rgba8, &colour), ColorType::Rgb8);
        let colour_alpha = [7, 8, 7, 0, 9, 9, 9, 255];
        assert_eq!(
            reduced_layout(ColorType::Rgba8, &colour_alpha),
            ColorType::Rgba8
        );
        for to in [ColorType::Gray8, ColorType::GrayA8, ColorType::Rgb8] {
            let narrow = convert(&grey_opaque, ColorType::Rgba8, to);
            assert_eq!(
                convert(&narrow, to, ColorType::Rgba8),
                grey_opaque,
                "{to:?}"
            );
        }
        assert_eq!(
            convert(&[5, 6], ColorType::GrayA8, ColorType::Rgba8),
            [5, 5, 5, 6]
        );
    }

    #[test]
    fn rgba_input_round_trips_and_is_stored_reduced() {
        let (w, h) = (13u32, 9u32);
        let rgba: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let v = (i * 7 % 251) as u8;
                [v, v.wrapping_mul(3), 255 - v, 255]
            })
            .collect();
        let s = EncodeSettings::default();
        let nlc = encode_pixels(&rgba, w, h, &s, None).unwrap();
        let back = nelloc::decode(&nlc, &DecodeOptions::default()).unwrap();
        assert_eq!(back.color(), ColorType::Rgb8, "opaque alpha is not stored");
        assert_eq!(convert(back.pixels(), back.color(), ColorType::Rgba8), rgba);
        let kept = EncodeSettings {
            reduce: false,
            ..EncodeSettings::default()
        };
        let nlc = encode_pixels(&rgba, w, h, &kept, None).unwrap();
        let back = nelloc::decode(&nlc, &DecodeOptions::default()).unwrap();
        assert_eq!((back.color(), back.pixels()), (ColorType::Rgba8, &rgba[..]));
    }

    #[test]
    fn image_files_encode_as_the_library_does() {
        let png = fixture("photos/wood_gray_64x64.png");
        let image = read_image_file(&png).unwrap();
        assert_eq!(image.color(), ColorType::Gray8);
        let direct = nelloc::encode(image.as_ref(), &EncodeOptions::default()).unwrap();
        let s = EncodeSettings::default();
        assert_eq!(encode_image_file(&png, &s, None).unwrap(), direct);
        // And back to a PNG with the same pixels.
        let back = nelloc::decode(&direct, &DecodeOptions::default()).unwrap();
        let again = read_image_file(&encode_png(&back).unwrap()).unwrap();
        assert_eq!(again.pixels(), image.pixels());
    }

    #[test]
    fn bad_options_and_inputs_are_errors_with_messages() {
        let e = parse_layout("cmyk").unwrap_err().to_string();
        assert!(e.contains("cmyk"), "{e}");
        let s = EncodeSettings {
            modes: Some("neural,jpeg".into()),
            ..EncodeSettings::default()
        };
        assert!(encode_pixels(&[0; 4], 1, 1, &s, None).is_err());
        let s = EncodeSettings {
            builtin: Some("no-such-model".into()),
            ..EncodeSettings::default()
        };
        let e = encode_pixels(&[0; 4], 1, 1, &s, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no-such-model"), "{e}");
        let e = encode_pixels(&[0; 5], 1, 1, &EncodeSettings::default(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs 4 bytes"), "{e}");
        assert!(read_image_file(b"not an image").is_err());
        assert!(decode_options(&[b"junk".to_vec()]).is_err());
    }

    #[test]
    fn errors_carry_the_kind_c_and_python_report() {
        let kind = |e: WebError| js_kind(e.kind());
        assert_eq!(kind(parse_layout("cmyk").unwrap_err()), "invalid_argument");
        let e = nelloc::decode(b"\x89PNG\r\n\x1a\n", &DecodeOptions::default()).unwrap_err();
        assert_eq!(kind(e.into()), "not_nlc");
        let mut newer = encode_pixels(&[0; 4], 1, 1, &EncodeSettings::default(), None).unwrap();
        newer[8] = nelloc::FORMAT_VERSION + 1;
        let e = nelloc::decode(&newer, &DecodeOptions::default()).unwrap_err();
        assert_eq!(kind(e.into()), "unsupported_version");
        assert_eq!(
            kind(read_image_file(b"not an image").unwrap_err()),
            "invalid_argument"
        );
    }
}
