//! Encoder and decoder options (`nlc_encoder_options_*`, `nlc_decoder_options_*`). The
//! settings both have (threads, device, limits, models) have one implementation each
//! here; the exported functions of either kind are thin wrappers over it.

use std::borrow::Cow;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

use nelloc::{DecodeOptions, Device, EncodeOptions, Limits, Model};

use crate::conversions::{device_code, device_from_code, modes_from_flags, ModelRole};
use crate::ffi::{bytes, free_handle, handle, handle_mut, new_handle, out_ptr, path, put};
use crate::status::{guard, guard_value, nlc_status, Failure};

/// Encoder settings (opaque). Create with `nlc_encoder_options_new`, release with
/// `nlc_encoder_options_free`. One handle may be used by concurrent `nlc_encode` calls as
/// long as no thread modifies it meanwhile.
pub struct nlc_encoder_options {
    pub(crate) inner: EncodeOptions,
}

/// Decoder settings (opaque). Create with `nlc_decoder_options_new`, release with
/// `nlc_decoder_options_free`. One handle may be used by concurrent `nlc_decode` /
/// `nlc_info` calls as long as no thread modifies it meanwhile.
pub struct nlc_decoder_options {
    pub(crate) inner: DecodeOptions,
}

/// The encoder options of a call: the handle's, or the defaults for NULL.
pub(crate) fn encoder_or_default(opts: Option<&nlc_encoder_options>) -> Cow<'_, EncodeOptions> {
    opts.map_or_else(
        || Cow::Owned(EncodeOptions::default()),
        |o| Cow::Borrowed(&o.inner),
    )
}

/// The decoder options of a call: the handle's, or the defaults for NULL.
pub(crate) fn decoder_or_default(opts: Option<&nlc_decoder_options>) -> Cow<'_, DecodeOptions> {
    opts.map_or_else(
        || Cow::Owned(DecodeOptions::default()),
        |o| Cow::Borrowed(&o.inner),
    )
}

// ---------------------------------------------------------------------------------------
// The shared settings
// ---------------------------------------------------------------------------------------

/// What encoder and decoder options have in common (the fields of the same name in
/// `EncodeOptions` and `DecodeOptions`).
trait SharedOptions {
    /// The defaults (`nlc_*_options_new`).
    fn with_defaults() -> Self;
    fn device(&self) -> Device;
    fn threads_mut(&mut self) -> &mut usize;
    fn device_mut(&mut self) -> &mut Device;
    fn limits_mut(&mut self) -> &mut Limits;
}

macro_rules! shared_options {
    ($handle:ident, $options:ty) => {
        impl SharedOptions for $handle {
            fn with_defaults() -> Self {
                $handle {
                    inner: <$options>::default(),
                }
            }
            fn device(&self) -> Device {
                self.inner.device
            }
            fn threads_mut(&mut self) -> &mut usize {
                &mut self.inner.threads
            }
            fn device_mut(&mut self) -> &mut Device {
                &mut self.inner.device
            }
            fn limits_mut(&mut self) -> &mut Limits {
                &mut self.inner.limits
            }
        }
    };
}

shared_options!(nlc_encoder_options, EncodeOptions);
shared_options!(nlc_decoder_options, DecodeOptions);

/// `nlc_*_options_new`.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write.
unsafe fn new_options<O: SharedOptions>(out: *mut *mut O) -> nlc_status {
    guard(|| {
        out_ptr(out, "out")?;
        // SAFETY: `out` is non-null and writable by contract.
        unsafe { put(out, new_handle(O::with_defaults())) };
        Ok(())
    })
}

/// `nlc_*_options_free`.
///
/// # Safety
/// `options` must be NULL or a handle from the matching `_new`, not yet freed and not in use.
unsafe fn free_options<O: SharedOptions>(options: *mut O) {
    // SAFETY: the caller's contract is `free_handle`'s.
    guard_value((), || unsafe { free_handle(options) })
}

/// Runs `f` on the options behind `options` inside the panic boundary.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
unsafe fn with_options<O>(
    options: *mut O,
    f: impl FnOnce(&mut O) -> Result<(), Failure>,
) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle_mut(options, "options") }?;
        f(o)
    })
}

/// `nlc_*_options_set_threads`.
///
/// # Safety
/// As `with_options`.
unsafe fn set_threads<O: SharedOptions>(options: *mut O, threads: u32) -> nlc_status {
    // SAFETY: the caller's contract is `with_options`'.
    unsafe {
        with_options(options, |o| {
            *o.threads_mut() = threads as usize;
            Ok(())
        })
    }
}

/// `nlc_*_options_set_device`: an absent device is refused and the options kept.
///
/// # Safety
/// As `with_options`.
unsafe fn set_device<O: SharedOptions>(options: *mut O, device: u32) -> nlc_status {
    // SAFETY: the caller's contract is `with_options`'.
    unsafe {
        with_options(options, |o| {
            *o.device_mut() = device_from_code(device)?;
            Ok(())
        })
    }
}

/// `nlc_*_options_get_device`.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle; `out` NULL (an error) or valid for
/// a write.
unsafe fn get_device<O: SharedOptions>(options: *const O, out: *mut u32) -> nlc_status {
    guard(|| {
        // SAFETY: see the function's contract.
        let o = unsafe { handle(options, "options") }?;
        out_ptr(out, "out")?;
        // SAFETY: `out` is non-null and writable by contract.
        unsafe { put(out, device_code(o.device())) };
        Ok(())
    })
}

/// `nlc_*_options_set_limits`: the three limits, keeping the others (the work limits of
/// `nlc_decoder_options_set_work_limits`) as they are.
///
/// # Safety
/// As `with_options`.
unsafe fn set_limits<O: SharedOptions>(
    options: *mut O,
    max_dimension: u32,
    max_pixels: u64,
    max_metadata_bytes: u64,
) -> nlc_status {
    // SAFETY: the caller's contract is `with_options`'.
    unsafe {
        with_options(options, |o| {
            let limits = o.limits_mut();
            limits.max_dimension = max_dimension;
            limits.max_pixels = max_pixels;
            limits.max_metadata_bytes = max_metadata_bytes;
            Ok(())
        })
    }
}

/// A model file given to options: in memory (`data`, `size`) or by path.
enum ModelSource {
    Memory(*const u8, usize),
    File(*const c_char),
}

/// A `ModelSource` whose pointers were checked, not yet read.
enum Checked {
    Memory(*const u8, usize),
    File(std::path::PathBuf),
}

/// The one model setter behind `nlc_encoder_options_set_model{,_file}` and
/// `nlc_decoder_options_add_model{,_file}`: checks the handle and the source, then lets
/// `place` refuse (an unknown role) before the model is read, then loads it and hands it
/// to `store`.
///
/// # Safety
/// `options` as `with_options`; a `Memory` source's data must be NULL (an error) or valid
/// for reads of its size, a `File` source's path NULL (an error) or NUL-terminated.
unsafe fn set_model<O, P>(
    options: *mut O,
    source: ModelSource,
    place: impl FnOnce() -> Result<P, Failure>,
    store: impl FnOnce(&mut O, P, Arc<Model>),
) -> nlc_status {
    let set = |o: &mut O| {
        // Checked in this order: NULL data or a bad path, then the place, then the
        // file contents.
        let source = match source {
            ModelSource::Memory(data, _) if data.is_null() => return Err(Failure::null("data")),
            ModelSource::Memory(data, size) => Checked::Memory(data, size),
            // SAFETY: NULL or NUL-terminated by the function's contract.
            ModelSource::File(p) => Checked::File(unsafe { path(p, "path") }?),
        };
        let place = place()?;
        let model = match source {
            // SAFETY: non-null and readable for `size` bytes by the function's contract.
            Checked::Memory(data, size) => {
                Model::from_bytes(unsafe { bytes(data, size, "data") }?)?
            }
            Checked::File(p) => Model::from_file(&p).map_err(|e| {
                let mut f = Failure::from(e);
                f.message = format!("{}: {}", p.display(), f.message);
                f
            })?,
        };
        store(o, place, Arc::new(model));
        Ok(())
    };
    // SAFETY: the caller's contract is `with_options`'.
    unsafe { with_options(options, set) }
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
    // SAFETY: this function's contract is `new_options`'.
    unsafe { new_options(out) }
}

/// Releases encoder options. NULL is accepted and ignored.
///
/// # Safety
/// `options` must be NULL or a handle from `nlc_encoder_options_new` not yet freed, and no
/// other call may be using it.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_free(options: *mut nlc_encoder_options) {
    // SAFETY: this function's contract is `free_options`'.
    unsafe { free_options(options) }
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
    // SAFETY: this function's contract is `set_threads`'.
    unsafe { set_threads(options, threads) }
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
    // SAFETY: this function's contract is `with_options`'.
    unsafe {
        with_options(options, |o| {
            if tile_size == 0 {
                return Err(Failure::invalid("tile_size must be at least 1"));
            }
            o.inner.tile_size = tile_size;
            Ok(())
        })
    }
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
    // SAFETY: this function's contract is `with_options`'.
    unsafe {
        with_options(options, |o| {
            o.inner.modes = modes_from_flags(modes)?;
            Ok(())
        })
    }
}

/// The embedded preview (docs/FORMAT.md section 10; read with `nlc_decode_preview`):
/// `NLC_PREVIEW_AUTO` (the default: 256 or 128 pixels on the longer side where it costs at
/// most 0.5% of the file), `NLC_PREVIEW_NONE`, or a longest side of 1 to
/// `NLC_MAX_PREVIEW_SIZE` pixels written for any image larger than that. Any other value
/// returns `NLC_ERROR_INVALID_ARGUMENT` and leaves the options unchanged.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_set_preview(
    options: *mut nlc_encoder_options,
    size: u32,
) -> nlc_status {
    // SAFETY: this function's contract is `with_options`'.
    unsafe {
        with_options(options, |o| {
            o.inner.preview = match size {
                crate::NLC_PREVIEW_NONE => nelloc::Preview::Off,
                crate::NLC_PREVIEW_AUTO => nelloc::Preview::Auto,
                s if s <= crate::NLC_MAX_PREVIEW_SIZE => nelloc::Preview::Size(s),
                s => {
                    return Err(Failure::invalid(format!(
                        "preview size {s}: expected NLC_PREVIEW_NONE, NLC_PREVIEW_AUTO or 1 to {}",
                        crate::NLC_MAX_PREVIEW_SIZE
                    )))
                }
            };
            Ok(())
        })
    }
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
    // SAFETY: this function's contract is `set_device`'.
    unsafe { set_device(options, device) }
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
    // SAFETY: this function's contract is `get_device`'.
    unsafe { get_device(options, out) }
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
    // SAFETY: this function's contract is `set_limits`'.
    unsafe { set_limits(options, max_dimension, max_pixels, max_metadata_bytes) }
}

/// Stores an encoder model in the `EncodeOptions` field its role names.
fn store_encoder_model(o: &mut nlc_encoder_options, role: ModelRole, model: Arc<Model>) {
    let slot = match role {
        ModelRole::Color => &mut o.inner.model,
        ModelRole::Alpha => &mut o.inner.alpha_model,
    };
    *slot = Some(model);
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
    let source = ModelSource::Memory(data, size);
    // SAFETY: this function's contract is `set_model`'s for a memory source.
    unsafe {
        set_model(
            options,
            source,
            || ModelRole::from_code(role),
            store_encoder_model,
        )
    }
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
    let source = ModelSource::File(path);
    // SAFETY: this function's contract is `set_model`'s for a file source.
    unsafe {
        set_model(
            options,
            source,
            || ModelRole::from_code(role),
            store_encoder_model,
        )
    }
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
    // SAFETY: this function's contract is `new_options`'.
    unsafe { new_options(out) }
}

/// Releases decoder options. NULL is accepted and ignored.
///
/// # Safety
/// `options` must be NULL or a handle from `nlc_decoder_options_new` not yet freed, and no
/// other call may be using it.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_free(options: *mut nlc_decoder_options) {
    // SAFETY: this function's contract is `free_options`'.
    unsafe { free_options(options) }
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
    // SAFETY: this function's contract is `set_threads`'.
    unsafe { set_threads(options, threads) }
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
    // SAFETY: this function's contract is `set_device`'.
    unsafe { set_device(options, device) }
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
    // SAFETY: this function's contract is `get_device`'.
    unsafe { get_device(options, out) }
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
    // SAFETY: this function's contract is `set_limits`'.
    unsafe { set_limits(options, max_dimension, max_pixels, max_metadata_bytes) }
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
    // SAFETY: this function's contract is `with_options`'.
    unsafe {
        with_options(options, |o| {
            o.inner.limits.max_output_bytes = max_output_bytes;
            o.inner.limits.max_neural_pixels = max_neural_pixels;
            Ok(())
        })
    }
}

/// Adds a decoder model to those looked up by SHA-256.
fn store_decoder_model(o: &mut nlc_decoder_options, (): (), model: Arc<Model>) {
    o.inner.models.push(model);
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
    let source = ModelSource::Memory(data, size);
    // SAFETY: this function's contract is `set_model`'s for a memory source.
    unsafe { set_model(options, source, || Ok(()), store_decoder_model) }
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
    let source = ModelSource::File(path);
    // SAFETY: this function's contract is `set_model`'s for a file source.
    unsafe { set_model(options, source, || Ok(()), store_decoder_model) }
}

/// Adds a directory searched (not recursively) for the `*.safetensors` model file a stream
/// needs when it is not built in, not added with `nlc_decoder_options_add_model{,_file}`
/// and not embedded in the stream (docs/FORMAT.md section 12). Directories are searched in
/// the order added, and only then; the directory need not exist yet. May be called several
/// times.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread; `path`
/// must be NULL (an error) or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_add_model_dir(
    options: *mut nlc_decoder_options,
    path: *const c_char,
) -> nlc_status {
    // SAFETY: this function's contract is `with_options`' and `path`'s.
    unsafe {
        with_options(options, |o| {
            let dir = crate::ffi::path(path, "path")?;
            o.inner.model_path.push(dir);
            Ok(())
        })
    }
}

/// Appends the directories of the `NELLOC_MODEL_PATH` environment variable (separated as
/// `PATH` is: `:` on Unix, `;` on Windows), as read now, to the model search directories
/// (`nlc_decoder_options_add_model_dir`). The library never reads the variable unless
/// asked to by this call. An unset or empty variable adds nothing.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_add_env_model_path(
    options: *mut nlc_decoder_options,
) -> nlc_status {
    // SAFETY: this function's contract is `with_options`'.
    unsafe {
        with_options(options, |o| {
            o.inner
                .model_path
                .extend(nelloc::model::search_path_from_env());
            Ok(())
        })
    }
}

/// The largest model file accepted, in bytes (default 64 MiB): a model embedded in a
/// stream above it is refused before it is read, and search-path files above it are
/// skipped.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_set_max_model_bytes(
    options: *mut nlc_decoder_options,
    max_model_bytes: u64,
) -> nlc_status {
    // SAFETY: this function's contract is `with_options`'.
    unsafe {
        with_options(options, |o| {
            o.inner.limits.max_model_bytes = max_model_bytes;
            Ok(())
        })
    }
}

/// A rows callback (`nlc_decoder_options_set_rows_callback`): `user` as given to the
/// setter; rows `0 .. rows_done` of the image are final, at `pixels` (row 0 first), each
/// row `stride` bytes apart (`width * channels`: rows are not padded). The pixels are valid
/// only during the call: copy what is needed.
pub type nlc_rows_callback = Option<
    unsafe extern "C" fn(user: *mut c_void, rows_done: u32, pixels: *const u8, stride: usize),
>;

/// The C callback and its user pointer, as the core's rows callback.
struct RowsCallback {
    f: unsafe extern "C" fn(*mut c_void, u32, *const u8, usize),
    user: *mut c_void,
}

impl RowsCallback {
    /// `rows`: rows `0..rows_done`, unpadded.
    fn call(&self, rows_done: u32, rows: &[u8]) {
        let stride = rows.len() / rows_done.max(1) as usize;
        // SAFETY: `f` is a callback of this type, callable with `user` (the setter's
        // contract); `rows` is valid for the call.
        unsafe { (self.f)(self.user, rows_done, rows.as_ptr(), stride) }
    }
}

// SAFETY: the header asks that `user` may be used from any thread the caller decodes on,
// by concurrent decodes sharing the options; the library itself only passes it through.
unsafe impl Send for RowsCallback {}
// SAFETY: as for `Send`: the library never reads or writes through `user`.
unsafe impl Sync for RowsCallback {}

/// Sets a callback that sees the image as it decodes (viewers showing rows as they come):
/// called whenever more rows, from the top, are final (`nlc_rows_callback`). Tiles are
/// decoded in row order with all workers busy, so rows arrive steadily from the first
/// row of tiles on.
///
/// The callback runs on the thread that called `nlc_decode` / `nlc_decode_file` (never on
/// a worker), one call at a time, with `rows_done` strictly increasing; the last call of a
/// successful decode has every row. No call comes once the decode has failed, but a decode
/// can still fail after rows were passed (damage in a later tile): show them, but trust
/// only the status the decode returns. Workers wait while the callback runs, so it should
/// only copy rows out or post them on. It must not unwind (no C++ exception) or `longjmp`
/// out, nor free or modify `options`. Used by
/// `nlc_decode`, `nlc_decode_file` and `nlc_decode_preview*` when they decode the image
/// itself (not the embedded preview); not by `nlc_decode_batch`. A NULL `callback` removes
/// it (the default).
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread;
/// `callback` NULL or a function of that type, callable with `user` for as long as the
/// options decode.
#[no_mangle]
pub unsafe extern "C" fn nlc_decoder_options_set_rows_callback(
    options: *mut nlc_decoder_options,
    callback: nlc_rows_callback,
    user: *mut c_void,
) -> nlc_status {
    // SAFETY: this function's contract is `with_options`'.
    unsafe {
        with_options(options, |o| {
            o.inner.on_rows = callback.map(|f| {
                let cb = RowsCallback { f, user };
                nelloc::OnRows::new(move |rows_done, rows| cb.call(rows_done, rows))
            });
            Ok(())
        })
    }
}

/// Whether the stream carries the external model files it is coded with (0 no, the
/// default; 1 yes): a `MODL` chunk per model that is not built in (container version 6 for
/// an image of one tile, 7 otherwise), so that it decodes where the model file is not
/// available. Built-in models are never embedded. Any other value returns
/// `NLC_ERROR_INVALID_ARGUMENT` and leaves the options unchanged.
///
/// # Safety
/// `options` must be NULL (an error) or a live handle not used by another thread.
#[no_mangle]
pub unsafe extern "C" fn nlc_encoder_options_set_embed_models(
    options: *mut nlc_encoder_options,
    embed: u32,
) -> nlc_status {
    // SAFETY: this function's contract is `with_options`'.
    unsafe {
        with_options(options, |o| {
            o.inner.embed_models = match embed {
                0 => false,
                1 => true,
                v => return Err(Failure::invalid(format!("embed is {v}, expected 0 or 1"))),
            };
            Ok(())
        })
    }
}
