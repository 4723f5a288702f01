//! Resource limits checked before any allocation sized by untrusted input.

use crate::error::LimitError;

/// Limits applied when decoding (and when encoding, to the input image).
///
/// Every check happens before memory sized by the stream is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest width or height accepted. Default: 65 535.
    pub max_dimension: u32,
    /// Largest number of pixels accepted. Default: 2^28 (268 M pixels, 1 GiB as RGBA8).
    pub max_pixels: u64,
    /// Largest total size of metadata chunks (ICC, EXIF, XMP). Default: 16 MiB.
    pub max_metadata_bytes: u64,
    /// Largest input (whole `.nlc` stream) read or accepted. Default: 4 GiB, above the
    /// largest valid stream within the other defaults (2^28 RGBA pixels at the longest
    /// code, 24 bits per sample, are 3 GiB of tile data), so it only stops inputs that no
    /// default decoder could use, before they are read into memory.
    pub max_input_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_dimension: 65_535,
            max_pixels: 1 << 28,
            max_metadata_bytes: 16 << 20,
            max_input_bytes: 4 << 30,
        }
    }
}

impl Limits {
    /// No limits beyond what the format itself allows (for trusted input only).
    pub fn unlimited() -> Self {
        Limits {
            max_dimension: u32::MAX,
            max_pixels: u64::MAX,
            max_metadata_bytes: u64::MAX,
            max_input_bytes: u64::MAX,
        }
    }

    /// Checks image dimensions.
    pub(crate) fn check_dimensions(&self, width: u32, height: u32) -> Result<(), LimitError> {
        if width > self.max_dimension || height > self.max_dimension {
            return Err(LimitError::Dimension {
                width,
                height,
                max: self.max_dimension,
            });
        }
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(LimitError::Pixels {
                pixels,
                max: self.max_pixels,
            });
        }
        Ok(())
    }

    /// Checks the size of a whole input stream.
    pub(crate) fn check_input(&self, bytes: u64) -> Result<(), LimitError> {
        if bytes > self.max_input_bytes {
            return Err(LimitError::Input {
                bytes,
                max: self.max_input_bytes,
            });
        }
        Ok(())
    }

    /// Checks the total metadata size.
    pub(crate) fn check_metadata(&self, bytes: u64) -> Result<(), LimitError> {
        if bytes > self.max_metadata_bytes {
            return Err(LimitError::Metadata {
                bytes,
                max: self.max_metadata_bytes,
            });
        }
        Ok(())
    }
}
