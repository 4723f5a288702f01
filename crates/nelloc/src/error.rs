//! Errors, grouped by cause.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, by cause.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The data is not a valid `.nlc` stream (corrupt, truncated or not ours).
    #[error("invalid .nlc data: {0}")]
    Format(#[from] FormatError),
    /// Valid input that this version does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The input exceeds a configured limit; raise [`crate::Limits`] to accept it.
    #[error("limit exceeded: {0}")]
    Limits(#[from] LimitError),
    /// A model could not be loaded or found.
    #[error("model error: {0}")]
    Model(#[from] ModelError),
    /// The caller passed inconsistent arguments (e.g. a pixel buffer of the wrong size).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The operation was cancelled through [`crate::Cancel`].
    #[error("cancelled")]
    Cancelled,
    /// The device asked for cannot run here, or failed (see [`DeviceError`]).
    #[error("device: {0}")]
    Device(#[from] DeviceError),
    /// An out-of-distribution reference (`nelloc::Reference`) is unreadable, was fitted
    /// under other settings, or cannot be fitted.
    #[error("OOD reference: {0}")]
    Reference(#[from] ReferenceError),
    /// The worker threads asked for (`threads > 0` in the options) could not be started.
    #[error("could not start a pool of {threads} worker threads: {detail}")]
    ThreadPool {
        /// Threads requested.
        threads: usize,
        /// The system's reason.
        detail: String,
    },
}

/// What a binding needs to know about an [`Error`] to report it in its own terms (a C
/// status, a Python exception class, a JavaScript error kind): one value per cause that a
/// caller may handle differently. [`Error::kind`] gives it; the message stays
/// `Error`'s `Display`.
///
/// Every frontend maps errors through this one classification, so that C, Python and
/// JavaScript report the same cause the same way. New kinds may be added: match with a
/// fallback arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing a file failed ([`Error::Io`]).
    Io,
    /// The data does not start with the `.nlc` signature: not our format.
    NotNlc,
    /// The data ends before the structure it announces (more bytes may fix it).
    Truncated,
    /// `.nlc` data that is damaged: a checksum, a field, a tile, a signature altered in
    /// transfer, bytes after the end.
    Corrupt,
    /// A container version newer than this decoder.
    UnsupportedVersion,
    /// Valid input or a request this version does not support ([`Error::Unsupported`]).
    Unsupported,
    /// A configured limit was exceeded ([`Error::Limits`]).
    LimitExceeded,
    /// The stream needs a model that is not built in, supplied, embedded or on the search
    /// path.
    ModelNotFound,
    /// A model file is invalid or does not fit the image.
    ModelInvalid,
    /// The device asked for is not built in or is missing on this machine.
    DeviceUnavailable,
    /// The device failed while working, or was refused for not being bit-exact.
    Device,
    /// The caller's arguments are inconsistent, including an out-of-distribution reference
    /// that is unreadable or does not fit the scoring settings ([`Error::Reference`]).
    InvalidArgument,
    /// The system refused a resource the call needs (worker threads).
    Resource,
    /// The operation was cancelled ([`Error::Cancelled`]).
    Cancelled,
}

impl Error {
    /// The cause group of this error, for bindings that map errors to their own codes or
    /// exception classes (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        // Inner enums are matched in full: a new variant must choose its kind here.
        match self {
            Error::Io(_) => ErrorKind::Io,
            Error::Format(f) => match f {
                FormatError::BadMagic => ErrorKind::NotNlc,
                FormatError::Truncated { .. } => ErrorKind::Truncated,
                FormatError::UnsupportedVersion(_) => ErrorKind::UnsupportedVersion,
                FormatError::MangledMagic
                | FormatError::HeaderChecksum { .. }
                | FormatError::FileChecksum { .. }
                | FormatError::InvalidField { .. }
                | FormatError::TileOutOfBounds { .. }
                | FormatError::TrailingData(_)
                | FormatError::TileChecksum { .. }
                | FormatError::UnknownTileMode { .. }
                | FormatError::CorruptTile { .. }
                | FormatError::InvalidPreview(_) => ErrorKind::Corrupt,
            },
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Limits(_) => ErrorKind::LimitExceeded,
            Error::Model(m) => match m {
                ModelError::UnknownModel { .. }
                | ModelError::UnknownBuiltin { .. }
                | ModelError::AmbiguousModel { .. } => ErrorKind::ModelNotFound,
                ModelError::Invalid(_) | ModelError::ChannelMismatch { .. } => {
                    ErrorKind::ModelInvalid
                }
            },
            Error::InvalidArgument(_) | Error::Reference(_) => ErrorKind::InvalidArgument,
            Error::Cancelled => ErrorKind::Cancelled,
            Error::Device(d) => match d {
                DeviceError::NotBuilt { .. } | DeviceError::Unavailable { .. } => {
                    ErrorKind::DeviceUnavailable
                }
                DeviceError::Inexact { .. } | DeviceError::Failed { .. } => ErrorKind::Device,
            },
            Error::ThreadPool { .. } => ErrorKind::Resource,
        }
    }
}

/// The stream is malformed: each variant names what was expected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// The first 8 bytes are not the `.nlc` signature.
    #[error("not an .nlc file: wrong signature (expected 8B 4E 4C 43 0D 0A 1A 0A)")]
    BadMagic,
    /// The signature shows line-ending or 7-bit damage from a text-mode transfer.
    #[error("the .nlc signature was altered in transfer (text-mode/line-ending conversion?)")]
    MangledMagic,
    /// The container version is newer than this decoder (version 0, which never existed,
    /// is an [`FormatError::InvalidField`]).
    #[error(
        "container version {0} is newer than this decoder (it reads versions 1 to {max})",
        max = crate::FORMAT_VERSION
    )]
    UnsupportedVersion(u8),
    /// The data ends before the structure it announces.
    #[error("truncated: {what} needs {needed} bytes, only {available} available")]
    Truncated {
        /// Which structure was being read.
        what: &'static str,
        /// Bytes required.
        needed: u64,
        /// Bytes present.
        available: u64,
    },
    /// The header checksum does not match: the header is damaged.
    #[error("header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    HeaderChecksum {
        /// CRC-32 stored in the file.
        stored: u32,
        /// CRC-32 of the bytes read.
        computed: u32,
    },
    /// The checksum of a compact stream (version 5, over the whole file) does not match:
    /// the file is damaged or truncated.
    #[error("file checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the compact stream is damaged or truncated")]
    FileChecksum {
        /// CRC-32 stored in the last 4 bytes.
        stored: u32,
        /// CRC-32 of the bytes before them.
        computed: u32,
    },
    /// A header field holds a value the format does not allow.
    #[error("invalid header field {field}: {detail}")]
    InvalidField {
        /// Field name as in docs/FORMAT.md.
        field: &'static str,
        /// What was found and what was expected.
        detail: String,
    },
    /// The tile index points outside the file or is not contiguous.
    #[error("tile {tile}: index entry (offset {offset}, length {length}) is outside the tile data (expected offset {expected_offset}, data area {data_len} bytes)")]
    TileOutOfBounds {
        /// Tile number in raster order.
        tile: u32,
        /// Offset stored in the index.
        offset: u64,
        /// Length stored in the index.
        length: u32,
        /// Where the tile must start.
        expected_offset: u64,
        /// Size of the tile data area.
        data_len: u64,
    },
    /// Bytes follow the last tile.
    #[error("{0} unexpected bytes after the last tile")]
    TrailingData(u64),
    /// A tile stream's CRC-32 does not match: the tile is damaged.
    #[error("tile {tile}: checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    TileChecksum {
        /// Tile number in raster order.
        tile: u32,
        /// CRC-32 stored in the index.
        stored: u32,
        /// CRC-32 of the tile bytes.
        computed: u32,
    },
    /// A tile declares a coding mode this decoder does not know (container versions 2 and 3).
    #[error("tile {tile}: unknown {group} coding mode {mode} (expected 0 neural, 1 constant, 2 png, 3 palette, 4 gray or 5 context)")]
    UnknownTileMode {
        /// Tile number in raster order.
        tile: u32,
        /// "colour" or "alpha".
        group: &'static str,
        /// The mode byte found.
        mode: u8,
    },
    /// A tile's data is inconsistent: its ANS stream (wrong length or final coder state),
    /// its layout, or a non-neural payload (deflate data, filters, palette indices).
    #[error("tile {tile}: corrupt tile data ({detail})")]
    CorruptTile {
        /// Tile number in raster order.
        tile: u32,
        /// What went wrong.
        detail: &'static str,
    },
    /// The embedded preview (`PRVW` chunk, docs/FORMAT.md section 10) is damaged or breaks
    /// the preview rules; the main image may still decode.
    #[error("invalid preview: {0}")]
    InvalidPreview(String),
}

/// A configured limit was exceeded (see [`crate::Limits`]).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitError {
    /// Width or height above the limit.
    #[error("image is {width}x{height}, above the limit of {max} pixels per side")]
    Dimension {
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
        /// The limit.
        max: u32,
    },
    /// Too many pixels.
    #[error("image has {pixels} pixels, above the limit of {max}")]
    Pixels {
        /// Pixel count.
        pixels: u64,
        /// The limit.
        max: u64,
    },
    /// Metadata chunks too large.
    #[error("metadata of {bytes} bytes is above the limit of {max}")]
    Metadata {
        /// Metadata bytes.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// The decoded image would be larger than the limit, in bytes.
    #[error("decoded image of {bytes} bytes is above the limit of {max}")]
    Output {
        /// Bytes of the decoded pixels.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// Decoding would run the network or the context model over more pixels than the
    /// limit (CPU time).
    #[error("decoding needs the network or the context model for {pixels} pixels, above the work limit of {max}")]
    Work {
        /// Pixels (per neural or context plane group) the stream needs decoded through the
        /// network or the context model.
        pixels: u64,
        /// The limit.
        max: u64,
    },
    /// An embedded model file (`MODL` chunk) is larger than the limit.
    #[error("an embedded model of {bytes} bytes is above the model-size limit of {max} (Limits::max_model_bytes)")]
    Model {
        /// Bytes of the model file.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// The whole input is larger than the limit.
    #[error("input of {bytes} bytes or more is above the limit of {max}")]
    Input {
        /// Input bytes (seen so far, when reading stopped at the limit).
        bytes: u64,
        /// The limit.
        max: u64,
    },
}

/// Model files and model lookup.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The stream was coded with a model this decoder does not have: not built in, not
    /// supplied, not embedded in the stream, not on the model search path.
    #[error("the stream needs model {hash} ({role}), which is {searched}; pass the model file with --model (DecodeOptions::models), or put it in a directory of NELLOC_MODEL_PATH (DecodeOptions::model_path)")]
    UnknownModel {
        /// Hex SHA-256 of the model file (its first 8 or 4 bytes where a compact stream
        /// names only those).
        hash: String,
        /// "colour" or "alpha".
        role: &'static str,
        /// Where the decoder looked, in words: "not built in (12 models), not supplied,
        /// not embedded, and not in /a (2 model files), /b (missing)".
        searched: String,
    },
    /// A compact stream names a built-in model by an index this library does not have
    /// (a stream from a newer release).
    #[error("the stream needs built-in model number {index} ({role}), which this version of nelloc does not have (a newer release does)")]
    UnknownBuiltin {
        /// The built-in index (docs/FORMAT.md section 11).
        index: u64,
        /// "colour" or "alpha".
        role: &'static str,
    },
    /// A compact stream names a model by a hash prefix that several of the decoder's
    /// models share.
    #[error("the stream's {role} model {prefix}… is ambiguous: {count} of the decoder's models (built in, supplied, embedded or on the model search path) have a hash starting so")]
    AmbiguousModel {
        /// Hex of the stored prefix.
        prefix: String,
        /// "colour" or "alpha".
        role: &'static str,
        /// How many distinct models match.
        count: usize,
    },
    /// The model file is not valid safetensors or lacks a tensor.
    #[error("invalid model file: {0}")]
    Invalid(String),
    /// The model does not fit the image (e.g. channel count).
    #[error("model {name} has {model} channel(s), the image needs {needed}")]
    ChannelMismatch {
        /// Model name.
        name: String,
        /// Channels of the model.
        model: u32,
        /// Channels required.
        needed: u32,
    },
}

/// A device (accelerator backend) is absent, not built in, failed, or is not exact.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceError {
    /// This build has no support for the device (a cargo feature was off).
    #[error("{device} is not available in this build (built without the `{feature}` feature)")]
    NotBuilt {
        /// The device asked for, as `Device` displays it.
        device: String,
        /// The cargo feature of `nelloc` that adds it.
        feature: &'static str,
    },
    /// What the device needs is missing on this machine (a library, a driver, a GPU).
    #[error("{device} is not available: {missing}")]
    Unavailable {
        /// The device asked for.
        device: String,
        /// What is missing, by name.
        missing: String,
    },
    /// The device's results differ from the CPU reference: using it would write (or read)
    /// a different stream, so it is refused.
    #[error("{device} is not bit-exact: {detail}")]
    Inexact {
        /// The device.
        device: String,
        /// The first difference found.
        detail: String,
    },
    /// The device's runtime reported an error while working.
    #[error("{device} failed: {detail}")]
    Failed {
        /// The device.
        device: String,
        /// The runtime's message.
        detail: String,
    },
}

/// Out-of-distribution references ([`crate::Reference`]): reading, matching, fitting.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum ReferenceError {
    /// The text is not a reference file of a version this library reads.
    #[error("not a valid reference file: {0}")]
    Parse(String),
    /// The reference was fitted with another scoring model, background model or tile size:
    /// its features would not be comparable.
    #[error(
        "fitted with {role} {expected}, but scoring uses {found}; fit a reference with this {role}"
    )]
    Mismatch {
        /// "model", "background model" or "tile size".
        role: &'static str,
        /// What the reference was fitted with.
        expected: String,
        /// What the scoring uses.
        found: String,
    },
    /// The score lacks a feature the reference uses (the ratio without a background model).
    #[error("the score has no {0} feature (the reference was fitted with a background model)")]
    MissingFeature(&'static str),
    /// Fitting needs at least this many images.
    #[error("fitting needs at least {needed} images, got {got}")]
    TooFewImages {
        /// Minimum.
        needed: usize,
        /// Given.
        got: usize,
    },
    /// The shrinkage is outside [0, 1], or the shrunk covariance is singular.
    #[error("{0}")]
    Covariance(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_group_the_causes_bindings_tell_apart() {
        let cases: Vec<(Error, ErrorKind)> = vec![
            (std::io::Error::other("x").into(), ErrorKind::Io),
            (FormatError::BadMagic.into(), ErrorKind::NotNlc),
            (
                FormatError::Truncated {
                    what: "header",
                    needed: 2,
                    available: 1,
                }
                .into(),
                ErrorKind::Truncated,
            ),
            (FormatError::MangledMagic.into(), ErrorKind::Corrupt),
            (FormatError::TrailingData(1).into(), ErrorKind::Corrupt),
            (
                FormatError::UnsupportedVersion(9).into(),
                ErrorKind::UnsupportedVersion,
            ),
            (Error::Unsupported("x".into()), ErrorKind::Unsupported),
            (
                LimitError::Input { bytes: 2, max: 1 }.into(),
                ErrorKind::LimitExceeded,
            ),
            (
                ModelError::UnknownModel {
                    hash: "00".into(),
                    role: "colour",
                    searched: "not supplied".into(),
                }
                .into(),
                ErrorKind::ModelNotFound,
            ),
            (
                ModelError::Invalid("x".into()).into(),
                ErrorKind::ModelInvalid,
            ),
            (
                DeviceError::NotBuilt {
                    device: "cuda".into(),
                    feature: "cuda",
                }
                .into(),
                ErrorKind::DeviceUnavailable,
            ),
            (
                DeviceError::Failed {
                    device: "cuda".into(),
                    detail: "x".into(),
                }
                .into(),
                ErrorKind::Device,
            ),
            (
                Error::InvalidArgument("x".into()),
                ErrorKind::InvalidArgument,
            ),
            (
                ReferenceError::Parse("x".into()).into(),
                ErrorKind::InvalidArgument,
            ),
            (
                Error::ThreadPool {
                    threads: 2,
                    detail: "x".into(),
                },
                ErrorKind::Resource,
            ),
            (Error::Cancelled, ErrorKind::Cancelled),
        ];
        for (e, kind) in cases {
            assert_eq!(e.kind(), kind, "{e}");
        }
    }

    #[test]
    fn messages_name_what_this_decoder_reads() {
        let e = FormatError::UnsupportedVersion(9).to_string();
        assert!(
            e.contains(&format!("1 to {}", crate::FORMAT_VERSION)),
            "{e}"
        );
        let e = FormatError::UnknownTileMode {
            tile: 0,
            group: "colour",
            mode: 9,
        }
        .to_string();
        assert!(e.contains("5 context"), "{e}");
    }
}
