//! Pixel buffers and colour types.

use crate::error::{Error, Result};

/// Pixel layouts the codec supports: 8 bits per sample, interleaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColorType {
    /// One grey sample per pixel.
    Gray8,
    /// Grey then alpha.
    GrayA8,
    /// Red, green, blue.
    Rgb8,
    /// Red, green, blue, alpha (straight, not premultiplied).
    Rgba8,
}

impl ColorType {
    /// Samples per pixel.
    pub fn channels(self) -> usize {
        match self {
            ColorType::Gray8 => 1,
            ColorType::GrayA8 => 2,
            ColorType::Rgb8 => 3,
            ColorType::Rgba8 => 4,
        }
    }

    /// Samples per pixel excluding alpha.
    pub fn color_channels(self) -> usize {
        match self {
            ColorType::Gray8 | ColorType::GrayA8 => 1,
            ColorType::Rgb8 | ColorType::Rgba8 => 3,
        }
    }

    /// Whether the last sample is alpha.
    pub fn has_alpha(self) -> bool {
        matches!(self, ColorType::GrayA8 | ColorType::Rgba8)
    }

    /// The container's code for this type (docs/FORMAT.md).
    pub(crate) fn code(self) -> u8 {
        match self {
            ColorType::Gray8 => 1,
            ColorType::GrayA8 => 2,
            ColorType::Rgb8 => 3,
            ColorType::Rgba8 => 4,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => ColorType::Gray8,
            2 => ColorType::GrayA8,
            3 => ColorType::Rgb8,
            4 => ColorType::Rgba8,
            _ => return None,
        })
    }

    /// Human-readable name, as used in messages and by `nlc info`.
    pub fn name(self) -> &'static str {
        match self {
            ColorType::Gray8 => "Gray8",
            ColorType::GrayA8 => "GrayA8",
            ColorType::Rgb8 => "RGB8",
            ColorType::Rgba8 => "RGBA8",
        }
    }
}

impl std::fmt::Display for ColorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Optional metadata carried losslessly next to the pixels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// ICC colour profile.
    pub icc: Option<Vec<u8>>,
    /// EXIF block (TIFF structure, without the "Exif\0\0" prefix).
    pub exif: Option<Vec<u8>>,
    /// XMP packet (UTF-8 XML).
    pub xmp: Option<Vec<u8>>,
}

/// A borrowed image to encode.
#[derive(Debug, Clone, Copy)]
pub struct ImageRef<'a> {
    width: u32,
    height: u32,
    color: ColorType,
    pixels: &'a [u8],
    metadata: Option<&'a Metadata>,
}

impl<'a> ImageRef<'a> {
    /// Wraps interleaved 8-bit samples, row-major without padding.
    pub fn new(width: u32, height: u32, color: ColorType, pixels: &'a [u8]) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::InvalidArgument(format!(
                "image dimensions must be at least 1x1, got {width}x{height}"
            )));
        }
        let expected = u64::from(width) * u64::from(height) * color.channels() as u64;
        if pixels.len() as u64 != expected {
            return Err(Error::InvalidArgument(format!(
                "a {width}x{height} {color} image needs {expected} bytes, got {}",
                pixels.len()
            )));
        }
        Ok(ImageRef {
            width,
            height,
            color,
            pixels,
            metadata: None,
        })
    }

    /// Attaches metadata to store with the image.
    pub fn with_metadata(mut self, metadata: &'a Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// Colour type.
    pub fn color(&self) -> ColorType {
        self.color
    }
    /// Interleaved samples.
    pub fn pixels(&self) -> &'a [u8] {
        self.pixels
    }
    /// Attached metadata, if any.
    pub fn metadata(&self) -> Option<&'a Metadata> {
        self.metadata
    }
}

/// A decoded image that owns its pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) color: ColorType,
    pub(crate) pixels: Vec<u8>,
    pub(crate) metadata: Metadata,
}

impl Image {
    /// Builds an owned image, checking the buffer size.
    pub fn new(width: u32, height: u32, color: ColorType, pixels: Vec<u8>) -> Result<Self> {
        ImageRef::new(width, height, color, &pixels)?;
        Ok(Image {
            width,
            height,
            color,
            pixels,
            metadata: Metadata::default(),
        })
    }
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// Colour type.
    pub fn color(&self) -> ColorType {
        self.color
    }
    /// Interleaved samples, row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }
    /// Takes the sample buffer.
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }
    /// Metadata stored with the image.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }
    /// Mutable metadata (to attach ICC/EXIF/XMP before encoding).
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }
    /// Borrows as an [`ImageRef`] (with metadata) for encoding.
    pub fn as_ref(&self) -> ImageRef<'_> {
        ImageRef {
            width: self.width,
            height: self.height,
            color: self.color,
            pixels: &self.pixels,
            metadata: Some(&self.metadata),
        }
    }
}
