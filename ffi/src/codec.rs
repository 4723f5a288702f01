//! Encoding, decoding and inspecting one stream (`nlc_encode*`, `nlc_free`,
//! `nlc_decode*`, `nlc_info*`, `nlc_stream_info`).

use std::ffi::c_char;

use nelloc::DecodeOptions;

use crate::conversions::{alpha_code, color_code, hash_field};
use crate::ffi::{
    first_size, free_c_buffer, handle, into_c_buffer, max_align, new_handle, optional, out_ptr,
    path, put, put_sized, sized_out, stream, SizedStruct,
};
use crate::image::nlc_image;
use crate::options::{
    decoder_or_default, encoder_or_default, nlc_decoder_options, nlc_encoder_options,
};
use crate::status::{guard, guard_value, nlc_status, Failure};

/// What `nlc_info` reports about a complete, validated stream. Set `struct_size` to
/// `sizeof(nlc_stream_info)` first.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct nlc_stream_info {
    /// `sizeof(nlc_stream_info)` as the caller compiled it: set it before the call (see
    /// `nlc_pixels.struct_size`).
    pub struct_size: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// An `nlc_color_type` value.
    pub color_type: u32,
    /// Samples per pixel.
    pub channels: u32,
    /// Tile width in pixels.
    pub tile_width: u32,
    /// Tile height in pixels.
    pub tile_height: u32,
    /// Number of tiles.
    pub tile_count: u32,
    /// An `nlc_alpha_mode` value.
    pub alpha_mode: u32,
    /// The alpha of every pixel when `alpha_mode` is `NLC_ALPHA_CONSTANT`, else 0.
    pub alpha_value: u32,
    /// 1 if the colour model is built in or was given to the decoder options, else 0
    /// (decoding would fail with `NLC_ERROR_MODEL_NOT_FOUND`).
    pub model_available: u32,
    /// Size of the ICC profile in bytes (0: none).
    pub icc_size: usize,
    /// Size of the EXIF block in bytes (0: none).
    pub exif_size: usize,
    /// Size of the XMP packet in bytes (0: none).
    pub xmp_size: usize,
    /// Size of the whole stream in bytes.
    pub file_size: u64,
    /// Hex SHA-256 of the colour model file, NUL-terminated.
    pub model_hash: [c_char; 65],
    /// Hex SHA-256 of the alpha model file when alpha is coded, else the empty string.
    pub alpha_model_hash: [c_char; 65],
    /// Width of the embedded preview (validated, not decoded; read it with
    /// `nlc_decode_preview`), 0 without one. Added after the first release.
    pub preview_width: u32,
    /// Height of the embedded preview, 0 without one. Added after the first release.
    pub preview_height: u32,
}

impl Default for nlc_stream_info {
    /// All zero, with `struct_size` set (for Rust callers).
    fn default() -> Self {
        nlc_stream_info {
            struct_size: std::mem::size_of::<nlc_stream_info>(),
            width: 0,
            height: 0,
            color_type: 0,
            channels: 0,
            tile_width: 0,
            tile_height: 0,
            tile_count: 0,
            alpha_mode: 0,
            alpha_value: 0,
            model_available: 0,
            icc_size: 0,
            exif_size: 0,
            xmp_size: 0,
            file_size: 0,
            model_hash: [0; 65],
            alpha_model_hash: [0; 65],
            preview_width: 0,
            preview_height: 0,
        }
    }
}

impl SizedStruct for nlc_stream_info {
    // The first release ended at `alpha_model_hash`; its widest fields were `size_t` and
    // `uint64_t`.
    const FIRST_SIZE: usize = first_size(
        std::mem::offset_of!(nlc_stream_info, alpha_model_hash) + 65,
        max_align(std::mem::align_of::<usize>(), std::mem::align_of::<u64>()),
    );
    fn set_struct_size(&mut self, size: usize) {
        self.struct_size = size;
    }
}

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

/// Encodes `image` (with its metadata) into a complete `.nlc` stream. On success `*out`
/// receives a library-owned buffer of `*out_size` bytes, to be released with `nlc_free`.
/// `options` may be NULL for the defaults.
///
/// # Safety
/// `image` must be NULL (an error) or a live handle; `options` NULL or a live handle;
/// `out` and `out_size` NULL (an error) or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn nlc_encode(
    image: *const nlc_image,
    options: *const nlc_encoder_options,
    out: *mut *mut u8,
    out_size: *mut usize,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let img = &unsafe { handle(image, "image") }?.inner;
        // SAFETY: see the function's contract.
        let opts = encoder_or_default(unsafe { optional(options) });
        out_ptr(out, "out")?;
        out_ptr(out_size, "out_size")?;
        let encoded = nelloc::encode(img.as_ref(), &opts)?;
        let len = encoded.len();
        let buffer = into_c_buffer(&encoded);
        // SAFETY: both are non-null and writable by contract.
        unsafe {
            put(out, buffer);
            put(out_size, len);
        }
        Ok(())
    })
}

/// Encodes `image` into the file at `path`. The file is written to a temporary file in
/// the same directory and renamed, so a failure leaves an existing file untouched.
/// `options` may be NULL for the defaults.
///
/// # Safety
/// `image` must be NULL (an error) or a live handle; `options` NULL or a live handle; `path`
/// NULL (an error) or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn nlc_encode_file(
    image: *const nlc_image,
    options: *const nlc_encoder_options,
    path: *const c_char,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let img = &unsafe { handle(image, "image") }?.inner;
        // SAFETY: see the function's contract.
        let opts = encoder_or_default(unsafe { optional(options) });
        // SAFETY: see the function's contract.
        let path = unsafe { self::path(path, "path") }?;
        let encoded = nelloc::encode(img.as_ref(), &opts)?;
        let io = |e: std::io::Error| {
            Failure::new(nlc_status::NLC_ERROR_IO, format!("{}: {e}", path.display()))
        };
        nelloc::fs::write_atomic(&path, &encoded).map_err(io)
    })
}

/// Releases a buffer returned by `nlc_encode`. NULL is accepted and ignored.
///
/// # Safety
/// `buffer` must be NULL or a pointer returned by `nlc_encode` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn nlc_free(buffer: *mut u8) {
    // SAFETY: `nlc_encode` (and `nlc_encode_batch`) buffers come from `into_c_buffer`.
    guard_value((), || unsafe { free_c_buffer(buffer) })
}

// ---------------------------------------------------------------------------------------
// Decoding and inspection
// ---------------------------------------------------------------------------------------

/// Decodes a complete `.nlc` stream of `size` bytes. On success `*out` receives a new image
/// (release with `nlc_image_free`). `options` may be NULL for the defaults.
///
/// # Safety
/// `data` must be NULL (an error) or valid for reads of `size` bytes; `options` NULL or a
/// live handle; `out` NULL (an error) or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn nlc_decode(
    data: *const u8,
    size: usize,
    options: *const nlc_decoder_options,
    out: *mut *mut nlc_image,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let data = unsafe { stream(data, size) }?;
        // SAFETY: see the function's contract.
        let opts = decoder_or_default(unsafe { optional(options) });
        out_ptr(out, "out")?;
        let image = nelloc::decode(data, &opts)?;
        // SAFETY: `out` is non-null and writable by contract.
        unsafe { put(out, new_handle(nlc_image { inner: image })) };
        Ok(())
    })
}

/// Decodes the `.nlc` file at `path`; otherwise like `nlc_decode`.
///
/// # Safety
/// `path` must be NULL (an error) or a NUL-terminated string; `options` NULL or a live
/// handle; `out` NULL (an error) or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn nlc_decode_file(
    path: *const c_char,
    options: *const nlc_decoder_options,
    out: *mut *mut nlc_image,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let path = unsafe { self::path(path, "path") }?;
        // SAFETY: see the function's contract.
        let opts = decoder_or_default(unsafe { optional(options) });
        out_ptr(out, "out")?;
        let data = read_file(&path)?;
        let image = nelloc::decode(&data, &opts)?;
        // SAFETY: `out` is non-null and writable by contract.
        unsafe { put(out, new_handle(nlc_image { inner: image })) };
        Ok(())
    })
}

/// `nlc_decode_preview*`: the image into `*out`, whether it is the preview into
/// `*embedded` when given.
///
/// # Safety
/// `out` NULL (an error) or valid for a write; `embedded` NULL or valid for a write.
unsafe fn decode_preview_into(
    data: &[u8],
    opts: &DecodeOptions,
    out: *mut *mut nlc_image,
    embedded: *mut u32,
) -> Result<(), Failure> {
    out_ptr(out, "out")?;
    let p = nelloc::decode_preview(data, opts)?;
    // SAFETY: `out` is non-null and writable by contract.
    unsafe { put(out, new_handle(nlc_image { inner: p.image })) };
    if !embedded.is_null() {
        // SAFETY: a non-null `embedded` is writable by contract.
        unsafe { put(embedded, u32::from(p.embedded)) };
    }
    Ok(())
}

/// Decodes the embedded preview of a complete `.nlc` stream (docs/FORMAT.md section 10: a
/// small copy of the image, at most `NLC_MAX_PREVIEW_SIZE` per side, that decodes in
/// milliseconds without a model), or the full image when the stream has none. On success
/// `*out` receives a new image (release with `nlc_image_free`) and, if `embedded` is not
/// NULL, `*embedded` is 1 for the preview, 0 for the full image. With a preview, the
/// options' size limits do not apply (the preview is bounded by itself); without one the
/// decode is `nlc_decode`'s, limits included. A damaged preview is `NLC_ERROR_CORRUPT`.
///
/// # Safety
/// `data` must be NULL (an error) or valid for reads of `size` bytes; `options` NULL or a
/// live handle; `out` NULL (an error) or valid for a write; `embedded` NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn nlc_decode_preview(
    data: *const u8,
    size: usize,
    options: *const nlc_decoder_options,
    out: *mut *mut nlc_image,
    embedded: *mut u32,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let data = unsafe { stream(data, size) }?;
        // SAFETY: see the function's contract.
        let opts = decoder_or_default(unsafe { optional(options) });
        // SAFETY: see the function's contract.
        unsafe { decode_preview_into(data, &opts, out, embedded) }
    })
}

/// `nlc_decode_preview` for the `.nlc` file at `path`.
///
/// # Safety
/// `path` must be NULL (an error) or a NUL-terminated string; `options` NULL or a live
/// handle; `out` NULL (an error) or valid for a write; `embedded` NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn nlc_decode_preview_file(
    path: *const c_char,
    options: *const nlc_decoder_options,
    out: *mut *mut nlc_image,
    embedded: *mut u32,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let path = unsafe { self::path(path, "path") }?;
        // SAFETY: see the function's contract.
        let opts = decoder_or_default(unsafe { optional(options) });
        out_ptr(out, "out")?;
        let data = read_file(&path)?;
        // SAFETY: see the function's contract.
        unsafe { decode_preview_into(&data, &opts, out, embedded) }
    })
}

/// A whole file, its path in the message of a failure.
fn read_file(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::new(nlc_status::NLC_ERROR_IO, format!("{}: {e}", path.display())))
}

fn fill_info(data: &[u8], opts: &DecodeOptions) -> Result<nlc_stream_info, Failure> {
    let info = nelloc::info(data, opts)?;
    let (alpha_mode, alpha_value) = alpha_code(info.alpha)?;
    let size = |b: &Option<Vec<u8>>| b.as_ref().map_or(0, Vec::len);
    Ok(nlc_stream_info {
        struct_size: 0,
        width: info.width,
        height: info.height,
        color_type: color_code(info.color)?,
        channels: info.color.channels() as u32,
        tile_width: info.tile_width,
        tile_height: info.tile_height,
        tile_count: u32::try_from(info.tiles).unwrap_or(u32::MAX),
        alpha_mode,
        alpha_value,
        model_available: u32::from(info.model_name.is_some()),
        icc_size: size(&info.metadata.icc),
        exif_size: size(&info.metadata.exif),
        xmp_size: size(&info.metadata.xmp),
        file_size: info.file_size as u64,
        model_hash: hash_field(&info.model_hash),
        alpha_model_hash: hash_field(info.alpha_model_hash.as_deref().unwrap_or("")),
        preview_width: info.preview.map_or(0, |p| p.0),
        preview_height: info.preview.map_or(0, |p| p.1),
    })
}

/// Validates a complete `.nlc` stream's header (signature, checksum, fields, tile index,
/// limits) without decoding pixels, and fills `*out`. `options` (may be NULL) supplies the
/// limits and the models `model_available` refers to.
///
/// # Safety
/// `data` must be NULL (an error) or valid for reads of `size` bytes; `options` NULL or a
/// live handle; `out` NULL (an error) or the caller's struct
/// with `struct_size` set (read first; at most that many bytes are written).
#[no_mangle]
pub unsafe extern "C" fn nlc_info(
    data: *const u8,
    size: usize,
    options: *const nlc_decoder_options,
    out: *mut nlc_stream_info,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let data = unsafe { stream(data, size) }?;
        // SAFETY: see the function's contract.
        let opts = decoder_or_default(unsafe { optional(options) });
        // SAFETY: see the function's contract.
        let size = unsafe { sized_out(out, "out") }?;
        let info = fill_info(data, &opts)?;
        // SAFETY: `out` holds `size` writable bytes by contract.
        unsafe { put_sized(out, info, size) };
        Ok(())
    })
}

/// `nlc_info` for the file at `path`.
///
/// # Safety
/// `path` must be NULL (an error) or a NUL-terminated string; `options` NULL or a live
/// handle; `out` NULL (an error) or the caller's struct
/// with `struct_size` set (read first; at most that many bytes are written).
#[no_mangle]
pub unsafe extern "C" fn nlc_info_file(
    path: *const c_char,
    options: *const nlc_decoder_options,
    out: *mut nlc_stream_info,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let path = unsafe { self::path(path, "path") }?;
        // SAFETY: see the function's contract.
        let opts = decoder_or_default(unsafe { optional(options) });
        // SAFETY: see the function's contract.
        let size = unsafe { sized_out(out, "out") }?;
        let data = read_file(&path)?;
        let info = fill_info(&data, &opts)?;
        // SAFETY: `out` holds `size` writable bytes by contract.
        unsafe { put_sized(out, info, size) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::tests::OldCaller;

    #[test]
    fn nlc_stream_info_first_size_is_pinned() {
        // 8 + 10 * 4 + 3 * 8 + 8 + 2 * 65 = 210, padded to 8.
        #[cfg(target_pointer_width = "64")]
        assert_eq!(nlc_stream_info::FIRST_SIZE, 216);
    }

    #[test]
    fn a_first_release_caller_of_nlc_info_gets_its_prefix() {
        let px = [7u8; 3 * 3 * 2];
        let mut img = std::ptr::null_mut();
        let (mut encoded, mut len) = (std::ptr::null_mut(), 0);
        let mut old = OldCaller::<{ nlc_stream_info::FIRST_SIZE }>::new();
        // SAFETY: `px` holds 3x2 RGB pixels; out-params are valid; `old` is writable and
        // aligned; the buffer and handle are released once.
        unsafe {
            let rgb = crate::nlc_color_type::NLC_COLOR_RGB8 as u32;
            assert_eq!(
                crate::image::nlc_image_new(3, 2, rgb, px.as_ptr(), 0, &mut img),
                nlc_status::NLC_OK
            );
            let opts = std::ptr::null();
            assert_eq!(
                nlc_encode(img, opts, &mut encoded, &mut len),
                nlc_status::NLC_OK
            );
            let st = nlc_info(encoded, len, std::ptr::null(), old.as_mut_ptr());
            assert_eq!(st, nlc_status::NLC_OK);
            nlc_free(encoded);
            crate::image::nlc_image_free(img);
        }
        old.assert_prefix_only();
        assert_eq!(old.u32_at(std::mem::offset_of!(nlc_stream_info, width)), 3);
        let at = std::mem::offset_of!(nlc_stream_info, file_size);
        assert_eq!(old.u64_at(at), len as u64);
    }

    /// `nlc_stream_info` as a caller compiled against an older header sees it once the
    /// struct has grown: here, the fields before `model_hash`; then memory it owns.
    #[repr(C)]
    struct OldCallerPrefix {
        prefix: [u8; std::mem::offset_of!(nlc_stream_info, model_hash)],
        canary: [u8; 160],
    }

    #[test]
    fn an_old_caller_gets_its_prefix_and_nothing_beyond() {
        let mut old = OldCallerPrefix {
            prefix: [0; std::mem::offset_of!(nlc_stream_info, model_hash)],
            canary: [0xA5; 160],
        };
        let prefix = std::mem::size_of_val(&old.prefix);
        let info = nlc_stream_info {
            width: 77,
            file_size: 1234,
            model_hash: [b'x' as c_char; 65],
            ..nlc_stream_info::default()
        };
        // SAFETY: `old` is writable for more than `prefix` bytes.
        unsafe { put_sized((&raw mut old).cast::<nlc_stream_info>(), info, prefix) };
        assert!(
            old.canary.iter().all(|&b| b == 0xA5),
            "wrote past the caller's struct"
        );
        let size = usize::from_ne_bytes(old.prefix[..8].try_into().unwrap());
        assert_eq!(size, prefix, "struct_size says how much was written");
        let at = std::mem::offset_of!(nlc_stream_info, width);
        assert_eq!(
            u32::from_ne_bytes(old.prefix[at..at + 4].try_into().unwrap()),
            77
        );
        let at = std::mem::offset_of!(nlc_stream_info, file_size);
        assert_eq!(
            u64::from_ne_bytes(old.prefix[at..at + 8].try_into().unwrap()),
            1234
        );
    }
}
