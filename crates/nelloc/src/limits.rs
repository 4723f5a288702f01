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
    /// Largest decoded image in bytes (width x height x channels), checked before the
    /// output is allocated: bounds memory by what a caller can hold, whatever the colour
    /// type. Default: 2^30 (1 GiB, 2^28 RGBA pixels).
    pub max_output_bytes: u64,
    /// Largest decoding work, in pixels decoded through the network or the context model
    /// (a tile's pixels count once per plane group, colour or alpha, that is context-coded
    /// or has a non-empty neural stream), checked after the tile index and mode bytes are
    /// read and before any decoding. Neural decoding runs at well under 1 M pixels per
    /// second per core, the context model's worst case at a few, and a flat image codes at
    /// almost 0 bits per pixel, so a stream of a few bytes may claim hours of work: this is
    /// the CPU-time bound (constant, PNG-style, palette and gray tiles, and empty neural
    /// streams, are fast and not counted). Default: 2^29 (no bound beyond `max_pixels`);
    /// [`Limits::strict`] is a conservative one for batch jobs and thumbnailers.
    pub max_neural_pixels: u64,
    /// Largest model file read or accepted, in bytes: each model embedded in a stream
    /// (`MODL` chunk, docs/FORMAT.md section 12), checked before it is hashed or parsed,
    /// and each file of a model search path (larger files are skipped unread). Embedded
    /// models do not count against `max_metadata_bytes`. Default: 64 MiB (the largest
    /// model the format allows, width 1024 with 16 residual blocks, is about 55 MB).
    pub max_model_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_dimension: 65_535,
            max_pixels: 1 << 28,
            max_metadata_bytes: 16 << 20,
            max_input_bytes: 4 << 30,
            max_output_bytes: 1 << 30,
            max_neural_pixels: 1 << 29,
            max_model_bytes: 64 << 20,
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
            max_output_bytes: u64::MAX,
            max_neural_pixels: u64::MAX,
            max_model_bytes: u64::MAX,
        }
    }

    /// Conservative limits for input from strangers decoded unattended (batch jobs,
    /// thumbnailers, servers): 2^26 pixels (64 M, 256 MiB as RGBA), 256 MiB of output and
    /// 2^24 neural pixels (16 M: tens of seconds of one core), the other fields as
    /// [`Limits::default`].
    pub fn strict() -> Self {
        Limits {
            max_pixels: 1 << 26,
            max_output_bytes: 256 << 20,
            max_neural_pixels: 1 << 24,
            ..Limits::default()
        }
    }

    /// Checks the size of the decoded image in bytes.
    pub(crate) fn check_output(&self, bytes: u64) -> Result<(), LimitError> {
        if bytes > self.max_output_bytes {
            return Err(LimitError::Output {
                bytes,
                max: self.max_output_bytes,
            });
        }
        Ok(())
    }

    /// Checks the decoding work (pixels through the network or the context model).
    pub(crate) fn check_work(&self, pixels: u64) -> Result<(), LimitError> {
        if pixels > self.max_neural_pixels {
            return Err(LimitError::Work {
                pixels,
                max: self.max_neural_pixels,
            });
        }
        Ok(())
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

    /// Checks the size of one model file (embedded or on a search path).
    pub(crate) fn check_model(&self, bytes: u64) -> Result<(), LimitError> {
        if bytes > self.max_model_bytes {
            return Err(LimitError::Model {
                bytes,
                max: self.max_model_bytes,
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
