//! The exported C functions. Every function checks its pointers, runs inside the panic
//! boundary (`status::guard`) and writes its outputs only once everything succeeded.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, CStr};
use std::path::PathBuf;
use std::sync::Arc;

use nelloc::{ColorType, DecodeOptions, Device, EncodeOptions, Image, Limits, Metadata, Model};

use crate::probe::{nlc_header, probe};
use crate::status::{guard, guard_value, last_error_into, nlc_status, Failure};
use crate::{nlc_alpha_mode, nlc_color_type, nlc_device, nlc_metadata_kind, nlc_model_role};

// ---------------------------------------------------------------------------------------
// Handles and plain structs
// ---------------------------------------------------------------------------------------

/// Encoder settings (opaque). Create with `nlc_encoder_options_new`, release with
/// `nlc_encoder_options_free`. One handle may be used by concurrent `nlc_encode` calls as
/// long as no thread modifies it meanwhile.
pub struct nlc_encoder_options {
    inner: EncodeOptions,
}

impl Default for nlc_pixels {
    /// Empty, with `struct_size` set (for Rust callers).
    fn default() -> Self {
        nlc_pixels {
            struct_size: std::mem::size_of::<nlc_pixels>(),
            width: 0,
            height: 0,
            color_type: 0,
            channels: 0,
            stride: 0,
            size: 0,
            data: std::ptr::null(),
        }
    }
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
        }
    }
}

/// Structs the library fills that start with `struct_size` (the ABI policy of ffi/README.md:
/// fields are only ever appended, and the library writes the prefix the caller knows).
pub(crate) trait SizedStruct: Sized {
    /// The size of the struct in the first release that had `struct_size`: callers never
    /// pass less. Never raise it (older callers pass it); new fields go after it.
    const FIRST_SIZE: usize;
    fn set_struct_size(&mut self, size: usize);
}

impl SizedStruct for nlc_pixels {
    const FIRST_SIZE: usize = std::mem::size_of::<nlc_pixels>();
    fn set_struct_size(&mut self, size: usize) {
        self.struct_size = size;
    }
}

impl SizedStruct for nlc_stream_info {
    const FIRST_SIZE: usize = std::mem::size_of::<nlc_stream_info>();
    fn set_struct_size(&mut self, size: usize) {
        self.struct_size = size;
    }
}

impl SizedStruct for nlc_header {
    const FIRST_SIZE: usize = std::mem::size_of::<nlc_header>();
    fn set_struct_size(&mut self, size: usize) {
        self.struct_size = size;
    }
}

/// Checks an output struct's `struct_size` (before any work): non-NULL, and at least the
/// struct's first released size. Returns the caller's size.
///
/// # Safety
/// If `ptr` is not NULL it must be aligned and valid for reads of its first `size_t`.
pub(crate) unsafe fn sized_out<T: SizedStruct>(ptr: *mut T, what: &str) -> Result<usize, Failure> {
    out_ptr(ptr, what)?;
    // SAFETY: non-null; every `SizedStruct` starts with its `size_t struct_size`.
    let size = unsafe { ptr.cast::<usize>().read() };
    if size < T::FIRST_SIZE {
        return Err(Failure::invalid(format!(
            "{what}->struct_size is {size}, expected sizeof the struct ({} in this library): \
             set it before the call",
            std::mem::size_of::<T>()
        )));
    }
    Ok(size)
}

/// Writes `value` into a caller's struct of `caller_size` bytes (from `sized_out`): the
/// fields it has room for, never more, and `struct_size` set to the bytes written.
///
/// # Safety
/// `ptr` must be valid for writes of `caller_size` bytes (the caller's `sizeof`).
pub(crate) unsafe fn put_sized<T: SizedStruct>(ptr: *mut T, mut value: T, caller_size: usize) {
    let n = caller_size.min(std::mem::size_of::<T>());
    value.set_struct_size(n);
    // SAFETY: `n` is at most the caller's struct and at most `T`; the regions are distinct.
    unsafe { std::ptr::copy_nonoverlapping((&raw const value).cast::<u8>(), ptr.cast::<u8>(), n) };
}

/// Decoder settings (opaque). Create with `nlc_decoder_options_new`, release with
/// `nlc_decoder_options_free`. One handle may be used by concurrent `nlc_decode` /
/// `nlc_info` calls as long as no thread modifies it meanwhile.
pub struct nlc_decoder_options {
    inner: DecodeOptions,
}

/// An image with its metadata (opaque): made by `nlc_image_new` (to encode) or returned by
/// `nlc_decode`; release with `nlc_image_free`.
pub struct nlc_image {
    inner: Image,
}

/// A view of an image's pixels, filled by `nlc_image_get`. `data` belongs to the image and
/// stays valid until `nlc_image_free`. Set `struct_size` to `sizeof(nlc_pixels)` first.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct nlc_pixels {
    /// `sizeof(nlc_pixels)` as the caller compiled it: set it before the call. The library
    /// fills only the fields within it and sets it to the bytes it wrote (see the ABI
    /// policy in ffi/README.md).
    pub struct_size: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// An `nlc_color_type` value.
    pub color_type: u32,
    /// Samples (bytes) per pixel.
    pub channels: u32,
    /// Bytes per row (`width * channels`: rows are not padded).
    pub stride: usize,
    /// Bytes in `data` (`stride * height`).
    pub size: usize,
    /// Interleaved samples, row-major.
    pub data: *const u8,
}

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
}

// ---------------------------------------------------------------------------------------
// Argument helpers
// ---------------------------------------------------------------------------------------

/// A byte slice from C. `(NULL, 0)` is the empty slice.
///
/// # Safety
/// If `ptr` is not NULL it must be valid for reads of `len` bytes for `'a`.
unsafe fn bytes<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(what))
        };
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!(
            "{what}: length {len} is too large"
        )));
    }
    // SAFETY: `ptr` is non-null and the caller guarantees `len` readable bytes that stay
    // valid and unmodified for the call; `len <= isize::MAX` was checked.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A path from a NUL-terminated C string (bytes on Unix, UTF-8 elsewhere).
///
/// # Safety
/// If `ptr` is not NULL it must point to a NUL-terminated string.
unsafe fn path(ptr: *const c_char, what: &str) -> Result<PathBuf, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-null, NUL-terminated by the caller's contract.
    let c = unsafe { CStr::from_ptr(ptr) };
    if c.is_empty() {
        return Err(Failure::invalid(format!("{what} is empty")));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(c.to_bytes())))
    }
    #[cfg(not(unix))]
    {
        c.to_str()
            .map(PathBuf::from)
            .map_err(|_| Failure::invalid(format!("{what} is not UTF-8")))
    }
}

/// A shared reference to a handle; NULL is an error.
///
/// # Safety
/// If `ptr` is not NULL it must point to a live handle made by this library.
unsafe fn handle<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller guarantees a live, properly aligned handle if non-null.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(what))
}

/// A mutable reference to a handle; NULL is an error.
///
/// # Safety
/// If `ptr` is not NULL it must point to a live handle made by this library that no other
/// thread uses during the call.
unsafe fn handle_mut<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: as above, plus exclusive access by the caller's contract.
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null(what))
}

/// Checks that an output pointer is not NULL (before any work is done).
fn out_ptr<T>(ptr: *mut T, what: &str) -> Result<(), Failure> {
    if ptr.is_null() {
        Err(Failure::null(what))
    } else {
        Ok(())
    }
}

/// Writes an output parameter.
///
/// # Safety
/// `ptr` must be non-null (checked by `out_ptr`), aligned and valid for a write of `T`.
unsafe fn put<T>(ptr: *mut T, value: T) {
    // SAFETY: guaranteed by the caller; `write` does not drop the (uninitialised) old value.
    unsafe { ptr.write(value) }
}

fn color_from_code(code: u32) -> Result<ColorType, Failure> {
    Ok(match code {
        c if c == nlc_color_type::NLC_COLOR_GRAY8 as u32 => ColorType::Gray8,
        c if c == nlc_color_type::NLC_COLOR_GRAYA8 as u32 => ColorType::GrayA8,
        c if c == nlc_color_type::NLC_COLOR_RGB8 as u32 => ColorType::Rgb8,
        c if c == nlc_color_type::NLC_COLOR_RGBA8 as u32 => ColorType::Rgba8,
        other => {
            return Err(Failure::invalid(format!(
                "unknown colour type {other} (expected 1 to 4, see nlc_color_type)"
            )))
        }
    })
}

pub(crate) fn color_code(color: ColorType) -> Result<u32, Failure> {
    Ok(match color {
        ColorType::Gray8 => nlc_color_type::NLC_COLOR_GRAY8,
        ColorType::GrayA8 => nlc_color_type::NLC_COLOR_GRAYA8,
        ColorType::Rgb8 => nlc_color_type::NLC_COLOR_RGB8,
        ColorType::Rgba8 => nlc_color_type::NLC_COLOR_RGBA8,
        other => {
            return Err(Failure::new(
                nlc_status::NLC_ERROR_UNSUPPORTED,
                format!("colour type {other} has no C equivalent in this version"),
            ))
        }
    } as u32)
}

fn metadata_slot(metadata: &mut Metadata, kind: u32) -> Result<&mut Option<Vec<u8>>, Failure> {
    Ok(match kind {
        k if k == nlc_metadata_kind::NLC_METADATA_ICC as u32 => &mut metadata.icc,
        k if k == nlc_metadata_kind::NLC_METADATA_EXIF as u32 => &mut metadata.exif,
        k if k == nlc_metadata_kind::NLC_METADATA_XMP as u32 => &mut metadata.xmp,
        other => {
            return Err(Failure::invalid(format!(
                "unknown metadata kind {other} (see nlc_metadata_kind)"
            )))
        }
    })
}

fn metadata_ref(metadata: &Metadata, kind: u32) -> Result<&Option<Vec<u8>>, Failure> {
    Ok(match kind {
        k if k == nlc_metadata_kind::NLC_METADATA_ICC as u32 => &metadata.icc,
        k if k == nlc_metadata_kind::NLC_METADATA_EXIF as u32 => &metadata.exif,
        k if k == nlc_metadata_kind::NLC_METADATA_XMP as u32 => &metadata.xmp,
        other => {
            return Err(Failure::invalid(format!(
                "unknown metadata kind {other} (see nlc_metadata_kind)"
            )))
        }
    })
}

fn device_from_code(device: u32) -> Result<Device, Failure> {
    let d = match device {
        d if d == nlc_device::NLC_DEVICE_CPU as u32 => Device::Cpu,
        d if d == nlc_device::NLC_DEVICE_CUDA as u32 => Device::Cuda(0),
        d if d == nlc_device::NLC_DEVICE_AUTO as u32 => Device::Auto,
        d if d == nlc_device::NLC_DEVICE_ORT as u32 => Device::Ort(nelloc::OrtProvider::Cpu),
        other => {
            return Err(Failure::invalid(format!(
                "unknown device {other} (see nlc_device)"
            )))
        }
    };
    // An absent device is refused here, where the caller chose it, with what is missing.
    nelloc::backend::probe(d).map_err(|e| {
        let f = Failure::from(e);
        let name = if device == nlc_device::NLC_DEVICE_CUDA as u32 {
            "NLC_DEVICE_CUDA"
        } else {
            "NLC_DEVICE_ORT"
        };
        Failure::new(f.status, format!("{name}: {}", f.message))
    })?;
    Ok(d)
}

fn device_code(device: Device) -> u32 {
    match device {
        Device::Cpu => nlc_device::NLC_DEVICE_CPU as u32,
        Device::Cuda(_) => nlc_device::NLC_DEVICE_CUDA as u32,
        Device::Auto => nlc_device::NLC_DEVICE_AUTO as u32,
        Device::Ort(_) => nlc_device::NLC_DEVICE_ORT as u32,
        // A device this C API has no value for yet: reported as the CPU never is wrong
        // here (the library only ever selects devices through the C values).
        _ => nlc_device::NLC_DEVICE_CPU as u32,
    }
}

fn hash_field(hex: &str) -> [c_char; 65] {
    let mut out = [0 as c_char; 65];
    for (o, b) in out.iter_mut().zip(hex.bytes().take(64)) {
        *o = b as c_char;
    }
    out
}

fn decode_options(opts: Option<&nlc_decoder_options>) -> std::borrow::Cow<'_, DecodeOptions> {
    match opts {
        Some(o) => std::borrow::Cow::Borrowed(&o.inner),
        None => std::borrow::Cow::Owned(DecodeOptions::default()),
    }
}

// ---------------------------------------------------------------------------------------
// Library-owned byte buffers
// ---------------------------------------------------------------------------------------

/// Room before the data of a buffer from `nlc_encode`: the allocation's total length.
const BUFFER_HEADER: usize = 16;

/// Copies `data` into a library-owned buffer that `nlc_free` releases.
fn into_c_buffer(data: &[u8]) -> *mut u8 {
    let total = BUFFER_HEADER + data.len();
    let mut v = Vec::with_capacity(total);
    v.extend_from_slice(&(total as u64).to_le_bytes());
    v.resize(BUFFER_HEADER, 0);
    v.extend_from_slice(data);
    let raw = Box::into_raw(v.into_boxed_slice()) as *mut u8;
    // SAFETY: the allocation is `total >= BUFFER_HEADER` bytes long.
    unsafe { raw.add(BUFFER_HEADER) }
}

// ---------------------------------------------------------------------------------------
// Version and errors
// ---------------------------------------------------------------------------------------

/// The library's version as `MAJOR * 10000 + MINOR * 100 + PATCH`. Compare with
/// `NLC_VERSION_NUMBER` to check that the header matches the library loaded at run time.
#[no_mangle]
pub extern "C" fn nlc_version() -> u32 {
    guard_value(0, || crate::NLC_VERSION_NUMBER)
}

/// The library's version as a static NUL-terminated string, e.g. `"0.1.0"`.
#[no_mangle]
pub extern "C" fn nlc_version_string() -> *const c_char {
    const V: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    guard_value(c"".as_ptr(), || V.as_ptr().cast())
}

/// A static, NUL-terminated English description of a status code (never NULL; unknown
/// codes get a generic text).
#[no_mangle]
pub extern "C" fn nlc_status_message(status: u32) -> *const c_char {
    guard_value(c"unknown status".as_ptr(), || {
        nlc_status::from_u32(status)
            .map_or(c"unknown status code", nlc_status::message)
            .as_ptr()
    })
}

/// Copies the detailed message of the last failed call on the calling thread into
/// `buffer` (NUL-terminated, truncated to `capacity` bytes including the NUL) and returns
/// the message's full length without the NUL, like `snprintf`. `buffer` may be NULL
/// (with any `capacity`) to query the length. Calls that succeed do not clear it, so read it
/// right after the call that returned an error.
///
/// # Safety
/// If `buffer` is not NULL it must be valid for writes of `capacity` bytes.
#[no_mangle]
pub unsafe extern "C" fn nlc_last_error_message(buffer: *mut c_char, capacity: usize) -> usize {
    guard_value(0, || {
        if buffer.is_null() || capacity == 0 || capacity > isize::MAX as usize {
            return last_error_into(None);
        }
        // SAFETY: non-null, and the caller guarantees `capacity` writable bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(buffer.cast::<u8>(), capacity) };
        last_error_into(Some(out))
    })
}

// ---------------------------------------------------------------------------------------
// Encoder options
// ---------------------------------------------------------------------------------------

/// Creates encoder options with the defaults: all cores, CPU, 256x256 tiles, the built-in
/// model for the image's channels. On success `*out` receives the handle.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_new(out: *mut *mut nlc_encoder_options) -> nlc_status {
    guard(|| {
        out_ptr(out, "out")?;
        let handle = Box::into_raw(Box::new(nlc_encoder_options {
            inner: EncodeOptions::default(),
        }));
        // SAFETY: `out` is non-null and writable by contract.
        unsafe { put(out, handle) };
        Ok(())
    })
}

/// Releases encoder options. NULL is accepted and ignored.
///
/// # Safety
/// `options` must be NULL or a handle from `nlc_encoder_options_new` not yet freed, and no
/// other call may be using it.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_free(options: *mut nlc_encoder_options) {
    guard_value((), || {
        if !options.is_null() {
            // SAFETY: made by `Box::into_raw` in `nlc_encoder_options_new`, freed only once.
            drop(unsafe { Box::from_raw(options) });
        }
    })
}

/// Worker threads; 0 (the default) uses all cores. The output does not depend on it.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_set_threads(
    options: *mut nlc_encoder_options,
    threads: u32,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        o.inner.threads = threads as usize;
        Ok(())
    })
}

/// Tile width and height in pixels (at least 1; default `NLC_DEFAULT_TILE_SIZE`). Tiles are
/// independent streams (parallel and random-access decoding) at a small cost in size.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_set_tile_size(
    options: *mut nlc_encoder_options,
    tile_size: u32,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        if tile_size == 0 {
            return Err(Failure::invalid("tile_size must be at least 1"));
        }
        o.inner.tile_size = tile_size;
        Ok(())
    })
}

/// The per-tile coding modes the encoder may choose: a combination of `NLC_MODE_NEURAL`,
/// `NLC_MODE_CONSTANT`, `NLC_MODE_PNG`, `NLC_MODE_PALETTE`, `NLC_MODE_GRAY` and
/// `NLC_MODE_CONTEXT` (default `NLC_MODES_ALL`; it keeps the smallest per tile). It must
/// include `NLC_MODE_NEURAL`, `NLC_MODE_PNG` or `NLC_MODE_CONTEXT` (the modes that code
/// any tile) and no other bits, else `NLC_ERROR_INVALID_ARGUMENT` and the
/// options are unchanged. `NLC_MODE_NEURAL` alone is pure NeLLoC (container version 1).
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_set_modes(
    options: *mut nlc_encoder_options,
    modes: u32,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        if modes & !crate::NLC_MODES_ALL != 0 {
            return Err(Failure::invalid("modes has bits outside NLC_MODES_ALL"));
        }
        if modes & (crate::NLC_MODE_NEURAL | crate::NLC_MODE_PNG | crate::NLC_MODE_CONTEXT) == 0 {
            return Err(Failure::invalid(
                "modes must include NLC_MODE_NEURAL, NLC_MODE_PNG or NLC_MODE_CONTEXT",
            ));
        }
        let list: Vec<nelloc::TileMode> = [
            (crate::NLC_MODE_NEURAL, nelloc::TileMode::Neural),
            (crate::NLC_MODE_CONSTANT, nelloc::TileMode::Constant),
            (crate::NLC_MODE_PNG, nelloc::TileMode::Png),
            (crate::NLC_MODE_PALETTE, nelloc::TileMode::Palette),
            (crate::NLC_MODE_GRAY, nelloc::TileMode::Gray),
            (crate::NLC_MODE_CONTEXT, nelloc::TileMode::Context),
        ]
        .into_iter()
        .filter(|(bit, _)| modes & bit != 0)
        .map(|(_, m)| m)
        .collect();
        o.inner.modes = nelloc::TileModes::only(&list);
        Ok(())
    })
}

/// Selects the device (an `nlc_device` value; default `NLC_DEVICE_CPU`). A device that is
/// absent here returns `NLC_ERROR_UNSUPPORTED` and leaves the options unchanged.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_set_device(
    options: *mut nlc_encoder_options,
    device: u32,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        o.inner.device = device_from_code(device)?;
        Ok(())
    })
}

/// Writes the device selected in `options` (an `nlc_device` value) to `*out`.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle; `out` NULL (an error) or valid for
/// a write.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_get_device(
    options: *const nlc_encoder_options,
    out: *mut u32,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle(options, "options") }?;
        out_ptr(out, "out")?;
        // SAFETY: `out` is non-null and writable by contract.
        unsafe { put(out, device_code(o.inner.device)) };
        Ok(())
    })
}

/// The limits the encoder applies to the image (the decoder's, see
/// `nlc_decoder_options_set_limits`): it refuses with `NLC_ERROR_LIMIT` to write a stream
/// that a decoder with these limits would refuse. Defaults: `NLC_DEFAULT_MAX_*`.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_set_limits(
    options: *mut nlc_encoder_options,
    max_dimension: u32,
    max_pixels: u64,
    max_metadata_bytes: u64,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        set_limits(
            &mut o.inner.limits,
            max_dimension,
            max_pixels,
            max_metadata_bytes,
        );
        Ok(())
    })
}

/// Sets the three limits of `nlc_*_options_set_limits`, keeping the others (the work
/// limits of `nlc_decoder_options_set_work_limits`) as they are.
fn set_limits(limits: &mut Limits, max_dimension: u32, max_pixels: u64, max_metadata_bytes: u64) {
    limits.max_dimension = max_dimension;
    limits.max_pixels = max_pixels;
    limits.max_metadata_bytes = max_metadata_bytes;
}

/// Which `EncodeOptions` field a `nlc_model_role` value names.
fn model_slot(o: &mut nlc_encoder_options, role: u32) -> Result<&mut Option<Arc<Model>>, Failure> {
    match role {
        r if r == nlc_model_role::NLC_MODEL_COLOR as u32 => Ok(&mut o.inner.model),
        r if r == nlc_model_role::NLC_MODEL_ALPHA as u32 => Ok(&mut o.inner.alpha_model),
        other => Err(Failure::invalid(format!(
            "unknown model role {other} (see nlc_model_role)"
        ))),
    }
}

/// Uses the model file in memory (`data`, `size` bytes, copied) for `role` (an
/// `nlc_model_role`) instead of the built-in one. Decoders find it by its SHA-256.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread; `data`
/// must be NULL (an error) or valid for reads of `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_set_model(
    options: *mut nlc_encoder_options,
    role: u32,
    data: *const u8,
    size: usize,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        if data.is_null() {
            return Err(Failure::null("data"));
        }
        model_slot(o, role)?;
        // SAFETY: see the function's contract.
        let model = Model::from_bytes(unsafe { bytes(data, size, "data") }?)?;
        *model_slot(o, role)? = Some(Arc::new(model));
        Ok(())
    })
}

/// Like `nlc_encoder_options_set_model`, reading the model file at `path`.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread; `path`
/// must be NULL (an error) or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_set_model_file(
    options: *mut nlc_encoder_options,
    role: u32,
    path: *const c_char,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        // SAFETY: see the function's contract.
        let p = unsafe { self::path(path, "path") }?;
        model_slot(o, role)?;
        let model = Model::from_file(&p).map_err(|e| {
            let mut f = Failure::from(e);
            f.message = format!("{}: {}", p.display(), f.message);
            f
        })?;
        *model_slot(o, role)? = Some(Arc::new(model));
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Decoder options
// ---------------------------------------------------------------------------------------

/// Creates decoder options with the defaults: all cores, CPU, the built-in models, the
/// default limits (`NLC_DEFAULT_MAX_*`). On success `*out` receives the handle.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_new(out: *mut *mut nlc_decoder_options) -> nlc_status {
    guard(|| {
        out_ptr(out, "out")?;
        let handle = Box::into_raw(Box::new(nlc_decoder_options {
            inner: DecodeOptions::default(),
        }));
        // SAFETY: `out` is non-null and writable by contract.
        unsafe { put(out, handle) };
        Ok(())
    })
}

/// Releases decoder options. NULL is accepted and ignored.
///
/// # Safety
/// `options` must be NULL or a handle from `nlc_decoder_options_new` not yet freed, and no
/// other call may be using it.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_free(options: *mut nlc_decoder_options) {
    guard_value((), || {
        if !options.is_null() {
            // SAFETY: made by `Box::into_raw` in `nlc_decoder_options_new`, freed only once.
            drop(unsafe { Box::from_raw(options) });
        }
    })
}

/// Worker threads; 0 (the default) uses all cores. The output does not depend on it.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_set_threads(
    options: *mut nlc_decoder_options,
    threads: u32,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        o.inner.threads = threads as usize;
        Ok(())
    })
}

/// Selects the device (an `nlc_device` value; default `NLC_DEVICE_CPU`). A device that is
/// absent here returns `NLC_ERROR_UNSUPPORTED` and leaves the options unchanged.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_set_device(
    options: *mut nlc_decoder_options,
    device: u32,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        o.inner.device = device_from_code(device)?;
        Ok(())
    })
}

/// Writes the device selected in `options` (an `nlc_device` value) to `*out`.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle; `out` NULL (an error) or valid for
/// a write.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_get_device(
    options: *const nlc_decoder_options,
    out: *mut u32,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle(options, "options") }?;
        out_ptr(out, "out")?;
        // SAFETY: `out` is non-null and writable by contract.
        unsafe { put(out, device_code(o.inner.device)) };
        Ok(())
    })
}

/// Resource limits, checked before anything sized by the stream is allocated: largest
/// width or height, largest pixel count, largest total metadata size. Streams beyond them
/// fail with `NLC_ERROR_LIMIT`. Defaults: `NLC_DEFAULT_MAX_DIMENSION`,
/// `NLC_DEFAULT_MAX_PIXELS`, `NLC_DEFAULT_MAX_METADATA_BYTES`.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_set_limits(
    options: *mut nlc_decoder_options,
    max_dimension: u32,
    max_pixels: u64,
    max_metadata_bytes: u64,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        set_limits(
            &mut o.inner.limits,
            max_dimension,
            max_pixels,
            max_metadata_bytes,
        );
        Ok(())
    })
}

/// Bounds on a decode beyond `nlc_decoder_options_set_limits`: the size of the decoded
/// image in bytes (checked before it is allocated), and the decoding work, in pixels
/// decoded through the network or the context model (a tile's pixels count once per
/// neural or context-coded plane group). A
/// few bytes can claim hours of neural decoding: set `max_neural_pixels` when decoding
/// files from strangers unattended (thumbnailers, servers; `NLC_STRICT_MAX_NEURAL_PIXELS`
/// is a conservative choice). Streams beyond them fail with `NLC_ERROR_LIMIT` before any
/// decoding. Defaults: `NLC_DEFAULT_MAX_OUTPUT_BYTES`, `NLC_DEFAULT_MAX_NEURAL_PIXELS`.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_set_work_limits(
    options: *mut nlc_decoder_options,
    max_output_bytes: u64,
    max_neural_pixels: u64,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        o.inner.limits.max_output_bytes = max_output_bytes;
        o.inner.limits.max_neural_pixels = max_neural_pixels;
        Ok(())
    })
}

/// Makes the model file in memory (`data`, `size` bytes, copied) available to the decoder,
/// looked up by SHA-256 before the built-in models. May be called several times.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread; `data`
/// must be NULL (an error) or valid for reads of `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_add_model(
    options: *mut nlc_decoder_options,
    data: *const u8,
    size: usize,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        if data.is_null() {
            return Err(Failure::null("data"));
        }
        // SAFETY: see the function's contract.
        let model = Model::from_bytes(unsafe { bytes(data, size, "data") }?)?;
        o.inner.models.push(Arc::new(model));
        Ok(())
    })
}

/// Like `nlc_decoder_options_add_model`, reading the model file at `path`.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread; `path`
/// must be NULL (an error) or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_add_model_file(
    options: *mut nlc_decoder_options,
    path: *const c_char,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        // SAFETY: see the function's contract.
        let p = unsafe { self::path(path, "path") }?;
        let model = Model::from_file(&p).map_err(|e| {
            let mut f = Failure::from(e);
            f.message = format!("{}: {}", p.display(), f.message);
            f
        })?;
        o.inner.models.push(Arc::new(model));
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------

/// Creates an image by copying `height` rows of `width * channels` bytes from `pixels`,
/// rows `stride` bytes apart (0: `width * channels`, no padding). `color_type` is an
/// `nlc_color_type`. On success `*out` receives the handle.
///
/// # Safety
/// `pixels` must be NULL (an error) or valid for reads of `(height - 1) * stride +
/// width * channels` bytes; `out` must be NULL (an error) or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn nlc_image_new(
    width: u32,
    height: u32,
    color_type: u32,
    pixels: *const u8,
    stride: usize,
    out: *mut *mut nlc_image,
) -> nlc_status {
    guard(|| {
        out_ptr(out, "out")?;
        if pixels.is_null() {
            return Err(Failure::null("pixels"));
        }
        let color = color_from_code(color_type)?;
        if width == 0 || height == 0 {
            return Err(Failure::invalid(format!(
                "image dimensions must be at least 1x1, got {width}x{height}"
            )));
        }
        let too_large = || Failure::invalid(format!("a {width}x{height} image is too large"));
        let row = (width as usize)
            .checked_mul(color.channels())
            .ok_or_else(too_large)?;
        let stride = if stride == 0 { row } else { stride };
        if stride < row {
            return Err(Failure::invalid(format!(
                "stride {stride} is less than a row ({row} bytes)"
            )));
        }
        let span = (height as usize - 1)
            .checked_mul(stride)
            .and_then(|s| s.checked_add(row))
            .ok_or_else(too_large)?;
        // SAFETY: `pixels` is non-null and readable for `span` bytes by contract.
        let src = unsafe { bytes(pixels, span, "pixels") }?;
        let mut packed = Vec::new();
        packed
            .try_reserve_exact(row * height as usize)
            .map_err(|_| too_large())?;
        for y in 0..height as usize {
            packed.extend_from_slice(&src[y * stride..y * stride + row]);
        }
        let image = Image::new(width, height, color, packed)?;
        let handle = Box::into_raw(Box::new(nlc_image { inner: image }));
        // SAFETY: `out` is non-null and writable by contract.
        unsafe { put(out, handle) };
        Ok(())
    })
}

/// Releases an image. NULL is accepted and ignored.
///
/// # Safety
/// `image` must be NULL or a handle from `nlc_image_new` / `nlc_decode` not yet freed, and
/// no other call may be using it; pointers obtained from it become invalid.
#[no_mangle]
pub unsafe extern "C" fn nlc_image_free(image: *mut nlc_image) {
    guard_value((), || {
        if !image.is_null() {
            // SAFETY: made by `Box::into_raw` in this library, freed only once.
            drop(unsafe { Box::from_raw(image) });
        }
    })
}

/// Fills `*out` with the image's dimensions, colour type and a pointer to its pixels
/// (valid until `nlc_image_free`).
///
/// # Safety
/// `image` must be NULL (an error) or a live handle; `out` NULL (an error) or the caller's struct
/// with `struct_size` set (read first; at most that many bytes are written).
#[no_mangle]
pub unsafe extern "C" fn nlc_image_get(
    image: *const nlc_image,
    out: *mut nlc_pixels,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let img = &unsafe { handle(image, "image") }?.inner;
        // SAFETY: see the function's contract.
        let size = unsafe { sized_out(out, "out") }?;
        let channels = img.color().channels();
        let view = nlc_pixels {
            struct_size: 0,
            width: img.width(),
            height: img.height(),
            color_type: color_code(img.color())?,
            channels: channels as u32,
            stride: img.width() as usize * channels,
            size: img.pixels().len(),
            data: img.pixels().as_ptr(),
        };
        // SAFETY: `out` holds `size` writable bytes by contract.
        unsafe { put_sized(out, view, size) };
        Ok(())
    })
}

/// Attaches (copies) a metadata block of `kind` (an `nlc_metadata_kind`) to the image,
/// replacing any previous one; `(NULL, 0)` removes it.
///
/// # Safety
/// `image` must be NULL (an error) or a live handle not used by another thread; `data` must
/// be NULL or valid for reads of `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn nlc_image_set_metadata(
    image: *mut nlc_image,
    kind: u32,
    data: *const u8,
    size: usize,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let img = &mut unsafe { handle_mut(image, "image") }?.inner;
        // SAFETY: see the function's contract.
        let block = unsafe { bytes(data, size, "data") }?;
        let slot = metadata_slot(img.metadata_mut(), kind)?;
        *slot = (!data.is_null()).then(|| block.to_vec());
        Ok(())
    })
}

/// Gets the metadata block of `kind` (an `nlc_metadata_kind`): `*data` points into the image
/// (valid until `nlc_image_free`) and `*size` is its length; when the image has none,
/// `*data` is NULL and `*size` is 0.
///
/// # Safety
/// `image` must be NULL (an error) or a live handle; `data` and `size` must be NULL (an
/// error) or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn nlc_image_get_metadata(
    image: *const nlc_image,
    kind: u32,
    data: *mut *const u8,
    size: *mut usize,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let img = &unsafe { handle(image, "image") }?.inner;
        out_ptr(data, "data")?;
        out_ptr(size, "size")?;
        let block = metadata_ref(img.metadata(), kind)?;
        let (p, n) = match block {
            Some(b) => (b.as_ptr(), b.len()),
            _ => (std::ptr::null(), 0),
        };
        // SAFETY: both are non-null and writable by contract.
        unsafe {
            put(data, p);
            put(size, n);
        }
        Ok(())
    })
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
        let opts = unsafe { options.as_ref() };
        out_ptr(out, "out")?;
        out_ptr(out_size, "out_size")?;
        let default = EncodeOptions::default();
        let opts = opts.map_or(&default, |o| &o.inner);
        let encoded = nelloc::encode(img.as_ref(), opts)?;
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
        let opts = unsafe { options.as_ref() };
        // SAFETY: see the function's contract.
        let path = unsafe { self::path(path, "path") }?;
        let default = EncodeOptions::default();
        let opts = opts.map_or(&default, |o| &o.inner);
        let encoded = nelloc::encode(img.as_ref(), opts)?;
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
    guard_value((), || {
        if buffer.is_null() {
            return;
        }
        // SAFETY: `buffer` was returned by `into_c_buffer`, so the allocation starts
        // BUFFER_HEADER bytes before it and begins with its total length.
        unsafe {
            let base = buffer.sub(BUFFER_HEADER);
            let total = base.cast::<u64>().read_unaligned() as usize;
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                base, total,
            )));
        }
    })
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
        if data.is_null() {
            return Err(Failure::null("data"));
        }
        // SAFETY: see the function's contract.
        let data = unsafe { bytes(data, size, "data") }?;
        // SAFETY: see the function's contract.
        let opts = decode_options(unsafe { options.as_ref() });
        out_ptr(out, "out")?;
        let image = nelloc::decode(data, &opts)?;
        let handle = Box::into_raw(Box::new(nlc_image { inner: image }));
        // SAFETY: `out` is non-null and writable by contract.
        unsafe { put(out, handle) };
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
        let opts = decode_options(unsafe { options.as_ref() });
        out_ptr(out, "out")?;
        let data = read_file(&path)?;
        let image = nelloc::decode(&data, &opts)?;
        let handle = Box::into_raw(Box::new(nlc_image { inner: image }));
        // SAFETY: `out` is non-null and writable by contract.
        unsafe { put(out, handle) };
        Ok(())
    })
}

fn read_file(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::new(nlc_status::NLC_ERROR_IO, format!("{}: {e}", path.display())))
}

fn fill_info(data: &[u8], opts: &DecodeOptions) -> Result<nlc_stream_info, Failure> {
    let info = nelloc::info(data, opts)?;
    let (alpha_mode, alpha_value) = match info.alpha {
        nelloc::AlphaMode::None => (nlc_alpha_mode::NLC_ALPHA_NONE, 0),
        nelloc::AlphaMode::Constant(v) => (nlc_alpha_mode::NLC_ALPHA_CONSTANT, u32::from(v)),
        nelloc::AlphaMode::Coded => (nlc_alpha_mode::NLC_ALPHA_CODED, 0),
        other => {
            return Err(Failure::new(
                nlc_status::NLC_ERROR_UNSUPPORTED,
                format!("alpha mode {other} has no C equivalent in this version"),
            ))
        }
    };
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
        alpha_mode: alpha_mode as u32,
        alpha_value,
        model_available: u32::from(info.model_name.is_some()),
        icc_size: size(&info.metadata.icc),
        exif_size: size(&info.metadata.exif),
        xmp_size: size(&info.metadata.xmp),
        file_size: info.file_size as u64,
        model_hash: hash_field(&info.model_hash),
        alpha_model_hash: hash_field(info.alpha_model_hash.as_deref().unwrap_or("")),
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
        if data.is_null() {
            return Err(Failure::null("data"));
        }
        // SAFETY: see the function's contract.
        let data = unsafe { bytes(data, size, "data") }?;
        // SAFETY: see the function's contract.
        let opts = decode_options(unsafe { options.as_ref() });
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
        let opts = decode_options(unsafe { options.as_ref() });
        // SAFETY: see the function's contract.
        let size = unsafe { sized_out(out, "out") }?;
        let data = read_file(&path)?;
        let info = fill_info(&data, &opts)?;
        // SAFETY: `out` holds `size` writable bytes by contract.
        unsafe { put_sized(out, info, size) };
        Ok(())
    })
}

/// Sniffs the start of a stream (for format detection in loaders and thumbnailers): with
/// at least `NLC_PROBE_BYTES` bytes it fills `*out` from the fixed header fields
/// (unverified: `nlc_info` checks the whole header). Returns `NLC_ERROR_NOT_NLC` if the
/// signature does not match, `NLC_ERROR_TRUNCATED`
/// if the bytes given match so far but are too few, `NLC_ERROR_CORRUPT` for a damaged
/// signature or invalid fields, and `NLC_ERROR_UNSUPPORTED` for a newer container version.
///
/// # Safety
/// `data` must be NULL (an error unless `size` is 0) or valid for reads of `size` bytes;
/// `out` NULL (an error) or the caller's struct
/// with `struct_size` set (read first; at most that many bytes are written).
#[no_mangle]
pub unsafe extern "C" fn nlc_probe(
    data: *const u8,
    size: usize,
    out: *mut nlc_header,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let data = unsafe { bytes(data, size, "data") }?;
        // SAFETY: see the function's contract.
        let size = unsafe { sized_out(out, "out") }?;
        let header = probe(data)?;
        // SAFETY: `out` holds `size` writable bytes by contract.
        unsafe { put_sized(out, header, size) };
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Batches: many images in one call (one device decision for the batch; on a GPU the
// per-launch work is what pays)
// ---------------------------------------------------------------------------------------

/// Encodes `count` images in one call. On return `statuses[i]` is image i's status and,
/// where it is `NLC_OK`, `outs[i]` / `out_sizes[i]` its stream (release each with
/// `nlc_free`); failed entries get NULL and 0. Returns `NLC_OK` when every image was
/// encoded, else the first failing status (its message in `nlc_last_error_message`). When
/// the call fails as a whole (NULL arrays, an absent device) nothing is written.
///
/// # Safety
/// `images` must be NULL (an error) or valid for reads of `count` live image handles;
/// `options` NULL or a live handle; `outs`, `out_sizes` and `statuses` NULL (an error) or
/// valid for writes of `count` elements.
#[no_mangle]
pub unsafe extern "C" fn nlc_encode_batch(
    images: *const *const nlc_image,
    count: usize,
    options: *const nlc_encoder_options,
    outs: *mut *mut u8,
    out_sizes: *mut usize,
    statuses: *mut nlc_status,
) -> nlc_status {
    guard(|| {
        for (p, what) in [
            (images.cast::<u8>(), "images"),
            (outs.cast_const().cast::<u8>(), "outs"),
            (out_sizes.cast_const().cast::<u8>(), "out_sizes"),
            (statuses.cast_const().cast::<u8>(), "statuses"),
        ] {
            if p.is_null() && count > 0 {
                return Err(Failure::null(what));
            }
        }
        if count == 0 {
            return Ok(());
        }
        // SAFETY: `images` is valid for `count` reads by contract.
        let handles = unsafe { std::slice::from_raw_parts(images, count) };
        let mut refs = Vec::with_capacity(count);
        for (i, &h) in handles.iter().enumerate() {
            // SAFETY: each element is NULL (an error) or a live handle by contract.
            refs.push(
                unsafe { handle(h, &format!("images[{i}]")) }?
                    .inner
                    .as_ref(),
            );
        }
        // SAFETY: see the function's contract.
        let opts = unsafe { options.as_ref() };
        let default = EncodeOptions::default();
        let opts = opts.map_or(&default, |o| &o.inner);
        let results = nelloc::encode_batch(&refs, opts)?;
        let mut first: Option<Failure> = None;
        for (i, r) in results.into_iter().enumerate() {
            let (buffer, len, status) = match r {
                Ok(bytes) => (into_c_buffer(&bytes), bytes.len(), nlc_status::NLC_OK),
                Err(e) => {
                    let f = Failure::from(e);
                    let status = f.status;
                    first.get_or_insert(Failure::new(status, format!("image {i}: {}", f.message)));
                    (std::ptr::null_mut(), 0, status)
                }
            };
            // SAFETY: the arrays are valid for `count` writes by contract.
            unsafe {
                outs.add(i).write(buffer);
                out_sizes.add(i).write(len);
                statuses.add(i).write(status);
            }
        }
        first.map_or(Ok(()), Err)
    })
}

/// Decodes `count` streams (`data[i]` of `sizes[i]` bytes) in one call. On return
/// `statuses[i]` is stream i's status and, where it is `NLC_OK`, `outs[i]` its image
/// (release each with `nlc_image_free`); failed entries get NULL. Returns `NLC_OK` when
/// every stream was decoded, else the first failing status. When the call fails as a
/// whole (NULL arrays, an absent device) nothing is written.
///
/// # Safety
/// `data` and `sizes` must be NULL (an error) or valid for reads of `count` elements, each
/// `data[i]` valid for reads of `sizes[i]` bytes; `options` NULL or a live handle; `outs`
/// and `statuses` NULL (an error) or valid for writes of `count` elements.
#[no_mangle]
pub unsafe extern "C" fn nlc_decode_batch(
    data: *const *const u8,
    sizes: *const usize,
    count: usize,
    options: *const nlc_decoder_options,
    outs: *mut *mut nlc_image,
    statuses: *mut nlc_status,
) -> nlc_status {
    guard(|| {
        for (p, what) in [
            (data.cast::<u8>(), "data"),
            (sizes.cast::<u8>(), "sizes"),
            (outs.cast_const().cast::<u8>(), "outs"),
            (statuses.cast_const().cast::<u8>(), "statuses"),
        ] {
            if p.is_null() && count > 0 {
                return Err(Failure::null(what));
            }
        }
        if count == 0 {
            return Ok(());
        }
        // SAFETY: `data` and `sizes` are valid for `count` reads by contract.
        let (ptrs, lens) = unsafe {
            (
                std::slice::from_raw_parts(data, count),
                std::slice::from_raw_parts(sizes, count),
            )
        };
        let mut streams = Vec::with_capacity(count);
        for (i, (&p, &n)) in ptrs.iter().zip(lens).enumerate() {
            if p.is_null() {
                return Err(Failure::null(&format!("data[{i}]")));
            }
            // SAFETY: each `data[i]` is valid for `sizes[i]` reads by contract.
            streams.push(unsafe { bytes(p, n, "data") }?);
        }
        // SAFETY: see the function's contract.
        let opts = decode_options(unsafe { options.as_ref() });
        let results = nelloc::decode_batch(&streams, &opts)?;
        let mut first: Option<Failure> = None;
        for (i, r) in results.into_iter().enumerate() {
            let (image, status) = match r {
                Ok(image) => (
                    Box::into_raw(Box::new(nlc_image { inner: image })),
                    nlc_status::NLC_OK,
                ),
                Err(e) => {
                    let f = Failure::from(e);
                    let status = f.status;
                    first.get_or_insert(Failure::new(status, format!("stream {i}: {}", f.message)));
                    (std::ptr::null_mut(), status)
                }
            };
            // SAFETY: the arrays are valid for `count` writes by contract.
            unsafe {
                outs.add(i).write(image);
                statuses.add(i).write(status);
            }
        }
        first.map_or(Ok(()), Err)
    })
}

// ---------------------------------------------------------------------------------------
// Likelihood scoring (docs/OOD.md)
// ---------------------------------------------------------------------------------------

/// Out-of-distribution scores of an image, filled by `nlc_score`; all in bits per subpixel,
/// oriented "higher = more unusual". Set `struct_size` to `sizeof(nlc_scores)` first.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct nlc_scores {
    /// `sizeof(nlc_scores)` as the caller compiled it: set it before the call (see
    /// `nlc_pixels.struct_size`).
    pub struct_size: usize,
    /// Colour samples scored (width x height x colour channels; alpha is not scored).
    pub samples: u64,
    /// Raw likelihood: the model's ideal code length per subpixel.
    pub bpsp: f64,
    /// A generic classical predictive coder's code length per subpixel.
    pub generic_bpsp: f64,
    /// Complexity-corrected likelihood: `bpsp - generic_bpsp`.
    pub complexity: f64,
    /// The background model's code length per subpixel (0 without a background model).
    pub background_bpsp: f64,
    /// Likelihood ratio: `bpsp - background_bpsp` (0 without a background model).
    pub ratio: f64,
    /// 95th percentile over 16x16 blocks of the block's `model - generic` bits per subpixel.
    pub local: f64,
    /// 1 if `background_bpsp` and `ratio` were computed, else 0.
    pub has_background: u32,
    /// Share of the model's bits spent on the colour channels after the first (0 for one
    /// channel): near 0 for a grey image under an RGB model.
    pub chroma_share: f64,
    /// The model's bits per sample of each colour channel (unused channels 0).
    pub channel_bpsp: [f64; 3],
    /// The generic coder's bits per sample of each colour channel (unused channels 0).
    pub generic_channel_bpsp: [f64; 3],
    /// 50th, 90th and 99th percentile of the per-pixel model bits per subpixel.
    pub quantiles: [f64; 3],
    /// Share of pixels coded in under 0.25 bits per subpixel (flat areas).
    pub flat: f64,
    /// Standard deviation over 16x16 blocks of the block's model bits per subpixel.
    pub spread: f64,
}

impl SizedStruct for nlc_scores {
    // The first release ended at `has_background`; later fields are appended.
    const FIRST_SIZE: usize = std::mem::offset_of!(nlc_scores, chroma_share);
    fn set_struct_size(&mut self, size: usize) {
        self.struct_size = size;
    }
}

/// Scoring options from encoder options: the same models, tile size and threads, so that
/// the bits are those the encoder would code.
fn score_options(opts: Option<&nlc_encoder_options>) -> nelloc::score::ScoreOptions {
    let mut s = nelloc::score::ScoreOptions::default();
    if let Some(o) = opts {
        s.threads = o.inner.threads;
        s.tile_size = o.inner.tile_size;
        s.model = o.inner.model.clone();
        s.alpha_model = o.inner.alpha_model.clone();
        s.limits = o.inner.limits;
        s.device = o.inner.device;
    }
    s
}

/// Likelihood and out-of-distribution scores of `image`'s colour channels under the colour
/// model of `options` (NULL: the defaults, i.e. the built-in model for the image's
/// channels). `background` names the weaker model of the likelihood-ratio score: a
/// built-in model name (e.g. "fast") or a model file path; NULL for none. The image's
/// colour channels must match the models' (convert grey to RGB first to score it with an
/// RGB model). No stream is written: this is the fast path.
///
/// # Safety
/// `image` must be NULL (an error) or a live handle; `options` NULL or a live handle;
/// `background` NULL or a NUL-terminated string; `out` NULL (an error) or the caller's
/// struct with `struct_size` set (read first; at most that many bytes are written).
#[no_mangle]
pub unsafe extern "C" fn nlc_score(
    image: *const nlc_image,
    options: *const nlc_encoder_options,
    background: *const c_char,
    out: *mut nlc_scores,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let img = &unsafe { handle(image, "image") }?.inner;
        // SAFETY: see the function's contract.
        let mut opts = score_options(unsafe { options.as_ref() });
        // SAFETY: see the function's contract.
        let size = unsafe { sized_out(out, "out") }?;
        if !background.is_null() {
            // SAFETY: non-null and NUL-terminated by the function's contract.
            let spec = unsafe { self::path(background, "background") }?;
            let builtin = spec.to_str().and_then(nelloc::model::builtin_by_name);
            opts.background = Some(match builtin {
                Some(m) => m,
                None => Arc::new(Model::from_file(&spec).map_err(|e| {
                    let mut f = Failure::from(e);
                    f.message = format!("background {}: {}", spec.display(), f.message);
                    f
                })?),
            });
        }
        let s = nelloc::score::score(img.as_ref(), &opts)?;
        let value = nlc_scores {
            struct_size: 0,
            samples: s.samples,
            bpsp: s.bpsp,
            generic_bpsp: s.generic_bpsp,
            complexity: s.complexity,
            background_bpsp: s.background_bpsp.unwrap_or(0.0),
            ratio: s.ratio.unwrap_or(0.0),
            local: s.local,
            has_background: u32::from(s.background_bpsp.is_some()),
            chroma_share: s.chroma_share(),
            channel_bpsp: s.channel_bpsp,
            generic_channel_bpsp: s.generic_channel_bpsp,
            quantiles: s.quantiles,
            flat: s.flat,
            spread: s.spread,
        };
        // SAFETY: `out` holds `size` writable bytes by contract.
        unsafe { put_sized(out, value, size) };
        Ok(())
    })
}

/// Code length of every pixel of `image` in bits (all its coded samples: colour, and alpha
/// when it varies), as the encoder with `options` (NULL: the defaults) would code it with
/// every tile neural; they add up to that ideal code length. `bits` receives `count`
/// values in raster order; `count` must be the image's width x height.
///
/// # Safety
/// `image` must be NULL (an error) or a live handle; `options` NULL or a live handle;
/// `bits` NULL (an error) or valid for writes of `count` doubles.
#[no_mangle]
pub unsafe extern "C" fn nlc_bits_map(
    image: *const nlc_image,
    options: *const nlc_encoder_options,
    bits: *mut f64,
    count: usize,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let img = &unsafe { handle(image, "image") }?.inner;
        // SAFETY: see the function's contract.
        let opts = score_options(unsafe { options.as_ref() });
        out_ptr(bits, "bits")?;
        let pixels = img.width() as usize * img.height() as usize;
        if count != pixels {
            return Err(Failure::invalid(format!(
                "count is {count}, expected width x height = {pixels}"
            )));
        }
        let map = nelloc::score::bits_map(img.as_ref(), &opts)?;
        // SAFETY: `bits` is non-null and valid for `count` doubles by contract; the map
        // has exactly `count` values and the regions are distinct.
        unsafe { std::ptr::copy_nonoverlapping(map.bits().as_ptr(), bits, count) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `nlc_stream_info` as a caller compiled against an older header sees it once the
    /// struct has grown: here, the fields before `model_hash`; then memory it owns.
    #[repr(C)]
    struct OldCaller {
        prefix: [u8; std::mem::offset_of!(nlc_stream_info, model_hash)],
        canary: [u8; 160],
    }

    #[test]
    fn an_old_caller_gets_its_prefix_and_nothing_beyond() {
        let mut old = OldCaller {
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
