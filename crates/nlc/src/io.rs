//! Image files in and out, through the `image` crate; atomic writes.

use std::io::Cursor;
use std::path::Path;

use image::codecs::png::PngEncoder;
use image::codecs::pnm::{PnmEncoder, PnmSubtype, SampleEncoding};
use image::codecs::tiff::TiffEncoder;
use image::{ExtendedColorType, ImageDecoder, ImageEncoder, ImageReader};
use nelloc::{ColorType, Image};
use nelloc_image::FromDecoderError;

use crate::{CliError, Result};

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| CliError::Msg(format!("{}: {e}", path.display())))
}

fn unsupported(what: &str, found: impl std::fmt::Debug) -> CliError {
    CliError::Codec(nelloc::Error::Unsupported(format!(
        "{what} has pixel format {found:?}; nelloc codes 8-bit Gray, GrayA, RGB and RGBA only \
         (convert it first, e.g. `convert in.png -depth 8 out.png`)"
    )))
}

fn from_decoder(dec: impl ImageDecoder, what: &str) -> Result<Image> {
    nelloc_image::image_from_decoder(dec).map_err(|e| match e {
        FromDecoderError::PixelFormat(found) => unsupported(what, found),
        FromDecoderError::Codec(e) => CliError::Codec(e),
        other => CliError::Msg(format!("{what}: {other}")),
    })
}

/// Reads any image the `image` crate knows, keeping ICC/EXIF/XMP; refuses non-8-bit input.
pub(crate) fn read_image(path: &Path) -> Result<Image> {
    let what = path.display().to_string();
    let reader = ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| CliError::Msg(format!("{what}: {e}")))?;
    let dec = reader
        .into_decoder()
        .map_err(|e| CliError::Msg(format!("{what}: {e}")))?;
    from_decoder(dec, &what)
}

pub(crate) fn decode_image_bytes(bytes: &[u8], what: &str) -> Result<Image> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| CliError::Msg(format!("{what}: {e}")))?;
    let dec = reader
        .into_decoder()
        .map_err(|e| CliError::Msg(format!("{what}: {e}")))?;
    from_decoder(dec, what)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`:
/// a failure never leaves a partial file or clobbers an existing one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    nelloc::fs::write_atomic(path, bytes)
        .map_err(|e| CliError::Msg(format!("{}: {e}", path.display())))
}

enum OutFormat {
    Png,
    Tiff,
    Pnm(PnmSubtype),
}

fn output_format(path: &Path, color: ColorType) -> Result<OutFormat> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let raw = SampleEncoding::Binary;
    Ok(match (ext.as_str(), color) {
        ("png", _) => OutFormat::Png,
        ("tif" | "tiff", _) => OutFormat::Tiff,
        ("ppm", ColorType::Rgb8) => OutFormat::Pnm(PnmSubtype::Pixmap(raw)),
        ("pgm", ColorType::Gray8) => OutFormat::Pnm(PnmSubtype::Graymap(raw)),
        ("pnm", ColorType::Rgb8) => OutFormat::Pnm(PnmSubtype::Pixmap(raw)),
        ("pnm", ColorType::Gray8) => OutFormat::Pnm(PnmSubtype::Graymap(raw)),
        ("pam", _) => OutFormat::Pnm(PnmSubtype::ArbitraryMap),
        ("ppm" | "pgm" | "pnm", c) => {
            return Err(CliError::Msg(format!(
                "{}: a .{ext} file cannot hold a {c} image; use .png, .tif or .pam",
                path.display()
            )))
        }
        _ => {
            return Err(CliError::Msg(format!(
                "{}: unknown output extension {ext:?}; use .png, .tif, .ppm, .pgm or .pam",
                path.display()
            )))
        }
    })
}

pub(crate) fn check_output_format(path: &Path, color: ColorType) -> Result<()> {
    output_format(path, color).map(|_| ())
}

fn extended(color: ColorType) -> ExtendedColorType {
    match color {
        ColorType::Gray8 => ExtendedColorType::L8,
        ColorType::GrayA8 => ExtendedColorType::La8,
        ColorType::Rgba8 => ExtendedColorType::Rgba8,
        _ => ExtendedColorType::Rgb8,
    }
}

fn encode_png(image: &Image) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = PngEncoder::new(&mut out);
    // Metadata the PNG encoder cannot carry is dropped from the PNG only, with a note.
    if let Some(icc) = &image.metadata().icc {
        if enc.set_icc_profile(icc.clone()).is_err() {
            eprintln!("nlc: note: ICC profile not written to PNG");
        }
    }
    if let Some(exif) = &image.metadata().exif {
        if enc.set_exif_metadata(exif.clone()).is_err() {
            eprintln!("nlc: note: EXIF not written to PNG");
        }
    }
    enc.write_image(
        image.pixels(),
        image.width(),
        image.height(),
        extended(image.color()),
    )
    .map_err(|e| CliError::Msg(format!("PNG encoding: {e}")))?;
    Ok(out)
}

pub(crate) fn png_size(image: &Image) -> Result<usize> {
    Ok(encode_png(image)?.len())
}

/// Encodes `image` in the format named by `path`'s extension and writes it atomically.
pub(crate) fn write_image(path: &Path, image: &Image) -> Result<()> {
    write_atomic(path, &image_bytes(path, image)?)
}

/// `image` encoded in the format named by `path`'s extension.
pub(crate) fn image_bytes(path: &Path, image: &Image) -> Result<Vec<u8>> {
    let (w, h, c) = (image.width(), image.height(), extended(image.color()));
    let err = |e: image::ImageError| CliError::Msg(format!("{}: {e}", path.display()));
    let bytes = match output_format(path, image.color())? {
        OutFormat::Png => encode_png(image)?,
        OutFormat::Tiff => {
            let mut out = Cursor::new(Vec::new());
            TiffEncoder::new(&mut out)
                .write_image(image.pixels(), w, h, c)
                .map_err(err)?;
            out.into_inner()
        }
        OutFormat::Pnm(sub) => {
            let mut out = Vec::new();
            PnmEncoder::new(&mut out)
                .with_subtype(sub)
                .write_image(image.pixels(), w, h, c)
                .map_err(err)?;
            out
        }
    };
    Ok(bytes)
}
