//! `.nlc` (nelloc, neural lossless) support for the [`image`] crate.
//!
//! After one call to [`register()`], `image` opens `.nlc` files like any built-in format:
//! [`image::open`], [`image::ImageReader::with_guessed_format`] (files without an
//! extension), [`image::load_from_memory`] and [`image::image_dimensions`] all work.
//!
//! ```
//! use image::{DynamicImage, Rgb, RgbImage};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("gradient.nlc");
//! # // Doc tests use a small synthetic model; real code uses the built-in one and needs
//! # // neither `options.model` nor `set_hook_options`.
//! # let arch = nelloc::model::Arch::new(3, 3, 8, 0, 2);
//! # let model = std::sync::Arc::new(nelloc::Model::from_bytes(&nelloc::model::synthetic(arch, 1, "doc"))?);
//! # let mut hook = nelloc::DecodeOptions::default();
//! # hook.models.push(model.clone());
//! # nelloc_image::set_hook_options(hook);
//! nelloc_image::register();
//!
//! // Writing: `image` has no encoding hook, so `img.save("x.nlc")` cannot reach nelloc;
//! // use `save_nlc` (or `NlcEncoder` with `write_with_encoder`).
//! let img = DynamicImage::ImageRgb8(RgbImage::from_fn(32, 24, |x, y| {
//!     Rgb([(x * 8) as u8, (y * 10) as u8, 128])
//! }));
//! let mut options = nelloc::EncodeOptions::default();
//! # options.model = Some(model);
//! nelloc_image::save_nlc(&img, &path, &options)?;
//!
//! // Reading: plain `image` calls.
//! let back = image::open(&path)?;
//! assert_eq!(back, img); // lossless
//! assert_eq!(image::image_dimensions(&path)?, (32, 24));
//! # Ok(())
//! # }
//! ```
//!
//! # What `image` can and cannot do with `.nlc`
//!
//! - **Decoding** goes through `image`'s decoding hook (image >= 0.25.10), registered for the
//!   extension `nlc` (any case), plus a format-detection hook on the `.nlc` signature.
//!   The hook uses the [`nelloc::DecodeOptions`] set with [`set_hook_options`] (models,
//!   threads); `image`'s own [`image::Limits`] are applied on top.
//! - **Encoding**: `image` has no encoding hook, so `DynamicImage::save("y.nlc")` and
//!   `save_with_format` fail with an "unsupported format" error. Use [`save_nlc`], or
//!   [`NlcEncoder`] with [`image::DynamicImage::write_with_encoder`].
//! - Pixels are 8-bit Gray, GrayAlpha, RGB or RGBA. 16-bit and float images are refused
//!   rather than converted silently; convert explicitly (e.g. `img.to_rgb8()`).
//! - The `.nlc` container is not a streaming format (a tile index and a header checksum
//!   cover the whole file), so [`NlcDecoder`] reads the whole stream into memory when it is
//!   created; pixel buffers are allocated only in `read_image`, within the limits given to
//!   `set_limits` (nelloc's working buffers count against `max_alloc` too).
#![deny(unsafe_code)]
#![warn(missing_docs)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{OnceLock, PoisonError, RwLock};

use image::error::{
    DecodingError, EncodingError, ImageFormatHint, LimitError, LimitErrorKind, ParameterError,
    ParameterErrorKind, UnsupportedError, UnsupportedErrorKind,
};
use image::{
    ColorType, DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageError, ImageResult,
};
use nelloc::{DecodeOptions, EncodeOptions, Info, Metadata};

/// The extension the decoding hook is registered for (matched case-insensitively).
pub const EXTENSION: &str = "nlc";

/// The `.nlc` signature, as `image`'s detection hook needs it (`'static`).
static SIGNATURE: [u8; 8] = nelloc::MAGIC;

static HOOK_OPTIONS: RwLock<Option<DecodeOptions>> = RwLock::new(None);

fn format_hint() -> ImageFormatHint {
    ImageFormatHint::Name("nlc".into())
}

/// Installs `image`'s decoding hook for the `nlc` extension and, if that succeeded, a
/// format-detection hook for the `.nlc` signature.
///
/// Idempotent and thread-safe: only the first call registers; every call returns whether
/// nelloc's hooks are installed. It returns `false` if some other code registered a
/// decoding hook for `nlc` first (`image` keeps the first one; nelloc then registers
/// nothing, so the detection hook does not route to a foreign decoder).
pub fn register() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        let ours = image::hooks::register_decoding_hook(
            EXTENSION.into(),
            Box::new(|reader| {
                Ok(Box::new(NlcDecoder::with_options(reader, hook_options())?)
                    as Box<dyn ImageDecoder>)
            }),
        );
        if ours {
            // Detection hooks are not de-duplicated: this runs once per process.
            image::hooks::register_format_detection_hook(EXTENSION.into(), &SIGNATURE, None);
        }
        ours
    })
}

/// Sets the decoder options the hook uses for `image::open` and friends: extra models
/// (streams coded with a model that is not built in), threads, and nelloc's own limits.
/// Takes effect for decoders created afterwards; may be called before or after
/// [`register()`]. Default: [`DecodeOptions::default`].
pub fn set_hook_options(options: DecodeOptions) {
    *HOOK_OPTIONS.write().unwrap_or_else(PoisonError::into_inner) = Some(options);
}

/// The decoder options the hook currently uses (see [`set_hook_options`]).
pub fn hook_options() -> DecodeOptions {
    HOOK_OPTIONS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_default()
}

/// Which side of the codec an error came from: `image` reports the two differently.
#[derive(Clone, Copy)]
enum Op {
    Decode,
    Encode,
}

/// Converts a nelloc error into an [`ImageError`] for `image`'s callers.
fn image_error(e: nelloc::Error, op: Op) -> ImageError {
    match e {
        nelloc::Error::Io(e) => ImageError::IoError(e),
        nelloc::Error::Limits(l) => ImageError::Limits(LimitError::from_kind(match (op, l) {
            // Only a decoder's buffers grow with the input's claims.
            (
                Op::Decode,
                nelloc::LimitError::Metadata { .. }
                | nelloc::LimitError::Input { .. }
                | nelloc::LimitError::Output { .. },
            ) => LimitErrorKind::InsufficientMemory,
            _ => LimitErrorKind::DimensionError,
        })),
        nelloc::Error::Unsupported(msg) => {
            ImageError::Unsupported(UnsupportedError::from_format_and_kind(
                format_hint(),
                UnsupportedErrorKind::GenericFeature(msg),
            ))
        }
        nelloc::Error::InvalidArgument(msg) => {
            ImageError::Parameter(ParameterError::from_kind(ParameterErrorKind::Generic(msg)))
        }
        other => match op {
            Op::Decode => ImageError::Decoding(DecodingError::new(format_hint(), other)),
            Op::Encode => ImageError::Encoding(EncodingError::new(format_hint(), other)),
        },
    }
}

fn decoding_error(e: nelloc::Error) -> ImageError {
    image_error(e, Op::Decode)
}

fn encoding_error(e: nelloc::Error) -> ImageError {
    image_error(e, Op::Encode)
}

fn to_image_color(color: nelloc::ColorType) -> ImageResult<ColorType> {
    Ok(match color {
        nelloc::ColorType::Gray8 => ColorType::L8,
        nelloc::ColorType::GrayA8 => ColorType::La8,
        nelloc::ColorType::Rgb8 => ColorType::Rgb8,
        nelloc::ColorType::Rgba8 => ColorType::Rgba8,
        other => {
            return Err(ImageError::Unsupported(
                UnsupportedError::from_format_and_kind(
                    format_hint(),
                    UnsupportedErrorKind::GenericFeature(format!(
                        "nelloc colour type {other} has no image::ColorType equivalent"
                    )),
                ),
            ))
        }
    })
}

fn from_image_color(color: ExtendedColorType) -> ImageResult<nelloc::ColorType> {
    Ok(match color {
        ExtendedColorType::L8 => nelloc::ColorType::Gray8,
        ExtendedColorType::La8 => nelloc::ColorType::GrayA8,
        ExtendedColorType::Rgb8 => nelloc::ColorType::Rgb8,
        ExtendedColorType::Rgba8 => nelloc::ColorType::Rgba8,
        other => {
            return Err(ImageError::Unsupported(
                UnsupportedError::from_format_and_kind(
                    format_hint(),
                    UnsupportedErrorKind::Color(other),
                ),
            ))
        }
    })
}

/// An [`ImageDecoder`] for `.nlc` streams.
///
/// The whole stream is read and its header validated (signature, checksum, fields, tile
/// index) when the decoder is created; pixels are decoded by `read_image`.
pub struct NlcDecoder {
    data: Vec<u8>,
    info: Info,
    color: ColorType,
    options: DecodeOptions,
    limits: image::Limits,
}

impl NlcDecoder {
    /// Reads a stream with the default options (built-in models, all cores).
    pub fn new<R: Read>(reader: R) -> ImageResult<Self> {
        Self::with_options(reader, DecodeOptions::default())
    }

    /// Reads a stream; `options` supplies extra models, threads and nelloc's limits.
    /// Reading stops with a limit error past `options.limits.max_input_bytes`.
    pub fn with_options<R: Read>(reader: R, options: DecodeOptions) -> ImageResult<Self> {
        let data = nelloc::fs::read_limited(reader, &options.limits).map_err(decoding_error)?;
        Self::from_bytes(data, options)
    }

    /// Uses a stream already in memory.
    pub fn from_bytes(data: Vec<u8>, options: DecodeOptions) -> ImageResult<Self> {
        let info = nelloc::info(&data, &options).map_err(decoding_error)?;
        let color = to_image_color(info.color)?;
        Ok(NlcDecoder {
            data,
            info,
            color,
            options,
            limits: image::Limits::default(),
        })
    }

    /// The stream's header: tiles, model hash, alpha mode, metadata.
    pub fn info(&self) -> &Info {
        &self.info
    }
}

impl ImageDecoder for NlcDecoder {
    fn dimensions(&self) -> (u32, u32) {
        (self.info.width, self.info.height)
    }

    fn color_type(&self) -> ColorType {
        self.color
    }

    fn icc_profile(&mut self) -> ImageResult<Option<Vec<u8>>> {
        Ok(self.info.metadata.icc.clone())
    }

    fn exif_metadata(&mut self) -> ImageResult<Option<Vec<u8>>> {
        Ok(self.info.metadata.exif.clone())
    }

    fn xmp_metadata(&mut self) -> ImageResult<Option<Vec<u8>>> {
        Ok(self.info.metadata.xmp.clone())
    }

    /// Checks the dimensions against `limits` now, and keeps the memory limit for
    /// `read_image`, which reserves what decoding allocates besides the caller's buffer (the
    /// per-tile buffers in flight, at most `total_bytes`) before allocating anything.
    /// Asking only for the dimensions never fails on memory.
    fn set_limits(&mut self, limits: image::Limits) -> ImageResult<()> {
        limits.check_support(&image::LimitSupport::default())?;
        let (w, h) = self.dimensions();
        limits.check_dimensions(w, h)?;
        self.limits = limits;
        Ok(())
    }

    fn read_image(mut self, buf: &mut [u8]) -> ImageResult<()> {
        if buf.len() as u64 != self.total_bytes() {
            return Err(ImageError::Parameter(ParameterError::from_kind(
                ParameterErrorKind::DimensionMismatch,
            )));
        }
        // Pixels go straight into `buf` (nelloc::decode_into): no second image-sized copy.
        self.limits.reserve(self.total_bytes())?;
        nelloc::decode_into(&self.data, &self.options, buf).map_err(decoding_error)?;
        Ok(())
    }

    fn read_image_boxed(self: Box<Self>, buf: &mut [u8]) -> ImageResult<()> {
        (*self).read_image(buf)
    }
}

/// An [`ImageEncoder`] writing `.nlc` streams, with ICC, EXIF and XMP metadata.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let arch = nelloc::model::Arch::new(3, 1, 8, 0, 2);
/// # let model = std::sync::Arc::new(nelloc::Model::from_bytes(&nelloc::model::synthetic(arch, 1, "doc"))?);
/// use image::{DynamicImage, GrayImage, ImageEncoder};
/// let img = DynamicImage::ImageLuma8(GrayImage::from_fn(16, 16, |x, y| [(x ^ y) as u8 * 16].into()));
/// let mut options = nelloc::EncodeOptions::default();
/// # options.model = Some(model);
/// let mut bytes = Vec::new();
/// let mut encoder = nelloc_image::NlcEncoder::with_options(&mut bytes, options);
/// encoder.set_icc_profile(b"...an ICC profile...".to_vec())?;
/// img.write_with_encoder(encoder)?;
/// assert!(bytes.starts_with(&nelloc::MAGIC));
/// # Ok(())
/// # }
/// ```
pub struct NlcEncoder<W: Write> {
    writer: W,
    options: EncodeOptions,
    metadata: Metadata,
}

impl<W: Write> NlcEncoder<W> {
    /// An encoder with the default options (built-in models, 256x256 tiles, all cores).
    pub fn new(writer: W) -> Self {
        Self::with_options(writer, EncodeOptions::default())
    }

    /// An encoder with explicit options (model, tile size, threads).
    pub fn with_options(writer: W, options: EncodeOptions) -> Self {
        NlcEncoder {
            writer,
            options,
            metadata: Metadata::default(),
        }
    }

    /// Stores an XMP packet with the image (`ImageEncoder` has no XMP setter).
    pub fn set_xmp_metadata(&mut self, xmp: Vec<u8>) {
        self.metadata.xmp = Some(xmp);
    }

    /// Replaces all metadata to store with the image.
    pub fn set_metadata(&mut self, metadata: Metadata) {
        self.metadata = metadata;
    }
}

impl<W: Write> ImageEncoder for NlcEncoder<W> {
    fn write_image(
        mut self,
        buf: &[u8],
        width: u32,
        height: u32,
        color_type: ExtendedColorType,
    ) -> ImageResult<()> {
        let color = from_image_color(color_type)?;
        let image = nelloc::ImageRef::new(width, height, color, buf)
            .map_err(encoding_error)?
            .with_metadata(&self.metadata);
        let bytes = nelloc::encode(image, &self.options).map_err(encoding_error)?;
        self.writer.write_all(&bytes).map_err(ImageError::IoError)?;
        self.writer.flush().map_err(ImageError::IoError)
    }

    fn set_icc_profile(&mut self, icc_profile: Vec<u8>) -> Result<(), UnsupportedError> {
        self.metadata.icc = Some(icc_profile);
        Ok(())
    }

    /// Stores EXIF as a TIFF structure; a leading `Exif\0\0` (as in JPEG APP1) is removed.
    fn set_exif_metadata(&mut self, exif: Vec<u8>) -> Result<(), UnsupportedError> {
        let exif = match exif.strip_prefix(b"Exif\0\0") {
            Some(tiff) => tiff.to_vec(),
            None => exif,
        };
        self.metadata.exif = Some(exif);
        Ok(())
    }
}

/// Encodes `image` and writes it to `path` as `.nlc`, atomically (a temporary file in the
/// same directory, then a rename: a failure leaves an existing file untouched).
///
/// This exists because `image` has no encoding hook: `image.save("x.nlc")` cannot reach
/// nelloc. 8-bit Gray, GrayAlpha, RGB and RGBA images are stored as they are; 16-bit and
/// float images are refused (convert explicitly, e.g. with `to_rgb8()`).
pub fn save_nlc(
    image: &DynamicImage,
    path: impl AsRef<Path>,
    options: &EncodeOptions,
) -> ImageResult<()> {
    let path = path.as_ref();
    let color = match image.color() {
        c @ (ColorType::L8 | ColorType::La8 | ColorType::Rgb8 | ColorType::Rgba8) => c,
        other => {
            return Err(ImageError::Unsupported(
                UnsupportedError::from_format_and_kind(
                    format_hint(),
                    UnsupportedErrorKind::GenericFeature(format!(
                        "nelloc stores 8-bit samples only; convert the {other:?} image \
                         explicitly (e.g. to_rgb8() or to_rgba8()) before saving"
                    )),
                ),
            ))
        }
    };
    let color = from_image_color(color.into())?;
    let pixels = nelloc::ImageRef::new(image.width(), image.height(), color, image.as_bytes())
        .map_err(encoding_error)?;
    let bytes = nelloc::encode(pixels, options).map_err(encoding_error)?;
    nelloc::fs::write_atomic(path, &bytes).map_err(ImageError::IoError)
}

/// Why [`image_from_decoder`] gave no image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FromDecoderError {
    /// The decoder failed, or the pixels do not fit in memory on this target.
    #[error(transparent)]
    Image(ImageError),
    /// A pixel format nelloc does not code (it codes 8-bit Gray, GrayAlpha, RGB and RGBA).
    #[error("pixel format {0:?}; nelloc codes 8-bit Gray, GrayA, RGB and RGBA only")]
    PixelFormat(ColorType),
    /// nelloc refused the image.
    #[error(transparent)]
    Codec(nelloc::Error),
}

/// Reads all of `decoder`'s pixels, with its ICC profile, EXIF and XMP, into a
/// [`nelloc::Image`] ready to encode (what `nlc encode` and the browser package do with an
/// image file). Other pixel formats than 8-bit Gray, GrayAlpha, RGB and RGBA are refused,
/// not converted, so that nothing is lost silently.
pub fn image_from_decoder(
    mut decoder: impl ImageDecoder,
) -> Result<nelloc::Image, FromDecoderError> {
    let color = match decoder.color_type() {
        ColorType::L8 => nelloc::ColorType::Gray8,
        ColorType::La8 => nelloc::ColorType::GrayA8,
        ColorType::Rgb8 => nelloc::ColorType::Rgb8,
        ColorType::Rgba8 => nelloc::ColorType::Rgba8,
        other => return Err(FromDecoderError::PixelFormat(other)),
    };
    let icc = decoder.icc_profile().map_err(FromDecoderError::Image)?;
    let exif = decoder.exif_metadata().map_err(FromDecoderError::Image)?;
    let xmp = decoder.xmp_metadata().map_err(FromDecoderError::Image)?;
    let (w, h) = decoder.dimensions();
    // Only a 32-bit target can fail here (more than 4 GiB of pixels).
    let size = usize::try_from(decoder.total_bytes()).map_err(|_| {
        FromDecoderError::Image(ImageError::Limits(LimitError::from_kind(
            LimitErrorKind::InsufficientMemory,
        )))
    })?;
    let mut pixels = vec![0u8; size];
    decoder
        .read_image(&mut pixels)
        .map_err(FromDecoderError::Image)?;
    let mut image = nelloc::Image::new(w, h, color, pixels).map_err(FromDecoderError::Codec)?;
    let m = image.metadata_mut();
    m.icc = icc;
    m.exif = exif;
    m.xmp = xmp;
    Ok(image)
}

/// Decodes `.nlc` bytes with explicit options into a [`DynamicImage`] (without going
/// through the hook), keeping `image`'s default limits.
pub fn load_nlc(data: &[u8], options: &DecodeOptions) -> ImageResult<DynamicImage> {
    let decoder = NlcDecoder::from_bytes(data.to_vec(), options.clone())?;
    DynamicImage::from_decoder(decoder)
}
