//! `libnelloc`: the C API of the nelloc neural lossless image codec.
//!
//! This crate builds `libnelloc.so` / `libnelloc.a` (installed under those names by
//! `make -C ffi install`, see `ffi/README.md`). The C declarations are in
//! `include/nelloc.h` (repository root), generated from this crate by cbindgen and committed; the test
//! `ffi/tests/header.rs` fails when the committed header differs from the generated one.
//!
//! Conventions of every exported function:
//!
//! - it returns an [`nlc_status`] (except the version, message and free functions);
//! - every pointer argument is checked for NULL (a NULL options handle means defaults);
//! - output parameters are written only on success;
//! - buffers and handles it returns are owned by the library and released with the
//!   matching free function, which accepts NULL;
//! - a Rust panic never unwinds into C: it is caught and reported as
//!   [`nlc_status::NLC_ERROR_PANIC`].
//!
//! Layout (one file per domain, as in rustls-ffi): `ffi` holds the pointer machinery
//! (checked arguments, handles, output parameters, versioned structs, C buffers) and
//! `status` the status codes and the panic boundary; `options`, `image`, `codec`, `probe`,
//! `batch` and `score` export the functions of their domain; `conversions` maps the C
//! codes.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![allow(non_camel_case_types)] // the C names (`nlc_image`, ...) are the API

// cbindgen emits the functions in the order of these declarations (the header's order):
// one group each, since rustfmt sorts the `mod` lines within a group.
mod conversions;
#[allow(unsafe_code)]
mod ffi;

#[allow(unsafe_code)]
mod status;

#[allow(unsafe_code)]
mod options;

#[allow(unsafe_code)]
mod image;

#[allow(unsafe_code)]
mod codec;

#[allow(unsafe_code)]
mod probe;

#[allow(unsafe_code)]
mod batch;

#[allow(unsafe_code)]
mod score;

pub use batch::{nlc_decode_batch, nlc_encode_batch};
pub use codec::{
    nlc_decode, nlc_decode_file, nlc_decode_preview, nlc_decode_preview_file, nlc_encode,
    nlc_encode_file, nlc_free, nlc_info, nlc_info_file, nlc_stream_info,
};
pub use image::{
    nlc_image, nlc_image_free, nlc_image_get, nlc_image_get_metadata, nlc_image_new,
    nlc_image_set_metadata, nlc_pixels,
};
pub use options::*;
pub use probe::{nlc_header, nlc_probe};
pub use score::{nlc_bits_map, nlc_score, nlc_scores};
pub use status::{
    nlc_last_error_message, nlc_status, nlc_status_message, nlc_version, nlc_version_string,
};

/// Major version of the library (`Cargo.toml`'s version; checked at compile time).
pub const NLC_VERSION_MAJOR: u32 = 0;
/// Minor version of the library. While the major version is 0, a minor release may change
/// the ABI; the SONAME (`libnelloc.so.0.1`) changes with it.
pub const NLC_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const NLC_VERSION_PATCH: u32 = 0;
/// `MAJOR * 10000 + MINOR * 100 + PATCH`, the value `nlc_version()` returns at run time.
/// Compare the two to detect a header / library mismatch.
pub const NLC_VERSION_NUMBER: u32 =
    NLC_VERSION_MAJOR * 10000 + NLC_VERSION_MINOR * 100 + NLC_VERSION_PATCH;

/// Highest `.nlc` container version this library reads and writes (it writes version 1,
/// readable by the first release, when every tile is neural; version 4 when it stores an
/// adapted head; version 5, the compact container, for an image coded as one tile;
/// versions 6 and 7 for embedded models and short model references).
pub const NLC_FORMAT_VERSION: u32 = 7;
/// Length of the `.nlc` signature `8B 4E 4C 43 0D 0A 1A 0A`.
pub const NLC_MAGIC_LENGTH: u32 = 8;
/// Bytes `nlc_probe` needs to report the dimensions and colour type.
pub const NLC_PROBE_BYTES: u32 = 20;
/// Length of a hex SHA-256 model hash in `nlc_stream_info`, including the terminating NUL.
pub const NLC_HASH_HEX_SIZE: u32 = 65;

/// Default of `nlc_decoder_options_set_limits`'s `max_dimension`.
pub const NLC_DEFAULT_MAX_DIMENSION: u32 = 65_535;
/// Default of `nlc_decoder_options_set_limits`'s `max_pixels` (2^28).
pub const NLC_DEFAULT_MAX_PIXELS: u64 = 1 << 28;
/// Default of `nlc_decoder_options_set_limits`'s `max_metadata_bytes` (16 MiB).
pub const NLC_DEFAULT_MAX_METADATA_BYTES: u64 = 16 << 20;
/// Default of `nlc_decoder_options_set_work_limits`'s `max_output_bytes` (1 GiB).
pub const NLC_DEFAULT_MAX_OUTPUT_BYTES: u64 = 1 << 30;
/// Default of `nlc_decoder_options_set_work_limits`'s `max_neural_pixels` (2^29: no bound
/// beyond the pixel limit).
pub const NLC_DEFAULT_MAX_NEURAL_PIXELS: u64 = 1 << 29;
/// A conservative `max_neural_pixels` for unattended decoding (2^24: tens of seconds of
/// one core).
pub const NLC_STRICT_MAX_NEURAL_PIXELS: u64 = 1 << 24;
/// Default tile edge of the encoder, in pixels.
pub const NLC_DEFAULT_TILE_SIZE: u32 = 256;

/// Tile coding mode flag for `nlc_encoder_options_set_modes`: the neural network (NeLLoC).
pub const NLC_MODE_NEURAL: u32 = 1;
/// Tile coding mode flag: one colour for the whole tile.
pub const NLC_MODE_CONSTANT: u32 = 2;
/// Tile coding mode flag: PNG filters and deflate.
pub const NLC_MODE_PNG: u32 = 4;
/// Tile coding mode flag: a palette of at most 256 colours.
pub const NLC_MODE_PALETTE: u32 = 8;
/// Tile coding mode flag: grey colour planes (all channels equal) as one PNG channel.
pub const NLC_MODE_GRAY: u32 = 16;
/// Tile coding mode flag: pixels coded with an adaptive context model (repeats of
/// neighbours, then palette indices or channel values) and the ANS coder (container
/// version 3).
pub const NLC_MODE_CONTEXT: u32 = 32;
/// Every tile coding mode (the encoder's default).
pub const NLC_MODES_ALL: u32 = 63;

/// `nlc_encoder_options_set_preview`: no embedded preview.
pub const NLC_PREVIEW_NONE: u32 = 0;
/// `nlc_encoder_options_set_preview`: the default, a 256- or 128-pixel preview where it
/// costs at most 0.5% of the file (docs/FORMAT.md section 10).
pub const NLC_PREVIEW_AUTO: u32 = u32::MAX;
/// Largest preview side an encoder writes and a decoder accepts, in pixels.
pub const NLC_MAX_PREVIEW_SIZE: u32 = 1024;

/// Pixel layouts: 8 bits per sample, interleaved, rows without padding unless a stride is
/// given. The values are the container's colour-type codes.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum nlc_color_type {
    /// One grey sample per pixel.
    NLC_COLOR_GRAY8 = 1,
    /// Grey, then alpha.
    NLC_COLOR_GRAYA8 = 2,
    /// Red, green, blue.
    NLC_COLOR_RGB8 = 3,
    /// Red, green, blue, alpha (straight, not premultiplied).
    NLC_COLOR_RGBA8 = 4,
}

/// Where the codec runs.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum nlc_device {
    /// The CPU (all cores by default). The default.
    NLC_DEVICE_CPU = 0,
    /// The first NVIDIA GPU (CUDA driver and NVRTC loaded at run time). Selecting it
    /// where either or a GPU is missing returns `NLC_ERROR_UNSUPPORTED`, with what is
    /// missing in `nlc_last_error_message`.
    NLC_DEVICE_CUDA = 1,
    /// The GPU when present and the image is large enough to gain, else the CPU.
    NLC_DEVICE_AUTO = 2,
    /// ONNX Runtime (CPU provider), loaded at run time from `$NELLOC_ORT_LIB` (or
    /// `libonnxruntime.so` on the library path); `NLC_ERROR_UNSUPPORTED` when absent.
    NLC_DEVICE_ORT = 3,
}

/// Metadata blocks stored losslessly next to the pixels.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum nlc_metadata_kind {
    /// ICC colour profile.
    NLC_METADATA_ICC = 1,
    /// EXIF block (TIFF structure, without the `Exif\0\0` prefix).
    NLC_METADATA_EXIF = 2,
    /// XMP packet (UTF-8 XML).
    NLC_METADATA_XMP = 3,
}

/// Which model an encoder model setting applies to.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum nlc_model_role {
    /// The model for the colour channels (3 channels for RGB, 1 for grey).
    NLC_MODEL_COLOR = 0,
    /// The one-channel model for a non-constant alpha plane.
    NLC_MODEL_ALPHA = 1,
}

/// How a stream stores alpha (`nlc_stream_info`'s `alpha_mode`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum nlc_alpha_mode {
    /// The colour type has no alpha.
    NLC_ALPHA_NONE = 0,
    /// Every pixel has the alpha `alpha_value`; nothing is coded.
    NLC_ALPHA_CONSTANT = 1,
    /// Alpha is coded with the alpha model.
    NLC_ALPHA_CODED = 2,
}

const fn parse_version_part(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut v = 0u32;
    while i < b.len() {
        v = v * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    v
}

// The C version macros are literals (cbindgen cannot evaluate `env!`): keep them equal to
// Cargo.toml's version. `ffi/tests/header.rs` checks the committed header the same way.
const _: () = assert!(
    NLC_VERSION_MAJOR == parse_version_part(env!("CARGO_PKG_VERSION_MAJOR"))
        && NLC_VERSION_MINOR == parse_version_part(env!("CARGO_PKG_VERSION_MINOR"))
        && NLC_VERSION_PATCH == parse_version_part(env!("CARGO_PKG_VERSION_PATCH")),
    "NLC_VERSION_* in ffi/src/lib.rs must match the crate version in Cargo.toml"
);
